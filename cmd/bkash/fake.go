package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

var fakeCmd = &command{
	name:    "fake",
	summary: "Serve a fake bKash (for tests in any language) until interrupted",
	detail: `Serve the fake bKash of package bkashtest on --addr: bKash's API paths
(/v1.2.0-beta/tokenized/checkout/..., /v2/tokenized-checkout/refund/...), the
hosted checkout page (/checkout) and the control API under /_bkashtest/ that
test suites use to approve payments, inject faults, read state and move the
clock (docs/fake.md; OpenAPI in docs/fake.openapi.json). It prints the base URL
and the credentials to use (with --json: one line of JSON), and runs until
SIGINT or SIGTERM, when it lets requests in progress finish and stops.

The credentials are the fake's own (defaults: those of bkashtest), never a
merchant's: they may be given as flags. With --webhook-url, every completed
payment is posted there as a signed Amazon SNS notification; the messages name
an SNS-shaped SigningCertURL and the certificate is served at
/_bkashtest/sns/cert.pem: point your verifier's certificate-fetch hook at it.

Other programs reach a fake on another host with plain http only if they allow
it (the SDK's WithAllowHTTP, this command's --allow-http).`,
	setup: func(fs *flag.FlagSet) func(*app, []string) error {
		o := fakeOptions{}
		fs.StringVar(&o.addr, "addr", "127.0.0.1:9090", "listen on `host:port` (port 0 picks a free one; 0.0.0.0 in a container)")
		fs.StringVar(&o.publicURL, "public-url", "", "the `url` clients and browsers reach the fake at, used in bkashURLs (default: http://<addr>, 127.0.0.1 for an unspecified host)")
		fs.DurationVar(&o.tokenLifetime, "token-lifetime", time.Hour, "how long an id_token is accepted")
		fs.Var(&o.wallets, "wallet", "add a customer wallet, or set a sandbox wallet's balance: `NUMBER=BALANCE` in taka, e.g. 01711111111=500.00 (repeatable)")
		fs.StringVar(&o.refundAPI, "refund-api", "both", "refund APIs served: `v1`, v2 or both (the other one answers 403 like an unknown route)")
		fs.StringVar(&o.webhookURL, "webhook-url", "", "post a signed SNS notification to `url` for every completed payment")
		fs.StringVar(&o.topicARN, "topic-arn", "", "SNS topic `ARN` of the notifications (default: a random one, shown at start)")
		fs.StringVar(&o.creds.Username, "username", bkashtest.DefaultCredentials.Username, "the username the fake accepts")
		fs.StringVar(&o.password, "password", string(bkashtest.DefaultCredentials.Password), "the password the fake accepts")
		fs.StringVar(&o.creds.AppKey, "app-key", bkashtest.DefaultCredentials.AppKey, "the app key the fake accepts")
		fs.StringVar(&o.appSecret, "app-secret", string(bkashtest.DefaultCredentials.AppSecret), "the app secret the fake accepts")
		fs.DurationVar(&o.grace, "shutdown-timeout", 10*time.Second, "on SIGINT/SIGTERM, wait this long for requests in progress (injected delays included)")
		registerStateFlag(fs, &o)
		return func(a *app, _ []string) error { return a.runFake(o) }
	},
}

// fakeOptions are the flags of "bkash fake".
type fakeOptions struct {
	addr, publicURL      string
	tokenLifetime        time.Duration
	wallets              walletFlags
	refundAPI            string
	webhookURL, topicARN string
	creds                bkash.Credentials
	password, appSecret  string
	stateFile            string
	grace                time.Duration
}

// walletFlags collects repeated --wallet NUMBER=BALANCE flags.
type walletFlags []walletFlag

type walletFlag struct {
	msisdn  string
	balance bkash.Amount
}

func (w *walletFlags) String() string {
	if w == nil {
		return ""
	}
	parts := make([]string, len(*w))
	for i, f := range *w {
		parts[i] = f.msisdn + "=" + f.balance.String()
	}
	return strings.Join(parts, ",")
}

func (w *walletFlags) Set(v string) error {
	n, bal, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("%q is not NUMBER=BALANCE", v)
	}
	if !isWallet(n) {
		return fmt.Errorf("%q is not a wallet number (01XXXXXXXXX)", n)
	}
	var amt bkash.Amount
	if err := amt.UnmarshalText([]byte(bal)); err != nil || amt < 0 {
		return fmt.Errorf("balance %q is not an amount in taka such as 500 or 1250.50", bal)
	}
	*w = append(*w, walletFlag{n, amt})
	return nil
}

func isWallet(s string) bool {
	if len(s) != 11 || !strings.HasPrefix(s, "01") {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// serverOptions turns the flags into bkashtest options, checking each first
// (the options panic on bad input, which would be no way to tell a user).
func (o *fakeOptions) serverOptions() ([]bkashtest.Option, *bkashtest.SNSSigner, error) {
	o.creds.Password, o.creds.AppSecret = bkash.Secret(o.password), bkash.Secret(o.appSecret)
	if err := o.creds.Validate(); err != nil {
		return nil, nil, usagef("credentials: %v", strings.TrimPrefix(err.Error(), "bkash: "))
	}
	if o.tokenLifetime <= 0 {
		return nil, nil, usagef("--token-lifetime must be positive")
	}
	opts := []bkashtest.Option{bkashtest.WithCredentials(o.creds), bkashtest.WithTokenLifetime(o.tokenLifetime)}
	for _, w := range o.wallets {
		opts = append(opts, bkashtest.WithWallet(w.msisdn, w.balance))
	}
	switch o.refundAPI {
	case "both":
	case "v1":
		opts = append(opts, bkashtest.WithRefundAPIs(bkash.RefundV1))
	case "v2":
		opts = append(opts, bkashtest.WithRefundAPIs(bkash.RefundV2))
	default:
		return nil, nil, usagef("--refund-api: %q is not v1, v2 or both", o.refundAPI)
	}
	if o.publicURL != "" {
		if err := checkRoot(o.publicURL); err != nil {
			return nil, nil, usagef("--public-url: %v", err)
		}
		opts = append(opts, bkashtest.WithPublicURL(o.publicURL))
	}
	var signer *bkashtest.SNSSigner
	var err error
	if o.topicARN != "" {
		signer, err = bkashtest.NewSNSSignerForTopic(o.topicARN)
		if err != nil {
			return nil, nil, usagef("--topic-arn: %v", strings.TrimPrefix(err.Error(), "bkashtest: "))
		}
	} else if signer, err = bkashtest.NewSNSSigner(); err != nil {
		return nil, nil, err
	}
	opts = append(opts, bkashtest.WithSNSSigner(signer))
	if o.webhookURL != "" {
		if _, err := checkTarget(o.webhookURL); err != nil {
			return nil, nil, usagef("--webhook-url: %v", err)
		}
		opts = append(opts, bkashtest.WithWebhook(o.webhookURL, signer))
	}
	stateOpts, err := o.stateOptions()
	if err != nil {
		return nil, nil, err
	}
	return append(opts, stateOpts...), signer, nil
}

// checkRoot accepts an absolute http(s) URL without user info, query or
// fragment.
func checkRoot(s string) error {
	u, err := checkTarget(s)
	if err == nil && (u.RawQuery != "" || u.ForceQuery) {
		return fmt.Errorf("%q must not carry a query", s)
	}
	return err
}

// checkTarget accepts an absolute http(s) URL without user info or fragment
// (a webhook receiver's URL may carry a query).
func checkTarget(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, err
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
	case u.User != nil || u.Fragment != "":
		return nil, fmt.Errorf("%q must not carry user info or a fragment", s)
	}
	return u, nil
}

// defaultPublicURL is the root clients use for a fake listening on addr: an
// unspecified host (0.0.0.0, ::) is reached as 127.0.0.1 from the same
// machine, or through a container's published port.
func defaultPublicURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// fakeView is what "bkash fake" prints once it serves.
type fakeView struct {
	bkashtest.Info
	ControlURL string `json:"control_url"`
	CertURL    string `json:"cert_url"`
	StateFile  string `json:"state_file,omitempty"`
	PID        int    `json:"pid"`
}

func (a *app) runFake(o fakeOptions) error {
	opts, _, err := o.serverOptions()
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	opts = append(opts, bkashtest.WithListener(l))
	if o.publicURL == "" {
		opts = append(opts, bkashtest.WithPublicURL(defaultPublicURL(l.Addr())))
	}
	srv, err := openFake(opts)
	if err != nil {
		_ = l.Close()
		return fmt.Errorf("fake: %w", err)
	}
	v := fakeView{Info: srv.Info(), ControlURL: srv.URL + bkashtest.ControlPrefix, CertURL: srv.URL + bkashtest.CertPath, StateFile: o.stateFile, PID: os.Getpid()}
	if a.g.json {
		// One line, so that a script can read it and go on.
		b, err := json.Marshal(v)
		if err != nil {
			srv.Close()
			return err
		}
		fmt.Fprintf(a.stdout, "%s\n", b)
	} else {
		a.printFake(v)
	}
	<-a.ctx.Done()
	fmt.Fprintf(a.stderr, "bkash fake: stopping: waiting up to %s for requests in progress and webhook deliveries\n", o.grace)
	ctx, cancel := context.WithTimeout(context.Background(), o.grace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Fprintf(a.stderr, "bkash fake: requests still running after %s were cut off\n", o.grace)
	}
	if err := fakeStateErr(srv); err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	fmt.Fprintln(a.stderr, "bkash fake: stopped")
	return nil
}

func (a *app) printFake(v fakeView) {
	c := v.Credentials
	fields := []field{
		{"Fake bKash", "serving (stop with Ctrl-C or SIGTERM)"},
		{"Base URL", v.BaseURL},
		{"Username", c.Username},
		{"Password", c.Password},
		{"App key", c.AppKey},
		{"App secret", c.AppSecret},
		{"Token lifetime", v.TokenLifetime},
		{"Refund APIs", strings.Join(v.RefundAPIs, ", ")},
		{"Paying wallets", strings.Join(v.Wallets.Paying, ", ") + " (OTP " + v.Wallets.OTP + ", PIN " + v.Wallets.PIN + ")"},
		{"Control API", v.ControlURL + " (docs/fake.md)"},
		{"SNS topic", v.SNS.TopicARN},
		{"SNS cert", v.CertURL + " (messages name " + v.SNS.SigningCertURL + ")"},
		{"Webhook URL", strings.Join(v.WebhookURLs, ", ")},
		{"State file", v.StateFile},
	}
	writeFields(a.stdout, fields)
	fmt.Fprintf(a.stdout, "\nTry it:\n  BKASH_USERNAME=%s BKASH_PASSWORD=%s BKASH_APP_KEY=%s BKASH_APP_SECRET=%s \\\n    bkash --base-url %s --no-token-cache token check\n",
		shellQuote(c.Username), shellQuote(c.Password), shellQuote(c.AppKey), shellQuote(c.AppSecret), v.BaseURL)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/@=+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// openFake starts the server, returning the panic of a bad option (or, with
// a state file, the error loading it) as an error.
func openFake(opts []bkashtest.Option) (srv *bkashtest.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return bkashtest.Open(opts...)
}
