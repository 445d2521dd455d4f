package bkash

// The test harness of the core tests (pipeline, tokens, options): an
// isolated httpmock transport per test that records what reached "bKash".
// Names carry a "core" prefix so that they cannot collide with the helpers
// of the service tests in the same package.

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

func newCoreMock(t testing.TB) *coreMock {
	m := &coreMock{t: t, mt: httpmock.NewMockTransport(), count: map[string]int{}}
	m.onGrant(m.tokenAnswer)
	m.onRefresh(m.tokenAnswer)
	return m
}

// coreResponder answers the n-th (1-based) request for a path.
type coreResponder func(n int, r coreReq) (*http.Response, error)

// on registers fn for ep's path.
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

func (m *coreMock) onGrant(fn coreResponder)   { m.on(epGrant, fn) }
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

// client builds a Client on the mock with fast retries.
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

type coreQueryIn struct {
	PaymentID string `json:"paymentID"`
}

// query runs a payment.query through the pipeline.
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

func newCoreClock() *coreClock {
	return &coreClock{t: time.Date(2025, 5, 18, 10, 0, 0, 0, time.UTC)}
}

func (c *coreClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *coreClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// coreLog captures every log line of a client, at every level.
type coreLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *coreLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *coreLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *coreLog) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}

func (l *coreLog) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func slogAtInfo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// lines returns the log lines whose msg contains s.
func (l *coreLog) lines(s string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// coreObserver records the events of a client.
type coreObserver struct {
	mu       sync.Mutex
	attempts []AttemptEvent
	renewals []TokenRenewalEvent
}

func (o *coreObserver) ObserveAttempt(e AttemptEvent) {
	o.mu.Lock()
	o.attempts = append(o.attempts, e)
	o.mu.Unlock()
}

func (o *coreObserver) ObserveTokenRenewal(e TokenRenewalEvent) {
	o.mu.Lock()
	o.renewals = append(o.renewals, e)
	o.mu.Unlock()
}

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
