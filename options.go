package bkash

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Option configures a Client. Every option validates its argument; an
// invalid one makes NewClient return an error.
type Option func(*config) error

// RetryPolicy bounds how often and how fast a call is retried. Whether a call
// may be retried at all depends on its operation class, not on this policy:
// a call that moves money is never re-sent once it may have reached bKash.
//
// A zero field takes its default, so RetryPolicy{MaxAttempts: 5} keeps the
// default delays: retries never come back to back.
type RetryPolicy struct {
	MaxAttempts int           // attempts in total, counting the first (1-10); 0 means 3
	BaseDelay   time.Duration // first backoff step; 0 means 200ms, or MaxDelay if that is shorter
	MaxDelay    time.Duration // cap of one wait; 0 means 2s, or BaseDelay if that is longer
}

// DefaultRetryPolicy is the policy of a Client built without WithRetryPolicy.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 3, BaseDelay: 200 * time.Millisecond, MaxDelay: 2 * time.Second}

// RefundAPI selects which of bKash's refund APIs the RefundService calls.
type RefundAPI int

const (
	// RefundV1 is the refund API of v1.2.0-beta: POST .../tokenized/checkout/payment/refund.
	RefundV1 RefundAPI = iota + 1
	// RefundV2 is the newer API under /v2/tokenized-checkout/refund/payment/...
	RefundV2
)

// String returns "v1" or "v2".
func (r RefundAPI) String() string {
	switch r {
	case RefundV1:
		return "v1"
	case RefundV2:
		return "v2"
	}
	return fmt.Sprintf("RefundAPI(%d)", int(r))
}

// Observer receives one event per HTTP attempt and one per token renewal,
// for metrics, tracing and audit logs. Its methods are called synchronously
// on the calling goroutine and must be fast and safe for concurrent use.
//
// Each event carries the call's context (AttemptEvent.Context,
// TokenRenewalEvent.Context), so an adapter can join the caller's trace. An
// Observer that also implements StartObserver is told when each call and
// each renewal begins, and the context it returns is the one the call runs
// with and its events carry. Package github.com/smartdairy/bkash-go/otel is
// such an Observer.
type Observer interface {
	ObserveAttempt(AttemptEvent)
	ObserveTokenRenewal(TokenRenewalEvent)
}

// AttemptEvent describes one HTTP attempt of an operation. Attempts are
// reported in order; the last event of a call has a non-zero Outcome and
// the call's summary (Attempts, CallErr, CallDuration and, with
// WithBodyLogging, the redacted bodies). A call that ends without a new
// attempt (its token could not be had, before the first attempt or for the
// replay after a rejected token) still reports a last event, with Attempt 0
// and no attempt fields.
type AttemptEvent struct {
	Op         string        // e.g. "payment.query"
	Attempt    int           // 1-based, counting replays after a token renewal
	HTTPStatus int           // 0 when no response arrived
	Code       ErrorCode     // bKash's code when the answer was decoded
	Duration   time.Duration // time of this attempt
	Err        error         // transport error of this attempt, if any
	// Start is when the attempt began (events are held back until the next
	// attempt or the call's end, so the delivery time is not the attempt's).
	Start time.Time

	Class   string // retry class: "read", "create", "money" or "cancel"
	RefKind string // what Ref is: "paymentID", "trxID", "agreementID" or "merchantInvoiceNumber"; empty when the call names nothing
	Ref     string // the payment, transaction or agreement the call names
	URL     string // the endpoint's URL: no query, no credentials

	// Outcome is set on the call's last event only; it is zero on the
	// others.
	Outcome      Outcome
	Attempts     int           // last event: the HTTP attempts the call made
	CallErr      error         // last event: the error the call returned, nil when Outcome is OutcomeOK
	CallDuration time.Duration // last event: the whole call, with backoff waits and a token renewal

	// Request and Response are the call's bodies, on its last event and
	// only when the Client has WithBodyLogging, redacted like the Debug
	// lines: secrets and tokens are [REDACTED], wallet numbers masked. They
	// are meant for audit logs; never put them on spans or metrics.
	Request, Response string

	ctx context.Context
}

// Context returns the context of the call the event belongs to: the
// caller's context, or the one a StartObserver returned for the call. It
// is never nil.
func (e AttemptEvent) Context() context.Context { return orBackground(e.ctx) }

// TokenRenewalEvent describes one renewal of the access token. A grant or
// refresh that the renewal budget refused reports an event whose Err
// matches ErrTokenBudgetExceeded (nothing was sent).
type TokenRenewalEvent struct {
	Kind     string        // "grant", "refresh" or "store" (taken from the TokenStore)
	Duration time.Duration // time the renewal took
	Err      error         // nil on success

	ctx context.Context
}

// Context returns the context of the renewal: it carries the values (a
// trace span, for example) of the call that triggered it, but not its
// cancellation, since one caller giving up must not fail the renewal for
// the others. It is never nil.
func (e TokenRenewalEvent) Context() context.Context { return orBackground(e.ctx) }

type config struct {
	httpClient *http.Client
	baseURL    string
	store      TokenStore
	logger     *slog.Logger
	logBodies  bool
	retry      RetryPolicy
	observer   Observer
	refundAPI  RefundAPI
	userAgent  string
	budget     int
	tokenAEAD  cipher.AEAD
	allowHTTP  bool // WithAllowHTTP
}

// String describes the configuration without the token store's contents or
// any key material.
func (c config) String() string {
	return fmt.Sprintf("bkash.config{baseURL:%q, store:%T, logger:%t, logBodies:%t, retry:%+v, observer:%t, refundAPI:%v, userAgent:%q, budget:%d, tokenEncryption:%t}",
		c.baseURL, c.store, c.logger != nil, c.logBodies, c.retry, c.observer != nil, c.refundAPI, c.userAgent, c.budget, c.tokenAEAD != nil)
}

// GoString is String.
func (c config) GoString() string { return c.String() }

// Format prints String for every verb.
func (c config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// WithHTTPClient sends requests through a copy of hc (hc itself is never
// modified). Set its Transport for proxies or TLS settings and keep its
// Timeout at or below bKash's recommended 30 seconds. Its CheckRedirect is
// not used: the client never follows a redirect.
//
// Requests that move money, and creates, carry no Request.GetBody, so
// neither net/http (HTTP/2 re-sends a request after a stream reset when it
// can rewind the body) nor a well-behaved RoundTripper can send one twice.
// A RoundTripper that buffers a request and re-sends it by itself (a
// retrying transport) defeats that, and is outside what any SDK can
// prevent: do not use one here. With the default client, idle connections
// are closed after 30 s, below the idle timeouts of the load balancers and
// NAT gateways on the way; set IdleConnTimeout on your own transport
// likewise.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("bkash: WithHTTPClient: nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithBaseURL replaces the environment's host root, for a proxy, a recorded
// test server or bkashtest. root is scheme://host[:port][/prefix]; the SDK
// appends /v1.2.0-beta/tokenized/checkout/... and /v2/tokenized-checkout/...
// to it, so root must not hold them: "https://tokenized.sandbox.bka.sh" is
// right, ".../v1.2.0-beta" or ".../v1.2.0-beta/tokenized/checkout" makes
// NewClient fail with an error naming the root to pass. Plain http is
// accepted only for loopback hosts, or for other hosts with WithAllowHTTP
// (never for bKash's own). A host of bKash's other environment (the sandbox's
// for Production, or the reverse) makes NewClient fail.
func WithBaseURL(root string) Option {
	return func(c *config) error {
		// Errors show the root masked (maskURL): a root copied from a
		// proxy's configuration may hold a password in its user info or a
		// key in its query, and url.Parse's error would quote it whole.
		u, err := url.Parse(root)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("bkash: WithBaseURL: %q: %w", maskURL(root), err)
		}
		if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("bkash: WithBaseURL: %q is not an absolute http(s) URL", maskURL(root))
		}
		if strings.ContainsFunc(u.Host, func(r rune) bool { return r >= utf8.RuneSelf }) {
			// net/http dials a host's ASCII (IDNA) form, and the host checks
			// (bKash's own hosts, loopback) compare ASCII: "tokenized。pay。bka。sh"
			// would reach tokenized.pay.bka.sh unchecked.
			return fmt.Errorf("bkash: WithBaseURL: %q: write the host in its ASCII (punycode) form", maskURL(root))
		}
		if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || u.User != nil {
			return fmt.Errorf("bkash: WithBaseURL: %q must not carry user info, a query or a fragment", maskURL(root))
		}
		if err := apiPathInRoot(u); err != nil {
			return err
		}
		c.baseURL = strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
		return nil
	}
}

// apiPathInRoot refuses a root that already holds bKash's API path, as
// several libraries' configurations spell the base URL
// ("https://tokenized.sandbox.bka.sh/v1.2.0-beta"; docs/wire.md,
// "Environments"): every call would then double the prefix and be answered
// 403 "Missing Authentication Token". The error gives the root to pass
// instead.
//
// The segments are compared decoded, as the gateway routes them: a root
// spelled "/v1.2.0-beta%2Ftokenized" or "/%761.2.0-beta" holds the API path
// all the same.
func apiPathInRoot(u *url.URL) error {
	segs := strings.Split(u.Path, "/")
	for i, seg := range segs {
		switch strings.ToLower(seg) {
		case "v1.2.0-beta", "tokenized", "tokenized-checkout":
		default:
			continue
		}
		if strings.EqualFold(seg, "tokenized-checkout") && i > 0 && strings.EqualFold(segs[i-1], "v2") {
			i-- // the root ends before /v2/tokenized-checkout
		}
		before := (&url.URL{Path: strings.Join(segs[:i], "/")}).EscapedPath()
		want := strings.TrimRight(u.Scheme+"://"+u.Host+before, "/")
		return fmt.Errorf("bkash: WithBaseURL: %q already holds bKash's API path; pass the root before it, %q (the client appends %s... and %s... itself)",
			u.Redacted(), want, tokenizedPrefix, refundV2Prefix)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WithTokenStore keeps the access token in s, so that several processes
// share one token (see package redisstore). If s also implements TokenLocker,
// renewals are serialised across processes; TokenLockExtender lets the
// holder keep a short lock alive while it works; TokenBudgetStore keeps the
// renewal budget in s, shared by every process with the same credentials.
// The default is an in-process MemoryTokenStore, which implements all three
// for the Clients that share it.
func WithTokenStore(s TokenStore) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("bkash: WithTokenStore: nil TokenStore")
		}
		c.store = s
		return nil
	}
}

// WithTokenEncryption encrypts the token blob the client saves in its
// TokenStore with aead (for example AES-256-GCM from crypto/aes and
// crypto/cipher), with the store key as associated data so that a blob
// cannot be moved to another key. Every process sharing the store must use
// the same key: a blob that cannot be decrypted, or a clear one, is ignored
// (with a warning) and the token is renewed instead.
func WithTokenEncryption(aead cipher.AEAD) Option {
	return func(c *config) error {
		if aead == nil {
			return errors.New("bkash: WithTokenEncryption: nil cipher.AEAD")
		}
		if aead.NonceSize() < 12 {
			return fmt.Errorf("bkash: WithTokenEncryption: nonce size %d is too small for random nonces", aead.NonceSize())
		}
		c.tokenAEAD = aead
		return nil
	}
}

// WithLogger logs each attempt at Debug level (operation, attempt, HTTP
// status, bKash code, duration, payment ID) and token renewals at Info. It
// never logs headers, secrets or tokens. The default is silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("bkash: WithLogger: nil *slog.Logger")
		}
		c.logger = l
		return nil
	}
}

// WithBodyLogging adds request and response bodies to the Debug lines, with
// secrets and tokens replaced by [REDACTED] and wallet numbers masked
// (017****8575). Meant for integration work, not for production.
func WithBodyLogging() Option {
	return func(c *config) error {
		c.logBodies = true
		return nil
	}
}

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) error {
		if p.BaseDelay < 0 || p.MaxDelay < 0 {
			return errors.New("bkash: WithRetryPolicy: negative delay")
		}
		if p.MaxAttempts == 0 {
			p.MaxAttempts = DefaultRetryPolicy.MaxAttempts
		}
		if p.BaseDelay == 0 {
			p.BaseDelay = DefaultRetryPolicy.BaseDelay
			if p.MaxDelay > 0 {
				p.BaseDelay = min(p.BaseDelay, p.MaxDelay)
			}
		}
		if p.MaxDelay == 0 {
			p.MaxDelay = max(DefaultRetryPolicy.MaxDelay, p.BaseDelay)
		}
		switch {
		case p.MaxAttempts < 1 || p.MaxAttempts > 10:
			return fmt.Errorf("bkash: WithRetryPolicy: MaxAttempts %d is outside 1-10", p.MaxAttempts)
		case p.BaseDelay > p.MaxDelay:
			return errors.New("bkash: WithRetryPolicy: BaseDelay is larger than MaxDelay")
		}
		c.retry = p
		return nil
	}
}

// WithObserver reports every attempt and token renewal to o (see Observer
// and StartObserver). Given more than once, it adds observers: each one
// receives every event, in the order they were given (an audit log and a
// tracing adapter side by side), and the contexts the StartObservers among
// them return are chained, so every event carries all of their values.
func WithObserver(o Observer) Option {
	return func(c *config) error {
		if o == nil {
			return errors.New("bkash: WithObserver: nil Observer")
		}
		if c.observer != nil {
			o = joinObservers(c.observer, o)
		}
		c.observer = o
		return nil
	}
}

// WithRefundAPI selects the refund API (default RefundV1).
func WithRefundAPI(api RefundAPI) Option {
	return func(c *config) error {
		if api != RefundV1 && api != RefundV2 {
			return fmt.Errorf("bkash: WithRefundAPI: unknown %v", api)
		}
		c.refundAPI = api
		return nil
	}
}

// WithUserAgent puts product (e.g. "myshop/1.4") in front of the SDK's own
// User-Agent, "bkash-go/<version> go/<runtime>".
func WithUserAgent(product string) Option {
	return func(c *config) error {
		if product == "" || strings.ContainsAny(product, "\r\n") {
			return errors.New("bkash: WithUserAgent: empty or multi-line product")
		}
		c.userAgent = product
		return nil
	}
}

// WithTokenRenewalBudget changes how many grant/refresh requests (each retry
// counts) the client may send in a rolling hour (default 2, bKash's limit).
// With a TokenBudgetStore the count is kept in the store and shared by every
// process with the same credentials. Raising it risks bKash blocking the
// application for an hour; lowering it to 1 is safe, but then a renewal is
// never retried.
func WithTokenRenewalBudget(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 60 {
			return fmt.Errorf("bkash: WithTokenRenewalBudget: %d is outside 1-60", n)
		}
		c.budget = n
		return nil
	}
}

// WithAllowHTTP lets WithBaseURL name a plain-http root on a host other than
// loopback: a fake bKash ("bkash fake", package bkashtest) in a container or
// on a test host. Without it plain http is refused outside loopback, because
// credentials and tokens would cross the network in clear. It never allows
// plain http to bKash's own hosts (bka.sh and its subdomains, the Sandbox and
// Production roots): those are reached over https only.
func WithAllowHTTP() Option {
	return func(c *config) error {
		c.allowHTTP = true
		return nil
	}
}

// checkBaseURL applies, once every option is in, the rules on the host of
// the WithBaseURL root: plain http only to loopback (or with WithAllowHTTP)
// and never to bKash's own hosts; and a bKash host of the environment the
// client is for, not the other's (production credentials and labels, in
// the token store's key, metrics and logs, with sandbox payments, or the
// reverse). A host under sandbox.bka.sh is the sandbox's; any other bKash
// host is production's. A proxy or a fake on a host of its own is not
// checked against the environment.
func (c *config) checkBaseURL(env Environment) error {
	if c.baseURL == "" {
		return nil
	}
	u, err := url.Parse(c.baseURL)
	if err != nil {
		return nil // WithBaseURL checked the form
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	bkashHost := isBkashHost(host)
	if u.Scheme == "http" {
		switch {
		case bkashHost:
			return fmt.Errorf("bkash: WithBaseURL: plain http to bKash's own host %q is never allowed: use https", host)
		case !isLoopback(host) && !c.allowHTTP:
			return fmt.Errorf("bkash: WithBaseURL: plain http is allowed only for loopback hosts, not %q (WithAllowHTTP allows it for a fake bKash on another host)", host)
		}
	}
	if !bkashHost {
		return nil
	}
	hostEnv, name := Production, "Production"
	if host == "sandbox.bka.sh" || strings.HasSuffix(host, ".sandbox.bka.sh") {
		hostEnv, name = Sandbox, "Sandbox"
	}
	if hostEnv != env {
		return fmt.Errorf("bkash: NewClient: WithBaseURL %q is bKash's %s, but the client is for %s: pass bkash.%s, or drop WithBaseURL", maskURL(c.baseURL), hostEnv, env, name)
	}
	return nil
}

// isBkashHost reports whether host (lower case) is one of bKash's: the hosts
// of Sandbox and Production, bka.sh, or any subdomain of it
// (*.sandbox.bka.sh, *.pay.bka.sh ...).
func isBkashHost(host string) bool {
	for _, env := range []Environment{Sandbox, Production} {
		if u, err := url.Parse(env.root); err == nil && host == u.Hostname() {
			return true
		}
	}
	return host == "bka.sh" || strings.HasSuffix(host, ".bka.sh")
}
