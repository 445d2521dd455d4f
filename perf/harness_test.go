package perf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
)

// This file is the harness of the package: a loopback bKash that answers
// every call with a fixed body, SDK clients warmed up on it, the raw
// baseline (the same call written by hand with net/http and encoding/json),
// and runCallPair, which runs an SDK call beside its baseline. The
// benchmarks and tests of the other files are built from these pieces.

// benchPaymentID is the payment every benchmark and test call names.
const benchPaymentID = "TR0011Hk2Lm9P1735713000456"

// benchToken is the id_token of benchGrantAnswer. The raw baseline sends it
// as it is, as the SDK does once it has been granted.
const benchToken = "eyJraWQiOiJFWEFNUExFIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl"

// benchGrantAnswer is the loopback bKash's answer to a grant: a token valid
// for an hour, so that no benchmark renews one.
const benchGrantAnswer = `{"statusCode":"0000","statusMessage":"Successful","id_token":"` + benchToken + `","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.ZXhhbXBsZQ.aXY.Y2lwaGVy.dGFn"}`

// benchQueryAnswer is the answer to payment/status: a completed payment.
const benchQueryAnswer = `{"paymentID":"TR0011Hk2Lm9P1735713000456","mode":"0011","paymentCreateTime":"2025-01-01T12:30:00:456 GMT+0600","paymentExecuteTime":"2025-01-01T12:31:10:222 GMT+0600","amount":"150.50","currency":"BDT","intent":"sale","merchantInvoice":"A-1001-1","trxID":"CLA7K2M9QZ","transactionStatus":"Completed","verificationStatus":"Complete","statusCode":"0000","statusMessage":"Successful","payerReference":"01770618575"}`

// compactFixture reads one of the root package's testdata fixtures and
// compacts it, as bKash sends its answers.
func compactFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile("../testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return buf.Bytes()
}

// benchServer is the loopback bKash of the benchmarks. It answers grant,
// create, execute and payment/status with fixed bodies and counts the
// grants it answers.
type benchServer struct {
	*httptest.Server
	grants atomic.Int64
}

// Protocols of a benchServer: plain HTTP/1.1 on loopback (the call
// benchmarks' default), or TLS as bKash is reached, with HTTP/1.1 or with
// HTTP/2 negotiated through ALPN.
const (
	plainHTTP = ""
	tlsHTTP1  = "h1"
	tlsHTTP2  = "h2"
)

// newBenchServer starts a benchServer whose grants take grantDelay (a real
// grant is never instant; the cold-start benchmark depends on it).
func newBenchServer(tb testing.TB, grantDelay time.Duration) *benchServer {
	tb.Helper()
	return startBenchServer(tb, grantDelay, plainHTTP)
}

// newTLSBenchServer starts a benchServer behind TLS that speaks proto
// (tlsHTTP1 or tlsHTTP2); its httpClient trusts its certificate.
func newTLSBenchServer(tb testing.TB, proto string) *benchServer {
	tb.Helper()
	return startBenchServer(tb, 0, proto)
}

func startBenchServer(tb testing.TB, grantDelay time.Duration, proto string) *benchServer {
	tb.Helper()
	const root = "/v1.2.0-beta/tokenized/checkout/"
	answers := map[string][]byte{
		root + "create":         compactFixture(tb, "payment/create_0011_ok.json"),
		root + "execute":        compactFixture(tb, "payment/execute_completed.json"),
		root + "payment/status": []byte(benchQueryAnswer),
	}
	s := &benchServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		answer, ok := answers[r.URL.Path]
		if r.URL.Path == root+"token/grant" {
			s.grants.Add(1)
			time.Sleep(grantDelay)
			answer, ok = []byte(benchGrantAnswer), true
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	switch proto {
	case plainHTTP:
		s.Start()
	case tlsHTTP1:
		s.StartTLS() // offers only http/1.1 through ALPN
	case tlsHTTP2:
		s.EnableHTTP2 = true
		s.StartTLS()
	default:
		tb.Fatalf("unknown protocol %q", proto)
	}
	tb.Cleanup(s.Close)
	return s
}

// benchSides are the HTTP clients of the three sides of a pair, each with
// a transport of its own: the raw call's, the raw call's with its bodies
// hidden from net/http (opaqueBodies), and the SDK's.
type benchSides struct{ raw, opaque, sdk *http.Client }

// sides returns new clients of s for the three sides of a pair. The
// benchmarks (runCallPairOn) and the tests of what they measure
// (baseline_test.go) both take their clients from here.
func (s *benchServer) sides() benchSides {
	opaque := s.httpClient()
	opaque.Transport = opaqueBodies{opaque.Transport}
	return benchSides{raw: s.httpClient(), opaque: opaque, sdk: s.httpClient()}
}

// transportOf returns the *http.Transport under a client of sides.
func transportOf(hc *http.Client) *http.Transport {
	if o, ok := hc.Transport.(opaqueBodies); ok {
		return o.next.(*http.Transport)
	}
	return hc.Transport.(*http.Transport)
}

// httpClient returns a new client of s, made by benchHTTPClient; behind
// TLS it trusts s's certificate, and for tlsHTTP2 it negotiates HTTP/2 (a
// transport with its own TLS configuration does not unless told to).
func (s *benchServer) httpClient() *http.Client {
	hc := benchHTTPClient()
	if s.TLS != nil {
		tr := hc.Transport.(*http.Transport)
		tr.TLSClientConfig = s.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		tr.ForceAttemptHTTP2 = s.EnableHTTP2
	}
	return hc
}

// benchHTTPClient is the HTTP client of every side of a pair: net/http's
// default transport with room for 64 concurrent callers' connections.
func benchHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	return &http.Client{Transport: tr}
}

// opaqueBodies hands net/http each request with its body wrapped in a
// type net/http does not know to be in memory, as the SDK's body (which
// records whether it was read) is: net/http then flushes the headers
// before it writes the body, a second write. The impl=rawopaque baseline
// is the raw call sent so; it tells that write's cost from the SDK's own.
type opaqueBodies struct{ next http.RoundTripper }

// CloseIdleConnections closes the idle connections of the RoundTripper
// underneath, as http.Client.CloseIdleConnections expects of its
// Transport: without it the baseline's connections stay open while the
// SDK is measured.
func (o opaqueBodies) CloseIdleConnections() {
	if c, ok := o.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// opaqueBody hides the body's type from net/http.
type opaqueBody struct{ io.ReadCloser }

// RoundTrip sends a copy of r (a RoundTripper must not change its
// request) with its body wrapped: two allocations more than the raw call,
// a few hundred nanoseconds beside a loopback call's tens of microseconds.
func (o opaqueBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		return o.next.RoundTrip(r)
	}
	r2 := *r
	r2.Body = opaqueBody{r.Body}
	return o.next.RoundTrip(&r2)
}

// newClient returns an SDK client of the server at url that sends its
// requests through hc. It has no token yet.
func newClient(tb testing.TB, url string, hc *http.Client) *bkash.Client {
	tb.Helper()
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
		Username: "bench", Password: "pw", AppKey: "app-key", AppSecret: "app-secret",
	}, bkash.WithBaseURL(url), bkash.WithHTTPClient(hc))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// newBenchClient returns a warm SDK client: its token granted and one
// connection open, as in a shop that has been running for a while.
func newBenchClient(tb testing.TB, url string, hc *http.Client) *bkash.Client {
	tb.Helper()
	c := newClient(tb, url, hc)
	if _, err := c.Payments.Query(context.Background(), benchPaymentID); err != nil {
		tb.Fatal(err)
	}
	return c
}

// rawAnswer is a baseline's answer type: it reports bKash's statusCode.
type rawAnswer interface{ code() string }

// rawPost is the baseline call: marshal, POST with bKash's headers, read
// the whole answer, unmarshal into out, check the status code. It is what
// a careful integration without the SDK writes.
func rawPost(hc *http.Client, url string, in any, out rawAnswer) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", benchToken)
	req.Header.Set("X-App-Key", "app-key")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return err
	}
	if c := out.code(); c != "0000" {
		return errors.New("bkash error " + c)
	}
	return nil
}

// reportCPU adds a cpu-ns/op metric to b: the process's CPU time (client,
// loopback server and runtime together) per operation. Unlike ns/op it
// hardly moves when other processes compete for the machine's cores, so it
// is the steadier measure of what the SDK adds. Call the function it
// returns when the measured loop is done.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// par64 is the parallelism that makes RunParallel use 64 goroutines
// (RunParallel starts parallelism x GOMAXPROCS of them).
func par64() int {
	p := runtime.GOMAXPROCS(0)
	return (64 + p - 1) / p
}

// benchCall is one operation as the two sides make it: the raw call to
// the server rooted at url, and the SDK call.
type benchCall struct {
	raw func(hc *http.Client, url string) error
	sdk func(ctx context.Context, c *bkash.Client) error
}

// runCallPair runs the six sub-benchmarks of a call on one plain-HTTP
// loopback server (runCallPairOn).
func runCallPair(b *testing.B, bc benchCall) {
	runCallPairOn(b, newBenchServer(b, 0), bc)
}

// runCallPairOn runs the six sub-benchmarks of a call on srv: raw, raw
// with an opaque body (opaqueBodies) and SDK, sequential
// (mode=seq) and with 64 goroutines (mode=par64). The sub-benchmarks are
// named key=value, so that benchstat can put each SDK result beside its
// baselines (scripts/bench.sh). Each side has an HTTP client of its own,
// warmed up by one call before the clock starts; its idle connections are
// closed when its sub-benchmark is done, so that they do not linger while
// another side is measured. (RunParallel calls a sub-benchmark's function
// several times, with a growing b.N; the client is made on the first.)
func runCallPairOn(b *testing.B, srv *benchServer, bc benchCall) {
	ctx := context.Background()
	for _, mode := range []string{"seq", "par64"} {
		sides := srv.sides()
		for _, base := range []struct {
			impl string
			hc   *http.Client
		}{{"raw", sides.raw}, {"rawopaque", sides.opaque}} {
			b.Run("mode="+mode+"/impl="+base.impl, func(b *testing.B) {
				if err := bc.raw(base.hc, srv.URL); err != nil {
					b.Fatal(err) // warm up: open a connection
				}
				measure(b, mode, func() error { return bc.raw(base.hc, srv.URL) })
			})
			base.hc.CloseIdleConnections()
		}

		var c *bkash.Client
		b.Run("mode="+mode+"/impl=sdk", func(b *testing.B) {
			if c == nil {
				c = newBenchClient(b, srv.URL, sides.sdk) // warm up: grant, open a connection
			}
			measure(b, mode, func() error { return bc.sdk(ctx, c) })
		})
		sides.sdk.CloseIdleConnections()
	}
}

// measure runs call b.N times, in one goroutine (mode "seq") or spread
// over 64 (mode "par64"), reporting allocations and CPU time per call.
func measure(b *testing.B, mode string, call func() error) {
	b.ReportAllocs()
	if mode == "seq" {
		defer reportCPU(b)()
		for b.Loop() {
			if err := call(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism(par64())
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
