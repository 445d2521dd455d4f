package bkashtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"
)

// Paths as a client sends them.
const (
	grantPath     = "/v1.2.0-beta/tokenized/checkout/token/grant"
	refreshPath   = "/v1.2.0-beta/tokenized/checkout/token/refresh"
	createPath    = "/v1.2.0-beta/tokenized/checkout/create"
	executePath   = "/v1.2.0-beta/tokenized/checkout/execute"
	statusPath    = "/v1.2.0-beta/tokenized/checkout/payment/status"
	searchPath    = "/v1.2.0-beta/tokenized/checkout/general/searchTransaction"
	capturePath   = "/v1.2.0-beta/tokenized/checkout/payment/confirm/capture"
	voidPath      = "/v1.2.0-beta/tokenized/checkout/payment/confirm/void"
	refundPath    = "/v1.2.0-beta/tokenized/checkout/payment/refund"
	agStatusPath  = "/v1.2.0-beta/tokenized/checkout/agreement/status"
	agCancelPath  = "/v1.2.0-beta/tokenized/checkout/agreement/cancel"
	v2RefundPath  = "/v2/tokenized-checkout/refund/payment/transaction"
	v2StatusPath  = "/v2/tokenized-checkout/refund/payment/status"
	callbackBase  = "https://shop.example.com/bkash/callback"
	walletOK      = "01770618575"
	walletOther   = "01929918378"
	testStartTime = "2025-01-01T12:30:00.456+06:00"
)

// Shapes of bKash's values.
var (
	reTime      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}:\d{3} GMT[+-]\d{4}$`)
	reTimeNoOff = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}:\d{3}$`)
	reTrxID     = regexp.MustCompile(`^[A-Z0-9]{10}$`)
	rePayment   = regexp.MustCompile(`^TR(0000|0001|0011)[A-Za-z0-9]{7}\d{13}$`)
	reAgreement = regexp.MustCompile(`^TokenizedMerchant02[A-Z0-9]{7}\d{13}$`)
	reSignature = regexp.MustCompile(`^[A-Za-z0-9]{10}$`)
)

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	raw    []byte
	m      map[string]any // nil when the body is not a JSON object
}

// str returns member k as a string ("" when absent or not a string).
func (a answer) str(k string) string {
	s, _ := a.m[k].(string)
	return s
}

// code is the bKash code of any envelope.
func (a answer) code() string {
	for _, k := range []string{"statusCode", "errorCode", "externalCode"} {
		if s := a.str(k); s != "" {
			return s
		}
	}
	return ""
}

// api is a raw net/http client of the fake, independent of the SDK.
type api struct {
	t     testing.TB
	srv   *Server
	hc    *http.Client
	token string
}

// newAPI starts a server and returns a client for it; both are cleaned up
// when the test ends.
func newAPI(t testing.TB, opts ...Option) *api {
	t.Helper()
	srv := NewServer(opts...)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return &api{t: t, srv: srv, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// fixedClock returns a Clock at a fixed instant in Dhaka.
func fixedClock(t testing.TB) *Clock {
	t.Helper()
	start, err := time.Parse(time.RFC3339Nano, testStartTime)
	if err != nil {
		t.Fatal(err)
	}
	return NewClock(start)
}

// send posts body (JSON-encoded unless it is []byte or string) with headers.
func (c *api) send(path string, body any, header map[string]string) answer {
	c.t.Helper()
	a, err := c.trySend(path, body, header)
	if err != nil {
		c.t.Fatal(err)
	}
	return a
}

// trySend is send for goroutines other than the test's: it returns errors.
func (c *api) trySend(path string, body any, header map[string]string) (answer, error) {
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return answer{}, err
		}
	}
	req, err := http.NewRequest(http.MethodPost, c.srv.URL+path, bytes.NewReader(b))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("POST %s: reading body: %w", path, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&a.m)
	return a, nil
}

// grantHeaders are the grant/refresh headers for the server's credentials.
func (c *api) grantHeaders() map[string]string {
	cr := c.srv.Credentials()
	return map[string]string{"username": cr.Username, "password": string(cr.Password)}
}

// grant obtains a token and keeps it for call.
func (c *api) grant() answer {
	c.t.Helper()
	cr := c.srv.Credentials()
	a := c.send(grantPath, map[string]string{"app_key": cr.AppKey, "app_secret": string(cr.AppSecret)}, c.grantHeaders())
	if a.code() != "0000" {
		c.t.Fatalf("grant: %d %s", a.status, a.raw)
	}
	c.token = a.str("id_token")
	return a
}

// call posts an authenticated request, granting a token first if needed.
func (c *api) call(path string, body any) answer {
	c.t.Helper()
	if c.token == "" {
		c.grant()
	}
	return c.send(path, body, c.authHeaders())
}

// authHeaders authenticate a call with the current token.
func (c *api) authHeaders() map[string]string {
	return map[string]string{"Authorization": c.token, "X-APP-Key": c.srv.Credentials().AppKey}
}

// mustOK fails the test unless a is a success.
func mustOK(t testing.TB, what string, a answer) answer {
	t.Helper()
	if a.status != http.StatusOK || (a.m["statusCode"] != nil && a.str("statusCode") != "0000") || a.m["errorCode"] != nil {
		t.Fatalf("%s: %d %s", what, a.status, a.raw)
	}
	return a
}

// paymentBody is a valid create-payment request.
func paymentBody(amount, intent string) map[string]string {
	return map[string]string{
		"mode": "0011", "payerReference": walletOK, "callbackURL": callbackBase,
		"amount": amount, "currency": "BDT", "intent": intent, "merchantInvoiceNumber": "INV-1",
	}
}

// createPayment creates a mode-0011 payment and returns its paymentID.
func (c *api) createPayment(amount, intent string) string {
	c.t.Helper()
	return mustOK(c.t, "create", c.call(createPath, paymentBody(amount, intent))).str("paymentID")
}

// paid creates, approves and executes a payment; it returns paymentID and trxID.
func (c *api) paid(amount, intent string) (string, string) {
	c.t.Helper()
	id := c.createPayment(amount, intent)
	if err := c.srv.Approve(id, walletOK); err != nil {
		c.t.Fatal(err)
	}
	a := mustOK(c.t, "execute", c.call(executePath, map[string]string{"paymentID": id}))
	return id, a.str("trxID")
}

// wantCode fails unless a carries code with the given HTTP status.
func wantCode(t testing.TB, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status || a.code() != code {
		t.Errorf("%s: got %d %s, want %d code %s", what, a.status, a.raw, status, code)
	}
}

// keys returns the sorted member names of m.
func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
