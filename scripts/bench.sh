#!/usr/bin/env bash
# bench.sh runs the SDK's benchmarks (the perf/ folder) beside their
# baselines, prints the table of the targets and writes it, with benchstat's
# tables, into BENCHMARKS.md between the bench:begin and bench:end markers
# (the explanations around them are kept).
#
#   scripts/bench.sh                 # 6 rounds, tables into BENCHMARKS.md
#   COUNT=10 scripts/bench.sh        # more rounds
#   OUT=/tmp/b.md scripts/bench.sh   # write the tables elsewhere
#   KEEP=/tmp/bench.txt scripts/bench.sh   # keep the raw go test output
#   FROM=/tmp/bench.txt scripts/bench.sh   # tables from a kept output, no run
#
# Settings (environment): COUNT (rounds, default 6), CALL_BENCHTIME (calls,
# tokens, webhooks; default 1s), MICRO_BENCHTIME (amounts and times; default
# 300ms), OUT (default BENCHMARKS.md), KEEP, FROM.
#
# Each round runs every benchmark once, so an SDK benchmark and its
# baseline always run next to each other: on a noisy shared machine only
# comparisons within one run mean anything, and interleaving them keeps a
# burst of load from landing on one side only. The targets are judged on
# the medians of the rounds.
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

# The perf package's benchmarks, and the root package's own: the webhook
# benchmarks, beside the webhook code, and the token manager's cached read,
# beside the manager (it is unexported).
calls='^(BenchmarkQuery|BenchmarkQueryTLS|BenchmarkCreate|BenchmarkExecute|BenchmarkTokenFastPath|BenchmarkTokenFastPathParallel|BenchmarkColdStart1000)$'
micro='^(BenchmarkAmount|BenchmarkTime)$'
rootpkg='^(BenchmarkVerifyCachedCert|BenchmarkBareRSAVerify|BenchmarkCachedToken)$'

benchstat -h >/dev/null 2>&1 || true # fetch benchstat before measuring

# run runs one test binary from the directory of its package (the perf
# benchmarks read the root package's testdata fixtures relative to it).
run() {
	local dir=$1 bin=$2 pattern=$3 benchtime=$4
	(cd "$dir" && "$bin" -test.run '^$' -test.bench "$pattern" -test.benchmem \
		-test.benchtime "$benchtime" -test.count 1)
}

raw=$tmp/raw.txt
if [ -n "${FROM:-}" ]; then
	cp "$FROM" "$raw"
	COUNT=$(grep -c '^BenchmarkTokenFastPath-' "$raw" || true)
else
	echo "bench.sh: building the test binaries" >&2
	go test -c -o "$tmp/perf.test" ./perf
	go test -c -o "$tmp/bkash.test" .
	for i in $(seq 1 "$COUNT"); do
		echo "bench.sh: round $i/$COUNT" >&2
		run perf "$tmp/perf.test" "$calls" "$CALL_BENCHTIME" >>"$raw"
		run perf "$tmp/perf.test" "$micro" "$MICRO_BENCHTIME" >>"$raw"
		run . "$tmp/bkash.test" "$rootpkg" "$CALL_BENCHTIME" >>"$raw"
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

# rounds prints "name min max" of the per-round CPU ratio SDK / raw of every
# call benchmark: each round runs an SDK benchmark right after its baseline,
# so the n-th results of the two form a pair. The spread shows how far one
# round can be from the medians the targets are judged on.
rounds() {
	awk '/^Benchmark(Query|Create|Execute)\/mode=/ {
		split($1, p, "/"); b = p[1] "/" p[2]; impl = p[3]; sub(/-[0-9]+$/, "", impl)
		for (i = 3; i + 1 <= NF; i += 2) if ($(i + 1) == "cpu-ns/op") v = $i
		n = ++count[b "|" impl]; val[b "|" impl "|" n] = v
	}
	END {
		for (k in count) {
			split(k, q, "|"); b = q[1]
			if (q[2] != "impl=sdk") continue
			lo = ""; hi = ""
			for (n = 1; n <= count[k]; n++) {
				if (!((b "|impl=raw|" n) in val)) continue
				r = val[k "|" n] / val[b "|impl=raw|" n]
				if (lo == "" || r < lo) lo = r
				if (hi == "" || r > hi) hi = r
			}
			if (lo != "") print b, lo, hi
		}
	}' "$norm"
}
rounds >"$tmp/rounds.txt"

# targets prints the Markdown table of issue 15's targets from the medians:
# for Query, Create and Execute at 1 and 64 goroutines, SDK / raw wall and
# CPU time (at most 1.10x each) and SDK - raw allocations (at most +10);
# then the valid cached token every call reads (the token manager's read:
# under 100 ns, 0 allocations), Client.Token beside it (it adds the copy it
# returns), and, when the webhook benchmarks ran, Verify / bare RSA (at most
# 1.2x).
targets() {
	awk '
	FILENAME ~ /rounds/ { spread[$1] = sprintf("%.2f-%.2f", $2, $3); next }
	{ m[$1 "|" $2] = $3 }
	function has(b, unit) { return (b "/impl=sdk|" unit) in m && (b "/impl=raw|" unit) in m }
	function ratio(b, unit) { return m[b "/impl=sdk|" unit] / m[b "/impl=raw|" unit] }
	function verdict(ok) { return ok ? "met" : "**not met**" }
	END {
		print "| Call | Goroutines | Wall SDK / raw | CPU SDK / raw | CPU per round | Allocs SDK - raw | Targets (<= 1.10x, <= 1.10x, <= +10) |"
		print "|---|---|---|---|---|---|---|"
		split("Query Create Execute", ops, " ")
		split("seq par64", modes, " ")
		split("1 64", gs, " ")
		for (o = 1; o <= 3; o++) for (d = 1; d <= 2; d++) {
			b = "Benchmark" ops[o] "/mode=" modes[d]
			if (!has(b, "ns/op")) continue
			w = ratio(b, "ns/op")
			ok = w <= 1.10
			cpu = "n/a"
			if (has(b, "cpu-ns/op")) {
				c = ratio(b, "cpu-ns/op")
				cpu = sprintf("%.3fx", c)
				ok = ok && c <= 1.10
			}
			s = m[b "/impl=sdk|allocs/op"]; r = m[b "/impl=raw|allocs/op"]
			ok = ok && s - r <= 10
			sp = (b in spread) ? spread[b] : "n/a"
			printf "| %s | %s | %.3fx | %s | %s | %+g (%g vs %g) | %s |\n", ops[o], gs[d], w, cpu, sp, s - r, s, r, verdict(ok)
		}
		opaque = 0
		for (o = 1; o <= 3; o++) for (d = 1; d <= 2; d++) {
			b = "Benchmark" ops[o] "/mode=" modes[d]
			if (!has(b, "cpu-ns/op") || !((b "/impl=rawopaque|cpu-ns/op") in m)) continue
			if (!opaque++) {
				print ""
				print "The second write, apart: `impl=rawopaque` is the raw call with its body written after the headers, as the SDK'"'"'s is."
				print ""
				print "| Call | Goroutines | Wall raw opaque / raw | CPU raw opaque / raw | Wall SDK / raw opaque | CPU SDK / raw opaque |"
				print "|---|---|---|---|---|---|"
			}
			q = b "/impl=rawopaque|"; r = b "/impl=raw|"; k = b "/impl=sdk|"
			printf "| %s | %s | %.3fx | %.3fx | %.3fx | %.3fx |\n", ops[o], gs[d],
				m[q "ns/op"] / m[r "ns/op"], m[q "cpu-ns/op"] / m[r "cpu-ns/op"],
				m[k "ns/op"] / m[q "ns/op"], m[k "cpu-ns/op"] / m[q "cpu-ns/op"]
		}
		tls = 0
		split("h1 h2", protos, " ")
		split("HTTP/1.1 HTTP/2", pnames, " ")
		for (p = 1; p <= 2; p++) for (d = 1; d <= 2; d++) {
			b = "BenchmarkQueryTLS/proto=" protos[p] "/mode=" modes[d]
			q = b "/impl=rawopaque|"; r = b "/impl=raw|"; k = b "/impl=sdk|"
			if (!((r "cpu-ns/op") in m) || !((q "cpu-ns/op") in m) || !((k "cpu-ns/op") in m)) continue
			if (!tls++) {
				print ""
				print "Query behind TLS (`BenchmarkQueryTLS`; not judged against the targets, see \"Behind TLS\" above)."
				print ""
				print "| Protocol | Goroutines | Wall SDK / raw | CPU SDK / raw | CPU raw opaque / raw | CPU SDK / raw opaque | Allocs SDK - raw |"
				print "|---|---|---|---|---|---|---|"
			}
			printf "| %s | %s | %.3fx | %.3fx | %.3fx | %.3fx | %+g |\n", pnames[p], gs[d],
				m[k "ns/op"] / m[r "ns/op"], m[k "cpu-ns/op"] / m[r "cpu-ns/op"],
				m[q "cpu-ns/op"] / m[r "cpu-ns/op"], m[k "cpu-ns/op"] / m[q "cpu-ns/op"],
				m[k "allocs/op"] - m[r "allocs/op"]
		}
		print ""
		print "| Other | Measured (median) | Target | |"
		print "|---|---|---|---|"
		if ("BenchmarkCachedToken|ns/op" in m) {
			t = m["BenchmarkCachedToken|ns/op"]; a = m["BenchmarkCachedToken|allocs/op"]
			printf "| Valid cached token, as every call reads it | %.1f ns, %g allocs | < 100 ns, 0 allocs | %s |\n", t, a, verdict(t < 100 && a == 0)
		}
		if ("BenchmarkTokenFastPath|ns/op" in m) {
			t = m["BenchmarkTokenFastPath|ns/op"]; a = m["BenchmarkTokenFastPath|allocs/op"]
			cpu = ""
			if ("BenchmarkTokenFastPath|cpu-ns/op" in m)
				cpu = sprintf(" (CPU %.1f ns)", m["BenchmarkTokenFastPath|cpu-ns/op"])
			printf "| Client.Token, valid cached token (returns a copy) | %.1f ns%s, %g allocs | | |\n", t, cpu, a
		}
		if (("BenchmarkVerify/impl=rsa|ns/op" in m) && ("BenchmarkVerify/impl=sdk|ns/op" in m)) {
			r = m["BenchmarkVerify/impl=sdk|ns/op"] / m["BenchmarkVerify/impl=rsa|ns/op"]
			printf "| Webhook Verify, cached certificate / bare RSA | %.3fx | <= 1.2x | %s |\n", r, verdict(r <= 1.2)
		}
	}' "$tmp/rounds.txt" "$tmp/medians.txt"
}

targets >"$tmp/targets.md"
cat "$tmp/targets.md"

{
	echo "<!-- bench:begin (generated by scripts/bench.sh; edit outside the markers) -->"
	echo
	if [ -n "${FROM:-}" ]; then
		how="tables of $(date -u '+%Y-%m-%d %H:%M UTC') from a kept output of $COUNT rounds"
	else
		how="run of $(date -u '+%Y-%m-%d %H:%M UTC'): $(go version | cut -d' ' -f3-), $COUNT rounds, calls at -benchtime $CALL_BENCHTIME, amounts and times at $MICRO_BENCHTIME"
	fi
	echo "scripts/bench.sh, $how," \
		"$(grep -m1 '^cpu:' "$norm" | sed 's/^cpu: //;s/[[:space:]]*$//'), GOMAXPROCS $(grep -m1 -oE '^Benchmark[^ ]*-[0-9]+ ' "$norm" | sed -E 's/.*-([0-9]+) $/\1/')."
	echo
	echo "### Targets (medians of the rounds)"
	echo
	cat "$tmp/targets.md"
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
		-filter '.name:(Query OR Create OR Execute)' -row '.name /mode' -col '/impl@(raw rawopaque sdk)'
	if grep -q '^BenchmarkQueryTLS/' "$norm"; then
		section "Query behind TLS, over HTTP/1.1 and HTTP/2" \
			-filter '.name:QueryTLS' -row '/proto /mode' -col '/impl@(raw rawopaque sdk)'
	fi
	section "Token" -filter '.name:(CachedToken OR TokenFastPath OR TokenFastPathParallel OR ColdStart1000)'
	if grep -q '^BenchmarkVerify/' "$norm"; then
		section "Webhook Verify with a cached certificate vs bare RSA verification" \
			-filter '.name:Verify -.unit:B/s' -col '/impl@(rsa sdk)'
	fi
	section "Amount vs strconv" -filter '.name:Amount' -row /op -col '/impl@(strconv sdk)'
	section "Time vs the time package" -filter '.name:Time' -row /op -col '/impl@(time sdk)'
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
