// Package transport sends bKash requests through go-retryablehttp with the
// retry rules of the SDK's operation classes.
//
// go-retryablehttp only sees HTTP methods, and every bKash call is a POST. The
// class of the operation decides instead: a read may be retried after any
// transport failure, a call that moves money only when the request provably
// never left the process.
package transport

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
)

// Class is the retry class of an operation.
type Class uint8

// The retry classes of the design (design.md, "Retry classes").
const (
	// Read operations change nothing: retried after any transport failure and
	// on 429/502/503/504, honouring Retry-After.
	Read Class = iota
	// Create operations (create payment, create agreement) move no money but
	// create state: retried only before sending, or on 429/503 carrying
	// Retry-After (the server says it did not process the request).
	Create
	// Money operations (execute, capture, void, refund, agreement execute) are
	// retried only when the request never left the process.
	Money
	// Cancel (agreement cancel) is idempotent on bKash's side: retried like a read.
	Cancel
)

// Policy bounds the retries.
type Policy struct {
	MaxAttempts int           // attempts in total, counting the first
	BaseDelay   time.Duration // first backoff step
	MaxDelay    time.Duration // cap of one backoff wait
	// AttemptTimeout bounds one attempt, from sending to closing the
	// response body; 0 leaves it to the http.Client.
	AttemptTimeout time.Duration
}

// maxRetryAfter caps how long a Retry-After header can make a call wait.
const maxRetryAfter = 30 * time.Second

// Attempt describes one finished attempt, for logs and observers.
type Attempt struct {
	Number   int           // 1-based
	Status   int           // HTTP status; 0 when no response arrived
	Err      error         // transport error, if any
	Sent     bool          // whether the request may have reached the server
	Duration time.Duration // time of this attempt
}

// Result is the outcome of Do.
type Result struct {
	Resp     *http.Response // the final response (body unread), or nil
	Err      error          // the final transport error, or nil
	Attempts int            // attempts made
	Sent     bool           // whether any attempt may have reached the server
}

// Transport sends requests for one client.
type Transport struct {
	rc     *retryablehttp.Client
	policy Policy
	traced bool // sending is detected through httptrace (net/http's transport)
}

// noCloseIdle hides CloseIdleConnections: go-retryablehttp calls it on the
// HTTP client after a failure, which would tear down the idle connections the
// caller's other code shares through the same transport. It also applies
// the per-attempt timeout, when there is one.
type noCloseIdle struct {
	rt      http.RoundTripper
	timeout time.Duration
}

// RoundTrip bounds the attempt with a context deadline, which net/http's
// transport watches without a goroutine of its own; http.Client.Timeout
// instead starts two goroutines per request. The deadline lasts until the
// response body is closed, as Client.Timeout's does, and its error matches
// context.DeadlineExceeded like Client.Timeout's.
func (t noCloseIdle) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.timeout <= 0 {
		return t.rt.RoundTrip(r)
	}
	ctx, cancel := context.WithTimeout(r.Context(), t.timeout)
	resp, err := t.rt.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// New returns a Transport that sends through a copy of hc.
func New(hc *http.Client, p Policy) *Transport {
	if p.MaxAttempts < 1 {
		p.MaxAttempts = 1
	}
	cp := *hc
	rt := cp.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	cp.Transport = noCloseIdle{rt: rt, timeout: p.AttemptTimeout}
	t := &Transport{policy: p}
	// net/http's own transport reports, through httptrace, that it wrote a
	// request's headers, on HTTP/1 and HTTP/2 alike, before it reads the
	// body. That is the earlier, and so the safer, moment to count a request
	// as sent, and it lets the body be a plain in-memory reader, which
	// net/http writes with the headers in one packet instead of flushing the
	// headers first (two writes and often two wake-ups of the server).
	// Any other RoundTripper (a mock, a recorder, a wrapper) may fire no
	// trace events: there the body reader itself tells when it is read.
	if _, ok := rt.(*http.Transport); ok {
		t.traced = true
	}
	t.rc = &retryablehttp.Client{
		HTTPClient:     &cp,
		Logger:         nil, // the SDK logs itself, redacted
		RetryWaitMin:   p.BaseDelay,
		RetryWaitMax:   p.MaxDelay,
		RetryMax:       p.MaxAttempts - 1,
		CheckRetry:     checkRetry,
		Backoff:        t.backoff,
		ErrorHandler:   keepLastResponse,
		RequestLogHook: startAttempt,
	}
	return t
}

// CloseIdleConnections closes the idle connections of the underlying transport.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.rc.HTTPClient.Transport.(noCloseIdle).rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type stateKey struct{}

// state follows one logical call across its attempts. Only the caller's
// goroutine touches it, except for the per-attempt sent flags.
//
// It is also the request's context: the caller's context with the state
// attached, without the allocation of a context.WithValue. The hooks find it
// again through ctx.Value(stateKey{}).
type state struct {
	context.Context
	class    Class
	attempts int
	anySent  bool
	probing  bool                       // go-retryablehttp is measuring the body, not sending it
	traced   bool                       // sent is set by the WroteHeaders trace, not by reading
	cur      atomic.Pointer[bodyReader] // the current attempt's sent flag (and body, untraced)
	first    bodyReader                 // the first attempt's, allocated with the state
	trace    httptrace.ClientTrace
	start    time.Time
	observe  func(Attempt)
	body     []byte
}

// Value returns the state itself for stateKey{} and defers to the caller's
// context for every other key.
func (st *state) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return st
	}
	return st.Context.Value(key)
}

func stateOf(ctx context.Context) *state {
	if st, ok := ctx.(*state); ok {
		return st
	}
	st, _ := ctx.Value(stateKey{}).(*state)
	return st
}

// nextBody is the request's body function. go-retryablehttp calls it once
// when the request is built, to learn the length, and again before every
// attempt; net/http may call it (through Request.GetBody) to rewind the
// body when it resends on a fresh connection, except for money calls,
// whose requests carry no GetBody (see Do). Every call but the first
// returns a new reader whose flag becomes the current one, exactly as if
// each reader were allocated apart; the first attempt reuses the reader
// embedded in the state, which nobody has read yet.
func (st *state) nextBody() (io.Reader, error) {
	if st.probing {
		if st.traced {
			return bytes.NewReader(st.body), nil
		}
		return &st.first, nil // only its length is asked for
	}
	cur := st.cur.Load()
	if cur == nil && st.first.off == 0 && !st.first.sent.Load() {
		cur = &st.first
	} else {
		cur = &bodyReader{body: st.body}
	}
	st.cur.Store(cur)
	if st.traced {
		// Known to net/http as in-memory: written with the headers.
		return bytes.NewReader(st.body), nil
	}
	return cur, nil
}

// wroteHeaders marks the current attempt as sent: net/http is about to
// read the body and write the request.
func (st *state) wroteHeaders() {
	if cur := st.cur.Load(); cur != nil {
		cur.sent.Store(true)
	}
}

// bodyReader marks its attempt as sent as soon as net/http starts reading
// the body, which it does only after a connection is established and the
// headers are being written to it. A dial failure therefore leaves sent false
// and can be retried safely for every class. net/http may still read the body
// on its own goroutine after a response arrived, so the flag is atomic and
// belongs to one attempt: a late read cannot mark the next attempt as sent.
type bodyReader struct {
	sent atomic.Bool
	body []byte
	off  int
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.sent.Store(true)
	if r.off >= len(r.body) {
		return 0, io.EOF
	}
	n := copy(p, r.body[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Len() int { return len(r.body) - r.off }

// Close lets the reader serve as the request body itself, without an
// io.NopCloser around it.
func (r *bodyReader) Close() error { return nil }

// Do sends a POST of body to url with the given headers. observe, if not
// nil, is called after every attempt.
func (t *Transport) Do(ctx context.Context, class Class, url string, header http.Header, body []byte, observe func(Attempt)) Result {
	st := &state{Context: ctx, class: class, observe: observe, body: body, traced: t.traced}
	st.first.body = body
	reqCtx := context.Context(st)
	if st.traced {
		st.trace.WroteHeaders = st.wroteHeaders
		reqCtx = httptrace.WithClientTrace(st, &st.trace)
	}
	st.probing = true
	req, err := retryablehttp.NewRequestWithContext(reqCtx, http.MethodPost, url, retryablehttp.ReaderFunc(st.nextBody))
	st.probing = false
	if err != nil {
		return Result{Err: err}
	}
	if class == Money {
		// Nothing below the SDK may send a money call a second time.
		// go-retryablehttp sets GetBody, and net/http's HTTP/2 client uses
		// it to rewind the body and re-send the request on its own when
		// the server resets the stream (REFUSED_STREAM, PROTOCOL_ERROR) or
		// sends GOAWAY below the stream's id, even after the whole body
		// was written: the request reaches bKash twice inside one attempt.
		// Without GetBody it can only re-send a request whose body it has
		// not started to write (a connection found unusable before use);
		// otherwise the attempt fails and the call's outcome is unknown.
		// go-retryablehttp's own attempts do not use GetBody: they take a
		// new body from the ReaderFunc, and for a money call only while
		// nothing was sent (checkRetry).
		req.GetBody = nil
	}
	req.Header = header
	resp, err := t.rc.Do(req)
	return Result{Resp: resp, Err: err, Attempts: st.attempts, Sent: st.anySent}
}

func startAttempt(_ retryablehttp.Logger, r *http.Request, _ int) {
	if st := stateOf(r.Context()); st != nil {
		st.attempts++
		if st.observe != nil {
			st.start = time.Now() // only observers read the duration
		}
	}
}

// checkRetry decides per class. It runs after every attempt.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st := stateOf(ctx)
	if st == nil {
		return false, err
	}
	cur := st.cur.Load()
	sent := cur != nil && cur.sent.Load()
	if sent {
		st.anySent = true
	}
	if st.observe != nil {
		a := Attempt{Number: st.attempts, Err: err, Sent: sent, Duration: time.Since(st.start)}
		if resp != nil {
			a.Status = resp.StatusCode
		}
		st.observe(a)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if err == nil {
			err = ctxErr
		}
		return false, err
	}
	if err != nil {
		if !sent {
			return true, nil // never left the process: safe for every class
		}
		switch st.class {
		case Read, Cancel:
			return true, nil
		default:
			return false, err
		}
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		switch st.class {
		case Read, Cancel:
			return true, nil
		case Create:
			// A throttling answer with Retry-After says the request was not
			// processed; anything else may have created the payment.
			_, ok := retryAfter(resp)
			return ok && resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusGatewayTimeout, nil
		}
	}
	return false, nil
}

// keepLastResponse returns the final response instead of closing it, so that
// bKash's error body can still be decoded.
func keepLastResponse(resp *http.Response, err error, _ int) (*http.Response, error) {
	if resp != nil {
		return resp, nil
	}
	return nil, err
}

// backoff is full-jitter exponential backoff, or the server's Retry-After.
func (t *Transport) backoff(minWait, maxWait time.Duration, attemptNum int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp); ok {
			return d
		}
	}
	return Backoff(minWait, maxWait, attemptNum)
}

// Backoff returns a random wait in [0, min(max, base*2^n)].
func Backoff(base, maxWait time.Duration, n int) time.Duration {
	if base <= 0 {
		return 0
	}
	ceiling := maxWait
	if n < 30 {
		if c := base << n; c > 0 && c < maxWait {
			ceiling = c
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// retryAfter parses the Retry-After header (seconds or an HTTP date).
func retryAfter(resp *http.Response) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0, false
		}
		d = time.Duration(secs) * time.Second
	} else if when, err := http.ParseTime(v); err == nil {
		d = time.Until(when)
		if d < 0 {
			d = 0
		}
	} else {
		return 0, false
	}
	if d > maxRetryAfter {
		d = maxRetryAfter
	}
	return d, true
}
