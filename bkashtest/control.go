package bkashtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartdairy/bkash-go"
)

// ControlPrefix starts every path of the control API, which test suites in
// any language use to play the customer, inject faults, read the fake's state
// and move its clock (see docs/fake.md). bKash's own paths start with
// /v1.2.0-beta/, /v2/ or /checkout, so they cannot collide with it.
const ControlPrefix = "/_bkashtest/"

// CertPath is the control path that serves the certificate of the server's
// SNS signer (Server.Signer) in PEM form. The notifications name an
// SNS-shaped SigningCertURL; a verifier is pointed at this path through its
// certificate-fetch hook (WithCertFetcher in Go), never by loosening its
// certificate-URL rules.
const CertPath = ControlPrefix + "sns/cert.pem"

// control is the state the control API adds to a Server.
type control struct {
	offsetNS     atomic.Int64      // added to the configured clock
	startWallets map[string]wallet // the wallets at start, for Reset

	signerOnce sync.Once
	signer     *SNSSigner
}

func newControl(cfg config) *control {
	c := &control{startWallets: make(map[string]wallet, len(cfg.wallets)), signer: cfg.signer}
	for n, w := range cfg.wallets {
		c.startWallets[n] = *w
	}
	return c
}

func (c *control) offset() time.Duration { return time.Duration(c.offsetNS.Load()) }

// Now returns the server's time: its clock (WithClock, time.Now by default)
// moved by AdvanceClock and SetClock.
func (s *Server) Now() time.Time { return s.now() }

// AdvanceClock moves the server's time forward by d (backward when d is
// negative), on top of its clock: tokens, the 24-hour payment expiry, refund
// windows and timestamps all follow.
func (s *Server) AdvanceClock(d time.Duration) { s.ctl.offsetNS.Add(int64(d)) }

// SetClock makes the server's time read t now, and move on from there at the
// pace of its clock.
func (s *Server) SetClock(t time.Time) {
	s.ctl.offsetNS.Store(int64(t.Sub(s.cfg.clock())))
}

// Signer returns the SNS signer of the server: the one given to
// WithSNSSigner, else the signer of the first WithWebhook, else one created
// on first use. It signs the notifications of Server.Notification, and its
// certificate is served at CertPath.
func (s *Server) Signer() *SNSSigner {
	s.ctl.signerOnce.Do(func() {
		if s.ctl.signer != nil {
			return
		}
		for _, h := range s.hooks {
			if e, ok := h.(*emitter); ok {
				s.ctl.signer = e.signer
				return
			}
		}
		signer, err := NewSNSSigner()
		if err != nil {
			panic("bkashtest: creating the SNS signer: " + err.Error()) // crypto/rand failed
		}
		s.ctl.signer = signer
	})
	return s.ctl.signer
}

// Notification returns a signed SNS Notification body for the completed
// payment paymentID, as bKash's webhook would post it (signed by Signer,
// published at the server's time). It fails for an unknown paymentID
// (ErrUnknownPayment) and a payment whose money has not moved.
func (s *Server) Notification(paymentID string) ([]byte, error) {
	st, ok := s.Payment(paymentID)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w %q", ErrUnknownPayment, paymentID)
	case st.Status != statusCompleted || st.TrxID == "":
		return nil, &stateError{paymentID, "is " + orNone(st.Status) + ": only a completed payment (executed sale or captured authorization) has a notification"}
	}
	n := completion{payment: st, merchantName: s.cfg.merchantName, shortCode: s.cfg.shortCode}
	return s.Signer().NotificationAt(ipnMessage(n), s.now())
}

func orNone(s string) string {
	if s == "" {
		return "not executed"
	}
	return s
}

// Refund returns the refund whose refund trxID is refundTrxID, and whether
// it exists.
func (s *Server) Refund(refundTrxID string) (RefundState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rf := s.refundTrx[refundTrxID]
	if rf == nil {
		return RefundState{}, false
	}
	return RefundState{
		RefundTrxID: rf.trxID, OriginalTrxID: rf.payment.trxID, PaymentID: rf.payment.id,
		Amount: rf.amount, SKU: rf.sku, Reason: rf.reason, API: rf.api, CompletedAt: rf.completed,
	}, true
}

// ClearFaults drops the faults injected for ops that have not fired yet (for
// every operation when ops is empty) and reports how many were dropped.
func (s *Server) ClearFaults(ops ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for op, q := range s.faults {
		if len(ops) == 0 || slices.Contains(ops, op) {
			n += len(q)
			delete(s.faults, op)
		}
	}
	return n
}

// Reset returns the server to its state at start: no payments, agreements,
// refunds, faults or webhook deliveries, counters at zero, wallets at their
// starting balances, the clock unmoved. Issued tokens stay valid, so that
// clients need no new grant (bKash allows two an hour); ExpireTokens ends
// them. With a state file (WithStateFile) the reset is recorded in it.
func (s *Server) Reset() { s.reset(false) }

func (s *Server) reset(forgetTokens bool) {
	s.mu.Lock()
	clear(s.payments)
	clear(s.agreements)
	clear(s.trx)
	clear(s.refundTrx)
	clear(s.faults)
	clear(s.received)
	clear(s.applied)
	if forgetTokens {
		clear(s.idTokens)
		clear(s.refreshTokens)
	}
	s.wallets = make(map[string]*wallet, len(s.ctl.startWallets))
	for n, w := range s.ctl.startWallets {
		s.wallets[n] = &wallet{balance: w.balance, blocked: w.blocked}
	}
	s.ctl.offsetNS.Store(0)
	s.saveResetLocked() // one record: a crash leaves the old state or the new one
	s.mu.Unlock()
	for _, h := range s.hooks {
		if e, ok := h.(*emitter); ok {
			e.mu.Lock()
			e.done = nil
			e.mu.Unlock()
		}
	}
}

// controlRoute is one route of the control API.
type controlRoute struct {
	method  string
	pattern string // net/http pattern, below ControlPrefix
	handle  func(s *Server, w http.ResponseWriter, r *http.Request) error
}

// controlRoutes lists the control API; docs/fake.openapi.json describes
// exactly these (a test checks it).
var controlRoutes = []controlRoute{
	{"GET", "info", (*Server).ctlInfo},
	{"GET", "payments/{paymentID}", (*Server).ctlPayment},
	{"POST", "payments/{paymentID}/approve", (*Server).ctlApprove},
	{"POST", "payments/{paymentID}/cancel", (*Server).ctlCancel},
	{"POST", "payments/{paymentID}/notification", (*Server).ctlNotification},
	{"GET", "agreements/{agreementID}", (*Server).ctlAgreement},
	{"GET", "refunds/{refundTrxID}", (*Server).ctlRefund},
	{"GET", "wallets/{msisdn}", (*Server).ctlWallet},
	{"GET", "faults", (*Server).ctlFaults},
	{"POST", "faults", (*Server).ctlInject},
	{"DELETE", "faults", (*Server).ctlClearFaults},
	{"DELETE", "faults/{operation}", (*Server).ctlClearFaults},
	{"GET", "counters", (*Server).ctlCounters},
	{"POST", "tokens/expire", (*Server).ctlExpireTokens},
	{"GET", "clock", (*Server).ctlClock},
	{"POST", "clock/advance", (*Server).ctlAdvance},
	{"POST", "clock/set", (*Server).ctlSet},
	{"POST", "reset", (*Server).ctlReset},
	{"GET", "webhooks", (*Server).ctlWebhooks},
	{"GET", "sns/cert.pem", (*Server).ctlCert},
}

// mountControl adds the control API to mux.
func (s *Server) mountControl(mux *http.ServeMux) {
	paths := http.NewServeMux() // the paths alone, to tell 405 from 404
	allowed := map[string][]string{}
	for _, rt := range controlRoutes {
		mux.Handle(rt.method+" "+ControlPrefix+rt.pattern, s.controlHandler(rt))
		p := ControlPrefix + rt.pattern
		if _, ok := allowed[p]; !ok {
			paths.Handle(p, http.NotFoundHandler())
		}
		allowed[p] = append(allowed[p], rt.method)
	}
	mux.HandleFunc(ControlPrefix, func(w http.ResponseWriter, r *http.Request) {
		if _, p := paths.Handler(r); p != "" {
			w.Header().Set("Allow", strings.Join(allowed[p], ", "))
			writeControlError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed[p], ", ")))
			return
		}
		writeControlError(w, http.StatusNotFound, fmt.Sprintf("%s %s: no such control route (see docs/fake.md)", r.Method, r.URL.Path))
	})
}

// controlError is an error with the HTTP status it answers.
type controlError struct {
	status int
	msg    string
}

func (e *controlError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &controlError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &controlError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func (s *Server) controlHandler(rt controlRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := rt.handle(s, w, r)
		if err == nil {
			return
		}
		var ce *controlError
		var se *stateError
		switch {
		case errors.As(err, &ce):
			writeControlError(w, ce.status, ce.msg)
		case errors.Is(err, ErrUnknownPayment):
			writeControlError(w, http.StatusNotFound, err.Error())
		case errors.As(err, &se):
			writeControlError(w, http.StatusConflict, err.Error())
		default:
			writeControlError(w, http.StatusInternalServerError, err.Error())
		}
	})
}

// writeControlJSON answers v as indented JSON (people read it with curl).
func writeControlJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// controlErrorBody is every error answer of the control API.
type controlErrorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func writeControlError(w http.ResponseWriter, status int, msg string) {
	_ = writeControlJSON(w, status, controlErrorBody{Error: msg, Status: status})
}

// decodeControl reads a JSON object body into v; an empty body leaves v as
// it is when optional. Unknown fields are refused, to catch typos
// ("afterApply" for "after_apply") that would silently do nothing.
func decodeControl(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return badRequest("reading the body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return badRequest("%s %s needs a JSON object body", r.Method, r.URL.Path)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the body is not the JSON object expected: %v", err)
	}
	if dec.More() {
		return badRequest("the body holds more than one JSON value")
	}
	return nil
}

// jsonTime formats a time for the control API: RFC 3339 in UTC, "" when zero.
func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Views: the JSON the control API answers.

type paymentView struct {
	PaymentID      string       `json:"payment_id"`
	Mode           string       `json:"mode"`
	Intent         string       `json:"intent,omitempty"`
	Amount         bkash.Amount `json:"amount"`
	Currency       string       `json:"currency,omitempty"`
	InvoiceNumber  string       `json:"invoice_number,omitempty"`
	PayerReference string       `json:"payer_reference,omitempty"`
	CallbackURL    string       `json:"callback_url,omitempty"`
	AgreementID    string       `json:"agreement_id,omitempty"`
	Status         string       `json:"status"`
	CustomerStatus string       `json:"customer_status,omitempty"`
	Wallet         string       `json:"wallet,omitempty"`
	TrxID          string       `json:"trx_id,omitempty"`
	Signature      string       `json:"signature,omitempty"`
	BkashURL       string       `json:"bkash_url"`
	Refunded       bkash.Amount `json:"refunded"`
	CreatedAt      string       `json:"created_at"`
	ExecutedAt     string       `json:"executed_at,omitempty"`
	UpdatedAt      string       `json:"updated_at,omitempty"`
	Refunds        []refundView `json:"refunds"`
}

type refundView struct {
	RefundTrxID   string       `json:"refund_trx_id"`
	OriginalTrxID string       `json:"original_trx_id"`
	PaymentID     string       `json:"payment_id"`
	Amount        bkash.Amount `json:"amount"`
	SKU           string       `json:"sku,omitempty"`
	Reason        string       `json:"reason,omitempty"`
	API           string       `json:"api"`
	CompletedAt   string       `json:"completed_at"`
}

func viewRefund(rf RefundState) refundView {
	return refundView{
		RefundTrxID: rf.RefundTrxID, OriginalTrxID: rf.OriginalTrxID, PaymentID: rf.PaymentID,
		Amount: rf.Amount, SKU: rf.SKU, Reason: rf.Reason, API: rf.API, CompletedAt: jsonTime(rf.CompletedAt),
	}
}

func (s *Server) paymentView(id string) (paymentView, error) {
	p, ok := s.Payment(id)
	if !ok {
		return paymentView{}, notFound("no payment %q", id)
	}
	v := paymentView{
		PaymentID: p.PaymentID, Mode: p.Mode, Intent: p.Intent, Amount: p.Amount, Currency: p.Currency,
		InvoiceNumber: p.InvoiceNumber, PayerReference: p.PayerReference, CallbackURL: p.CallbackURL,
		AgreementID: p.AgreementID, Status: p.Status, CustomerStatus: p.CustomerStatus, Wallet: p.Wallet,
		TrxID: p.TrxID, Signature: p.Signature, BkashURL: p.BkashURL, Refunded: p.Refunded,
		CreatedAt: jsonTime(p.CreatedAt), ExecutedAt: jsonTime(p.ExecutedAt), UpdatedAt: jsonTime(p.UpdatedAt),
		Refunds: []refundView{},
	}
	if p.TrxID != "" {
		for _, rf := range s.RefundsOf(p.TrxID) {
			v.Refunds = append(v.Refunds, viewRefund(rf))
		}
	}
	return v, nil
}

func (s *Server) ctlPayment(w http.ResponseWriter, r *http.Request) error {
	v, err := s.paymentView(r.PathValue("paymentID"))
	if err != nil {
		return err
	}
	return writeControlJSON(w, http.StatusOK, v)
}

func (s *Server) ctlApprove(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Wallet string `json:"wallet"`
	}
	if err := decodeControl(w, r, &in, true); err != nil {
		return err
	}
	id := r.PathValue("paymentID")
	p, ok := s.Payment(id)
	if !ok {
		return notFound("no payment %q", id)
	}
	if in.Wallet == "" && p.Mode != modeWithAgreement {
		in.Wallet = payingWallets[0]
	}
	if in.Wallet != "" && !isWalletNumber(in.Wallet) {
		return badRequest("wallet %q is not a wallet number (01XXXXXXXXX)", in.Wallet)
	}
	if err := s.Approve(id, in.Wallet); err != nil {
		return err
	}
	return s.ctlPayment(w, r)
}

func (s *Server) ctlCancel(w http.ResponseWriter, r *http.Request) error {
	if err := s.Cancel(r.PathValue("paymentID")); err != nil {
		return err
	}
	return s.ctlPayment(w, r)
}

func (s *Server) ctlNotification(w http.ResponseWriter, r *http.Request) error {
	body, err := s.Notification(r.PathValue("paymentID"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

func (s *Server) ctlAgreement(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("agreementID")
	ag, ok := s.Agreement(id)
	if !ok {
		return notFound("no agreement %q", id)
	}
	return writeControlJSON(w, http.StatusOK, struct {
		AgreementID    string `json:"agreement_id"`
		PaymentID      string `json:"payment_id"`
		PayerReference string `json:"payer_reference,omitempty"`
		Wallet         string `json:"wallet,omitempty"`
		Status         string `json:"status"`
		CreatedAt      string `json:"created_at"`
		ExecutedAt     string `json:"executed_at,omitempty"`
		CancelledAt    string `json:"cancelled_at,omitempty"`
	}{ag.AgreementID, ag.PaymentID, ag.PayerReference, ag.Wallet, ag.Status,
		jsonTime(ag.CreatedAt), jsonTime(ag.ExecutedAt), jsonTime(ag.CancelledAt)})
}

func (s *Server) ctlRefund(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("refundTrxID")
	rf, ok := s.Refund(id)
	if !ok {
		return notFound("no refund with trxID %q", id)
	}
	return writeControlJSON(w, http.StatusOK, viewRefund(rf))
}

func (s *Server) ctlWallet(w http.ResponseWriter, r *http.Request) error {
	n := r.PathValue("msisdn")
	s.mu.Lock()
	wl := s.wallets[n]
	var v struct {
		MSISDN  string       `json:"msisdn"`
		Balance bkash.Amount `json:"balance"`
		Blocked bool         `json:"blocked"`
	}
	if wl != nil {
		v.MSISDN, v.Balance, v.Blocked = n, wl.balance, wl.blocked
	}
	s.mu.Unlock()
	if wl == nil {
		return notFound("no wallet %q", n)
	}
	return writeControlJSON(w, http.StatusOK, v)
}

// faultJSON is a Fault in the control API: durations are Go duration
// strings ("1.5s", "2m").
type faultJSON struct {
	Operation  string `json:"operation"`
	Times      int    `json:"times,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	HTTPStatus int    `json:"http_status,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	Body       string `json:"body,omitempty"`
	Delay      string `json:"delay,omitempty"`
	Drop       bool   `json:"drop,omitempty"`
	AfterApply bool   `json:"after_apply,omitempty"`
	// Remaining is how many calls the fault still affects (answers only).
	Remaining int `json:"remaining,omitempty"`
}

func faultOut(op string, f Fault, remaining int) faultJSON {
	out := faultJSON{
		Operation: op, Times: max(f.Times, 1), Code: f.Code, Message: f.Message, HTTPStatus: f.HTTPStatus,
		Body: f.Body, Drop: f.Drop, AfterApply: f.AfterApply, Remaining: remaining,
	}
	if f.RetryAfter > 0 {
		out.RetryAfter = f.RetryAfter.String()
	}
	if f.Delay > 0 {
		out.Delay = f.Delay.String()
	}
	return out
}

func parseDuration(field, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, badRequest("%s: %q is not a non-negative duration such as \"1.5s\" or \"2m\"", field, v)
	}
	return d, nil
}

// fault checks the JSON form and converts it.
func (in faultJSON) fault() (Fault, error) {
	if !slices.Contains(ops, in.Operation) {
		return Fault{}, badRequest("operation %q is not one of %s", in.Operation, strings.Join(ops, ", "))
	}
	f := Fault{Times: in.Times, Code: in.Code, Message: in.Message, HTTPStatus: in.HTTPStatus, Body: in.Body, Drop: in.Drop, AfterApply: in.AfterApply}
	var err error
	if f.RetryAfter, err = parseDuration("retry_after", in.RetryAfter); err != nil {
		return Fault{}, err
	}
	if f.Delay, err = parseDuration("delay", in.Delay); err != nil {
		return Fault{}, err
	}
	switch {
	case in.Times < 0:
		return Fault{}, badRequest("times: %d is negative (0 or 1 mean once)", in.Times)
	case in.HTTPStatus != 0 && (in.HTTPStatus < 100 || in.HTTPStatus > 599):
		return Fault{}, badRequest("http_status: %d is not an HTTP status", in.HTTPStatus)
	case strings.ContainsAny(in.Code, "\r\n\t\"\\"):
		return Fault{}, badRequest("code: %q is not a bKash code", in.Code)
	case f.RetryAfter > 0 && in.HTTPStatus == 0 && in.Body == "":
		return Fault{}, badRequest("retry_after goes with http_status (a Retry-After header on that answer)")
	case in.Message != "" && in.Code == "":
		return Fault{}, badRequest("message goes with code")
	case !f.answers() && f.Delay == 0:
		return Fault{}, badRequest("the fault changes nothing: set code, http_status, body, delay or drop")
	}
	return f, nil
}

func (s *Server) ctlInject(w http.ResponseWriter, r *http.Request) error {
	var in faultJSON
	if err := decodeControl(w, r, &in, false); err != nil {
		return err
	}
	if in.Remaining != 0 {
		return badRequest("remaining is an answer field; use times")
	}
	f, err := in.fault()
	if err != nil {
		return err
	}
	s.Inject(in.Operation, f)
	return writeControlJSON(w, http.StatusCreated, faultOut(in.Operation, f, max(f.Times, 1)))
}

func (s *Server) ctlFaults(w http.ResponseWriter, _ *http.Request) error {
	out := struct {
		Faults []faultJSON `json:"faults"`
	}{Faults: []faultJSON{}}
	s.mu.Lock()
	for _, op := range ops {
		for _, pf := range s.faults[op] {
			out.Faults = append(out.Faults, faultOut(op, pf.Fault, pf.left))
		}
	}
	s.mu.Unlock()
	return writeControlJSON(w, http.StatusOK, out)
}

func (s *Server) ctlClearFaults(w http.ResponseWriter, r *http.Request) error {
	var opsToClear []string
	if op := r.PathValue("operation"); op != "" {
		if !slices.Contains(ops, op) {
			return notFound("operation %q is not one of %s", op, strings.Join(ops, ", "))
		}
		opsToClear = []string{op}
	}
	n := s.ClearFaults(opsToClear...)
	return writeControlJSON(w, http.StatusOK, struct {
		Cleared int `json:"cleared"`
	}{n})
}

func (s *Server) ctlCounters(w http.ResponseWriter, _ *http.Request) error {
	out := struct {
		Received map[string]int `json:"received"`
		Applied  map[string]int `json:"applied"`
	}{map[string]int{}, map[string]int{}}
	s.mu.Lock()
	for _, op := range ops {
		out.Received[op] = s.received[op]
		out.Applied[op] = s.applied[op]
	}
	s.mu.Unlock()
	return writeControlJSON(w, http.StatusOK, out)
}

func (s *Server) ctlExpireTokens(w http.ResponseWriter, _ *http.Request) error {
	s.mu.Lock()
	n := len(s.idTokens)
	s.mu.Unlock()
	s.ExpireTokens()
	return writeControlJSON(w, http.StatusOK, struct {
		Expired int `json:"expired"`
	}{n})
}

type clockView struct {
	Now    string `json:"now"`
	Offset string `json:"offset"`
}

func (s *Server) ctlClock(w http.ResponseWriter, _ *http.Request) error {
	return writeControlJSON(w, http.StatusOK, clockView{Now: jsonTime(s.now()), Offset: s.ctl.offset().String()})
}

func (s *Server) ctlAdvance(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		By string `json:"by"`
	}
	if err := decodeControl(w, r, &in, false); err != nil {
		return err
	}
	d, err := time.ParseDuration(in.By)
	if err != nil {
		return badRequest("by: %q is not a duration such as \"25h\" or \"-90s\"", in.By)
	}
	s.AdvanceClock(d)
	return s.ctlClock(w, r)
}

func (s *Server) ctlSet(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Now string `json:"now"`
	}
	if err := decodeControl(w, r, &in, false); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, in.Now)
	if err != nil {
		return badRequest("now: %q is not an RFC 3339 time such as \"2026-12-01T10:00:00+06:00\"", in.Now)
	}
	s.SetClock(t)
	return s.ctlClock(w, r)
}

func (s *Server) ctlReset(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Tokens bool `json:"tokens"` // forget issued tokens too
	}
	if err := decodeControl(w, r, &in, true); err != nil {
		return err
	}
	s.reset(in.Tokens)
	return writeControlJSON(w, http.StatusOK, struct {
		Reset  bool `json:"reset"`
		Tokens bool `json:"tokens_forgotten"`
	}{true, in.Tokens})
}

func (s *Server) ctlWebhooks(w http.ResponseWriter, _ *http.Request) error {
	type deliveryView struct {
		MessageID  string `json:"message_id"`
		TrxID      string `json:"trx_id"`
		Attempts   int    `json:"attempts"`
		StatusCode int    `json:"status_code,omitempty"`
		Error      string `json:"error,omitempty"`
	}
	out := struct {
		Deliveries []deliveryView `json:"deliveries"`
	}{Deliveries: []deliveryView{}}
	for _, d := range s.WebhookDeliveries() {
		v := deliveryView{MessageID: d.MessageID, TrxID: d.TrxID, Attempts: d.Attempts, StatusCode: d.StatusCode}
		if d.Err != nil {
			v.Error = d.Err.Error()
		}
		out.Deliveries = append(out.Deliveries, v)
	}
	return writeControlJSON(w, http.StatusOK, out)
}

func (s *Server) ctlCert(w http.ResponseWriter, _ *http.Request) error {
	pem := s.Signer().CertificatePEM()
	h := w.Header()
	h.Set("Content-Type", "application/x-pem-file")
	h.Set("Content-Length", strconv.Itoa(len(pem)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pem)
	return nil
}

// Info is what GET /_bkashtest/info answers: how to talk to this fake.
type Info struct {
	BaseURL       string      `json:"base_url"`
	Credentials   InfoCreds   `json:"credentials"`
	TokenLifetime string      `json:"token_lifetime"`
	RefundAPIs    []string    `json:"refund_apis"`
	Operations    []string    `json:"operations"`
	Wallets       InfoWallets `json:"wallets"`
	SNS           InfoSNS     `json:"sns"`
	WebhookURLs   []string    `json:"webhook_urls"`
	Now           string      `json:"now"`
}

// InfoCreds are the credentials the fake accepts. They are the fake's own,
// never a merchant's, so the control API shows them.
type InfoCreds struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	AppKey    string `json:"app_key"`
	AppSecret string `json:"app_secret"`
}

// InfoWallets names the customer wallets and the codes the checkout page
// accepts.
type InfoWallets struct {
	Paying              []string `json:"paying"`
	InsufficientBalance string   `json:"insufficient_balance"`
	DebitBlocked        string   `json:"debit_blocked"`
	OTP                 string   `json:"otp"`
	PIN                 string   `json:"pin"`
}

// InfoSNS says how the fake signs webhooks: the topic, the SigningCertURL
// its messages carry, and the control path that serves that certificate.
type InfoSNS struct {
	TopicARN       string `json:"topic_arn"`
	SigningCertURL string `json:"signing_cert_url"`
	CertPath       string `json:"cert_path"`
}

// Info describes the server for clients in other processes.
func (s *Server) Info() Info {
	signer := s.Signer()
	c := s.cfg.creds
	in := Info{
		BaseURL:       s.URL,
		Credentials:   InfoCreds{c.Username, string(c.Password), c.AppKey, string(c.AppSecret)},
		TokenLifetime: s.cfg.tokenLifetime.String(),
		Operations:    Operations(),
		SNS:           InfoSNS{TopicARN: signer.TopicARN(), SigningCertURL: signer.CertURL(), CertPath: CertPath},
		WebhookURLs:   []string{},
		Now:           jsonTime(s.now()),
	}
	for _, api := range []bkash.RefundAPI{bkash.RefundV1, bkash.RefundV2} {
		if s.cfg.refundAPIs == nil || slices.Contains(s.cfg.refundAPIs, api) {
			in.RefundAPIs = append(in.RefundAPIs, api.String())
		}
	}
	s.mu.Lock()
	for _, n := range payingWallets {
		if w := s.wallets[n]; w != nil && !w.blocked {
			in.Wallets.Paying = append(in.Wallets.Paying, n)
		}
	}
	var extra []string // added with WithWallet
	for n, w := range s.wallets {
		if !w.blocked && w.balance > 0 && !slices.Contains(payingWallets, n) {
			extra = append(extra, n)
		}
	}
	slices.Sort(extra)
	in.Wallets.Paying = append(in.Wallets.Paying, extra...)
	s.mu.Unlock()
	in.Wallets.InsufficientBalance, in.Wallets.DebitBlocked = WalletInsufficientBalance, WalletDebitBlocked
	in.Wallets.OTP, in.Wallets.PIN = OTP, PIN
	for _, h := range s.hooks {
		if e, ok := h.(*emitter); ok {
			in.WebhookURLs = append(in.WebhookURLs, e.url)
		}
	}
	return in
}

func (s *Server) ctlInfo(w http.ResponseWriter, _ *http.Request) error {
	return writeControlJSON(w, http.StatusOK, s.Info())
}
