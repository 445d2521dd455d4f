#!/usr/bin/env bash
# ci/go127.sh: the root module's tests on Go 1.27, the newer of the two
# supported releases (.ci/run's other steps use the go on PATH, 1.26). The go
# command fetches the toolchain through the module proxy on first use
# (GOTOOLCHAIN, https://go.dev/doc/toolchain) and caches it.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GO127:-go1.27.3}"
go version
GOWORK=off go test -count=1 ./...
