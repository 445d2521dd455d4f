package bkash

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// shortNonceAEAD is an AEAD whose nonce is too short for random nonces.
type shortNonceAEAD struct{ cipher.AEAD }

func (shortNonceAEAD) NonceSize() int { return 8 }

func TestNewClientRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	noPassword := coreCreds
	noPassword.Password = ""
	blankUser := coreCreds
	blankUser.Username = "  "
	noKey := coreCreds
	noKey.AppKey = ""
	noSecret := coreCreds
	noSecret.AppSecret = ""

	cases := []struct {
		name  string
		env   Environment
		creds Credentials
		opts  []Option
		want  string
	}{
		{"no environment", Environment{}, coreCreds, nil, "no environment"},
		{"blank username", Sandbox, blankUser, nil, "invalid Credentials.Username: is empty"},
		{"no password", Sandbox, noPassword, nil, "invalid Credentials.Password: is empty"},
		{"no app key", Sandbox, noKey, nil, "invalid Credentials.AppKey: is empty"},
		{"no app secret", Sandbox, noSecret, nil, "invalid Credentials.AppSecret: is empty"},
		{"nil option", Sandbox, coreCreds, []Option{nil}, "nil Option"},
		{"nil http client", Sandbox, coreCreds, []Option{WithHTTPClient(nil)}, "WithHTTPClient: nil"},
		{"plain http to a remote host", Sandbox, coreCreds, []Option{WithBaseURL("http://bkash.example.com")}, "plain http is allowed only for loopback"},
		{"plain http to a private address", Sandbox, coreCreds, []Option{WithBaseURL("http://10.0.0.7:8080")}, "loopback"},
		{"not http", Sandbox, coreCreds, []Option{WithBaseURL("ftp://bkash.example.com")}, "not an absolute http(s) URL"},
		{"relative", Sandbox, coreCreds, []Option{WithBaseURL("/v1.2.0-beta")}, "not an absolute http(s) URL"},
		{"missing host", Sandbox, coreCreds, []Option{WithBaseURL("https://")}, "not an absolute http(s) URL"},
		{"unparsable", Sandbox, coreCreds, []Option{WithBaseURL("https://[::1")}, "WithBaseURL"},
		{"user info", Sandbox, coreCreds, []Option{WithBaseURL("https://user:pw@bkash.example.com")}, "must not carry user info"},
		{"query", Sandbox, coreCreds, []Option{WithBaseURL("https://bkash.example.com/?x=1")}, "a query or a fragment"},
		// Roots that already hold the API path, as other libraries spell
		// the base URL: every call would double the prefix.
		{"root with the version", Sandbox, coreCreds, []Option{WithBaseURL("https://tokenized.sandbox.bka.sh/v1.2.0-beta")}, `pass the root before it, "https://tokenized.sandbox.bka.sh"`},
		{"root with the version and a slash", Sandbox, coreCreds, []Option{WithBaseURL("https://tokenized.sandbox.bka.sh/v1.2.0-beta/")}, `"https://tokenized.sandbox.bka.sh"`},
		{"root with the checkout path", Sandbox, coreCreds, []Option{WithBaseURL("https://tokenized.pay.bka.sh/v1.2.0-beta/tokenized/checkout")}, `pass the root before it, "https://tokenized.pay.bka.sh"`},
		{"root with the v2 refund path", Sandbox, coreCreds, []Option{WithBaseURL("https://tokenized.sandbox.bka.sh/v2/tokenized-checkout/refund/payment")}, `pass the root before it, "https://tokenized.sandbox.bka.sh"`},
		{"proxy prefix then the version", Sandbox, coreCreds, []Option{WithBaseURL("https://gw.example.com/bkash/V1.2.0-BETA")}, `"https://gw.example.com/bkash"`},
		// Percent-encoded, the path is the same to the gateway, which decodes it.
		{"version with encoded slashes", Sandbox, coreCreds, []Option{WithBaseURL("https://tokenized.sandbox.bka.sh/v1.2.0-beta%2Ftokenized%2Fcheckout")}, `pass the root before it, "https://tokenized.sandbox.bka.sh"`},
		{"version with an encoded letter", Sandbox, coreCreds, []Option{WithBaseURL("https://gw.example.com/my%20bkash/%761.2.0-beta")}, `pass the root before it, "https://gw.example.com/my%20bkash"`},
		{"negative attempts", Sandbox, coreCreds, []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: -1})}, "MaxAttempts -1 is outside 1-10"},
		{"eleven attempts", Sandbox, coreCreds, []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 11})}, "outside 1-10"},
		{"negative delay", Sandbox, coreCreds, []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BaseDelay: -1})}, "negative delay"},
		{"base above max", Sandbox, coreCreds, []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BaseDelay: time.Second, MaxDelay: time.Millisecond})}, "BaseDelay is larger than MaxDelay"},
		// bKash's own host of the other environment: sandbox payments under
		// production's name (token store key, metrics), or the reverse.
		{"production with the sandbox host", Production, coreCreds, []Option{WithBaseURL("https://tokenized.sandbox.bka.sh")}, `"https://tokenized.sandbox.bka.sh" is bKash's sandbox, but the client is for production: pass bkash.Sandbox`},
		{"sandbox with the production host", Sandbox, coreCreds, []Option{WithBaseURL("https://tokenized.pay.bka.sh/")}, "is bKash's production, but the client is for sandbox"},
		{"production with another sandbox host", Production, coreCreds, []Option{WithBaseURL("https://Checkout.Sandbox.bka.sh.")}, "is bKash's sandbox"},
		// A host net/http would map through IDNA before dialling:
		// "tokenized。sandbox。bka。sh" is tokenized.sandbox.bka.sh on the wire.
		{"production with the sandbox host in ideographic dots", Production, coreCreds, []Option{WithBaseURL("https://tokenized\u3002sandbox\u3002bka\u3002sh")}, "ASCII (punycode) form"},
		{"plain http to bKash in full-width dots", Production, coreCreds, []Option{WithBaseURL("http://tokenized\uff0epay\u3002bka\uff61sh"), WithAllowHTTP()}, "ASCII (punycode) form"},
		{"nil store", Sandbox, coreCreds, []Option{WithTokenStore(nil)}, "nil TokenStore"},
		{"nil logger", Sandbox, coreCreds, []Option{WithLogger(nil)}, "nil *slog.Logger"},
		{"nil observer", Sandbox, coreCreds, []Option{WithObserver(nil)}, "nil Observer"},
		{"unknown refund API", Sandbox, coreCreds, []Option{WithRefundAPI(RefundAPI(3))}, "unknown RefundAPI(3)"},
		{"zero refund API", Sandbox, coreCreds, []Option{WithRefundAPI(0)}, "unknown"},
		{"empty user agent", Sandbox, coreCreds, []Option{WithUserAgent("")}, "empty or multi-line"},
		{"multi-line user agent", Sandbox, coreCreds, []Option{WithUserAgent("shop\r\nX-Evil: 1")}, "empty or multi-line"},
		{"zero budget", Sandbox, coreCreds, []Option{WithTokenRenewalBudget(0)}, "0 is outside 1-60"},
		{"huge budget", Sandbox, coreCreds, []Option{WithTokenRenewalBudget(61)}, "outside 1-60"},
		{"nil AEAD", Sandbox, coreCreds, []Option{WithTokenEncryption(nil)}, "nil cipher.AEAD"},
		{"short nonce", Sandbox, coreCreds, []Option{WithTokenEncryption(shortNonceAEAD{})}, "nonce size 8 is too small"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tc.env, tc.creds, tc.opts...)
			if err == nil || c != nil {
				t.Fatalf("NewClient = %v, %v; want an error", c, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bkash: ") {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
			var ve *ValidationError
			if strings.HasPrefix(tc.name, "no ") && tc.env != (Environment{}) && !errors.As(err, &ve) {
				t.Errorf("credential error is %T, want *ValidationError", err)
			}
		})
	}
}

func TestNewClientAcceptsGoodConfiguration(t *testing.T) {
	t.Parallel()
	for _, root := range []string{"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://proxy.example.com/bkash/", "https://proxy.example.com/checkout", "https://proxy.example.com/v2"} {
		if _, err := NewClient(Sandbox, coreCreds, WithBaseURL(root)); err != nil {
			t.Errorf("WithBaseURL(%q): %v", root, err)
		}
	}
	all := []Option{
		WithHTTPClient(&http.Client{}), WithTokenStore(NewMemoryTokenStore()), WithLogger(slog.New(slog.DiscardHandler)),
		WithBodyLogging(), WithRetryPolicy(RetryPolicy{MaxAttempts: 10, MaxDelay: time.Second}), WithObserver(&coreObserver{}),
		WithRefundAPI(RefundV2), WithUserAgent("shop/1"), WithTokenRenewalBudget(1),
	}
	c, err := NewClient(Production, coreCreds, all...)
	if err != nil {
		t.Fatal(err)
	}
	if c.refundAPI != RefundV2 || !c.logBodies || c.tokens.budget.limit != 1 || c.observer == nil {
		t.Errorf("options not applied: %+v", c)
	}
}

// TestRetryPolicyZeroFieldsTakeTheDefaults: RetryPolicy{MaxAttempts: 5}
// keeps the default delays. Before, its zero delays were taken as they
// were: five requests to bKash within two milliseconds during an outage.
func TestRetryPolicyZeroFieldsTakeTheDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want RetryPolicy
	}{
		{RetryPolicy{}, DefaultRetryPolicy},
		{RetryPolicy{MaxAttempts: 5}, RetryPolicy{MaxAttempts: 5, BaseDelay: 200 * time.Millisecond, MaxDelay: 2 * time.Second}},
		{RetryPolicy{MaxAttempts: 2, MaxDelay: time.Second}, RetryPolicy{MaxAttempts: 2, BaseDelay: 200 * time.Millisecond, MaxDelay: time.Second}},
		{RetryPolicy{MaxAttempts: 2, BaseDelay: 5 * time.Second}, RetryPolicy{MaxAttempts: 2, BaseDelay: 5 * time.Second, MaxDelay: 5 * time.Second}},
		{RetryPolicy{MaxAttempts: 1, BaseDelay: time.Millisecond, MaxDelay: 3 * time.Millisecond}, RetryPolicy{MaxAttempts: 1, BaseDelay: time.Millisecond, MaxDelay: 3 * time.Millisecond}},
		// Only the cap given: the default first step fits under it.
		{RetryPolicy{MaxDelay: 50 * time.Millisecond}, RetryPolicy{MaxAttempts: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: 50 * time.Millisecond}},
	} {
		var cfg config
		if err := WithRetryPolicy(tc.in)(&cfg); err != nil {
			t.Errorf("WithRetryPolicy(%+v): %v", tc.in, err)
			continue
		}
		if cfg.retry != tc.want {
			t.Errorf("WithRetryPolicy(%+v) = %+v, want %+v", tc.in, cfg.retry, tc.want)
		}
	}
}

// TestCredentialsThatCannotBeSentAreRefused: a field with a control
// character (a newline left by a secret file), or a header field with
// spaces at either end, would fail every call, or spend the grant budget on
// a refused grant; NewClient refuses it, without quoting it.
func TestCredentialsThatCannotBeSentAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field string
		edit  func(*Credentials)
	}{
		{"Credentials.Username", func(c *Credentials) { c.Username += "\n" }},
		{"Credentials.Password", func(c *Credentials) { c.Password += "\n" }},
		{"Credentials.Password", func(c *Credentials) { c.Password = " " + c.Password }},
		{"Credentials.AppKey", func(c *Credentials) { c.AppKey += " " }},
		{"Credentials.AppKey", func(c *Credentials) { c.AppKey += "\r\n" }},
		{"Credentials.AppSecret", func(c *Credentials) { c.AppSecret += "\n" }},
		{"Credentials.AppSecret", func(c *Credentials) { c.AppSecret = "s\x00" + c.AppSecret }},
	} {
		creds := coreCreds
		tc.edit(&creds)
		_, err := NewClient(Sandbox, creds)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: NewClient err = %v, want a *ValidationError of %s", tc.field, err, tc.field)
			continue
		}
		for _, secret := range []string{string(coreCreds.Password), string(coreCreds.AppSecret)} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error quotes a secret: %v", tc.field, err)
			}
		}
	}
	// A space inside a secret, or a tab, or a space at the end of the app
	// secret (which goes in the JSON body, not a header), is sent as it is.
	creds := coreCreds
	creds.Password, creds.AppSecret = "pass word\t1", "secret "
	if _, err := NewClient(Sandbox, creds); err != nil {
		t.Errorf("NewClient: %v", err)
	}
}

func TestWithBaseURLKeepsThePrefixAndAppendsBkashsPaths(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	var got []string
	m.mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.URL.String())
		if strings.HasSuffix(r.URL.Path, "/token/grant") {
			return m.tokenAnswer(1, coreReq{})
		}
		return coreOK(1, coreReq{})
	})
	c, err := NewClient(Sandbox, coreCreds, WithHTTPClient(&http.Client{Transport: m.mt}), WithBaseURL("https://proxy.example.com/bkash/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"https://proxy.example.com/bkash/v1.2.0-beta/tokenized/checkout/token/grant",
		"https://proxy.example.com/bkash/v1.2.0-beta/tokenized/checkout/payment/status",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("URLs = %q, want %q", got, want)
	}
}

func TestWithHTTPClientCopiesTheCallersClient(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) {
		return coreJSON(503, `{"message":"Service Unavailable"}`), nil
	})
	redirect := func(*http.Request, []*http.Request) error { return nil }
	hc := &http.Client{Transport: m.mt, Timeout: 7 * time.Second, CheckRedirect: redirect}
	before := fmt.Sprintf("%p %v %p", hc.Transport, hc.Timeout, hc.CheckRedirect)
	c, err := NewClient(Sandbox, coreCreds, WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = coreQuery(context.Background(), c) // fails and retries: retryablehttp would close idle connections
	after := fmt.Sprintf("%p %v %p", hc.Transport, hc.Timeout, hc.CheckRedirect)
	if before != after || hc.Transport != m.mt || hc.Jar != nil {
		t.Errorf("the caller's client was modified: %s -> %s", before, after)
	}
	if m.sent(epPaymentQuery) != 3 {
		t.Errorf("the copy did not use the caller's transport")
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	// t.Setenv: not parallel.
	t.Setenv("BKASH_USERNAME", "merchantUser01")
	t.Setenv("BKASH_PASSWORD", "pw-SECRET-7d1c")
	t.Setenv("BKASH_APP_KEY", "appkey-0f3a")
	t.Setenv("BKASH_APP_SECRET", "appsecret-SECRET-91be")
	got, err := CredentialsFromEnv()
	if err != nil || got != coreCreds {
		t.Fatalf("CredentialsFromEnv = %v, %v", got, err)
	}
	t.Setenv("BKASH_PASSWORD", "")
	t.Setenv("BKASH_APP_SECRET", "")
	got, err = CredentialsFromEnv()
	if err == nil || err.Error() != "bkash: CredentialsFromEnv: BKASH_PASSWORD, BKASH_APP_SECRET not set" {
		t.Errorf("err = %v", err)
	}
	if got != (Credentials{}) {
		t.Errorf("partial credentials returned: %v", got)
	}
}

func TestRefundAPIString(t *testing.T) {
	t.Parallel()
	for api, want := range map[RefundAPI]string{RefundV1: "v1", RefundV2: "v2", 0: "RefundAPI(0)", 7: "RefundAPI(7)"} {
		if got := api.String(); got != want {
			t.Errorf("%d: %q, want %q", int(api), got, want)
		}
	}
}

func TestConfigPrintsNoContents(t *testing.T) {
	t.Parallel()
	cfg := config{store: NewMemoryTokenStore(), baseURL: "https://x.example", budget: 2}
	want := `bkash.config{baseURL:"https://x.example", store:*bkash.MemoryTokenStore, logger:false, logBodies:false, retry:{MaxAttempts:0 BaseDelay:0s MaxDelay:0s}, observer:false, refundAPI:RefundAPI(0), userAgent:"", budget:2, tokenEncryption:false}`
	for _, got := range []string{fmt.Sprint(cfg), fmt.Sprintf("%#v", &cfg), cfg.GoString()} {
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

// WithAllowHTTP, and the rules WithBaseURL applies to plain http.

func TestWithAllowHTTPAcceptsPlainHTTPToAFakeOnAnotherHost(t *testing.T) {
	t.Parallel()
	for _, order := range []string{"allow first", "allow last"} {
		t.Run(order, func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			var got []string
			m.mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
				got = append(got, r.URL.String())
				if strings.HasSuffix(r.URL.Path, "/token/grant") {
					return m.tokenAnswer(1, coreReq{})
				}
				return coreOK(1, coreReq{})
			})
			opts := []Option{WithHTTPClient(&http.Client{Transport: m.mt}), WithBaseURL("http://bkash-fake:9090")}
			if order == "allow first" {
				opts = append([]Option{WithAllowHTTP()}, opts...)
			} else {
				opts = append(opts, WithAllowHTTP())
			}
			c, err := NewClient(Sandbox, coreCreds, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := coreQuery(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			want := []string{
				"http://bkash-fake:9090/v1.2.0-beta/tokenized/checkout/token/grant",
				"http://bkash-fake:9090/v1.2.0-beta/tokenized/checkout/payment/status",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("URLs = %q, want %q", got, want)
			}
		})
	}
}

func TestPlainHTTPRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		root  string
		allow bool
		want  string // "" means accepted
	}{
		{"http://127.0.0.1:9090", false, ""},
		{"http://localhost:9090", false, ""},
		{"http://[::1]:9090", false, ""},
		{"http://10.0.0.7:8080", false, "plain http is allowed only for loopback hosts, not \"10.0.0.7\" (WithAllowHTTP allows it"},
		{"http://bkash-fake:9090", false, "only for loopback"},
		{"http://10.0.0.7:8080", true, ""},
		{"http://bkash-fake:9090/prefix", true, ""},
		{"http://notbka.sh", true, ""},
		{"https://bkash.example.com", false, ""},
		{"https://tokenized.sandbox.bka.sh", false, ""},
		// bKash's own hosts are never reached in clear, whatever the options.
		{"http://tokenized.sandbox.bka.sh", true, "plain http to bKash's own host \"tokenized.sandbox.bka.sh\" is never allowed"},
		{"http://tokenized.pay.bka.sh", true, "bKash's own host"},
		{"http://TOKENIZED.PAY.BKA.SH.", true, "bKash's own host \"tokenized.pay.bka.sh\""},
		{"http://checkout.pay.bka.sh:8080", true, "bKash's own host"},
		{"http://merchantdemo.sandbox.bka.sh", true, "bKash's own host"},
		{"http://bka.sh", true, "bKash's own host"},
		{"http://tokenized.sandbox.bka.sh", false, "bKash's own host"},
	}
	for _, tc := range cases {
		opts := []Option{WithBaseURL(tc.root)}
		if tc.allow {
			opts = append(opts, WithAllowHTTP())
		}
		_, err := NewClient(Sandbox, coreCreds, opts...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s (allow %t): %v", tc.root, tc.allow, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s (allow %t): error %v, want one containing %q", tc.root, tc.allow, err, tc.want)
		}
	}
}
