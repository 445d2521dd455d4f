package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smartdairy/bkash-go"
)

// The audit trail: api_log keeps one row per HTTP attempt to bKash, with
// the request and response bodies redacted (no password, app key or secret,
// no token, no callback key) and wallet numbers masked; webhook_log keeps
// one row per webhook message received, verified or not. Both are what a
// merchant shows bKash in a dispute.

// APILogEntry is one row of api_log.
type APILogEntry struct {
	ID           int64
	At           time.Time
	Op           string // e.g. "payment.execute"
	Endpoint     string // the URL path called
	HTTPStatus   int    // 0 when no answer arrived
	Code         string // bKash's statusCode or errorCode, when the answer had one
	Duration     time.Duration
	Attempt      int // 1-based within one call of the shop (SDK replays count)
	Success      bool
	Error        string
	Reference    string // the paymentID, trxID, agreementID or invoice number the call names
	OrderID      string
	RequestBody  string // redacted
	ResponseBody string // redacted
}

// WebhookLogEntry is one row of webhook_log.
type WebhookLogEntry struct {
	ID          int64
	At          time.Time
	MessageID   string
	Type        string
	Verified    bool
	VerifyError string
	Payload     string // the notification, wallet numbers masked
	Status      string // "processed", "duplicate", "failed", "rejected", "ignored"
	Error       string
	RemoteAddr  string
	OrderID     string
	TrxID       string
}

// InsertAPILog appends e to api_log.
func (s *Store) InsertAPILog(ctx context.Context, e APILogEntry) error {
	_, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO api_log
	(at, op, endpoint, http_status, code, duration_us, attempt, success, error, reference, order_id, request_body, response_body)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		nanos(e.At), e.Op, e.Endpoint, e.HTTPStatus, e.Code, e.Duration.Microseconds(), e.Attempt, e.Success,
		storableText(e.Error), e.Reference, e.OrderID, storableText(e.RequestBody), storableText(e.ResponseBody))
	if err != nil {
		return fmt.Errorf("store: api_log: %w", err)
	}
	return nil
}

// InsertWebhookLog appends e to webhook_log and returns its ID.
func (s *Store) InsertWebhookLog(ctx context.Context, e WebhookLogEntry) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, s.d.rebind(`INSERT INTO webhook_log
	(at, message_id, type, verified, verify_error, payload, status, error, remote_addr, order_id, trx_id)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		nanos(e.At), storableText(e.MessageID), storableText(e.Type), e.Verified, storableText(e.VerifyError),
		storableText(e.Payload), e.Status, storableText(e.Error), e.RemoteAddr, e.OrderID, storableText(e.TrxID)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: webhook_log: %w", err)
	}
	return id, nil
}

// storableText makes s storable in a TEXT column of either database:
// PostgreSQL refuses a NUL byte and bytes that are not UTF-8, and a row
// refused is a message missing from the log. Text that reaches the logs may
// come from anyone (an unverified webhook body, an error quoting one).
func storableText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// logExcerpt is at most limit bytes of an untrusted body for the log, masked
// before it is cut (so that the cut cannot split a wallet number out of the
// mask's reach) and cut at a rune boundary.
func logExcerpt(b []byte, limit int) string {
	s := maskText(string(b))
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// FinishWebhookLog records how processing of webhook_log row id ended.
func (s *Store) FinishWebhookLog(ctx context.Context, id int64, status, errText, orderID string) error {
	_, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE webhook_log SET status = ?, error = ?, order_id = ? WHERE id = ?`), status, storableText(errText), orderID, id)
	if err != nil {
		return fmt.Errorf("store: webhook_log: %w", err)
	}
	return nil
}

// WebhookProcessed reports whether a delivery of messageID was processed
// already (SNS delivers at least once; a replica may have taken it).
func (s *Store) WebhookProcessed(ctx context.Context, messageID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM webhook_log WHERE message_id = ? AND status = 'processed'`), messageID).Scan(&n)
	return n > 0, err
}

// LogFilter selects audit rows. Empty fields select everything.
type LogFilter struct {
	OrderID   string
	PaymentID string // the reference of an API call; a webhook's order's attempts
	Outcome   string // "ok" or "failed"
	Limit     int    // 200 when zero
}

func (f LogFilter) limit() int {
	if f.Limit <= 0 || f.Limit > 1000 {
		return 200
	}
	return f.Limit
}

// APILogs returns the newest api_log rows matching f.
func (s *Store) APILogs(ctx context.Context, f LogFilter) ([]APILogEntry, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.OrderID != "" {
		// Calls made for the order, and reads of its payments made by the
		// reconciler (which runs outside any request for the order).
		where = append(where, `(order_id = ? OR reference IN (SELECT payment_id FROM attempts WHERE order_id = ?)
	OR reference IN (SELECT invoice FROM attempts WHERE order_id = ?) OR reference IN (SELECT trx_id FROM orders WHERE id = ?))`)
		args = append(args, f.OrderID, f.OrderID, f.OrderID, f.OrderID)
	}
	if f.PaymentID != "" {
		// A create names the invoice number; the paymentID comes with
		// bKash's answer.
		where = append(where, `(reference = ? OR reference IN (SELECT invoice FROM attempts WHERE payment_id = ?))`)
		args = append(args, f.PaymentID, f.PaymentID)
	}
	switch f.Outcome {
	case "ok":
		where = append(where, `success = ?`)
		args = append(args, true)
	case "failed":
		where = append(where, `success = ?`)
		args = append(args, false)
	}
	args = append(args, f.limit())
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT id, at, op, endpoint, http_status, code, duration_us, attempt, success, error, reference, order_id, request_body, response_body
	FROM api_log WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: api_log: %w", err)
	}
	defer rows.Close()
	var out []APILogEntry
	for rows.Next() {
		var e APILogEntry
		var at, us int64
		if err := rows.Scan(&e.ID, &at, &e.Op, &e.Endpoint, &e.HTTPStatus, &e.Code, &us, &e.Attempt, &e.Success, &e.Error,
			&e.Reference, &e.OrderID, &e.RequestBody, &e.ResponseBody); err != nil {
			return nil, err
		}
		e.At, e.Duration = fromNanos(at), time.Duration(us)*time.Microsecond
		out = append(out, e)
	}
	return out, rows.Err()
}

// WebhookLogs returns the newest webhook_log rows matching f.
func (s *Store) WebhookLogs(ctx context.Context, f LogFilter) ([]WebhookLogEntry, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.OrderID != "" {
		where = append(where, `order_id = ?`)
		args = append(args, f.OrderID)
	}
	if f.PaymentID != "" {
		where = append(where, `order_id IN (SELECT order_id FROM attempts WHERE payment_id = ?)`)
		args = append(args, f.PaymentID)
	}
	switch f.Outcome {
	case "ok":
		where = append(where, `status IN ('processed', 'duplicate', 'ignored')`)
	case "failed":
		where = append(where, `status IN ('failed', 'rejected')`)
	}
	args = append(args, f.limit())
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT id, at, message_id, type, verified, verify_error, payload, status, error, remote_addr, order_id, trx_id
	FROM webhook_log WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: webhook_log: %w", err)
	}
	defer rows.Close()
	var out []WebhookLogEntry
	for rows.Next() {
		var e WebhookLogEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.MessageID, &e.Type, &e.Verified, &e.VerifyError, &e.Payload, &e.Status, &e.Error,
			&e.RemoteAddr, &e.OrderID, &e.TrxID); err != nil {
			return nil, err
		}
		e.At = fromNanos(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// auditKey carries the order a call is made for in its context.
type auditKey struct{}

// auditContext marks the bKash calls made with ctx as made for orderID.
func auditContext(ctx context.Context, orderID string) context.Context {
	return context.WithValue(ctx, auditKey{}, orderID)
}

// AuditObserver is a bkash.Observer that writes api_log: one row per HTTP
// attempt, the call's outcome and, on its last attempt, the request and
// response bodies (the Client needs bkash.WithBodyLogging for those; the
// SDK has already redacted secrets and tokens and masked wallet numbers,
// and the observer redacts again, adding the callback key of a payment's
// callback URL). The order a call was made for comes from the call's
// context (see auditContext); the reconciler's reads are found by their
// reference.
//
// The row is written synchronously: an attempt is on record before the call
// returns, at the cost of one INSERT per attempt.
type AuditObserver struct {
	Store *Store
	// OnError receives failures to write a row (the call itself goes on).
	OnError func(error)
}

// ObserveAttempt implements bkash.Observer.
func (o *AuditObserver) ObserveAttempt(ev bkash.AttemptEvent) {
	e := APILogEntry{
		At:         ev.Start,
		Op:         ev.Op,
		HTTPStatus: ev.HTTPStatus,
		Code:       string(ev.Code),
		Duration:   ev.Duration,
		Attempt:    ev.Attempt,
		Reference:  ev.Ref,
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if u, err := url.Parse(ev.URL); err == nil {
		e.Endpoint = u.Path
	}
	if id, ok := ev.Context().Value(auditKey{}).(string); ok {
		e.OrderID = id
	}
	switch {
	case ev.Outcome != 0:
		// The call's last attempt: its outcome is the call's.
		e.Success = ev.Outcome == bkash.OutcomeOK
		if ev.CallErr != nil {
			e.Error = ev.Outcome.String() + ": " + maskText(ev.CallErr.Error())
		}
		e.RequestBody, e.ResponseBody = redactBody([]byte(ev.Request)), redactBody([]byte(ev.Response))
	default:
		e.Success = ev.Err == nil && ev.HTTPStatus == http.StatusOK && (e.Code == "" || e.Code == "0000")
		if ev.Err != nil {
			e.Error = maskText(ev.Err.Error())
		} else if !e.Success {
			e.Error = fmt.Sprintf("HTTP %d, code %q: attempted again", ev.HTTPStatus, e.Code)
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ev.Context()), 10*time.Second)
	defer cancel()
	if err := o.Store.InsertAPILog(ctx, e); err != nil && o.OnError != nil {
		o.OnError(err)
	}
}

// ObserveTokenRenewal implements bkash.Observer. The grant or refresh
// request itself is an attempt (op token.grant or token.refresh) and is
// logged by ObserveAttempt; a renewal refused by the budget sends nothing
// and is logged here.
func (o *AuditObserver) ObserveTokenRenewal(ev bkash.TokenRenewalEvent) {
	if !errors.Is(ev.Err, bkash.ErrTokenBudgetExceeded) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ev.Context()), 10*time.Second)
	defer cancel()
	e := APILogEntry{At: time.Now(), Op: "token." + ev.Kind, Attempt: 0, Error: maskText(ev.Err.Error())}
	if err := o.Store.InsertAPILog(ctx, e); err != nil && o.OnError != nil {
		o.OnError(err)
	}
}

// secretKeys are JSON members whose values never reach the log: the
// credentials, the tokens, and what a customer types.
var secretKeys = map[string]bool{
	"app_key": true, "app_secret": true, "appkey": true, "appsecret": true,
	"password": true, "username": true, "id_token": true, "refresh_token": true,
	"token": true, "authorization": true, "x-app-key": true, "otp": true, "pin": true,
}

// callbackKeyRE finds the per-attempt secret in a callback URL: a payment
// attempt's or a wallet link's.
var callbackKeyRE = regexp.MustCompile(`/bkash/(callback|agreement/callback)/[A-Za-z0-9_-]+`)

// digitRunRE finds whole runs of digits (with a leading "+", for +880...).
// A wallet number is a whole run: the same digits inside a longer run are
// part of something else, such as the epoch milliseconds at the end of a
// payment ID ("TR0011ro5LbR01765009179282"), which must stay readable.
var digitRunRE = regexp.MustCompile(`\+?[0-9]+`)

// walletRE matches a digit run that is a Bangladeshi wallet number:
// 01[3-9] and eight digits, optionally after the country code 88.
var walletRE = regexp.MustCompile(`^(?:\+?88)?01[3-9][0-9]{8}$`)

// maskText masks wallet numbers and callback keys in free text.
func maskText(s string) string {
	s = callbackKeyRE.ReplaceAllString(s, "/bkash/$1/[REDACTED]")
	return digitRunRE.ReplaceAllStringFunc(s, func(run string) string {
		if walletRE.MatchString(run) {
			return bkash.MaskMSISDN(run)
		}
		return run
	})
}

// redactBody returns a JSON body with every secret member replaced and
// wallet numbers masked. A body that is not JSON is reduced to its size
// (an HTML error page of a proxy says nothing worth keeping).
func redactBody(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Sprintf("[not JSON: %d bytes]", len(b))
	}
	out, err := json.Marshal(redactValue(v, false))
	if err != nil {
		return fmt.Sprintf("[unprintable: %d bytes]", len(b))
	}
	return string(out)
}

func redactValue(v any, secret bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = redactValue(val, secret || secretKeys[strings.ToLower(k)])
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactValue(x[i], secret)
		}
		return x
	case nil:
		return nil
	case string:
		if secret {
			return "[REDACTED]"
		}
		return maskText(x)
	default:
		if secret {
			return "[REDACTED]"
		}
		return x
	}
}
