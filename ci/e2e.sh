#!/bin/sh
# ci/e2e.sh: the demo shop's end-to-end test in a real headless browser.
#
# Installs Debian's chromium (and chromium-driver) when missing, then runs the
# nested e2e module's tests with the race detector. BKASH_REQUIRE_BROWSER makes
# a missing browser a failure instead of a skip.
set -eu

cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		SUDO=sudo
	else
		SUDO=
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update
	$SUDO apt-get install -y --no-install-recommends chromium chromium-driver
fi

chromium --version
export BKASH_REQUIRE_BROWSER=1
export BKASH_CHROMIUM="${BKASH_CHROMIUM:-$(command -v chromium)}"
cd e2e
go test -race -count=1 ./...
