package bkashtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go"
)

// API paths, relative to the environment root (Server.URL), as on bKash's hosts.
const (
	pathPrefix      = "/v1.2.0-beta/tokenized/checkout/"
	pathGrant       = pathPrefix + "token/grant"
	pathRefresh     = pathPrefix + "token/refresh"
	pathCreate      = pathPrefix + "create"
	pathExecute     = pathPrefix + "execute"
	pathStatus      = pathPrefix + "payment/status"
	pathSearch      = pathPrefix + "general/searchTransaction"
	pathCapture     = pathPrefix + "payment/confirm/capture"
	pathVoid        = pathPrefix + "payment/confirm/void"
	pathRefund      = pathPrefix + "payment/refund"
	pathAgStatus    = pathPrefix + "agreement/status"
	pathAgCancel    = pathPrefix + "agreement/cancel"
	pathV2Refund    = "/v2/tokenized-checkout/refund/payment/transaction"
	pathV2RefStatus = "/v2/tokenized-checkout/refund/payment/status"
	pathCheckout    = "/checkout"
)

// Operation names, shared with the SDK (APIError.Op, logs, metrics).
const (
	opGrant           = "token.grant"
	opRefresh         = "token.refresh"
	opPaymentCreate   = "payment.create"
	opPaymentExecute  = "payment.execute"
	opPaymentQuery    = "payment.query"
	opPaymentSearch   = "payment.search"
	opPaymentCapture  = "payment.capture"
	opPaymentVoid     = "payment.void"
	opAgreementCreate = "agreement.create"
	opAgreementExec   = "agreement.execute"
	opAgreementQuery  = "agreement.query"
	opAgreementCancel = "agreement.cancel"
	opRefundCreate    = "refund.create"
	opRefundStatus    = "refund.status"
)

// ops lists every operation name the fake understands.
var ops = []string{
	opGrant, opRefresh,
	opPaymentCreate, opPaymentExecute, opPaymentQuery, opPaymentSearch, opPaymentCapture, opPaymentVoid,
	opAgreementCreate, opAgreementExec, opAgreementQuery, opAgreementCancel,
	opRefundCreate, opRefundStatus,
}

// Operations returns every operation name the fake understands, for Inject,
// Received and Applied: token.grant, token.refresh, payment.create, ...
func Operations() []string { return slices.Clone(ops) }

// maxBody bounds a request body; bKash's requests are a few hundred bytes.
const maxBody = 64 << 10

// paymentLifetime is how long a created payment can be executed.
const paymentLifetime = 24 * time.Hour

// Server is a fake bKash Tokenized Checkout server on a loopback listener.
// It is safe for concurrent use. Create it with NewServer and stop it with
// Close.
type Server struct {
	// URL is the environment root, e.g. "http://127.0.0.1:41234": give it to
	// the SDK's WithBaseURL. API paths are served below it exactly as on
	// bKash's hosts, and the hosted checkout page at URL + "/checkout".
	URL string

	cfg       config
	ts        *httptest.Server
	closing   chan struct{} // closed by Close: aborts injected delays
	closeOnce sync.Once
	bg        sync.WaitGroup // webhook deliveries in flight

	mu            sync.Mutex
	closed        bool
	idTokens      map[string]time.Time // tokenKey(id_token) -> expiry
	refreshTokens map[string]time.Time // tokenKey(refresh_token) -> expiry
	payments      map[string]*payment  // every paymentID issued (modes 0000, 0001, 0011)
	agreements    map[string]*agreement
	trx           map[string]*payment // payment trxID -> payment
	refundTrx     map[string]*refund  // refund trxID -> refund
	wallets       map[string]*wallet
	faults        map[string][]*pendingFault
	received      map[string]int
	applied       map[string]int
	hooks         []hook // per-server listeners built from config.hooks
	store         *store // the state file (WithStateFile); nil without one
}

// hook listens to completed payments (the webhook emitter).
type hook interface {
	// completed is called, outside the server's lock, for each payment whose
	// money moved (sale execute, capture). It must not block: it may start
	// background work with s.goBackground.
	completed(s *Server, n completion)
	// close releases the hook's resources once background work is done.
	close()
}

// config is what the options set.
type config struct {
	clock           func() time.Time
	creds           bkash.Credentials
	tokenLifetime   time.Duration
	refreshLifetime time.Duration
	merchantName    string
	shortCode       string
	wallets         map[string]*wallet
	hooks           []func() hook // builds the server's completed-payment listeners
	stateFile       string        // WithStateFile
	compactMin      int           // journal records before a compaction (0: default)
	afterSnapshot   func()        // test hook of compactions
}

// Option configures a Server.
type Option func(*config)

// WithClock makes the server read time from now instead of time.Now: token
// expiry, the 24-hour payment expiry, refund windows and every timestamp it
// sends. A Clock is a ready-made adjustable one.
func WithClock(now func() time.Time) Option {
	if now == nil {
		panic("bkashtest: WithClock(nil)")
	}
	return func(c *config) { c.clock = now }
}

// WithCredentials sets the credentials the server accepts, instead of the
// defaults that Server.Credentials returns.
func WithCredentials(creds bkash.Credentials) Option {
	if err := creds.Validate(); err != nil {
		panic("bkashtest: WithCredentials: " + err.Error())
	}
	return func(c *config) { c.creds = creds }
}

// WithTokenLifetime sets how long an id_token is accepted (bKash: one hour).
// expires_in in the grant and refresh answers says the same, in whole seconds.
func WithTokenLifetime(d time.Duration) Option {
	if d <= 0 {
		panic("bkashtest: WithTokenLifetime needs a positive duration")
	}
	return func(c *config) { c.tokenLifetime = d }
}

// WithWallet adds a customer wallet that can pay, or changes the balance of a
// sandbox wallet. Sandbox wallets start with a balance that no test exhausts;
// 01823074817 starts empty (execute answers 2023) and 01823074818 is blocked
// (execute answers 2037).
func WithWallet(msisdn string, balance bkash.Amount) Option {
	if !isWalletNumber(msisdn) {
		panic("bkashtest: WithWallet: " + strconv.Quote(msisdn) + " is not a wallet number (01XXXXXXXXX)")
	}
	return func(c *config) {
		w, ok := c.wallets[msisdn]
		if !ok {
			w = &wallet{}
			c.wallets[msisdn] = w
		}
		w.balance = balance
	}
}

// WithMerchant sets the merchant's name and short code, as they appear in
// webhook notifications (creditOrganizationName, creditShortCode) and search
// answers (organizationShortCode). Defaults: "bkashtest Merchant", "50022".
func WithMerchant(name, shortCode string) Option {
	return func(c *config) {
		c.merchantName = name
		c.shortCode = shortCode
	}
}

// DefaultCredentials are the credentials a Server accepts unless
// WithCredentials says otherwise.
var DefaultCredentials = bkash.Credentials{
	Username:  "bkashtest-user",
	Password:  bkash.Secret("bkashtest-password"),
	AppKey:    "bkashtest-app-key",
	AppSecret: bkash.Secret("bkashtest-app-secret"),
}

// NewServer starts a fake bKash server on a loopback port. Call Close when
// done (t.Cleanup(srv.Close) in tests). NewServer panics where Open returns
// an error: with a state file (WithStateFile), use Open.
func NewServer(opts ...Option) *Server {
	s, err := open(opts)
	if err != nil {
		panic(err.Error())
	}
	return s
}

func open(opts []Option) (*Server, error) {
	cfg := config{
		clock:           time.Now,
		creds:           DefaultCredentials,
		tokenLifetime:   time.Hour,
		refreshLifetime: 28 * 24 * time.Hour,
		merchantName:    "bkashtest Merchant",
		shortCode:       "50022",
		wallets:         sandboxWallets(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		cfg:           cfg,
		closing:       make(chan struct{}),
		idTokens:      make(map[string]time.Time),
		refreshTokens: make(map[string]time.Time),
		payments:      make(map[string]*payment),
		agreements:    make(map[string]*agreement),
		trx:           make(map[string]*payment),
		refundTrx:     make(map[string]*refund),
		wallets:       cfg.wallets,
		faults:        make(map[string][]*pendingFault),
		received:      make(map[string]int),
		applied:       make(map[string]int),
	}
	if cfg.stateFile != "" {
		if err := s.openState(cfg.stateFile, cfg.compactMin, cfg.afterSnapshot); err != nil {
			return nil, err
		}
	}
	for _, newHook := range cfg.hooks {
		s.hooks = append(s.hooks, newHook())
	}
	s.ts = httptest.NewUnstartedServer(s.routes())
	s.ts.Start()
	s.URL = s.ts.URL
	return s, nil
}

// Credentials returns the credentials the server accepts.
func (s *Server) Credentials() bkash.Credentials { return s.cfg.creds }

// Close shuts the server down. It aborts injected delays, waits for the
// requests in progress and for webhook deliveries, writes the final snapshot
// of the state file (WithStateFile; StateErr then reports whether it was
// written), and leaves no goroutine behind. Close may be called more than
// once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.ts.Close()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.bg.Wait()
		s.closeState()
		for _, h := range s.hooks {
			h.close()
		}
	})
}

// goBackground runs fn in a goroutine that Close waits for. It reports false,
// and does not run fn, once the server is closed.
func (s *Server) goBackground(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		fn()
	}()
	return true
}

func (s *Server) now() time.Time { return s.cfg.clock() }

// envelope is the error shape an endpoint answers with.
type envelope uint8

const (
	envStatus    envelope = iota // HTTP 200 {"statusCode","statusMessage"}
	envErrorCode                 // HTTP 200 {"errorCode","errorMessage"} (capture, void)
	envV2                        // HTTP 400 {"internalCode","externalCode","errorMessageEn","errorMessageBn"}
)

// route is one API path.
type route struct {
	op      string                           // the operation, unless resolve says otherwise
	resolve func(s *Server, f fields) string // picks the operation from the body (shared paths)
	noAuth  bool                             // token grant/refresh
	env     envelope                         // how errors look
	handle  func(s *Server, c *call) reply   // does the work
}

// call is one API request being served.
type call struct {
	op  string
	env envelope
	f   fields
	r   *http.Request
	now time.Time
}

// reply is an answer not yet written.
type reply struct {
	status  int
	body    []byte
	header  map[string]string
	applied bool // the request changed state (or, for a read, was answered)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := map[string]*route{
		pathGrant:       {op: opGrant, noAuth: true, handle: (*Server).grant},
		pathRefresh:     {op: opRefresh, noAuth: true, handle: (*Server).refresh},
		pathCreate:      {op: opPaymentCreate, resolve: resolveCreate, handle: (*Server).create},
		pathExecute:     {op: opPaymentExecute, resolve: (*Server).resolveExecute, handle: (*Server).execute},
		pathStatus:      {op: opPaymentQuery, handle: (*Server).queryPayment},
		pathSearch:      {op: opPaymentSearch, handle: (*Server).search},
		pathCapture:     {op: opPaymentCapture, env: envErrorCode, handle: (*Server).capture},
		pathVoid:        {op: opPaymentVoid, env: envErrorCode, handle: (*Server).void},
		pathRefund:      {op: opRefundCreate, resolve: resolveRefundV1, handle: (*Server).refundV1},
		pathAgStatus:    {op: opAgreementQuery, handle: (*Server).agreementStatus},
		pathAgCancel:    {op: opAgreementCancel, handle: (*Server).agreementCancel},
		pathV2Refund:    {op: opRefundCreate, env: envV2, handle: (*Server).refundV2},
		pathV2RefStatus: {op: opRefundStatus, env: envV2, handle: (*Server).refundV2Status},
	}
	for p, rt := range api {
		mux.Handle("POST "+p, s.apiHandler(rt))
	}
	mux.HandleFunc("GET "+pathCheckout, s.checkoutPage)
	mux.HandleFunc("POST "+pathCheckout, s.checkoutSubmit)
	// Anything else gets what AWS API Gateway, in front of bKash, answers for
	// an unknown route or method.
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeReply(w, gatewayError(http.StatusForbidden, "Missing Authentication Token"))
	})
	return mux
}

// apiHandler serves one API path: it reads the body, finds the operation,
// counts it, applies any injected fault, authenticates and runs the handler.
func (s *Server) apiHandler(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		c := &call{op: rt.op, env: rt.env, r: r, now: s.now()}
		if err == nil {
			c.f, err = decodeFields(body)
		}
		if err == nil && rt.resolve != nil {
			c.op = rt.resolve(s, c.f)
		}
		f := s.receive(c.op)
		if f != nil && !f.AfterApply {
			if f.Delay > 0 && !s.sleep(r.Context(), f.Delay) {
				return // the client gave up; nothing was processed
			}
			if f.answers() {
				s.deliverFault(w, c, f)
				return
			}
			c.now = s.now() // time moved on during the delay
		}
		var rep reply
		switch {
		case s.stateFailed():
			rep = s.stateFailure()
		case err != nil:
			rep = c.fail(bkash.CodeInvalidRequestBody)
		default:
			if !rt.noAuth {
				if denied, ok := s.authenticate(r, c.now); !ok {
					rep = denied
					break
				}
			}
			rep = rt.handle(s, c)
			if s.stateFailed() {
				// The change may be in memory, but not in the state file.
				rep = s.stateFailure()
			}
		}
		if rep.applied {
			s.mu.Lock()
			s.applied[c.op]++
			s.mu.Unlock()
		}
		if f != nil && f.AfterApply {
			if f.Delay > 0 && !s.sleep(r.Context(), f.Delay) {
				return
			}
			if f.answers() {
				s.deliverFault(w, c, f)
				return
			}
		}
		writeReply(w, rep)
	})
}

// sleep waits d; it reports false when the request's context ended or the
// server is closing first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

func writeReply(w http.ResponseWriter, rep reply) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	for k, v := range rep.header {
		h.Set(k, v)
	}
	h.Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// okReply wraps a successful answer.
func okReply(o *object) reply { return reply{status: http.StatusOK, body: o.bytes(), applied: true} }

// success adds bKash's success status to o and wraps it.
func success(o *object) reply {
	o.str("statusCode", "0000").str("statusMessage", "Successful")
	return okReply(o)
}

// codeMessage is bKash's text for code.
func codeMessage(code bkash.ErrorCode) string {
	if m := code.Message(); m != "" {
		return m
	}
	return "Error"
}

// fail answers code in the endpoint's error envelope.
func (c *call) fail(code bkash.ErrorCode) reply {
	return errorReply(c.env, string(code), codeMessage(code))
}

func errorReply(env envelope, code, msg string) reply {
	switch env {
	case envErrorCode:
		return reply{status: http.StatusOK, body: newObject().str("errorCode", code).str("errorMessage", msg).bytes()}
	case envV2:
		return reply{status: http.StatusBadRequest, body: newObject().
			str("internalCode", internalCode(code)).
			str("externalCode", code).
			str("errorMessageEn", msg).
			str("errorMessageBn", messageBn).
			bytes()}
	}
	return reply{status: http.StatusOK, body: newObject().str("statusCode", code).str("statusMessage", msg).bytes()}
}

// messageBn is the Bengali text of v2 errors: "the request could not be completed".
const messageBn = "অনুরোধটি সম্পন্ন করা যায়নি"

// internalCode names a v2 error the way bKash's internal codes look
// (snake_case identifiers); only their existence is documented.
func internalCode(code string) string {
	switch bkash.ErrorCode(code) {
	case bkash.CodeInvalidPaymentID:
		return "invalid_payment_id"
	case bkash.CodeRefundWindowExpired:
		return "refund_after_window"
	case bkash.CodeRefundAmountInvalid:
		return "refund_amount_invalid"
	case bkash.CodeInvalidSKU:
		return "invalid_sku"
	case bkash.CodeNotReversible:
		return "not_reversible"
	case bkash.CodeSKUTooLong:
		return "sku_too_long"
	case bkash.CodeReasonTooLong:
		return "reason_too_long"
	case bkash.CodeInvalidTrxID:
		return "invalid_trx_id"
	case bkash.CodeInvalidReason:
		return "invalid_reason"
	case bkash.CodeTransactionNotCompleted:
		return "transaction_not_completed"
	case bkash.CodeInvalidRequestBody:
		return "invalid_request_body"
	}
	return "error_" + code
}

// gatewayError is an AWS API Gateway answer: {"message": ...}.
func gatewayError(status int, msg string) reply {
	rep := reply{status: status, body: newObject().str("message", msg).bytes()}
	switch status {
	case http.StatusUnauthorized:
		rep.header = map[string]string{"x-amzn-ErrorType": "UnauthorizedException"}
	case http.StatusForbidden:
		rep.header = map[string]string{"x-amzn-ErrorType": "ForbiddenException"}
	}
	return rep
}

// errState is returned by the programmatic customer actions.
type stateError struct {
	paymentID string
	why       string
}

func (e *stateError) Error() string {
	return fmt.Sprintf("bkashtest: payment %s: %s", e.paymentID, e.why)
}

// ErrUnknownPayment is returned (wrapped) by Approve and Cancel for a
// paymentID the server never issued.
var ErrUnknownPayment = errors.New("bkashtest: unknown paymentID")
