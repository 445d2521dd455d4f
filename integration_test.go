package bkash_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// These tests run the SDK's services against the fake bKash of package
// bkashtest: every call goes over HTTP, through the real pipeline (tokens,
// retry classes, envelopes), to a server that keeps state like bKash.

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

// TestIntegrationCheckoutThroughTheHostedPage plays the whole browser flow
// with net/http only: GET bkashURL, POST the form, follow the redirect to the
// merchant's callback handler, which parses the callback and finalizes.
func TestIntegrationCheckoutThroughTheHostedPage(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	type result struct {
		cb  *bkash.Callback
		p   *bkash.Payment
		err error
	}
	results := make(chan result, 1)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, err := bkash.ParseCallback(r.URL.Query())
		if err != nil {
			results <- result{err: err}
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var p *bkash.Payment
		if cb.Status == bkash.CallbackSuccess {
			p, err = client.Payments.Finalize(r.Context(), cb.PaymentID)
		}
		results <- result{cb: cb, p: p, err: err}
		_, _ = io.WriteString(w, "Thank you for your order")
	}))
	defer shop.Close()

	params := saleParams(bkash.Taka(480), bkash.IntentSale)
	params.CallbackURL = shop.URL + "/bkash/callback?order=A-1001"
	p, err := client.Payments.Create(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}

	browserTr := &http.Transport{}
	defer browserTr.CloseIdleConnections()
	browser := &http.Client{Transport: browserTr, Timeout: 5 * time.Second}
	resp, err := browser.Get(p.BkashURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET bkashURL: %d", resp.StatusCode)
	}
	form := url.Values{"action": {"confirm"}, "wallet": {fakeWallet}, "otp": {bkashtest.OTP}, "pin": {bkashtest.PIN}}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	resp, err = browser.PostForm(srv.URL+"/checkout", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Thank you") {
		t.Fatalf("after the form: %d %s", resp.StatusCode, body)
	}

	r := <-results
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.cb.PaymentID != p.PaymentID || r.cb.Status != bkash.CallbackSuccess || r.cb.Signature == "" ||
		r.cb.APIVersion != "1.2.0-beta/" || r.cb.Extra.Get("order") != "A-1001" {
		t.Errorf("callback: %+v", r.cb)
	}
	if r.p.Status != bkash.StatusCompleted || r.p.CustomerMSISDN != fakeWallet || r.p.Amount != bkash.Taka(480) {
		t.Errorf("Finalize in the callback: %+v", r.p)
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

func TestIntegrationAgreements(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()

	ag, err := client.Agreements.Create(ctx, &bkash.CreateAgreementParams{PayerReference: fakeWallet, CallbackURL: shopCallback})
	if err != nil {
		t.Fatal(err)
	}
	if ag.Status != bkash.AgreementInitiated || ag.PaymentID == "" || ag.BkashURL == "" {
		t.Errorf("Create: %+v", ag)
	}
	_, err = client.Agreements.Execute(ctx, ag.PaymentID)
	wantAPIError(t, "execute before approval", err, bkash.CodeAgreementNotReady)
	if err := srv.Approve(ag.PaymentID, fakeWallet); err != nil {
		t.Fatal(err)
	}
	done, err := client.Agreements.Execute(ctx, ag.PaymentID)
	if err != nil || done.AgreementID == "" || done.Status != bkash.AgreementCompleted || done.CustomerMSISDN != fakeWallet {
		t.Fatalf("Execute: %+v, %v", done, err)
	}
	if srv.Applied("agreement.execute") != 1 || srv.Received("payment.execute") != 0 {
		t.Errorf("agreement execute counted as %d agreement / %d payment executes", srv.Applied("agreement.execute"), srv.Received("payment.execute"))
	}
	q, err := client.Agreements.Query(ctx, done.AgreementID)
	if err != nil || q.Status != bkash.AgreementCompleted || q.PaymentID != ag.PaymentID || q.ExecutedAt.IsZero() {
		t.Errorf("Query: %+v, %v", q, err)
	}

	params := saleParams(bkash.Taka(99), bkash.IntentSale)
	params.AgreementID = done.AgreementID
	p, err := client.Payments.Create(ctx, params)
	if err != nil || p.Mode != "0001" || p.AgreementID != done.AgreementID {
		t.Fatalf("Create with agreement: %+v, %v", p, err)
	}
	if err := srv.Approve(p.PaymentID, ""); err != nil {
		t.Fatal(err)
	}
	if e, err := client.Payments.Execute(ctx, p.PaymentID); err != nil || e.Status != bkash.StatusCompleted || e.AgreementID != done.AgreementID {
		t.Errorf("Execute with agreement: %+v, %v", e, err)
	}

	c, err := client.Agreements.Cancel(ctx, done.AgreementID)
	if err != nil || c.Status != bkash.AgreementCancelled || c.CancelledAt.IsZero() {
		t.Errorf("Cancel: %+v, %v", c, err)
	}
	again, err := client.Agreements.Cancel(ctx, done.AgreementID)
	if err != nil || again == nil || again.Status != bkash.AgreementCancelled {
		t.Errorf("second Cancel (2053 is success): %+v, %v", again, err)
	}
	if srv.Received("agreement.cancel") != 2 || srv.Applied("agreement.query") != 2 {
		t.Errorf("second cancel: %d cancels, %d queries", srv.Received("agreement.cancel"), srv.Applied("agreement.query"))
	}
	_, err = client.Payments.Create(ctx, params)
	wantAPIError(t, "pay with a cancelled agreement", err, bkash.CodeInvalidAgreementState)
}

func TestIntegrationRefunds(t *testing.T) {
	t.Parallel()
	for _, api := range []bkash.RefundAPI{bkash.RefundV1, bkash.RefundV2} {
		t.Run(api.String(), func(t *testing.T) {
			t.Parallel()
			srv, client := newIntegration(t, nil, bkash.WithRefundAPI(api))
			ctx := context.Background()
			p := approved(t, srv, client, saleParams(bkash.Taka(150)+bkash.Poisha(50), bkash.IntentSale))
			e, err := client.Payments.Execute(ctx, p.PaymentID)
			if err != nil {
				t.Fatal(err)
			}
			r1, err := client.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: e.TrxID, Amount: bkash.Taka(50), SKU: "SKU-1", Reason: "damaged"})
			if err != nil || r1.RefundTrxID == "" || r1.Amount != bkash.Taka(50) || r1.OriginalTrxID != e.TrxID || r1.Status != bkash.StatusCompleted || r1.CompletedAt.IsZero() {
				t.Fatalf("Create: %+v, %v", r1, err)
			}
			r2, err := client.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: e.TrxID, Amount: bkash.Taka(100), SKU: "SKU-2", Reason: "damaged"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: e.TrxID, Amount: bkash.Poisha(51), SKU: "SKU-3", Reason: "damaged"})
			want := bkash.CodeRefundExceedsOriginal
			if api == bkash.RefundV2 {
				want = bkash.CodeRefundAmountInvalid
			}
			if ae := wantAPIError(t, "refund past the balance", err, want); ae != nil && api == bkash.RefundV2 && (ae.HTTPStatus != http.StatusBadRequest || ae.MessageBn == "") {
				t.Errorf("v2 error: %+v", ae)
			}

			st, err := client.Refunds.Status(ctx, p.PaymentID, e.TrxID)
			if err != nil {
				t.Fatal(err)
			}
			if api == bkash.RefundV2 {
				if len(st.Refunds) != 2 || st.Refunded() != bkash.Taka(150) || st.OriginalAmount != p.Amount {
					t.Errorf("v2 Status: %+v", st)
				}
			} else if len(st.Refunds) != 1 || st.Refunds[0].RefundTrxID != r2.RefundTrxID {
				t.Errorf("v1 Status (the latest refund): %+v", st)
			}
			if got := srv.RefundsOf(e.TrxID); len(got) != 2 {
				t.Errorf("the fake holds %d refunds", len(got))
			}
			if tx, err := client.Payments.Search(ctx, r1.RefundTrxID); err != nil || tx.Amount != bkash.Taka(50) || tx.OriginalTrxAmount != p.Amount {
				t.Errorf("Search of a refund: %+v, %v", tx, err)
			}
		})
	}
}

func TestIntegrationTokenExpiryAndRenewal(t *testing.T) {
	t.Parallel()
	clock := bkashtest.NewClock(time.Now())
	srv, client := newIntegration(t, []bkashtest.Option{bkashtest.WithClock(clock.Now)})
	ctx := context.Background()
	p, err := client.Payments.Create(ctx, saleParams(bkash.Taka(10), bkash.IntentSale))
	if err != nil {
		t.Fatal(err)
	}
	// The fake's hour passes; the client still believes in its token.
	clock.Advance(61 * time.Minute)
	if _, err := client.Payments.Query(ctx, p.PaymentID); err != nil {
		t.Fatalf("Query after the token expired: %v (the client must renew and replay)", err)
	}
	renewals := srv.Applied("token.grant") + srv.Applied("token.refresh")
	if renewals != 2 || srv.Received("payment.query") != 2 || srv.Applied("payment.query") != 1 {
		t.Errorf("grants %d, refreshes %d, queries received %d applied %d",
			srv.Grants(), srv.Applied("token.refresh"), srv.Received("payment.query"), srv.Applied("payment.query"))
	}

	// A third renewal within the hour is refused by the client, not sent.
	srv.ExpireTokens()
	_, err = client.Payments.Query(ctx, p.PaymentID)
	if !errors.Is(err, bkash.ErrTokenBudgetExceeded) {
		t.Errorf("a third renewal: %v, want ErrTokenBudgetExceeded", err)
	}
	if got := srv.Applied("token.grant") + srv.Applied("token.refresh"); got != 2 {
		t.Errorf("%d renewals reached the server, want 2", got)
	}
}

func TestIntegrationGatewayRejectionIsReplayedOnce(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()
	p := approved(t, srv, client, saleParams(bkash.Taka(10), bkash.IntentSale))
	// A money call rejected at the gateway was never processed: the client
	// renews its token and replays it once.
	srv.Inject("payment.execute", bkashtest.Fault{HTTPStatus: http.StatusUnauthorized})
	if e, err := client.Payments.Execute(ctx, p.PaymentID); err != nil || e.Status != bkash.StatusCompleted {
		t.Errorf("Execute after a 401: %+v, %v", e, err)
	}
	if srv.Received("payment.execute") != 2 || srv.Applied("payment.execute") != 1 {
		t.Errorf("execute received %d, applied %d", srv.Received("payment.execute"), srv.Applied("payment.execute"))
	}
}

func TestIntegrationWrongCredentials(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	creds := srv.Credentials()
	creds.Password = "wrong"
	client, err := bkash.NewClient(bkash.Sandbox, creds, bkash.WithBaseURL(srv.URL), bkash.WithRetryPolicy(fastRetries))
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Payments.Query(context.Background(), "TR0011x")
	if !errors.Is(err, bkash.CodeSystemError) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: %v", err)
	}
	if srv.Grants() != 0 || srv.Received("payment.query") != 0 {
		t.Errorf("grants %d, queries %d", srv.Grants(), srv.Received("payment.query"))
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

func TestIntegrationRefundOutcomeUnknown(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()
	p := approved(t, srv, client, saleParams(bkash.Taka(100), bkash.IntentSale))
	e, err := client.Payments.Execute(ctx, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject("refund.create", bkashtest.Fault{Drop: true, AfterApply: true})
	params := &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: e.TrxID, Amount: bkash.Taka(40), SKU: "SKU-9", Reason: "late"}
	_, err = client.Refunds.Create(ctx, params)
	wantUnknown(t, "refund with a lost answer", err)
	if srv.Received("refund.create") != 1 {
		t.Errorf("refund sent %d times", srv.Received("refund.create"))
	}
	st, err := client.Refunds.Status(ctx, p.PaymentID, e.TrxID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Find(bkash.Taka(40), "SKU-9"); !ok {
		t.Errorf("Status does not show the refund that went through: %+v", st)
	}
}

func TestIntegrationReadsAndCreatesRetry(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()
	p := approved(t, srv, client, saleParams(bkash.Taka(10), bkash.IntentSale))

	srv.Inject("payment.query", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, Times: 2})
	if _, err := client.Payments.Query(ctx, p.PaymentID); err != nil {
		t.Errorf("Query through two 503s: %v", err)
	}
	if srv.Received("payment.query") != 3 {
		t.Errorf("query received %d times, want 3", srv.Received("payment.query"))
	}

	srv.Inject("payment.query", bkashtest.Fault{Drop: true})
	if _, err := client.Payments.Query(ctx, p.PaymentID); err != nil {
		t.Errorf("Query through a dropped connection: %v", err)
	}

	srv.Inject("payment.query", bkashtest.Fault{Code: "2003"})
	_, err := client.Payments.Query(ctx, p.PaymentID)
	wantAPIError(t, "query answered 2003", err, bkash.CodeProcessFailed)

	// create: a 503 without Retry-After is not retried; with it, it is.
	before := srv.Received("payment.create")
	srv.Inject("payment.create", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable})
	if _, err := client.Payments.Create(ctx, saleParams(bkash.Taka(10), bkash.IntentSale)); err == nil {
		t.Error("Create through a 503 without Retry-After succeeded")
	}
	srv.Inject("payment.create", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, RetryAfter: time.Second})
	if _, err := client.Payments.Create(ctx, saleParams(bkash.Taka(10), bkash.IntentSale)); err != nil {
		t.Errorf("Create through a 503 with Retry-After: %v", err)
	}
	if got := srv.Received("payment.create") - before; got != 3 {
		t.Errorf("creates received %d, want 1 + 2", got)
	}

	// An agreement cancel is retried like a read.
	ag, err := client.Agreements.Create(ctx, &bkash.CreateAgreementParams{PayerReference: fakeWallet, CallbackURL: shopCallback})
	if err != nil {
		t.Fatal(err)
	}
	_ = srv.Approve(ag.PaymentID, fakeWallet)
	done, err := client.Agreements.Execute(ctx, ag.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject("agreement.cancel", bkashtest.Fault{HTTPStatus: http.StatusBadGateway})
	if c, err := client.Agreements.Cancel(ctx, done.AgreementID); err != nil || c.Status != bkash.AgreementCancelled {
		t.Errorf("Cancel through a 502: %+v, %v", c, err)
	}
}

func TestIntegrationConcurrentCheckoutsShareOneToken(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			ctx := context.Background()
			p, err := client.Payments.Create(ctx, saleParams(bkash.Taka(5), bkash.IntentSale))
			if err == nil {
				err = srv.Approve(p.PaymentID, fakeWallet)
			}
			if err == nil {
				_, err = client.Payments.Finalize(ctx, p.PaymentID)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if srv.Grants() != 1 || srv.Applied("payment.execute") != n {
		t.Errorf("grants %d, executes %d", srv.Grants(), srv.Applied("payment.execute"))
	}
}
