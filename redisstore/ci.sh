#!/usr/bin/env bash
# Vets and tests the redisstore module against a real Redis. When nothing
# answers on BKASH_REDIS_ADDR (default 127.0.0.1:6379) it starts a throwaway
# redis-server there (installing Debian's package if needed) and stops it at
# the end. BKASH_REQUIRE_REDIS=1 makes the tests fail rather than skip if
# Redis is still unreachable. Usage: bash redisstore/ci.sh [go test flags]
set -euo pipefail
cd "$(dirname "$0")"

addr=${BKASH_REDIS_ADDR:-127.0.0.1:6379}
host=${addr%:*}
port=${addr##*:}

reachable() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

started=""
if ! reachable; then
	if ! command -v redis-server >/dev/null; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
	fi
	dir=$(mktemp -d)
	redis-server --bind "$host" --port "$port" --save '' --appendonly no \
		--dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
	started=$dir
	trap 'kill "$(cat "$started/redis.pid")" 2>/dev/null || true; rm -rf "$started"' EXIT
	for _ in $(seq 50); do
		reachable && break
		sleep 0.1
	done
	reachable || { echo "redisstore/ci.sh: redis-server did not come up on $addr" >&2; cat "$dir/redis.log" >&2; exit 1; }
fi

go vet ./...
BKASH_REQUIRE_REDIS=1 BKASH_REDIS_ADDR="$addr" go test -race -count=1 "$@" ./...
