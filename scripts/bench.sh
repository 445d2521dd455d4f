#!/usr/bin/env bash
# bench.sh runs the SDK's benchmark suite against its baselines and writes
# the tables into BENCHMARKS.md, between the bench:begin and bench:end
# markers (the explanations around them are kept).
#
#   scripts/bench.sh                 # 6 rounds, tables into BENCHMARKS.md
#   COUNT=10 scripts/bench.sh        # more rounds
#   OUT=/tmp/b.md scripts/bench.sh   # write the tables elsewhere
#   KEEP=/tmp/bench.txt scripts/bench.sh   # keep the raw go test output
#   FROM=/tmp/bench.txt scripts/bench.sh   # tables from a kept output, no run
#
# Settings (environment): COUNT (rounds, default 6), CALL_BENCHTIME (calls,
# tokens, webhooks; default 1s), MICRO_BENCHTIME (encoding, decoding,
# amounts and times; default 300ms), OUT (default BENCHMARKS.md), KEEP.
#
# Each round runs every benchmark once, so an SDK benchmark and its
# baseline always run next to each other: on a noisy shared machine only
# comparisons within one run mean anything, and interleaving them keeps a
# burst of load from landing on one side only.
set -euo pipefail

COUNT=${COUNT:-6}
CALL_BENCHTIME=${CALL_BENCHTIME:-1s}
MICRO_BENCHTIME=${MICRO_BENCHTIME:-300ms}
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-$root/BENCHMARKS.md}

case $COUNT in
'' | *[!0-9]* | 0)
	echo "bench.sh: COUNT must be a positive integer, got '$COUNT'" >&2
	exit 2
	;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

benchstat() { go run "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION" "$@"; }

calls='^(BenchmarkQuery|BenchmarkCreate|BenchmarkExecute|BenchmarkTokenFastPath|BenchmarkTokenFastPathParallel|BenchmarkColdStart1000|BenchmarkVerifyCachedCert|BenchmarkBareRSAVerify)$'
micro='^(BenchmarkEncode|BenchmarkDecode|BenchmarkAmount|BenchmarkTime)$'

benchstat -h >/dev/null 2>&1 || true # fetch benchstat before measuring

raw=$tmp/raw.txt
if [ -n "${FROM:-}" ]; then
	cp "$FROM" "$raw"
	COUNT=$(grep -c '^BenchmarkTokenFastPath-' "$raw" || true)
else
	echo "bench.sh: building the test binary" >&2
	go test -c -o "$tmp/bkash.test" .
	for i in $(seq 1 "$COUNT"); do
		echo "bench.sh: round $i/$COUNT" >&2
		"$tmp/bkash.test" -test.run '^$' -test.bench "$calls" -test.benchmem \
			-test.benchtime "$CALL_BENCHTIME" -test.count 1 >>"$raw"
		"$tmp/bkash.test" -test.run '^$' -test.bench "$micro" -test.benchmem \
			-test.benchtime "$MICRO_BENCHTIME" -test.count 1 >>"$raw"
	done
fi
if grep -q -e '^--- FAIL' -e '^FAIL' "$raw"; then
	cat "$raw" >&2
	echo "bench.sh: a benchmark failed" >&2
	exit 1
fi
if [ -n "${KEEP:-}" ]; then
	cp "$raw" "$KEEP"
fi

# Give every benchmark key=value sub-names, so that benchstat can set an SDK
# result beside its baseline (-col /impl): the call benchmarks are named so
# already; the two webhook benchmarks become BenchmarkVerify/impl=sdk and
# BenchmarkVerify/impl=rsa.
norm=$tmp/bench.txt
sed -E \
	-e 's#^BenchmarkVerifyCachedCert#BenchmarkVerify/impl=sdk#' \
	-e 's#^BenchmarkBareRSAVerify#BenchmarkVerify/impl=rsa#' \
	"$raw" >"$norm"

# medians prints "name unit median" for every benchmark and unit, the
# GOMAXPROCS suffix removed.
medians() {
	awk '/^Benchmark/ {
		name = $1; sub(/-[0-9]+$/, "", name)
		for (i = 3; i + 1 <= NF; i += 2) print name, $(i + 1), $i
	}' "$norm" | sort -k1,1 -k2,2 -k3,3g | awk '
	function flush() { if (n) print key, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }
	{ k = $1 " " $2; if (k != key) { flush(); key = k; n = 0 } v[++n] = $3 }
	END { flush() }'
}
medians >"$tmp/medians.txt"

# targets prints the Markdown table of the targets, from the medians.
targets() {
	awk '
	{ m[$1 "|" $2] = $3 }
	function ratio(sdk, base, unit) { return m[sdk "|" unit] / m[base "|" unit] }
	function row(what, value, target, ok) {
		printf "| %s | %s | %s | %s |\n", what, value, target, ok ? "met" : "**not met**"
	}
	END {
		print "| What | Measured (median) | Target | |"
		print "|---|---|---|---|"
		split("Query Create Execute", ops, " ")
		split("seq par64", modes, " ")
		for (o = 1; o <= 3; o++) for (d = 1; d <= 2; d++) {
			b = "Benchmark" ops[o] "/mode=" modes[d]
			split("ns/op cpu-ns/op", units, " ")
			for (u = 1; u <= 2; u++) {
				if (!((b "/impl=sdk|" units[u]) in m) || !((b "/impl=raw|" units[u]) in m)) continue
				r = ratio(b "/impl=sdk", b "/impl=raw", units[u])
				what = ops[o] " " modes[d] ": " (u == 1 ? "wall time" : "CPU time") " SDK / raw"
				if (ops[o] == "Query")
					row(what, sprintf("%.3fx", r), "<= 1.05x", r <= 1.05)
				else
					printf "| %s | %.3fx | (no target; Query is the bar) | |\n", what, r
			}
			a = m[b "/impl=sdk|allocs/op"] - m[b "/impl=raw|allocs/op"]
			row(ops[o] " " modes[d] ": allocs SDK - raw", sprintf("%+d (%d vs %d)", a, m[b "/impl=sdk|allocs/op"], m[b "/impl=raw|allocs/op"]), "<= +10", a <= 10)
		}
		t = m["BenchmarkTokenFastPath|ns/op"]
		row("Valid cached token: time", sprintf("%.1f ns", t), "< 50 ns", t < 50)
		a = m["BenchmarkTokenFastPath|allocs/op"]
		row("Valid cached token: allocs", sprintf("%d", a), "0", a == 0)
		r = ratio("BenchmarkVerify/impl=sdk", "BenchmarkVerify/impl=rsa", "ns/op")
		row("Webhook Verify, cached certificate / bare RSA", sprintf("%.3fx", r), "<= 1.2x", r <= 1.2)
	}' "$tmp/medians.txt"
}

{
	echo "<!-- bench:begin (generated by scripts/bench.sh; edit outside the markers) -->"
	echo
	echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'): $(go version | cut -d' ' -f3-), $COUNT rounds," \
		"calls at -benchtime $CALL_BENCHTIME, micro-benchmarks at $MICRO_BENCHTIME," \
		"$(grep -m1 '^cpu:' "$norm" | sed 's/^cpu: //'), GOMAXPROCS $(grep -m1 -oE '^Benchmark[^ ]*-[0-9]+ ' "$norm" | sed -E 's/.*-([0-9]+) $/\1/')."
	echo
	echo "### Targets"
	echo
	targets
	section() {
		echo
		echo "### $1"
		echo
		echo '```'
		shift
		(cd "$tmp" && benchstat "$@" bench.txt) | sed -E '/^(goos|goarch|pkg|cpu):/d'
		echo '```'
	}
	section "Calls through the SDK vs raw net/http + encoding/json (loopback)" \
		-filter '.name:(Query OR Create OR Execute)' -row '.name /mode' -col '/impl@(raw sdk)'
	section "Token" -filter '.name:(TokenFastPath OR TokenFastPathParallel OR ColdStart1000)'
	section "Webhook Verify with a cached certificate vs bare RSA verification" \
		-filter '.name:Verify -.unit:B/s' -col '/impl@(rsa sdk)'
	section "Amount vs strconv" -filter '.name:Amount' -row /op -col '/impl@(strconv sdk)'
	section "Time vs the time package" -filter '.name:Time' -row /op -col '/impl@(time sdk)'
	section "Request encoding vs encoding/json" -filter '.name:Encode' -row /ep -col '/impl@(json sdk)'
	section "Response decoding vs encoding/json" -filter '.name:Decode' -row /ep -col '/impl@(json sdk)'
	echo
	echo "<!-- bench:end -->"
} >"$tmp/tables.md"

if [ -f "$OUT" ] && grep -q '<!-- bench:begin' "$OUT" && grep -q '<!-- bench:end' "$OUT"; then
	awk -v tables="$tmp/tables.md" '
	/<!-- bench:begin/ { while ((getline line < tables) > 0) print line; skip = 1; next }
	/<!-- bench:end/ { skip = 0; next }
	!skip' "$OUT" >"$tmp/out.md"
	cp "$tmp/out.md" "$OUT"
else
	cp "$tmp/tables.md" "$OUT"
fi
echo "bench.sh: wrote $OUT" >&2
