package bkash_test

// This file is the harness of package bkash_test: the tests that use the SDK
// from outside, through its exported API, as a merchant does. Every helper
// those tests share is here. There are two ways to stand in for bKash; pick
// by what the test is about.
//
// Unit tests of the wire (the exact body a call sends, how each field of an
// answer decodes, what one odd answer turns into) use newMockBkash: a client
// over its own httpmock transport, isolated from every other test (never
// httpmock.Activate, which swaps http.DefaultTransport under tests running in
// parallel). Answer a path with reply (a testdata fixture), replies (literal
// bodies in turn) or on (a function); read what the SDK sent with sent and
// compare it with a golden body with checkGoldenBody.
//
// Integration tests (a flow of several calls, state bKash keeps between them,
// faults injected before or after bKash applied a call) use newIntegration: a
// client of the fake bKash of package bkashtest, over real HTTP and through
// the SDK's whole pipeline (tokens, retries, envelopes). Build payments with
// saleParams, createPayment, createInitiated, approved and paidPayment; check
// errors with wantAPIError and wantUnknown.
//
// Write a new test here: it reads as a user's code and survives a rewrite
// of the internals. Only a test that must reach something unexported goes in
// package bkash, whose harness is harness_internal_test.go.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// fastRetries keeps the tests quick while still retrying.
var fastRetries = bkash.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

// ---- httpmock: unit tests of the wire ----

// The wire paths on the sandbox host, as the SDK must call them.
const (
	mockRoot            = "https://tokenized.sandbox.bka.sh"
	pathGrant           = "/v1.2.0-beta/tokenized/checkout/token/grant"
	pathCreate          = "/v1.2.0-beta/tokenized/checkout/create"
	pathExecute         = "/v1.2.0-beta/tokenized/checkout/execute"
	pathAgreementStatus = "/v1.2.0-beta/tokenized/checkout/agreement/status"
	pathAgreementCancel = "/v1.2.0-beta/tokenized/checkout/agreement/cancel"
	pathRefundV1        = "/v1.2.0-beta/tokenized/checkout/payment/refund"
	pathRefundV2        = "/v2/tokenized-checkout/refund/payment/transaction"
	pathRefundStatusV2  = "/v2/tokenized-checkout/refund/payment/status"
)

// mockBkash is a client whose transport is an isolated httpmock transport
// that answers the token grant and records every other request body.
type mockBkash struct {
	t      *testing.T
	client *bkash.Client
	mt     *httpmock.MockTransport

	mu     sync.Mutex
	bodies map[string][][]byte
}

// newMockBkash returns a sandbox client over a fresh httpmock transport that
// grants a token; every other path answers nothing until the test registers
// an answer with on, reply or replies. opts come after the harness's own
// options (the transport and fastRetries), so a test can override them.
func newMockBkash(t *testing.T, opts ...bkash.Option) *mockBkash {
	t.Helper()
	m := &mockBkash{t: t, mt: httpmock.NewMockTransport(), bodies: map[string][][]byte{}}
	m.mt.RegisterResponder(http.MethodPost, mockRoot+pathGrant, httpmock.NewStringResponder(http.StatusOK,
		`{"statusCode":"0000","statusMessage":"Successful","id_token":"mock-id-token","token_type":"Bearer","expires_in":3600,"refresh_token":"mock-refresh-token"}`))
	base := []bkash.Option{
		bkash.WithHTTPClient(&http.Client{Transport: m.mt}),
		bkash.WithRetryPolicy(fastRetries),
	}
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
		Username: "mock-user", Password: "mock-password", AppKey: "mock-app-key", AppSecret: "mock-app-secret",
	}, append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	m.client = c
	return m
}

// on answers requests to path with fn, after recording their body.
func (m *mockBkash) on(path string, fn func(body []byte) (*http.Response, error)) {
	m.mt.RegisterResponder(http.MethodPost, mockRoot+path, func(r *http.Request) (*http.Response, error) {
		// Reading the body is what tells the SDK the request left the process.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		m.bodies[path] = append(m.bodies[path], body)
		m.mu.Unlock()
		return fn(body)
	})
}

// reply answers every request to path with the fixture file.
func (m *mockBkash) reply(path string, status int, fixture string) {
	data := readTestdata(m.t, fixture)
	m.on(path, func([]byte) (*http.Response, error) {
		return httpmock.NewBytesResponse(status, data), nil
	})
}

// replies answers the requests to path in turn; the last answer repeats.
func (m *mockBkash) replies(path string, status int, bodies ...string) {
	var mu sync.Mutex
	n := 0
	m.on(path, func([]byte) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		b := bodies[min(n, len(bodies)-1)]
		n++
		return httpmock.NewStringResponse(status, b), nil
	})
}

// sent returns the bodies received on path.
func (m *mockBkash) sent(path string) [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bodies[path]
}

// calls counts the requests that reached the transport, grants included.
func (m *mockBkash) calls() int { return m.mt.GetTotalCallCount() }

// ---- testdata: fixtures, golden bodies and times ----

// readTestdata returns the file testdata/<name>, failing the test if it
// cannot be read.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkGoldenBody compares a request body with testdata/golden/<name> as
// JSON values: same members, same values, nothing extra.
func checkGoldenBody(t *testing.T, body []byte, name string) {
	t.Helper()
	var got, want map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("request body is not a JSON object: %v\n%s", err, body)
	}
	if err := json.Unmarshal(readTestdata(t, filepath.Join("golden", name)), &want); err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request body differs from golden/%s (-want +got):\n%s", name, diff)
	}
}

// bkTime is the instant of a bKash timestamp, built independently of the
// SDK's parser, with the text it came from.
func bkTime(raw string, y int, mo time.Month, d, h, mi, s, ms, offsetHours int) bkash.Time {
	return bkash.Time{Time: time.Date(y, mo, d, h, mi, s, ms*1e6, time.FixedZone("", offsetHours*3600)), Raw: raw}
}

// cmpTime compares bkash.Time by instant and raw text.
var cmpTime = cmp.Comparer(func(a, b bkash.Time) bool { return a.Time.Equal(b.Time) && a.Raw == b.Raw })

// ---- bkashtest: integration tests against the fake bKash ----

// The customer and the shop of the integration tests.
const (
	// fakeWallet is a wallet the fake lets pay (see bkashtest.PayingWallets).
	fakeWallet = "01770618575"
	// shopCallback is the merchant's callback URL.
	shopCallback = "https://shop.example.com/bkash/callback"
)

// newIntegration starts a fake bKash with srvOpts and returns it with a
// client of it. opts come after the harness's own options (the fake's URL,
// a transport of the test's own, fastRetries), so a test can override them.
// Both are closed when the test ends.
func newIntegration(t *testing.T, srvOpts []bkashtest.Option, opts ...bkash.Option) (*bkashtest.Server, *bkash.Client) {
	t.Helper()
	srv := bkashtest.NewServer(srvOpts...)
	tr := &http.Transport{}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	opts = append([]bkash.Option{
		bkash.WithBaseURL(srv.URL),
		bkash.WithHTTPClient(&http.Client{Transport: tr, Timeout: 5 * time.Second}),
		bkash.WithRetryPolicy(fastRetries),
	}, opts...)
	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, client
}

// saleParams are the parameters of a checkout of amount by fakeWallet,
// invoiced INV-1001, calling back shopCallback.
func saleParams(amount bkash.Amount, intent bkash.Intent) *bkash.CreatePaymentParams {
	return &bkash.CreatePaymentParams{
		Amount: amount, InvoiceNumber: "INV-1001", PayerReference: fakeWallet,
		CallbackURL: shopCallback, Intent: intent,
	}
}

// createPayment creates a sale of 150.50 invoiced invoice, failing the test
// if Create fails.
func createPayment(t *testing.T, c *bkash.Client, invoice string) *bkash.Payment {
	t.Helper()
	p, err := c.Payments.Create(context.Background(), &bkash.CreatePaymentParams{
		Amount: bkash.Taka(150) + bkash.Poisha(50), InvoiceNumber: invoice,
		PayerReference: fakeWallet, CallbackURL: shopCallback,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// createInitiated creates a payment of amount with intent, invoiced
// "INT-<test name>", and fails the test unless bKash answered a checkout
// payment waiting for the customer: an ID, a bkashURL, Initiated, mode 0011.
func createInitiated(t *testing.T, c *bkash.Client, intent bkash.Intent, amount bkash.Amount) *bkash.Payment {
	t.Helper()
	p, err := c.Payments.Create(context.Background(), &bkash.CreatePaymentParams{
		Amount: amount, InvoiceNumber: "INT-" + t.Name(), PayerReference: fakeWallet,
		CallbackURL: shopCallback + "?order=42", Intent: intent,
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if p.PaymentID == "" || p.BkashURL == "" || p.Status != bkash.StatusInitiated || p.Mode != "0011" {
		t.Fatalf("created payment = %+v; want an ID, a bkashURL, Initiated, mode 0011", p)
	}
	return p
}

// approved creates a payment and approves it as fakeWallet would on the
// checkout page (srv.Approve, no browser): Execute will now move the money.
func approved(t *testing.T, srv *bkashtest.Server, client *bkash.Client, params *bkash.CreatePaymentParams) *bkash.Payment {
	t.Helper()
	p, err := client.Payments.Create(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Approve(p.PaymentID, fakeWallet); err != nil {
		t.Fatal(err)
	}
	return p
}

// paidPayment is a completed sale of amount by fakeWallet: created,
// approved and executed, with the trxID a refund needs.
func paidPayment(t *testing.T, srv *bkashtest.Server, client *bkash.Client, amount bkash.Amount) *bkash.Payment {
	t.Helper()
	p := approved(t, srv, client, saleParams(amount, bkash.IntentSale))
	p, err := client.Payments.Execute(context.Background(), p.PaymentID)
	if err != nil || p.TrxID == "" {
		t.Fatalf("Payments.Execute = %+v, %v", p, err)
	}
	return p
}

// wantAPIError fails unless err is an *APIError with code.
func wantAPIError(t *testing.T, what string, err error, code bkash.ErrorCode) *bkash.APIError {
	t.Helper()
	var ae *bkash.APIError
	if !errors.As(err, &ae) || !errors.Is(err, code) {
		t.Errorf("%s: got %v, want an *APIError with code %s", what, err, code)
		return nil
	}
	return ae
}

// wantUnknown fails unless err is an *OutcomeUnknownError.
func wantUnknown(t *testing.T, what string, err error) {
	t.Helper()
	var ou *bkash.OutcomeUnknownError
	if !errors.As(err, &ou) || !errors.Is(err, bkash.ErrOutcomeUnknown) {
		t.Errorf("%s: got %v, want an *OutcomeUnknownError", what, err)
	}
}

// ---- recorders of results, events and goroutines ----

// collect gathers reconcile results by payment ID; a result reported twice
// for one payment panics. Pass its report method as Reconciler.Report.
type collect struct {
	mu  sync.Mutex
	got map[string]bkash.ReconcileResult
	n   atomic.Int32
}

func (c *collect) report(r bkash.ReconcileResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string]bkash.ReconcileResult{}
	}
	if _, dup := c.got[r.PaymentID]; dup {
		panic("reported twice: " + r.PaymentID)
	}
	c.got[r.PaymentID] = r
	c.n.Add(1)
}

// eventLog records webhook and settlement events: it is both a
// bkash.WebhookObserver and a Reconciler's Observer.
type eventLog struct {
	mu       sync.Mutex
	webhooks []bkash.WebhookEvent
	settled  []bkash.SettlementEvent
}

func (l *eventLog) ObserveWebhook(e bkash.WebhookEvent) {
	l.mu.Lock()
	l.webhooks = append(l.webhooks, e)
	l.mu.Unlock()
}

func (l *eventLog) ObserveSettlement(e bkash.SettlementEvent) {
	l.mu.Lock()
	l.settled = append(l.settled, e)
	l.mu.Unlock()
}

// obsKey marks a context, to check that an observer's event carries the
// caller's context.
type obsKey struct{}

// goroutinesCreatedBy lists the live goroutines whose "created by" frame
// starts with prefix.
func goroutinesCreatedBy(prefix string) []string {
	buf := make([]byte, 1<<20)
	var found []string
	for _, line := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n") {
		if strings.HasPrefix(line, "created by "+prefix) {
			found = append(found, line)
		}
	}
	return found
}
