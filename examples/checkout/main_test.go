package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/examples/checkout/shop"
)

func TestCheckoutThroughBkashPageEndsOnReceipt(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	ts.addToCart("milk-1l", 2)
	ts.addToCart("ghee-200", 1)
	home := ts.get("/")
	if !home.has("Tk 610.50") || !home.has(shop.FakeBanner[:40]) {
		t.Fatalf("cart page lacks the total Tk 610.50 or the fake banner:\n%s", home.body)
	}

	bkashPage := ts.payCart(nil)
	if !bkashPage.has("610.50") {
		t.Errorf("bKash's page does not show the amount 610.50:\n%s", bkashPage.body)
	}
	// The paymentID is stored with the order before the customer reaches bKash.
	o := ts.order("A1001")
	if len(o.Attempts) != 1 || o.Attempts[0].State != shop.AttemptCreated || o.Status != shop.OrderAwaitingPayment {
		t.Fatalf("before approval: order %+v, want one created attempt, awaiting payment", o)
	}

	receipt := ts.submitBkashPage(bkashPage, customer, "confirm")
	if receipt.url.Path != "/orders/A1001/receipt" || receipt.status != http.StatusOK {
		t.Fatalf("landed on %s (%d), want /orders/A1001/receipt", receipt.url, receipt.status)
	}
	o = ts.order("A1001")
	fp, ok := ts.fake.Payment(o.PaymentID)
	if !ok {
		t.Fatalf("the fake does not know paymentID %q", o.PaymentID)
	}
	want := struct {
		Status   shop.OrderStatus
		Total    bkash.Amount
		Paid     bkash.Amount
		TrxID    string
		Payer    string
		Invoice  string
		Attempt  shop.AttemptState
		Executes int
	}{shop.OrderPaid, bkash.Taka(610) + bkash.Poisha(50), bkash.Taka(610) + bkash.Poisha(50), fp.TrxID, "017****8575", "A1001-1", shop.AttemptPaid, 1}
	got := want
	got.Status, got.Total, got.Paid, got.TrxID, got.Payer = o.Status, o.Total, o.Paid, o.TrxID, o.Payer
	got.Invoice, got.Attempt, got.Executes = fp.InvoiceNumber, o.Attempts[0].State, ts.fake.Received("payment.execute")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paid order (-want +got):\n%s", diff)
	}
	if fp.Status != "Completed" || fp.Mode != "0011" || fp.Amount != o.Total {
		t.Errorf("fake payment = %+v, want Completed mode 0011 of %s", fp, o.Total)
	}
	if !receipt.has(fp.TrxID) || !receipt.has("Tk 610.50") {
		t.Errorf("receipt lacks trxID %s or the amount:\n%s", fp.TrxID, receipt.body)
	}
	if ts.get("/").has(`id="cart-count"`) {
		t.Error("the cart is not empty after checkout")
	}
}

func TestWebhookNotificationIsRecordedOnTheOrder(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	// The fake posts an SNS-signed notification to /bkash/webhook once the
	// payment completes; the shop verifies it and notes it on the order
	// (paidOrder waits for it).
	o := ts.paidOrder(map[string]int{"lassi-250": 1})
	if got := o.Webhook; got != o.TrxID {
		t.Errorf("webhook trxID = %q, want %q", got, o.TrxID)
	}
	// A forged notification is refused by the verifier.
	resp, err := ownClient().Post(ts.url+"/bkash/webhook", "text/plain", strings.NewReader(`{"Type":"Notification","Message":"{}"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged webhook: status %d, want 400", resp.StatusCode)
	}
}

// TestWebhookRedeliveredOverASettledOrderChangesNothing: a replica that
// processed a notification and died before logging it processed leaves it
// to SNS's redelivery, which the shop processes again; the order, its
// webhook time and updated_at included, must stay as it was.
func TestWebhookRedeliveredOverASettledOrderChangesNothing(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	o := ts.paidOrder(map[string]int{"butter-100": 1})
	var body []byte
	waitFor(t, "the fake's record of the webhook", func() bool {
		for _, d := range ts.fake.WebhookDeliveries() {
			if d.TrxID == o.TrxID {
				body = d.Body
			}
		}
		return body != nil
	})
	if _, err := ts.store.DB().Exec(`UPDATE webhook_log SET status = 'processing'`); err != nil {
		t.Fatal(err)
	}
	resp, err := ownClient().Post(ts.url+"/bkash/webhook", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("redelivery: HTTP %d, want 200", resp.StatusCode)
	}
	if diff := cmp.Diff(o, ts.order(o.ID)); diff != "" {
		t.Errorf("the redelivered notification changed the order (-before +after):\n%s", diff)
	}
}

func TestCancelOnBkashPageLeavesOrderUnpaidAndRetryUsesNewInvoice(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	ts.addToCart("paneer-250", 1)
	landing := ts.submitBkashPage(ts.payCart(nil), nil, "cancel")
	if landing.url.Path != "/orders/A1001" {
		t.Fatalf("landed on %s, want the order page", landing.url)
	}
	if !landing.has(`id="order-status">unpaid<`) || !landing.has(`id="pay-again"`) {
		t.Errorf("order page does not say unpaid with a way to pay again:\n%s", landing.body)
	}
	if n := ts.fake.Received("payment.execute"); n != 0 {
		t.Errorf("execute sent %d times after a cancel, want 0", n)
	}
	o := ts.order("A1001")
	if o.Status != shop.OrderUnpaid || o.Attempts[0].State != shop.AttemptCancelled {
		t.Errorf("order = %s, attempt %s; want unpaid, cancelled", o.Status, o.Attempts[0].State)
	}

	// Paying again creates a new bKash payment with a new invoice number.
	receipt := ts.submitBkashPage(ts.payCart(url.Values{"order": {"A1001"}}), customer, "confirm")
	if receipt.url.Path != "/orders/A1001/receipt" {
		t.Fatalf("second attempt landed on %s", receipt.url)
	}
	o = ts.order("A1001")
	var invoices []string
	for _, a := range o.Attempts {
		invoices = append(invoices, a.Invoice+":"+string(a.State))
	}
	if diff := cmp.Diff([]string{"A1001-1:cancelled", "A1001-2:paid"}, invoices); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
}

func TestReplayedCallbackDoesNothingTwice(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	o := ts.paidOrder(map[string]int{"butter-100": 2})
	callback := ts.callback(o.PaymentID, "success")

	parallel(5, func() {
		p := ts.get(callback)
		if p.url.Path != "/orders/"+o.ID+"/receipt" {
			t.Errorf("replayed callback landed on %s, want the receipt", p.url)
		}
	})
	if n := ts.fake.Received("payment.execute"); n != 1 {
		t.Errorf("execute received %d times, want 1", n)
	}
	if diff := cmp.Diff(o, ts.order(o.ID)); diff != "" {
		t.Errorf("replays changed the order (-before +after):\n%s", diff)
	}
}

func TestConcurrentCallbacksExecuteOnce(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	ts.addToCart("milk-1l", 1)
	ts.payCart(nil)
	pid := ts.order("A1001").Attempts[0].PaymentID
	if err := ts.fake.Approve(pid, "01929918378"); err != nil {
		t.Fatal(err)
	}
	callback := ts.callback(pid, "success")
	parallel(8, func() { ts.get(callback) })
	waitFor(t, "the order to be paid", func() bool { return ts.order("A1001").Status == shop.OrderPaid })
	if n := ts.fake.Received("payment.execute"); n != 1 {
		t.Errorf("execute received %d times for 8 concurrent callbacks, want 1", n)
	}
}

func TestCallbackIsRejected(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	for _, tc := range []struct {
		name  string
		query string
		want  int
	}{
		{"unknown paymentID", "paymentID=TR0011NotOurs1700000000000&status=success", http.StatusNotFound},
		{"no paymentID", "status=success", http.StatusBadRequest},
		{"unknown status", "paymentID=TR0011NotOurs1700000000000&status=paid", http.StatusBadRequest},
	} {
		if got := ts.get("/bkash/callback/AAAAAAAAAAAAAAAAAAAAAA?" + tc.query).status; got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	if n := ts.fake.Received("payment.execute"); n != 0 {
		t.Errorf("execute sent %d times for rejected callbacks, want 0", n)
	}
}

func TestAmountMismatchIsNotMarkedPaid(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	ts.addToCart("doi-500", 1)
	bkashPage := ts.payCart(nil)
	// The order changes after the payment was created (a price edit, a
	// bug, tampering): bKash then charges an amount that no longer matches.
	if _, err := ts.store.UpdateOrder("A1001", func(o *shop.Order) error {
		o.Total += bkash.Taka(40)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	landing := ts.submitBkashPage(bkashPage, customer, "confirm")
	if landing.url.Path != "/orders/A1001" {
		t.Fatalf("landed on %s, want the order page (not a receipt)", landing.url)
	}
	o := ts.order("A1001")
	if o.Status != shop.OrderReview || o.Attempts[0].State != shop.AttemptMismatch {
		t.Errorf("order %s / attempt %s, want needs review / mismatch", o.Status, o.Attempts[0].State)
	}
	if !strings.Contains(o.Note, "bKash charged Tk 160.00, the order total is Tk 200.00") {
		t.Errorf("note = %q, want it to name both amounts", o.Note)
	}
	if p := ts.get("/orders/A1001/receipt"); p.url.Path != "/orders/A1001" {
		t.Errorf("receipt of an unpaid order served at %s", p.url)
	}
}

func TestExecuteRefusedByBkashLeavesOrderUnpaid(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	ts.addToCart("milk-1l", 1)
	landing := ts.submitBkashPage(ts.payCart(nil),
		map[string]string{"wallet": bkashtest.WalletInsufficientBalance, "otp": bkashtest.OTP, "pin": bkashtest.PIN}, "confirm")
	if landing.url.Path != "/orders/A1001" || !landing.has(`id="order-status">unpaid<`) {
		t.Fatalf("landed on %s, want the unpaid order page:\n%s", landing.url, landing.body)
	}
	if o := ts.order("A1001"); !strings.Contains(o.Note, "Insufficient Balance") {
		t.Errorf("note = %q, want bKash's reason", o.Note)
	}
}

func TestExecuteAnswered503AfterBkashChargedIsNotUnpaid(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	ts.addToCart("ghee-200", 1)
	bkashPage := ts.payCart(nil)
	ts.fake.Inject("payment.execute", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, AfterApply: true})
	ts.fake.Inject("payment.query", bkashtest.Fault{Code: "9999", Times: 6})
	landing := ts.submitBkashPage(bkashPage, customer, "confirm")
	if landing.has(`id="order-status">unpaid<`) || landing.has(`id="pay-again"`) {
		t.Fatalf("a charged customer is asked to pay again (%s):\n%s", landing.url, landing.body)
	}
	waitFor(t, "the reconciler to settle the order", func() bool { return ts.order("A1001").Status == shop.OrderPaid })
	if n := ts.fake.Received("payment.execute"); n != 1 {
		t.Errorf("execute received %d times, want 1", n)
	}
}

func TestUnknownExecuteOutcomeIsProcessingUntilReconciled(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	ts.addToCart("ghee-200", 2)
	bkashPage := ts.payCart(nil)
	// bKash executes the payment but the answer is lost, and the queries
	// Finalize makes right after fail too: the shop cannot know yet.
	ts.fake.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	ts.fake.Inject("payment.query", bkashtest.Fault{Code: "9999", Times: 6})

	landing := ts.submitBkashPage(bkashPage, customer, "confirm")
	if landing.url.Path != "/orders/A1001" || !landing.has(`id="order-status">processing<`) {
		t.Fatalf("landed on %s, want the order page saying processing:\n%s", landing.url, landing.body)
	}
	if !landing.has(`http-equiv="refresh"`) {
		t.Error("the processing page does not refresh itself")
	}
	// The background reconciler asks bKash (Payments.Query) until it answers.
	waitFor(t, "the reconciler to settle the order", func() bool { return ts.order("A1001").Status == shop.OrderPaid })
	o := ts.order("A1001")
	fp, _ := ts.fake.Payment(o.PaymentID)
	if o.TrxID != fp.TrxID || o.Paid != bkash.Taka(841) {
		t.Errorf("order trxID %q paid %s, want %q, 841.00", o.TrxID, o.Paid, fp.TrxID)
	}
	if n := ts.fake.Received("payment.execute"); n != 1 {
		t.Errorf("execute received %d times, want 1: an unknown outcome is never re-sent", n)
	}
	if p := ts.get("/orders/A1001"); !p.has(`id="order-status">paid<`) {
		t.Errorf("order page after reconciliation:\n%s", p.body)
	}
}

func TestSavedWalletLinkPayAndRemove(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	// Link a wallet: agreement create -> bKash's page -> callback -> execute.
	agreementPage := ts.post("/wallets", url.Values{"msisdn": {"01619777283"}})
	if !strings.HasPrefix(agreementPage.url.String(), ts.fake.URL) {
		t.Fatalf("save wallet landed on %s, want bKash's page", agreementPage.url)
	}
	wallets := ts.submitBkashPage(agreementPage, map[string]string{"wallet": "01619777283", "otp": bkashtest.OTP, "pin": bkashtest.PIN}, "confirm")
	if wallets.url.Path != "/wallets" || !wallets.has("016****7283") || !wallets.has(`class="status active"`) {
		t.Fatalf("wallets page after linking (%s):\n%s", wallets.url, wallets.body)
	}
	ws := ts.wallets()
	if len(ws) != 1 || ws[0].State != shop.WalletActive || ws[0].AgreementID == "" {
		t.Fatalf("stored wallets = %+v, want one active with an agreementID", ws)
	}
	agreementID := ws[0].AgreementID

	// One-click pay: mode 0001, PIN only on bKash's page.
	ts.addToCart("paneer-250", 1)
	if home := ts.get("/"); !home.has("Pay with saved wallet 016****7283") {
		t.Fatalf("the cart offers no saved-wallet payment:\n%s", home.body)
	}
	bkashPage := ts.payCart(url.Values{"wallet": {agreementID}})
	if bkashPage.has(`name="otp"`) {
		t.Error("a saved-wallet payment asks for an OTP")
	}
	receipt := ts.submitBkashPage(bkashPage, pinOnly, "confirm")
	if receipt.url.Path != "/orders/A1001/receipt" {
		t.Fatalf("saved-wallet payment landed on %s:\n%s", receipt.url, receipt.body)
	}
	o := ts.order("A1001")
	fp, _ := ts.fake.Payment(o.PaymentID)
	if fp.Mode != "0001" || fp.AgreementID != agreementID || o.Status != shop.OrderPaid || o.Attempts[0].Mode != "0001" {
		t.Errorf("payment mode %s agreement %s, order %s; want 0001 with %s, paid", fp.Mode, fp.AgreementID, o.Status, agreementID)
	}

	// Remove = cancel the agreement at bKash.
	removed := ts.post("/wallets/"+ws[0].PaymentID+"/remove", nil)
	if removed.status != http.StatusOK || !removed.has("removed") {
		t.Fatalf("remove: %d\n%s", removed.status, removed.body)
	}
	if n := ts.fake.Applied("agreement.cancel"); n != 1 {
		t.Errorf("agreement.cancel applied %d times, want 1", n)
	}
	ts.addToCart("milk-1l", 1)
	if ts.get("/").has("Pay with saved wallet") {
		t.Error("a removed wallet is still offered")
	}
	if p := ts.post("/checkout", url.Values{"wallet": {agreementID}}); p.status != http.StatusBadRequest {
		t.Errorf("paying with a removed wallet: status %d, want 400", p.status)
	}
}

func TestCancelledWalletLinkIsNotSaved(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	page := ts.submitBkashPage(ts.post("/wallets", nil), nil, "cancel")
	if !strings.HasPrefix(page.url.Path, "/bkash/agreement/callback/") || !page.has("not linked") {
		t.Fatalf("landed on %s:\n%s", page.url, page.body)
	}
	if ws := ts.wallets(); len(ws) != 1 || ws[0].State != shop.WalletCancelled {
		t.Errorf("wallets = %+v, want one cancelled", ws)
	}
	if n := ts.fake.Received("agreement.execute"); n != 0 {
		t.Errorf("agreement execute sent %d times after a cancel", n)
	}
}

func TestPartialThenFullRefundFromAdmin(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	o := ts.paidOrder(map[string]int{"doi-500": 1, "lassi-250": 2}) // 160 + 120.50 = 280.50
	if o.Paid != bkash.Taka(280)+bkash.Poisha(50) {
		t.Fatalf("paid %s, want 280.50", o.Paid)
	}
	refundURL := "/admin/orders/" + o.ID + "/refund"

	p := ts.post(refundURL, url.Values{"amount": {"100.25"}, "reason": {"one pot broke"}})
	if p.status != http.StatusOK || !p.has("refunded Tk 100.25") {
		t.Fatalf("partial refund: %d\n%s", p.status, p.body)
	}
	if !p.has(`id="refundable-` + o.ID + `">Tk 180.25<`) {
		t.Errorf("admin page does not show Tk 180.25 left:\n%s", p.body)
	}
	p = ts.post(refundURL, url.Values{"amount": {"180.26"}, "reason": {"too much"}})
	if p.status != http.StatusBadRequest {
		t.Errorf("refund above the refundable amount: status %d, want 400", p.status)
	}
	p = ts.post(refundURL, url.Values{"full": {"1"}, "reason": {"customer unhappy"}})
	if p.status != http.StatusOK || !p.has("refunded Tk 180.25") {
		t.Fatalf("full refund of the rest: %d\n%s", p.status, p.body)
	}

	var got []bkash.Amount
	for _, r := range ts.order(o.ID).Refunds {
		got = append(got, r.Amount)
	}
	var atBkash []bkash.Amount
	for _, r := range ts.fake.RefundsOf(o.TrxID) {
		atBkash = append(atBkash, r.Amount)
	}
	want := []bkash.Amount{bkash.Poisha(10025), bkash.Poisha(18025)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded refunds (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, atBkash); diff != "" {
		t.Errorf("refunds at bKash (-want +got):\n%s", diff)
	}
	if n := ts.fake.Received("refund.create"); n != 2 {
		t.Errorf("refund.create received %d times, want 2", n)
	}

	// The status button reads bKash's refund status.
	st := ts.post("/admin/orders/"+o.ID+"/refund-status", nil)
	if !st.has(`id="live-`+o.ID+`"`) || !st.has("Tk 180.25") {
		t.Errorf("refund status not shown:\n%s", st.body)
	}
}

// refundSettleInTests stands in for shop.RefundSettleAfter (30 s plus clock
// skew) in tests.
const refundSettleInTests = 1500 * time.Millisecond

func TestRefundWithUnknownOutcomeStaysPendingThenIsReconciledNotResent(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	o := ts.paidOrder(map[string]int{"milk-1l": 4}) // 380.00
	// bKash makes the refund but the answer is lost.
	ts.fake.Inject("refund.create", bkashtest.Fault{Drop: true, AfterApply: true})
	sent := time.Now()
	p := ts.post("/admin/orders/"+o.ID+"/refund", url.Values{"amount": {"190"}, "reason": {"half"}})
	if p.status != http.StatusAccepted || !p.has("It was not re-sent") || !p.has(`id="pending-`+o.ID+`"`) {
		t.Fatalf("unknown refund outcome: %d, want 202 with the refund pending\n%s", p.status, p.body)
	}
	// Nothing is decided before 30 s plus skew (here refundSettleInTests):
	// the refund shows pending and bKash's refund status is not read yet.
	if got := ts.order(o.ID); got.RefundPending == nil || len(got.Refunds) != 0 {
		t.Fatalf("right after: pending %+v refunds %+v, want pending and none recorded", got.RefundPending, got.Refunds)
	}
	if n := ts.fake.Received("refund.status"); n != 0 {
		t.Errorf("refund status read %d times before the settle time", n)
	}
	waitFor(t, "the reconciler to settle the refund", func() bool { return ts.order(o.ID).RefundPending == nil })
	if took := time.Since(sent); took < refundSettleInTests {
		t.Errorf("settled after %v, before the settle time %v", took, refundSettleInTests)
	}
	got := ts.order(o.ID)
	if len(got.Refunds) != 1 || got.Refunds[0].Amount != bkash.Taka(190) {
		t.Errorf("after reconciliation: refunds %+v, want one refund of 190.00", got.Refunds)
	}
	if n := ts.fake.Received("refund.create"); n != 1 {
		t.Errorf("refund.create received %d times, want 1", n)
	}
	if n := len(ts.fake.RefundsOf(o.TrxID)); n != 1 {
		t.Errorf("bKash made %d refunds, want 1", n)
	}
	if p := ts.get("/orders/" + o.ID + "/receipt"); p.status != http.StatusOK || !p.has(`id="refund-note"`) {
		t.Errorf("receipt of the partly refunded order: %d\n%s", p.status, p.body)
	}
}

func TestRefundPendingBlocksASecondRefundUntilBkashShowsNone(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	o := ts.paidOrder(map[string]int{"milk-1l": 2})
	// The refund request never reached bKash (dropped before applying): the
	// refund stays pending, and no second refund is sent while it is.
	ts.fake.Inject("refund.create", bkashtest.Fault{Drop: true})
	sent := time.Now()
	p := ts.post("/admin/orders/"+o.ID+"/refund", url.Values{"amount": {"50"}, "reason": {"x"}})
	if p.status != http.StatusAccepted {
		t.Fatalf("dropped refund: %d\n%s", p.status, p.body)
	}
	if ts.order(o.ID).RefundPending == nil {
		t.Fatal("no pending refund recorded")
	}
	p = ts.post("/admin/orders/"+o.ID+"/refund", url.Values{"amount": {"50"}, "reason": {"again"}})
	if p.status != http.StatusConflict {
		t.Errorf("second refund while one is pending: status %d, want 409", p.status)
	}
	// After the settle time bKash's status shows no refund: the marker is
	// cleared (an operator may refund again); nothing was refunded.
	waitFor(t, "the pending refund to be cleared", func() bool { return ts.order(o.ID).RefundPending == nil })
	if took := time.Since(sent); took < refundSettleInTests {
		t.Errorf("cleared after %v, before the settle time %v", took, refundSettleInTests)
	}
	if got := ts.order(o.ID); len(got.Refunds) != 0 {
		t.Errorf("refunds recorded: %+v, want none", got.Refunds)
	}
	if n := ts.fake.Received("refund.create"); n != 1 {
		t.Errorf("refund.create received %d times, want 1", n)
	}
}

func TestOrdersSurviveARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startShop(t, dir)
	paid := first.paidOrder(map[string]int{"butter-100": 1})
	if p := first.post("/admin/orders/"+paid.ID+"/refund", url.Values{"amount": {"20"}, "reason": {"dented"}}); p.status != http.StatusOK {
		t.Fatalf("refund: %d\n%s", p.status, p.body)
	}
	page := first.post("/wallets", url.Values{"msisdn": {"01619777283"}})
	first.submitBkashPage(page, map[string]string{"wallet": "01619777283", "otp": bkashtest.OTP, "pin": bkashtest.PIN}, "confirm")
	agreementID := first.wallets()[0].AgreementID
	paid = first.order(paid.ID) // with its refund
	first.addToCart("milk-1l", 1)
	first.submitBkashPage(first.payCart(nil), nil, "cancel")
	jar := first.browser.Jar
	first.app.Close() // the reconciler stops; the file stays

	second := startShop(t, dir)
	second.browser.Jar = jar // the same browser comes back
	if diff := cmp.Diff(paid, second.order(paid.ID)); diff != "" {
		t.Errorf("paid order after restart (-before +after):\n%s", diff)
	}
	if p := second.get("/orders/" + paid.ID + "/receipt"); !p.has(paid.TrxID) {
		t.Errorf("receipt after restart lacks trxID %s:\n%s", paid.TrxID, p.body)
	}
	if o := second.order("A1002"); o.Status != shop.OrderUnpaid {
		t.Errorf("cancelled order after restart: %s, want unpaid", o.Status)
	}
	// The fake bKash restarted too, from its state file: the saved wallet
	// still pays (no 2051 "invalid agreement"), and the refund made before
	// the restart is in bKash's refund status.
	if st := second.post("/admin/orders/"+paid.ID+"/refund-status", nil); !st.has(`id="live-`+paid.ID+`"`) || !st.has("Tk 20.00") || st.has("no refund.") {
		t.Errorf("refund status after restart:\n%s", st.body)
	}
	second.addToCart("lassi-250", 1)
	receipt := second.submitBkashPage(second.payCart(url.Values{"wallet": {agreementID}}), pinOnly, "confirm")
	if receipt.url.Path != "/orders/A1003/receipt" {
		t.Errorf("saved-wallet payment after restart landed on %s:\n%s", receipt.url, receipt.body)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		// SQLite's own -wal and -shm files live beside the database while
		// it is open; anything else (a .tmp of the old JSON store) may not.
		if n := e.Name(); n != "shop-fake.db-wal" && n != "shop-fake.db-shm" && n != fakeStateFile+".lock" {
			names = append(names, n)
		}
	}
	if diff := cmp.Diff([]string{fakeStateFile, "shop-fake.db"}, names); diff != "" {
		t.Errorf("data directory (-want +got):\n%s", diff)
	}
}

func TestRunServesAndShutsDownGracefully(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	u, stop := runShop(t, options{addr: "127.0.0.1:0", dataDir: dir, logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	resp, err := http.Get(u + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "Test mode: a fake bKash") {
		t.Fatalf("GET /: %d, banner missing", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	if _, err := http.Get(u + "/healthz"); err == nil {
		t.Error("the shop still answers after shutdown")
	}
	if _, err := os.Stat(filepath.Join(dir, "shop-fake.db")); err != nil {
		t.Errorf("the database is not in the data directory: %v", err)
	}
}

func TestParseFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	opt, err := parseFlags([]string{"-addr", ":0", "-data", "/tmp/x"}, env(nil), io.Discard)
	if err != nil || opt.addr != ":0" || opt.dataDir != "/tmp/x" || opt.sandbox != nil {
		t.Errorf("no BKASH_*: %+v, %v; want the fake", opt, err)
	}
	// One credential variable set selects the sandbox and requires all four.
	t.Setenv("BKASH_USERNAME", "sandboxTokenizedUser02")
	t.Setenv("BKASH_PASSWORD", "")
	t.Setenv("BKASH_APP_KEY", "")
	t.Setenv("BKASH_APP_SECRET", "")
	_, err = parseFlags(nil, os.Getenv, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "BKASH_APP_SECRET") {
		t.Errorf("partial credentials: err = %v, want the missing variables named", err)
	}
	t.Setenv("BKASH_PASSWORD", "p")
	t.Setenv("BKASH_APP_KEY", "k")
	t.Setenv("BKASH_APP_SECRET", "s")
	opt, err = parseFlags(nil, os.Getenv, io.Discard)
	if err != nil || opt.sandbox == nil || opt.sandbox.Username != "sandboxTokenizedUser02" {
		t.Errorf("full credentials: %+v, %v; want the sandbox", opt.sandbox, err)
	}
	if _, err := parseFlags([]string{"extra"}, env(nil), io.Discard); err == nil {
		t.Error("a stray argument was accepted")
	}
}

func TestWalletLinkWithUnknownOutcomeIsSettledByReconciler(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	agreementPage := ts.post("/wallets", url.Values{"msisdn": {"01877722345"}})
	// bKash binds the wallet but the answer to execute is lost, and the
	// reconciler's first reads fail too: it is woken right away and must not
	// settle the wallet before the browser has landed.
	ts.fake.Inject("agreement.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	ts.fake.Inject("payment.query", bkashtest.Fault{Code: "9999", Times: 6})
	landing := ts.submitBkashPage(agreementPage, map[string]string{"wallet": "01877722345", "otp": bkashtest.OTP, "pin": bkashtest.PIN}, "confirm")
	if landing.url.Path != "/wallets" || !landing.has(`class="status linking"`) {
		t.Fatalf("landed on %s, want the wallet shown as linking:\n%s", landing.url, landing.body)
	}
	// The reconciler reads the agreement-creation payment, then the agreement.
	waitFor(t, "the wallet to become active", func() bool {
		ws := ts.wallets()
		return len(ws) == 1 && ws[0].State == shop.WalletActive
	})
	w := ts.wallets()[0]
	if w.AgreementID == "" || w.MSISDN != "018****2345" {
		t.Errorf("wallet = %+v, want an agreementID and 018****2345", w)
	}
	if n := ts.fake.Received("agreement.execute"); n != 1 {
		t.Errorf("agreement.execute received %d times, want 1", n)
	}
}

func TestOrdersBelongToTheirBrowser(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	o := ts.paidOrder(map[string]int{"milk-1l": 1})
	if p := ts.get("/orders"); !p.has(`href="/orders/`+o.ID+`"`) || !p.has(`class="status paid"`) {
		t.Errorf("order list lacks %s as paid:\n%s", o.ID, p.body)
	}

	jar, _ := cookiejar.New(nil)
	stranger := *ts
	stranger.browser = &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: ownTransport()}
	for _, path := range []string{"/orders/" + o.ID, "/orders/" + o.ID + "/receipt"} {
		if p := stranger.get(path); p.status != http.StatusNotFound {
			t.Errorf("another browser GET %s: status %d, want 404", path, p.status)
		}
	}
	if p := stranger.post("/checkout", url.Values{"order": {o.ID}}); p.status != http.StatusNotFound {
		t.Errorf("another browser paying %s: status %d, want 404", o.ID, p.status)
	}
	if p := stranger.get("/orders"); p.has(o.ID) {
		t.Errorf("another browser's order list shows %s", o.ID)
	}
	// The admin page lists every order.
	if p := stranger.get("/admin"); !p.has(`id="admin-` + o.ID + `"`) {
		t.Errorf("admin page lacks %s:\n%s", o.ID, p.body)
	}
}

func TestCartLinkRestoresACart(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	p := ts.get("/cart?items=" + url.QueryEscape("milk-1l:2,ghee-200:1,bogus:3"))
	if p.url.Path != "/" || !p.has(`id="cart-total">Tk 610.50<`) || p.has("bogus") {
		t.Fatalf("cart link landed on %s:\n%s", p.url, p.body)
	}
	if !p.has(`href="/cart?items=milk-1l%3a2%2cghee-200%3a1"`) {
		t.Errorf("the cart does not link to itself:\n%s", p.body)
	}
}

func TestForgedCallbackDoesNotBlockTheRealPayment(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	// Another order's attempt: its callback key is valid, but not for ours.
	ts.addToCart("butter-100", 1)
	ts.payCart(nil)
	otherPID := ts.order("A1001").Attempts[0].PaymentID
	otherFake, _ := ts.fake.Payment(otherPID)

	ts.addToCart("milk-1l", 1)
	bkashPage := ts.payCart(nil)
	pid := ts.order("A1002").Attempts[0].PaymentID
	// Anyone who learns the paymentID (a shared screenshot, a log) tries to
	// cancel it: without the attempt's key, and with another attempt's key.
	stranger := &http.Client{Timeout: 10 * time.Second, Transport: ownTransport()}
	for name, target := range map[string]string{
		"no key":              ts.url + "/bkash/callback?paymentID=" + url.QueryEscape(pid) + "&status=cancel",
		"another order's key": otherFake.CallbackURL + "?paymentID=" + url.QueryEscape(pid) + "&status=cancel",
		"a made-up key":       ts.url + "/bkash/callback/AAAAAAAAAAAAAAAAAAAAAA?paymentID=" + url.QueryEscape(pid) + "&status=failure",
	} {
		resp, err := stranger.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged callback (%s): status %d, want 403", name, resp.StatusCode)
		}
	}
	if a := ts.order("A1002").Attempts[0]; a.State != shop.AttemptCreated {
		t.Fatalf("after forged callbacks the attempt is %s, want created (nothing changed)", a.State)
	}
	// The customer's real approval still pays the order.
	receipt := ts.submitBkashPage(bkashPage, customer, "confirm")
	if receipt.url.Path != "/orders/A1002/receipt" {
		t.Fatalf("the real callback landed on %s, want the receipt:\n%s", receipt.url, receipt.body)
	}
	if o := ts.order("A1002"); o.Status != shop.OrderPaid {
		t.Errorf("order %s, want paid", o.Status)
	}
	// The key is in the URL given to bKash, never in the database.
	if !strings.Contains(otherFake.CallbackURL, "/bkash/callback/") {
		t.Fatalf("callback URL %q carries no key", otherFake.CallbackURL)
	}
	key := otherFake.CallbackURL[strings.LastIndex(otherFake.CallbackURL, "/")+1:]
	if len(key) != 22 {
		t.Errorf("callback key %q: want 22 base64url characters (128 bits)", key)
	}
	var n int
	if err := ts.store.DB().QueryRow(`SELECT COUNT(*) FROM attempts WHERE callback_key_hash = ? OR callback_key_hash LIKE ?`, key, "%"+key+"%").Scan(&n); err != nil || n != 0 {
		t.Errorf("the callback key is stored in attempts (%d rows, %v)", n, err)
	}
}

func TestParseFlagsBaseURLAndDatabase(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	creds := map[string]string{"BKASH_USERNAME": "u", "BKASH_PASSWORD": "p", "BKASH_APP_KEY": "k", "BKASH_APP_SECRET": "s"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range creds {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	t.Setenv("BKASH_USERNAME", "u")
	t.Setenv("BKASH_PASSWORD", "p")
	t.Setenv("BKASH_APP_KEY", "k")
	t.Setenv("BKASH_APP_SECRET", "s")
	opt, err := parseFlags(nil, env(with(map[string]string{"BKASH_BASE_URL": "http://127.0.0.1:9090/", "DATABASE_URL": "postgres://x@h/db"})), io.Discard)
	if err != nil || opt.baseURL != "http://127.0.0.1:9090" || opt.backendName() != "remote" || opt.databaseURL != "postgres://x@h/db" {
		t.Errorf("BKASH_BASE_URL + DATABASE_URL: %+v, %v", opt, err)
	}
	if err := checkPlainHTTP(opt); err != nil {
		t.Errorf("loopback http refused: %v", err)
	}
	opt.baseURL = "http://fake.internal:9090"
	if err := checkPlainHTTP(opt); err == nil {
		t.Error("plain http to another host accepted")
	}
	if _, err := parseFlags(nil, env(map[string]string{"BKASH_BASE_URL": "http://127.0.0.1:9090"}), io.Discard); err == nil || !strings.Contains(err.Error(), "BKASH_USERNAME") {
		t.Errorf("BKASH_BASE_URL without credentials: err = %v", err)
	}
	if _, err := parseFlags(nil, env(with(map[string]string{"DATABASE_URL": "mysql://x"})), io.Discard); err == nil {
		t.Error("a DATABASE_URL that is not PostgreSQL was accepted")
	}
	if _, err := parseFlags(nil, env(with(map[string]string{"BKASH_ALLOW_HTTP": "yes please"})), io.Discard); err == nil {
		t.Error("BKASH_ALLOW_HTTP=yes please was accepted")
	}
}
