package transport

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scriptRT plays one step per round trip. A step may read the body (the
// request left the process) and answers with a status or an error.
type scriptRT struct {
	mu     sync.Mutex
	steps  []step
	trips  int
	bodies []string
	closed atomic.Int32
}

type step struct {
	read       bool
	status     int
	retryAfter string
	err        error
}

func (s *scriptRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err // as net/http's transport does, before dialing
	}
	s.mu.Lock()
	st := s.steps[min(s.trips, len(s.steps)-1)]
	s.trips++
	s.mu.Unlock()
	if st.read {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(b))
		s.mu.Unlock()
	}
	if st.err != nil {
		return nil, st.err
	}
	h := http.Header{}
	if st.retryAfter != "" {
		h.Set("Retry-After", st.retryAfter)
	}
	return &http.Response{StatusCode: st.status, Header: h, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
}

func (s *scriptRT) CloseIdleConnections() { s.closed.Add(1) }

var (
	errDial  = errors.New("dial tcp: connect: connection refused")
	errReset = errors.New("read: connection reset by peer")
)

func fast(n int) Policy {
	return Policy{MaxAttempts: n, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}
}

// do sends body to url as the SDK does: NewRequest, the headers, Do.
func do(ctx context.Context, tr *Transport, class Class, url string, header http.Header, body []byte, observe func(Attempt)) Result {
	req, err := NewRequest(ctx, class, url, body)
	if err != nil {
		return Result{Err: err}
	}
	maps.Copy(req.Header, header)
	if observe == nil {
		return tr.Do(req, nil)
	}
	return tr.Do(req, observerFunc(observe))
}

// observerFunc lets a func literal be an Observer.
type observerFunc func(Attempt)

func (f observerFunc) AttemptEnded(a Attempt) { f(a) }

func TestDoRetriesByClass(t *testing.T) {
	t.Parallel()
	ok := step{read: true, status: 200}
	cases := []struct {
		name      string
		class     Class
		steps     []step
		trips     int
		sent      bool
		status    int // of the final response; 0 for none
		wantErr   bool
		wantSends int
	}{
		{"read: dial failures then success", Read, []step{{err: errDial}, {err: errDial}, ok}, 3, true, 200, false, 1},
		{"read: reset after sending is retried", Read, []step{{read: true, err: errReset}, ok}, 2, true, 200, false, 2},
		{"read: 503 until MaxAttempts", Read, []step{{read: true, status: 503}}, 3, true, 503, false, 3},
		{"read: 429, 502, 504 are retried", Read, []step{{read: true, status: 429}, {read: true, status: 502}, {read: true, status: 504}}, 3, true, 504, false, 3},
		{"read: 500 is final", Read, []step{{read: true, status: 500}}, 1, true, 500, false, 1},
		{"cancel: reset after sending is retried", Cancel, []step{{read: true, err: errReset}, ok}, 2, true, 200, false, 2},
		{"cancel: 503 retried", Cancel, []step{{read: true, status: 503}, ok}, 2, true, 200, false, 2},
		{"create: dial failure retried", Create, []step{{err: errDial}, ok}, 2, true, 200, false, 1},
		{"create: reset after sending is final", Create, []step{{read: true, err: errReset}, ok}, 1, true, 0, true, 1},
		{"create: 503 without Retry-After is final", Create, []step{{read: true, status: 503}, ok}, 1, true, 503, false, 1},
		{"create: 503 with Retry-After is retried", Create, []step{{read: true, status: 503, retryAfter: "0"}, ok}, 2, true, 200, false, 2},
		{"create: 429 with Retry-After is retried", Create, []step{{read: true, status: 429, retryAfter: "0"}, ok}, 2, true, 200, false, 2},
		{"create: 502 with Retry-After is final", Create, []step{{read: true, status: 502, retryAfter: "0"}, ok}, 1, true, 502, false, 1},
		{"create: bad Retry-After is final", Create, []step{{read: true, status: 503, retryAfter: "soon"}, ok}, 1, true, 503, false, 1},
		{"money: dial failures retried", Money, []step{{err: errDial}, {err: errDial}, ok}, 3, true, 200, false, 1},
		{"money: reset after sending is final", Money, []step{{read: true, err: errReset}, ok}, 1, true, 0, true, 1},
		{"money: 503 with Retry-After is final", Money, []step{{read: true, status: 503, retryAfter: "0"}, ok}, 1, true, 503, false, 1},
		{"money: never sent", Money, []step{{err: errDial}}, 3, false, 0, true, 0},
		{"money: dial failure, then reset after sending", Money, []step{{err: errDial}, {read: true, err: errReset}, ok}, 2, true, 0, true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rt := &scriptRT{steps: tc.steps}
			tr := New(&http.Client{Transport: rt}, fast(3))
			res := do(context.Background(), tr, tc.class, "https://bkash.example/x", http.Header{"X-Test": {"1"}}, []byte(`{"a":1}`), nil)
			if res.Attempts != tc.trips || rt.trips != tc.trips {
				t.Errorf("attempts = %d (round trips %d), want %d", res.Attempts, rt.trips, tc.trips)
			}
			if res.Sent != tc.sent {
				t.Errorf("Sent = %v, want %v", res.Sent, tc.sent)
			}
			if (res.Err != nil) != tc.wantErr {
				t.Errorf("Err = %v, want error %v", res.Err, tc.wantErr)
			}
			status := 0
			if res.Resp != nil {
				status = res.Resp.StatusCode
				res.Resp.Body.Close()
			}
			if status != tc.status {
				t.Errorf("final status = %d, want %d", status, tc.status)
			}
			if len(rt.bodies) != tc.wantSends {
				t.Errorf("bodies sent = %d, want %d", len(rt.bodies), tc.wantSends)
			}
			for _, b := range rt.bodies {
				if b != `{"a":1}` {
					t.Errorf("body = %q: each attempt must send the whole body", b)
				}
			}
			if rt.closed.Load() != 0 {
				t.Error("go-retryablehttp closed the caller's idle connections")
			}
		})
	}
}

func TestObserveSeesEveryAttempt(t *testing.T) {
	t.Parallel()
	rt := &scriptRT{steps: []step{{read: true, err: errReset}, {err: errDial}, {read: true, status: 200}}}
	tr := New(&http.Client{Transport: rt}, fast(3))
	var got []Attempt
	res := do(context.Background(), tr, Read, "https://bkash.example/x", http.Header{}, []byte(`{}`), func(a Attempt) {
		a.Start, a.Duration = time.Time{}, 0
		if a.Err != nil {
			a.Err = errors.New("x")
		}
		got = append(got, a)
	})
	res.Resp.Body.Close()
	want := []Attempt{
		{Number: 1, Err: errors.New("x"), Sent: true},
		{Number: 2, Err: errors.New("x"), Sent: false},
		{Number: 3, Status: 200, Sent: true},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) })); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
}

func TestRetryAfterIsWaitedFor(t *testing.T) {
	t.Parallel()
	rt := &scriptRT{steps: []step{{read: true, status: 503, retryAfter: "1"}, {read: true, status: 200}}}
	tr := New(&http.Client{Transport: rt}, fast(3))
	start := time.Now()
	res := do(context.Background(), tr, Read, "https://bkash.example/x", http.Header{}, nil, nil)
	res.Resp.Body.Close()
	if d := time.Since(start); d < 990*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("took %v, want about 1s", d)
	}
}

func TestCancelledContextStopsRetries(t *testing.T) {
	t.Parallel()
	t.Run("before the attempt", func(t *testing.T) {
		t.Parallel()
		rt := &scriptRT{steps: []step{{read: true, status: 200}}}
		tr := New(&http.Client{Transport: rt}, fast(3))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res := do(ctx, tr, Read, "https://bkash.example/x", http.Header{}, nil, nil)
		if !errors.Is(res.Err, context.Canceled) || res.Sent || res.Attempts != 1 || rt.trips != 0 {
			t.Errorf("res = %+v, trips %d", res, rt.trips)
		}
	})
	t.Run("during the wait", func(t *testing.T) {
		t.Parallel()
		rt := &scriptRT{steps: []step{{read: true, status: 503, retryAfter: "20"}}}
		tr := New(&http.Client{Transport: rt}, fast(3))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		res := do(ctx, tr, Read, "https://bkash.example/x", http.Header{}, nil, nil)
		if !errors.Is(res.Err, context.DeadlineExceeded) || !res.Sent || res.Attempts != 1 {
			t.Errorf("res = %+v", res)
		}
		if time.Since(start) > 2*time.Second {
			t.Error("the wait ignored the context")
		}
	})
}

func TestLateBodyReadDoesNotMarkTheNextAttemptSent(t *testing.T) {
	t.Parallel()
	// The first attempt's body is read after its round trip returned, as
	// net/http's write loop may do; the second attempt never sends.
	var late sync.WaitGroup
	trips := 0
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		trips++
		if trips == 1 {
			body := r.Body
			late.Go(func() {
				time.Sleep(20 * time.Millisecond)
				_, _ = io.ReadAll(body)
			})
			return nil, errDial
		}
		time.Sleep(50 * time.Millisecond)
		return nil, errDial
	})
	tr := New(&http.Client{Transport: rt}, Policy{MaxAttempts: 2})
	var sent []bool
	do(context.Background(), tr, Money, "https://bkash.example/x", http.Header{}, []byte("{}"), func(a Attempt) { sent = append(sent, a.Sent) })
	late.Wait()
	if diff := cmp.Diff([]bool{false, false}, sent); diff != "" {
		t.Errorf("sent per attempt (-want +got):\n%s", diff)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewCopiesTheClientAndClampsAttempts(t *testing.T) {
	t.Parallel()
	rt := &scriptRT{steps: []step{{err: errDial}}}
	hc := &http.Client{Transport: rt, Timeout: time.Second}
	tr := New(hc, Policy{MaxAttempts: 0})
	if hc.Transport != rt {
		t.Error("the caller's client was modified")
	}
	res := do(context.Background(), tr, Read, "https://bkash.example/x", http.Header{}, nil, nil)
	if res.Attempts != 1 {
		t.Errorf("attempts = %d, want 1 (MaxAttempts clamped)", res.Attempts)
	}
	tr.CloseIdleConnections()
	if rt.closed.Load() != 1 {
		t.Error("CloseIdleConnections did not reach the transport")
	}
	// The default transport is used when the client has none.
	if New(&http.Client{}, Policy{}).hc.Transport.(keepIdle).rt != http.DefaultTransport {
		t.Error("nil Transport not replaced by http.DefaultTransport")
	}
	if res := do(context.Background(), tr, Read, "://bad", http.Header{}, nil, nil); res.Err == nil {
		t.Error("a bad URL was accepted")
	}
}

func TestBackoffStaysWithinItsBounds(t *testing.T) {
	t.Parallel()
	base, ceiling := 100*time.Millisecond, time.Second
	for n := range 70 {
		limit := ceiling
		if n < 4 {
			limit = base << n
		}
		for range 200 {
			d := Backoff(base, ceiling, n)
			if d < 0 || d > limit {
				t.Fatalf("Backoff(n=%d) = %v, want within [0, %v]", n, d, limit)
			}
		}
	}
	if Backoff(0, time.Second, 3) != 0 {
		t.Error("zero base must not wait")
	}
	if Backoff(time.Millisecond, 0, 3) != 0 {
		t.Error("zero cap must not wait")
	}
}

func TestRetryAfterParsing(t *testing.T) {
	t.Parallel()
	resp := func(v string) *http.Response {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		return &http.Response{Header: h}
	}
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"120", maxRetryAfter, true},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0, true},
	}
	for _, tc := range cases {
		d, ok := retryAfter(resp(tc.in))
		if d != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.in, d, ok, tc.want, tc.ok)
		}
	}
	d, ok := retryAfter(resp(time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)))
	if !ok || d < 3*time.Second || d > 6*time.Second {
		t.Errorf("HTTP date: %v, %v", d, ok)
	}
}

// TestRetryable is the retry rule, case by case: the class, whether the
// request may have been sent, and how the attempt ended.
func TestRetryable(t *testing.T) {
	t.Parallel()
	answer := func(status int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	cases := []struct {
		name  string
		class Class
		sent  bool
		resp  *http.Response
		err   error
		want  bool
	}{
		{"read: not sent", Read, false, nil, errDial, true},
		{"read: sent, no answer", Read, true, nil, errReset, true},
		{"read: 429", Read, true, answer(429, ""), nil, true},
		{"read: 502", Read, true, answer(502, ""), nil, true},
		{"read: 503", Read, true, answer(503, ""), nil, true},
		{"read: 504", Read, true, answer(504, ""), nil, true},
		{"read: 500", Read, true, answer(500, ""), nil, false},
		{"read: 200", Read, true, answer(200, ""), nil, false},
		{"read: 401", Read, true, answer(401, ""), nil, false},
		{"cancel: sent, no answer", Cancel, true, nil, errReset, true},
		{"cancel: 503", Cancel, true, answer(503, ""), nil, true},
		{"cancel: 500", Cancel, true, answer(500, ""), nil, false},
		{"create: not sent", Create, false, nil, errDial, true},
		{"create: sent, no answer", Create, true, nil, errReset, false},
		{"create: 503", Create, true, answer(503, ""), nil, false},
		{"create: 503 Retry-After", Create, true, answer(503, "2"), nil, true},
		{"create: 429 Retry-After", Create, true, answer(429, "2"), nil, true},
		{"create: 429 Retry-After as a date", Create, true, answer(429, time.Now().Add(time.Second).UTC().Format(http.TimeFormat)), nil, true},
		{"create: 429 bad Retry-After", Create, true, answer(429, "soon"), nil, false},
		{"create: 502 Retry-After", Create, true, answer(502, "2"), nil, false},
		{"create: 504 Retry-After", Create, true, answer(504, "2"), nil, false},
		{"create: 200", Create, true, answer(200, ""), nil, false},
		{"money: not sent", Money, false, nil, errDial, true},
		{"money: sent, no answer", Money, true, nil, errReset, false},
		{"money: sent, timed out", Money, true, nil, context.DeadlineExceeded, false},
		{"money: 503", Money, true, answer(503, ""), nil, false},
		{"money: 503 Retry-After", Money, true, answer(503, "0"), nil, false},
		{"money: 429 Retry-After", Money, true, answer(429, "0"), nil, false},
		{"money: 502", Money, true, answer(502, ""), nil, false},
		{"money: 200", Money, true, answer(200, ""), nil, false},
	}
	for _, tc := range cases {
		if got := retryable(tc.class, tc.sent, tc.resp, tc.err); got != tc.want {
			t.Errorf("%s: retryable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestKeepLastResponse(t *testing.T) {
	t.Parallel()
	resp, err := keepLastResponse(nil, errReset, 1)
	if resp != nil || err != errReset {
		t.Errorf("keepLastResponse(nil, err) = %v, %v", resp, err)
	}
	last := &http.Response{StatusCode: 503}
	resp, err = keepLastResponse(last, errReset, 3)
	if resp != last || err != nil {
		t.Errorf("keepLastResponse(resp, err) = %v, %v; want the response, nil", resp, err)
	}
}

// TestClientTimeoutBoundsEachAttempt: go-retryablehttp calls the
// http.Client once per attempt, so its Timeout (bKash's 30 s on the SDK's
// default client) bounds each attempt, not the call: a read is tried
// again, a money call's timed-out attempt is final.
func TestClientTimeoutBoundsEachAttempt(t *testing.T) {
	t.Parallel()
	var trips atomic.Int32
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		_, _ = io.ReadAll(r.Body)
		if trips.Add(1) < 3 {
			<-r.Context().Done() // bKash never answers
			return nil, r.Context().Err()
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"ok":true}`)), Request: r}, nil
	})
	tr := New(&http.Client{Transport: rt, Timeout: 50 * time.Millisecond}, fast(3))
	var errs []error
	res := do(context.Background(), tr, Read, "https://bkash.example/x", http.Header{}, []byte("{}"), func(a Attempt) { errs = append(errs, a.Err) })
	if res.Err != nil || res.Resp == nil {
		t.Fatalf("res = %+v", res)
	}
	b, err := io.ReadAll(res.Resp.Body)
	if err != nil || string(b) != `{"ok":true}` {
		t.Errorf("body = %q, %v", b, err)
	}
	res.Resp.Body.Close()
	if len(errs) != 3 || !errors.Is(errs[0], context.DeadlineExceeded) || !errors.Is(errs[1], context.DeadlineExceeded) || errs[2] != nil {
		t.Errorf("attempt errors = %v", errs)
	}

	// For a money call the timed-out attempt is final.
	trips.Store(0)
	res = do(context.Background(), tr, Money, "https://bkash.example/x", http.Header{}, []byte("{}"), nil)
	if !errors.Is(res.Err, context.DeadlineExceeded) || !res.Sent || res.Attempts != 1 {
		t.Errorf("money: %+v", res)
	}
}

// rewindRT is a RoundTripper that does what net/http's HTTP/2 client does
// after a stream reset: it reads the body, then rewinds it through
// Request.GetBody, when the request has one, and sends it again.
type rewindRT struct {
	mu     sync.Mutex
	copies int
}

func (t *rewindRT) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.ReadAll(r.Body)
	t.mu.Lock()
	t.copies++
	t.mu.Unlock()
	if r.GetBody != nil {
		body, err := r.GetBody()
		if err != nil {
			return nil, err
		}
		_, _ = io.ReadAll(body)
		t.mu.Lock()
		t.copies++
		t.mu.Unlock()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
}

// TestCreateAndMoneyCannotBeRewound: a money call's or a create's request
// carries no GetBody, so nothing below the SDK can send its body a second
// time; reads and cancels keep it (repeating one is harmless). Before,
// every request carried go-retryablehttp's GetBody, and later creates
// still did.
func TestCreateAndMoneyCannotBeRewound(t *testing.T) {
	for _, tc := range []struct {
		class  Class
		copies int
	}{{Money, 1}, {Create, 1}, {Read, 2}, {Cancel, 2}} {
		rt := &rewindRT{}
		tr := New(&http.Client{Transport: rt}, Policy{MaxAttempts: 3})
		res := do(context.Background(), tr, tc.class, "http://bkash.test/x", http.Header{}, []byte(`{"paymentID":"TR1"}`), nil)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		res.Resp.Body.Close()
		if rt.copies != tc.copies {
			t.Errorf("class %d: body sent %d times, want %d", tc.class, rt.copies, tc.copies)
		}
	}
}

// partialRT reads part of the body on its first round trip and fails, as a
// connection that broke while sending would; later round trips read all.
type partialRT struct {
	mu     sync.Mutex
	bodies []string
}

func (p *partialRT) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	first := len(p.bodies) == 0
	p.mu.Unlock()
	if first {
		buf := make([]byte, 3)
		n, _ := io.ReadFull(r.Body, buf)
		p.mu.Lock()
		p.bodies = append(p.bodies, string(buf[:n]))
		p.mu.Unlock()
		return nil, errors.New("connection reset by peer")
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.bodies = append(p.bodies, string(b))
	p.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
}

// TestRetryAfterPartialSendGetsTheWholeBody: an attempt whose body was
// read only in part is sent; the next attempt gets the whole body from the
// start.
func TestRetryAfterPartialSendGetsTheWholeBody(t *testing.T) {
	t.Parallel()
	rt := &partialRT{}
	tr := New(&http.Client{Transport: rt}, fast(3))
	body := `{"paymentID":"TR0011"}`
	res := do(context.Background(), tr, Read, "https://bkash.example/x", http.Header{}, []byte(body), nil)
	if res.Err != nil || res.Resp == nil {
		t.Fatalf("Do: %v", res.Err)
	}
	res.Resp.Body.Close()
	if want := []string{body[:3], body}; len(rt.bodies) != 2 || rt.bodies[0] != want[0] || rt.bodies[1] != want[1] {
		t.Errorf("bodies = %q, want %q", rt.bodies, want)
	}
	if !res.Sent || res.Attempts != 2 {
		t.Errorf("Sent = %v, Attempts = %d; want true, 2", res.Sent, res.Attempts)
	}
}

// TestMoneyPartialSendIsFinal: a money call whose body was partly read is
// sent as far as the SDK knows, and is not tried again.
func TestMoneyPartialSendIsFinal(t *testing.T) {
	t.Parallel()
	rt := &partialRT{}
	tr := New(&http.Client{Transport: rt}, fast(3))
	res := do(context.Background(), tr, Money, "https://bkash.example/x", http.Header{}, []byte(`{"paymentID":"TR0011"}`), nil)
	if res.Resp != nil || res.Err == nil {
		t.Fatalf("Do = %v, %v; want the reset error", res.Resp, res.Err)
	}
	if !res.Sent || res.Attempts != 1 || len(rt.bodies) != 1 {
		t.Errorf("Sent = %v, Attempts = %d, round trips %d; want true, 1, 1", res.Sent, res.Attempts, len(rt.bodies))
	}
}

// TestRequestContextCarriesTheCallersValues: the request carries the
// caller's context, values and all.
func TestRequestContextCarriesTheCallersValues(t *testing.T) {
	t.Parallel()
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	var got any
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Context().Value(key{})
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})
	tr := New(&http.Client{Transport: rt}, fast(1))
	res := do(ctx, tr, Read, "https://bkash.example/x", http.Header{}, []byte(`{}`), nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res.Resp.Body.Close()
	if got != "v" {
		t.Errorf("request context value = %v, want %q", got, "v")
	}
}

// The tests below run on net/http's own transport and a real server: a
// dial failure is not a send, a request the server read is.

func TestDialFailureIsRetriedForMoney(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every dial is refused
	tr := New(&http.Client{Transport: &http.Transport{}}, fast(3))
	res := do(context.Background(), tr, Money, "http://"+addr+"/x", http.Header{}, []byte(`{"paymentID":"TR1"}`), nil)
	if res.Resp != nil || res.Err == nil {
		t.Fatalf("Do = %v, %v; want the dial error", res.Resp, res.Err)
	}
	if res.Sent || res.Attempts != 3 {
		t.Errorf("Sent = %v, Attempts = %d; want false, 3", res.Sent, res.Attempts)
	}
}

func TestDropAfterReadingIsFinalForMoney(t *testing.T) {
	t.Parallel()
	var reads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		reads.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // the request arrived; the answer never leaves
		}
	}))
	defer srv.Close()
	tr := New(&http.Client{Transport: &http.Transport{}}, fast(3))
	res := do(context.Background(), tr, Money, srv.URL+"/x", http.Header{}, []byte(`{"paymentID":"TR1"}`), nil)
	if res.Resp != nil || res.Err == nil {
		t.Fatalf("Do = %v, %v; want the dropped connection's error", res.Resp, res.Err)
	}
	if !res.Sent || res.Attempts != 1 || reads.Load() != 1 {
		t.Errorf("Sent = %v, Attempts = %d, requests read %d; want true, 1, 1", res.Sent, res.Attempts, reads.Load())
	}
}

func TestReadIsRetriedAfterADrop(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if n.Add(1) == 1 {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		_, _ = w.Write(body) // echo: the retry carried the whole body
	}))
	defer srv.Close()
	tr := New(&http.Client{Transport: &http.Transport{}}, fast(3))
	res := do(context.Background(), tr, Read, srv.URL+"/x", http.Header{}, []byte(`{"paymentID":"TR1"}`), nil)
	if res.Err != nil || res.Resp == nil {
		t.Fatalf("Do: %v", res.Err)
	}
	defer res.Resp.Body.Close()
	got, _ := io.ReadAll(res.Resp.Body)
	if string(got) != `{"paymentID":"TR1"}` || res.Attempts != 2 || !res.Sent {
		t.Errorf("body %q, Attempts %d, Sent %v; want the whole body, 2, true", got, res.Attempts, res.Sent)
	}
}

// TestLateRewindOfAFailedAttemptSendsNothing: a RoundTripper that returned
// before it was done with the request (as in
// TestLateBodyReadDoesNotMarkTheNextAttemptSent) may still rewind the body
// through GetBody, as net/http's HTTP/2 client does after a refused stream,
// and send it. The rewound body belongs to the failed attempt, not to the
// one in progress when GetBody is called: it must give no bytes, and it must
// not count as the retry's send. Only reads and cancels have GetBody (a
// create or a money call has none; see TestCreateAndMoneyCannotBeRewound),
// so a late copy could only repeat a read; the rule keeps "sent" true to
// what the server got all the same.
func TestLateRewindOfAFailedAttemptSendsNothing(t *testing.T) {
	t.Parallel()
	for _, during := range []bool{true, false} { // rewound during the retry, or after Do returned
		var late sync.WaitGroup
		var lateErr error
		var lateBody []byte
		retrying := make(chan struct{})
		done := make(chan struct{})
		trips := 0
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			trips++
			if trips == 1 {
				late.Go(func() {
					if during {
						select {
						case <-retrying:
						case <-done: // no retry came: the checks below say so
						}
					} else {
						<-done
					}
					body, err := r.GetBody()
					if err != nil {
						lateErr = err
						return
					}
					lateBody, lateErr = io.ReadAll(body)
				})
				return nil, errDial
			}
			_, _ = io.ReadAll(r.Body)
			if during {
				close(retrying)
				late.Wait()
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
		})
		tr := New(&http.Client{Transport: rt}, Policy{MaxAttempts: 2})
		var sent []bool
		res := do(context.Background(), tr, Read, "https://bkash.example/x", http.Header{}, []byte(`{"paymentID":"TR1"}`), func(a Attempt) { sent = append(sent, a.Sent) })
		close(done)
		late.Wait()
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		res.Resp.Body.Close()
		if len(lateBody) != 0 || !errors.Is(lateErr, errAttemptEnded) {
			t.Errorf("during=%v: the failed attempt's rewound body gave %q, %v; want no bytes and errAttemptEnded", during, lateBody, lateErr)
		}
		if diff := cmp.Diff([]bool{false, true}, sent); diff != "" {
			t.Errorf("during=%v: sent per attempt (-want +got):\n%s", during, diff)
		}
	}
}

// TestCancelWhileDialingIsNotSent: an attempt that never got a connection
// (the caller gave up while it was dialing) is not sent, and nothing
// reaches the server later through that attempt.
func TestCancelWhileDialingIsNotSent(t *testing.T) {
	t.Parallel()
	var reached atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
	}))
	defer srv.Close()
	release := make(chan struct{})
	dialing := make(chan struct{}, 1)
	nt := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialing <- struct{}{}
		<-release // a slow dial, which outlives the attempt
		return (&net.Dialer{}).DialContext(context.Background(), network, addr)
	}}
	defer nt.CloseIdleConnections()
	tr := New(&http.Client{Transport: nt}, fast(3))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-dialing
		cancel()
	}()
	res := do(ctx, tr, Money, srv.URL+"/x", http.Header{}, []byte(`{"paymentID":"TR1"}`), nil)
	close(release)
	if !errors.Is(res.Err, context.Canceled) || res.Sent || res.Attempts != 1 {
		t.Errorf("res = %+v; want context.Canceled, not sent, 1 attempt", res)
	}
	time.Sleep(50 * time.Millisecond) // the dial completes; its connection goes idle
	if n := reached.Load(); n != 0 {
		t.Errorf("the server got %d requests, want 0", n)
	}
}

// TestAnAnsweredAttemptIsSent: a server or proxy may answer before it
// reads the body; the answer shows the request reached it.
func TestAnAnsweredAttemptIsSent(t *testing.T) {
	t.Parallel()
	rt := &scriptRT{steps: []step{{status: 503}, {status: 200}}}
	tr := New(&http.Client{Transport: rt}, fast(2))
	var sent []bool
	res := do(context.Background(), tr, Read, "https://bkash.example/x", http.Header{}, []byte(`{}`), func(a Attempt) { sent = append(sent, a.Sent) })
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res.Resp.Body.Close()
	if diff := cmp.Diff([]bool{true, true}, sent); diff != "" || !res.Sent {
		t.Errorf("Sent %v; sent per attempt (-want +got):\n%s", res.Sent, diff)
	}
}
