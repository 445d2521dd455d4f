package perf_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// countWrites makes hc's transport count in writes the writes made on the
// connections it dials (below TLS, when there is TLS: a TLS record is one
// write), and closes its idle connections when the test ends.
func countWrites(t *testing.T, hc *http.Client, writes *atomic.Int32) *http.Client {
	tr := transportOf(hc)
	dial := (&net.Dialer{}).DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, writes}, nil
	}
	t.Cleanup(hc.CloseIdleConnections)
	return hc
}

// TestBaselinesWriteAsTheyClaim: the impl=raw baseline writes each request
// in one write, impl=rawopaque in two, as net/http writes the SDK's. If
// net/http ever writes an opaque body with its headers, the rawopaque
// baseline no longer measures the second write and BENCHMARKS.md's split
// is wrong: this test says so.
func TestBaselinesWriteAsTheyClaim(t *testing.T) {
	srv := newBenchServer(t, 0)
	var rawW, opaqueW, sdkW atomic.Int32
	sides := srv.sides()
	raw := countWrites(t, sides.raw, &rawW)
	opaque := countWrites(t, sides.opaque, &opaqueW)
	sdk := newBenchClient(t, srv.URL, countWrites(t, sides.sdk, &sdkW)) // grants a token: writes counted from here
	for _, hc := range []*http.Client{raw, opaque} {
		if err := queryCall.raw(hc, srv.URL); err != nil { // the connection is open from here
			t.Fatal(err)
		}
	}
	rawW.Store(0)
	opaqueW.Store(0)
	sdkW.Store(0)
	const calls = 10
	for range calls {
		for _, hc := range []*http.Client{raw, opaque} {
			if err := queryCall.raw(hc, srv.URL); err != nil {
				t.Fatal(err)
			}
		}
		if err := queryCall.sdk(context.Background(), sdk); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int32{"raw": rawW.Load(), "rawopaque": opaqueW.Load(), "sdk": sdkW.Load()}
	want := map[string]int32{"raw": calls, "rawopaque": 2 * calls, "sdk": 2 * calls}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("writes for %d queries (-want +got):\n%s", calls, diff)
	}
}

// TestOpaqueBaselineClosesItsIdleConnections: runCallPairOn closes a
// baseline's idle connections before it measures the SDK, through
// http.Client.CloseIdleConnections, which reaches the connections of the
// raw-opaque side only if the opaqueBodies wrapper passes it on.
func TestOpaqueBaselineClosesItsIdleConnections(t *testing.T) {
	srv := newBenchServer(t, 0)
	hc := srv.sides().opaque
	tr := transportOf(hc)
	var dials atomic.Int32
	dial := (&net.Dialer{}).DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	for range 2 {
		if err := queryCall.raw(hc, srv.URL); err != nil {
			t.Fatal(err)
		}
		hc.CloseIdleConnections()
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("%d connections for 2 calls with the idle ones closed between them, want 2", n)
	}
}

// protoRecorder records the protocol of every response its RoundTripper
// returns.
type protoRecorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	protos []string
}

// CloseIdleConnections closes the idle connections of the RoundTripper
// underneath.
func (p *protoRecorder) CloseIdleConnections() {
	if c, ok := p.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (p *protoRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(r)
	if err == nil {
		p.mu.Lock()
		p.protos = append(p.protos, resp.Proto)
		p.mu.Unlock()
	}
	return resp, err
}

// TestTLSBenchServersSpeakTheirProtocol: BenchmarkQueryTLS's rows are
// named for the protocol every side speaks: HTTP/1.1 behind TLS for
// proto=h1 and HTTP/2 for proto=h2, for the raw, raw-opaque and SDK
// clients of sides alike, which runCallPairOn measures. A transport that
// fell back to HTTP/1.1 (a TLS configuration of its own turns off
// net/http's HTTP/2 unless asked for) would make the h2 rows measure
// HTTP/1.1.
func TestTLSBenchServersSpeakTheirProtocol(t *testing.T) {
	for proto, want := range map[string]string{tlsHTTP1: "HTTP/1.1", tlsHTTP2: "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			srv := newTLSBenchServer(t, proto)
			if srv.TLS == nil || !strings.HasPrefix(srv.URL, "https://") {
				t.Fatalf("server at %s is not behind TLS", srv.URL)
			}
			got := map[string][]string{}
			sides := srv.sides()
			for impl, hc := range map[string]*http.Client{"raw": sides.raw, "rawopaque": sides.opaque, "sdk": sides.sdk} {
				rec := &protoRecorder{next: hc.Transport}
				hc.Transport = rec
				t.Cleanup(hc.CloseIdleConnections)
				for range 2 {
					var err error
					if impl == "sdk" {
						err = queryCall.sdk(context.Background(), newClient(t, srv.URL, hc))
					} else {
						err = queryCall.raw(hc, srv.URL)
					}
					if err != nil {
						t.Fatalf("%s: %v", impl, err)
					}
				}
				got[impl] = rec.protos
			}
			wantAll := map[string][]string{
				"raw":       {want, want},
				"rawopaque": {want, want},
				"sdk":       {want, want, want, want}, // each new client grants first
			}
			if diff := cmp.Diff(wantAll, got); diff != "" {
				t.Errorf("protocols of the responses (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTLSBaselinesWriteAsTheyClaim: behind TLS over HTTP/1.1 the raw-opaque
// call still costs a second write (a second TLS record); over HTTP/2 it
// costs none, as net/http's HTTP/2 client writes a request's HEADERS and
// its DATA apart whatever the body's type. BENCHMARKS.md's reading of
// BenchmarkQueryTLS rests on both.
func TestTLSBaselinesWriteAsTheyClaim(t *testing.T) {
	const calls = 10
	for _, proto := range []string{tlsHTTP1, tlsHTTP2} {
		t.Run(proto, func(t *testing.T) {
			srv := newTLSBenchServer(t, proto)
			var rawW, opaqueW atomic.Int32
			sides := srv.sides()
			raw := countWrites(t, sides.raw, &rawW)
			opaque := countWrites(t, sides.opaque, &opaqueW)
			for _, hc := range []*http.Client{raw, opaque} {
				if err := queryCall.raw(hc, srv.URL); err != nil { // handshake and settings from here
					t.Fatal(err)
				}
			}
			rawW.Store(0)
			opaqueW.Store(0)
			for range calls {
				for _, hc := range []*http.Client{raw, opaque} {
					if err := queryCall.raw(hc, srv.URL); err != nil {
						t.Fatal(err)
					}
				}
			}
			r, o := rawW.Load(), opaqueW.Load()
			switch proto {
			case tlsHTTP1:
				if r != calls || o != 2*calls {
					t.Errorf("HTTP/1.1 over TLS: %d raw and %d raw-opaque writes for %d calls each, want %d and %d", r, o, calls, calls, 2*calls)
				}
			case tlsHTTP2:
				if r < 2*calls || o != r {
					t.Errorf("HTTP/2: %d raw and %d raw-opaque writes for %d calls each, want the same number, at least %d", r, o, calls, 2*calls)
				}
			}
		})
	}
}
