package bkash_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
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

// hostileAnswer is one answer of a proxy or a broken server.
type hostileAnswer struct {
	status int
	body   string
	header map[string]string
	cut    int // with cut > 0, Content-Length says len(body)+cut and the connection closes early
}

// hostileServer answers the grant normally and every money call with a.
// It counts the money requests it received.
func hostileServer(t *testing.T, a hostileAnswer) (*bkash.Client, *atomic.Int32) {
	t.Helper()
	var money atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, "/token/grant") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, okGrantAnswer)
			return
		}
		money.Add(1)
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if a.cut > 0 {
			w.Header().Set("Content-Length", strconv.Itoa(len(a.body)+a.cut))
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
		if a.cut > 0 {
			if hj, ok := w.(http.Hijacker); ok {
				if f, ok := w.(http.Flusher); ok {
					f.Flush()
				}
				conn, _, err := hj.Hijack()
				if err == nil {
					_ = conn.Close()
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{Username: "u", Password: "mock-password", AppKey: "k", AppSecret: "mock-app-secret"},
		bkash.WithBaseURL(srv.URL), bkash.WithHTTPClient(srv.Client()), bkash.WithRetryPolicy(fastRetries))
	if err != nil {
		t.Fatal(err)
	}
	return c, &money
}

const completedTail = `"paymentID":"TR0011X","trxID":"T1","transactionStatus":"Completed","amount":"10.00"`

// moneyCalls are the calls that move money, each sent once.
var moneyCalls = map[string]func(context.Context, *bkash.Client) error{
	"payment.execute": func(ctx context.Context, c *bkash.Client) error {
		_, err := c.Payments.Execute(ctx, "TR0011X")
		return err
	},
	"payment.capture": func(ctx context.Context, c *bkash.Client) error {
		_, err := c.Payments.Capture(ctx, "TR0011X")
		return err
	},
	"refund.create": func(ctx context.Context, c *bkash.Client) error {
		_, err := c.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: "TR0011X", TrxID: "T1", Amount: bkash.Taka(10), SKU: "s", Reason: "r"})
		return err
	},
}

func runHostile(t *testing.T, cases map[string]hostileAnswer) {
	t.Helper()
	for name, a := range cases {
		for op, call := range moneyCalls {
			t.Run(name+"/"+op, func(t *testing.T) {
				t.Parallel()
				c, money := hostileServer(t, a)
				err := call(context.Background(), c)
				var ou *bkash.OutcomeUnknownError
				if !errors.As(err, &ou) {
					t.Errorf("got %v (%T), want an *OutcomeUnknownError", err, err)
				}
				if n := money.Load(); n != 1 {
					t.Errorf("server received %d requests, want exactly 1", n)
				}
			})
		}
	}
}

func TestForeignAnswersToMoneyCallsAreUnknown(t *testing.T) {
	t.Parallel()
	html := "<html><body><h1>502 Bad Gateway</h1></body></html>"
	runHostile(t, map[string]hostileAnswer{
		"502 html":              {status: 502, body: html, header: map[string]string{"Content-Type": "text/html"}},
		"503 html retry-after":  {status: 503, body: html, header: map[string]string{"Retry-After": "0"}},
		"500 html":              {status: 500, body: html},
		"504 gateway json":      {status: 504, body: `{"message":"Endpoint request timed out"}`},
		"200 html":              {status: 200, body: "<!doctype html><title>Login</title>"},
		"200 foreign error":     {status: 200, body: `{"error":"upstream_timeout","detail":"try later"}`},
		"200 lambda timeout":    {status: 200, body: `{"errorMessage":"Task timed out after 30.03 seconds"}`},
		"200 framework 500":     {status: 200, body: `{"statusCode":500,"message":"Internal server error"}`},
		"200 truncated json":    {status: 200, body: `{"statusCode":"0000","statusMessage":"Successful",` + completedTail[:40]},
		"200 short body":        {status: 200, body: `{"statusCode":"0000","statusMessage":"Successful",` + completedTail + `}`, cut: 50},
		"200 broken gzip":       {status: 200, body: "\x1f\x8b\x08\x00garbage-not-deflate", header: map[string]string{"Content-Encoding": "gzip"}},
		"200 enormous":          {status: 200, body: `{"statusCode":"0000","statusMessage":"Successful",` + completedTail + `,"pad":"` + strings.Repeat("x", 2<<20) + `"}`},
		"200 statusCode nested": {status: 200, body: `{"statusCode":{"code":"0000"},"statusMessage":"Successful",` + completedTail + `}`},
		"200 statusCode true":   {status: 200, body: `{"statusCode":true,"statusMessage":"Successful",` + completedTail + `}`},
		"200 statusCode 0":      {status: 200, body: `{"statusCode":0,"statusMessage":"Successful",` + completedTail + `}`},
		"200 array":             {status: 200, body: `[{"statusCode":"0000"}]`},
		"200 null":              {status: 200, body: `null`},
		"200 empty":             {status: 200, body: ``},
		"200 two objects":       {status: 200, body: `{"statusCode":"0000","statusMessage":"Successful",` + completedTail + `}{"statusCode":"2023"}`},
		"401 foreign":           {status: 401, body: `{"error":"unauthorized"}`},
		"403 html waf":          {status: 403, body: "<html>Request blocked</html>"},
		"200 statusCode 503":    {status: 200, body: `{"statusCode":"503","statusMessage":"maintenance"}`},
		"200 unknown 4-digit":   {status: 200, body: `{"statusCode":"7777","statusMessage":"Something new"}`},
	})
}
