package bkash_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// Integration tests of callback.go: the customer's browser comes back from
// bKash's page to the merchant's callback URL (harness: harness_test.go).

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
