// Command checkout is a small web shop that takes payments with bKash
// Tokenized Checkout through the bkash-go SDK. It runs with one command and
// no credentials:
//
//	go run ./examples/checkout
//
// and prints the URL to open (http://127.0.0.1:8080 by default).
//
// # Which bKash
//
// By default the shop talks to a fake bKash (package bkashtest) running in
// the same process: it serves bKash's API and a hosted payment page where you
// enter wallet 01770618575, verification code 123456 and PIN 12121. Nothing
// leaves your machine.
//
// With BKASH_USERNAME, BKASH_PASSWORD, BKASH_APP_KEY and BKASH_APP_SECRET set,
// it talks to bKash's sandbox (tokenized.sandbox.bka.sh) instead; set
// BKASH_WEBHOOK_TOPIC_ARN as well to accept bKash's webhook (it must reach
// the shop from the internet: see -public-url). With BKASH_BASE_URL set too
// (a root such as http://127.0.0.1:9090), it talks to the bKash there, for
// example a `bkash fake` shared by several shop processes; plain http is
// accepted for loopback hosts, and for other hosts with BKASH_ALLOW_HTTP=1
// (the SDK's WithAllowHTTP; never for bKash's own hosts). A banner on every page says which
// bKash the shop is using.
//
// # Where the data is
//
// Orders, payment attempts, refunds, saved wallets and the audit logs (every
// call to bKash and every webhook, bodies redacted) are kept in a SQLite
// database, <data>/shop-fake.db (shop-sandbox.db, shop-remote.db for the
// other bKash), created and migrated at start. The in-process fake keeps
// its own state (payments, saved-wallet agreements, refunds) beside it, in
// <data>/bkash-fake.state, so that saved wallets and refund status work
// after a restart. With DATABASE_URL set
// (postgres://...), they are kept in that PostgreSQL database instead, which
// several shop processes may share: an order is charged once whichever
// process takes its callbacks. With credentials, the processes on one
// database also share the bKash token through it (sealed with a key
// derived from the credentials) and count their grant and refresh requests
// together, so that a fleet sends at most bKash's two an hour.
//
// # Telemetry
//
// BKASH_TRACES=stdout writes OpenTelemetry traces (a span per request, per
// bKash call and per token renewal) to standard output; -metrics ADDR (or
// BKASH_METRICS_ADDR) serves Prometheus metrics at http://ADDR/metrics
// through the bkash-go/otel adapter. Both are off by default; see
// docs/observability.md.
//
// # Flags
//
//	-addr        address to listen on (default 127.0.0.1:8080; use :0 for any free port)
//	-data        directory of the SQLite database (default: the user's config
//	             directory + /bkash-go-shop, e.g. ~/.config/bkash-go-shop; ./shopdata
//	             when there is none). Not used with DATABASE_URL.
//	-public-url  the shop's URL as browsers reach it (default http://<addr>),
//	             used for bKash's callback
//
// The shop stops cleanly on Ctrl-C (SIGINT) or SIGTERM: it finishes the
// requests in flight, stops its reconciler and the fake bKash.
//
// The code worth reading is in package shop (examples/checkout/shop).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/examples/checkout/shop"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opt, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = run(ctx, opt, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(1)
	}
}

// options is the shop's configuration from flags and environment.
type options struct {
	addr      string
	dataDir   string
	publicURL string
	// sandbox is set when the BKASH_* credentials are; nil means the fake.
	sandbox  *bkash.Credentials
	topicARN string
	// baseURL (BKASH_BASE_URL) points the credentials at another bKash.
	baseURL   string
	allowHTTP bool
	// databaseURL (DATABASE_URL) selects PostgreSQL.
	databaseURL string
	// reconcileEvery, refundSettle and logger are for tests; zero values
	// are fine.
	reconcileEvery time.Duration
	refundSettle   time.Duration
	fakeOpts       []bkashtest.Option // options of the in-process fake
	transport      http.RoundTripper  // the SDK's HTTP transport (default when nil)
	logger         *slog.Logger
	// telemetry: traces to stdout and a Prometheus endpoint (telemetry.go).
	telemetry telemetryOptions
	// bkashOpts are added to the client's options (the telemetry adapter).
	bkashOpts []bkash.Option
	// ready, when set, is called with the app once it serves (tests).
	ready func(a *app, url string)
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var opt options
	fs := flag.NewFlagSet("checkout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opt.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&opt.dataDir, "data", defaultDataDir(), "directory of the order store")
	fs.StringVar(&opt.publicURL, "public-url", "", "the shop's URL as browsers reach it (default http://<addr>)")
	registerTelemetryFlags(fs, &opt.telemetry)
	if err := fs.Parse(args); err != nil {
		return opt, err
	}
	if err := readTelemetryEnv(getenv, &opt.telemetry); err != nil {
		return opt, err
	}
	if fs.NArg() > 0 {
		return opt, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	// Any BKASH_* credential variable selects the sandbox; then all four
	// must be set (CredentialsFromEnv names the missing ones).
	for _, k := range []string{"BKASH_USERNAME", "BKASH_PASSWORD", "BKASH_APP_KEY", "BKASH_APP_SECRET"} {
		if getenv(k) != "" {
			creds, err := bkash.CredentialsFromEnv()
			if err != nil {
				return opt, err
			}
			opt.sandbox = &creds
			opt.topicARN = getenv("BKASH_WEBHOOK_TOPIC_ARN")
			break
		}
	}
	opt.baseURL = strings.TrimRight(getenv("BKASH_BASE_URL"), "/")
	if opt.baseURL != "" && opt.sandbox == nil {
		return opt, errors.New("BKASH_BASE_URL is set: set BKASH_USERNAME, BKASH_PASSWORD, BKASH_APP_KEY and BKASH_APP_SECRET too (the credentials of that bKash)")
	}
	switch v := getenv("BKASH_ALLOW_HTTP"); v {
	case "", "0", "false":
	case "1", "true":
		opt.allowHTTP = true
	default:
		return opt, fmt.Errorf("BKASH_ALLOW_HTTP=%q: use 1 or 0", v)
	}
	opt.databaseURL = getenv("DATABASE_URL")
	if opt.databaseURL != "" && !shop.IsPostgresURL(opt.databaseURL) {
		return opt, errors.New("DATABASE_URL must be a postgres:// or postgresql:// URL")
	}
	return opt, nil
}

// defaultDataDir is a per-user directory, or ./shopdata.
func defaultDataDir() string {
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "bkash-go-shop")
	}
	return "shopdata"
}

// app is the shop with its bKash backend.
type app struct {
	backend *shop.Backend
	shop    *shop.Shop
	store   *shop.Store
}

// checkPlainHTTP refuses BKASH_BASE_URL with plain http to a host that is
// not loopback: that needs the SDK's WithAllowHTTP (BKASH_ALLOW_HTTP=1), which
// this SDK version does not have yet; loopback http always works.
func checkPlainHTTP(opt options) error {
	u, err := url.Parse(opt.baseURL)
	if opt.baseURL == "" || err != nil || u.Scheme != "http" {
		return nil // WithBaseURL reports malformed roots
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	if opt.allowHTTP {
		return nil // passed on as bkash.WithAllowHTTP, which still refuses bKash's own hosts
	}
	return fmt.Errorf("BKASH_BASE_URL %s: plain http is accepted for loopback hosts only; set BKASH_ALLOW_HTTP=1 for a fake bKash on another host", opt.baseURL)
}

// fakeStateFile is the in-process fake's state file, in the data directory.
const fakeStateFile = "bkash-fake.state"

// backendName names the bKash the options select; the SQLite file is
// named after it so that orders of two bKash never mix.
func (opt options) backendName() string {
	switch {
	case opt.sandbox == nil:
		return "fake"
	case opt.baseURL != "":
		return "remote"
	}
	return "sandbox"
}

// newApp wires the shop for publicURL: the database, the bKash backend
// (fake, sandbox or BKASH_BASE_URL) with the audit log on its transport, the
// handler and its reconciler.
func newApp(publicURL string, opt options) (*app, error) {
	dsn := opt.databaseURL
	if dsn == "" {
		dsn = filepath.Join(opt.dataDir, "shop-"+opt.backendName()+".db")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := shop.OpenStore(ctx, dsn, nil)
	if err != nil {
		return nil, err
	}
	// Every HTTP attempt to bKash is written to api_log by the audit
	// observer; WithBodyLogging gives it the redacted bodies. 30 s is
	// bKash's recommended timeout.
	bopts := []bkash.Option{
		bkash.WithHTTPClient(&http.Client{Timeout: 30 * time.Second, Transport: opt.transport}),
		bkash.WithObserver(&shop.AuditObserver{Store: store, OnError: func(err error) {
			if opt.logger != nil {
				opt.logger.Error("api_log", "err", err)
			}
		}}),
		bkash.WithBodyLogging(),
	}
	if opt.allowHTTP {
		bopts = append(bopts, bkash.WithAllowHTTP())
	}
	bopts = append(bopts, opt.bkashOpts...)
	if err := checkPlainHTTP(opt); err != nil {
		_ = store.Close()
		return nil, err
	}
	var b *shop.Backend
	switch opt.backendName() {
	case "fake":
		// The fake's own state (payments, agreements, refunds, tokens) is
		// kept beside the shop's database, so that saved wallets and refund
		// status still work after a restart.
		if err = os.MkdirAll(opt.dataDir, 0o700); err == nil {
			fakeOpts := append([]bkashtest.Option{bkashtest.WithStateFile(filepath.Join(opt.dataDir, fakeStateFile))}, opt.fakeOpts...)
			b, err = shop.NewFakeBackendWith(publicURL, fakeOpts, bopts...)
		}
	default:
		// The processes of the shop on one database share the token and
		// the count of grant and refresh requests through it (bKash blocks
		// an app that sends more than two an hour). The fake of a "fake"
		// backend lives in its process, so its token is not shared.
		var tokenOpts []bkash.Option
		if tokenOpts, err = store.TokenOptions(*opt.sandbox); err != nil {
			break
		}
		bopts = append(bopts, tokenOpts...)
		if opt.baseURL != "" {
			b, err = shop.NewRemoteBackend(opt.baseURL, *opt.sandbox, opt.topicARN, bopts...)
		} else {
			b, err = shop.NewSandboxBackend(*opt.sandbox, opt.topicARN, bopts...)
		}
	}
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	s, err := shop.New(shop.Config{
		Client:            b.Client,
		Store:             store,
		PublicURL:         publicURL,
		Verifier:          b.Verifier,
		Banner:            b.Banner,
		Sandbox:           b.Sandbox,
		Logger:            opt.logger,
		ReconcileEvery:    opt.reconcileEvery,
		RefundSettleAfter: opt.refundSettle,
	})
	if err != nil {
		b.Close()
		_ = store.Close()
		return nil, err
	}
	return &app{backend: b, shop: s, store: store}, nil
}

// Close stops the reconciler, then the fake bKash, then closes the database.
func (a *app) Close() {
	_ = a.shop.Close()
	a.backend.Close()
	_ = a.store.Close()
}

// run serves the shop until ctx ends, then shuts down gracefully.
func run(ctx context.Context, opt options, stdout io.Writer) error {
	if opt.logger == nil {
		opt.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	tel, err := startTelemetry(opt.telemetry, stdout)
	if err != nil {
		return err
	}
	defer func() { _ = tel.Close(context.Background()) }()
	opt.bkashOpts = append(opt.bkashOpts, tel.clientOptions()...)
	ln, err := net.Listen("tcp", opt.addr)
	if err != nil {
		return err
	}
	publicURL := strings.TrimRight(opt.publicURL, "/")
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	a, err := newApp(publicURL, opt)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer a.Close()

	srv := &http.Server{
		Handler:           tel.handler(a.shop.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	fmt.Fprintf(stdout, "Smart Dairy shop: open %s\n", publicURL)
	fmt.Fprintf(stdout, "%s\n", a.backend.Banner)
	fmt.Fprintf(stdout, "Orders are stored in %s (%s). Stop with Ctrl-C.\n", a.store.Path(), a.store.Dialect())
	if u := tel.metricsURL(); u != "" {
		fmt.Fprintf(stdout, "Prometheus metrics: %s\n", u)
	}
	if opt.ready != nil {
		opt.ready(a, publicURL)
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Finish the requests in flight (a callback may be executing a
	// payment), then stop the reconciler and the fake (deferred Close).
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(stdout, "Stopped.")
	return nil
}
