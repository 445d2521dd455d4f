// Package perf holds the SDK's performance and endurance checks, kept out
// of the root package's listing so that a reader of the SDK meets its code
// and its behaviour tests first. It has no code of its own: everything is
// in its tests, and they use only the public API of
// github.com/smartdairy/bkash-go and bkashtest, as a shop would.
//
//   - The call benchmarks (bench_calls_test.go) set Payments.Query, Create
//     and Execute beside the same call written by hand with net/http and
//     encoding/json, on one loopback server, sequentially and with 64
//     goroutines, reporting wall time, CPU time and allocations per call;
//     BenchmarkQueryTLS makes the same comparison behind TLS, over HTTP/1.1
//     and over HTTP/2.
//   - The token benchmarks (bench_token_test.go) measure Client.Token with
//     a valid cached token, and 1,000 callers of a cold client.
//   - The value benchmarks (bench_values_test.go) set Amount and Time beside
//     strconv and the time package.
//   - The connection tests (conn_reuse_test.go) count the TCP connections a
//     loopback server accepts: calls share them, and error answers do not
//     cost them.
//   - The soak (soak_test.go) runs thousands of concurrent checkouts against
//     bkashtest with faults injected at random and checks that no payment
//     is executed or refunded twice and none is left unknown.
//
// go test ./... runs the tests; scripts/bench.sh runs the benchmarks in
// interleaved rounds and writes BENCHMARKS.md.
package perf
