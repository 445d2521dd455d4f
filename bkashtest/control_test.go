package bkashtest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
)

// ctl sends a control request: body is JSON-encoded unless it is a string
// ("" sends no body).
func (c *api) ctl(method, path string, body any) answer {
	c.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&a.m)
	return a
}

// wantControl fails unless a has the status; for errors it also checks the
// JSON error body and that its message contains msg.
func wantControl(t *testing.T, what string, a answer, status int, msg string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: status %d %s, want %d", what, a.status, a.raw, status)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want JSON", what, ct)
	}
	if status >= 400 {
		if a.str("error") == "" || a.m["status"] != json.Number(fmt.Sprint(status)) {
			t.Errorf("%s: error body %s, want {\"error\":..., \"status\":%d}", what, a.raw, status)
		}
		if !strings.Contains(a.str("error"), msg) {
			t.Errorf("%s: error %q does not say %q", what, a.str("error"), msg)
		}
	}
}

func TestControlApproveExecuteRefundAndReadState(t *testing.T) {
	t.Parallel()
	c := newAPI(t, WithClock(fixedClock(t).Now))
	id := c.createPayment("150.50", "sale")

	a := c.ctl("POST", "/_bkashtest/payments/"+id+"/approve", map[string]string{"wallet": walletOther})
	wantControl(t, "approve", a, 200, "")
	if a.str("customer_status") != "success" || a.str("wallet") != walletOther || a.str("status") != "Initiated" {
		t.Fatalf("approve answered %s", a.raw)
	}
	trx := mustOK(t, "execute", c.call(executePath, map[string]string{"paymentID": id})).str("trxID")
	rf := mustOK(t, "refund", c.call(refundPath, map[string]string{
		"paymentID": id, "trxID": trx, "amount": "50.25", "sku": "MILK-1L", "reason": "damaged",
	})).str("refundTrxID")

	a = c.ctl("GET", "/_bkashtest/payments/"+id, nil)
	wantControl(t, "payment", a, 200, "")
	var p paymentView
	if err := json.Unmarshal(a.raw, &p); err != nil {
		t.Fatal(err)
	}
	want := paymentView{
		PaymentID: id, Mode: "0011", Intent: "sale", Amount: bkash.Amount(15050), Currency: "BDT",
		InvoiceNumber: "INV-1", PayerReference: walletOK, CallbackURL: callbackBase,
		Status: "Completed", CustomerStatus: "success", Wallet: walletOther, TrxID: trx,
		Refunded:  bkash.Amount(5025),
		CreatedAt: "2025-01-01T06:30:00.456Z", ExecutedAt: "2025-01-01T06:30:00.456Z", UpdatedAt: "2025-01-01T06:30:00.456Z",
		Refunds: []refundView{{
			RefundTrxID: rf, OriginalTrxID: trx, PaymentID: id, Amount: bkash.Amount(5025),
			SKU: "MILK-1L", Reason: "damaged", API: "v1", CompletedAt: "2025-01-01T06:30:00.456Z",
		}},
	}
	if diff := cmp.Diff(want, p, cmp.FilterPath(func(p cmp.Path) bool {
		f := p.Last().String()
		return f == ".Signature" || f == ".BkashURL"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("payment state (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(p.BkashURL, c.srv.URL+"/checkout?paymentId="+id) || p.Signature == "" {
		t.Errorf("bkash_url %q, signature %q", p.BkashURL, p.Signature)
	}

	a = c.ctl("GET", "/_bkashtest/refunds/"+rf, nil)
	wantControl(t, "refund", a, 200, "")
	if a.str("amount") != "50.25" || a.str("original_trx_id") != trx || a.str("payment_id") != id || a.str("api") != "v1" {
		t.Errorf("refund answered %s", a.raw)
	}
	a = c.ctl("GET", "/_bkashtest/wallets/"+walletOther, nil)
	wantControl(t, "wallet", a, 200, "")
	if want := (sandboxBalance - 15050 + 5025).String(); a.str("balance") != want || a.m["blocked"] != false {
		t.Errorf("wallet answered %s, want balance %s", a.raw, want)
	}
	a = c.ctl("GET", "/_bkashtest/wallets/"+WalletDebitBlocked, nil)
	if a.m["blocked"] != true {
		t.Errorf("blocked wallet answered %s", a.raw)
	}
}

func TestControlApproveDefaultsToAPayingWalletAndAgreementsAreReadable(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	id := mustOK(t, "agreement create", c.call(createPath, map[string]string{
		"mode": "0000", "payerReference": walletOK, "callbackURL": callbackBase,
	})).str("paymentID")
	a := c.ctl("POST", "/_bkashtest/payments/"+id+"/approve", "")
	wantControl(t, "approve", a, 200, "")
	if a.str("wallet") != PayingWallets[0] {
		t.Errorf("approve without a wallet used %q, want %s", a.str("wallet"), PayingWallets[0])
	}
	ag := mustOK(t, "agreement execute", c.call(executePath, map[string]string{"paymentID": id})).str("agreementID")
	a = c.ctl("GET", "/_bkashtest/agreements/"+ag, nil)
	wantControl(t, "agreement", a, 200, "")
	if a.str("status") != "Completed" || a.str("payment_id") != id || a.str("wallet") != PayingWallets[0] || a.str("executed_at") == "" {
		t.Errorf("agreement answered %s", a.raw)
	}
	// A mode-0001 payment is approved with the agreement's wallet.
	pid := mustOK(t, "create 0001", c.call(createPath, map[string]string{
		"mode": "0001", "payerReference": walletOK, "callbackURL": callbackBase, "agreementID": ag,
		"amount": "10", "currency": "BDT", "intent": "sale", "merchantInvoiceNumber": "INV-2",
	})).str("paymentID")
	a = c.ctl("POST", "/_bkashtest/payments/"+pid+"/approve", `{}`)
	wantControl(t, "approve 0001", a, 200, "")
	if a.str("wallet") != PayingWallets[0] {
		t.Errorf("0001 approved with %q, want the agreement's wallet", a.str("wallet"))
	}
}

func TestControlCancelMakesExecuteFail(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	id := c.createPayment("10", "sale")
	a := c.ctl("POST", "/_bkashtest/payments/"+id+"/cancel", nil)
	wantControl(t, "cancel", a, 200, "")
	if a.str("customer_status") != "cancel" {
		t.Errorf("cancel answered %s", a.raw)
	}
	wantCode(t, "execute", c.call(executePath, map[string]string{"paymentID": id}), 200, "2056")
	wantControl(t, "approve after cancel", c.ctl("POST", "/_bkashtest/payments/"+id+"/approve", nil), 409, "already answered (cancel)")
	wantControl(t, "cancel twice", c.ctl("POST", "/_bkashtest/payments/"+id+"/cancel", nil), 409, "already answered")
}

func TestControlErrors(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	id := c.createPayment("10", "sale")
	cases := []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"GET", "/_bkashtest/payments/TR0011nope", nil, 404, `no payment "TR0011nope"`},
		{"POST", "/_bkashtest/payments/TR0011nope/approve", nil, 404, `no payment "TR0011nope"`},
		{"POST", "/_bkashtest/payments/TR0011nope/cancel", nil, 404, "unknown paymentID"},
		{"POST", "/_bkashtest/payments/TR0011nope/notification", nil, 404, "unknown paymentID"},
		{"POST", "/_bkashtest/payments/" + id + "/approve", `{"wallet":"123"}`, 400, `wallet "123" is not a wallet number`},
		{"POST", "/_bkashtest/payments/" + id + "/approve", `{"wallet":"01700000000"}`, 409, "is not a bKash wallet"},
		{"POST", "/_bkashtest/payments/" + id + "/approve", `{"walet":"01770618575"}`, 400, `unknown field "walet"`},
		{"POST", "/_bkashtest/payments/" + id + "/approve", `{"wallet":`, 400, "not the JSON object expected"},
		{"POST", "/_bkashtest/payments/" + id + "/approve", `{} {}`, 400, "more than one JSON value"},
		{"POST", "/_bkashtest/payments/" + id + "/notification", nil, 409, "is Initiated: only a completed payment"},
		{"GET", "/_bkashtest/agreements/nope", nil, 404, `no agreement "nope"`},
		{"GET", "/_bkashtest/refunds/NOPE", nil, 404, `no refund with trxID "NOPE"`},
		{"GET", "/_bkashtest/wallets/01700000000", nil, 404, `no wallet "01700000000"`},
		{"POST", "/_bkashtest/faults", nil, 400, "needs a JSON object body"},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.exec","drop":true}`, 400, `operation "payment.exec" is not one of token.grant`},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute","afterApply":true,"drop":true}`, 400, `unknown field "afterApply"`},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute"}`, 400, "the fault changes nothing"},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute","drop":true,"times":-1}`, 400, "times: -1 is negative"},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute","http_status":99}`, 400, "http_status: 99 is not an HTTP status"},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute","delay":"soon"}`, 400, `delay: "soon" is not a non-negative duration`},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute","delay":"-1s"}`, 400, "delay"},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute","drop":true,"retry_after":"1s"}`, 400, "retry_after goes with http_status"},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute","http_status":503,"retry_after":"x"}`, 400, "retry_after"},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute","message":"x","drop":true}`, 400, "message goes with code"},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute","code":"20\"56"}`, 400, "is not a bKash code"},
		{"POST", "/_bkashtest/faults", `{"operation":"payment.execute","drop":true,"remaining":2}`, 400, "remaining is an answer field"},
		{"DELETE", "/_bkashtest/faults/payment.exec", nil, 404, `operation "payment.exec"`},
		{"POST", "/_bkashtest/clock/advance", `{"by":"tomorrow"}`, 400, `by: "tomorrow" is not a duration`},
		{"POST", "/_bkashtest/clock/advance", nil, 400, "needs a JSON object body"},
		{"POST", "/_bkashtest/clock/set", `{"now":"2026-12-01"}`, 400, `now: "2026-12-01" is not an RFC 3339 time`},
		{"POST", "/_bkashtest/reset", `{"tokens":"yes"}`, 400, "not the JSON object expected"},
		{"GET", "/_bkashtest/nope", nil, 404, "GET /_bkashtest/nope: no such control route"},
		{"GET", "/_bkashtest/", nil, 404, "no such control route"},
		{"PUT", "/_bkashtest/faults", nil, 405, "method not allowed (allowed: GET, POST, DELETE)"},
		{"GET", "/_bkashtest/reset", nil, 405, "allowed: POST"},
		{"DELETE", "/_bkashtest/payments/" + id, nil, 405, "allowed: GET"},
	}
	for _, tc := range cases {
		a := c.ctl(tc.method, tc.path, tc.body)
		what := fmt.Sprintf("%s %s %v", tc.method, tc.path, tc.body)
		wantControl(t, what, a, tc.status, tc.msg)
		if tc.status == 405 && a.header.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", what)
		}
	}
	// Nothing above changed the payment.
	if p, _ := c.srv.Payment(id); p.CustomerStatus != "" || p.Status != "Initiated" {
		t.Errorf("payment changed by refused control calls: %+v", p)
	}
	// bKash's own unknown paths still answer like API Gateway.
	wantCode(t, "unknown API path", c.send("/v1.2.0-beta/tokenized/checkout/nope", `{}`, nil), 403, "")
}

// TestControlFaultsEveryFieldRoundTripsAndACodeFaultFires: every field of
// Fault survives the control API; a code fault then fires once. (Drops,
// delays and statuses fire through Inject, tested in fault_test.go.)
func TestControlFaultsEveryFieldRoundTripsAndACodeFaultFires(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	all := faultJSON{
		Operation: "payment.query", Times: 2, Code: "9999", Message: "System Error",
		HTTPStatus: 503, RetryAfter: "3s", Body: "<html>down</html>", Delay: "1ms", Drop: true, AfterApply: true,
	}
	a := c.ctl("POST", "/_bkashtest/faults", all)
	wantControl(t, "inject", a, 201, "")
	var got faultJSON
	if err := json.Unmarshal(a.raw, &got); err != nil {
		t.Fatal(err)
	}
	want := all
	want.Remaining = 2
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("injected fault (-want +got):\n%s", diff)
	}
	// The server holds exactly that Fault.
	s := c.srv
	s.mu.Lock()
	held := s.faults["payment.query"][0].Fault
	s.mu.Unlock()
	wantFault := Fault{Times: 2, Code: "9999", Message: "System Error", HTTPStatus: 503, RetryAfter: 3 * time.Second,
		Body: "<html>down</html>", Delay: time.Millisecond, Drop: true, AfterApply: true}
	if diff := cmp.Diff(wantFault, held); diff != "" {
		t.Errorf("Fault held (-want +got):\n%s", diff)
	}
	wantControl(t, "inject 2", c.ctl("POST", "/_bkashtest/faults", `{"operation":"refund.create","http_status":429,"retry_after":"2s"}`), 201, "")
	a = c.ctl("GET", "/_bkashtest/faults", nil)
	var list struct{ Faults []faultJSON }
	if err := json.Unmarshal(a.raw, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Faults) != 2 || list.Faults[0].Operation != "payment.query" || list.Faults[1].Operation != "refund.create" || list.Faults[1].RetryAfter != "2s" {
		t.Errorf("faults listed: %s", a.raw)
	}
	a = c.ctl("DELETE", "/_bkashtest/faults/payment.query", nil)
	wantControl(t, "clear one", a, 200, "")
	if a.m["cleared"] != json.Number("1") {
		t.Errorf("clear payment.query: %s", a.raw)
	}
	a = c.ctl("DELETE", "/_bkashtest/faults", nil)
	if a.m["cleared"] != json.Number("1") {
		t.Errorf("clear all: %s", a.raw)
	}
	if a = c.ctl("GET", "/_bkashtest/faults", nil); !strings.Contains(string(a.raw), `"faults": []`) {
		t.Errorf("faults after clearing: %s", a.raw)
	}

	// A code fault, for two calls, then normal answers.
	id := c.createPayment("10", "sale")
	wantControl(t, "inject code", c.ctl("POST", "/_bkashtest/faults", `{"operation":"payment.query","code":"2056","times":2}`), 201, "")
	for i := range 2 {
		wantCode(t, fmt.Sprint("faulted query ", i), c.call(statusPath, map[string]string{"paymentID": id}), 200, "2056")
	}
	mustOK(t, "query after the fault", c.call(statusPath, map[string]string{"paymentID": id}))
}

func TestControlDroppedExecuteIsSettledByAQuery(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	id := c.createPayment("99", "sale")
	wantControl(t, "approve", c.ctl("POST", "/_bkashtest/payments/"+id+"/approve", nil), 200, "")
	wantControl(t, "inject", c.ctl("POST", "/_bkashtest/faults", `{"operation":"payment.execute","drop":true,"after_apply":true}`), 201, "")
	if _, err := c.trySend(executePath, map[string]string{"paymentID": id}, c.authHeaders()); err == nil {
		t.Fatal("execute answered despite the dropped connection")
	}
	a := c.ctl("GET", "/_bkashtest/counters", nil)
	var n struct{ Received, Applied map[string]int }
	if err := json.Unmarshal(a.raw, &n); err != nil {
		t.Fatal(err)
	}
	if n.Received["payment.execute"] != 1 || n.Applied["payment.execute"] != 1 || n.Received["payment.create"] != 1 || n.Applied["token.grant"] != 1 {
		t.Errorf("counters: %s", a.raw)
	}
	if len(n.Received) != len(Operations()) || len(n.Applied) != len(Operations()) {
		t.Errorf("counters do not list every operation: %s", a.raw)
	}
	q := mustOK(t, "query", c.call(statusPath, map[string]string{"paymentID": id}))
	if q.str("transactionStatus") != "Completed" || q.str("trxID") == "" {
		t.Errorf("query after the dropped execute: %s", q.raw)
	}
}

func TestControlExpireTokens(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	c.grant()
	a := c.ctl("POST", "/_bkashtest/tokens/expire", nil)
	wantControl(t, "expire", a, 200, "")
	if a.m["expired"] != json.Number("1") {
		t.Errorf("expire answered %s", a.raw)
	}
	a = c.call(statusPath, map[string]string{"paymentID": "TR0011x"})
	if a.status != 401 || a.str("message") != "The incoming token has expired" {
		t.Errorf("call with an expired token: %d %s", a.status, a.raw)
	}
}

func TestControlClockExpiresPaymentsAndCanBeSet(t *testing.T) {
	t.Parallel()
	clk := fixedClock(t)
	c := newAPI(t, WithClock(clk.Now))
	id := c.createPayment("10", "sale")
	a := c.ctl("GET", "/_bkashtest/clock", nil)
	if a.str("now") != "2025-01-01T06:30:00.456Z" || a.str("offset") != "0s" {
		t.Errorf("clock: %s", a.raw)
	}
	a = c.ctl("POST", "/_bkashtest/clock/advance", `{"by":"24h"}`)
	wantControl(t, "advance", a, 200, "")
	if a.str("now") != "2025-01-02T06:30:00.456Z" || a.str("offset") != "24h0m0s" {
		t.Errorf("advance: %s", a.raw)
	}
	// Tokens live an hour: the one granted before is now expired.
	if a := c.call(statusPath, map[string]string{"paymentID": id}); a.status != 401 {
		t.Errorf("token after 24h: %d %s", a.status, a.raw)
	}
	c.grant()
	if q := mustOK(t, "query", c.call(statusPath, map[string]string{"paymentID": id})); q.str("transactionStatus") != "Expired" {
		t.Errorf("payment after 24h: %s", q.raw)
	}
	wantControl(t, "approve expired", c.ctl("POST", "/_bkashtest/payments/"+id+"/approve", nil), 409, "expired")

	a = c.ctl("POST", "/_bkashtest/clock/set", `{"now":"2025-01-01T18:30:01+06:00"}`)
	wantControl(t, "set", a, 200, "")
	if a.str("now") != "2025-01-01T12:30:01Z" || a.str("offset") != "6h0m0.544s" {
		t.Errorf("set: %s", a.raw)
	}
	// The configured clock still drives it: moving it moves the server.
	clk.Advance(time.Minute)
	if got := c.srv.Now().UTC().Format(time.RFC3339); got != "2025-01-01T12:31:01Z" {
		t.Errorf("Now after the clock moved: %s", got)
	}
	if q := mustOK(t, "query", c.call(statusPath, map[string]string{"paymentID": id})); q.str("transactionStatus") != "Initiated" {
		t.Errorf("payment with the clock set back: %s", q.raw)
	}
	c.srv.AdvanceClock(-time.Minute)
	if got := c.srv.Now().UTC().Format(time.RFC3339); got != "2025-01-01T12:30:01Z" {
		t.Errorf("Now after AdvanceClock(-1m): %s", got)
	}
}

func TestControlResetKeepsTokensUnlessAsked(t *testing.T) {
	t.Parallel()
	clk := fixedClock(t)
	c := newAPI(t, WithClock(clk.Now), WithWallet("01711111111", bkash.Taka(500)))
	id := c.createPayment("200", "sale")
	if err := c.srv.Approve(id, "01711111111"); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "execute", c.call(executePath, map[string]string{"paymentID": id}))
	c.srv.Inject("payment.query", Fault{Code: "9999"})
	c.srv.AdvanceClock(time.Hour / 2)

	a := c.ctl("POST", "/_bkashtest/reset", nil)
	wantControl(t, "reset", a, 200, "")
	if a.m["reset"] != true || a.m["tokens_forgotten"] != false {
		t.Errorf("reset answered %s", a.raw)
	}
	if _, ok := c.srv.Payment(id); ok {
		t.Error("the payment survived the reset")
	}
	if b, _ := c.srv.WalletBalance("01711111111"); b != bkash.Taka(500) {
		t.Errorf("wallet after reset: %v, want 500.00", b)
	}
	if c.srv.Now() != clk.Now() {
		t.Errorf("clock after reset: %v, want %v", c.srv.Now(), clk.Now())
	}
	for _, op := range Operations() {
		if c.srv.Received(op) != 0 || c.srv.Applied(op) != 0 {
			t.Errorf("%s counters survived the reset", op)
		}
	}
	// The token still works and the fault is gone.
	wantCode(t, "query after reset", c.call(statusPath, map[string]string{"paymentID": id}), 200, "2002")
	wantControl(t, "reset tokens", c.ctl("POST", "/_bkashtest/reset", `{"tokens":true}`), 200, "")
	if a := c.call(statusPath, map[string]string{"paymentID": id}); a.status != 401 || a.str("message") != "Unauthorized" {
		t.Errorf("token after a reset that forgets tokens: %d %s", a.status, a.raw)
	}
}

// certFetcherFrom fetches the signing certificate from the fake's control
// path, whatever SNS URL the message names: how a verifier is pointed at
// the fake.
func certFetcherFrom(t *testing.T, root string) (bkash.CertFetcher, *[]string) {
	var mu sync.Mutex
	var asked []string
	return func(ctx context.Context, certURL string) (*x509.Certificate, error) {
		mu.Lock()
		asked = append(asked, certURL)
		mu.Unlock()
		req, err := http.NewRequestWithContext(ctx, "GET", root+CertPath, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM certificate")
		}
		return x509.ParseCertificate(blk.Bytes)
	}, &asked
}

func TestControlNotificationVerifiesWithTheServedCertificate(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	id, trx := c.paid("150.50", "sale")
	a := c.ctl("POST", "/_bkashtest/payments/"+id+"/notification", nil)
	if a.status != 200 {
		t.Fatalf("notification: %d %s", a.status, a.raw)
	}
	signer := c.srv.Signer()
	if a.str("SigningCertURL") != signer.CertURL() || !snsCertURL.MatchString(signer.CertURL()) {
		t.Errorf("SigningCertURL %q is not the signer's SNS-shaped URL", a.str("SigningCertURL"))
	}
	fetch, asked := certFetcherFrom(t, c.srv.URL)
	v, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(signer.TopicARN()), bkash.WithCertFetcher(fetch))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := v.Verify(context.Background(), a.raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	n := msg.Notification
	if n == nil || n.TrxID != trx || n.Amount != bkash.Amount(15050) || n.TransactionStatus != "Completed" || n.MerchantInvoiceNumber != "INV-1" || n.DebitMSISDN != "88"+walletOK {
		t.Errorf("notification: %+v", n)
	}
	if !slices.Equal(*asked, []string{signer.CertURL()}) {
		t.Errorf("the verifier asked for %q, want the message's SigningCertURL", *asked)
	}
	cert := c.ctl("GET", CertPath, nil)
	if cert.status != 200 || cert.header.Get("Content-Type") != "application/x-pem-file" || !bytes.Equal(cert.raw, signer.CertificatePEM()) {
		t.Errorf("cert: %d %q", cert.status, cert.header.Get("Content-Type"))
	}
}

// snsCertURL is the shape of a real SNS signing-certificate URL.
var snsCertURL = regexp.MustCompile(`^https://sns\.[a-z0-9-]+\.amazonaws\.com/SimpleNotificationService-[0-9a-f]{32}\.pem$`)

func TestControlWebhookDeliveriesAndInfo(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer recv.Close()
	signer, err := NewSNSSignerForTopic("arn:aws:sns:ap-south-1:123456789012:bkash-ipn")
	if err != nil {
		t.Fatal(err)
	}
	c := newAPI(t, WithWebhook(recv.URL, signer), WithRefundAPIs(bkash.RefundV2), WithTokenLifetime(10*time.Minute))
	if c.srv.Signer() != signer {
		t.Error("Signer is not the webhook's signer")
	}
	_, trx := c.paid("10", "sale")
	var body []byte
	select {
	case body = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook delivered")
	}
	fetch, _ := certFetcherFrom(t, c.srv.URL)
	v, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(signer.TopicARN()), bkash.WithCertFetcher(fetch))
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := v.Verify(context.Background(), body); err != nil || msg.Notification.TrxID != trx {
		t.Fatalf("delivered webhook: %v", err)
	}
	var a answer
	for range 100 { // the delivery is recorded once the receiver answered
		if a = c.ctl("GET", "/_bkashtest/webhooks", nil); strings.Contains(string(a.raw), trx) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var d struct {
		Deliveries []struct {
			MessageID  string `json:"message_id"`
			TrxID      string `json:"trx_id"`
			Attempts   int
			StatusCode int `json:"status_code"`
			Error      string
		}
	}
	if err := json.Unmarshal(a.raw, &d); err != nil || len(d.Deliveries) != 1 || d.Deliveries[0].TrxID != trx ||
		d.Deliveries[0].StatusCode != 200 || d.Deliveries[0].Attempts != 1 || d.Deliveries[0].MessageID == "" || d.Deliveries[0].Error != "" {
		t.Errorf("deliveries: %s (%v)", a.raw, err)
	}

	a = c.ctl("GET", "/_bkashtest/info", nil)
	var info Info
	if err := json.Unmarshal(a.raw, &info); err != nil {
		t.Fatal(err)
	}
	want := Info{
		BaseURL: c.srv.URL,
		Credentials: InfoCreds{DefaultCredentials.Username, string(DefaultCredentials.Password),
			DefaultCredentials.AppKey, string(DefaultCredentials.AppSecret)},
		TokenLifetime: "10m0s",
		RefundAPIs:    []string{"v2"},
		Operations:    Operations(),
		Wallets: InfoWallets{Paying: PayingWallets, InsufficientBalance: WalletInsufficientBalance,
			DebitBlocked: WalletDebitBlocked, OTP: OTP, PIN: PIN},
		SNS: InfoSNS{TopicARN: "arn:aws:sns:ap-south-1:123456789012:bkash-ipn", SigningCertURL: signer.CertURL(),
			CertPath: "/_bkashtest/sns/cert.pem"},
		WebhookURLs: []string{recv.URL},
	}
	info.Now = ""
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("info (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(signer.CertURL(), "https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-") || !snsCertURL.MatchString(signer.CertURL()) {
		t.Errorf("cert URL %q is not on the topic's region", signer.CertURL())
	}
	// Only the v2 refund API is provisioned: v1's path is an unknown route.
	a = c.call(refundPath, map[string]string{"paymentID": "x", "trxID": trx, "amount": "1", "sku": "s", "reason": "r"})
	if a.status != 403 || a.str("message") != "Missing Authentication Token" {
		t.Errorf("v1 refund with only v2 enabled: %d %s", a.status, a.raw)
	}
}

func TestNewSNSSignerForTopicRefusesWhatIsNotATopicARN(t *testing.T) {
	t.Parallel()
	for _, arn := range []string{"", "arn:aws:sns:ap-south-1:12345:t", "arn:aws:sqs:ap-south-1:123456789012:t",
		"arn:aws:sns:AP-SOUTH-1:123456789012:t", "arn:aws:sns:ap-south-1:123456789012:", "arn:aws:sns:ap-south-1:123456789012:a b"} {
		if _, err := NewSNSSignerForTopic(arn); err == nil || !strings.Contains(err.Error(), "is not an SNS topic ARN") {
			t.Errorf("NewSNSSignerForTopic(%q): %v", arn, err)
		}
	}
}

func TestWithListenerAndPublicURL(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(WithListener(l), WithPublicURL("http://fake.example:9090/"))
	defer srv.Close()
	if srv.URL != "http://fake.example:9090" {
		t.Errorf("URL = %q", srv.URL)
	}
	c := &api{t: t, srv: &Server{URL: "http://" + l.Addr().String(), cfg: srv.cfg}, hc: &http.Client{Timeout: 5 * time.Second}}
	id := c.createPayment("10", "sale") // served on l
	p, _ := srv.Payment(id)
	if !strings.HasPrefix(p.BkashURL, "http://fake.example:9090/checkout?paymentId="+id) {
		t.Errorf("bkashURL %q does not use the public URL", p.BkashURL)
	}
	srv.Close()
	if _, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		t.Error("the listener is still open after Close")
	}
}

// fatalRecorder is a testing.TB whose Fatalf records instead of stopping.
type fatalRecorder struct {
	testing.TB
	fatal    string
	cleanups []func()
}

func (f *fatalRecorder) Helper()                        {}
func (f *fatalRecorder) Fatalf(format string, a ...any) { f.fatal = fmt.Sprintf(format, a...) }
func (f *fatalRecorder) Cleanup(fn func())              { f.cleanups = append(f.cleanups, fn) }

func TestNewTestServerClosesWithTheTestAndFailsOnSetupErrors(t *testing.T) {
	t.Parallel()
	var url string
	t.Run("inner", func(t *testing.T) {
		srv := NewTestServer(t, WithTokenLifetime(time.Minute))
		url = srv.URL
		c := &api{t: t, srv: srv, hc: &http.Client{Timeout: 5 * time.Second}}
		c.grant()
	})
	if _, err := http.Get(url + "/_bkashtest/info"); err == nil {
		t.Error("the server still answers after its test ended")
	}

	rec := &fatalRecorder{TB: t}
	boom := Option(func(*config) { panic("bkashtest: WithSomething: bad input") })
	if srv := NewTestServer(rec, boom); srv != nil {
		t.Error("NewTestServer returned a server after a setup error")
	}
	if rec.fatal != "bkashtest: NewTestServer: bkashtest: WithSomething: bad input" {
		t.Errorf("Fatalf(%q)", rec.fatal)
	}
	if len(rec.cleanups) != 0 {
		t.Error("a cleanup was registered for a server that did not start")
	}
}

// TestOpenAPIListsExactlyTheControlRoutes keeps docs/fake.openapi.json and
// the handler in step: every route served is described, and nothing else.
func TestOpenAPIListsExactlyTheControlRoutes(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../docs/fake.openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/fake.openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	var documented, served []string
	for p, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" || m == "summary" || m == "description" {
				continue
			}
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	for _, rt := range controlRoutes {
		served = append(served, rt.method+" "+ControlPrefix+rt.pattern)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if diff := cmp.Diff(served, documented); diff != "" {
		t.Errorf("OpenAPI paths differ from the handler's routes (-served +documented):\n%s", diff)
	}
	// And each route really is served (not the 404 fallback).
	c := newAPI(t)
	for _, rt := range controlRoutes {
		path := ControlPrefix + strings.NewReplacer("{paymentID}", "TR0011x", "{agreementID}", "A", "{refundTrxID}", "R",
			"{msisdn}", "01700000000", "{operation}", "payment.query").Replace(rt.pattern)
		a := c.ctl(rt.method, path, "")
		if a.status == 404 && strings.Contains(a.str("error"), "no such control route") || a.status == 405 {
			t.Errorf("%s %s is not served: %d %s", rt.method, path, a.status, a.raw)
		}
	}
}

func TestControlResetIsKeptInTheStateFile(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/fake.state"
	c := newAPI(t, WithStateFile(path))
	id, _ := c.paid("10", "sale")
	wantControl(t, "reset", c.ctl("POST", "/_bkashtest/reset", nil), 200, "")
	// The file as a crash right now would leave it (no final snapshot).
	crashed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	path2 := t.TempDir() + "/crashed.state"
	if err := os.WriteFile(path2, crashed, 0o600); err != nil {
		t.Fatal(err)
	}
	again := NewTestServer(t, WithStateFile(path2))
	if _, ok := again.Payment(id); ok {
		t.Error("the payment came back after a reset and a restart")
	}
	if b, _ := again.WalletBalance(walletOK); b != sandboxBalance {
		t.Errorf("wallet after reset and restart: %v", b)
	}
}

// TestCloseDuringAnInjectedDelayCutsTheConnection: a request whose injected
// delay Close aborts gets no answer, never an empty HTTP 200 that a client
// would read as bKash's (unreadable) answer.
func TestCloseDuringAnInjectedDelayCutsTheConnection(t *testing.T) {
	t.Parallel()
	for _, after := range []bool{false, true} {
		c := newAPI(t)
		c.grant()
		c.srv.Inject("payment.query", Fault{Delay: time.Minute, AfterApply: after})
		done := make(chan error, 1)
		go func() {
			a, err := c.trySend(statusPath, map[string]string{"paymentID": "TR0011x"}, c.authHeaders())
			if err == nil {
				err = fmt.Errorf("answered %d %q", a.status, a.raw)
			}
			done <- err
		}()
		for c.srv.Received("payment.query") == 0 {
			time.Sleep(time.Millisecond)
		}
		c.srv.Close()
		if err := <-done; err == nil || !strings.Contains(err.Error(), "EOF") {
			t.Errorf("after apply %t: %v, want the connection cut (EOF)", after, err)
		}
	}
}
