package bkashtest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Webhook delivery limits: SNS retries failed deliveries; the fake retries a
// little, quickly, so that Close (which waits for deliveries) never waits
// more than a few seconds.
const (
	webhookTimeout  = 2 * time.Second
	webhookAttempts = 3
	webhookBackoff  = 50 * time.Millisecond
	// transactionTypeAPI is bKash's IPN code for a payment via API.
	transactionTypeAPI = "10002294"
)

// WithWebhook makes the server post a signed SNS Notification to webhookURL
// for every payment whose money moved (a sale executed, an authorization
// captured), as bKash's instant payment notification does. signer signs
// them: point the SDK's WebhookVerifier at signer.CertFetcher() and
// signer.TopicARN(). Deliveries run in the background, timestamped with the
// server's clock; a non-2xx answer is retried twice; Close waits for them.
// Server.WebhookDeliveries reports what happened.
func WithWebhook(webhookURL string, signer *SNSSigner) Option {
	if signer == nil {
		panic("bkashtest: WithWebhook: nil signer")
	}
	if !validCallbackURL(webhookURL) {
		panic("bkashtest: WithWebhook: " + strconv.Quote(webhookURL) + " is not an absolute http(s) URL")
	}
	return func(c *config) {
		c.hooks = append(c.hooks, func() hook { return newEmitter(webhookURL, signer) })
	}
}

// WebhookDelivery is the outcome of one notification the server sent.
type WebhookDelivery struct {
	MessageID  string // the SNS MessageId
	TrxID      string // the payment's trxID
	Body       []byte // the SNS envelope posted
	Attempts   int
	StatusCode int   // the last HTTP status received; 0 if none
	Err        error // nil when the receiver answered 2xx
}

// WebhookDeliveries returns the notifications sent so far, in the order
// their delivery finished (after the last attempt). Deliveries still in
// progress are not included; poll, or Close the server first.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	var out []WebhookDelivery
	for _, h := range s.hooks {
		if e, ok := h.(*emitter); ok {
			e.mu.Lock()
			out = append(out, e.done...)
			e.mu.Unlock()
		}
	}
	return out
}

// emitter posts notifications to one URL.
type emitter struct {
	url    string
	signer *SNSSigner
	tr     *http.Transport
	hc     *http.Client

	mu   sync.Mutex
	done []WebhookDelivery
}

func newEmitter(u string, signer *SNSSigner) *emitter {
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		tr = dt.Clone() // the usual timeouts and proxy settings
	}
	return &emitter{
		url: u, signer: signer, tr: tr,
		hc: &http.Client{Transport: tr, Timeout: webhookTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // SNS does not follow redirects
		}},
	}
}

func (e *emitter) close() { e.tr.CloseIdleConnections() }

// ipnMessage is the inner Message of bKash's payment notification
// (docs/wire.md, "Webhooks").
func ipnMessage(n completion) []byte {
	p := n.payment
	o := newObject().
		str("dateTime", ipnTime(p.UpdatedAt)).
		str("debitMSISDN", "88"+p.Wallet).
		str("creditOrganizationName", n.merchantName).
		str("creditShortCode", n.shortCode).
		str("trxID", p.TrxID).
		str("transactionStatus", statusCompleted).
		str("transactionType", transactionTypeAPI).
		str("amount", cmp.Or(p.amountText, p.Amount.String())).
		str("currency", p.Currency).
		str("merchantInvoiceNumber", p.InvoiceNumber)
	return o.bytes()
}

func (e *emitter) completed(s *Server, n completion) {
	now := s.now()
	s.goBackground(func() {
		body, err := e.signer.NotificationAt(ipnMessage(n), now)
		d := WebhookDelivery{TrxID: n.payment.TrxID, Body: body}
		if err != nil {
			d.Err = fmt.Errorf("bkashtest: signing the notification: %w", err)
			e.record(d)
			return
		}
		var env struct {
			MessageID string `json:"MessageId"`
			TopicARN  string `json:"TopicArn"`
		}
		_ = json.Unmarshal(body, &env) // the signer's own output
		d.MessageID = env.MessageID
		e.deliver(d, env.TopicARN)
	})
}

// deliver posts d like SNS: a text/plain JSON body with the x-amz-sns-*
// headers. It retries a failure, even while the server closes, so that a
// test that closes the server right after a payment still sees the delivery.
func (e *emitter) deliver(d WebhookDelivery, topic string) {
	for {
		d.Attempts++
		d.StatusCode, d.Err = e.post(d, topic)
		if d.Err == nil || d.Attempts == webhookAttempts {
			break
		}
		time.Sleep(webhookBackoff * time.Duration(d.Attempts))
	}
	e.record(d)
}

func (e *emitter) post(d WebhookDelivery, topic string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("User-Agent", "Amazon Simple Notification Service Agent")
	h.Set("x-amz-sns-message-type", "Notification")
	h.Set("x-amz-sns-message-id", d.MessageID)
	h.Set("x-amz-sns-topic-arn", topic)
	resp, err := e.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, errors.New("bkashtest: webhook answered " + resp.Status)
	}
	return resp.StatusCode, nil
}

func (e *emitter) record(d WebhookDelivery) {
	e.mu.Lock()
	e.done = append(e.done, d)
	e.mu.Unlock()
}
