package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/examples/checkout/internal/pgtest"
	"github.com/smartdairy/bkash-go/examples/checkout/shop"
)

// TestEveryPageInEveryState opens every page for orders in every state: a
// template that cannot render one of them (as the receipt of a refunded
// order once could not) fails here.
func TestEveryPageInEveryState(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")

	paid := ts.paidOrder(map[string]int{"milk-1l": 1})
	partly := ts.paidOrder(map[string]int{"doi-500": 1})
	full := ts.paidOrder(map[string]int{"butter-100": 1})
	for id, form := range map[string]url.Values{
		partly.ID: {"amount": {"60"}, "reason": {"one pot broke"}},
		full.ID:   {"full": {"1"}, "reason": {"all sour"}},
	} {
		if p := ts.post("/admin/orders/"+id+"/refund", form); p.status != http.StatusOK {
			t.Fatalf("refund of %s: %d\n%s", id, p.status, p.body)
		}
	}

	ts.addToCart("ghee-200", 1)
	ts.payCart(nil) // the customer never comes back from bKash's page
	awaiting := ts.order("A1004")

	ts.addToCart("paneer-250", 1)
	ts.submitBkashPage(ts.payCart(nil), nil, "cancel")
	cancelled := ts.order("A1005")

	ts.addToCart("lassi-250", 1)
	ts.submitBkashPage(ts.payCart(nil), map[string]string{"wallet": bkashtest.WalletInsufficientBalance, "otp": bkashtest.OTP, "pin": bkashtest.PIN}, "confirm")
	refused := ts.order("A1006")

	// Two approved attempts: one pays, the other is not taken.
	ts.addToCart("milk-1l", 2)
	c := noRedirectWithJar(ts.browser.Jar)
	first, err := startAttempt(c, ts.url, "")
	if err != nil {
		t.Fatal(err)
	}
	second, err := startAttempt(c, ts.url, "A1007")
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range []string{first, second} {
		if err := ts.fake.Approve(pid, "01770618575"); err != nil {
			t.Fatal(err)
		}
	}
	ts.get(ts.callback(first, "success"))
	ts.get(ts.callback(second, "success"))
	notTaken := ts.order("A1007")

	// Last, so that its failing queries touch no other order: processing.
	ts.addToCart("butter-100", 3)
	page := ts.payCart(nil)
	ts.fake.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	ts.fake.Inject("payment.query", bkashtest.Fault{Code: "9999", Times: 100000})
	ts.submitBkashPage(page, customer, "confirm")
	processing := ts.order("A1008")

	for _, tc := range []struct {
		state string
		o     shop.Order
		label string
		want  []string // on the order page
		recpt []string // on the receipt ("" when it redirects to the order)
	}{
		{"paid", paid, "paid", []string{`id="receipt-link"`, "(Dhaka)"}, []string{"Thank you! Payment received.", paid.TrxID, "(Dhaka)"}},
		{"partly refunded", partly, "partly refunded", []string{"Partly refunded: Tk 60.00 of Tk 160.00"}, []string{"Tk 60.00 of it was refunded.", `id="receipt-refunded">Tk 60.00<`}},
		{"fully refunded", full, "refunded", []string{"Refunded in full: Tk 120.00"}, []string{"Refunded in full.", `id="receipt-refunded">Tk 120.00<`}},
		{"unpaid (never came back)", awaiting, "awaiting payment", []string{`id="pay-again"`}, nil},
		{"cancelled", cancelled, "unpaid", []string{"cancelled on bKash", `id="pay-again"`}, nil},
		{"refused", refused, "unpaid", []string{"Insufficient Balance"}, nil},
		{"second attempt not taken", notTaken, "paid", []string{`id="not-taken-` + second + `"`, "not executed"}, []string{"Not charged", second}},
		{"processing", processing, "processing", []string{`http-equiv="refresh"`, "never charges twice"}, nil},
	} {
		t.Run(tc.state, func(t *testing.T) {
			o := ts.order(tc.o.ID)
			if o.Label() != tc.label {
				t.Errorf("order %s is %q, want %q", o.ID, o.Label(), tc.label)
			}
			p := ts.get("/orders/" + o.ID)
			if p.status != http.StatusOK || !p.has(`id="order-status">`+tc.label+`<`) {
				t.Errorf("order page: %d, want 200 saying %q:\n%s", p.status, tc.label, p.body)
			}
			for _, w := range tc.want {
				if !p.has(w) {
					t.Errorf("order page lacks %q:\n%s", w, p.body)
				}
			}
			r := ts.get("/orders/" + o.ID + "/receipt")
			if r.status != http.StatusOK {
				t.Errorf("receipt: status %d:\n%s", r.status, r.body)
			}
			if tc.recpt == nil {
				if r.url.Path != "/orders/"+o.ID {
					t.Errorf("receipt of an unpaid order served at %s", r.url)
				}
			}
			for _, w := range tc.recpt {
				if !r.has(w) {
					t.Errorf("receipt lacks %q:\n%s", w, r.body)
				}
			}
			for _, path := range []string{"/admin/logs?order=" + o.ID, "/admin/logs?payment=" + url.QueryEscape(o.Attempts[0].PaymentID)} {
				l := ts.get(path)
				if l.status != http.StatusOK || !l.has(`id="api-log"`) || !l.has(o.Attempts[0].PaymentID) {
					t.Errorf("GET %s: %d, want the calls of %s:\n%s", path, l.status, o.ID, l.body)
				}
			}
		})
	}
	// The pages that list everything, with every state present at once.
	for _, path := range []string{"/", "/cart?items=milk-1l:2", "/orders", "/admin", "/admin/logs", "/admin/logs?outcome=failed", "/admin/logs?outcome=ok", "/wallets"} {
		p := ts.get(path)
		if p.status != http.StatusOK || !p.has("</html>") {
			t.Errorf("GET %s: status %d\n%s", path, p.status, p.body)
		}
	}
	admin := ts.get("/admin")
	for _, w := range []string{`class="status refunded">refunded<`, `class="status partly-refunded">partly refunded<`, `class="status processing">processing<`, "approved, never executed"} {
		if !admin.has(w) {
			t.Errorf("admin page lacks %q", w)
		}
	}
	if failed := ts.get("/admin/logs?outcome=failed"); !failed.has("payment.query") || !failed.has("9999") {
		t.Errorf("the failed-calls filter does not show the failing queries:\n%s", failed.body)
	}
	if hooks := ts.get("/admin/logs?order=" + paid.ID); !hooks.has(`id="webhook-log"`) || !hooks.has(paid.TrxID) {
		t.Errorf("the order's logs lack its webhook:\n%s", hooks.body)
	}
	// A forged webhook is logged as rejected.
	resp, err := ownClient().Post(ts.url+"/bkash/webhook", "text/plain", strings.NewReader(`{"Type":"Notification","Message":"{\"debitMSISDN\":\"01770618575\"}"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if l := ts.get("/admin/logs?outcome=failed"); !l.has(`class="status rejected"`) || !l.has(`debitMSISDN\&#34;:\&#34;017****8575`) {
		t.Errorf("a forged webhook is not logged as rejected with the wallet masked:\n%s", l.body)
	}
}

// distinctive are credentials that appear nowhere else: any of them in the
// database is a leak.
var distinctive = bkash.Credentials{
	Username:  "zz-user-5e1f0c",
	Password:  "zz-pass-7d2a91",
	AppKey:    "zz-appkey-3b8c44",
	AppSecret: "zz-appsecret-9f6e27",
}

// callbackKeyInURL finds the attempt key in a callback URL as the shop sends
// it to bKash.
var callbackKeyInURL = regexp.MustCompile(`/bkash/(?:agreement/)?callback/([A-Za-z0-9_-]+)`)

// tokenSpy records the tokens bKash grants, to look for them in the database.
type tokenSpy struct {
	mu     sync.Mutex
	tokens []string
}

func (s *tokenSpy) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && strings.Contains(req.URL.Path, "/create") {
		// The per-attempt callback key is a secret too: whoever holds it
		// can answer for the customer.
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		for _, m := range callbackKeyInURL.FindAllSubmatch(b, -1) {
			s.mu.Lock()
			s.tokens = append(s.tokens, string(m[1]))
			s.mu.Unlock()
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "/token/") {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"id_token", "refresh_token"} {
		if _, rest, ok := strings.Cut(string(b), `"`+k+`":"`); ok {
			tok, _, _ := strings.Cut(rest, `"`)
			s.mu.Lock()
			s.tokens = append(s.tokens, tok)
			s.mu.Unlock()
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// exercise runs the flows that reach the audit tables: checkout, webhook,
// saved wallet, refund, a failed call, a token renewal.
func exercise(t *testing.T, ts *testShop) {
	t.Helper()
	o := ts.paidOrder(map[string]int{"milk-1l": 2})
	if p := ts.post("/admin/orders/"+o.ID+"/refund", url.Values{"amount": {"10"}, "reason": {"r"}}); p.status != http.StatusOK {
		t.Fatalf("refund: %d", p.status)
	}
	ts.post("/admin/orders/"+o.ID+"/refund-status", nil)
	page := ts.post("/wallets", url.Values{"msisdn": {"01619777283"}})
	ts.submitBkashPage(page, map[string]string{"wallet": "01619777283", "otp": bkashtest.OTP, "pin": bkashtest.PIN}, "confirm")
	ts.fake.ExpireTokens() // the next call renews the token
	ts.addToCart("doi-500", 1)
	ts.submitBkashPage(ts.payCart(nil), map[string]string{"wallet": bkashtest.WalletInsufficientBalance, "otp": bkashtest.OTP, "pin": bkashtest.PIN}, "confirm")
	var n int
	if err := ts.store.DB().QueryRow(`SELECT COUNT(*) FROM api_log WHERE op = 'token.grant' OR op = 'token.refresh'`).Scan(&n); err != nil || n < 2 {
		t.Fatalf("api_log has %d token rows (%v), want the grant and the renewal", n, err)
	}
}

func secretsOf(spy *tokenSpy) []string {
	spy.mu.Lock()
	defer spy.mu.Unlock()
	out := []string{distinctive.Username, string(distinctive.Password), distinctive.AppKey, string(distinctive.AppSecret), "01619777283", "01770618575"}
	return append(out, spy.tokens...)
}

func TestNoSecretReachesTheSQLiteDatabase(t *testing.T) {
	t.Parallel()
	spy := &tokenSpy{}
	dir := t.TempDir()
	ts := startShopWith(t, options{dataDir: dir, fakeOpts: []bkashtest.Option{bkashtest.WithCredentials(distinctive)}, transport: spy})
	exercise(t, ts)
	if len(spy.tokens) < 2 {
		t.Fatalf("saw %d tokens, want the grant's id_token and refresh_token", len(spy.tokens))
	}
	// Fold the write-ahead log into the file, then read every byte there is.
	if _, err := ts.store.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	var all []byte
	// The shop's database and its SQLite companions; not bkash-fake.state,
	// which is the fake bKash's own record of its customers.
	files, _ := filepath.Glob(filepath.Join(dir, "shop-fake.db*"))
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte("payment.create")) {
		t.Fatal("the database bytes do not even contain the API log")
	}
	for _, s := range secretsOf(spy) {
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("the SQLite database contains %q", s)
		}
	}
}

func TestNoSecretReachesThePostgreSQLDatabase(t *testing.T) {
	t.Parallel()
	spy := &tokenSpy{}
	dsn := pgtest.NewDatabase(t)
	ts := startShopWith(t, options{databaseURL: dsn, fakeOpts: []bkashtest.Option{bkashtest.WithCredentials(distinctive)}, transport: spy})
	exercise(t, ts)
	// Every text column of every table, as text.
	ctx := context.Background()
	db := ts.store.DB()
	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')`)
	if err != nil {
		t.Fatal(err)
	}
	var cols [][2]string
	for rows.Next() {
		var tbl, col string
		if err := rows.Scan(&tbl, &col); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, [2]string{tbl, col})
	}
	rows.Close()
	var all strings.Builder
	for _, c := range cols {
		r, err := db.QueryContext(ctx, `SELECT COALESCE(`+c[1]+`, '') FROM `+c[0])
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var v string
			if err := r.Scan(&v); err != nil {
				t.Fatal(err)
			}
			all.WriteString(v)
			all.WriteByte('\n')
		}
		r.Close()
	}
	if !strings.Contains(all.String(), "payment.create") || len(cols) < 20 {
		t.Fatalf("read %d text columns without the API log", len(cols))
	}
	for _, s := range secretsOf(spy) {
		if strings.Contains(all.String(), s) {
			t.Errorf("a PostgreSQL text column contains %q", s)
		}
	}
}
