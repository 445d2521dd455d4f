package bkashtest

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
)

func TestCreatePaymentValidatesLikeBkash(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	with := func(k, v string) map[string]string {
		b := paymentBody("150.50", "sale")
		if v == "<absent>" {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	tests := []struct {
		name string
		body any
		code string
	}{
		{"no mode", with("mode", "<absent>"), "2065"},
		{"unknown mode", with("mode", "0002"), "2063"},
		{"no amount", with("amount", "<absent>"), "2065"},
		{"three decimals", with("amount", "10.505"), "2006"},
		{"negative", with("amount", "-5"), "2006"},
		{"comma", with("amount", "1,000"), "2006"},
		{"below one taka", with("amount", "0.99"), "2006"},
		{"exponent", with("amount", "1e3"), "2006"},
		{"no currency", with("currency", "<absent>"), "2065"},
		{"USD", with("currency", "USD"), "2007"},
		{"no intent", with("intent", "<absent>"), "2065"},
		{"capitalised intent", with("intent", "Sale"), "2008"},
		{"no invoice", with("merchantInvoiceNumber", ""), "2065"},
		{"invoice with &", with("merchantInvoiceNumber", "A&B"), "2031"},
		{"invoice too long", with("merchantInvoiceNumber", strings.Repeat("x", 256)), "2031"},
		{"no payer reference", with("payerReference", "<absent>"), "2065"},
		{"payer reference with <", with("payerReference", "<script>"), "2048"},
		{"no callback", with("callbackURL", "<absent>"), "2065"},
		{"relative callback", with("callbackURL", "/bkash/callback"), "2049"},
		{"ftp callback", with("callbackURL", "ftp://shop.example.com/cb"), "2049"},
		{"association info too long", with("merchantAssociationInfo", strings.Repeat("x", 256)), "2047"},
		{"0011 with an agreementID", with("agreementID", "TokenizedMerchant02X"), "2063"},
		{"0001 without agreementID", with("mode", "0001"), "2065"},
		{"0001 with an unknown agreement", func() map[string]string {
			b := with("mode", "0001")
			b["agreementID"] = "TokenizedMerchant02NOPE"
			return b
		}(), "2051"},
		{"not JSON", "{mode:", "2025"},
		{"amount as an object", `{"mode":"0011","amount":{"v":1}}`, "2025"},
	}
	for _, tt := range tests {
		wantCode(t, tt.name, c.call(createPath, tt.body), http.StatusOK, tt.code)
	}
	if got := c.srv.Applied("payment.create"); got != 0 {
		t.Errorf("Applied(payment.create) = %d after refusals, want 0", got)
	}
	if got := c.srv.Received("payment.create"); got != len(tests) {
		t.Errorf("Received(payment.create) = %d, want %d", got, len(tests))
	}
}

func TestCreatePaymentEchoesAndLinks(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := newAPI(t, WithClock(clock.Now))
	body := paymentBody("480", "sale")
	body["callbackURL"] = callbackBase + "?order=A-1001"
	a := mustOK(t, "create", c.call(createPath, body))
	id := a.str("paymentID")
	if !rePayment.MatchString(id) || !strings.HasPrefix(id, "TR0011") || !strings.HasSuffix(id, "1735713000456") {
		t.Errorf("paymentID %q: want TR0011 + 7 alphanumerics + the creation time in ms", id)
	}
	st, _ := c.srv.Payment(id)
	want := map[string]any{
		"paymentID":             id,
		"bkashURL":              c.srv.URL + "/checkout?paymentId=" + id + "&hash=" + st.BkashURL[strings.Index(st.BkashURL, "hash=")+5:strings.Index(st.BkashURL, "&mode")] + "&mode=0011&apiVersion=v1.2.0-beta/",
		"callbackURL":           callbackBase + "?order=A-1001",
		"successCallbackURL":    callbackBase + "?order=A-1001&paymentID=" + id + "&status=success&signature=" + st.Signature,
		"failureCallbackURL":    callbackBase + "?order=A-1001&paymentID=" + id + "&status=failure&signature=" + st.Signature,
		"cancelledCallbackURL":  callbackBase + "?order=A-1001&paymentID=" + id + "&status=cancel&signature=" + st.Signature,
		"amount":                "480",
		"intent":                "sale",
		"currency":              "BDT",
		"paymentCreateTime":     "2025-01-01T12:30:00:456 GMT+0600",
		"transactionStatus":     "Initiated",
		"merchantInvoiceNumber": "INV-1",
		"statusCode":            "0000",
		"statusMessage":         "Successful",
	}
	if diff := cmp.Diff(want, a.m); diff != "" {
		t.Errorf("create answer (-want +got):\n%s", diff)
	}
	if st.BkashURL != a.str("bkashURL") || !reSignature.MatchString(st.Signature) {
		t.Errorf("Payment() = %+v", st)
	}
	if amt := st.Amount; amt != bkash.Taka(480) {
		t.Errorf("Payment().Amount = %v, want 480.00", amt)
	}
}

func TestCreateAcceptsANumericAmount(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a := mustOK(t, "create", c.call(createPath, `{"mode":"0011","payerReference":" ","callbackURL":"http://127.0.0.1/cb","amount":99.5,"currency":"BDT","intent":"sale","merchantInvoiceNumber":"N"}`))
	if a.str("amount") != "99.5" {
		t.Errorf("amount echoed as %q, want the text sent", a.str("amount"))
	}
}

func TestSaleCheckout(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := newAPI(t, WithClock(clock.Now))
	id := c.createPayment("150.50", "sale")
	exec := map[string]string{"paymentID": id}

	wantCode(t, "execute before approval", c.call(executePath, exec), http.StatusOK, "2056")
	q := mustOK(t, "query initiated", c.call(statusPath, exec))
	if q.str("transactionStatus") != "Initiated" || q.str("verificationStatus") != "Incomplete" || q.m["trxID"] != nil || q.m["paymentExecuteTime"] != nil {
		t.Errorf("query before execute: %s", q.raw)
	}

	if err := c.srv.Approve(id, walletOK); err != nil {
		t.Fatal(err)
	}
	clock.Advance(70 * time.Second)
	e := mustOK(t, "execute", c.call(executePath, exec))
	trx := e.str("trxID")
	want := map[string]any{
		"statusCode": "0000", "statusMessage": "Successful",
		"paymentID": id, "payerReference": walletOK, "customerMsisdn": walletOK,
		"trxID": trx, "amount": "150.50", "transactionStatus": "Completed",
		"paymentExecuteTime": "2025-01-01T12:31:10:456 GMT+0600",
		"currency":           "BDT", "intent": "sale", "merchantInvoiceNumber": "INV-1",
	}
	if diff := cmp.Diff(want, e.m); diff != "" {
		t.Errorf("execute (-want +got):\n%s", diff)
	}
	if !reTrxID.MatchString(trx) {
		t.Errorf("trxID %q is not 10 upper-case alphanumerics", trx)
	}

	wantCode(t, "second execute", c.call(executePath, exec), http.StatusOK, "2117")

	q = mustOK(t, "query completed", c.call(statusPath, exec))
	wantQ := map[string]any{
		"paymentID": id, "mode": "0011",
		"paymentCreateTime":  "2025-01-01T12:30:00:456 GMT+0600",
		"paymentExecuteTime": "2025-01-01T12:31:10:456 GMT+0600",
		"amount":             "150.50", "currency": "BDT", "intent": "sale",
		"merchantInvoice": "INV-1", "trxID": trx,
		"transactionStatus": "Completed", "verificationStatus": "Complete",
		"statusCode": "0000", "statusMessage": "Successful", "payerReference": walletOK,
	}
	if diff := cmp.Diff(wantQ, q.m); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}

	s := mustOK(t, "search", c.call(searchPath, map[string]string{"trxID": trx}))
	wantS := map[string]any{
		"trxID": trx, "initiationTime": "2025-01-01T12:31:10:000 GMT+0600",
		"completedTime":   "2025-01-01T12:31:10:000 GMT+0600",
		"transactionType": "bKash Tokenized Checkout via API",
		"customerMsisdn":  walletOK, "payerAccount": walletOK,
		"transactionStatus": "Completed", "amount": "150.50", "currency": "BDT",
		"organizationShortCode": "50022", "serviceFee": "0.00", "payerType": "Customer",
		"creditedAmount": "150.50", "maxRefundableAmount": "150.50",
		"statusCode": "0000", "statusMessage": "Successful",
	}
	if diff := cmp.Diff(wantS, s.m); diff != "" {
		t.Errorf("search (-want +got):\n%s", diff)
	}
	wantCode(t, "search unknown", c.call(searchPath, map[string]string{"trxID": "NOSUCHTRX0"}), http.StatusOK, "2033")
	wantCode(t, "search without trxID", c.call(searchPath, map[string]string{}), http.StatusOK, "2065")

	st, _ := c.srv.Payment(id)
	if st.Status != "Completed" || st.CustomerStatus != "success" || st.Wallet != walletOK || st.TrxID != trx {
		t.Errorf("Payment() = %+v", st)
	}
	for op, want := range map[string]int{"payment.create": 1, "payment.execute": 1, "payment.query": 2, "payment.search": 1} {
		if got := c.srv.Applied(op); got != want {
			t.Errorf("Applied(%s) = %d, want %d", op, got, want)
		}
	}
	if got := c.srv.Received("payment.execute"); got != 3 {
		t.Errorf("Received(payment.execute) = %d, want 3", got)
	}
}

func TestUnknownPaymentIDs(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	for _, p := range []string{executePath, statusPath} {
		wantCode(t, p, c.call(p, map[string]string{"paymentID": "TR0011nope"}), http.StatusOK, "2002")
		wantCode(t, p+" without paymentID", c.call(p, map[string]string{}), http.StatusOK, "2065")
	}
	for _, p := range []string{capturePath, voidPath} {
		a := c.call(p, map[string]string{"paymentID": "TR0011nope"})
		if diff := cmp.Diff(map[string]any{"errorCode": "2002", "errorMessage": "Invalid Payment ID"}, a.m); diff != "" {
			t.Errorf("%s (-want +got):\n%s", p, diff)
		}
	}
	if err := c.srv.Approve("TR0011nope", walletOK); !errors.Is(err, ErrUnknownPayment) {
		t.Errorf("Approve(unknown) = %v, want ErrUnknownPayment", err)
	}
	if err := c.srv.Cancel("TR0011nope"); !errors.Is(err, ErrUnknownPayment) {
		t.Errorf("Cancel(unknown) = %v, want ErrUnknownPayment", err)
	}
}

func TestSandboxWallets(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	tests := []struct {
		wallet string
		code   string
	}{
		{WalletInsufficientBalance, "2023"},
		{WalletDebitBlocked, "2037"},
	}
	for _, w := range PayingWallets {
		tests = append(tests, struct{ wallet, code string }{w, "0000"})
	}
	for _, tt := range tests {
		id := c.createPayment("100", "sale")
		if err := c.srv.Approve(id, tt.wallet); err != nil {
			t.Errorf("Approve(%s): %v", tt.wallet, err)
			continue
		}
		a := c.call(executePath, map[string]string{"paymentID": id})
		wantCode(t, "execute with "+tt.wallet, a, http.StatusOK, tt.code)
		if tt.code == "0000" && a.str("customerMsisdn") != tt.wallet {
			t.Errorf("customerMsisdn = %q, want %s", a.str("customerMsisdn"), tt.wallet)
		}
	}
	id := c.createPayment("100", "sale")
	if err := c.srv.Approve(id, "01711111111"); err == nil || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "01711111111") {
		t.Errorf("Approve with a wallet that is not a sandbox wallet: %v", err)
	}
}

func TestWalletBalancesMove(t *testing.T) {
	t.Parallel()
	c := newAPI(t, WithWallet("01711000000", bkash.Taka(500)))
	id := c.createPayment("300", "sale")
	if err := c.srv.Approve(id, "01711000000"); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "execute", c.call(executePath, map[string]string{"paymentID": id}))
	if b, _ := c.srv.WalletBalance("01711000000"); b != bkash.Taka(200) {
		t.Errorf("balance after paying 300 of 500 = %v, want 200.00", b)
	}
	id2 := c.createPayment("300", "sale")
	if err := c.srv.Approve(id2, "01711000000"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "second 300 from 200", c.call(executePath, map[string]string{"paymentID": id2}), http.StatusOK, "2023")
	if _, ok := c.srv.WalletBalance("01999999999"); ok {
		t.Error("WalletBalance of an unknown wallet reported ok")
	}
}

func TestCancelledAndFailedPaymentsCannotBeExecuted(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	id := c.createPayment("10", "sale")
	if err := c.srv.Cancel(id); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "execute after cancel", c.call(executePath, map[string]string{"paymentID": id}), http.StatusOK, "2056")
	if err := c.srv.Approve(id, walletOK); err == nil {
		t.Error("Approve after Cancel succeeded")
	}
	st, _ := c.srv.Payment(id)
	if st.CustomerStatus != "cancel" || st.Status != "Initiated" {
		t.Errorf("Payment() after cancel = %+v", st)
	}
}

func TestPaymentsExpireAfter24Hours(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := newAPI(t, WithClock(clock.Now), WithTokenLifetime(48*time.Hour))
	clock.Set(clock.Now().Add(-time.Hour)) // created an hour "earlier": expiry counts from creation
	approved := c.createPayment("10", "sale")
	pending := c.createPayment("10", "sale")
	clock.Advance(time.Hour)
	if err := c.srv.Approve(approved, walletOK); err != nil {
		t.Fatal(err)
	}
	clock.Advance(23*time.Hour - time.Millisecond)
	if q := mustOK(t, "query just before expiry", c.call(statusPath, map[string]string{"paymentID": pending})); q.str("transactionStatus") != "Initiated" {
		t.Errorf("query just before expiry: %s", q.raw)
	}
	clock.Advance(time.Millisecond)
	wantCode(t, "execute after 24h", c.call(executePath, map[string]string{"paymentID": approved}), http.StatusOK, "2056")
	if q := c.call(statusPath, map[string]string{"paymentID": pending}); q.str("transactionStatus") != "Expired" {
		t.Errorf("query after 24h: %s", q.raw)
	}
	if err := c.srv.Approve(pending, walletOK); err == nil {
		t.Error("Approve of an expired payment succeeded")
	}
}

func TestAuthorizeCaptureVoid(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := newAPI(t, WithClock(clock.Now), WithTokenLifetime(24*time.Hour))
	before, _ := c.srv.WalletBalance(walletOK)

	captured, trx := c.paid("150.50", "authorization")
	st, _ := c.srv.Payment(captured)
	if st.Status != "Authorized" {
		t.Fatalf("after execute: %s, want Authorized", st.Status)
	}
	clock.Advance(time.Hour)
	a := mustOK(t, "capture", c.call(capturePath, map[string]string{"paymentID": captured}))
	want := map[string]any{
		"statusCode": "0000", "statusMessage": "Successful", "paymentID": captured,
		"createTime": "2025-01-01T12:30:00:456 GMT+0600", "updateTime": "2025-01-01T13:30:00:456 GMT+0600",
		"trxID": trx, "transactionStatus": "Completed",
	}
	if diff := cmp.Diff(want, a.m); diff != "" {
		t.Errorf("capture (-want +got):\n%s", diff)
	}
	again := map[string]any{"errorCode": "2119", "errorMessage": "The authorized payment has already been processed"}
	for _, p := range []string{capturePath, voidPath} {
		if diff := cmp.Diff(again, c.call(p, map[string]string{"paymentID": captured}).m); diff != "" {
			t.Errorf("%s after capture (-want +got):\n%s", p, diff)
		}
	}

	voided, _ := c.paid("20", "authorization")
	v := mustOK(t, "void", c.call(voidPath, map[string]string{"paymentID": voided}))
	if v.str("transactionStatus") != "Cancelled" {
		t.Errorf("void: %s", v.raw)
	}
	if diff := cmp.Diff(again, c.call(capturePath, map[string]string{"paymentID": voided}).m); diff != "" {
		t.Errorf("capture after void (-want +got):\n%s", diff)
	}
	if q := c.call(statusPath, map[string]string{"paymentID": voided}); q.str("transactionStatus") != "Cancelled" {
		t.Errorf("query after void: %s", q.raw)
	}

	sale, _ := c.paid("5", "sale")
	wantCode(t, "capture a sale", c.call(capturePath, map[string]string{"paymentID": sale}), http.StatusOK, "2056")
	pending := c.createPayment("5", "authorization")
	wantCode(t, "void before execute", c.call(voidPath, map[string]string{"paymentID": pending}), http.StatusOK, "2056")

	after, _ := c.srv.WalletBalance(walletOK)
	if spent := before - after; spent != bkash.Amount(15050+500) {
		t.Errorf("wallet spent %v, want 155.50 (captured 150.50 + sale 5; the voided hold released)", spent)
	}
}

func TestConcurrentCheckoutsAreConsistent(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	c.grant()
	const workers, each = 8, 10
	trx := make(chan string, workers*each)
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for range each {
				cr, err := c.trySend(createPath, paymentBody("1", "sale"), c.authHeaders())
				if err == nil {
					err = c.srv.Approve(cr.str("paymentID"), walletOK)
				}
				var ex answer
				if err == nil {
					ex, err = c.trySend(executePath, map[string]string{"paymentID": cr.str("paymentID")}, c.authHeaders())
				}
				if err != nil {
					errs <- err
					return
				}
				trx <- ex.str("trxID")
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(trx)
	seen := map[string]bool{}
	for id := range trx {
		if !reTrxID.MatchString(id) || seen[id] {
			t.Errorf("trxID %q empty, malformed or repeated", id)
		}
		seen[id] = true
	}
	if got := c.srv.Applied("payment.execute"); got != workers*each {
		t.Errorf("Applied(payment.execute) = %d, want %d", got, workers*each)
	}
}
