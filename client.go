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
	"sync"
	"time"

	"github.com/smartdairy/bkash-go/internal/transport"
)

// Version is the SDK's version, sent in the User-Agent.
const Version = "0.1.0"

// defaultAttemptTimeout is bKash's recommended API timeout (spec §8.6),
// applied to each attempt when the caller brings no http.Client.
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
	creds     Credentials
	root      string
	tr        *transport.Transport
	tokens    *tokenManager
	logger    *slog.Logger // nil: silent
	logBodies bool
	observer  Observer
	refundAPI RefundAPI

	// Header values, built once and shared by every request (net/http does
	// not modify them).
	hJSON   []string
	hUA     []string
	hAppKey []string
	hUser   []string
	hPass   []string

	urls map[*endpoint]string // absolute URL of every endpoint
}

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
// answer), the refund may or may not have been made. Do not call Create
// again before reconciling:
//
//  1. Call Status, a read that is safe to repeat until it answers.
//  2. If RefundStatus.Find(amount, sku) reports a refund that is not among
//     the refunds already recorded (compare RefundTrxID), the uncertain
//     refund went through: record it. On v2, RefundStatus.Refunded compared
//     with its value before the call tells the same.
//  3. Otherwise it was not made, and may be sent again. On v1 Status shows a
//     single refund and answers CodeInvalidPaymentID (2002) for a payment
//     without any, so compare with your own records.
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
		// bKash asks for a 30-second timeout on every call. It is applied
		// per attempt by the transport rather than as http.Client.Timeout,
		// which would cost two goroutines per request.
		hc = &http.Client{Transport: defaultTransport()}
		policy.AttemptTimeout = defaultAttemptTimeout
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
		creds:     creds,
		root:      root,
		logger:    cfg.logger,
		logBodies: cfg.logBodies,
		observer:  cfg.observer,
		refundAPI: cfg.refundAPI,
		tr:        transport.New(noRedirects(hc), policy),
		hJSON:     []string{"application/json"},
		hUA:       []string{ua},
		hAppKey:   []string{creds.AppKey},
		hUser:     []string{creds.Username},
		hPass:     []string{string(creds.Password)},
	}
	c.urls = make(map[*endpoint]string, len(allEndpoints))
	for _, ep := range allEndpoints {
		c.urls[ep] = root + ep.path
	}
	c.tokens = newTokenManager(c, &cfg)
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

// defaultTransport is the transport of the default HTTP client: a copy of
// net/http's default transport that keeps more idle connections to bKash.
// When the program has replaced http.DefaultTransport (a proxy, a
// recorder), that transport is used as it is.
func defaultTransport() http.RoundTripper {
	dt, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t := dt.Clone()
	t.MaxIdleConnsPerHost = defaultIdleConnsPerHost
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
	return fmt.Sprintf("bkash.Client{env:%s, root:%s, username:%q, app_key:%q}", c.env, c.root, c.creds.Username, c.creds.AppKey)
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

// The endpoints of v1.2.0-beta (spec §1) and the v2 refund API (spec §4.12).
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

// envelope holds the status fields of every bKash envelope (spec §2.2): the
// tokenized statusCode/statusMessage, the capture/void errorCode/errorMessage,
// the v2 refund error and the API gateway's message. Response types embed it
// so that one decode reads both the status and the payload.
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

// flexString decodes a JSON string or number (bKash sends codes as strings;
// a few gateways answer with numbers).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		if s, ok := plainJSONString(b); ok {
			if string(s) == "0000" {
				*f = "0000" // the success code of every answer: no allocation
			} else {
				*f = flexString(s)
			}
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	*f = flexString(b)
	return nil
}

// jsonAppender is implemented by request bodies with a hand-written encoder.
type jsonAppender interface{ appendJSON([]byte) []byte }

// logRefer is implemented by request bodies that name a payment, agreement
// or transaction, for the Debug log line.
type logRefer interface{ logRef() (key, value string) }

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// do sends in to ep and decodes a successful answer into out. It returns an
// *APIError for a decoded bKash error, an *OutcomeUnknownError where the
// outcome is unknown for ep's class, or another error when nothing was sent.
func (c *Client) do(ctx context.Context, ep *endpoint, in, out any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bkash: %s: not sent: %w", ep.op, err)
	}
	body, err := encodeRequest(in)
	if err != nil {
		return fmt.Errorf("bkash: %s: encoding request: %w", ep.op, err)
	}
	if c.observer != nil || c.logger != nil {
		return c.doObserved(ctx, ep, in, body, out)
	}
	cl := call{c: c, ep: ep, in: in, body: body}
	return cl.run(ctx, out, nil)
}

// doObserved is do with attempt events and log lines. It is a function of
// its own so that an unobserved call keeps its state on the stack: the
// observer callback makes the state escape to the heap.
func (c *Client) doObserved(ctx context.Context, ep *endpoint, in any, body []byte, out any) error {
	cl := &call{c: c, ep: ep, in: in, body: body, start: time.Now()}
	if s, ok := c.observer.(StartObserver); ok {
		ctx = s.StartCall(ctx, cl.info())
	}
	cl.ctx = ctx
	var observe func(transport.Attempt)
	if c.observer != nil || c.debug(ctx) {
		observe = cl.observeAttempt
	}
	err := cl.run(ctx, out, observe)
	cl.emit(true, err)
	cl.log(ctx, err)
	return err
}

// allEndpoints lists the endpoint table, for the URLs a client builds once.
var allEndpoints = [...]*endpoint{
	epGrant, epRefresh, epPaymentCreate, epPaymentExecute, epPaymentQuery, epPaymentSearch,
	epPaymentCapture, epPaymentVoid, epAgreementCreate, epAgreementExecute, epAgreementQuery,
	epAgreementCancel, epRefundV1, epRefundStatusV1, epRefundV2, epRefundStatusV2,
}

// url returns the absolute URL of ep, built once per client.
func (c *Client) url(ep *endpoint) string {
	if u, ok := c.urls[ep]; ok {
		return u
	}
	return c.root + ep.path
}

// encodeRequest returns the JSON body of in: its hand encoder when it has
// one, in itself when it is already []byte, "{}" for nil.
func encodeRequest(in any) ([]byte, error) {
	switch v := in.(type) {
	case nil:
		return []byte("{}"), nil
	case []byte:
		return v, nil
	case jsonAppender:
		return v.appendJSON(make([]byte, 0, 256)), nil
	}
	return json.Marshal(in)
}

// call is one logical call, across its attempts and a token replay.
type call struct {
	c         *Client
	ep        *endpoint
	in        any
	body      []byte
	start     time.Time
	attempts  int
	base      int // attempts made before the current transport call
	status    int
	pending   transport.Attempt
	havePend  bool
	code      ErrorCode // bKash's code in the pending attempt's answer
	pendStart time.Time // when the pending attempt began
	respBody  []byte
	ctx       context.Context // the call's context, as a StartObserver left it
}

// run makes the call: one transport call, and a replay after a rejected
// token. observe, if not nil, receives every attempt.
func (cl *call) run(ctx context.Context, out any, observe func(transport.Attempt)) error {
	c, ep := cl.c, cl.ep
	url := c.url(ep)
	for replay := 0; ; replay++ {
		h := make(http.Header, 6)
		h["Content-Type"] = c.hJSON
		h["Accept"] = c.hJSON
		h["User-Agent"] = c.hUA
		var tok *Token
		if ep.noAuth {
			h["Username"] = c.hUser
			h["Password"] = c.hPass
		} else {
			t, err := c.tokens.token(ctx)
			if err != nil {
				return err
			}
			tok = t
			h["Authorization"] = t.auth
			h["X-App-Key"] = c.hAppKey
		}
		cl.base = cl.attempts
		res := c.tr.Do(ctx, ep.class, url, h, cl.body, observe)
		cl.attempts += res.Attempts
		err, rejected := cl.finish(ctx, res, out)
		if rejected && tok != nil && replay == 0 {
			// The gateway refused the token, so bKash never processed the
			// request: renew once and replay, whatever the class.
			c.tokens.reject(tok)
			cl.emit(false, nil)
			continue
		}
		return err
	}
}

// finish turns a transport result into the call's error and decodes out.
// rejected reports a token rejection (401/403 or code 2079).
func (cl *call) finish(ctx context.Context, res transport.Result, out any) (err error, rejected bool) {
	ep := cl.ep
	if res.Resp == nil {
		cl.flushAttempt("")
		if res.Err == nil {
			res.Err = errors.New("no response")
		}
		if !res.Sent {
			return fmt.Errorf("bkash: %s: not sent after %d attempt(s): %w", ep.op, res.Attempts, res.Err), false
		}
		if ep.class == classRead {
			return fmt.Errorf("bkash: %s: %d attempt(s): %w", ep.op, cl.attempts, res.Err), false
		}
		return &OutcomeUnknownError{Op: ep.op, Attempts: cl.attempts, Err: res.Err}, false
	}
	resp := res.Resp
	status := resp.StatusCode
	cl.status = status
	data, bp, readErr := readBody(resp)
	defer releaseBody(bp, data)
	if cl.c.logBodies {
		cl.respBody = append([]byte(nil), data...)
	}

	var env *envelope
	var decodeErr error
	if readErr == nil {
		env, decodeErr = decodeInto(data, out)
	}
	if env != nil {
		if ae := env.apiError(); ae != nil {
			ae.Op, ae.HTTPStatus, ae.Attempts = ep.op, status, cl.attempts
			cl.flushAttempt(ae.Code)
			return ae, ae.Code == CodeInvalidAppToken
		}
	}
	cl.flushAttempt("")
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return cl.gatewayError(status, env), true
	case status == http.StatusOK && env != nil && decodeErr == nil && !env.gatewayOnly():
		return nil, false
	}
	// Not a definite bKash answer: a 5xx, an HTML page, a gateway message,
	// malformed or truncated JSON.
	var why error
	if unreadable := cmp.Or(readErr, decodeErr); unreadable != nil {
		why = fmt.Errorf("http %d: unreadable answer: %w", status, unreadable)
	} else {
		ge := cl.gatewayError(status, env)
		if ep.class == classRead && status != http.StatusOK {
			return ge, false
		}
		why = fmt.Errorf("http %d: %s", status, ge.Message)
	}
	if ep.class == classRead {
		// A read changed nothing: there is no outcome to be unsure of.
		return fmt.Errorf("bkash: %s: %d attempt(s): %w", ep.op, cl.attempts, why), false
	}
	return &OutcomeUnknownError{Op: ep.op, Attempts: cl.attempts, Err: why}, false
}

// gatewayError is the *APIError of an answer that carries no bKash code:
// the gateway's {"message": ...}, or the HTTP status text.
func (cl *call) gatewayError(status int, env *envelope) *APIError {
	msg := http.StatusText(status)
	if env != nil && env.Message != "" {
		msg = env.Message
	}
	return &APIError{Op: cl.ep.op, HTTPStatus: status, Message: msg, Attempts: cl.attempts}
}

// readBody reads at most maxResponseBody bytes of resp's body into a pooled
// buffer and closes it. Give data back with releaseBody once done with it.
func readBody(resp *http.Response) (data []byte, bp *[]byte, err error) {
	bp = bodyPool.Get().(*[]byte)
	buf := bytes.NewBuffer((*bp)[:0])
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBody+1))
	resp.Body.Close()
	data = buf.Bytes()
	if err == nil && len(data) > maxResponseBody {
		err = fmt.Errorf("response body larger than %d bytes", maxResponseBody)
	}
	return data, bp, err
}

// releaseBody returns readBody's buffer to the pool. Only ordinary-sized
// buffers are kept: one oversized answer must not pin a megabyte for the
// life of the process.
func releaseBody(bp *[]byte, data []byte) {
	if cap(data) <= 64<<10 {
		*bp = data[:0]
		bodyPool.Put(bp)
	}
}

// decodeInto decodes data into out and returns the envelope. out may embed
// envelope (one decode) or not (the envelope is decoded first).
func decodeInto(data []byte, out any) (*envelope, error) {
	if e, ok := out.(enveloper); ok {
		if err := unmarshalWire(data, out); err != nil {
			// The payload did not fit; still read the status, which decides
			// whether this was an answer at all.
			var env envelope
			if json.Unmarshal(data, &env) != nil {
				return nil, err
			}
			return &env, err
		}
		return e.env(), nil
	}
	var env envelope
	if err := unmarshalWire(data, &env); err != nil {
		return nil, err
	}
	if out != nil && env.apiError() == nil {
		if err := unmarshalWire(data, out); err != nil {
			return &env, err
		}
	}
	return &env, nil
}

// unmarshalWire is json.Unmarshal through the fast path of decodeWire.
func unmarshalWire(data []byte, out any) error {
	if decodeWire(data, out) {
		return nil
	}
	return json.Unmarshal(data, out)
}

func (c *Client) debug(ctx context.Context) bool {
	return c.logger != nil && c.logger.Enabled(ctx, slog.LevelDebug)
}

// observeAttempt holds back each attempt until the next one starts or the
// call ends, so that the last attempt can carry bKash's code and the call's
// outcome.
func (cl *call) observeAttempt(a transport.Attempt) {
	cl.emit(false, nil)
	cl.pending, cl.havePend, cl.code = a, true, ""
	if cl.c.observer != nil {
		cl.pendStart = time.Now().Add(-a.Duration)
	}
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
	ci := CallInfo{Op: cl.ep.op, Class: className(cl.ep.class), URL: cl.c.url(cl.ep)}
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
	if !attempted && (!last || c.observer == nil) {
		return
	}
	cl.havePend = false
	info := cl.info()
	ev := AttemptEvent{
		Op: info.Op, Class: info.Class, RefKind: info.RefKind, Ref: info.Ref, URL: info.URL,
		ctx: cl.ctx,
	}
	if attempted {
		a := cl.pending
		// Number restarts with each transport call; a replay after a token
		// renewal continues the count.
		ev.Attempt, ev.HTTPStatus, ev.Code, ev.Duration, ev.Err = cl.base+a.Number, a.Status, cl.code, a.Duration, a.Err
		ev.Start = cl.pendStart
	}
	if last {
		ev.Outcome, ev.CallErr, ev.CallDuration = OutcomeOf(callErr), callErr, time.Since(cl.start)
		if c.logBodies {
			ev.Request, ev.Response = redactBody(cl.body), redactBody(cl.respBody)
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
		attrs = append(attrs, slog.String("request", redactBody(cl.body)), slog.String("response", redactBody(cl.respBody)))
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "bkash call", attrs...)
}
