package bkash_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// Integration tests of payment.go: PaymentService against the fake bKash of
// package bkashtest (harness: harness_test.go).

func TestPaymentSaleFlowAgainstFake(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	ctx := context.Background()
	amount := bkash.Taka(1250) + bkash.Poisha(50)
	wallet := bkashtest.PayingWallets[0]

	created := createInitiated(t, c, bkash.IntentSale, amount)
	if created.Amount != amount || created.Intent != bkash.IntentSale || created.Currency != "BDT" {
		t.Errorf("created = %+v; want amount %s, sale, BDT", created, amount)
	}
	if err := srv.Approve(created.PaymentID, wallet); err != nil {
		t.Fatalf("Approve: %v", err)
	}
	done, err := c.Payments.Finalize(ctx, created.PaymentID)
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	if done.Status != bkash.StatusCompleted || done.TrxID == "" || done.Amount != amount ||
		done.CustomerMSISDN != wallet || done.PaymentID != created.PaymentID || done.ExecutedAt.IsZero() {
		t.Errorf("finalized = %+v; want Completed with a trxID, %s, wallet %s", done, amount, wallet)
	}

	q, err := c.Payments.Query(ctx, created.PaymentID)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if q.Status != bkash.StatusCompleted || q.TrxID != done.TrxID || q.InvoiceNumber != "INT-"+t.Name() ||
		q.VerificationStatus != "Complete" || q.Amount != amount || q.Mode != "0011" {
		t.Errorf("queried = %+v", q)
	}

	tx, err := c.Payments.Search(ctx, done.TrxID)
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if tx.TrxID != done.TrxID || tx.Status != bkash.StatusCompleted || tx.Amount != amount ||
		tx.CustomerMSISDN != wallet || tx.MaxRefundableAmount != amount || tx.CompletedAt.IsZero() {
		t.Errorf("searched = %+v", tx)
	}

	// A repeated callback: the second Finalize meets 2117 and returns the
	// truth, the same transaction, without moving money again.
	again, err := c.Payments.Finalize(ctx, created.PaymentID)
	if err != nil || again.Status != bkash.StatusCompleted || again.TrxID != done.TrxID {
		t.Errorf("second Finalize = %+v, %v; want the same completed payment", again, err)
	}
	if n := srv.Applied("payment.execute"); n != 1 {
		t.Errorf("executions applied = %d, want 1", n)
	}
}

func TestPaymentAuthorizationCaptureAgainstFake(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	ctx := context.Background()
	p := createInitiated(t, c, bkash.IntentAuthorization, bkash.Taka(480))
	if err := srv.Approve(p.PaymentID, bkashtest.PayingWallets[1]); err != nil {
		t.Fatal(err)
	}
	held, err := c.Payments.Finalize(ctx, p.PaymentID)
	if err != nil || held.Status != bkash.StatusAuthorized || held.Intent != bkash.IntentAuthorization {
		t.Fatalf("Finalize = %+v, %v; want Authorized", held, err)
	}
	captured, err := c.Payments.Capture(ctx, p.PaymentID)
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if captured.Status != bkash.StatusCompleted || captured.TrxID != held.TrxID || captured.UpdatedAt.IsZero() || captured.CreatedAt.IsZero() {
		t.Errorf("captured = %+v", captured)
	}
	for _, again := range []func(context.Context, string) (*bkash.Payment, error){c.Payments.Capture, c.Payments.Void} {
		_, err = again(ctx, p.PaymentID)
		var ae *bkash.APIError
		if !errors.As(err, &ae) || ae.Code != bkash.CodeAuthorizationProcessed {
			t.Errorf("after capture: err = %v, want *APIError 2119", err)
		}
	}
	if q, err := c.Payments.Query(ctx, p.PaymentID); err != nil || q.Status != bkash.StatusCompleted {
		t.Errorf("Query after capture = %+v, %v", q, err)
	}
	if n := srv.Received("payment.capture"); n != 2 {
		t.Errorf("captures received = %d, want 2 (one each call, never re-sent)", n)
	}
}

func TestPaymentAuthorizationVoidAgainstFake(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	ctx := context.Background()
	p := createInitiated(t, c, bkash.IntentAuthorization, bkash.Taka(75))
	if err := srv.Approve(p.PaymentID, bkashtest.PayingWallets[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Payments.Execute(ctx, p.PaymentID); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	voided, err := c.Payments.Void(ctx, p.PaymentID)
	if err != nil || voided.Status != bkash.StatusCancelled || voided.PaymentID != p.PaymentID {
		t.Fatalf("Void = %+v, %v; want Cancelled", voided, err)
	}
	if q, err := c.Payments.Query(ctx, p.PaymentID); err != nil || q.Status != bkash.StatusCancelled {
		t.Errorf("Query after void = %+v, %v; want Cancelled", q, err)
	}
	if _, err := c.Payments.Capture(ctx, p.PaymentID); !errors.Is(err, bkash.CodeAuthorizationProcessed) {
		t.Errorf("Capture after void: err = %v, want 2119", err)
	}
}

func TestPaymentFinalizeRefusalsAgainstFake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		customer func(srv *bkashtest.Server, paymentID string) error
		want     bkash.ErrorCode
	}{
		{"customer cancelled", func(srv *bkashtest.Server, id string) error { return srv.Cancel(id) }, bkash.CodeInvalidPaymentState},
		{"customer never approved", func(*bkashtest.Server, string) error { return nil }, bkash.CodeInvalidPaymentState},
		{"insufficient balance", func(srv *bkashtest.Server, id string) error {
			return srv.Approve(id, bkashtest.WalletInsufficientBalance)
		}, bkash.CodeInsufficientBalance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := newIntegration(t, nil)
			p := createInitiated(t, c, bkash.IntentSale, bkash.Taka(100))
			if err := tt.customer(srv, p.PaymentID); err != nil {
				t.Fatal(err)
			}
			got, err := c.Payments.Finalize(context.Background(), p.PaymentID)
			var ae *bkash.APIError
			if got != nil || !errors.As(err, &ae) || ae.Code != tt.want || ae.Op != "payment.execute" {
				t.Fatalf("Finalize = %+v, %v; want *APIError %s", got, err, tt.want)
			}
			if n := srv.Received("payment.query"); n != 0 {
				t.Errorf("queries = %d, want 0: a definite refusal needs no reconciliation", n)
			}
			if st, _ := srv.Payment(p.PaymentID); st.Status != string(bkash.StatusInitiated) {
				t.Errorf("fake's payment status = %q, want Initiated", st.Status)
			}
		})
	}
}

func TestPaymentFinalizeReconcilesALostAnswerAgainstFake(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	p := createInitiated(t, c, bkash.IntentSale, bkash.Taka(300))
	if err := srv.Approve(p.PaymentID, bkashtest.PayingWallets[3]); err != nil {
		t.Fatal(err)
	}
	// bKash executes, then the connection drops before the answer.
	srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	got, err := c.Payments.Finalize(context.Background(), p.PaymentID)
	if err != nil || got.Status != bkash.StatusCompleted || got.TrxID == "" {
		t.Fatalf("Finalize = %+v, %v; want the queried, completed payment", got, err)
	}
	if r, a := srv.Received("payment.execute"), srv.Applied("payment.execute"); r != 1 || a != 1 {
		t.Errorf("execute received %d, applied %d; want exactly 1 and 1", r, a)
	}
	if n := srv.Received("payment.query"); n != 1 {
		t.Errorf("queries = %d, want 1", n)
	}
}

func TestPaymentFinalizeKeepsAnUnsettledOutcomeUnknownAgainstFake(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	p := createInitiated(t, c, bkash.IntentSale, bkash.Taka(300))
	if err := srv.Approve(p.PaymentID, bkashtest.PayingWallets[4]); err != nil {
		t.Fatal(err)
	}
	// The connection drops before bKash executes anything.
	srv.Inject("payment.execute", bkashtest.Fault{Drop: true})
	got, err := c.Payments.Finalize(context.Background(), p.PaymentID)
	var ou *bkash.OutcomeUnknownError
	if got != nil || !errors.As(err, &ou) || ou.Op != "payment.execute" {
		t.Fatalf("Finalize = %+v, %v; want the original *OutcomeUnknownError", got, err)
	}
	if r, a := srv.Received("payment.execute"), srv.Applied("payment.execute"); r != 1 || a != 0 {
		t.Errorf("execute received %d, applied %d; want 1 and 0 (never re-sent)", r, a)
	}
	if n := srv.Received("payment.query"); n < 1 || n > 3 {
		t.Errorf("queries = %d, want 1 to 3", n)
	}
	// The payment is still executable: the caller's next step after querying.
	if done, err := c.Payments.Execute(context.Background(), p.PaymentID); err != nil || done.Status != bkash.StatusCompleted {
		t.Errorf("Execute after reconciling = %+v, %v", done, err)
	}
}

func TestPaymentSearchUnknownTrxIDAgainstFake(t *testing.T) {
	t.Parallel()
	_, c := newIntegration(t, nil)
	_, err := c.Payments.Search(context.Background(), "NOSUCHTRX1")
	if !errors.Is(err, bkash.CodeTransactionNotFound) {
		t.Errorf("Search: err = %v, want 2033", err)
	}
}

func TestPaymentWithAgreementAgainstFake(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	ctx := context.Background()
	wallet := bkashtest.PayingWallets[5]

	ag, err := c.Agreements.Create(ctx, &bkash.CreateAgreementParams{PayerReference: wallet,
		CallbackURL: "https://shop.example.com/bkash/agreement"})
	if err != nil {
		t.Fatalf("Agreements.Create: %v", err)
	}
	if err := srv.Approve(ag.PaymentID, wallet); err != nil {
		t.Fatal(err)
	}
	ag, err = c.Agreements.Execute(ctx, ag.PaymentID)
	if err != nil || ag.AgreementID == "" {
		t.Fatalf("Agreements.Execute = %+v, %v", ag, err)
	}

	p, err := c.Payments.Create(ctx, &bkash.CreatePaymentParams{Amount: bkash.Taka(99), InvoiceNumber: "INT-0001",
		PayerReference: wallet, CallbackURL: "https://shop.example.com/bkash/callback", AgreementID: ag.AgreementID})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if p.Mode != "0001" || p.AgreementID != ag.AgreementID || p.Status != bkash.StatusInitiated {
		t.Errorf("created = %+v; want mode 0001 with agreement %s", p, ag.AgreementID)
	}
	if err := srv.Approve(p.PaymentID, ""); err != nil { // PIN only, the agreement's wallet
		t.Fatal(err)
	}
	done, err := c.Payments.Finalize(ctx, p.PaymentID)
	if err != nil || done.Status != bkash.StatusCompleted || done.AgreementID != ag.AgreementID || done.CustomerMSISDN != wallet {
		t.Fatalf("Finalize = %+v, %v", done, err)
	}
	q, err := c.Payments.Query(ctx, p.PaymentID)
	if err != nil || q.Mode != "0001" || q.AgreementID != ag.AgreementID || q.TrxID != done.TrxID {
		t.Errorf("Query = %+v, %v", q, err)
	}
}

func TestIntegrationSaleCheckout(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()
	amount := bkash.Taka(1250) + bkash.Poisha(50)

	p, err := client.Payments.Create(ctx, saleParams(amount, bkash.IntentSale))
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != bkash.StatusInitiated || p.Amount != amount || p.Mode != "0011" ||
		!strings.HasPrefix(p.BkashURL, srv.URL+"/checkout?paymentId="+p.PaymentID) ||
		!strings.Contains(p.SuccessCallbackURL, "status=success") || p.CreatedAt.IsZero() {
		t.Errorf("Create: %+v", p)
	}

	_, err = client.Payments.Execute(ctx, p.PaymentID)
	wantAPIError(t, "execute before approval", err, bkash.CodeInvalidPaymentState)

	if err := srv.Approve(p.PaymentID, fakeWallet); err != nil {
		t.Fatal(err)
	}
	e, err := client.Payments.Execute(ctx, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != bkash.StatusCompleted || e.TrxID == "" || e.CustomerMSISDN != fakeWallet || e.Amount != amount ||
		e.InvoiceNumber != "INV-1001" || e.ExecutedAt.IsZero() || e.Intent != bkash.IntentSale {
		t.Errorf("Execute: %+v", e)
	}

	_, err = client.Payments.Execute(ctx, p.PaymentID)
	wantAPIError(t, "second execute", err, bkash.CodeExecutionAlreadyCompleted)
	f, err := client.Payments.Finalize(ctx, p.PaymentID)
	if err != nil || f.Status != bkash.StatusCompleted || f.TrxID != e.TrxID {
		t.Errorf("Finalize of an executed payment: %+v, %v", f, err)
	}

	q, err := client.Payments.Query(ctx, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != bkash.StatusCompleted || q.TrxID != e.TrxID || q.InvoiceNumber != "INV-1001" ||
		q.VerificationStatus != "Complete" || q.Amount != amount || !q.ExecutedAt.Equal(e.ExecutedAt.Time) {
		t.Errorf("Query: %+v", q)
	}

	tx, err := client.Payments.Search(ctx, e.TrxID)
	if err != nil {
		t.Fatal(err)
	}
	if tx.TrxID != e.TrxID || tx.Amount != amount || tx.Status != bkash.StatusCompleted || tx.CustomerMSISDN != fakeWallet ||
		tx.MaxRefundableAmount != amount || tx.CreditedAmount != amount || tx.InitiatedAt.IsZero() || tx.CompletedAt.IsZero() {
		t.Errorf("Search: %+v", tx)
	}
	_, err = client.Payments.Search(ctx, "NOSUCHTRX1")
	wantAPIError(t, "search unknown", err, bkash.CodeTransactionNotFound)

	if srv.Grants() != 1 {
		t.Errorf("Grants() = %d: the client must grant once and reuse the token", srv.Grants())
	}
}

func TestIntegrationAuthorizeCaptureVoid(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()

	held := approved(t, srv, client, saleParams(bkash.Taka(300), bkash.IntentAuthorization))
	e, err := client.Payments.Execute(ctx, held.PaymentID)
	if err != nil || e.Status != bkash.StatusAuthorized {
		t.Fatalf("Execute authorization: %+v, %v", e, err)
	}
	c, err := client.Payments.Capture(ctx, held.PaymentID)
	if err != nil || c.Status != bkash.StatusCompleted || c.TrxID != e.TrxID || c.UpdatedAt.IsZero() {
		t.Errorf("Capture: %+v, %v", c, err)
	}
	_, err = client.Payments.Capture(ctx, held.PaymentID)
	wantAPIError(t, "second capture (errorCode envelope)", err, bkash.CodeAuthorizationProcessed)

	voided := approved(t, srv, client, saleParams(bkash.Taka(50), bkash.IntentAuthorization))
	if _, err := client.Payments.Execute(ctx, voided.PaymentID); err != nil {
		t.Fatal(err)
	}
	v, err := client.Payments.Void(ctx, voided.PaymentID)
	if err != nil || v.Status != bkash.StatusCancelled {
		t.Errorf("Void: %+v, %v", v, err)
	}
	_, err = client.Payments.Void(ctx, voided.PaymentID)
	wantAPIError(t, "second void", err, bkash.CodeAuthorizationProcessed)
	if q, err := client.Payments.Query(ctx, voided.PaymentID); err != nil || q.Status != bkash.StatusCancelled {
		t.Errorf("Query after void: %+v, %v", q, err)
	}
}

func TestIntegrationSandboxWallets(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()
	for wallet, code := range map[string]bkash.ErrorCode{
		bkashtest.WalletInsufficientBalance: bkash.CodeInsufficientBalance,
		bkashtest.WalletDebitBlocked:        bkash.CodeDebitPartyBlocked,
	} {
		p, err := client.Payments.Create(ctx, saleParams(bkash.Taka(100), bkash.IntentSale))
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Approve(p.PaymentID, wallet); err != nil {
			t.Fatal(err)
		}
		_, err = client.Payments.Finalize(ctx, p.PaymentID)
		if ae := wantAPIError(t, "finalize with "+wallet, err, code); ae != nil && ae.Class() != bkash.ClassCustomer {
			t.Errorf("%s: class %v, want customer", wallet, ae.Class())
		}
		if srv.Applied("payment.query") != 0 {
			t.Errorf("Finalize queried after a definite customer error")
		}
	}
}

// TestIntegrationMoneyCallsAreNeverResent injects every way an execute can
// lose its answer and checks that the SDK sends it once and reports the
// outcome as unknown; Finalize then finds the truth.
func TestIntegrationMoneyCallsAreNeverResent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     bkashtest.Fault
		completed bool // the fault hits after the money moved
	}{
		{"dropped before", bkashtest.Fault{Drop: true}, false},
		{"dropped after", bkashtest.Fault{Drop: true, AfterApply: true}, true},
		{"503 HTML before", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, Body: "<html>503 Service Unavailable</html>"}, false},
		{"502 HTML after", bkashtest.Fault{HTTPStatus: http.StatusBadGateway, Body: "<html>502 Bad Gateway</html>", AfterApply: true}, true},
		{"truncated JSON after", bkashtest.Fault{Body: `{"statusCode":"0000","paymentID":"TR`, AfterApply: true}, true},
		{"timeout after", bkashtest.Fault{Delay: 10 * time.Second, AfterApply: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, client := newIntegration(t, nil)
			p := approved(t, srv, client, saleParams(bkash.Taka(10), bkash.IntentSale))
			srv.Inject("payment.execute", tt.fault)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := client.Payments.Execute(ctx, p.PaymentID)
			wantUnknown(t, "Execute", err)
			if got := srv.Received("payment.execute"); got != 1 {
				t.Errorf("execute sent %d times", got)
			}
			applied := 0
			if tt.completed {
				applied = 1
			}
			if got := srv.Applied("payment.execute"); got != applied {
				t.Errorf("before Finalize the payment was executed %d times, want %d", got, applied)
			}

			// Finalize executes once more (answered 2117 when the money had
			// moved) and reads the truth.
			f, err := client.Payments.Finalize(context.Background(), p.PaymentID)
			if err != nil || f.Status != bkash.StatusCompleted {
				t.Errorf("Finalize: %+v, %v", f, err)
			}
			if got := srv.Applied("payment.execute"); got != 1 {
				t.Errorf("the payment was executed %d times", got)
			}
		})
	}
}

const pathQuery = "/v1.2.0-beta/tokenized/checkout/payment/status"

// The request bodies of create and refund, byte for byte: members in
// bKash's order, the amount a JSON string with two decimals, no HTML
// escaping of the callback URL's '&'.
func TestAmountEncodingIsByteExact(t *testing.T) {
	t.Parallel()
	amounts := map[bkash.Amount]string{
		bkash.Poisha(1): "0.01", bkash.Poisha(5): "0.05", bkash.Poisha(10): "0.10", bkash.Taka(1): "1.00",
		bkash.Taka(1250) + 50: "1250.50", bkash.Taka(999999) + 99: "999999.99", bkash.MaxAmount: "1000000000000.00",
	}
	for a, text := range amounts {
		t.Run(text, func(t *testing.T) {
			t.Parallel()
			m := newMockBkash(t)
			m.reply(pathCreate, http.StatusOK, "payment/create_0011_ok.json")
			_, err := m.client.Payments.Create(context.Background(), &bkash.CreatePaymentParams{
				Amount: a, InvoiceNumber: "A-1001-1", PayerReference: "01770618575",
				CallbackURL: "https://shop.example.com/cb?order=A-1001&x=<y>",
			})
			if err != nil {
				t.Fatal(err)
			}
			want := `{"mode":"0011","payerReference":"01770618575","callbackURL":"https://shop.example.com/cb?order=A-1001&x=<y>","amount":"` + text +
				`","currency":"BDT","intent":"sale","merchantInvoiceNumber":"A-1001-1"}`
			if got := string(m.sent(pathCreate)[0]); got != want {
				t.Errorf("create body\n got %s\nwant %s", got, want)
			}

			for api, path := range map[bkash.RefundAPI]string{bkash.RefundV1: pathRefundV1, bkash.RefundV2: pathRefundV2} {
				m := newMockBkash(t, bkash.WithRefundAPI(api))
				fixture := "refund/v1_create_ok.json"
				if api == bkash.RefundV2 {
					fixture = "refund/v2_create_ok.json"
				}
				m.reply(path, http.StatusOK, fixture)
				_, _ = m.client.Refunds.Create(context.Background(), &bkash.RefundParams{PaymentID: "TR0011X", TrxID: "T1", Amount: a, SKU: "s", Reason: "r"})
				sent := m.sent(path)
				if len(sent) != 1 {
					t.Fatalf("%v: %d refund requests", api, len(sent))
				}
				want := `{"paymentID":"TR0011X","amount":"` + text + `","trxID":"T1","sku":"s","reason":"r"}`
				if api == bkash.RefundV2 {
					want = `{"paymentId":"TR0011X","trxId":"T1","refundAmount":"` + text + `","sku":"s","reason":"r"}`
				}
				if string(sent[0]) != want {
					t.Errorf("%v refund body\n got %s\nwant %s", api, sent[0], want)
				}
			}
		})
	}
}

// Bad amounts never reach the wire.
func TestBadAmountsAreValidationErrors(t *testing.T) {
	t.Parallel()
	for _, a := range []bkash.Amount{0, -1, bkash.Taka(-5), bkash.MaxAmount + 1, bkash.Taka(1 << 62), bkash.Amount(-1 << 63)} {
		m := newMockBkash(t)
		_, err := m.client.Payments.Create(context.Background(), saleParams(a, bkash.IntentSale))
		var ve *bkash.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("create %d: %v, want *ValidationError", int64(a), err)
		}
		_, err = m.client.Refunds.Create(context.Background(), &bkash.RefundParams{PaymentID: "TR0011X", TrxID: "T1", Amount: a, SKU: "s", Reason: "r"})
		if !errors.As(err, &ve) {
			t.Errorf("refund %d: %v, want *ValidationError", int64(a), err)
		}
		if n := m.calls(); n != 0 {
			t.Errorf("amount %d: %d requests sent", int64(a), n)
		}
	}
}

func amountAnswer(amount string) string {
	return `{"statusCode":"0000","statusMessage":"Successful","paymentID":"TR0011X","trxID":"T1","transactionStatus":"Completed","amount":` + amount + `}`
}

// checkHostileAmounts sends each amount in an execute and a query answer
// and fails unless both calls return an error (execute: an unknown outcome).
func checkHostileAmounts(t *testing.T, amounts []string) {
	for _, amount := range amounts {
		t.Run(amount, func(t *testing.T) {
			t.Parallel()
			m := newMockBkash(t)
			m.replies(pathQuery, http.StatusOK, amountAnswer(amount))
			m.replies(pathExecute, http.StatusOK, amountAnswer(amount))
			p, err := m.client.Payments.Query(context.Background(), "TR0011X")
			if err == nil {
				t.Errorf("query: amount %s decoded as %v (%d poisha), want an error", amount, p.Amount, int64(p.Amount))
			}
			p, err = m.client.Payments.Execute(context.Background(), "TR0011X")
			if err == nil {
				t.Errorf("execute: amount %s decoded as %v, want an *OutcomeUnknownError", amount, p.Amount)
			} else {
				wantUnknown(t, "execute", err)
			}
		})
	}
}

func TestHostileAnswerAmountsAreErrors(t *testing.T) {
	t.Parallel()
	checkHostileAmounts(t, []string{
		`"1e3"`, `1e3`, `1E3`, `1.0e2`, `"-5.00"`, `-5`, `-0`, `"+12"`, `"１２"`, `"١٢"`, `"12.345"`, `12.345`,
		`" 12"`, `"12 "`, `"0x10"`, `"1_000"`, `"12."`, `".5"`, `"NaN"`, `"Infinity"`, `true`, `{}`, `[]`, `"12\u0000"`,
		`"99999999999999999999"`, `99999999999999999999`, `"1,000.00"`, `"12.5.1"`, `"\u0031\u0032\u002e\u0035\u0035\u0035"`,
	})
}
