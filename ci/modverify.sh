#!/usr/bin/env bash
# ci/modverify.sh: "go mod verify" in every module: the downloaded
# dependencies in the module cache still have the hashes go.sum recorded
# (a module replaced by a directory has no hash and is not checked).
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in . $(git ls-files '*/go.mod' | xargs -n1 dirname); do
	echo "-- $dir"
	(cd "$dir" && GOWORK=off go mod download && GOWORK=off go mod verify)
done
