package bkashtest

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"
)

// maxPageFailures is how many wrong submissions (wallet, OTP or PIN) the
// checkout page accepts before it sends the customer back with
// status=failure.
const maxPageFailures = 3

// Approve plays a customer who enters wallet, OTP and PIN correctly on the
// checkout page of paymentID (any mode), without a browser. For a mode-0001
// payment wallet may be "" (the agreement's wallet is used). Execute then
// succeeds, or answers 2023 for WalletInsufficientBalance and 2037 for
// WalletDebitBlocked, as bKash does.
//
// Approve fails for an unknown paymentID (ErrUnknownPayment), a wallet that
// is not a bKash wallet of the server, an expired payment, and one the
// customer already answered.
func (s *Server) Approve(paymentID, wallet string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pendingLocked(paymentID, now)
	if err != nil {
		return err
	}
	wallet, err = s.payingWalletLocked(p, wallet)
	if err != nil {
		return err
	}
	p.customer, p.wallet, p.updated = customerSuccess, wallet, now
	s.savePaymentLocked(p)
	return nil
}

// Cancel plays a customer who presses the cancel button on the checkout page
// of paymentID. Execute then answers 2056 (2054 for an agreement).
func (s *Server) Cancel(paymentID string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pendingLocked(paymentID, now)
	if err != nil {
		return err
	}
	p.customer, p.updated = customerCancel, now
	s.savePaymentLocked(p)
	return nil
}

// pendingLocked finds a payment that still waits for the customer.
func (s *Server) pendingLocked(paymentID string, now time.Time) (*payment, error) {
	p := s.payments[paymentID]
	switch {
	case p == nil:
		return nil, fmt.Errorf("%w %q", ErrUnknownPayment, paymentID)
	case p.customer != "":
		return nil, &stateError{paymentID, "the customer already answered (" + p.customer + ")"}
	case p.expired(now):
		return nil, &stateError{paymentID, "expired 24 hours after creation"}
	case p.mode != modeAgreement && p.status != statusInitiated:
		return nil, &stateError{paymentID, "is " + p.status}
	}
	return p, nil
}

// payingWalletLocked checks the wallet a customer approves p with.
func (s *Server) payingWalletLocked(p *payment, wallet string) (string, error) {
	if p.mode == modeWithAgreement {
		switch {
		case wallet == "":
			return p.agreement.wallet, nil
		case wallet != p.agreement.wallet:
			return "", &stateError{p.id, "wallet " + wallet + " does not hold agreement " + p.agreement.id}
		}
		return wallet, nil
	}
	if s.wallets[wallet] == nil {
		return "", &stateError{p.id, strconv.Quote(wallet) + " is not a bKash wallet (see bkashtest.PayingWallets)"}
	}
	return wallet, nil
}

// page is what the checkout template shows.
type page struct {
	Title      string
	Notice     string // a page without a form
	Error      string
	PaymentID  string
	Hash       string
	Merchant   string
	Amount     string
	Invoice    string
	Agreement  bool // mode 0000: the customer binds the wallet
	PINOnly    bool // mode 0001: the wallet is known; PIN only
	Wallet     string
	AttemptsOK int
}

var checkoutTemplate = template.Must(template.New("checkout").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem}
header{background:#e2136e;color:#fff;padding:.75rem 1rem;border-radius:.5rem}
label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.5rem;box-sizing:border-box}
.error{color:#b00020}button{margin:1rem .5rem 0 0;padding:.5rem 1rem}</style>
</head>
<body>
<header><strong>bKash</strong> (bkashtest)</header>
<main>
{{- if .Notice}}
<p id="notice">{{.Notice}}</p>
{{- else}}
<h1>{{.Merchant}}</h1>
{{- if .Agreement}}
<p id="summary">Link your bKash account to {{.Merchant}} for faster payments.</p>
{{- else}}
<p id="summary">Invoice <span id="invoice">{{.Invoice}}</span>: <strong id="amount">৳{{.Amount}}</strong></p>
{{- end}}
{{- if .Error}}
<p class="error" id="error" role="alert">{{.Error}} ({{.AttemptsOK}} attempts left)</p>
{{- end}}
<form method="post" action="/checkout" id="checkout">
<input type="hidden" name="paymentId" value="{{.PaymentID}}">
<input type="hidden" name="hash" value="{{.Hash}}">
{{- if .PINOnly}}
<p>Account <span id="account">{{.Wallet}}</span></p>
{{- else}}
<label for="wallet">Your bKash account number</label>
<input id="wallet" name="wallet" inputmode="numeric" autocomplete="tel" placeholder="e.g 01XXXXXXXXX" value="{{.Wallet}}">
<label for="otp">Verification code (sent to your phone)</label>
<input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code">
{{- end}}
<label for="pin">bKash PIN</label>
<input id="pin" name="pin" type="password" inputmode="numeric">
<button type="submit" id="confirm" name="action" value="confirm">Confirm</button>
<button type="submit" id="cancel" name="action" value="cancel" formnovalidate>Close</button>
</form>
{{- end}}
</main>
</body>
</html>
`))

func renderPage(w http.ResponseWriter, status int, pg page) {
	var buf bytes.Buffer
	if err := checkoutTemplate.Execute(&buf, pg); err != nil {
		http.Error(w, "bkashtest: checkout page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func notice(w http.ResponseWriter, status int, msg string) {
	renderPage(w, status, page{Title: "bKash Payment", Notice: msg})
}

// formPageLocked describes the form for p.
func (s *Server) formPageLocked(p *payment, errMsg string) page {
	pg := page{
		Title: "bKash Payment", PaymentID: p.id, Hash: p.hash,
		Merchant: s.cfg.merchantName, Amount: p.amountText, Invoice: p.invoice,
		Agreement: p.mode == modeAgreement, PINOnly: p.mode == modeWithAgreement,
		Error: errMsg, AttemptsOK: maxPageFailures - p.failures,
	}
	switch {
	case pg.PINOnly:
		pg.Wallet = p.agreement.wallet
	case isWalletNumber(p.payerRef):
		pg.Wallet = p.payerRef // bKash pre-fills a payerReference that is a wallet number
	}
	if pg.Agreement {
		pg.Title = "bKash Agreement"
	}
	return pg
}

// lockSession locks s.mu and returns the payment a checkout page request is
// about, still waiting for the customer. Otherwise it unlocks, answers the
// browser itself (an unknown link; a session that is over; an expired one,
// sent back to the merchant's failure callback) and returns nil.
func (s *Server) lockSession(w http.ResponseWriter, r *http.Request, paymentID, hash string, now time.Time) *payment {
	s.mu.Lock()
	p := s.sessionLocked(paymentID, hash)
	if p == nil {
		s.mu.Unlock()
		notice(w, http.StatusNotFound, "This payment link is not valid.")
		return nil
	}
	if _, err := s.pendingLocked(p.id, now); err != nil {
		expired := p.expired(now) && p.customer == ""
		target := callbackURL(p, customerFailure, true)
		s.mu.Unlock()
		if expired {
			http.Redirect(w, r, target, http.StatusSeeOther)
		} else {
			notice(w, http.StatusGone, "This payment session is over. You may close this page.")
		}
		return nil
	}
	return p
}

// sessionLocked finds the payment a checkout page request is about; the hash
// must be the one in its bkashURL.
func (s *Server) sessionLocked(paymentID, hash string) *payment {
	p := s.payments[paymentID]
	if p == nil || hash == "" || !equal(hash, p.hash) {
		return nil
	}
	return p
}

// checkoutPage serves GET /checkout: the hosted page at bkashURL.
func (s *Server) checkoutPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.now()
	p := s.lockSession(w, r, q.Get("paymentId"), q.Get("hash"), now)
	if p == nil {
		return
	}
	pg := s.formPageLocked(p, "")
	s.mu.Unlock()
	renderPage(w, http.StatusOK, pg)
}

// checkoutSubmit serves POST /checkout: the customer's answer.
func (s *Server) checkoutSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		notice(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	now := s.now()
	p := s.lockSession(w, r, r.PostForm.Get("paymentId"), r.PostForm.Get("hash"), now)
	if p == nil {
		return
	}
	if r.PostForm.Get("action") == "cancel" {
		p.customer, p.updated = customerCancel, now
		s.savePaymentLocked(p)
		target := callbackURL(p, customerCancel, true)
		s.mu.Unlock()
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	wallet, otp, pin := r.PostForm.Get("wallet"), r.PostForm.Get("otp"), r.PostForm.Get("pin")
	var problem string
	if p.mode == modeWithAgreement {
		wallet = p.agreement.wallet
	} else {
		switch {
		case s.wallets[wallet] == nil:
			problem = "Invalid wallet number"
		case otp != OTP:
			problem = "Wrong verification code"
		}
	}
	if problem == "" && pin != PIN {
		problem = "Wrong PIN"
	}
	if problem == "" {
		p.customer, p.wallet, p.updated = customerSuccess, wallet, now
		s.savePaymentLocked(p)
		target := callbackURL(p, customerSuccess, true)
		s.mu.Unlock()
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	p.failures++
	if p.failures >= maxPageFailures {
		p.customer, p.updated = customerFailure, now
	}
	s.savePaymentLocked(p)
	if p.customer == customerFailure {
		target := callbackURL(p, customerFailure, true)
		s.mu.Unlock()
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	pg := s.formPageLocked(p, problem)
	s.mu.Unlock()
	renderPage(w, http.StatusOK, pg)
}
