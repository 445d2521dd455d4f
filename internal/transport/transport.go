// Package transport sends bKash requests through go-retryablehttp with the
// retry rules of the SDK's operation classes.
//
// go-retryablehttp only sees HTTP methods, and every bKash call is a POST. The
// class of the operation decides instead: a read may be retried after any
// transport failure, a call that moves money only when the request provably
// never left the process. The rule is one function, retryable; the rest of
// this package tells it whether an attempt may have been sent.
package transport

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
)

// Class is the retry class of an operation (RELIABILITY.md, "Retry classes").
type Class uint8

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
}

// maxRetryAfter caps how long a Retry-After header can make a call wait.
const maxRetryAfter = 30 * time.Second

// Attempt describes one finished attempt, for logs and observers.
type Attempt struct {
	Number   int           // 1-based
	Status   int           // HTTP status; 0 when no response arrived
	Err      error         // transport error, if any
	Sent     bool          // whether the request may have reached the server
	Start    time.Time     // when the attempt began
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
	hc     *http.Client
	policy Policy
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
	cp.Transport = keepIdle{rt}
	return &Transport{hc: &cp, policy: p}
}

// keepIdle hides CloseIdleConnections from go-retryablehttp, which calls it
// on the HTTP client whenever it gives up: that would tear down the idle
// connections the caller's other code (and the client's other calls) share
// through the same transport.
type keepIdle struct{ rt http.RoundTripper }

func (k keepIdle) RoundTrip(r *http.Request) (*http.Response, error) { return k.rt.RoundTrip(r) }

// CloseIdleConnections closes the idle connections of the underlying transport.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.hc.Transport.(keepIdle).rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Do sends a POST of body to url with the given headers, retrying as class
// allows. observe, if not nil, is called after every attempt.
func (t *Transport) Do(ctx context.Context, class Class, url string, header http.Header, body []byte, observe func(Attempt)) Result {
	c := &call{class: class, body: body, observe: observe}
	c.use.Store(new(bodyUse))
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, url, retryablehttp.ReaderFunc(c.newBody))
	if err != nil {
		return Result{Err: err}
	}
	req.Header = header
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
		// new body from newBody, and for a money call only while nothing
		// was sent (retryable).
		req.GetBody = nil
	}
	rc := &retryablehttp.Client{
		HTTPClient:     t.hc,
		Logger:         nil, // the SDK logs itself, redacted
		RetryWaitMin:   t.policy.BaseDelay,
		RetryWaitMax:   t.policy.MaxDelay,
		RetryMax:       t.policy.MaxAttempts - 1,
		CheckRetry:     c.checkRetry,
		Backoff:        backoff,
		ErrorHandler:   keepLastResponse,
		RequestLogHook: c.startAttempt,
	}
	resp, err := rc.Do(req)
	return Result{Resp: resp, Err: err, Attempts: c.attempts, Sent: c.anySent}
}

// call follows one Do across its attempts. go-retryablehttp runs its hooks
// (startAttempt, checkRetry) on the goroutine that called Do.
//
// Whether an attempt may have been sent is learnt from its body: net/http
// reads a request's body only once it holds a connection and has written
// the headers to it, and bKash's requests always have a body. So a body
// reader that was read means the request may have reached the server; one
// that was never read means it did not (a refused dial, a DNS failure, a
// connection that broke before the headers went out), and the attempt may
// be repeated whatever its class. This works with any RoundTripper: a
// mock, a recorder or a wrapper reads the body too when it sends it. (As
// the body is not one of the in-memory readers net/http knows, it writes
// the headers and the body in two writes rather than one; on a real
// network that costs nothing a caller can see.)
//
// An attempt that failed ends its body: a RoundTripper may return before
// it is done with the body (the RoundTripper contract allows it to finish
// on a goroutine of its own), as a wrapper does that stops waiting for a
// slow dial and leaves the request to go on. Read after its attempt failed,
// the body gives an error instead of its bytes, so that request never
// carries it to the server, and the retry is the only request that can.
type call struct {
	class   Class
	body    []byte
	observe func(Attempt)

	// use is what the body readers of the attempt in progress report to.
	// Every reader handed out during the attempt (go-retryablehttp's, and
	// net/http's rewinds through GetBody) marks it when read; checkRetry
	// replaces it when the attempt ends. net/http may still read a finished
	// attempt's body on its own goroutine (its write loop, after a response
	// arrived), and that late read must not mark the next attempt as sent.
	use atomic.Pointer[bodyUse]

	attempts int       // attempts started
	anySent  bool      // some attempt may have reached the server
	start    time.Time // when the attempt in progress started
}

// newBody returns a reader of the whole body for the attempt in progress.
// go-retryablehttp calls it once to learn the length, before every attempt,
// and through GetBody when net/http rewinds the body.
func (c *call) newBody() (io.Reader, error) {
	r := &sentReader{use: c.use.Load()}
	r.body.Reset(c.body)
	return r, nil
}

// bodyUse records whether the body of one attempt was read. Its mutex
// orders every read against the end of a failed attempt: a read either
// comes first and counts, or comes after and gets no bytes. net/http
// reads bodies on goroutines of its own.
type bodyUse struct {
	mu     sync.Mutex
	read   bool
	failed bool
}

// startRead records a read and reports whether it may go ahead: not once
// the attempt has failed.
func (u *bodyUse) startRead() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failed {
		return false
	}
	u.read = true
	return true
}

// sent reports whether the body was read: whether the request may have
// reached the server.
func (u *bodyUse) sent() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.read
}

// fail ends a failed attempt: its body can no longer be read. It reports
// whether it was read before.
func (u *bodyUse) fail() (sent bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.failed = true
	return u.read
}

// errAttemptEnded is what a body read after its attempt failed returns.
var errAttemptEnded = errors.New("bkash: request body read after its attempt failed; not sent")

// sentReader reads a request body and records the read in its attempt's
// bodyUse. It hides bytes.Reader's WriteTo, which io.Copy would call
// instead of Read.
type sentReader struct {
	body bytes.Reader
	use  *bodyUse
}

func (s *sentReader) Read(p []byte) (int, error) {
	if !s.use.startRead() {
		return 0, errAttemptEnded
	}
	return s.body.Read(p)
}

// Len gives go-retryablehttp the request's Content-Length.
func (s *sentReader) Len() int { return s.body.Len() }

func (c *call) startAttempt(_ retryablehttp.Logger, _ *http.Request, _ int) {
	c.attempts++
	c.start = time.Now()
}

// checkRetry is go-retryablehttp's CheckRetry: it ends the attempt, reports
// it, and asks retryable whether another may follow.
func (c *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	use := c.use.Swap(new(bodyUse))
	sent := use.sent()
	if resp == nil {
		// The RoundTripper may still hold the body: take it back.
		sent = use.fail()
	}
	c.anySent = c.anySent || sent
	if c.observe != nil {
		a := Attempt{Number: c.attempts, Err: err, Sent: sent, Start: c.start, Duration: time.Since(c.start)}
		if resp != nil {
			a.Status = resp.StatusCode
		}
		c.observe(a)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The caller has given up: no class is retried after that.
		return false, cmp.Or(err, ctxErr)
	}
	if retryable(c.class, sent, resp, err) {
		return true, nil
	}
	return false, err
}

// retryable reports whether an attempt of class that ended with resp, or
// with err when no response arrived, may be followed by another. sent says
// whether the request may have reached the server.
//
//   - No response, request never sent: every class may try again.
//   - No response after sending: only Read and Cancel, which are safe to
//     repeat; Create and Money may have taken effect.
//   - 429, 502, 503, 504: Read and Cancel try again. Create only on 429 or
//     503 with a Retry-After header, the server's word that it did not
//     process the request. Money never: the answer may come from a
//     gateway behind which the money moved.
//   - Any other answer is final.
func retryable(class Class, sent bool, resp *http.Response, err error) bool {
	if err != nil || resp == nil {
		return !sent || class == Read || class == Cancel
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return false
	}
	switch class {
	case Read, Cancel:
		return true
	case Create:
		_, ok := retryAfter(resp)
		return ok && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable)
	}
	return false
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
func backoff(minWait, maxWait time.Duration, attemptNum int, resp *http.Response) time.Duration {
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

// retryAfter parses the Retry-After header (seconds or an HTTP date),
// capped at maxRetryAfter.
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
		d = max(time.Until(when), 0)
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}
