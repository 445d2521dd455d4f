package transport

// The money rule over HTTP/1.1, against a raw TCP server that sees
// the bytes as they arrive: a large body cut midway (FIN and RST), and a
// server that closes its keep-alive connections just as the client reuses
// them.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawH1 is this package's raw HTTP/1.1 server: it serves requests, many
// per connection, and keeps each whole request's bytes as they arrived.
// cut, when > 0, makes it read only cut bytes of the first request of each
// path and then drop the connection (with an RST when rst is set); drop
// makes it drop the connection after reading the first whole request.
// idleClose, when set, says how long a connection may stay open after an
// answer.
type rawH1 struct {
	ln        net.Listener
	cut       int
	rst       bool
	drop      bool
	idleClose func() time.Duration

	mu      sync.Mutex
	started map[string]int      // requests whose headers arrived, by path (or X-Call)
	full    map[string][]string // whole bodies, by path (or X-Call)
	raw     [][]byte            // whole requests, headers and body, in order
	badCL   []string            // Content-Length headers that did not say the body's length
}

func newRawH1(t *testing.T) *rawH1 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawH1{ln: ln, started: map[string]int{}, full: map[string][]string{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serveConn(c)
		}
	}()
	return s
}

func (s *rawH1) serveConn(c net.Conn) {
	defer c.Close()
	// wire holds what the reader took from the connection and the request
	// parser has not used yet: the bytes of the request being read, then
	// any that follow it (a pipelined request).
	var wire bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &wire))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		key := req.URL.Path
		if v := req.Header.Get("X-Call"); v != "" {
			key = v
		}
		s.mu.Lock()
		s.started[key]++
		n := s.started[key]
		s.mu.Unlock()
		if s.cut > 0 && n == 1 {
			_, _ = io.CopyN(io.Discard, req.Body, int64(s.cut))
			if s.rst {
				c.(*net.TCPConn).SetLinger(0)
			}
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return // cut short: not a whole request
		}
		s.mu.Lock()
		if cl := req.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
			s.badCL = append(s.badCL, fmt.Sprintf("%s: Content-Length %q, body %d bytes (Transfer-Encoding %q)", key, cl, len(body), req.TransferEncoding))
		}
		s.full[key] = append(s.full[key], string(body))
		used := wire.Len() - br.Buffered()
		s.raw = append(s.raw, bytes.Clone(wire.Bytes()[:used]))
		wire.Next(used)
		dropNow := s.drop && len(s.raw) == 1
		s.mu.Unlock()
		if dropNow {
			return
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
			return
		}
		if s.idleClose != nil {
			d := s.idleClose()
			go func() {
				time.Sleep(d)
				c.Close()
			}()
		}
	}
}

func (s *rawH1) counts(key string) (started int, full []string, badCL []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started[key], append([]string(nil), s.full[key]...), append([]string(nil), s.badCL...)
}

// TestRawH1KeepsPipelinedRequestsApart: the harness records each request's
// own bytes, even when two arrive in one write (net/http never pipelines,
// but the wire-bytes tests must not depend on it).
func TestRawH1KeepsPipelinedRequestsApart(t *testing.T) {
	t.Parallel()
	s := newRawH1(t)
	c, err := net.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reqs := []string{
		"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\none",
		"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\ntwo",
	}
	if _, err := io.WriteString(c, reqs[0]+reqs[1]); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for range reqs {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var got []string
	for _, r := range s.raw {
		got = append(got, string(r))
	}
	if !slices.Equal(got, reqs) {
		t.Errorf("recorded %q, want %q", got, reqs)
	}
}

// TestHTTP1LargeBodyCutMidwayNeverResendsMoney: a 1 MiB money request whose
// connection the server drops (FIN or RST) after 64 KiB, on a fresh and on
// a pooled connection. It was sent (its body was read), once: the server
// sees one request and never its whole body. A read cut the same way is
// sent again, whole, with a Content-Length that says so.
func TestHTTP1LargeBodyCutMidwayNeverResendsMoney(t *testing.T) {
	t.Parallel()
	big := []byte(`{"paymentID":"TR0011BIG","pad":"` + strings.Repeat("y", 1<<20) + `"}`)
	for _, rst := range []bool{false, true} {
		for _, warm := range []bool{false, true} {
			t.Run(fmt.Sprintf("rst=%v/pooled=%v", rst, warm), func(t *testing.T) {
				t.Parallel()
				s := newRawH1(t)
				s.cut, s.rst = 64<<10, rst
				nt := &http.Transport{}
				defer nt.CloseIdleConnections()
				tr := New(&http.Client{Transport: nt, Timeout: 10 * time.Second}, fast(3))
				if warm {
					w := do(context.Background(), tr, Read, "http://"+s.ln.Addr().String()+"/warm", http.Header{}, []byte(`{}`), nil)
					if w.Err == nil {
						w.Resp.Body.Close()
					}
					// The warm-up is itself cut (first of its path): warm again.
					w = do(context.Background(), tr, Read, "http://"+s.ln.Addr().String()+"/warm", http.Header{}, []byte(`{}`), nil)
					if w.Err != nil {
						t.Fatal(w.Err)
					}
					_, _ = io.Copy(io.Discard, w.Resp.Body)
					w.Resp.Body.Close()
				}
				res := do(context.Background(), tr, Money, "http://"+s.ln.Addr().String()+"/execute", http.Header{}, big, nil)
				if res.Resp != nil {
					res.Resp.Body.Close()
				}
				time.Sleep(20 * time.Millisecond)
				started, full, _ := s.counts("/execute")
				if started != 1 || len(full) != 0 {
					t.Errorf("money: server got %d requests, %d whole; want 1, cut short (Attempts %d, Sent %v, err %v)", started, len(full), res.Attempts, res.Sent, res.Err)
				}
				if !res.Sent || res.Attempts != 1 || res.Err == nil {
					t.Errorf("money: Sent %v, Attempts %d, err %v; want sent, 1 attempt, an error", res.Sent, res.Attempts, res.Err)
				}
				res = do(context.Background(), tr, Read, "http://"+s.ln.Addr().String()+"/query", http.Header{}, big, nil)
				if res.Err != nil || res.Resp == nil {
					t.Fatalf("read: %+v", res)
				}
				res.Resp.Body.Close()
				_, full, badCL := s.counts("/query")
				if len(full) != 1 || full[0] != string(big) || !res.Sent || res.Attempts != 2 {
					t.Errorf("read: %d whole bodies, Sent %v, Attempts %d; want 1 whole, true, 2", len(full), res.Sent, res.Attempts)
				}
				if len(badCL) != 0 {
					t.Errorf("Content-Length on the wire: %q", badCL)
				}
			})
		}
	}
}

// TestMoneyRetriedAfterARefusedDialCarriesItsContentLength: the retry of a
// money call whose first dial was refused (not sent) goes out with a
// Content-Length that is its body's length, and the body whole: the
// Content-Length NewRequest sets once serves every attempt.
func TestMoneyRetriedAfterARefusedDialCarriesItsContentLength(t *testing.T) {
	t.Parallel()
	s := newRawH1(t)
	var mu sync.Mutex
	dials := 0
	nt := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials++
		n := dials
		mu.Unlock()
		if n <= 2 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errDial}
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer nt.CloseIdleConnections()
	tr := New(&http.Client{Transport: nt}, fast(3))
	var sent []bool
	res := do(context.Background(), tr, Money, "http://"+s.ln.Addr().String()+"/execute", http.Header{}, []byte(moneyBody), func(a Attempt) { sent = append(sent, a.Sent) })
	if res.Err != nil || res.Resp == nil {
		t.Fatalf("%+v", res)
	}
	res.Resp.Body.Close()
	_, full, badCL := s.counts("/execute")
	if len(full) != 1 || full[0] != moneyBody || len(badCL) != 0 {
		t.Errorf("server read %q, Content-Length problems %q; want the body once, Content-Length %d", full, badCL, len(moneyBody))
	}
	if fmt.Sprint(sent) != "[false false true]" {
		t.Errorf("sent per attempt %v, want [false false true]", sent)
	}
}

// TestIdleCloseRaceNeverResendsMoney: the server closes each keep-alive
// connection a moment after its answer (an idle timeout shorter than the
// client's), and the client sends its next money call on the pooled
// connection at about that moment. Whichever side wins, every money call
// reaches the server whole at most once, a call the server read is never
// reported unsent, and every request the server read carried a true
// Content-Length. The moments come from fixed seeds.
func TestIdleCloseRaceNeverResendsMoney(t *testing.T) {
	t.Parallel()
	s := newRawH1(t)
	var rndMu sync.Mutex
	srvRnd := rand.New(rand.NewPCG(7, 7))
	s.idleClose = func() time.Duration {
		rndMu.Lock()
		defer rndMu.Unlock()
		return time.Duration(srvRnd.IntN(1500)) * time.Microsecond
	}
	var wg sync.WaitGroup
	type out struct {
		id  string
		res Result
	}
	var outMu sync.Mutex
	var outs []out
	for w := range 4 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(8, uint64(w)))
			nt := &http.Transport{}
			defer nt.CloseIdleConnections()
			var rt http.RoundTripper = nt
			if w%2 == 1 {
				rt = roundTripFunc(nt.RoundTrip)
			}
			tr := New(&http.Client{Transport: rt, Timeout: 5 * time.Second}, fast(3))
			for i := range 100 {
				id := fmt.Sprintf("w%d-%d", w, i)
				time.Sleep(time.Duration(rnd.IntN(1500)) * time.Microsecond)
				body := fmt.Sprintf(`{"paymentID":"TR0011%s"}`, id)
				res := do(context.Background(), tr, Money, "http://"+s.ln.Addr().String()+"/execute", http.Header{"X-Call": {id}}, []byte(body), nil)
				if res.Resp != nil {
					_, _ = io.Copy(io.Discard, res.Resp.Body)
					res.Resp.Body.Close()
				}
				outMu.Lock()
				outs = append(outs, out{id, res})
				outMu.Unlock()
			}
		})
	}
	wg.Wait()
	time.Sleep(20 * time.Millisecond)
	var answered, unknown, unsent, retried int
	for _, o := range outs {
		_, full, _ := s.counts(o.id)
		switch {
		case o.res.Resp != nil:
			answered++
		case o.res.Sent:
			unknown++
		default:
			unsent++
		}
		if o.res.Attempts > 1 {
			retried++
		}
		if len(full) > 1 {
			t.Errorf("%s: the server read the money request %d times (res %+v)", o.id, len(full), o.res)
		}
		if len(full) == 1 && !o.res.Sent {
			t.Errorf("%s: the server read the request, but Sent = false (res %+v)", o.id, o.res)
		}
		if len(full) == 1 && full[0] != fmt.Sprintf(`{"paymentID":"TR0011%s"}`, o.id) {
			t.Errorf("%s: body of another call: %s", o.id, full[0])
		}
	}
	if _, _, badCL := s.counts(""); len(badCL) != 0 {
		t.Errorf("Content-Length on the wire: %q", badCL)
	}
	t.Logf("%d calls: %d answered, %d outcome unknown, %d unsent; %d retried", len(outs), answered, unknown, unsent, retried)
}
