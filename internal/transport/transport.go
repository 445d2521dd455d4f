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
	// Counted says that the caller counts every request this transport
	// sends (the token renewal budget), so none may carry a GetBody: a
	// copy net/http sent by itself would not be counted.
	Counted bool
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

// Transport sends requests for one client, through one go-retryablehttp
// client configured when the Transport is made. Its hooks (startAttempt,
// checkRetry) are shared by every request; they find the Request they serve
// in the request's context, as net/http/httptrace finds a request's trace
// hooks.
type Transport struct {
	hc      *http.Client          // the client go-retryablehttp sends through
	rc      *retryablehttp.Client // retries as the call's class allows
	counted bool                  // Policy.Counted
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
	return &Transport{
		counted: p.Counted,
		hc:      &cp,
		rc: &retryablehttp.Client{
			HTTPClient:     &cp,
			Logger:         nil, // the SDK logs itself, redacted
			RetryWaitMin:   p.BaseDelay,
			RetryWaitMax:   p.MaxDelay,
			RetryMax:       p.MaxAttempts - 1,
			CheckRetry:     checkRetry,
			Backoff:        backoff,
			ErrorHandler:   keepLastResponse,
			RequestLogHook: startAttempt,
		},
	}
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

// Observer is told about every attempt of a request as it ends.
type Observer interface {
	AttemptEnded(Attempt)
}

// Request is one POST to bKash, and what Do learns about its attempts. Make
// it with NewRequest, set its headers on Header, and send it once with Do.
// go-retryablehttp runs the hooks that touch it (startAttempt, checkRetry)
// on the goroutine that called Do.
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
type Request struct {
	Header http.Header // the request's headers

	req      retryablehttp.Request // what go-retryablehttp sends
	class    Class
	rewind   bool // attempts carry a GetBody (see startAttempt)
	body     []byte
	observe  Observer  // nil: nobody is told
	attempts int       // attempts started
	anySent  bool      // some attempt may have reached the server
	start    time.Time // when the attempt in progress started

	// mu guards sent and failed, which body readers touch from net/http's
	// goroutines. Every reader belongs to one attempt (startAttempt's to
	// the attempt it starts, GetBody's to the attempt whose request is
	// rewound), and counts only while that attempt lasts: net/http may
	// still read a finished attempt's body on its own goroutine (its write
	// loop, after a response arrived), and that late read must not mark the
	// next attempt as sent.
	//
	// An attempt that failed (no response) ends its body: a RoundTripper
	// may return before it is done with the body (the RoundTripper contract
	// allows it to finish on a goroutine of its own), as a wrapper does
	// that stops waiting for a slow dial and leaves the request to go on.
	// Read after its attempt failed, the body gives an error instead of its
	// bytes, so that request never carries it to the server, and the retry
	// is the only request that can.
	mu     sync.Mutex
	sent   bool   // a body reader of the attempt in progress was read
	failed []bool // one per attempt ended: true when it got no response
}

// ended returns the number of attempts ended; the one in progress is
// ended()+1. r.mu must be held.
func (r *Request) ended() int { return len(r.failed) }

// requestKey is the context key under which a request's context carries
// the Request, for the hooks.
type requestKey struct{}

// requestOf returns the Request whose context ctx is.
func requestOf(ctx context.Context) *Request {
	return ctx.Value(requestKey{}).(*Request)
}

// NewRequest returns a POST of body to url, to be retried as class allows.
// The request's context is ctx, carrying the Request for the hooks.
//
// go-retryablehttp is given no body of its own: it would make the body of
// every attempt from a ReaderFunc, and a GetBody for net/http, which a money
// call must not have. startAttempt gives each attempt its body instead.
func NewRequest(ctx context.Context, class Class, url string, body []byte) (*Request, error) {
	r := &Request{class: class, body: body}
	hr, err := http.NewRequestWithContext(context.WithValue(ctx, requestKey{}, r), http.MethodPost, url, nil)
	if err != nil {
		return nil, err
	}
	hr.ContentLength = int64(len(body))
	r.Header = hr.Header
	r.req.Request = hr
	return r, nil
}

// Do sends r, retrying as its class allows. observe, if not nil, is told
// about every attempt.
func (t *Transport) Do(r *Request, observe Observer) Result {
	r.observe = observe
	r.rewind = !t.counted && (r.class == Read || r.class == Cancel)
	resp, err := t.rc.Do(&r.req)
	return Result{Resp: resp, Err: err, Attempts: r.attempts, Sent: r.anySent}
}

// bodyOf returns a reader of the whole body for attempt ended+1.
func (r *Request) bodyOf(ended int) *sentReader {
	sr := &sentReader{req: r, ended: ended}
	sr.body.Reset(r.body)
	return sr
}

// bodyRead records a read of a body reader made while attempt ended+1 was
// in progress, and reports whether the read may go ahead. While that
// attempt lasts, the read means it may have been sent. After it failed,
// the read may not go ahead: the retry is the request that may be sent.
func (r *Request) bodyRead(ended int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ended == r.ended() {
		r.sent = true
		return true
	}
	return !r.failed[ended]
}

// endAttempt ends the attempt in progress, failed when it got no response,
// and reports whether it may have been sent: its body was read, or a
// response came (a server or a proxy may answer before it reads the body,
// and the request reached it all the same). Its body readers count no more,
// and give no bytes if it failed.
func (r *Request) endAttempt(failed bool) (sent bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sent = r.sent || !failed
	r.sent = false
	r.failed = append(r.failed, failed)
	return sent
}

// errAttemptEnded is what a body read after its attempt failed returns.
var errAttemptEnded = errors.New("bkash: request body read after its attempt failed; not sent")

// sentReader reads a request body and tells its Request on every Read. It
// hides bytes.Reader's WriteTo, which io.Copy would call instead of Read.
type sentReader struct {
	body  bytes.Reader
	req   *Request
	ended int // the Request's ended count when the reader was made
}

func (s *sentReader) Read(p []byte) (int, error) {
	if !s.req.bodyRead(s.ended) {
		return 0, errAttemptEnded
	}
	return s.body.Read(p)
}

// Close makes the reader an io.ReadCloser, as a request body is.
func (s *sentReader) Close() error { return nil }

// startAttempt is go-retryablehttp's RequestLogHook: an attempt begins,
// with a body of its own.
//
// A read or a cancel, which may be repeated after it was sent, may also be
// rewound by net/http, through GetBody, to send the request again inside
// the attempt (an HTTP/2 stream refused, a connection found closed), unless
// its transport's requests are Counted. The
// rewound body belongs to this attempt even when it is made after the
// attempt ended, by a RoundTripper that returned before it was done with
// the request: made then, it must give no bytes if this attempt failed, not
// count for the next one.
//
// A create or a money call has no GetBody: net/http's HTTP/2 client uses it
// to send a request again on its own when the server resets the stream
// (REFUSED_STREAM, PROTOCOL_ERROR) or sends GOAWAY below the stream's id,
// even after the whole body was written, so the request would reach bKash
// twice inside one attempt. Without GetBody it can only send again a
// request whose body it has not started to write (a connection found
// unusable before use); otherwise the attempt fails, and the call's outcome
// is unknown unless the body was never read.
func startAttempt(_ retryablehttp.Logger, hr *http.Request, _ int) {
	r := requestOf(hr.Context())
	r.attempts++
	r.start = time.Now()
	ended := r.attempts - 1 // the attempts before this one have ended
	hr.Body = r.bodyOf(ended)
	if r.rewind {
		hr.GetBody = func() (io.ReadCloser, error) { return r.bodyOf(ended), nil }
	}
}

// checkRetry is go-retryablehttp's CheckRetry: it ends the attempt, reports
// it, and asks retryable whether another may follow.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	r := requestOf(ctx)
	// With no response, the RoundTripper may still hold the body: the
	// attempt takes it back.
	sent := r.endAttempt(resp == nil)
	r.anySent = r.anySent || sent
	if r.observe != nil {
		a := Attempt{Number: r.attempts, Err: err, Sent: sent, Start: r.start, Duration: time.Since(r.start)}
		if resp != nil {
			a.Status = resp.StatusCode
		}
		r.observe.AttemptEnded(a)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The caller has given up: no class is retried after that.
		return false, cmp.Or(err, ctxErr)
	}
	if retryable(r.class, sent, resp, err) {
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
