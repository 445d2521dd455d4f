#!/bin/sh
# ci/examples.sh: the examples module (the demo shop and the small examples).
#
# Vets, staticchecks and tests examples/ with the race detector. The shop's
# tests run on SQLite and on PostgreSQL: PostgreSQL is started when it is not
# running (installed with apt-get when missing), and BKASH_REQUIRE_POSTGRES=1
# makes an unreachable PostgreSQL a failure instead of a skip.
set -eu

cd "$(dirname "$0")/.."

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		SUDO=sudo
	else
		SUDO=
	fi
	if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		$SUDO apt-get update -qq
		$SUDO apt-get install -y -qq postgresql >/dev/null
	fi
	version=$(ls /etc/postgresql | sort -V | tail -n 1)
	$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
	for _ in $(seq 1 50); do
		pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break
		sleep 0.2
	done
fi
pg_isready -h 127.0.0.1 -p 5432

cd examples
go vet ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
BKASH_REQUIRE_POSTGRES=1 go test -race -count=1 ./...
