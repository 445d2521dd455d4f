package bkashtest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestInjectedCodeUsesTheEndpointsEnvelope(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	saleID, saleTrx := c.paid("100", "sale")

	c.srv.Inject("payment.query", Fault{Code: "2003"})
	a := c.call(statusPath, map[string]string{"paymentID": saleID})
	if diff := cmp.Diff(map[string]any{"statusCode": "2003", "statusMessage": "Process failed"}, a.m); diff != "" || a.status != http.StatusOK {
		t.Errorf("query fault %d (-want +got):\n%s", a.status, diff)
	}

	c.srv.Inject("payment.capture", Fault{Code: "2056", Message: "Invalid Payment State!"})
	a = c.call(capturePath, map[string]string{"paymentID": "any"})
	if diff := cmp.Diff(map[string]any{"errorCode": "2056", "errorMessage": "Invalid Payment State!"}, a.m); diff != "" {
		t.Errorf("capture fault (-want +got):\n%s", diff)
	}

	c.srv.Inject("refund.create", Fault{Code: "2071"})
	a = c.call(v2RefundPath, v2Refund(saleID, saleTrx, "1"))
	if a.status != http.StatusBadRequest || a.str("externalCode") != "2071" || a.str("errorMessageEn") != "Refund after specified days not allowed" {
		t.Errorf("v2 refund fault: %d %s", a.status, a.raw)
	}
	if got := c.srv.Applied("refund.create"); got != 0 {
		t.Errorf("a fault before apply applied the refund")
	}
}

func TestFaultTimesAndOrder(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	c.grant()
	c.srv.Inject("payment.query", Fault{Code: "9999", Times: 2})
	c.srv.Inject("payment.query", Fault{HTTPStatus: http.StatusServiceUnavailable})
	var got []string
	for range 4 {
		a := c.call(statusPath, map[string]string{"paymentID": "x"})
		got = append(got, http.StatusText(a.status)+" "+a.code())
	}
	want := []string{"OK 9999", "OK 9999", "Service Unavailable ", "OK 2002"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if c.srv.Received("payment.query") != 4 {
		t.Errorf("Received = %d, want 4", c.srv.Received("payment.query"))
	}
}

func TestFaultHTTPStatusAndBody(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	c.grant()
	c.srv.Inject("payment.query", Fault{HTTPStatus: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	a := c.call(statusPath, map[string]string{"paymentID": "x"})
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "2" || a.str("message") != "Too Many Requests" {
		t.Errorf("429: %d Retry-After=%q %s", a.status, a.header.Get("Retry-After"), a.raw)
	}

	c.srv.Inject("payment.query", Fault{HTTPStatus: http.StatusBadGateway, Body: "<html><body>502 Bad Gateway</body></html>"})
	a = c.call(statusPath, map[string]string{"paymentID": "x"})
	if a.status != http.StatusBadGateway || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || !bytes.Contains(a.raw, []byte("502 Bad Gateway")) {
		t.Errorf("HTML 502: %d %s %s", a.status, a.header.Get("Content-Type"), a.raw)
	}

	c.srv.Inject("payment.query", Fault{Body: `{"statusCode":"00`})
	a = c.call(statusPath, map[string]string{"paymentID": "x"})
	if a.status != http.StatusOK || string(a.raw) != `{"statusCode":"00` {
		t.Errorf("truncated JSON: %d %s", a.status, a.raw)
	}

	c.srv.Inject("payment.query", Fault{HTTPStatus: http.StatusUnauthorized})
	a = c.call(statusPath, map[string]string{"paymentID": "x"})
	if a.status != http.StatusUnauthorized || a.str("message") != "Unauthorized" {
		t.Errorf("401: %d %s", a.status, a.raw)
	}
}

func TestDropBeforeAndAfterApply(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	c.grant()
	before := c.createPayment("10", "sale")
	after := c.createPayment("10", "sale")
	for _, id := range []string{before, after} {
		if err := c.srv.Approve(id, walletOK); err != nil {
			t.Fatal(err)
		}
	}

	c.srv.Inject("payment.execute", Fault{Drop: true})
	if _, err := c.trySend(executePath, map[string]string{"paymentID": before}, c.authHeaders()); err == nil {
		t.Fatal("a dropped connection produced an answer")
	}
	if st, _ := c.srv.Payment(before); st.Status != "Initiated" {
		t.Errorf("Drop without AfterApply executed the payment: %s", st.Status)
	}

	c.srv.Inject("payment.execute", Fault{Drop: true, AfterApply: true})
	if _, err := c.trySend(executePath, map[string]string{"paymentID": after}, c.authHeaders()); err == nil {
		t.Fatal("a dropped connection produced an answer")
	}
	st, _ := c.srv.Payment(after)
	if st.Status != "Completed" || st.TrxID == "" {
		t.Errorf("Drop with AfterApply did not execute the payment: %+v", st)
	}
	if got, want := c.srv.Applied("payment.execute"), 1; got != want {
		t.Errorf("Applied = %d, want %d", got, want)
	}
	if got, want := c.srv.Received("payment.execute"), 2; got != want {
		t.Errorf("Received = %d, want %d", got, want)
	}
	// The truth is one query away, and the repeat is refused.
	if q := mustOK(t, "query", c.call(statusPath, map[string]string{"paymentID": after})); q.str("trxID") != st.TrxID {
		t.Errorf("query after a lost answer: %s", q.raw)
	}
	wantCode(t, "execute again", c.call(executePath, map[string]string{"paymentID": after}), http.StatusOK, "2117")
	// The fault was used up: the first payment can still be executed.
	mustOK(t, "execute before-payment", c.call(executePath, map[string]string{"paymentID": before}))
}

func TestDelayRespectsTheClientAndAfterApply(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	c.grant()
	early := c.createPayment("10", "sale")
	late := c.createPayment("10", "sale")
	for _, id := range []string{early, late} {
		if err := c.srv.Approve(id, walletOK); err != nil {
			t.Fatal(err)
		}
	}
	execWithin := func(id string, d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.srv.URL+executePath, strings.NewReader(`{"paymentID":"`+id+`"}`))
		for k, v := range c.authHeaders() {
			req.Header.Set(k, v)
		}
		resp, err := c.hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	c.srv.Inject("payment.execute", Fault{Delay: 5 * time.Second})
	start := time.Now()
	if err := execWithin(early, 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delayed execute: %v, want a timeout", err)
	}
	waitFor(t, func() bool { return c.srv.Received("payment.execute") == 1 })
	if st, _ := c.srv.Payment(early); st.Status != "Initiated" {
		t.Errorf("a request abandoned during the delay was processed: %s", st.Status)
	}

	c.srv.Inject("payment.execute", Fault{Delay: 5 * time.Second, AfterApply: true})
	if err := execWithin(late, 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delayed execute: %v, want a timeout", err)
	}
	waitFor(t, func() bool { st, _ := c.srv.Payment(late); return st.Status == "Completed" })
	if time.Since(start) > 3*time.Second {
		t.Errorf("the server kept sleeping after the client left")
	}

	c.srv.Inject("payment.query", Fault{Delay: 20 * time.Millisecond})
	start = time.Now()
	a := c.call(statusPath, map[string]string{"paymentID": late})
	if a.str("transactionStatus") != "Completed" || time.Since(start) < 20*time.Millisecond {
		t.Errorf("a pure delay answers normally, late: %s after %v", a.raw, time.Since(start))
	}
}

func TestAfterApplyCodeReportsAnErrorForWorkDone(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	id, trx := c.paid("100", "sale")
	c.srv.Inject("refund.create", Fault{Code: "9999", AfterApply: true})
	wantCode(t, "refund", c.call(refundPath, v1Refund(id, trx, "10")), http.StatusOK, "9999")
	if rf := c.srv.RefundsOf(trx); len(rf) != 1 {
		t.Errorf("RefundsOf = %v, want the refund made despite the error answer", rf)
	}
	if c.srv.Applied("refund.create") != 1 {
		t.Errorf("Applied(refund.create) = %d", c.srv.Applied("refund.create"))
	}
}

func TestInjectRejectsUnknownOperations(t *testing.T) {
	t.Parallel()
	srv := NewServer()
	defer srv.Close()
	defer func() {
		if recover() == nil {
			t.Error("Inject(\"payment.exec\") did not panic")
		}
	}()
	srv.Inject("payment.exec", Fault{Code: "2023"})
}

func TestOperationsAreTheSDKs(t *testing.T) {
	t.Parallel()
	want := []string{"token.grant", "token.refresh",
		"payment.create", "payment.execute", "payment.query", "payment.search", "payment.capture", "payment.void",
		"agreement.create", "agreement.execute", "agreement.query", "agreement.cancel",
		"refund.create", "refund.status"}
	ops := Operations()
	if diff := cmp.Diff(want, ops); diff != "" {
		t.Errorf("Operations() (-want +got):\n%s", diff)
	}
	ops[0] = "changed"
	if Operations()[0] != "token.grant" {
		t.Error("Operations() returns the package's own slice")
	}
}

func TestTokenFaults(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	c.srv.Inject("token.grant", Fault{HTTPStatus: http.StatusServiceUnavailable})
	cr := c.srv.Credentials()
	a := c.send(grantPath, map[string]string{"app_key": cr.AppKey, "app_secret": string(cr.AppSecret)}, c.grantHeaders())
	if a.status != http.StatusServiceUnavailable || c.srv.Grants() != 0 {
		t.Errorf("grant fault: %d, Grants %d", a.status, c.srv.Grants())
	}
	c.grant()
	if c.srv.Grants() != 1 || c.srv.Received("token.grant") != 2 {
		t.Errorf("Grants %d Received %d", c.srv.Grants(), c.srv.Received("token.grant"))
	}
}

// waitFor polls cond for up to two seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 2s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
