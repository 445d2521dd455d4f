package bkash

// This file is the harness of package bkash, the tests of unexported code:
// the call pipeline, the token manager and its store, the options, the wire
// types. Every helper two or more of those test files share is here; a
// helper one file uses stays in that file. Tests that use the SDK from
// outside, through its exported API as a merchant does, are in package
// bkash_test with their own harness, harness_test.go. Write a new test
// there, and here only when it must reach something unexported.
//
// bKash is stood in for by newCoreMock: an httpmock transport of the
// test's own, isolated from every other test (never httpmock.Activate,
// which swaps http.DefaultTransport under tests running in parallel), that
// records every request it reads and whose grant and refresh endpoints
// issue numbered tokens. Build a client on it with client (coreCreds, fast
// retries); answer an endpoint with on, whose coreResponder is told which
// request for that path it answers (n = 1, 2, ...); read what was sent with
// sent and requests. coreQuery runs a payment query through the pipeline
// without the service code, and coreOK answers it. coreClock, coreLog and
// coreObserver stand in for the token manager's clock, the logger and the
// observer.
//
// The harness's names start with "core" (the pipeline every call goes
// through), so that a reader can tell them from a test file's own helpers.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

// coreCreds are credentials whose every value is easy to grep for in logs.
var coreCreds = Credentials{
	Username:  "merchantUser01",
	Password:  Secret("pw-SECRET-7d1c"),
	AppKey:    "appkey-0f3a",
	AppSecret: Secret("appsecret-SECRET-91be"),
}

const coreRoot = "https://tokenized.sandbox.bka.sh"

// coreReq is one request as the mock saw it, body read in full (reading the
// body is what marks a request as sent for the transport).
type coreReq struct {
	Path   string
	Header http.Header
	Body   []byte
}

// coreMock is a fake bKash on an httpmock transport.
type coreMock struct {
	t  testing.TB
	mt *httpmock.MockTransport

	mu       sync.Mutex
	reqs     []coreReq
	count    map[string]int
	tokenSeq int
}

// newCoreMock returns a mock whose grant and refresh endpoints answer with
// tokenAnswer; every other path answers nothing until the test calls on.
func newCoreMock(t testing.TB) *coreMock {
	m := &coreMock{t: t, mt: httpmock.NewMockTransport(), count: map[string]int{}}
	m.onGrant(m.tokenAnswer)
	m.onRefresh(m.tokenAnswer)
	return m
}

// coreResponder answers the n-th (1-based) request for a path.
type coreResponder func(n int, r coreReq) (*http.Response, error)

// on answers the requests to ep's path with fn, after reading and
// recording each. A later on for the same endpoint replaces the earlier one.
func (m *coreMock) on(ep *endpoint, fn coreResponder) {
	m.mt.RegisterResponder(http.MethodPost, coreRoot+ep.path, func(r *http.Request) (*http.Response, error) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		cr := coreReq{Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		m.mu.Lock()
		m.reqs = append(m.reqs, cr)
		m.count[ep.path]++
		n := m.count[ep.path]
		m.mu.Unlock()
		return fn(n, cr)
	})
}

// onGrant answers the token grant with fn.
func (m *coreMock) onGrant(fn coreResponder) { m.on(epGrant, fn) }

// onRefresh answers the token refresh with fn.
func (m *coreMock) onRefresh(fn coreResponder) { m.on(epRefresh, fn) }

// tokenAnswer issues ID<n>/RF<n> tokens, numbered across grants and refreshes.
func (m *coreMock) tokenAnswer(_ int, _ coreReq) (*http.Response, error) {
	m.mu.Lock()
	m.tokenSeq++
	n := m.tokenSeq
	m.mu.Unlock()
	return coreJSON(200, fmt.Sprintf(`{"statusCode":"0000","statusMessage":"Successful","id_token":"eyJ-ID%d-tok","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJ-RF%d-tok"}`, n, n)), nil
}

// sent returns how many requests reached ep's path.
func (m *coreMock) sent(ep *endpoint) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count[ep.path]
}

// requests returns the requests that reached ep's path, in order.
func (m *coreMock) requests(ep *endpoint) []coreReq {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []coreReq
	for _, r := range m.reqs {
		if r.Path == ep.path {
			out = append(out, r)
		}
	}
	return out
}

// client builds a Client with coreCreds on the mock, with fast retries (3
// attempts, 1-2 ms apart); opts come after these, so a test can override
// them.
func (m *coreMock) client(opts ...Option) *Client {
	m.t.Helper()
	base := []Option{
		WithHTTPClient(&http.Client{Transport: m.mt}),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}),
	}
	c, err := NewClient(Sandbox, coreCreds, append(base, opts...)...)
	if err != nil {
		m.t.Fatalf("NewClient: %v", err)
	}
	return c
}

// coreJSON is an answer with status and a JSON body.
func coreJSON(status int, body string) *http.Response {
	r := httpmock.NewStringResponse(status, body)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// coreOK answers a successful query-like call.
func coreOK(_ int, _ coreReq) (*http.Response, error) {
	return coreJSON(200, `{"statusCode":"0000","statusMessage":"Successful","paymentID":"TR0011abc","customerMsisdn":"01770618575"}`), nil
}

// coreQueryOut is a small response type for pipeline tests that must not
// depend on the service files.
type coreQueryOut struct {
	envelope
	PaymentID string `json:"paymentID"`
}

// coreQueryIn is coreQuery's request body.
type coreQueryIn struct {
	PaymentID string `json:"paymentID"`
}

// coreQuery runs a payment.query of TR0011abc through the pipeline.
func coreQuery(ctx context.Context, c *Client) (*coreQueryOut, error) {
	var out coreQueryOut
	err := c.do(ctx, epPaymentQuery, coreQueryIn{"TR0011abc"}, &out)
	return &out, err
}

// coreClock is a settable clock for the token manager.
type coreClock struct {
	mu sync.Mutex
	t  time.Time
}

// newCoreClock returns a clock standing at 2025-05-18 10:00 UTC.
func newCoreClock() *coreClock {
	return &coreClock{t: time.Date(2025, 5, 18, 10, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *coreClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *coreClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// coreLog captures every log line of a client, at every level: pass
// logger() to WithLogger.
type coreLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the captured log.
func (l *coreLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns the captured log.
func (l *coreLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Bytes returns a copy of the captured log.
func (l *coreLog) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}

// logger returns a JSON logger at debug level that writes to l.
func (l *coreLog) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines returns the log lines that contain s.
func (l *coreLog) lines(s string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// coreObserver records the events of a client: pass it to WithObserver.
type coreObserver struct {
	mu       sync.Mutex
	attempts []AttemptEvent
	renewals []TokenRenewalEvent
}

// ObserveAttempt records e.
func (o *coreObserver) ObserveAttempt(e AttemptEvent) {
	o.mu.Lock()
	o.attempts = append(o.attempts, e)
	o.mu.Unlock()
}

// ObserveTokenRenewal records e.
func (o *coreObserver) ObserveTokenRenewal(e TokenRenewalEvent) {
	o.mu.Lock()
	o.renewals = append(o.renewals, e)
	o.mu.Unlock()
}

// kinds returns the Kind of each token renewal seen, in order.
func (o *coreObserver) kinds() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var k []string
	for _, e := range o.renewals {
		k = append(k, e.Kind)
	}
	return k
}

// setTokenClock makes c's token manager, and its store when that is a
// MemoryTokenStore (which keeps the renewal budget), read now.
func setTokenClock(c *Client, now func() time.Time) {
	c.tokens.now = now
	if s, ok := c.tokens.store.(*MemoryTokenStore); ok {
		s.mu.Lock()
		s.now = now
		s.mu.Unlock()
	}
}

// roundTripFunc adapts a function to http.RoundTripper, for a transport
// that must do something httpmock cannot (block, fail before reading).
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestHarnessUsesAnIsolatedTransport: no test registers answers on
// httpmock's global transport (httpmock.Activate), which every test running
// in parallel would share; each uses a transport of its own.
func TestHarnessUsesAnIsolatedTransport(t *testing.T) {
	t.Parallel()
	if httpmock.DefaultTransport.NumResponders() != 0 {
		t.Error("something registered on httpmock's global transport")
	}
}

// encodeBody returns the request body encodeRequest writes for in.
func encodeBody(in any) ([]byte, error) {
	var buf bytes.Buffer
	err := encodeRequest(&buf, in)
	return buf.Bytes(), err
}

// clockedClient returns a client of m whose token manager (and its memory
// store) reads the returned clock.
func (m *coreMock) clockedClient() (*Client, *coreClock) {
	clk := newCoreClock()
	c := m.client()
	setTokenClock(c, clk.Now)
	return c, clk
}
