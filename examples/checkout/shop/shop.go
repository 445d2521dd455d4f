// Package shop is the demo web shop of examples/checkout: a small net/http
// server that takes payments through bKash Tokenized Checkout with the
// bkash-go SDK. It is a separate package so that the end-to-end browser
// test (module e2e) can start the same handler in-process; the program
// itself is examples/checkout/main.go.
//
// Read it in this order: checkout.go (create, callback, execute, the
// receipt), reconcile.go (settling outcomes nobody knows yet), wallets.go
// (saved wallets and one-click payments), admin.go (refunds), webhook.go
// (bKash's notifications), store.go (orders on disk).
package shop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go"
)

// Config is what a Shop needs.
type Config struct {
	// Client talks to bKash (the sandbox, production, or a bkashtest fake).
	Client *bkash.Client
	// Store keeps orders and saved wallets.
	Store *Store
	// PublicURL is the shop's root as the customer's browser reaches it, e.g.
	// "http://127.0.0.1:8080". bKash sends the browser back to
	// PublicURL + "/bkash/callback".
	PublicURL string
	// Verifier checks bKash's webhook (SNS) messages. Nil disables
	// POST /bkash/webhook.
	Verifier *bkash.WebhookVerifier
	// Banner is shown on every page: which bKash the shop talks to.
	Banner string
	// Sandbox marks the banner as the real sandbox (styling only).
	Sandbox bool
	// Catalog is what the shop sells; DefaultCatalog when nil.
	Catalog []Product
	// Logger receives the shop's log lines; silent when nil.
	Logger *slog.Logger
	// RefundSettleAfter is how long a refund whose outcome is unknown stays
	// pending before bKash's refund status may show it was not made;
	// RefundSettleAfter (the package constant) when zero. Tests shorten it.
	RefundSettleAfter time.Duration
	// ReconcileEvery is how often orders in "processing" are checked with
	// bKash; 10s when zero.
	ReconcileEvery time.Duration
	// CallTimeout bounds one money call (execute, refund) that runs detached
	// from the browser's request; 60s when zero.
	CallTimeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Shop is the demo shop's HTTP handler and its background reconciler.
type Shop struct {
	client       *bkash.Client
	store        *Store
	public       string
	verifier     *bkash.WebhookVerifier
	banner       string
	sandbox      bool
	catalog      []Product
	log          *slog.Logger
	every        time.Duration
	timeout      time.Duration
	refundSettle time.Duration
	now          func() time.Time
	pages        pages
	mux          *http.ServeMux

	inflight sync.Map // paymentID -> struct{}: execute running in a request handler
	watching sync.Map // paymentID -> struct{}: a bkash.Reconciler is reading it

	kick      chan struct{} // wakes the reconciler early
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New builds a Shop and starts its reconciler. Call Close to stop it.
func New(cfg Config) (*Shop, error) {
	if cfg.Client == nil {
		return nil, errors.New("shop: Config.Client is nil")
	}
	if cfg.Store == nil {
		return nil, errors.New("shop: Config.Store is nil")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("shop: Config.PublicURL %q is not an absolute http(s) URL", cfg.PublicURL)
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Shop{
		client:       cfg.Client,
		store:        cfg.Store,
		public:       strings.TrimRight(cfg.PublicURL, "/"),
		verifier:     cfg.Verifier,
		banner:       cfg.Banner,
		sandbox:      cfg.Sandbox,
		catalog:      cfg.Catalog,
		log:          cfg.Logger,
		every:        cfg.ReconcileEvery,
		timeout:      cfg.CallTimeout,
		refundSettle: cfg.RefundSettleAfter,
		now:          cfg.Now,
		pages:        pg,
		kick:         make(chan struct{}, 1),
		done:         make(chan struct{}),
	}
	if s.catalog == nil {
		s.catalog = DefaultCatalog
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.every <= 0 {
		s.every = 10 * time.Second
	}
	if s.timeout <= 0 {
		s.timeout = 60 * time.Second
	}
	if s.refundSettle <= 0 {
		s.refundSettle = RefundSettleAfter
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.routes()
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.reconciler(ctx)
	return s, nil
}

// Close stops the reconciler and waits for it. Stop the HTTP server first
// (http.Server.Shutdown) so that no request is still running.
func (s *Shop) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
	})
	return nil
}

// Store is the shop's order store.
func (s *Shop) Store() *Store { return s.store }

// Handler is the shop's HTTP handler.
func (s *Shop) Handler() http.Handler { return s.mux }

func (s *Shop) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleIndex)
	m.HandleFunc("POST /cart", s.handleCart)
	m.HandleFunc("GET /cart", s.handleCartLink)
	m.HandleFunc("POST /checkout", s.handleCheckout)
	m.HandleFunc("GET /bkash/callback/{key}", s.handleCallback)
	m.HandleFunc("GET /bkash/callback", s.handleKeylessCallback)
	m.HandleFunc("GET /orders", s.handleOrders)
	m.HandleFunc("GET /orders/{id}", s.handleOrder)
	m.HandleFunc("GET /orders/{id}/receipt", s.handleReceipt)
	m.HandleFunc("GET /wallets", s.handleWallets)
	m.HandleFunc("POST /wallets", s.handleAddWallet)
	m.HandleFunc("POST /wallets/{pid}/remove", s.handleRemoveWallet)
	m.HandleFunc("GET /bkash/agreement/callback/{key}", s.handleAgreementCallback)
	m.HandleFunc("GET /bkash/agreement/callback", s.handleKeylessAgreementCallback)
	m.HandleFunc("GET /admin", s.handleAdmin)
	m.HandleFunc("POST /admin/orders/{id}/refund", s.handleRefund)
	m.HandleFunc("POST /admin/orders/{id}/refund-status", s.handleRefundStatus)
	m.HandleFunc("GET /admin/logs", s.handleLogs)
	if s.verifier != nil {
		m.HandleFunc("POST /bkash/webhook", s.handleWebhook)
	}
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	s.mux = m
}

// customerCookie identifies the browser: carts, orders and saved wallets
// belong to it. A real shop has accounts; the demo has a random ID.
const customerCookie = "shop_customer"

// customer returns the browser's customer ID, issuing one if needed.
func (s *Shop) customer(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(customerCookie); err == nil && validCustomerID(c.Value) {
		return c.Value
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := "c" + hex.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{
		Name: customerCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600,
	})
	return id
}

func validCustomerID(v string) bool {
	if len(v) != 17 || v[0] != 'c' {
		return false
	}
	_, err := hex.DecodeString(v[1:])
	return err == nil
}

// detached returns a context for a call that must finish even if the
// browser goes away: a customer closing the tab must not turn a payment that
// bKash executed into one the shop never recorded.
func (s *Shop) detached(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), s.timeout)
}
