package bkash

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smartdairy/bkash-go/internal/transport"
)

// Version is the SDK's version, sent in the User-Agent.
const Version = "0.2.0"

// defaultAttemptTimeout is bKash's recommended API timeout (docs/wire.md,
// "Timeouts"): the Timeout of the default http.Client, which bounds each
// attempt (go-retryablehttp calls the client once per attempt).
const defaultAttemptTimeout = 30 * time.Second

// maxResponseBody caps how much of a response is read. bKash's answers are a
// few hundred bytes; anything larger is not a bKash answer.
const maxResponseBody = 1 << 20

// Client talks to bKash for one set of merchant credentials. It is immutable
// and safe for concurrent use; create one and share it.
type Client struct {
	// Payments creates, executes and reads payments.
	Payments *PaymentService
	// Agreements binds customer wallets (saved wallets, mode 0000).
	Agreements *AgreementService
	// Refunds refunds payments and reads refund status.
	Refunds *RefundService

	env       Environment
	secrets   func() *clientSecrets // sealed: see clientSecrets
	root      string
	userAgent string
	tr        *transport.Transport
	tokens    *tokenManager
	logger    *slog.Logger // nil: silent
	logBodies bool
	observer  Observer
	refundAPI RefundAPI

	// accepted holds the last token a call was answered with past the
	// gateway (see freshlyGranted). A pointer, so that a Client value
	// holds no lock-like field that copying it would trip over.
	accepted *atomic.Pointer[Token]
}

// clientSecrets are the client's credentials, in the forms it sends them.
//
// They are reached only through a func (Client.secrets), because fmt
// prints whatever it reaches by reflection: methods such as Format are not
// called on unexported fields, so a Credentials or Secret field of a struct
// printed with %+v shows its text; and a pointer field printed with an
// unexpected verb (%s of a Client, or of a struct holding a service) shows
// the struct it points to. A func prints as an address whatever the verb,
// and reflection cannot see what it captured. (TestNoFmtVerbPrintsASecret
// tries every verb on every shape.)
type clientSecrets struct {
	creds Credentials
}

// seal returns a func that returns v, to keep v out of fmt's reach.
func seal[T any](v *T) func() *T { return func() *T { return v } }

// PaymentService is the payment half of the API: create, execute, query,
// search, capture and void. Use it as client.Payments.
type PaymentService struct{ c *Client }

// AgreementService manages agreements (saved wallets). Use it as client.Agreements.
//
// Binding a wallet: Create returns a BkashURL; the customer approves there
// (wallet number, OTP, PIN) and returns to the callback URL; Execute then
// returns the AgreementID, which the merchant stores. Later payments pass it
// as CreatePaymentParams.AgreementID (mode 0001: the customer enters only
// the PIN). Cancel unbinds the wallet.
type AgreementService struct{ c *Client }

// RefundService refunds payments, through bKash's v1 refund API (the
// default) or its v2 API (WithRefundAPI(RefundV2)). Use it as client.Refunds.
//
// A refund moves money and is sent at most once. When Create returns an
// *OutcomeUnknownError (a timeout, a dropped connection, an unreadable
// answer), the refund may or may not have been made, and it may still be
// running at bKash for up to 30 seconds after it was sent (bKash's API
// timeout), whatever the caller's context said. Do not call Create again
// before it is settled:
//
//  1. Record p := NewPendingRefund(params, err, recordedRefundTrxIDs...).
//  2. Call Settle(ctx, p): it reads Status and, while the refund is not
//     listed, waits until p.SettleAfter() (the send plus SettleDelay: 30 s
//     and an allowance for clock skew) and reads it again.
//  3. RefundMade: record the refund. RefundNotMade: it was not made, and
//     may be sent again. RefundUndecided (ctx ended first): keep p and
//     settle it later; never read an empty status before SettleAfter as
//     "not made".
//
// bKash's rules for v2 refunds: at most 10 partial refunds per payment,
// together at most its amount, within 60 days of it; no duplicate refund
// within 10 minutes; and when a refund has not answered within 30 seconds,
// check the refund status before refunding again. v1 allows several partial
// refunds up to the payment's amount (CodeRefundExceedsOriginal, 2026).
//
// Refusals are *APIError values, to test with errors.Is(err, code):
// CodeRefundWindowExpired (2071), CodeRefundAmountInvalid (2072),
// CodeInvalidSKU (2073), CodeNotReversible (2074), CodeSKUTooLong (2075),
// CodeReasonTooLong (2076), CodeInvalidTrxID (2077), CodeInvalidReason
// (2078), CodeRefundExceedsOriginal (2026) and CodeTransactionNotCompleted
// (2127) are ClassRefund: the request breaks a refund rule and must change.
// CodeIdentityNotPermitted (2080), CodePartyStateProhibits (2081) and
// CodeMerchantNotPermitted (2082) are ClassPermission: an account setting
// only bKash can change. On v2 the error also carries bKash's Bangla
// message in MessageBn.
type RefundService struct{ c *Client }

// NewClient returns a Client for env with creds. It makes no network call;
// the first token is granted on the first request.
func NewClient(env Environment, creds Credentials, opts ...Option) (*Client, error) {
	if env.root == "" {
		return nil, errors.New("bkash: NewClient: no environment (use bkash.Sandbox or bkash.Production)")
	}
	if err := creds.Validate(); err != nil {
		return nil, err
	}
	cfg := config{
		retry:     DefaultRetryPolicy,
		refundAPI: RefundV1,
		budget:    2,
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("bkash: NewClient: nil Option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.checkBaseURL(env); err != nil {
		return nil, err
	}
	if cfg.store == nil {
		cfg.store = NewMemoryTokenStore()
	}
	policy := transport.Policy{
		MaxAttempts: cfg.retry.MaxAttempts,
		BaseDelay:   cfg.retry.BaseDelay,
		MaxDelay:    cfg.retry.MaxDelay,
	}
	hc := cfg.httpClient
	if hc == nil {
		hc = &http.Client{Transport: defaultTransport(), Timeout: defaultAttemptTimeout}
	}
	root := env.root
	if cfg.baseURL != "" {
		root = cfg.baseURL
	}
	ua := "bkash-go/" + Version + " go/" + strings.TrimPrefix(runtime.Version(), "go")
	if cfg.userAgent != "" {
		ua = cfg.userAgent + " " + ua
	}
	c := &Client{
		env:       env,
		secrets:   seal(&clientSecrets{creds: creds}),
		root:      root,
		userAgent: ua,
		logger:    cfg.logger,
		logBodies: cfg.logBodies,
		observer:  cfg.observer,
		refundAPI: cfg.refundAPI,
		tr:        transport.New(noRedirects(hc), policy),
		accepted:  new(atomic.Pointer[Token]),
	}
	// Grant and refresh go out one request per transport call: the token
	// manager retries them itself, each request taken from the budget, so
	// nothing below may send an uncounted copy (bKash allows two an hour).
	once := policy
	once.MaxAttempts, once.Counted = 1, true
	c.tokens = newTokenManager(c, &cfg, transport.New(noRedirects(hc), once))
	c.Payments = &PaymentService{c}
	c.Agreements = &AgreementService{c}
	c.Refunds = &RefundService{c}
	return c, nil
}

// defaultIdleConnsPerHost is how many idle connections to bKash the default
// HTTP client keeps: enough for one per concurrent caller of a busy shop.
// net/http keeps 2 per host, so a third concurrent call would open (and TLS
// handshake) a new connection and a fourth would close one on return.
const defaultIdleConnsPerHost = 64

// defaultIdleConnTimeout is how long the default HTTP client keeps an idle
// connection to bKash. A pooled connection that a middlebox has already
// closed turns the next call on it into an unknown outcome: net/http writes
// the request, the write or the read fails, and a money call cannot be
// re-sent. Idle timeouts on the way to an AWS-hosted API: an Application
// Load Balancer closes idle connections after 60 s by default, a Network
// Load Balancer's TLS listener and a NAT gateway after 350 s. 30 s stays
// well below the shortest of them (net/http's own default is 90 s, above
// an ALB's), and costs a fresh TLS handshake only after half a minute of
// silence.
const defaultIdleConnTimeout = 30 * time.Second

// defaultTransport is the transport of the default HTTP client: a copy of
// net/http's default transport that keeps more idle connections to bKash,
// for less time (defaultIdleConnTimeout).
// When the program has replaced http.DefaultTransport (a proxy, a
// recorder), that transport is used as it is.
func defaultTransport() http.RoundTripper {
	dt, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t := dt.Clone()
	t.MaxIdleConnsPerHost = defaultIdleConnsPerHost
	t.IdleConnTimeout = defaultIdleConnTimeout
	return t
}

// noRedirects returns a copy of hc that never follows a redirect. bKash
// answers every call itself; following a 307 or 308 would re-send the POST,
// body and all, which for a call that moves money is a second send, and any
// redirect carries the credential headers (Username, Password, X-App-Key)
// to the host the Location names. The redirect comes back as the answer.
func noRedirects(hc *http.Client) *http.Client {
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// CredentialsFromEnv reads BKASH_USERNAME, BKASH_PASSWORD, BKASH_APP_KEY and
// BKASH_APP_SECRET. It fails, naming the missing variables, unless all four
// are set.
func CredentialsFromEnv() (Credentials, error) {
	c := Credentials{
		Username:  os.Getenv("BKASH_USERNAME"),
		Password:  Secret(os.Getenv("BKASH_PASSWORD")),
		AppKey:    os.Getenv("BKASH_APP_KEY"),
		AppSecret: Secret(os.Getenv("BKASH_APP_SECRET")),
	}
	var missing []string
	for _, kv := range [...]struct {
		name string
		set  bool
	}{
		{"BKASH_USERNAME", c.Username != ""},
		{"BKASH_PASSWORD", c.Password != ""},
		{"BKASH_APP_KEY", c.AppKey != ""},
		{"BKASH_APP_SECRET", c.AppSecret != ""},
	} {
		if !kv.set {
			missing = append(missing, kv.name)
		}
	}
	if len(missing) > 0 {
		return Credentials{}, fmt.Errorf("bkash: CredentialsFromEnv: %s not set", strings.Join(missing, ", "))
	}
	return c, nil
}

// Environment returns the environment the client was built for.
func (c *Client) Environment() Environment { return c.env }

// String describes the client without secrets.
func (c *Client) String() string {
	creds := &c.secrets().creds
	return fmt.Sprintf("bkash.Client{env:%s, root:%s, username:%q, app_key:%q}", c.env, c.root, creds.Username, creds.AppKey)
}

// GoString is String: %#v prints no secret.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb, so %+v cannot reach the credentials.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// retry classes, re-exported for the service files.
type retryClass = transport.Class

const (
	classRead   = transport.Read
	classCreate = transport.Create
	classMoney  = transport.Money
	classCancel = transport.Cancel
)

// endpoint is one bKash operation.
type endpoint struct {
	op     string // e.g. "payment.execute"
	path   string // relative to the environment root
	class  retryClass
	noAuth bool // token grant/refresh: username/password headers, no id_token
}

const (
	tokenizedPrefix = "/v1.2.0-beta/tokenized/checkout/"
	refundV2Prefix  = "/v2/tokenized-checkout/refund/payment/"
)

// The endpoints of v1.2.0-beta and of the v2 refund API (docs/wire.md,
// "Endpoints").
var (
	epGrant            = &endpoint{op: "token.grant", path: tokenizedPrefix + "token/grant", class: classRead, noAuth: true}
	epRefresh          = &endpoint{op: "token.refresh", path: tokenizedPrefix + "token/refresh", class: classRead, noAuth: true}
	epPaymentCreate    = &endpoint{op: "payment.create", path: tokenizedPrefix + "create", class: classCreate}
	epPaymentExecute   = &endpoint{op: "payment.execute", path: tokenizedPrefix + "execute", class: classMoney}
	epPaymentQuery     = &endpoint{op: "payment.query", path: tokenizedPrefix + "payment/status", class: classRead}
	epPaymentSearch    = &endpoint{op: "payment.search", path: tokenizedPrefix + "general/searchTransaction", class: classRead}
	epPaymentCapture   = &endpoint{op: "payment.capture", path: tokenizedPrefix + "payment/confirm/capture", class: classMoney}
	epPaymentVoid      = &endpoint{op: "payment.void", path: tokenizedPrefix + "payment/confirm/void", class: classMoney}
	epAgreementCreate  = &endpoint{op: "agreement.create", path: tokenizedPrefix + "create", class: classCreate}
	epAgreementExecute = &endpoint{op: "agreement.execute", path: tokenizedPrefix + "execute", class: classMoney}
	epAgreementQuery   = &endpoint{op: "agreement.query", path: tokenizedPrefix + "agreement/status", class: classRead}
	epAgreementCancel  = &endpoint{op: "agreement.cancel", path: tokenizedPrefix + "agreement/cancel", class: classCancel}
	epRefundV1         = &endpoint{op: "refund.create", path: tokenizedPrefix + "payment/refund", class: classMoney}
	epRefundStatusV1   = &endpoint{op: "refund.status", path: tokenizedPrefix + "payment/refund", class: classRead}
	epRefundV2         = &endpoint{op: "refund.create", path: refundV2Prefix + "transaction", class: classMoney}
	epRefundStatusV2   = &endpoint{op: "refund.status", path: refundV2Prefix + "status", class: classRead}
)

// envelope holds the status fields of every bKash envelope (docs/wire.md,
// "Envelope and HTTP status"): the tokenized statusCode/statusMessage, the
// capture/void errorCode/errorMessage, the v2 refund error and the API
// gateway's message. Response types embed it so that one decode reads both
// the status and the payload.
type envelope struct {
	StatusCode     flexString `json:"statusCode"`
	StatusMessage  string     `json:"statusMessage"`
	ErrorCode      flexString `json:"errorCode"`
	ErrorMessage   string     `json:"errorMessage"`
	InternalCode   string     `json:"internalCode"`
	ExternalCode   flexString `json:"externalCode"`
	ErrorMessageEn string     `json:"errorMessageEn"`
	ErrorMessageBn string     `json:"errorMessageBn"`
	Message        string     `json:"message"`
}

func (e *envelope) env() *envelope { return e }

// enveloper is implemented by every response type that embeds envelope.
type enveloper interface{ env() *envelope }

// apiError returns the definite bKash error the envelope carries, or nil when
// it carries none (a success, or no envelope at all).
func (e *envelope) apiError() *APIError {
	switch {
	case e.ErrorCode != "" || e.ErrorMessage != "":
		return &APIError{Code: ErrorCode(e.ErrorCode), Message: e.ErrorMessage}
	case e.StatusCode != "" && e.StatusCode != "0000":
		return &APIError{Code: ErrorCode(e.StatusCode), Message: e.StatusMessage}
	case e.ExternalCode != "":
		return &APIError{Code: ErrorCode(e.ExternalCode), Message: e.ErrorMessageEn, MessageBn: e.ErrorMessageBn}
	}
	return nil
}

// gatewayOnly reports an API-gateway style body: only {"message": ...}.
func (e *envelope) gatewayOnly() bool {
	return e.Message != "" && e.StatusCode == "" && e.ErrorCode == "" && e.ExternalCode == ""
}

// bkashError is apiError for an answer in bKash's own shape, and nil for
// any other body, however it is spelled. bKash's shapes (docs/wire.md,
// "Envelope and HTTP status" and "Status codes"): a statusCode of bKash's
// table or of four digits with its statusMessage; an errorCode of that form
// with its errorMessage; v2's refund error, an externalCode of that form
// with errorMessageEn or internalCode. A body that only looks similar is
// not bKash's answer: AWS Lambda's
// {"errorMessage":"Task timed out after 30.03 seconds"}, a framework's
// {"statusCode":500,"message":"Internal server error"}.
func (e *envelope) bkashError() *APIError {
	switch {
	case e.ErrorCode != "" || e.ErrorMessage != "":
		if bkashCode(e.ErrorCode) && e.ErrorMessage != "" {
			return e.apiError()
		}
	case e.StatusCode != "" && e.StatusCode != "0000":
		if bkashCode(e.StatusCode) && e.StatusMessage != "" {
			return e.apiError()
		}
	case e.ExternalCode != "":
		if bkashCode(e.ExternalCode) && (e.ErrorMessageEn != "" || e.InternalCode != "") {
			return e.apiError()
		}
	}
	return nil
}

// failed reports whether the envelope carries any mark of a failure, in
// bKash's shape or not: such a body is never a success.
func (e *envelope) failed() bool {
	return (e.StatusCode != "" && e.StatusCode != "0000") || e.ErrorCode != "" ||
		e.ErrorMessage != "" || e.ExternalCode != "" || e.gatewayOnly()
}

// bkashCode reports whether c has the form of a bKash code: one of its
// table ("503" included) or four digits.
func bkashCode(c flexString) bool {
	if _, ok := codeInfo[ErrorCode(c)]; ok {
		return true
	}
	if len(c) != 4 {
		return false
	}
	for i := range len(c) {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

// flexString is a code that bKash sends as a JSON string and a few gateways
// send as a number ("2023" or 2023): either way it reads as the text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		s, err := jsonString(b)
		if err != nil {
			return err
		}
		*f = flexString(s)
	default:
		*f = flexString(b) // a number (or any other value), as written
	}
	return nil
}

// logRefer is implemented by request bodies that name a payment, agreement
// or transaction, for the Debug log line.
type logRefer interface{ logRef() (key, value string) }

// do sends in to ep and decodes a successful answer into out. It returns an
// *APIError for a decoded bKash error, an *OutcomeUnknownError where the
// outcome is unknown for ep's class, or another error when nothing was sent.
func (c *Client) do(ctx context.Context, ep *endpoint, in, out any) error {
	_, err := c.doVia(ctx, c.tr, ep, in, out, 0)
	return err
}

// doVia is do through tr, after prior attempts of the same call made by the
// caller (the token manager retries grant and refresh itself), which number
// the attempts that follow. sent reports whether the request may have left
// the process (the token manager gives an unsent grant back to the budget).
//
// Every call takes this one path: doVia builds it, run sends it (token,
// headers, transport, finish), and doVia reports it: its last AttemptEvent
// to the observer and its summary line to the Debug log.
func (c *Client) doVia(ctx context.Context, tr *transport.Transport, ep *endpoint, in, out any, prior int) (sent bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("bkash: %s: not sent: %w", ep.op, err)
	}
	cl := &call{c: c, tr: tr, ep: ep, url: c.root + ep.path, in: in, start: time.Now(), attempts: prior}
	if err := encodeRequest(&cl.body, in); err != nil {
		return false, fmt.Errorf("bkash: %s: encoding request: %w", ep.op, err)
	}
	if s, ok := c.observer.(StartObserver); ok {
		ctx = s.StartCall(ctx, cl.info())
	}
	cl.ctx = ctx
	err = stampSent(cl.run(ctx, out))
	cl.emit(true, err)
	cl.log(ctx, err)
	return cl.sent, err
}

// stampSent sets the SentAt of an *OutcomeUnknownError to now, when the SDK
// has stopped waiting: no attempt of the call can have left later.
func stampSent(err error) error {
	if err == nil {
		return nil
	}
	var ue *OutcomeUnknownError
	if errors.As(err, &ue) && ue.SentAt.IsZero() {
		ue.SentAt = time.Now()
	}
	return err
}

// encodeRequest writes the JSON body of in to buf: "{}" for nil, in itself
// when it is already []byte, else in encoded by encoding/json. HTML escaping
// is off, so a callback URL's "&" goes out as "&" rather than "\u0026", which
// is how bKash documents and echoes it; the newline Encode ends with is
// trimmed.
func encodeRequest(buf *bytes.Buffer, in any) error {
	switch v := in.(type) {
	case nil:
		buf.WriteString("{}")
		return nil
	case []byte:
		buf.Write(v)
		return nil
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

// freshTokenWindow is how recently a token must have been granted for its
// rejection, before any call accepted it, to mean a configuration error
// rather than a token to renew. A token lives an hour; one refused within a
// minute of its grant was refused for what it is sent with (the app key,
// the environment, a firewall's rule), which a new token does not change.
const freshTokenWindow = time.Minute

// freshlyGranted reports whether tok came from this client's own grant or
// refresh within freshTokenWindow, is still the token the client hands out,
// and no call has been answered past the gateway with it yet. A token taken
// from the TokenStore is renewed as usual when rejected: it may come from
// another environment, or be one a later grant elsewhere replaced; so is a
// token the client has already replaced (another call's rejection renewed
// it): the rejection says nothing about the configuration.
func (c *Client) freshlyGranted(tok *Token) bool {
	if !tok.granted || tok.issuedAt.IsZero() || c.tokens.clock().Sub(tok.issuedAt) >= freshTokenWindow {
		return false
	}
	if cur := c.tokens.current(); cur == nil || cur.IDToken != tok.IDToken {
		return false
	}
	ok := c.accepted.Load()
	return ok == nil || ok.IDToken != tok.IDToken
}

// answeredByBkash reports whether a call's result shows that its token got
// past the gateway: a success or bKash's own error code. The gateway's
// refusals (a wrong route, throttling) and unknown outcomes do not.
func answeredByBkash(err error) bool {
	if err == nil {
		return true
	}
	var ae *APIError
	return errors.As(err, &ae) && ae.Code != ""
}

// tokenAccepted records that a call with tok was answered past the gateway.
func (c *Client) tokenAccepted(tok *Token) {
	c.accepted.Store(tok)
}

// call is one logical call, across its attempts and a token replay.
type call struct {
	c        *Client
	tr       *transport.Transport
	ep       *endpoint
	url      string // ep's absolute URL
	in       any
	out      any          // where the answer is decoded
	body     bytes.Buffer // the request body, encoded once
	start    time.Time
	attempts int
	sent     bool // some attempt may have reached the server
	base     int  // attempts made before the current transport call
	status   int
	respBody []byte
	ctx      context.Context // the call's context, as a StartObserver left it
	tok      *Token          // the token the current attempt carries (nil on grant/refresh)

	// The attempt held back until the next one starts or the call ends
	// (see AttemptEnded).
	pending  transport.Attempt
	havePend bool
	code     ErrorCode // bKash's code in the pending attempt's answer
}

// loggedBodies returns the call's request and response bodies as they may
// be shown: redacted by key, then scrubbed of the call's secrets.
func (cl *call) loggedBodies() (req, resp string) {
	return cl.scrub(redactBody(cl.body.Bytes())), cl.scrub(redactBody(cl.respBody))
}

// scrub replaces every secret the call knows (the password, the app secret,
// the id_token and refresh_token it sent) in s with [REDACTED]. A server or
// proxy that echoes one of them in a message or body must not put it into an
// error string or a log line: the key-based body redaction cannot see a
// secret inside another field's value. In a logged body, which is JSON, a
// secret with a quote, a backslash or a control character is escaped, so
// it is looked for in that form too.
func (cl *call) scrub(s string) string {
	creds := &cl.c.secrets().creds
	secrets := []Secret{creds.Password, creds.AppSecret}
	if cl.tok != nil {
		secrets = append(secrets, cl.tok.IDToken, cl.tok.RefreshToken)
	}
	if r, ok := cl.in.(tokenRequest); ok {
		// A refresh carries the refresh_token in its body, not in cl.tok;
		// the answer carries the tokens it issues, which it may echo in
		// another member.
		secrets = append(secrets, r.refreshToken())
		if a, ok := cl.out.(*tokenResponse); ok {
			secrets = append(secrets, Secret(a.IDToken), Secret(a.RefreshToken))
		}
	}
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, string(v), redacted)
			s = strings.ReplaceAll(s, jsonEscaped(string(v)), redacted)
		}
	}
	return s
}

// jsonEscaped returns s as it appears inside a JSON string that was encoded
// without HTML escaping, as the logged bodies are.
func jsonEscaped(s string) string {
	var buf bytes.Buffer
	if err := encodeRequest(&buf, s); err != nil {
		return s
	}
	b := buf.Bytes()
	return string(b[1 : len(b)-1])
}

// scrubError removes the call's secrets from the messages of the
// *APIError inside err, if any.
func (cl *call) scrubError(err error) {
	if err == nil {
		return
	}
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Message, ae.MessageBn = cl.scrub(ae.Message), cl.scrub(ae.MessageBn)
	}
}

// run makes the call: one transport call, and a replay after a rejected
// token. The transport decides every retry (transport's retryable); the
// replay is not one: the gateway refused the token, so bKash never saw the
// request, and it is sent again once with a renewed token whatever its
// class.
func (cl *call) run(ctx context.Context, out any) error {
	c, ep := cl.c, cl.ep
	cl.out = out
	for replay := 0; ; replay++ {
		var tok *Token
		if !ep.noAuth {
			t, err := c.tokens.token(ctx)
			if err != nil {
				return err
			}
			tok = t
			cl.tok = t
		}
		cl.base = cl.attempts
		req, err := transport.NewRequest(ctx, ep.class, cl.url, cl.body.Bytes())
		if err != nil {
			return fmt.Errorf("bkash: %s: not sent: %w", ep.op, err)
		}
		c.setHeader(req.Header, tok)
		res := cl.tr.Do(req, cl)
		cl.attempts += res.Attempts
		cl.sent = cl.sent || res.Sent
		rejected, err := cl.finish(res, out)
		cl.scrubError(err)
		if tok == nil {
			return err
		}
		if !rejected {
			if answeredByBkash(err) {
				c.tokenAccepted(tok)
			}
			return err
		}
		if c.freshlyGranted(tok) {
			// A token granted moments ago and never accepted: another
			// renewal would be refused the same way (a wrong app key, a
			// firewall) and only spend the renewal budget.
			var ae *APIError
			errors.As(err, &ae)
			return &ConfigError{Op: ep.op, URL: cl.url, Reason: ErrFreshTokenRejected, Answer: ae}
		}
		if replay == 0 {
			// The gateway refused the token, so bKash never processed the
			// request: renew once and replay, whatever the class.
			c.tokens.reject(tok)
			cl.emit(false, nil)
			continue
		}
		return err
	}
}

// setHeader sets the headers of a request: with tok, the token and the app
// key; without (grant and refresh), the username and password.
func (c *Client) setHeader(h http.Header, tok *Token) {
	creds := &c.secrets().creds
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("User-Agent", c.userAgent)
	if tok == nil {
		h.Set("Username", creds.Username)
		h.Set("Password", string(creds.Password))
	} else {
		h.Set("Authorization", string(tok.IDToken))
		h.Set("X-App-Key", creds.AppKey)
	}
}

// finish turns a transport result into the call's error and decodes out.
// rejected reports a token rejection: the gateway's own answer to a bad
// token (tokenRejection) or bKash's 2079.
//
// An answer is read for what it is (docs/wire.md, "Gateway answers" and
// "Outcomes of money calls"):
//   - bKash's answer, in bKash's shape (envelope.bkashError), is definite:
//     an *APIError. On a money call a transient code (9999, 2003, 2020,
//     2024, 503) or a code outside bKash's table does not say whether the
//     money moved: an *OutcomeUnknownError wrapping it.
//   - The gateway's own refusal (gatewayRefusal) means nothing reached
//     bKash: an *APIError for every class; 403 "Missing Authentication
//     Token" is a wrong URL, a *ConfigError.
//   - Anything else after a money call may have been sent (a 5xx, an HTML
//     page, a foreign JSON error, a 401/403 that is not the gateway's,
//     malformed or truncated JSON) is an unknown outcome.
func (cl *call) finish(res transport.Result, out any) (rejected bool, err error) {
	ep := cl.ep
	if res.Resp == nil {
		cl.flushAttempt("")
		if res.Err == nil {
			res.Err = errors.New("no response")
		}
		if !res.Sent {
			return false, fmt.Errorf("bkash: %s: not sent after %d attempt(s): %w", ep.op, res.Attempts, res.Err)
		}
		if ep.class == classRead {
			return false, fmt.Errorf("bkash: %s: %d attempt(s): %w", ep.op, cl.attempts, res.Err)
		}
		return false, &OutcomeUnknownError{Op: ep.op, Attempts: cl.attempts, Err: res.Err}
	}
	resp := res.Resp
	status := resp.StatusCode
	cl.status = status
	data, readErr := readBody(resp)
	cl.respBody = data

	var env *envelope
	var decodeErr error
	if readErr == nil {
		env, decodeErr = decodeInto(data, out)
	}
	if env != nil {
		if ae := env.bkashError(); ae != nil {
			ae.Op, ae.HTTPStatus, ae.Attempts = ep.op, status, cl.attempts
			cl.flushAttempt(ae.Code)
			if ae.Code == CodeInvalidAppToken {
				return true, ae
			}
			if ep.class == classMoney {
				switch ae.Code.Class() {
				case ClassTransient, ClassUnknown:
					return false, &OutcomeUnknownError{Op: ep.op, Attempts: cl.attempts, Err: ae}
				}
			}
			return false, ae
		}
	}
	cl.flushAttempt("")
	if status == http.StatusOK && env != nil && decodeErr == nil && !env.failed() {
		return false, nil
	}
	if readErr == nil && status >= 400 {
		if msg, ok := gatewayRefusal(status, resp.Header, data); ok {
			ge := &APIError{Op: ep.op, HTTPStatus: status, Message: msg, Attempts: cl.attempts}
			if status == http.StatusForbidden && (msg == wrongRouteMessage || amznErrorType(resp.Header) == "MissingAuthenticationTokenException") {
				return false, &ConfigError{Op: ep.op, URL: cl.url, Reason: ErrWrongRoute, Answer: ge}
			}
			return tokenRejection(status, resp.Header, msg), ge
		}
	}
	// Not a definite answer: a 5xx, an HTML page, a foreign error body,
	// malformed or truncated JSON.
	if ep.class == classRead && readErr == nil && (status == http.StatusUnauthorized || status == http.StatusForbidden) {
		// Not the gateway's token answer, so not renewed; a read changed
		// nothing, and the status is the clearest thing to report.
		return false, cl.gatewayError(status, env)
	}
	var why error
	if unreadable := cmp.Or(readErr, decodeErr); unreadable != nil {
		// The reason may quote what it could not read (an amount, a time),
		// which may echo a secret: it is kept as scrubbed text only.
		why = fmt.Errorf("http %d: unreadable answer: %s", status, cl.scrub(unreadable.Error()))
	} else {
		ge := cl.gatewayError(status, env)
		if ep.class == classRead && status != http.StatusOK {
			return false, ge
		}
		// Not an *APIError, so run's scrubError cannot reach it: scrub here.
		why = fmt.Errorf("http %d: %s", status, cl.scrub(ge.Message))
	}
	if ep.class == classRead {
		// A read changed nothing: there is no outcome to be unsure of.
		return false, fmt.Errorf("bkash: %s: %d attempt(s): %w", ep.op, cl.attempts, why)
	}
	return false, &OutcomeUnknownError{Op: ep.op, Attempts: cl.attempts, Err: why}
}

// gatewayError is the *APIError of an answer that carries no bKash code:
// the gateway's {"message": ...}, or the HTTP status text.
func (cl *call) gatewayError(status int, env *envelope) *APIError {
	msg := http.StatusText(status)
	if env != nil {
		msg = cmp.Or(env.Message, env.ErrorMessage, env.StatusMessage, msg)
	}
	return &APIError{Op: cl.ep.op, HTTPStatus: status, Message: msg, Attempts: cl.attempts}
}

// readBody reads resp's body, at most maxResponseBody bytes of it, and
// closes it. A longer body is an error: it is not a bKash answer.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err == nil && len(data) > maxResponseBody {
		err = fmt.Errorf("response body larger than %d bytes", maxResponseBody)
	}
	return data, err
}

// decodeInto decodes data into out and returns the envelope. out may embed
// envelope (one decode) or not (the envelope is decoded first, and out only
// when the envelope carries no error).
//
// When the payload does not fit its struct (a member of an unexpected type,
// an amount bKash should not send), the envelope is decoded on its own: its
// status decides whether the body was an answer at all, and a bKash error
// must be reported as such whatever else the body holds.
func decodeInto(data []byte, out any) (*envelope, error) {
	if e, ok := out.(enveloper); ok {
		if err := json.Unmarshal(data, out); err != nil {
			var env envelope
			if json.Unmarshal(data, &env) != nil {
				return nil, err
			}
			return &env, err
		}
		return e.env(), nil
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, err
	}
	if out != nil && env.apiError() == nil {
		if err := json.Unmarshal(data, out); err != nil {
			return &env, err
		}
	}
	return &env, nil
}

func (c *Client) debug(ctx context.Context) bool {
	return c.logger != nil && c.logger.Enabled(ctx, slog.LevelDebug)
}

// AttemptEnded is told about every attempt by the transport. It holds back
// each attempt until the next one starts or the call ends, so that the last
// attempt can carry bKash's code and the call's outcome.
func (cl *call) AttemptEnded(a transport.Attempt) {
	cl.emit(false, nil)
	cl.pending, cl.havePend, cl.code = a, true, ""
}

// flushAttempt records bKash's code for the pending attempt; the attempt is
// reported by emit.
func (cl *call) flushAttempt(code ErrorCode) {
	if cl.havePend {
		cl.code = code
	}
}

// info names the call for a StartObserver and its events.
func (cl *call) info() CallInfo {
	ci := CallInfo{Op: cl.ep.op, Class: className(cl.ep.class), URL: cl.url}
	if r, ok := cl.in.(logRefer); ok {
		ci.RefKind, ci.Ref = r.logRef()
	}
	return ci
}

// emit reports the pending attempt to the observer and the Debug log. With
// last set it is the call's last event and carries its outcome; a call that
// made no attempt still reports one then, with Attempt 0.
func (cl *call) emit(last bool, callErr error) {
	c := cl.c
	attempted := cl.havePend
	cl.havePend = false
	if c.observer == nil && c.logger == nil {
		return // nobody to tell
	}
	if !attempted && (!last || c.observer == nil) {
		return
	}
	info := cl.info()
	ev := AttemptEvent{
		Op: info.Op, Class: info.Class, RefKind: info.RefKind, Ref: info.Ref, URL: info.URL,
		ctx: cl.ctx,
	}
	if attempted {
		a := cl.pending
		// Number restarts with each transport call; a replay after a token
		// renewal continues the count.
		ev.Attempt, ev.HTTPStatus, ev.Code, ev.Start, ev.Duration, ev.Err = cl.base+a.Number, a.Status, cl.code, a.Start, a.Duration, a.Err
	}
	if last && c.observer != nil {
		ev.Outcome, ev.CallErr, ev.CallDuration, ev.Attempts = OutcomeOf(callErr), callErr, time.Since(cl.start), cl.attempts
		if c.logBodies {
			ev.Request, ev.Response = cl.loggedBodies()
		}
	}
	if c.observer != nil {
		c.observer.ObserveAttempt(ev)
	}
	if attempted && c.logger != nil {
		attrs := []slog.Attr{
			slog.String("op", ev.Op), slog.Int("attempt", ev.Attempt),
			slog.Int("http_status", ev.HTTPStatus), slog.Duration("duration", ev.Duration),
		}
		if ev.Code != "" {
			attrs = append(attrs, slog.String("code", string(ev.Code)))
		}
		if ev.RefKind != "" {
			attrs = append(attrs, slog.String(ev.RefKind, ev.Ref))
		}
		if ev.Err != nil {
			attrs = append(attrs, slog.String("error", ev.Err.Error()))
		}
		c.logger.LogAttrs(ev.Context(), slog.LevelDebug, "bkash attempt", attrs...)
	}
}

// log writes the call's summary line at Debug.
func (cl *call) log(ctx context.Context, err error) {
	c := cl.c
	if !c.debug(ctx) {
		return
	}
	attrs := []slog.Attr{
		slog.String("op", cl.ep.op), slog.Int("attempts", cl.attempts),
		slog.Int("http_status", cl.status), slog.Duration("duration", time.Since(cl.start)),
	}
	if r, ok := cl.in.(logRefer); ok {
		k, v := r.logRef()
		attrs = append(attrs, slog.String(k, v))
	}
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		attrs = append(attrs, slog.String("code", string(ae.Code)), slog.String("error", ae.Error()))
	case err != nil:
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if c.logBodies {
		req, resp := cl.loggedBodies()
		attrs = append(attrs, slog.String("request", req), slog.String("response", resp))
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "bkash call", attrs...)
}
