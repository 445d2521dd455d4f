package transport

// Tests of the "sent" rule on real servers, proxies and HTTP/2, through
// net/http's own *http.Transport and through a RoundTripper that wraps it.
// An *http.Transport does not always carry a request itself: it hands it to
// the RoundTripper registered for the scheme (RegisterProtocol), or to the
// one TLSNextProto made for the negotiated protocol, and those report
// nothing through httptrace. So "sent" cannot be learnt from httptrace; it
// is learnt from the body, which every RoundTripper reads when it sends.
// Whatever carries it, a money request the server read reaches it once and
// is reported sent, and one that provably never left is reported unsent.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
)

const moneyBody = `{"paymentID":"TR0011IT","amount":"10.00"}`

// moneyServer counts the requests it reads. The first request read to its
// end is dropped without an answer (the money may have moved); every later
// one is answered 200, as bKash answers a repeat it processed.
type moneyServer struct {
	full    atomic.Int32 // requests whose whole body arrived
	started atomic.Int32 // requests whose headers arrived
	proto   atomic.Int32 // HTTP major version of the last request
}

func (s *moneyServer) handler(drop func(w http.ResponseWriter)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.started.Add(1)
		s.proto.Store(int32(r.ProtoMajor))
		if _, err := io.ReadAll(r.Body); err != nil {
			return
		}
		if s.full.Add(1) == 1 {
			drop(w)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}
}

// dropConn drops an HTTP/1 request unanswered.
func dropConn(w http.ResponseWriter) {
	if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
		c.Close()
	}
}

// resetStream drops a request unanswered on any protocol (HTTP/2: RST_STREAM).
func resetStream(http.ResponseWriter) { panic(http.ErrAbortHandler) }

// wantSentOnce checks the money rule on a Result: the server read the
// request exactly once, and the caller hears that it may have been sent.
func wantSentOnce(t *testing.T, s *moneyServer, res Result) {
	t.Helper()
	if n := s.full.Load(); n != 1 {
		t.Errorf("server read the money request %d times, want exactly 1 (Attempts %d, Sent %v, Err %v)", n, res.Attempts, res.Sent, res.Err)
	}
	if !res.Sent {
		t.Errorf("Result.Sent = false after the server read the request (Attempts %d, Err %v, Resp %v)", res.Attempts, res.Err, res.Resp != nil)
	}
	if res.Resp != nil {
		res.Resp.Body.Close()
	}
}

// connPerRequestRT is HTTP/1.1 on a connection of its own per request,
// reporting nothing through httptrace: what an alternate protocol (an
// HTTP/3 client, a unix-socket or test transport) registered on an
// *http.Transport looks like.
type connPerRequestRT struct{}

func (connPerRequestRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c, err := (&net.Dialer{}).DialContext(r.Context(), "tcp", r.URL.Host)
	if err != nil {
		return nil, err
	}
	if err := r.Write(c); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), r)
	if err != nil {
		c.Close()
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{resp.Body, c}
	return resp, nil
}

// failingRT fails every request.
type failingRT struct{ err error }

func (f failingRT) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }

// newH2TLSServer starts an HTTP/2 (and HTTP/1.1) TLS test server and
// returns it with a pool that trusts it.
func newH2TLSServer(t *testing.T, h http.Handler) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, pool
}

// TestRegisteredProtocolNeverResendsMoney: an *http.Transport hands a
// request to the RoundTripper registered for its scheme before it looks for
// a connection of its own, and that RoundTripper reports nothing through
// httptrace. A money request the server read and dropped is sent, once.
func TestRegisteredProtocolNeverResendsMoney(t *testing.T) {
	t.Parallel()
	s := &moneyServer{}
	srv := httptest.NewServer(s.handler(dropConn))
	defer srv.Close()
	nt := &http.Transport{}
	nt.RegisterProtocol("http", connPerRequestRT{})
	tr := New(&http.Client{Transport: nt}, fast(3))
	res := do(context.Background(), tr, Money, srv.URL+"/execute", http.Header{}, []byte(moneyBody), nil)
	wantSentOnce(t, s, res)
}

// TestTLSNextProtoConnNeverResendsMoney: an *http.Transport whose HTTP/2 is
// the caller's own, plugged in through TLSNextProto (here x/net's
// http2.ClientConn on the negotiated connection). net/http leaves httptrace
// to the alternate protocol, and ClientConn reports nothing. A money
// request the server read and reset is sent, once.
func TestTLSNextProtoConnNeverResendsMoney(t *testing.T) {
	t.Parallel()
	s := &moneyServer{}
	srv, pool := newH2TLSServer(t, s.handler(resetStream))
	//lint:ignore SA1019 x/net's HTTP/2 is deprecated, but callers' transports are still built with it
	t2 := &http2.Transport{}
	nt := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}},
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{
			"h2": func(_ string, c *tls.Conn) http.RoundTripper {
				//lint:ignore SA1019 x/net's HTTP/2 is deprecated, but callers' transports are still built with it
				cc, err := t2.NewClientConn(c)
				if err != nil {
					return failingRT{err}
				}
				return cc
			},
		},
	}
	defer nt.CloseIdleConnections()
	tr := New(&http.Client{Transport: nt}, fast(3))
	res := do(context.Background(), tr, Money, srv.URL+"/execute", http.Header{}, []byte(moneyBody), nil)
	if s.proto.Load() != 2 {
		t.Errorf("server saw HTTP/%d, want 2", s.proto.Load())
	}
	wantSentOnce(t, s, res)
}

// TestXNetConfigureTransportsNeverResendsMoney: x/net's HTTP/2 put into an
// *http.Transport by http2.ConfigureTransports, on a fresh connection and
// on a pooled one: a money request the server read and reset is sent, once.
func TestXNetConfigureTransportsNeverResendsMoney(t *testing.T) {
	t.Parallel()
	for _, warm := range []bool{false, true} {
		t.Run(fmt.Sprintf("pooled=%v", warm), func(t *testing.T) {
			t.Parallel()
			s := &moneyServer{}
			var warmed atomic.Bool
			srv, pool := newH2TLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/warm" {
					warmed.Store(r.ProtoMajor == 2)
					return
				}
				s.handler(resetStream)(w, r)
			}))
			nt := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
			//lint:ignore SA1019 x/net's HTTP/2 is deprecated, but callers' transports are still built with it
			if _, err := http2.ConfigureTransports(nt); err != nil {
				t.Fatal(err)
			}
			defer nt.CloseIdleConnections()
			tr := New(&http.Client{Transport: nt}, fast(3))
			if warm {
				r := do(context.Background(), tr, Read, srv.URL+"/warm", http.Header{}, []byte(`{}`), nil)
				if r.Err != nil || !warmed.Load() {
					t.Fatalf("warm-up: %v, HTTP/2 %v", r.Err, warmed.Load())
				}
				r.Resp.Body.Close()
			}
			res := do(context.Background(), tr, Money, srv.URL+"/execute", http.Header{}, []byte(moneyBody), nil)
			if s.proto.Load() != 2 {
				t.Errorf("server saw HTTP/%d, want 2", s.proto.Load())
			}
			wantSentOnce(t, s, res)
		})
	}
}

// TestNativeHTTP2NeverResendsMoney: net/http's bundled HTTP/2 over TLS and
// unencrypted (h2c, by Transport.Protocols), on a fresh connection and on
// a pooled one, used directly and through a wrapping RoundTripper: a money
// request the server read and reset is sent, once.
func TestNativeHTTP2NeverResendsMoney(t *testing.T) {
	t.Parallel()
	for _, h2c := range []bool{false, true} {
		for _, warm := range []bool{false, true} {
			for _, wrap := range []bool{false, true} {
				t.Run(fmt.Sprintf("h2c=%v/pooled=%v/wrapped=%v", h2c, warm, wrap), func(t *testing.T) {
					t.Parallel()
					s := &moneyServer{}
					h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if r.URL.Path == "/warm" {
							return
						}
						s.handler(resetStream)(w, r)
					})
					var nt *http.Transport
					var base string
					if h2c {
						srv := httptest.NewUnstartedServer(h)
						srv.Config.Protocols = new(http.Protocols)
						srv.Config.Protocols.SetHTTP1(true)
						srv.Config.Protocols.SetUnencryptedHTTP2(true)
						srv.Start()
						t.Cleanup(srv.Close)
						nt = &http.Transport{Protocols: new(http.Protocols)}
						nt.Protocols.SetUnencryptedHTTP2(true)
						base = srv.URL
					} else {
						srv, pool := newH2TLSServer(t, h)
						nt = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
						base = srv.URL
					}
					defer nt.CloseIdleConnections()
					var rt http.RoundTripper = nt
					if wrap {
						rt = roundTripFunc(nt.RoundTrip)
					}
					tr := New(&http.Client{Transport: rt}, fast(3))
					if warm {
						r := do(context.Background(), tr, Read, base+"/warm", http.Header{}, []byte(`{}`), nil)
						if r.Err != nil {
							t.Fatal(r.Err)
						}
						r.Resp.Body.Close()
					}
					res := do(context.Background(), tr, Money, base+"/execute", http.Header{}, []byte(moneyBody), nil)
					if s.proto.Load() != 2 {
						t.Fatalf("server saw HTTP/%d, want 2", s.proto.Load())
					}
					wantSentOnce(t, s, res)
				})
			}
		}
	}
}

// TestForwardProxyDropIsSentOnce: through an HTTP proxy (absolute-URI
// requests), a proxy that read the money request and dropped it: sent,
// once.
func TestForwardProxyDropIsSentOnce(t *testing.T) {
	t.Parallel()
	s := &moneyServer{}
	proxy := httptest.NewServer(s.handler(dropConn)) // the proxy reads and drops
	defer proxy.Close()
	pu, err := url.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	nt := &http.Transport{Proxy: http.ProxyURL(pu)}
	defer nt.CloseIdleConnections()
	tr := New(&http.Client{Transport: nt}, fast(3))
	res := do(context.Background(), tr, Money, "http://bkash.invalid/execute", http.Header{}, []byte(moneyBody), nil)
	wantSentOnce(t, s, res)
}

// newConnectProxy answers CONNECT: it refuses it, or tunnels to the target.
func newConnectProxy(t *testing.T, refuse bool, connects *atomic.Int32) *httptest.Server {
	t.Helper()
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		connects.Add(1)
		if refuse {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() { _, _ = io.Copy(up, brw); up.Close() }()
		_, _ = io.Copy(c, up)
		c.Close()
	}))
	t.Cleanup(p.Close)
	return p
}

// TestConnectProxyRefusedIsNotSentTunnelledIsSentOnce: a CONNECT proxy that
// refuses the tunnel means the money request never left: not sent, retried
// to the policy's end, nothing at the server. Through a tunnel to a server
// that reads and resets it: sent, once. Both over HTTP/1.1 and HTTP/2
// inside the tunnel.
func TestConnectProxyRefusedIsNotSentTunnelledIsSentOnce(t *testing.T) {
	t.Parallel()
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			t.Parallel()
			s := &moneyServer{}
			srv, pool := newH2TLSServer(t, s.handler(resetStream))
			for _, refuse := range []bool{true, false} {
				var connects atomic.Int32
				p := newConnectProxy(t, refuse, &connects)
				pu, err := url.Parse(p.URL)
				if err != nil {
					t.Fatal(err)
				}
				nt := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
				tr := New(&http.Client{Transport: nt}, fast(3))
				res := do(context.Background(), tr, Money, srv.URL+"/execute", http.Header{}, []byte(moneyBody), nil)
				nt.CloseIdleConnections()
				if refuse {
					if res.Sent || res.Attempts != 3 || connects.Load() != 3 || s.started.Load() != 0 {
						t.Errorf("refused tunnel: Sent %v, Attempts %d, CONNECTs %d, server requests %d; want false, 3, 3, 0 (err %v)", res.Sent, res.Attempts, connects.Load(), s.started.Load(), res.Err)
					}
					continue
				}
				wantSentOnce(t, s, res)
				if want := map[bool]int32{false: 1, true: 2}[h2]; s.proto.Load() != want {
					t.Errorf("server saw HTTP/%d, want %d", s.proto.Load(), want)
				}
			}
		})
	}
}

// deadConn is a connection whose writes fail without writing once it is
// killed: the peer went away (EPIPE) and the client has not read the FIN
// yet, the race every pooled keep-alive connection is exposed to.
type deadConn struct {
	net.Conn
	dead *atomic.Bool
}

func (c deadConn) Write(p []byte) (int, error) {
	if c.dead.Load() {
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}
	}
	return c.Conn.Write(p)
}

// TestStalePooledConnectionIsRetriedForMoney: a request on a stale pooled
// keep-alive connection whose first write (the headers; net/http writes a
// body it does not know in a write of its own) fails with nothing written
// never read its body: the attempt is not sent. A money call or a create
// (neither has GetBody, so net/http cannot rewind it inside the attempt) is
// tried again on a new connection and reaches the server once, whole, after
// 2 attempts. Directly and through a wrapping RoundTripper alike.
func TestStalePooledConnectionIsRetriedForMoney(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string][]string{} // path -> bodies read
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], string(b))
		mu.Unlock()
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		class Class
		wrap  bool
		sent  []bool // per attempt
	}{
		{Money, false, []bool{false, true}},
		{Money, true, []bool{false, true}},
		{Create, false, []bool{false, true}},
		{Create, true, []bool{false, true}},
	} {
		name := fmt.Sprintf("class=%d/wrapped=%v", tc.class, tc.wrap)
		var first sync.Once
		var firstDead *atomic.Bool
		nt := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			d := new(atomic.Bool)
			first.Do(func() { firstDead = d })
			return deadConn{c, d}, nil
		}}
		var rt http.RoundTripper = nt
		if tc.wrap {
			rt = roundTripFunc(nt.RoundTrip)
		}
		tr := New(&http.Client{Transport: rt}, fast(3))
		w := do(context.Background(), tr, Read, srv.URL+"/warm", http.Header{}, []byte(`{}`), nil)
		if w.Err != nil {
			t.Fatal(w.Err)
		}
		_, _ = io.Copy(io.Discard, w.Resp.Body)
		w.Resp.Body.Close()
		firstDead.Store(true) // the pooled connection is now stale
		path := fmt.Sprintf("/class%d-wrapped%v", tc.class, tc.wrap)
		var sent []bool
		res := do(context.Background(), tr, tc.class, srv.URL+path, http.Header{}, []byte(moneyBody), func(a Attempt) { sent = append(sent, a.Sent) })
		nt.CloseIdleConnections()
		mu.Lock()
		bodies := got[path]
		mu.Unlock()
		if res.Err != nil || res.Resp == nil || !res.Sent || res.Attempts != len(tc.sent) {
			t.Errorf("%s: err %v, Sent %v, Attempts %d; want no error, true, %d", name, res.Err, res.Sent, res.Attempts, len(tc.sent))
		}
		if diff := cmp.Diff(tc.sent, sent); diff != "" {
			t.Errorf("%s: sent per attempt (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff([]string{moneyBody}, bodies); diff != "" {
			t.Errorf("%s: bodies the server read (-want +got):\n%s", name, diff)
		}
		if res.Resp != nil {
			res.Resp.Body.Close()
		}
	}
}

// TestTimeoutSweepNeverResendsOrMisreports cancels money calls at varied
// moments: a slow dial, http.Client.Timeout, the caller's deadline,
// ResponseHeaderTimeout, with keep-alives on and off, directly and through
// a wrapping RoundTripper; the server reads each request and answers or
// drops it after a pause. Whatever the moment, a whole request reaches the
// server at most once, and a call the server read is never reported
// unsent. The moments come from a fixed seed, so every run tries the same
// ones (where they fall against the scheduler still varies).
func TestTimeoutSweepNeverResendsOrMisreports(t *testing.T) {
	t.Parallel()
	type tally struct{ started, full int }
	var mu sync.Mutex
	seen := map[string]*tally{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Iter")
		mu.Lock()
		if seen[id] == nil {
			seen[id] = &tally{}
		}
		seen[id].started++
		mu.Unlock()
		b, err := io.ReadAll(r.Body)
		if err == nil && string(b) == moneyBody {
			mu.Lock()
			seen[id].full++
			mu.Unlock()
		}
		pause, _ := strconv.Atoi(r.Header.Get("X-Pause-Us"))
		time.Sleep(time.Duration(pause) * time.Microsecond)
		if r.Header.Get("X-Drop") == "1" {
			dropConn(w)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	type outcome struct {
		id  string
		res Result
	}
	var outsMu sync.Mutex
	var outs []outcome
	const iters = 150
	var sweeps sync.WaitGroup
	for n, sc := range []struct{ keepAlive, wrap bool }{{true, false}, {true, true}, {false, false}, {false, true}} {
		rnd := rand.New(rand.NewPCG(1, uint64(n)))     // the calls' moments, drawn in order
		dialRnd := rand.New(rand.NewPCG(2, uint64(n))) // the dials', drawn as they come
		var dialMu sync.Mutex
		nt := &http.Transport{
			DisableKeepAlives: !sc.keepAlive,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dialMu.Lock()
				d := time.Duration(dialRnd.IntN(1500)) * time.Microsecond
				dialMu.Unlock()
				time.Sleep(d)
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}
		if rnd.IntN(2) == 0 {
			nt.ResponseHeaderTimeout = time.Duration(1+rnd.IntN(2000)) * time.Microsecond
		}
		var rt http.RoundTripper = nt
		if sc.wrap {
			rt = roundTripFunc(nt.RoundTrip)
		}
		sweeps.Go(func() {
			defer nt.CloseIdleConnections()
			for i := range iters {
				hc := &http.Client{Transport: rt}
				if rnd.IntN(2) == 0 {
					hc.Timeout = time.Duration(1+rnd.IntN(3000)) * time.Microsecond
				}
				deadline := time.Duration(1+rnd.IntN(5000)) * time.Microsecond
				hdr := http.Header{
					"X-Iter":     {fmt.Sprintf("keepalive=%v/wrapped=%v/%d", sc.keepAlive, sc.wrap, i)},
					"X-Pause-Us": {strconv.Itoa(rnd.IntN(2000))},
					"X-Drop":     {"0"},
				}
				if rnd.IntN(3) == 0 {
					hdr.Set("X-Drop", "1")
				}
				tr := New(hc, fast(3))
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				res := do(ctx, tr, Money, srv.URL+"/execute", hdr, []byte(moneyBody), nil)
				cancel()
				if res.Resp != nil {
					_, _ = io.Copy(io.Discard, res.Resp.Body)
					res.Resp.Body.Close()
				}
				outsMu.Lock()
				outs = append(outs, outcome{hdr.Get("X-Iter"), res})
				outsMu.Unlock()
			}
		})
	}
	sweeps.Wait()
	time.Sleep(50 * time.Millisecond) // bytes still in flight land
	mu.Lock()
	defer mu.Unlock()
	var sentN, headersOnly int
	for _, o := range outs {
		tl := seen[o.id]
		if tl == nil {
			tl = &tally{}
		}
		if o.res.Sent {
			sentN++
		}
		// Headers may arrive without their body: net/http writes them
		// first, and a body read after its attempt failed gives no bytes.
		// Such a request is incomplete and moves no money; the whole body
		// is what counts.
		headersOnly += tl.started - tl.full
		if tl.full > 1 {
			t.Errorf("%s: server read the whole money request %d times; want at most 1 (res %+v)", o.id, tl.full, o.res)
		}
		if tl.full > 0 && !o.res.Sent {
			t.Errorf("%s: server read the request, but Result.Sent = false (res %+v)", o.id, o.res)
		}
	}
	t.Logf("%d calls: %d reported sent, %d unsent; %d requests arrived without their whole body", len(outs), sentN, len(outs)-sentN, headersOnly)
}

// TestEarlyReturningWrapperNeverSendsTheBodyTwice: a wrapper around
// *http.Transport that stops waiting for a slow dial and returns an error
// while the inner RoundTrip goes on (the RoundTripper contract allows it
// to finish with the request on a goroutine of its own). The late inner
// attempt gets its connection after the call moved on, or ended: its body
// gives no bytes, so the server never gets a second whole money request,
// and a call that ended unsent stays unsent on the wire.
func TestEarlyReturningWrapperNeverSendsTheBodyTwice(t *testing.T) {
	t.Parallel()
	for _, attempts := range []int{1, 3} {
		t.Run(fmt.Sprintf("attempts=%d", attempts), func(t *testing.T) {
			t.Parallel()
			s := &moneyServer{}
			srv := httptest.NewServer(s.handler(func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{}`) }))
			defer srv.Close()
			var dials atomic.Int32
			nt := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if dials.Add(1) == 1 {
					time.Sleep(60 * time.Millisecond) // the first dial outlives its attempt
				}
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
			defer nt.CloseIdleConnections()
			var inner sync.WaitGroup
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				type rr struct {
					resp *http.Response
					err  error
				}
				ch := make(chan rr, 1)
				inner.Go(func() {
					resp, err := nt.RoundTrip(r)
					ch <- rr{resp, err}
				})
				select {
				case x := <-ch:
					return x.resp, x.err
				case <-time.After(15 * time.Millisecond):
					return nil, errors.New("wrapper: gave up waiting")
				}
			})
			tr := New(&http.Client{Transport: rt}, fast(attempts))
			res := do(context.Background(), tr, Money, srv.URL+"/execute", http.Header{}, []byte(moneyBody), nil)
			inner.Wait()
			time.Sleep(20 * time.Millisecond) // the late request lands
			if res.Resp != nil {
				res.Resp.Body.Close()
			}
			wantFull := int32(min(attempts-1, 1)) // 1 attempt: never sent; 3: the retry, once
			if s.full.Load() != wantFull || res.Sent != (wantFull == 1) {
				t.Errorf("server read %d whole requests (%d started), Sent %v, err %v; want %d whole, Sent %v",
					s.full.Load(), s.started.Load(), res.Sent, res.Err, wantFull, wantFull == 1)
			}
		})
	}
}

// TestWireBytesIdenticalAcrossAttempts: the bytes on the wire are the same
// for every class, directly and through a wrapping RoundTripper, and a
// retried read (its first attempt dropped after the server read it)
// carries the same bytes again, whole body included.
func TestWireBytesIdenticalAcrossAttempts(t *testing.T) {
	t.Parallel()
	hdr := http.Header{"Authorization": {"tok"}, "X-App-Key": {"key"}, "Content-Type": {"application/json"}}
	var ref []byte
	for _, wrap := range []bool{false, true} {
		for _, class := range []Class{Read, Create, Money, Cancel} {
			for _, drop := range []bool{false, true} {
				if drop && class != Read {
					continue
				}
				s := newRawH1(t)
				s.drop = drop
				nt := &http.Transport{}
				var rt http.RoundTripper = nt
				if wrap {
					rt = roundTripFunc(nt.RoundTrip)
				}
				tr := New(&http.Client{Transport: rt}, fast(3))
				res := do(context.Background(), tr, class, "http://"+s.ln.Addr().String()+"/x", hdr, []byte(moneyBody), nil)
				if res.Err != nil {
					t.Fatalf("wrapped=%v class=%d drop=%v: %v", wrap, class, drop, res.Err)
				}
				res.Resp.Body.Close()
				nt.CloseIdleConnections()
				s.mu.Lock()
				raws := s.raw
				s.mu.Unlock()
				// As many attempts as requests: net/http sent none again
				// inside an attempt.
				if want := map[bool]int{false: 1, true: 2}[drop]; len(raws) != want || res.Attempts != want {
					t.Fatalf("wrapped=%v class=%d drop=%v: %d requests in %d attempts, want %d in %d", wrap, class, drop, len(raws), res.Attempts, want, want)
				}
				for _, raw := range raws {
					raw = bytes.ReplaceAll(raw, []byte(s.ln.Addr().String()), []byte("HOST"))
					if ref == nil {
						ref = raw
						if !bytes.HasSuffix(raw, []byte("\r\n\r\n"+moneyBody)) {
							t.Fatalf("request does not end with the body: %q", raw)
						}
					}
					if !bytes.Equal(raw, ref) {
						t.Errorf("wrapped=%v class=%d drop=%v: wire bytes\n%q\nwant\n%q", wrap, class, drop, raw, ref)
					}
				}
			}
		}
	}
}

// TestNeverLeftIsNotSent: money calls that provably never left are
// reported unsent and retried to the policy's end: a DNS failure, a TLS
// handshake the client refused (an untrusted certificate), a dialer that
// connected and then failed. (A refused CONNECT is in
// TestConnectProxyRefusedIsNotSentTunnelledIsSentOnce, a cancel while
// dialing in TestCancelWhileDialingIsNotSent.)
func TestNeverLeftIsNotSent(t *testing.T) {
	t.Parallel()
	var reached atomic.Int32
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer plain.Close()
	// A resolver with no server to ask: the lookup fails at once, whatever
	// the machine's DNS.
	noDNS := &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS server")
	}}}
	for _, tc := range []struct {
		name string
		nt   *http.Transport
		url  string
	}{
		{"dns failure", &http.Transport{DialContext: noDNS.DialContext}, "http://bkash.invalid/execute"},
		{"untrusted certificate", &http.Transport{}, tlsSrv.URL + "/execute"},
		{"dialer fails after connecting", &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c.Close()
			return nil, errors.New("dialer: handshake of its own failed")
		}}, plain.URL + "/execute"},
	} {
		tr := New(&http.Client{Transport: tc.nt}, fast(3))
		res := do(context.Background(), tr, Money, tc.url, http.Header{}, []byte(moneyBody), nil)
		if res.Sent || res.Attempts != 3 || res.Err == nil {
			t.Errorf("%s: Sent %v, Attempts %d, err %v; want false, 3, an error", tc.name, res.Sent, res.Attempts, res.Err)
		}
		tc.nt.CloseIdleConnections()
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("servers got %d requests, want 0", n)
	}
}

// TestRedirectsAreNotFollowedForMoneyOrCreate: a 307 answering a money call
// or a create is not followed, even by an http.Client that follows
// redirects (the request has no GetBody): the caller gets the 307, and the
// target nothing. A read's is followed, with the whole body. Directly and
// through a wrapping RoundTripper.
func TestRedirectsAreNotFollowedForMoneyOrCreate(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var targetBodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/target" {
			mu.Lock()
			targetBodies = append(targetBodies, string(b))
			mu.Unlock()
			return
		}
		http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	for _, wrap := range []bool{false, true} {
		for _, class := range []Class{Money, Create, Read} {
			mu.Lock()
			targetBodies = nil
			mu.Unlock()
			nt := &http.Transport{}
			var rt http.RoundTripper = nt
			if wrap {
				rt = roundTripFunc(nt.RoundTrip)
			}
			tr := New(&http.Client{Transport: rt}, fast(3))
			res := do(context.Background(), tr, class, srv.URL+"/x", http.Header{}, []byte(moneyBody), nil)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			res.Resp.Body.Close()
			nt.CloseIdleConnections()
			mu.Lock()
			got := targetBodies
			mu.Unlock()
			wantStatus, want := http.StatusOK, []string{moneyBody}
			if class != Read {
				wantStatus, want = http.StatusTemporaryRedirect, nil
			}
			if res.Resp.StatusCode != wantStatus || !res.Sent || res.Attempts != 1 {
				t.Errorf("wrapped=%v class=%d: status %d, Sent %v, Attempts %d; want %d, true, 1",
					wrap, class, res.Resp.StatusCode, res.Sent, res.Attempts, wantStatus)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("wrapped=%v class=%d: bodies at the target (-want +got):\n%s", wrap, class, diff)
			}
		}
	}
}

// TestWaitingForAStreamSlotIsNotSent: a money call that holds an HTTP/2
// connection but waits for a stream slot (the server allows one stream,
// the Transport respects it strictly, another call holds it) and gives up
// there never started to write its request: not sent. So is its HTTP/1
// counterpart, waiting for a connection under MaxConnsPerHost.
func TestWaitingForAStreamSlotIsNotSent(t *testing.T) {
	t.Parallel()
	for _, h2 := range []bool{true, false} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			var moneySeen atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					<-release
					return
				}
				moneySeen.Add(1)
			}))
			srv.EnableHTTP2 = h2
			srv.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 1}
			srv.StartTLS()
			defer srv.Close()
			pool := x509.NewCertPool()
			pool.AddCert(srv.Certificate())
			nt := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2, MaxConnsPerHost: 1,
				HTTP2: &http.HTTP2Config{StrictMaxConcurrentRequests: true}}
			defer nt.CloseIdleConnections()
			tr := New(&http.Client{Transport: nt}, fast(1))
			slowDone := make(chan Result, 1)
			wrote := make(chan struct{})
			go func() {
				ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }})
				slowDone <- do(ctx, tr, Read, srv.URL+"/slow", http.Header{}, []byte(`{}`), nil)
			}()
			<-wrote
			time.Sleep(20 * time.Millisecond) // the slow request holds the only stream, or connection
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			res := do(ctx, tr, Money, srv.URL+"/execute", http.Header{}, []byte(moneyBody), nil)
			cancel()
			close(release)
			if r := <-slowDone; r.Resp != nil {
				r.Resp.Body.Close()
			}
			if !errors.Is(res.Err, context.DeadlineExceeded) || res.Sent || res.Attempts != 1 {
				t.Errorf("Sent %v, Attempts %d, err %v; want false, 1, context.DeadlineExceeded", res.Sent, res.Attempts, res.Err)
			}
			if n := moneySeen.Load(); n != 0 {
				t.Errorf("the money request reached the server %d times, want 0", n)
			}
		})
	}
}

// TestPreCancelledIsNotSent: a money call whose context is done before it
// starts never looks for a connection: not sent, one attempt, nothing at
// the server.
func TestPreCancelledIsNotSent(t *testing.T) {
	t.Parallel()
	var reached atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer srv.Close()
	nt := &http.Transport{}
	defer nt.CloseIdleConnections()
	tr := New(&http.Client{Transport: nt}, fast(3))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := do(ctx, tr, Money, srv.URL+"/x", http.Header{}, []byte(moneyBody), nil)
	if res.Sent || res.Attempts != 1 || !errors.Is(res.Err, context.Canceled) || reached.Load() != 0 {
		t.Errorf("Sent %v, Attempts %d, err %v, server %d; want false, 1, context.Canceled, 0", res.Sent, res.Attempts, res.Err, reached.Load())
	}
}
