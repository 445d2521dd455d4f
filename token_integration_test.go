// Integration tests of the token files (token.go's Client.Token, the
// manager's fallback from a refused refresh to a grant) through the
// exported API, against the fake bKash of package bkashtest. The tests of
// their unexported code are in token_test.go, tokenmanager_test.go and the
// other token*_test.go files.

package bkash_test

import (
	"context"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// TestRefusedRefreshFallsBackToGrant: a token from elsewhere in a shared
// store is rejected (401), its refresh_token is refused with a bKash code,
// and the client grants a new token instead of failing the call.
func TestRefusedRefreshFallsBackToGrant(t *testing.T) {
	t.Parallel()
	store := bkash.NewMemoryTokenStore()
	other := bkashtest.NewServer()
	defer other.Close()
	srv := bkashtest.NewServer()
	defer srv.Close()
	ctx := context.Background()

	a, err := bkash.NewClient(bkash.Sandbox, other.Credentials(), bkash.WithBaseURL(other.URL), bkash.WithTokenStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Payments.Query(ctx, "TR0011Warm"); err == nil {
		t.Fatal("query of an unknown payment succeeded")
	}
	if other.Grants() != 1 {
		t.Fatalf("other server granted %d times, want 1", other.Grants())
	}

	// The store keeps one renewal budget for both clients (the same
	// credentials): a's grant, b's refresh and b's grant make 3.
	b, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL), bkash.WithTokenStore(store),
		bkash.WithTokenRenewalBudget(3))
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Payments.Create(ctx, &bkash.CreatePaymentParams{Amount: bkash.Taka(10), InvoiceNumber: "INV-FALLBACK",
		PayerReference: "01770618575", CallbackURL: "https://shop.example/cb"})
	if err != nil {
		t.Fatalf("create with a foreign stored token: %v", err)
	}
	if p.PaymentID == "" {
		t.Fatal("no paymentID")
	}
	if got := srv.Received("token.refresh"); got != 1 {
		t.Fatalf("refresh received %d times, want 1 (tried first)", got)
	}
	if got := srv.Grants(); got != 1 {
		t.Fatalf("grants = %d, want 1 (the fallback)", got)
	}
}

// TestClientTokenIsACopy: changing what Client.Token returns does not change
// the client's token.
func TestClientTokenIsACopy(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	c, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	issued, expires := string(first.IDToken), first.ExpiresAt
	first.IDToken = "tampered"
	first.ExpiresAt = expires.Add(-48 * time.Hour)
	again, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.IDToken) != issued || !again.ExpiresAt.Equal(expires) {
		t.Fatal("the client's token changed when the caller changed the returned one")
	}
	if srv.Grants() != 1 {
		t.Fatalf("grants = %d, want 1", srv.Grants())
	}
}
