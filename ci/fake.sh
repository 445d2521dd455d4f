#!/bin/sh
# ci/fake.sh: the standalone fake bKash as other languages and containers use it.
#
# 1. The container image: built with Docker when a daemon answers; otherwise
#    the static binary the image would hold is built the same way
#    (CGO_ENABLED=0) and checked to be static.
# 2. A Python standard-library test (ci/python/test_fake_checkout.py) drives a
#    whole checkout against "bkash fake" started as a separate process on a
#    free port.
set -eu
cd "$(dirname "$0")/.."

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "-- container image"
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
	docker build -t bkash-fake:ci .
	docker image inspect bkash-fake:ci --format 'image: {{.Id}} user={{.Config.User}} entrypoint={{.Config.Entrypoint}}'
else
	echo "no Docker daemon: building the static binary the image would hold"
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/bkash-static" ./cmd/bkash
	go version -m "$out/bkash-static" | grep -q 'CGO_ENABLED=0' || { echo "not built with CGO_ENABLED=0"; exit 1; }
	if command -v file >/dev/null 2>&1; then
		file "$out/bkash-static"
		file "$out/bkash-static" | grep -q 'statically linked' || { echo "the binary is not static"; exit 1; }
	fi
	if ldd "$out/bkash-static" >/dev/null 2>&1; then
		echo "ldd lists shared libraries: the binary is dynamic"; ldd "$out/bkash-static"; exit 1
	fi
	echo "static: ldd says it is not a dynamic executable"
fi

echo "-- Python (urllib only) checkout against bkash fake"
python3 --version
go build -o "$out/bkash" ./cmd/bkash
python3 ci/python/test_fake_checkout.py --bin "$out/bkash"
