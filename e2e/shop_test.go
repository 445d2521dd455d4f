package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/examples/checkout/shop"
)

// chromium returns the browser to drive, or skips the test without one
// (fails instead when BKASH_REQUIRE_BROWSER is set).
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("BKASH_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("BKASH_REQUIRE_BROWSER") != "" {
			t.Fatalf("BKASH_REQUIRE_BROWSER is set but chromium is not usable at %s: %v", path, err)
		}
		t.Skipf("chromium not found at %s (%v): install it with `apt-get install chromium` or run ci/e2e.sh; set BKASH_REQUIRE_BROWSER=1 to make this a failure", path, err)
	}
	return path
}

// running is the demo shop served in-process against its fake bKash.
type running struct {
	url   string
	store *shop.Store
	fake  *bkashtest.Server
}

func startShop(t *testing.T) *running {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	u := "http://" + ts.Listener.Addr().String()
	backend, err := shop.NewFakeBackend(u)
	if err != nil {
		t.Fatal(err)
	}
	store, err := shop.OpenStore(context.Background(), filepath.Join(t.TempDir(), "shop.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := shop.New(shop.Config{
		Client: backend.Client, Store: store, PublicURL: u, Verifier: backend.Verifier,
		Banner: backend.Banner, ReconcileEvery: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = s.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		_ = s.Close()
		backend.Close()
		_ = store.Close()
	})
	return &running{url: u, store: store, fake: backend.Fake}
}

// order reads order id from the shop's database.
func (r *running) order(t *testing.T, id string) shop.Order {
	t.Helper()
	o, err := r.store.Order(id)
	if err != nil {
		t.Fatalf("order %s: %v", id, err)
	}
	return o
}

// browser starts a headless chromium with a fresh profile.
func browser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // containers run as root without user namespaces
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // small /dev/shm in containers
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 800),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

// step runs actions; on failure it reports where the browser is and what
// the page says.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
		defer dcancel()
		loc, _ := chromedp.Run(dctx, chromedp.Location())
		body, _ := chromedp.Run(dctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\nbrowser at %s, page:\n%s", what, err, loc, body)
	}
}

// text reads the text of the element sel (a CSS selector).
// shot saves a screenshot as name.png into $BKASH_E2E_SHOTS, when set: a
// way to look at the pages the test walks through.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("BKASH_E2E_SHOTS")
	if dir == "" {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// fillBkashPage types into bKash's hosted page (served by the fake) and
// presses Confirm. Empty values leave a field alone.
func fillBkashPage(t *testing.T, ctx context.Context, fields map[string]string) {
	t.Helper()
	actions := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.CSS("#pin"))}
	for _, id := range []string{"wallet", "otp", "pin"} {
		if v, ok := fields[id]; ok {
			// SetValue, not SendKeys: bKash pre-fills the wallet field.
			actions = append(actions, chromedp.SetValue(chromedp.CSS("#"+id), v))
		}
	}
	actions = append(actions, chromedp.Click(chromedp.CSS("#confirm")))
	step(t, ctx, "fill bKash's page", actions...)
}

func TestShopInARealBrowser(t *testing.T) {
	path := chromium(t)
	app := startShop(t)
	ctx := browser(t, path)

	// 1. Add to cart, pay with bKash, fill wallet/OTP/PIN, land on the receipt.
	step(t, ctx, "add to cart",
		chromedp.Navigate(app.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#banner")),
		chromedp.Click(chromedp.CSS("#add-milk-1l")),
		chromedp.WaitVisible(chromedp.CSS("#line-milk-1l")),
		chromedp.Click(chromedp.CSS("#add-ghee-200")),
		chromedp.WaitVisible(chromedp.CSS("#line-ghee-200")),
	)
	if got := text(t, ctx, "#cart-total"); got != "Tk 515.50" {
		t.Fatalf("cart total %q, want Tk 515.50", got)
	}
	step(t, ctx, "pay with bKash", chromedp.Click(chromedp.CSS("#pay-bkash")), chromedp.WaitVisible(chromedp.CSS("#amount")))
	if got := text(t, ctx, "#amount"); !strings.Contains(got, "515.50") {
		t.Errorf("bKash's page shows %q, want 515.50", got)
	}
	shot(t, ctx, "1-bkash-page")
	fillBkashPage(t, ctx, map[string]string{"wallet": "01770618575", "otp": bkashtest.OTP, "pin": bkashtest.PIN})
	step(t, ctx, "receipt", chromedp.WaitVisible(chromedp.CSS("#receipt")))
	shot(t, ctx, "2-receipt")
	o := app.order(t, "A1001")
	if got := text(t, ctx, "#receipt-amount"); got != "Tk 515.50" || o.Status != shop.OrderPaid {
		t.Fatalf("receipt amount %q, order %s; want Tk 515.50, paid", got, o.Status)
	}
	if got := text(t, ctx, "#receipt-trx"); got != o.TrxID || got == "" {
		t.Errorf("receipt trxID %q, want %q", got, o.TrxID)
	}

	// 2. Cancel on bKash's page: the order is unpaid.
	step(t, ctx, "cancel on bKash's page",
		chromedp.Navigate(app.url+"/"),
		chromedp.Click(chromedp.CSS("#add-lassi-250")),
		chromedp.WaitVisible(chromedp.CSS("#line-lassi-250")),
		chromedp.Click(chromedp.CSS("#pay-bkash")),
		chromedp.WaitVisible(chromedp.CSS("#cancel")),
		chromedp.Click(chromedp.CSS("#cancel")),
		chromedp.WaitVisible(chromedp.CSS("#order-status")),
	)
	shot(t, ctx, "3-cancelled-order")
	if got := text(t, ctx, "#order-status"); got != "unpaid" {
		t.Errorf("order status after cancel = %q, want unpaid", got)
	}
	if o := app.order(t, "A1002"); o.Status != shop.OrderUnpaid || app.fake.Received("payment.execute") != 1 {
		t.Errorf("order A1002 %s, payment.execute received %d times in all; want unpaid, 1 (the first order's)", o.Status, app.fake.Received("payment.execute"))
	}

	// 3. Save a wallet (agreement), then pay with it: PIN only.
	step(t, ctx, "save a wallet",
		chromedp.Navigate(app.url+"/wallets"),
		chromedp.SetValue(chromedp.CSS(`input[name="msisdn"]`), "01619777283"),
		chromedp.Click(chromedp.CSS("#add-wallet")),
	)
	fillBkashPage(t, ctx, map[string]string{"wallet": "01619777283", "otp": bkashtest.OTP, "pin": bkashtest.PIN})
	step(t, ctx, "wallet saved", chromedp.WaitVisible(chromedp.CSS(".remove-wallet")))
	shot(t, ctx, "4-wallets")
	if got := text(t, ctx, "#wallets"); !strings.Contains(got, "016****7283") || !strings.Contains(got, "active") {
		t.Errorf("wallets page: %q, want 016****7283 active", got)
	}
	step(t, ctx, "pay with the saved wallet",
		chromedp.Navigate(app.url+"/"),
		chromedp.Click(chromedp.CSS("#add-butter-100")),
		chromedp.WaitVisible(chromedp.CSS("#line-butter-100")),
		chromedp.Click(chromedp.CSS(".pay-wallet")),
		chromedp.WaitVisible(chromedp.CSS("#account")),
	)
	fillBkashPage(t, ctx, map[string]string{"pin": bkashtest.PIN})
	step(t, ctx, "receipt of the saved-wallet payment", chromedp.WaitVisible(chromedp.CSS("#receipt")))
	o3 := app.order(t, "A1003")
	if o3.Status != shop.OrderPaid || len(o3.Attempts) != 1 || o3.Attempts[0].Mode != "0001" {
		t.Errorf("order A1003 = %s %+v, want paid with mode 0001", o3.Status, o3.Attempts)
	}

	// 4. Refund half of the first order from the admin page.
	step(t, ctx, "refund half",
		chromedp.Navigate(app.url+"/admin"),
		chromedp.SetValue(chromedp.CSS("#amount-A1001"), "257.75"),
		chromedp.SetValue(chromedp.CSS("#reason-A1001"), "half the milk was sour"),
		chromedp.Click(chromedp.CSS("#refund-A1001")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
	)
	shot(t, ctx, "5-admin-refund")
	if got := text(t, ctx, "#flash"); !strings.Contains(got, "refunded Tk 257.75") {
		t.Errorf("flash = %q, want it to confirm Tk 257.75", got)
	}
	if got := text(t, ctx, "#refundable-A1001"); got != "Tk 257.75" {
		t.Errorf("refundable after half = %q, want Tk 257.75", got)
	}
	refunds := app.fake.RefundsOf(o.TrxID)
	if len(refunds) != 1 || refunds[0].Amount != bkash.Taka(257)+bkash.Poisha(75) || refunds[0].Reason != "half the milk was sour" {
		t.Errorf("refunds at bKash = %+v, want one of 257.75", refunds)
	}
}

// overflowJS lists what does not fit a phone's screen: horizontal scrolling
// of the page, and every visible element that sticks out of its parent's box
// (a button wider than its card). Elements inside a clipping box (overflow
// other than visible) are judged by that box.
const overflowJS = `(() => {
	const vw = document.documentElement.clientWidth;
	const bad = [];
	if (document.documentElement.scrollWidth > vw + 1) {
		bad.push("the page scrolls horizontally: " + document.documentElement.scrollWidth + " > " + vw);
	}
	const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
	for (const el of document.querySelectorAll("body *")) {
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.height === 0 || getComputedStyle(el).position === "fixed") continue;
		if (r.right > vw + 1 || r.left < -1) { bad.push(name(el) + " reaches " + Math.round(r.left) + ".." + Math.round(r.right) + " outside the screen (0.." + vw + ")"); continue; }
		const p = el.parentElement;
		if (!p || p === document.body) continue;
		const pr = p.getBoundingClientRect();
		if (r.right > pr.right + 1 || r.left < pr.left - 1) bad.push(name(el) + " (" + Math.round(r.left) + ".." + Math.round(r.right) + ") is wider than " + name(p) + " (" + Math.round(pr.left) + ".." + Math.round(pr.right) + ")");
	}
	return bad;
})()`

// fitsPhone fails the test for anything on the current page that does not
// fit a 375 px screen.
func fitsPhone(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	bad, err := chromedp.Run(sctx, chromedp.Evaluate[[]string](overflowJS))
	if err != nil {
		t.Fatalf("%s: measuring: %v", page, err)
	}
	for _, b := range bad {
		t.Errorf("%s at 375 px: %s", page, b)
	}
}

// TestCheckoutOnAPhone runs the checkout at 375 x 812 (an iPhone's CSS
// pixels): nothing wider than its container, no horizontal scrolling, a
// one-line header, and the pay button on screen without zooming.
func TestCheckoutOnAPhone(t *testing.T) {
	path := chromium(t)
	app := startShop(t)
	ctx := browser(t, path)
	step(t, ctx, "phone viewport",
		chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		chromedp.Navigate(app.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#add-ghee-200")),
	)
	fitsPhone(t, ctx, "the shelf")
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	header, err := chromedp.Run(sctx, chromedp.Evaluate[float64](`document.querySelector("header.top .in").getBoundingClientRect().height`))
	if err != nil {
		t.Fatal(err)
	}
	if header > 56 {
		t.Errorf("the header is %.0f px high at 375 px: it wraps onto a second line", header)
	}
	step(t, ctx, "add to cart",
		chromedp.Click(chromedp.CSS("#add-ghee-200")),
		chromedp.WaitVisible(chromedp.CSS("#line-ghee-200")),
		chromedp.Click(chromedp.CSS("#add-milk-1l")),
		chromedp.WaitVisible(chromedp.CSS("#line-milk-1l")),
	)
	fitsPhone(t, ctx, "the shelf with a cart")
	// The pay button: reachable by scrolling down, fully on screen, at
	// scale 1 (no pinch-zoom needed).
	pay, err := chromedp.Run(sctx, chromedp.Evaluate[[]float64](`(() => {
		const b = document.querySelector("#pay-bkash");
		b.scrollIntoView({block: "center"});
		const r = b.getBoundingClientRect();
		return [r.left, r.right, r.top, r.bottom, window.innerWidth, window.innerHeight, window.visualViewport.scale];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if l, r, top, bottom, w, h, scale := pay[0], pay[1], pay[2], pay[3], pay[4], pay[5], pay[6]; l < 0 || r > w || top < 0 || bottom > h || scale != 1 || r-l < 200 {
		t.Errorf("pay button at x %.0f..%.0f y %.0f..%.0f on a %.0fx%.0f screen at scale %v: want it wholly visible, at least 200 px wide, unzoomed", l, r, top, bottom, w, h, scale)
	}
	shot(t, ctx, "shop-mobile-cart")
	step(t, ctx, "pay with bKash", chromedp.Click(chromedp.CSS("#pay-bkash")), chromedp.WaitVisible(chromedp.CSS("#amount")))
	fillBkashPage(t, ctx, map[string]string{"wallet": "01770618575", "otp": bkashtest.OTP, "pin": bkashtest.PIN})
	step(t, ctx, "receipt", chromedp.WaitVisible(chromedp.CSS("#receipt")))
	fitsPhone(t, ctx, "the receipt")
	shot(t, ctx, "shop-mobile-receipt")
	if o := app.order(t, "A1001"); o.Status != shop.OrderPaid {
		t.Errorf("order A1001 is %s, want paid", o.Status)
	}
	for _, page := range []string{"/orders/A1001", "/orders", "/wallets", "/admin", "/admin/logs"} {
		step(t, ctx, "open "+page, chromedp.Navigate(app.url+page), chromedp.WaitVisible(chromedp.CSS("main")))
		fitsPhone(t, ctx, page)
	}
}
