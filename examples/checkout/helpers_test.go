package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/examples/checkout/shop"
)

// testShop is the shop served by httptest against its in-process fake
// bKash, and a customer's browser made of net/http and a cookie jar.
type testShop struct {
	t       *testing.T
	url     string
	app     *app
	fake    *bkashtest.Server
	store   *shop.Store
	browser *http.Client
	dataDir string
}

// startShop serves a shop whose store lives in dataDir ("" for a fresh one).
func startShop(t *testing.T, dataDir string) *testShop {
	t.Helper()
	return startShopWith(t, options{dataDir: dataDir})
}

// startShopWith serves a shop with opt (a fresh data directory when
// opt.dataDir is empty; test timings filled in).
func startShopWith(t *testing.T, opt options) *testShop {
	t.Helper()
	if opt.dataDir == "" {
		opt.dataDir = t.TempDir()
	}
	dataDir := opt.dataDir
	opt.refundSettle = refundSettleInTests
	opt.reconcileEvery = 50 * time.Millisecond
	opt.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	u := "http://" + ts.Listener.Addr().String()
	a, err := newApp(u, opt)
	if err != nil {
		ts.Close()
		t.Fatalf("newApp: %v", err)
	}
	ts.Config.Handler = a.shop.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		a.Close()
	})
	jar, _ := cookiejar.New(nil)
	return &testShop{
		t: t, url: u, app: a, fake: a.backend.Fake, store: a.shop.Store(),
		browser: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: ownTransport()},
		dataDir: dataDir,
	}
}

// page is a response as the browser saw it after following redirects.
type page struct {
	status int
	url    *url.URL
	body   string
}

func (p page) has(s string) bool { return strings.Contains(p.body, s) }

func (ts *testShop) do(req *http.Request) page {
	ts.t.Helper()
	resp, err := ts.browser.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(b)}
}

func (ts *testShop) get(path string) page {
	ts.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = ts.url + path
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	return ts.do(req)
}

// post submits a form to target (a path of the shop or an absolute URL).
func (ts *testShop) post(target string, form url.Values) page {
	ts.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = ts.url + target
	}
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return ts.do(req)
}

func (ts *testShop) addToCart(sku string, n int) {
	ts.t.Helper()
	for range n {
		if p := ts.post("/cart", url.Values{"sku": {sku}, "delta": {"1"}}); p.status != http.StatusOK {
			ts.t.Fatalf("add %s: status %d", sku, p.status)
		}
	}
}

// payCart presses "Pay with bKash" (optionally with a saved wallet) and
// returns bKash's page.
func (ts *testShop) payCart(form url.Values) page {
	ts.t.Helper()
	p := ts.post("/checkout", form)
	if p.status != http.StatusOK || !strings.HasPrefix(p.url.String(), ts.fake.URL+"/checkout") {
		ts.t.Fatalf("pay: landed on %s (status %d), want bKash's page at %s:\n%s", p.url, p.status, ts.fake.URL, p.body)
	}
	return p
}

var (
	reHidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	reAction = regexp.MustCompile(`<form method="post" action="([^"]+)" id="checkout">`)
)

// submitBkashPage fills bKash's hosted page like a customer: fields holds
// wallet, otp and pin (those the page shows) and action is "confirm" or
// "cancel". It returns the page the browser lands on back at the shop.
func (ts *testShop) submitBkashPage(bkash page, fields map[string]string, action string) page {
	ts.t.Helper()
	m := reAction.FindStringSubmatch(bkash.body)
	if m == nil {
		ts.t.Fatalf("no checkout form on bKash's page:\n%s", bkash.body)
	}
	action_, err := bkash.url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		ts.t.Fatal(err)
	}
	form := url.Values{"action": {action}}
	for _, h := range reHidden.FindAllStringSubmatch(bkash.body, -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	for k, v := range fields {
		if !strings.Contains(bkash.body, `name="`+k+`"`) {
			ts.t.Fatalf("bKash's page has no %q input:\n%s", k, bkash.body)
		}
		form.Set(k, v)
	}
	return ts.post(action_.String(), form)
}

// customer is what a customer types on bKash's page for a new payment.
var customer = map[string]string{"wallet": "01770618575", "otp": bkashtest.OTP, "pin": bkashtest.PIN}

// pinOnly is what a customer types for a saved-wallet payment.
var pinOnly = map[string]string{"pin": bkashtest.PIN}

// order reads an order from the store.
func (ts *testShop) order(id string) shop.Order {
	ts.t.Helper()
	o, err := ts.store.Order(id)
	if err != nil {
		ts.t.Fatalf("order %s: %v", id, err)
	}
	return o
}

// customerID is the browser's customer cookie.
func (ts *testShop) customerID() string {
	ts.t.Helper()
	u, _ := url.Parse(ts.url)
	for _, c := range ts.browser.Jar.Cookies(u) {
		if c.Name == "shop_customer" {
			return c.Value
		}
	}
	ts.t.Fatal("the browser has no customer cookie")
	return ""
}

// wallets returns the browser's saved wallets, in any state.
func (ts *testShop) wallets() []shop.Wallet {
	ts.t.Helper()
	ws, err := ts.store.CustomerWallets(ts.customerID())
	if err != nil {
		ts.t.Fatal(err)
	}
	return ws
}

// callback is the URL bKash sends the browser to for attempt paymentID with
// status: the callback URL the shop gave bKash (with the attempt's key),
// as the fake recorded it, plus bKash's parameters.
func (ts *testShop) callback(paymentID, status string) string {
	ts.t.Helper()
	fp, ok := ts.fake.Payment(paymentID)
	if !ok {
		ts.t.Fatalf("the fake does not know %s", paymentID)
	}
	return fp.CallbackURL + "?" + url.Values{"paymentID": {paymentID}, "status": {status}, "signature": {fp.Signature}, "apiVersion": {"1.2.0-beta/"}}.Encode()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// paidOrder runs a whole checkout of items and returns the paid order.
func (ts *testShop) paidOrder(items map[string]int) shop.Order {
	ts.t.Helper()
	for sku, n := range items {
		ts.addToCart(sku, n)
	}
	landing := ts.submitBkashPage(ts.payCart(nil), customer, "confirm")
	if !strings.HasSuffix(landing.url.Path, "/receipt") {
		ts.t.Fatalf("landed on %s, want a receipt:\n%s", landing.url, landing.body)
	}
	id := strings.Split(landing.url.Path, "/")[2]
	// The fake also posts a webhook for the payment; wait for it so that the
	// order no longer changes behind the test's back.
	waitFor(ts.t, "the webhook of order "+id, func() bool { return ts.order(id).Webhook != "" })
	return ts.order(id)
}

// parallel runs fn n times at once.
func parallel(n int, fn func()) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(fn)
	}
	wg.Wait()
}

// runShop runs the program's run function until the returned stop is called.
func runShop(t *testing.T, opt options) (url string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	opt.ready = func(_ *app, u string) { ready <- u }
	done := make(chan error, 1)
	go func() { done <- run(ctx, opt, io.Discard) }()
	select {
	case u := <-ready:
		return u, func() error {
			cancel()
			select {
			case err := <-done:
				return err
			case <-time.After(20 * time.Second):
				t.Fatal("run did not return after cancel")
				return nil
			}
		}
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("run did not start")
	}
	return "", nil
}

// ownTransport is a transport of the caller's own. Tests must not share
// http.DefaultTransport: httptest.Server.Close, in any parallel test, closes
// its idle connections, and a POST that was about to reuse one fails with
// "CloseIdleConnections called" (it is not retried, not being idempotent).
func ownTransport() *http.Transport { return http.DefaultTransport.(*http.Transport).Clone() }

// ownClient is a plain client on an ownTransport.
func ownClient() *http.Client { return &http.Client{Transport: ownTransport()} }
