package bkash_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// TestIntegrationWrongRouteSpendsNoRenewal: a merchant whose v2 refund route
// does not exist at bKash's gateway (docs/wire.md, "Gateway answers") gets
// 403 "Missing Authentication Token" on every refund. Each is a *ConfigError
// naming the URL; the token is neither renewed nor the refund replayed.
// Before, every refund renewed the token and replayed once, so two refunds
// spent the hour's renewal budget.
func TestIntegrationWrongRouteSpendsNoRenewal(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil, bkash.WithRefundAPI(bkash.RefundV2))
	p := approved(t, srv, c, saleParams(bkash.Taka(100), bkash.IntentSale))
	ex, err := c.Payments.Execute(context.Background(), p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject("refund.create", bkashtest.Fault{HTTPStatus: http.StatusForbidden, Body: `{"message":"Missing Authentication Token"}`, Times: 3})
	for i := range 3 {
		_, err := c.Refunds.Create(context.Background(), &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: ex.TrxID,
			Amount: bkash.Taka(10), SKU: "SKU-1", Reason: "damaged"})
		if !errors.Is(err, bkash.ErrWrongRoute) || errors.Is(err, bkash.ErrOutcomeUnknown) {
			t.Fatalf("refund %d: err = %v, want ErrWrongRoute", i+1, err)
		}
		if !strings.Contains(err.Error(), srv.URL+"/v2/tokenized-checkout/refund/payment/transaction") {
			t.Errorf("err = %q, want it to name the URL", err)
		}
	}
	if got := srv.Received("refund.create"); got != 3 {
		t.Errorf("refunds received = %d, want 3 (no replay)", got)
	}
	if g, r := srv.Grants(), srv.Received("token.refresh"); g != 1 || r != 0 {
		t.Errorf("grants, refreshes = %d, %d; want 1, 0", g, r)
	}
	if got := len(srv.RefundsOf(ex.TrxID)); got != 0 {
		t.Errorf("refunds made = %d, want 0", got)
	}
}

// TestIntegrationRootWithAPIPathIsRefused: the base URL other libraries
// configure, with the version in it, is refused at NewClient instead of
// producing "Missing Authentication Token" on every call.
func TestIntegrationRootWithAPIPathIsRefused(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	_, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL+"/v1.2.0-beta"))
	if err == nil || !strings.Contains(err.Error(), `"`+srv.URL+`"`) {
		t.Fatalf("NewClient = %v, want an error naming %q", err, srv.URL)
	}
}

// TestIntegrationFirewallRejectsFreshTokenOnce: a firewall in front of bKash
// answers 403 "Forbidden" to every call although the grant worked. The first
// call reports a configuration error; no call renews the token. Before,
// each call renewed and replayed, and the second call already met
// ErrTokenBudgetExceeded.
func TestIntegrationFirewallRejectsFreshTokenOnce(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	srv.Inject("payment.create", bkashtest.Fault{HTTPStatus: http.StatusForbidden, Body: `{"message":"Forbidden"}`, Times: 4})
	for i := range 4 {
		_, err := c.Payments.Create(context.Background(), saleParams(bkash.Taka(10), bkash.IntentSale))
		if !errors.Is(err, bkash.ErrFreshTokenRejected) {
			t.Fatalf("create %d: err = %v, want ErrFreshTokenRejected", i+1, err)
		}
	}
	if g, r := srv.Grants(), srv.Received("token.refresh"); g != 1 || r != 0 {
		t.Errorf("grants, refreshes = %d, %d; want 1, 0", g, r)
	}
	if got := srv.Received("payment.create"); got != 4 {
		t.Errorf("creates received = %d, want 4 (one per call)", got)
	}
}
