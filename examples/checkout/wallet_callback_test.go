package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/examples/checkout/shop"
)

// TestForgedAgreementCallbackDoesNotBlockTheRealLink: the callback of a
// wallet link is bound to its attempt like a payment's. Anyone who learns
// the agreement-creation paymentID must not be able to cancel the link
// (or trigger its execute) without the key in the URL given to bKash.
func TestForgedAgreementCallbackDoesNotBlockTheRealLink(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	// Another link's key: valid, but not for ours.
	ts.post("/wallets", url.Values{"msisdn": {"01770618575"}})
	other := ts.wallets()[0]
	otherFake, _ := ts.fake.Payment(other.PaymentID)

	page := ts.post("/wallets", url.Values{"msisdn": {"01619777283"}})
	var pid string
	for _, w := range ts.wallets() {
		if w.PaymentID != other.PaymentID {
			pid = w.PaymentID
		}
	}
	stranger := &http.Client{Timeout: 10 * time.Second, Transport: ownTransport()}
	for name, target := range map[string]string{
		"no key":             ts.url + "/bkash/agreement/callback?paymentID=" + url.QueryEscape(pid) + "&status=cancel",
		"another link's key": otherFake.CallbackURL + "?paymentID=" + url.QueryEscape(pid) + "&status=cancel",
		"a made-up key":      ts.url + "/bkash/agreement/callback/AAAAAAAAAAAAAAAAAAAAAA?paymentID=" + url.QueryEscape(pid) + "&status=failure",
		"success, no key":    ts.url + "/bkash/agreement/callback?paymentID=" + url.QueryEscape(pid) + "&status=success",
	} {
		resp, err := stranger.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged agreement callback (%s): status %d, want 403", name, resp.StatusCode)
		}
	}
	if w, err := ts.store.Wallet(pid); err != nil || w.State != shop.WalletPending {
		t.Fatalf("after forged callbacks the wallet is %q (%v), want pending (nothing changed)", w.State, err)
	}
	if n := ts.fake.Received("agreement.execute"); n != 0 {
		t.Errorf("forged callbacks sent agreement execute %d times", n)
	}
	// The customer's real approval still links the wallet.
	wallets := ts.submitBkashPage(page, map[string]string{"wallet": "01619777283", "otp": bkashtest.OTP, "pin": bkashtest.PIN}, "confirm")
	if w, _ := ts.store.Wallet(pid); w.State != shop.WalletActive {
		t.Fatalf("the real callback left the wallet %q (landed on %s):\n%s", w.State, wallets.url, wallets.body)
	}
	if !strings.Contains(otherFake.CallbackURL, "/bkash/agreement/callback/") {
		t.Errorf("agreement callback URL %q carries no key", otherFake.CallbackURL)
	}
}
