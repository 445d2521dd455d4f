package bkashtest

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAgreementLifecycle(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := newAPI(t, WithClock(clock.Now), WithTokenLifetime(60*24*time.Hour))

	cr := mustOK(t, "create agreement", c.call(createPath, map[string]string{
		"mode": "0000", "payerReference": walletOK, "callbackURL": callbackBase,
	}))
	pid := cr.str("paymentID")
	st, _ := c.srv.Payment(pid)
	wantCreate := map[string]any{
		"statusCode": "0000", "statusMessage": "Successful",
		"paymentID":            pid,
		"bkashURL":             st.BkashURL,
		"callbackURL":          callbackBase,
		"successCallbackURL":   callbackBase + "?paymentID=" + pid + "&status=success&signature=" + st.Signature,
		"failureCallbackURL":   callbackBase + "?paymentID=" + pid + "&status=failure&signature=" + st.Signature,
		"cancelledCallbackURL": callbackBase + "?paymentID=" + pid + "&status=cancel&signature=" + st.Signature,
		"payerReference":       walletOK,
		"agreementStatus":      "Initiated",
		"agreementCreateTime":  "2025-01-01T12:30:00:456 GMT+0600",
	}
	if diff := cmp.Diff(wantCreate, cr.m); diff != "" {
		t.Errorf("create agreement (-want +got):\n%s", diff)
	}
	if !rePayment.MatchString(pid) || pid[:6] != "TR0000" {
		t.Errorf("agreement creation paymentID %q", pid)
	}
	if c.srv.Applied("agreement.create") != 1 || c.srv.Applied("payment.create") != 0 {
		t.Errorf("create with mode 0000 must count as agreement.create")
	}

	exec := map[string]string{"paymentID": pid}
	wantCode(t, "execute before approval", c.call(executePath, exec), http.StatusOK, "2054")
	if err := c.srv.Approve(pid, walletOK); err != nil {
		t.Fatal(err)
	}
	clock.Advance(90 * time.Second)
	ex := mustOK(t, "execute agreement", c.call(executePath, exec))
	agID := ex.str("agreementID")
	wantExec := map[string]any{
		"statusCode": "0000", "statusMessage": "Successful",
		"paymentID": pid, "agreementID": agID, "payerReference": walletOK, "customerMsisdn": walletOK,
		"agreementExecuteTime": "2025-01-01T12:31:30:456 GMT+0600", "agreementStatus": "Completed",
	}
	if diff := cmp.Diff(wantExec, ex.m); diff != "" {
		t.Errorf("execute agreement (-want +got):\n%s", diff)
	}
	if !reAgreement.MatchString(agID) {
		t.Errorf("agreementID %q not shaped like bKash's", agID)
	}
	wantCode(t, "second execute", c.call(executePath, exec), http.StatusOK, "2116")
	if got := c.srv.Received("agreement.execute"); got != 3 {
		t.Errorf("Received(agreement.execute) = %d, want 3", got)
	}
	if got := c.srv.Received("payment.execute"); got != 0 {
		t.Errorf("Received(payment.execute) = %d, want 0", got)
	}

	wantStatus := map[string]any{
		"statusCode": "0000", "statusMessage": "Successful",
		"agreementID": agID, "paymentID": pid, "payerReference": walletOK, "customerMsisdn": walletOK,
		"agreementStatus":      "Completed",
		"agreementCreateTime":  "2025-01-01T12:30:00:456 GMT+0600",
		"agreementExecuteTime": "2025-01-01T12:31:30:456 GMT+0600",
	}
	if diff := cmp.Diff(wantStatus, mustOK(t, "status", c.call(agStatusPath, map[string]string{"agreementID": agID})).m); diff != "" {
		t.Errorf("agreement status (-want +got):\n%s", diff)
	}
	q := mustOK(t, "payment/status of the creation id", c.call(statusPath, exec))
	if q.str("agreementID") != agID || q.str("agreementStatus") != "Completed" || q.str("mode") != "0000" || q.str("payerAccount") != walletOK {
		t.Errorf("payment/status of an agreement creation: %s", q.raw)
	}

	// Pay with the agreement: mode 0001, PIN only.
	body := paymentBody("99", "sale")
	body["mode"], body["agreementID"] = "0001", agID
	p := mustOK(t, "create 0001", c.call(createPath, body))
	if p.str("agreementID") != agID || p.str("paymentID")[:6] != "TR0001" {
		t.Errorf("create 0001: %s", p.raw)
	}
	if err := c.srv.Approve(p.str("paymentID"), walletOther); err == nil {
		t.Error("Approve of a 0001 payment with another wallet succeeded")
	}
	if err := c.srv.Approve(p.str("paymentID"), ""); err != nil {
		t.Fatal(err)
	}
	pe := mustOK(t, "execute 0001", c.call(executePath, map[string]string{"paymentID": p.str("paymentID")}))
	if pe.str("agreementID") != agID || pe.str("customerMsisdn") != walletOK || pe.str("transactionStatus") != "Completed" {
		t.Errorf("execute 0001: %s", pe.raw)
	}
	q = mustOK(t, "query 0001", c.call(statusPath, map[string]string{"paymentID": p.str("paymentID")}))
	if q.str("agreementID") != agID || q.str("mode") != "0001" {
		t.Errorf("query 0001: %s", q.raw)
	}

	clock.Advance(31 * 24 * time.Hour)
	cancel := map[string]string{"agreementID": agID}
	cn := mustOK(t, "cancel", c.call(agCancelPath, cancel))
	wantCancel := map[string]any{
		"statusCode": "0000", "statusMessage": "Successful",
		"agreementID": agID, "paymentID": pid, "payerReference": walletOK, "customerMsisdn": walletOK,
		"agreementStatus":      "Cancelled",
		"agreementCreateTime":  "2025-01-01T12:30:00:456 GMT+0600",
		"agreementExecuteTime": "2025-01-01T12:31:30:456 GMT+0600",
		"agreementVoidTime":    "2025-02-01T12:31:30:456 GMT+0600",
	}
	if diff := cmp.Diff(wantCancel, cn.m); diff != "" {
		t.Errorf("cancel (-want +got):\n%s", diff)
	}
	wantCode(t, "second cancel", c.call(agCancelPath, cancel), http.StatusOK, "2053")
	if s := mustOK(t, "status after cancel", c.call(agStatusPath, cancel)); s.str("agreementStatus") != "Cancelled" || s.str("agreementVoidTime") == "" {
		t.Errorf("status after cancel: %s", s.raw)
	}
	wantCode(t, "pay with a cancelled agreement", c.call(createPath, body), http.StatusOK, "2055")

	ag, ok := c.srv.Agreement(agID)
	if !ok || ag.Status != "Cancelled" || ag.Wallet != walletOK || ag.PaymentID != pid || ag.CancelledAt.IsZero() {
		t.Errorf("Agreement() = %+v, %v", ag, ok)
	}
}

func TestAgreementErrors(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	tests := []struct {
		name string
		path string
		body any
		code string
	}{
		{"status of an unknown agreement", agStatusPath, map[string]string{"agreementID": "TokenizedMerchant02NOPE"}, "2051"},
		{"cancel of an unknown agreement", agCancelPath, map[string]string{"agreementID": "TokenizedMerchant02NOPE"}, "2051"},
		{"status without agreementID", agStatusPath, map[string]string{}, "2065"},
		{"create without payerReference", createPath, map[string]string{"mode": "0000", "callbackURL": callbackBase}, "2065"},
		{"create with a bad payerReference", createPath, map[string]string{"mode": "0000", "payerReference": "a&b", "callbackURL": callbackBase}, "2048"},
		{"create with a bad callback", createPath, map[string]string{"mode": "0000", "payerReference": walletOK, "callbackURL": "javascript:alert(1)"}, "2049"},
	}
	for _, tt := range tests {
		wantCode(t, tt.name, c.call(tt.path, tt.body), http.StatusOK, tt.code)
	}
}

func TestCancelledAgreementCreationCannotBeExecuted(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	cr := mustOK(t, "create agreement", c.call(createPath, map[string]string{
		"mode": "0000", "payerReference": walletOK, "callbackURL": callbackBase,
	}))
	if err := c.srv.Cancel(cr.str("paymentID")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "execute after cancel", c.call(executePath, map[string]string{"paymentID": cr.str("paymentID")}), http.StatusOK, "2054")
}
