#!/usr/bin/env bash
# CI for the OpenTelemetry adapter, the nested module otel/: vet,
# staticcheck and the race-enabled tests (in-memory span exporter, manual
# metric reader, the fake bKash), plus one short run of its benchmark so
# that it keeps compiling and working.
set -euo pipefail
cd "$(dirname "$0")/../otel"
go vet ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -race -count=1 ./...
go test -run '^$' -bench QueryOverhead -benchtime 50x -count 1 .
