package bkash

import (
	"container/list"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go/internal/sns"
)

// Webhook limits and defaults.
const (
	// MaxWebhookBodySize is the largest SNS message the verifier reads
	// (64 KiB). SNS messages are at most 256 KiB by AWS's rules, but a bKash
	// notification is about 1 KiB; anything near the cap is not bKash.
	MaxWebhookBodySize = 64 << 10
	// DefaultMaxMessageAge is how old a message may be before it is
	// rejected as stale (SNS retries re-send the original Timestamp).
	DefaultMaxMessageAge = time.Hour
	// DefaultMaxClockSkew is how far in the future a Timestamp may be,
	// to allow for the difference between AWS's clock and this host's.
	DefaultMaxClockSkew = 5 * time.Minute
	// confirmTimeout bounds the GET of a SubscribeURL.
	confirmTimeout = 10 * time.Second
)

// Webhook errors. Verify returns an error that matches exactly one of these
// with errors.Is (a bad inner message with a missing field matches
// ErrWebhookBadNotification and ErrWebhookMissingField). The Handler answers
// 503 for ErrWebhookCertFetch, so SNS retries, and 400 for every other one.
var (
	// ErrWebhookBadJSON: the body is not one JSON object, a signed key holds
	// something other than a string, or a signed key appears twice.
	ErrWebhookBadJSON = errors.New("bkash: webhook: body is not a valid SNS JSON message")
	// ErrWebhookTooLarge: the body exceeds MaxWebhookBodySize.
	ErrWebhookTooLarge = errors.New("bkash: webhook: body exceeds 64 KiB")
	// ErrWebhookMissingField: a required envelope key (Type, MessageId,
	// TopicArn, Message, Timestamp, SignatureVersion, Signature,
	// SigningCertURL; SubscribeURL and Token for confirmations) or a
	// required notification field (trxID, amount, transactionStatus) is
	// absent or empty.
	ErrWebhookMissingField = errors.New("bkash: webhook: required field missing")
	// ErrWebhookMessageType: Type is not Notification,
	// SubscriptionConfirmation or UnsubscribeConfirmation.
	ErrWebhookMessageType = errors.New("bkash: webhook: unsupported SNS message type")
	// ErrWebhookSignatureVersion: SignatureVersion is not "1" or "2".
	ErrWebhookSignatureVersion = errors.New("bkash: webhook: unsupported SignatureVersion")
	// ErrWebhookCertURL: SigningCertURL is not where SNS publishes its
	// certificates: https, host sns.<region>.amazonaws.com[.cn] with a
	// region-shaped <region> (ap-southeast-1, us-gov-west-1, cn-north-1;
	// not an S3 endpoint such as sns.s3-us-west-2.amazonaws.com), default
	// port, path /SimpleNotificationService-<32 hex>.pem. Nothing was
	// fetched.
	ErrWebhookCertURL = errors.New("bkash: webhook: SigningCertURL is not an SNS certificate URL")
	// ErrWebhookSubscribeURL: the SubscribeURL of a confirmation breaks the
	// same host rules or is not a ConfirmSubscription link.
	ErrWebhookSubscribeURL = errors.New("bkash: webhook: SubscribeURL is not an SNS confirmation URL")
	// ErrWebhookCertFetch: the signing certificate could not be fetched or
	// parsed. It is the only error that may be temporary. A failed download
	// is remembered for 10 seconds (messages naming that URL fail at once,
	// without a download), shorter than SNS's 20-second retry interval; and
	// the verifier downloads at most 5 certificates at once, then one per
	// 10 seconds, so forged messages naming new certificate URLs cost
	// little. Cached certificates are not limited. The Handler answers
	// 503, so SNS delivers the message again.
	ErrWebhookCertFetch = errors.New("bkash: webhook: signing certificate unavailable")
	// ErrWebhookBadSignature: the signature is not valid base64 or does not
	// verify with the certificate.
	ErrWebhookBadSignature = errors.New("bkash: webhook: signature does not verify")
	// ErrWebhookTopicNotAllowed: TopicArn is not in WithAllowedTopicARNs.
	ErrWebhookTopicNotAllowed = errors.New("bkash: webhook: topic not allowed")
	// ErrWebhookBadTimestamp: Timestamp is not an RFC 3339 time.
	ErrWebhookBadTimestamp = errors.New("bkash: webhook: invalid Timestamp")
	// ErrWebhookStale: the message is older than WithMaxMessageAge.
	ErrWebhookStale = errors.New("bkash: webhook: message too old")
	// ErrWebhookFuture: the message is dated further in the future than the
	// allowed clock skew.
	ErrWebhookFuture = errors.New("bkash: webhook: message dated in the future")
	// ErrWebhookBadNotification: the signed Message of a Notification is not
	// a bKash payment notification (not a JSON object, or a field has the
	// wrong type or format).
	ErrWebhookBadNotification = errors.New("bkash: webhook: invalid payment notification")
)

// CertFetcher returns the certificate published at certURL. The verifier
// calls it only for URLs that passed the SigningCertURL rules, at most once
// per URL at a time, and caches the result; it bounds each call with a
// 5-second timeout. A CertFetcher is trusted: the default one checks the
// certificate's validity dates, a custom one must do what it needs.
type CertFetcher func(ctx context.Context, certURL string) (*x509.Certificate, error)

// WebhookOption configures a WebhookVerifier. It is a separate type from
// Option: the verifier needs no credentials and is usually built elsewhere.
type WebhookOption func(*webhookConfig) error

type webhookConfig struct {
	topics  []string
	maxAge  time.Duration
	skew    time.Duration
	lease   time.Duration // 0: DefaultDedupeLease, shortened to maxAge+skew
	confirm bool
	fetch   CertFetcher
	now     func() time.Time
	dedupe  DedupeStore
	client  *http.Client
	logger  *slog.Logger
	obs     WebhookObserver
}

// WithAllowedTopicARNs lists the SNS topics whose messages are accepted;
// bKash tells each merchant its topic ARN. At least one is required: SNS
// signs every topic's messages with the same certificates, so without this
// list anyone could create a topic and send signed "payments".
func WithAllowedTopicARNs(arns ...string) WebhookOption {
	return func(c *webhookConfig) error {
		for _, arn := range arns {
			if !sns.IsTopicARN(arn) {
				return &ValidationError{Field: "WithAllowedTopicARNs", Reason: fmt.Sprintf("%q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)", arn)}
			}
			c.topics = append(c.topics, arn)
		}
		return nil
	}
}

// maxWebhookWindow bounds WithMaxMessageAge and WithMaxClockSkew: far more
// than SNS retries a message, and far from overflowing a time.Duration or a
// time.Time when added.
const maxWebhookWindow = 30 * 24 * time.Hour

// WithMaxMessageAge sets how old a message may be (default 1 hour). SNS
// retries keep the original Timestamp, so this also ends retries.
func WithMaxMessageAge(d time.Duration) WebhookOption {
	return func(c *webhookConfig) error {
		if d <= 0 || d > maxWebhookWindow {
			return &ValidationError{Field: "WithMaxMessageAge", Reason: "must be positive and at most 30 days"}
		}
		c.maxAge = d
		return nil
	}
}

// WithMaxClockSkew sets how far in the future a Timestamp may be (default
// 5 minutes).
func WithMaxClockSkew(d time.Duration) WebhookOption {
	return func(c *webhookConfig) error {
		if d < 0 || d > maxWebhookWindow {
			return &ValidationError{Field: "WithMaxClockSkew", Reason: "must not be negative, and at most 30 days"}
		}
		c.skew = d
		return nil
	}
}

// WithSubscriptionConfirmation makes the Handler confirm a verified
// SubscriptionConfirmation by visiting its SubscribeURL (off by default).
// Without it, confirm the subscription yourself with the SubscribeURL that
// Verify returns.
func WithSubscriptionConfirmation(enabled bool) WebhookOption {
	return func(c *webhookConfig) error {
		c.confirm = enabled
		return nil
	}
}

// WithCertFetcher replaces the HTTPS download of signing certificates, for
// tests (see bkashtest.SNSSigner.CertFetcher) and for deployments that pin
// certificates. The SigningCertURL rules, the download limit and the brief
// memory of failures (see ErrWebhookCertFetch) still apply before it is
// called: a test fake that serves certificates is reached through a
// CertFetcher, with URLs of SNS's shape, never through looser rules.
func WithCertFetcher(f CertFetcher) WebhookOption {
	return func(c *webhookConfig) error {
		if f == nil {
			return &ValidationError{Field: "WithCertFetcher", Reason: "is nil"}
		}
		c.fetch = f
		return nil
	}
}

// WithClock replaces time.Now for the age checks and certificate validity.
func WithClock(now func() time.Time) WebhookOption {
	return func(c *webhookConfig) error {
		if now == nil {
			return &ValidationError{Field: "WithClock", Reason: "is nil"}
		}
		c.now = now
		return nil
	}
}

// WithDedupeStore sets where the Handler records the MessageIds it has
// processed (default: a MemoryDedupeStore of 100 000 entries, enough for one
// process; use a shared store such as redisstore when several processes
// receive notifications).
func WithDedupeStore(s DedupeStore) WebhookOption {
	return func(c *webhookConfig) error {
		if s == nil {
			return &ValidationError{Field: "WithDedupeStore", Reason: "is nil"}
		}
		c.dedupe = s
		return nil
	}
}

// DefaultDedupeLease is how long a claimed message counts as being
// processed, with a DedupeStore that implements DedupeCompleter: twice
// SNS's 15-second delivery timeout.
const DefaultDedupeLease = 30 * time.Second

// WithDedupeLease sets how long a claimed message counts as being processed
// when the DedupeStore implements DedupeCompleter (default
// DefaultDedupeLease). Redeliveries within the lease get 503; after it, a
// message neither marked processed nor released (the process died, or the
// store failed to take the claim back) is processed again rather than
// refused until it is too old to verify. A callback that runs longer than
// the lease may meet a redelivery running the same message: keep it
// idempotent by TrxID. d must be at least a millisecond (the resolution of
// Redis's expiry) and at most the message age limit plus the clock skew;
// the default is shortened to that sum when it is shorter.
func WithDedupeLease(d time.Duration) WebhookOption {
	return func(c *webhookConfig) error {
		if d < time.Millisecond {
			return &ValidationError{Field: "WithDedupeLease", Reason: "must be at least 1ms"}
		}
		c.lease = d
		return nil
	}
}

// WithWebhookHTTPClient sets the HTTP client used to download signing
// certificates and to confirm subscriptions. It is copied and the copy is
// made to refuse redirects; the verifier adds its own timeouts.
func WithWebhookHTTPClient(hc *http.Client) WebhookOption {
	return func(c *webhookConfig) error {
		if hc == nil {
			return &ValidationError{Field: "WithWebhookHTTPClient", Reason: "is nil"}
		}
		c.client = hc
		return nil
	}
}

// WithWebhookLogger makes the Handler log each message it rejects or fails
// to process (at Warn, with the error text only, never the body). Silent by
// default.
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(c *webhookConfig) error {
		if l == nil {
			return &ValidationError{Field: "WithWebhookLogger", Reason: "is nil"}
		}
		c.logger = l
		return nil
	}
}

// WebhookObserver receives one event per message a WebhookVerifier
// verifies (through Verify or the Handler), for metrics, tracing and audit
// logs. ObserveWebhook is called synchronously and must be fast and safe for
// concurrent use. Package github.com/smartdairy/bkash-go/otel implements it.
type WebhookObserver interface {
	ObserveWebhook(WebhookEvent)
}

// WebhookEvent describes one verification. The message's own fields are
// set only when it verified: a rejected message's claims are not to be
// trusted, not even in a log.
type WebhookEvent struct {
	Type      WebhookMessageType // verified messages only
	MessageID string             // verified messages only
	TopicARN  string             // verified messages only
	TrxID     string             // verified notifications only
	Duration  time.Duration      // time Verify took, with a certificate fetch
	Err       error              // nil when the message verified; else it matches one of the ErrWebhook... errors

	ctx context.Context
}

// Context returns the context passed to Verify (the request's, under the
// Handler). It is never nil.
func (e WebhookEvent) Context() context.Context { return orBackground(e.ctx) }

// WithWebhookObserver reports every verification to o.
func WithWebhookObserver(o WebhookObserver) WebhookOption {
	return func(c *webhookConfig) error {
		if o == nil {
			return &ValidationError{Field: "WithWebhookObserver", Reason: "is nil"}
		}
		c.obs = o
		return nil
	}
}

// WebhookVerifier checks bKash's instant payment notifications, which are
// Amazon SNS HTTP messages, and decodes them. It is safe for concurrent use.
type WebhookVerifier struct {
	topics  map[string]struct{}
	maxAge  time.Duration
	skew    time.Duration
	lease   time.Duration // how long a claim lasts with a DedupeCompleter
	ttl     time.Duration // how long a message is claimed, or marked processed: maxAge+skew
	confirm bool
	now     func() time.Time
	certs   *sns.CertCache
	client  *http.Client
	dedupe  DedupeStore
	logger  *slog.Logger
	obs     WebhookObserver
}

// NewWebhookVerifier returns a verifier. WithAllowedTopicARNs is required.
// A nil option is refused, as NewClient refuses one: it is a mistake (an
// option built conditionally and left unset), and skipping it would hide
// a setting the caller meant to make.
func NewWebhookVerifier(opts ...WebhookOption) (*WebhookVerifier, error) {
	c := webhookConfig{maxAge: DefaultMaxMessageAge, skew: DefaultMaxClockSkew, now: time.Now}
	for _, opt := range opts {
		if opt == nil {
			return nil, &ValidationError{Field: "NewWebhookVerifier", Reason: "nil WebhookOption"}
		}
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	if len(c.topics) == 0 {
		return nil, &ValidationError{Field: "WithAllowedTopicARNs", Reason: "at least one topic ARN is required (ask bKash for yours)"}
	}
	// A message is claimed, and marked processed, for as long as it can be
	// delivered: its age limit plus the clock skew.
	dedupeTTL := c.maxAge + c.skew
	switch {
	case c.lease == 0:
		c.lease = min(DefaultDedupeLease, dedupeTTL)
	case c.lease > dedupeTTL:
		return nil, &ValidationError{Field: "WithDedupeLease", Reason: fmt.Sprintf("%s is longer than the message age limit plus the clock skew (%s)", c.lease, dedupeTTL)}
	}
	v := &WebhookVerifier{
		topics:  make(map[string]struct{}, len(c.topics)),
		maxAge:  c.maxAge,
		skew:    c.skew,
		lease:   c.lease,
		ttl:     dedupeTTL,
		confirm: c.confirm,
		now:     c.now,
		client:  sns.NoRedirects(c.client),
		dedupe:  c.dedupe,
		logger:  c.logger,
		obs:     c.obs,
	}
	for _, t := range c.topics {
		v.topics[t] = struct{}{}
	}
	fetch := sns.HTTPFetcher(v.client, v.now)
	if c.fetch != nil {
		fetch = sns.FetchFunc(c.fetch)
	}
	v.certs = sns.NewCertCache(fetch, sns.DefaultCacheSize, sns.FetchTimeout)
	if v.dedupe == nil {
		v.dedupe = NewMemoryDedupeStore(0)
	}
	if v.logger == nil {
		v.logger = slog.New(slog.DiscardHandler)
	}
	return v, nil
}

// WebhookMessageType is the SNS message type.
type WebhookMessageType string

// The SNS message types.
const (
	WebhookNotification             WebhookMessageType = "Notification"
	WebhookSubscriptionConfirmation WebhookMessageType = "SubscriptionConfirmation"
	WebhookUnsubscribeConfirmation  WebhookMessageType = "UnsubscribeConfirmation"
)

// WebhookMessage is a verified SNS message.
type WebhookMessage struct {
	Type      WebhookMessageType
	MessageID string // SNS's MessageId: the same for every delivery of one message
	TopicARN  string
	Timestamp time.Time // when SNS published the message
	Subject   string    // Notification only (SNS signs it there); usually empty for bKash

	// SubscribeURL and Token are set for the two confirmation types.
	// SubscribeURL has passed the host rules and is a ConfirmSubscription
	// link: visiting it confirms the subscription.
	SubscribeURL string
	Token        string
	// UnsubscribeURL is set for a Notification. SNS does not sign it and
	// the verifier does not check it: never visit it on its word.
	UnsubscribeURL string

	// Message is the signed Message text exactly as received.
	Message string
	// Notification is the decoded payment notification when Type is
	// WebhookNotification.
	Notification *Notification
}

// Notification is bKash's instant payment notification: a payment into the
// merchant's wallet (checkout, app, USSD or QR). It carries no paymentID:
// correlate by TrxID or MerchantInvoiceNumber, and confirm with
// Payments.Search(ctx, n.TrxID) before delivering goods.
type Notification struct {
	MessageID              string // the SNS MessageId (the dedupe key)
	TrxID                  string // bKash transaction ID
	Amount                 Amount
	Currency               string // "BDT"
	TransactionStatus      string // "Completed"
	TransactionType        string // numeric code, e.g. "10002294" (payment via API)
	DebitMSISDN            string // the payer's wallet, verbatim (e.g. "8801700000001")
	MerchantInvoiceNumber  string
	TransactionReference   string
	CreditShortCode        string
	CreditOrganizationName string
	DateTime               Time // from yyyyMMddHHmmss in Asia/Dhaka

	// Coupon payments only (zero otherwise): the coupon's value, the
	// merchant's share and the sale amount.
	CouponAmount        Amount
	MerchantShareAmount Amount
	SaleAmount          Amount

	// Raw is the inner Message JSON exactly as received, with every field,
	// including those this type does not name.
	Raw json.RawMessage
}

// Verify checks an SNS message body and decodes it. In order: size, JSON
// shape and required keys, message type, SignatureVersion, SigningCertURL
// rules, topic allow-list, Timestamp age, SubscribeURL rules (confirmations)
// — all without network access — then the certificate (cached; fetched at
// most once per URL) and the signature over the original Message string,
// and finally the inner payment notification. Every failure matches one of
// the ErrWebhook... errors.
func (v *WebhookVerifier) Verify(ctx context.Context, body []byte) (*WebhookMessage, error) {
	if v.obs == nil {
		return v.verify(ctx, body)
	}
	start := time.Now()
	msg, err := v.verify(ctx, body)
	ev := WebhookEvent{Duration: time.Since(start), Err: err, ctx: ctx}
	if msg != nil {
		ev.Type, ev.MessageID, ev.TopicARN = msg.Type, msg.MessageID, msg.TopicARN
		if msg.Notification != nil {
			ev.TrxID = msg.Notification.TrxID
		}
	}
	v.obs.ObserveWebhook(ev)
	return msg, err
}

func (v *WebhookVerifier) verify(ctx context.Context, body []byte) (*WebhookMessage, error) {
	if len(body) > MaxWebhookBodySize {
		return nil, fmt.Errorf("%w: %d bytes", ErrWebhookTooLarge, len(body))
	}
	m, err := sns.Parse(string(body))
	if err != nil {
		return nil, err
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	if err := sns.CheckCertURL(m.SigningCertURL()); err != nil {
		return nil, err
	}
	if _, ok := v.topics[m.TopicARN()]; !ok {
		return nil, fmt.Errorf("%w: %.200q", ErrWebhookTopicNotAllowed, m.TopicARN())
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Timestamp())
	if err != nil {
		return nil, fmt.Errorf("%w: %.40q", ErrWebhookBadTimestamp, m.Timestamp())
	}
	now := v.now()
	if age := now.Sub(ts); age > v.maxAge {
		return nil, fmt.Errorf("%w: published %s ago, limit %s", ErrWebhookStale, age.Round(time.Second), v.maxAge)
	} else if -age > v.skew {
		return nil, fmt.Errorf("%w: %s ahead of this host's clock", ErrWebhookFuture, (-age).Round(time.Second))
	}
	typ := WebhookMessageType(m.Type())
	if typ != WebhookNotification {
		if err := sns.CheckSubscribeURL(m.SubscribeURL()); err != nil {
			return nil, err
		}
	}
	key, err := v.certs.Key(ctx, m.SigningCertURL())
	if err != nil {
		return nil, err
	}
	if err := sns.VerifyMessage(m, key); err != nil {
		return nil, err
	}
	msg := &WebhookMessage{
		Type:      typ,
		MessageID: m.MessageID(),
		TopicARN:  m.TopicARN(),
		Timestamp: ts,
		Message:   m.Message(),
	}
	// Each type gets only the keys it documents: anyone can add the others
	// to a genuine message, as its signature does not cover them.
	if typ != WebhookNotification {
		msg.SubscribeURL, msg.Token = m.SubscribeURL(), m.Token()
		return msg, nil
	}
	msg.Subject, msg.UnsubscribeURL = m.Subject(), m.UnsubscribeURL()
	n, err := parseNotification(m.Message())
	if err != nil {
		return nil, err
	}
	n.MessageID = msg.MessageID
	msg.Notification = n
	return msg, nil
}

// notificationField numbers the inner keys parseNotification knows.
type notificationField uint8

const (
	nfTrxID notificationField = iota
	nfAmount
	nfCurrency
	nfTransactionStatus
	nfTransactionType
	nfDebitMSISDN
	nfMerchantInvoiceNumber
	nfTransactionReference
	nfCreditShortCode
	nfCreditOrganizationName
	nfDateTime
	nfCouponAmount
	nfMerchantShareAmount
	nfSaleAmount
	nfCount
)

var notificationKeys = [nfCount]string{
	"trxID", "amount", "currency", "transactionStatus", "transactionType",
	"debitMSISDN", "merchantInvoiceNumber", "transactionReference",
	"creditShortCode", "creditOrganizationName", "dateTime",
	"couponAmount", "merchantShareAmount", "saleAmount",
}

func badNotification(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrWebhookBadNotification}, args...)...)
}

// parseNotification decodes the inner Message of a Notification. Field
// values may be JSON strings or numbers (bKash is not consistent); null
// counts as absent; anything else is an error, as is a key given twice.
func parseNotification(message string) (*Notification, error) {
	members, err := sns.ReadObject(message)
	if err != nil {
		return nil, badNotification("%v", err)
	}
	n := &Notification{Raw: json.RawMessage(message)}
	var given, present [nfCount]bool // present: given with a non-null value
	for _, member := range members {
		key := member.Key
		f := nfCount
		for i, k := range notificationKeys {
			if k == key {
				f = notificationField(i)
				break
			}
		}
		if f == nfCount {
			continue // kept in Raw
		}
		if given[f] {
			return nil, badNotification("duplicate key %q", key)
		}
		given[f] = true
		var s string
		switch v := member.Value.(type) {
		case string:
			s = v
		case json.Number:
			s = v.String() // the number's text, as received
		case nil:
			continue // absent, yet given: a later value is a duplicate
		default:
			return nil, badNotification("%s is not a string", key)
		}
		present[f] = true
		if err := n.set(f, s); err != nil {
			return nil, err
		}
	}
	for _, f := range []notificationField{nfTrxID, nfAmount, nfTransactionStatus} {
		if !present[f] {
			return nil, fmt.Errorf("%w: %w: %s", ErrWebhookBadNotification, ErrWebhookMissingField, notificationKeys[f])
		}
	}
	if strings.TrimSpace(n.TrxID) == "" {
		return nil, fmt.Errorf("%w: %w: trxID is empty", ErrWebhookBadNotification, ErrWebhookMissingField)
	}
	if strings.TrimSpace(n.TransactionStatus) == "" {
		return nil, fmt.Errorf("%w: %w: transactionStatus is empty", ErrWebhookBadNotification, ErrWebhookMissingField)
	}
	return n, nil
}

func (n *Notification) set(f notificationField, s string) error {
	amount := func(dst *Amount) error {
		t := strings.TrimSpace(s)
		if t == "" {
			if f == nfAmount {
				return fmt.Errorf("%w: %w: amount is empty", ErrWebhookBadNotification, ErrWebhookMissingField)
			}
			return nil
		}
		a, err := parseAmount([]byte(t))
		if err != nil {
			return badNotification("%s: %v", notificationKeys[f], err)
		}
		*dst = a
		return nil
	}
	switch f {
	case nfTrxID:
		n.TrxID = s
	case nfAmount:
		return amount(&n.Amount)
	case nfCurrency:
		n.Currency = s
	case nfTransactionStatus:
		n.TransactionStatus = s
	case nfTransactionType:
		n.TransactionType = s
	case nfDebitMSISDN:
		n.DebitMSISDN = s
	case nfMerchantInvoiceNumber:
		n.MerchantInvoiceNumber = s
	case nfTransactionReference:
		n.TransactionReference = s
	case nfCreditShortCode:
		n.CreditShortCode = s
	case nfCreditOrganizationName:
		n.CreditOrganizationName = s
	case nfDateTime:
		if strings.TrimSpace(s) == "" {
			return nil
		}
		t, err := ParseTime(s)
		if err != nil {
			return badNotification("dateTime: %v", err)
		}
		n.DateTime = t
	case nfCouponAmount:
		return amount(&n.CouponAmount)
	case nfMerchantShareAmount:
		return amount(&n.MerchantShareAmount)
	case nfSaleAmount:
		return amount(&n.SaleAmount)
	}
	return nil
}

// Handler returns an http.Handler for the webhook URL registered with bKash.
// It reads at most 64 KiB, verifies the message and:
//
//   - Notification: calls fn once per MessageId (SNS delivers at least
//     once). 200 when fn returns nil or the MessageId was already
//     processed (fn is not called again); 500 when fn fails, after
//     releasing the claim, so that SNS's retry is processed, and 500 when
//     the DedupeStore fails (fn is not called). A redelivery that comes
//     while fn is still running for the same MessageId (SNS gave up
//     waiting for the first delivery) gets 503, so that SNS delivers it
//     again later: a 200 would end SNS's retries, and the first delivery
//     may still fail. That needs a DedupeStore that implements
//     DedupeCompleter (the default and redisstore.Store do); with any
//     other, such a redelivery gets 200. A message counts as being
//     processed for at most the lease (WithDedupeLease, 30 s by default):
//     one whose claim was never completed nor released is processed again
//     after it.
//   - SubscriptionConfirmation: with WithSubscriptionConfirmation(true),
//     visits the checked SubscribeURL (500 if that fails); 200.
//   - UnsubscribeConfirmation: 200, nothing else.
//
// A message that fails verification gets 400, except an unavailable
// signing certificate, which gets 503 so that SNS retries. Anything but
// POST gets 405. fn should be idempotent by TrxID anyway and should confirm
// the payment with Payments.Search before fulfilling an order.
func (v *WebhookVerifier) Handler(fn func(ctx context.Context, n *Notification) error) http.Handler {
	if fn == nil {
		panic("bkash: WebhookVerifier.Handler: nil callback")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBodySize))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				err = fmt.Errorf("%w: request body", ErrWebhookTooLarge)
			}
			v.reject(w, r, err, http.StatusBadRequest)
			return
		}
		msg, err := v.Verify(r.Context(), body)
		if err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, ErrWebhookCertFetch) {
				status = http.StatusServiceUnavailable
			}
			v.reject(w, r, err, status)
			return
		}
		switch msg.Type {
		case WebhookNotification:
			v.deliver(w, r, msg, fn)
		case WebhookSubscriptionConfirmation:
			if v.confirm {
				if err := sns.Confirm(r.Context(), v.client, msg.SubscribeURL, confirmTimeout); err != nil {
					v.reject(w, r, fmt.Errorf("bkash: webhook: confirming subscription to %s: %w", msg.TopicARN, err), http.StatusInternalServerError)
					return
				}
			}
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
}

func (v *WebhookVerifier) deliver(w http.ResponseWriter, r *http.Request, msg *WebhookMessage, fn func(context.Context, *Notification) error) {
	ctx := r.Context()
	// A store that can mark a message processed (Complete) holds a claim
	// only for the lease: a claim nobody completes or releases (a crash, a
	// store error) then lets SNS's redelivery in. Any other store holds it
	// for as long as the message can be delivered: that is all it has to
	// tell a duplicate by.
	completer, _ := v.dedupe.(DedupeCompleter)
	claimTTL := v.ttl
	if completer != nil {
		claimTTL = v.lease
	}
	claimedAt := time.Now()
	claimed, err := v.dedupe.Claim(ctx, msg.MessageID, claimTTL)
	if err != nil {
		v.reject(w, r, fmt.Errorf("bkash: webhook: dedupe store: %w", err), http.StatusInternalServerError)
		return
	}
	if !claimed {
		if completer != nil {
			done, err := completer.Completed(ctx, msg.MessageID)
			if err != nil {
				v.reject(w, r, fmt.Errorf("bkash: webhook: dedupe store: %w", err), http.StatusInternalServerError)
				return
			}
			if !done {
				v.reject(w, r, fmt.Errorf("bkash: webhook: %s is still being processed; SNS will deliver it again", msg.MessageID), http.StatusServiceUnavailable)
				return
			}
		}
		w.WriteHeader(http.StatusOK) // a redelivery of a message already processed
		return
	}
	// release lets SNS's retry in after fn failed. A claim that has run out
	// (or nearly: the store's clock is not this one) is not this
	// delivery's to release any more: a redelivery may have claimed the
	// message since and still be running it, or have processed it.
	release := func() error {
		if time.Since(claimedAt) >= claimTTL-claimTTL/10 {
			return nil
		}
		return v.dedupe.Release(context.WithoutCancel(ctx), msg.MessageID)
	}
	done := false
	defer func() {
		if !done { // fn panicked: let the retry in
			_ = release()
		}
	}()
	err = fn(ctx, msg.Notification)
	if err != nil {
		rerr := release()
		done = true
		if rerr != nil {
			err = errors.Join(err, fmt.Errorf("releasing the dedupe claim: %w", rerr))
		}
		v.reject(w, r, fmt.Errorf("bkash: webhook: callback for %s (trxID %s): %w", msg.MessageID, msg.Notification.TrxID, err), http.StatusInternalServerError)
		return
	}
	done = true
	if completer != nil {
		if err := completer.Complete(context.WithoutCancel(ctx), msg.MessageID, v.ttl); err != nil {
			// The claim stays, not complete: redeliveries get 503 until it
			// expires, and are then processed again (fn is idempotent).
			v.logger.LogAttrs(ctx, slog.LevelWarn, "bkash webhook: marking the message processed failed",
				slog.String("message_id", msg.MessageID), slog.String("error", err.Error()))
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (v *WebhookVerifier) reject(w http.ResponseWriter, r *http.Request, err error, status int) {
	v.logger.LogAttrs(r.Context(), slog.LevelWarn, "bkash webhook rejected",
		slog.Int("status", status), slog.String("error", err.Error()))
	http.Error(w, http.StatusText(status), status)
}

// DedupeStore remembers which SNS MessageIds have been processed, so that
// a message SNS delivers twice is handled once. Implementations must be
// safe for concurrent use and make Claim atomic.
type DedupeStore interface {
	// Claim records messageID for ttl; it reports false when the ID was
	// already claimed.
	Claim(ctx context.Context, messageID string, ttl time.Duration) (bool, error)
	// Release forgets messageID so that a redelivery is processed again
	// (the callback failed).
	Release(ctx context.Context, messageID string) error
}

// DedupeCompleter is implemented by a DedupeStore that tells a message
// still being processed from one processed. The Handler marks a message
// complete once its callback returned nil, and answers a redelivery of a
// message claimed but not complete with 503, so that SNS delivers it again
// later instead of taking a 200 for a delivery that may yet fail.
// MemoryDedupeStore and redisstore.Store implement it.
type DedupeCompleter interface {
	// Complete marks messageID processed, for ttl. It must not mark a
	// claim another store (another replica) holds now.
	Complete(ctx context.Context, messageID string, ttl time.Duration) error
	// Completed reports whether messageID is marked processed.
	Completed(ctx context.Context, messageID string) (bool, error)
}

// DefaultDedupeEntries is the bound of a MemoryDedupeStore made with 0.
const DefaultDedupeEntries = 100_000

// MemoryDedupeStore is an in-process DedupeStore. Entries expire after
// their ttl; when full, the oldest entry is dropped first, so the store
// never holds more than its bound.
type MemoryDedupeStore struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // of *dedupeEntry
	order   list.List                // oldest claim at the front
}

type dedupeEntry struct {
	id      string
	expires time.Time
	done    bool // marked processed (Complete)
}

// NewMemoryDedupeStore returns a store of at most maxEntries IDs
// (DefaultDedupeEntries when maxEntries <= 0).
func NewMemoryDedupeStore(maxEntries int) *MemoryDedupeStore {
	if maxEntries <= 0 {
		maxEntries = DefaultDedupeEntries
	}
	return &MemoryDedupeStore{max: maxEntries, now: time.Now, entries: make(map[string]*list.Element)}
}

// Claim implements DedupeStore.
func (s *MemoryDedupeStore) Claim(_ context.Context, messageID string, ttl time.Duration) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.entries[messageID]; ok {
		if now.Before(el.Value.(*dedupeEntry).expires) {
			return false, nil
		}
		s.remove(el)
	}
	s.makeRoom(now)
	s.entries[messageID] = s.order.PushBack(&dedupeEntry{id: messageID, expires: now.Add(ttl)})
	return true, nil
}

// makeRoom drops expired entries from the front, and makes room for one
// more entry: when the store is full, every expired entry goes first (a
// claim's lease is shorter than a processed message's mark, so an expired
// one can sit behind a live one), and only then the oldest live ones.
// s.mu must be held.
func (s *MemoryDedupeStore) makeRoom(now time.Time) {
	for el := s.order.Front(); el != nil && !now.Before(el.Value.(*dedupeEntry).expires); el = s.order.Front() {
		s.remove(el)
	}
	if len(s.entries) < s.max {
		return
	}
	for el := s.order.Front(); el != nil; {
		next := el.Next()
		if !now.Before(el.Value.(*dedupeEntry).expires) {
			s.remove(el)
		}
		el = next
	}
	for len(s.entries) >= s.max {
		s.remove(s.order.Front())
	}
}

// Release implements DedupeStore. A message marked processed (Complete)
// stays marked.
func (s *MemoryDedupeStore) Release(_ context.Context, messageID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.entries[messageID]; ok && !el.Value.(*dedupeEntry).done {
		s.remove(el)
	}
	return nil
}

// Complete implements DedupeCompleter. A message whose claim was dropped
// (expired, or pushed out by the bound) is recorded again, as processed.
func (s *MemoryDedupeStore) Complete(_ context.Context, messageID string, ttl time.Duration) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.entries[messageID]; ok {
		s.remove(el)
	}
	s.makeRoom(now)
	s.entries[messageID] = s.order.PushBack(&dedupeEntry{id: messageID, expires: now.Add(ttl), done: true})
	return nil
}

// Completed implements DedupeCompleter.
func (s *MemoryDedupeStore) Completed(_ context.Context, messageID string) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.entries[messageID]
	if !ok {
		return false, nil
	}
	e := el.Value.(*dedupeEntry)
	return e.done && now.Before(e.expires), nil
}

// Len returns the number of IDs held, expired ones included until they are
// swept.
func (s *MemoryDedupeStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

func (s *MemoryDedupeStore) remove(el *list.Element) {
	s.order.Remove(el)
	delete(s.entries, el.Value.(*dedupeEntry).id)
}
