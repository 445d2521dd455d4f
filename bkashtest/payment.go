package bkashtest

import (
	"net/url"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
)

// Transaction and agreement states as bKash spells them.
const (
	statusInitiated  = "Initiated"
	statusCompleted  = "Completed"
	statusAuthorized = "Authorized"
	statusCancelled  = "Cancelled"
	// statusExpired is what the fake reports for a payment nobody executed
	// within 24 hours. bKash's own value is undocumented.
	statusExpired = "Expired"
)

// Customer outcomes on the checkout page, as in the callback's status parameter.
const (
	customerSuccess = "success"
	customerFailure = "failure"
	customerCancel  = "cancel"
)

const (
	intentSale          = "sale"
	intentAuthorization = "authorization"
	callbackAPIVersion  = "1.2.0-beta/"
	checkoutAPIVersion  = "v1.2.0-beta/"
)

// payment is one paymentID the server issued: a payment (mode 0011 or 0001)
// or an agreement creation (mode 0000).
type payment struct {
	id, mode, intent, currency string
	amount                     bkash.Amount
	amountText                 string // echoed exactly as the merchant sent it
	invoice, payerRef          string
	callbackURL, assocInfo     string
	hash, signature            string
	status                     string // transactionStatus (modes 0011, 0001)
	customer                   string // what the customer did on the page: "", success, failure, cancel
	wallet                     string // the wallet that approved
	failures                   int    // wrong wallet/OTP/PIN entries on the page
	trxID                      string
	created, executed, updated time.Time
	agreement                  *agreement // 0000: the agreement being created; 0001: the one paying
	refunds                    []*refund
	refunded                   bkash.Amount
}

// expired reports whether the payment can no longer be approved or executed.
func (p *payment) expired(now time.Time) bool {
	pending := p.status == statusInitiated
	if p.mode == modeAgreement {
		pending = p.agreement.status == statusInitiated
	}
	return pending && !now.Before(p.created.Add(paymentLifetime))
}

// txStatus is the transactionStatus a query reports.
func (p *payment) txStatus(now time.Time) string {
	if p.expired(now) {
		return statusExpired
	}
	return p.status
}

const (
	modeAgreement        = "0000"
	modeWithAgreement    = "0001"
	modeWithoutAgreement = "0011"
)

func resolveCreate(_ *Server, f fields) string {
	if mode, _ := f.str("mode"); mode == modeAgreement {
		return opAgreementCreate
	}
	return opPaymentCreate
}

func (s *Server) resolveExecute(f fields) string {
	id, _ := f.str("paymentID")
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.payments[id]; p != nil && p.mode == modeAgreement {
		return opAgreementExec
	}
	return opPaymentExecute
}

// create serves create: agreements (mode 0000) and payments (0001, 0011).
func (s *Server) create(c *call) reply {
	mode, err := c.f.str("mode")
	switch {
	case err != nil:
		return c.fail(bkash.CodeInvalidRequestBody)
	case mode == "":
		return c.fail(bkash.CodeMandatoryFieldMissing)
	case mode == modeAgreement:
		return s.createAgreement(c)
	case mode == modeWithAgreement || mode == modeWithoutAgreement:
		return s.createPayment(c, mode)
	}
	return c.fail(bkash.CodeInvalidMode)
}

// validReference applies bKash's rule for payerReference, merchantInvoiceNumber,
// sku and reason: at most 255 characters, none of < > &.
func validReference(s string) bool {
	return len([]rune(s)) <= 255 && !strings.ContainsAny(s, "<>&")
}

// validCallbackURL accepts an absolute http(s) URL.
func validCallbackURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= 2048
}

func (s *Server) createPayment(c *call, mode string) reply {
	v, err := c.f.strings("payerReference", "callbackURL", "agreementID", "amount", "currency",
		"intent", "merchantInvoiceNumber", "merchantAssociationInfo")
	if err != nil {
		return c.fail(bkash.CodeInvalidRequestBody)
	}
	payerRef, callback, agreementID, amountText, currency, intent, invoice, assoc :=
		v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
	switch {
	case callback == "" || amountText == "" || currency == "" || intent == "" || invoice == "",
		mode == modeWithoutAgreement && payerRef == "",
		mode == modeWithAgreement && agreementID == "":
		return c.fail(bkash.CodeMandatoryFieldMissing)
	}
	amount, err := bkash.ParseAmount(amountText)
	switch {
	case err != nil || amount < bkash.Taka(1):
		return c.fail(bkash.CodeInvalidAmount)
	case currency != "BDT":
		return c.fail(bkash.CodeInvalidCurrency)
	case intent != intentSale && intent != intentAuthorization:
		return c.fail(bkash.CodeInvalidIntent)
	case !validReference(invoice):
		return c.fail(bkash.CodeInvalidInvoiceNumber)
	case !validReference(payerRef):
		return c.fail(bkash.CodeInvalidPayerReference)
	case !validCallbackURL(callback):
		return c.fail(bkash.CodeInvalidCallbackURL)
	case len(assoc) > 255:
		return c.fail(bkash.CodeTLVFormatError)
	case mode == modeWithoutAgreement && agreementID != "":
		return c.fail(bkash.CodeInvalidMode)
	}
	p := &payment{
		mode: mode, intent: intent, currency: currency,
		amount: amount, amountText: amountText,
		invoice: invoice, payerRef: payerRef, callbackURL: callback, assocInfo: assoc,
		status: statusInitiated, created: c.now, updated: c.now,
	}
	s.mu.Lock()
	if mode == modeWithAgreement {
		ag := s.agreements[agreementID]
		switch {
		case ag == nil:
			s.mu.Unlock()
			return c.fail(bkash.CodeInvalidAgreementID)
		case ag.status != statusCompleted:
			s.mu.Unlock()
			return c.fail(bkash.CodeInvalidAgreementState)
		}
		p.agreement = ag
	}
	s.issueLocked(p, c.now)
	s.savePaymentLocked(p)
	s.mu.Unlock()

	o := newObject().
		str("paymentID", p.id).
		str("bkashURL", s.checkoutURL(p))
	addCallbackURLs(o, p)
	o.str("amount", p.amountText).
		str("intent", p.intent).
		str("currency", p.currency)
	if p.agreement != nil {
		o.str("agreementID", p.agreement.id)
	}
	o.str("paymentCreateTime", wireTime(p.created)).
		str("transactionStatus", statusInitiated).
		str("merchantInvoiceNumber", p.invoice)
	return success(o)
}

// issueLocked gives p its paymentID, hash and signature and records it.
func (s *Server) issueLocked(p *payment, now time.Time) {
	for {
		p.id = "TR" + p.mode + randomString(mixedAlnum, 7) + epochMillis(now)
		if _, taken := s.payments[p.id]; !taken {
			break
		}
	}
	p.hash = randomString(hashChars, 40) + epochMillis(now)
	p.signature = randomString(mixedAlnum, 10)
	s.payments[p.id] = p
}

// newTrxIDLocked returns an unused trxID: 10 upper-case alphanumerics.
func (s *Server) newTrxIDLocked() string {
	for {
		id := randomString(upperAlnum, 10)
		if s.trx[id] == nil && s.refundTrx[id] == nil {
			return id
		}
	}
}

// checkoutURL is the bkashURL of p: the fake's own hosted page.
func (s *Server) checkoutURL(p *payment) string {
	return s.URL + pathCheckout + "?paymentId=" + p.id + "&hash=" + p.hash +
		"&mode=" + p.mode + "&apiVersion=" + checkoutAPIVersion
}

func addCallbackURLs(o *object, p *payment) {
	o.str("callbackURL", p.callbackURL).
		str("successCallbackURL", callbackURL(p, customerSuccess, false)).
		str("failureCallbackURL", callbackURL(p, customerFailure, false)).
		str("cancelledCallbackURL", callbackURL(p, customerCancel, false))
}

// callbackURL is the merchant's callbackURL with bKash's parameters appended
// (with "&" when it already has a query). The browser redirect also carries
// apiVersion; the URLs listed in the create answer do not.
func callbackURL(p *payment, status string, withVersion bool) string {
	base, frag, hasFrag := strings.Cut(p.callbackURL, "#")
	var b strings.Builder
	b.WriteString(base)
	switch {
	case !strings.Contains(base, "?"):
		b.WriteByte('?')
	case !strings.HasSuffix(base, "?") && !strings.HasSuffix(base, "&"):
		b.WriteByte('&')
	}
	b.WriteString("paymentID=")
	b.WriteString(url.QueryEscape(p.id))
	b.WriteString("&status=")
	b.WriteString(status)
	b.WriteString("&signature=")
	b.WriteString(p.signature)
	if withVersion {
		b.WriteString("&apiVersion=")
		b.WriteString(callbackAPIVersion)
	}
	if hasFrag {
		b.WriteByte('#')
		b.WriteString(frag)
	}
	return b.String()
}

// paymentIDArg reads the mandatory paymentID member.
func paymentIDArg(c *call, key string) (string, reply, bool) {
	id, err := c.f.str(key)
	switch {
	case err != nil:
		return "", c.fail(bkash.CodeInvalidRequestBody), false
	case id == "":
		return "", c.fail(bkash.CodeMandatoryFieldMissing), false
	}
	return id, reply{}, true
}

// execute serves execute for payments and agreement creations alike: the
// paymentID says which.
func (s *Server) execute(c *call) reply {
	id, rep, ok := paymentIDArg(c, "paymentID")
	if !ok {
		return rep
	}
	s.mu.Lock()
	p := s.payments[id]
	switch {
	case p == nil:
		s.mu.Unlock()
		return c.fail(bkash.CodeInvalidPaymentID)
	case p.mode == modeAgreement:
		rep := s.executeAgreementLocked(c, p)
		s.mu.Unlock()
		return rep
	}
	code := s.executePaymentLocked(p, c.now)
	if code != "" {
		s.mu.Unlock()
		return c.fail(code)
	}
	snap := p.snapshot(c.now)
	completed := p.status == statusCompleted
	s.mu.Unlock()
	if completed {
		s.paymentCompleted(snap)
	}

	o := newObject().
		str("statusCode", "0000").
		str("statusMessage", "Successful").
		str("paymentID", snap.PaymentID)
	if snap.AgreementID != "" {
		o.str("agreementID", snap.AgreementID)
	}
	o.str("payerReference", snap.PayerReference).
		str("customerMsisdn", snap.Wallet).
		str("trxID", snap.TrxID).
		str("amount", snap.amountText).
		str("transactionStatus", snap.Status).
		str("paymentExecuteTime", wireTime(snap.ExecutedAt)).
		str("currency", snap.Currency).
		str("intent", snap.Intent).
		str("merchantInvoiceNumber", snap.InvoiceNumber)
	return okReply(o)
}

// executePaymentLocked moves the money of an approved payment, or says why not.
func (s *Server) executePaymentLocked(p *payment, now time.Time) bkash.ErrorCode {
	switch {
	case p.status != statusInitiated:
		return bkash.CodeExecutionAlreadyCompleted
	case p.expired(now), p.customer != customerSuccess:
		return bkash.CodeInvalidPaymentState
	case p.agreement != nil && p.agreement.status != statusCompleted:
		return bkash.CodeInvalidAgreementState
	}
	w := s.wallets[p.wallet]
	switch {
	case w == nil || w.blocked:
		return bkash.CodeDebitPartyBlocked
	case w.balance < p.amount:
		return bkash.CodeInsufficientBalance
	}
	w.balance -= p.amount
	p.trxID = s.newTrxIDLocked()
	s.trx[p.trxID] = p
	p.status = statusCompleted
	if p.intent == intentAuthorization {
		p.status = statusAuthorized
	}
	p.executed, p.updated = now, now
	s.savePaymentLocked(p, p.wallet)
	return ""
}

// queryPayment serves payment/status.
func (s *Server) queryPayment(c *call) reply {
	id, rep, ok := paymentIDArg(c, "paymentID")
	if !ok {
		return rep
	}
	s.mu.Lock()
	p := s.payments[id]
	if p == nil {
		s.mu.Unlock()
		return c.fail(bkash.CodeInvalidPaymentID)
	}
	if p.mode == modeAgreement {
		o := agreementQueryObject(p, c.now)
		s.mu.Unlock()
		return success(o)
	}
	snap := p.snapshot(c.now)
	s.mu.Unlock()

	o := newObject().
		str("paymentID", snap.PaymentID).
		str("mode", snap.Mode).
		str("paymentCreateTime", wireTime(snap.CreatedAt))
	if !snap.ExecutedAt.IsZero() {
		o.str("paymentExecuteTime", wireTime(snap.ExecutedAt))
	}
	o.str("amount", snap.amountText).
		str("currency", snap.Currency).
		str("intent", snap.Intent).
		str("merchantInvoice", snap.InvoiceNumber)
	if snap.AgreementID != "" {
		o.str("agreementID", snap.AgreementID)
	}
	o.opt("trxID", snap.TrxID).
		str("transactionStatus", snap.Status).
		str("verificationStatus", verification(snap.CustomerStatus)).
		str("statusCode", "0000").
		str("statusMessage", "Successful").
		str("payerReference", snap.PayerReference)
	return okReply(o)
}

// verification is bKash's verificationStatus: Complete once the customer
// finished wallet number, OTP and PIN.
func verification(customer string) string {
	if customer == customerSuccess {
		return "Complete"
	}
	return "Incomplete"
}

// transactionType is what search reports for checkout payments and refunds.
const (
	searchTypePayment = "bKash Tokenized Checkout via API"
	searchTypeRefund  = "bKash Tokenized Checkout Refund via API"
)

// search serves general/searchTransaction for payment and refund trxIDs.
func (s *Server) search(c *call) reply {
	id, rep, ok := paymentIDArg(c, "trxID")
	if !ok {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.trx[id]; p != nil {
		completed := p.updated
		o := newObject().
			str("trxID", p.trxID).
			str("initiationTime", wireTime(p.executed.Truncate(time.Second))).
			str("completedTime", wireTime(completed.Truncate(time.Second))).
			str("transactionType", searchTypePayment).
			str("customerMsisdn", p.wallet).
			str("payerAccount", p.wallet).
			str("transactionStatus", p.status).
			str("amount", p.amountText).
			str("currency", p.currency).
			str("organizationShortCode", s.cfg.shortCode).
			str("serviceFee", "0.00").
			str("payerType", "Customer").
			str("creditedAmount", p.amount.String()).
			str("maxRefundableAmount", p.refundable().String())
		return success(o)
	}
	if rf := s.refundTrx[id]; rf != nil {
		o := newObject().
			str("trxID", rf.trxID).
			str("initiationTime", wireTime(rf.completed.Truncate(time.Second))).
			str("completedTime", wireTime(rf.completed.Truncate(time.Second))).
			str("transactionType", searchTypeRefund).
			str("customerMsisdn", rf.payment.wallet).
			str("payerAccount", rf.payment.wallet).
			str("transactionStatus", statusCompleted).
			str("amount", rf.amountText).
			str("currency", rf.payment.currency).
			str("organizationShortCode", s.cfg.shortCode).
			str("originalTrxAmount", rf.payment.amountText)
		return success(o)
	}
	return c.fail(bkash.CodeTransactionNotFound)
}

// refundable is what may still be refunded. Only a completed payment has
// anything refundable.
func (p *payment) refundable() bkash.Amount {
	if p.status != statusCompleted {
		return 0
	}
	return p.amount - p.refunded
}

// capture serves payment/confirm/capture.
func (s *Server) capture(c *call) reply { return s.confirm(c, statusCompleted) }

// void serves payment/confirm/void.
func (s *Server) void(c *call) reply { return s.confirm(c, statusCancelled) }

// confirm captures or voids an authorized payment.
func (s *Server) confirm(c *call, to string) reply {
	id, rep, ok := paymentIDArg(c, "paymentID")
	if !ok {
		return rep
	}
	s.mu.Lock()
	p := s.payments[id]
	switch {
	case p == nil || p.mode == modeAgreement:
		s.mu.Unlock()
		return c.fail(bkash.CodeInvalidPaymentID)
	case p.intent == intentAuthorization && p.trxID != "" && p.status != statusAuthorized:
		s.mu.Unlock()
		return c.fail(bkash.CodeAuthorizationProcessed)
	case p.status != statusAuthorized:
		s.mu.Unlock()
		return c.fail(bkash.CodeInvalidPaymentState)
	}
	p.status, p.updated = to, c.now
	if to == statusCancelled {
		if w := s.wallets[p.wallet]; w != nil {
			w.balance += p.amount // the hold is released
		}
	}
	s.savePaymentLocked(p, p.wallet)
	snap := p.snapshot(c.now)
	s.mu.Unlock()
	if to == statusCompleted {
		s.paymentCompleted(snap)
	}
	o := newObject().
		str("paymentID", snap.PaymentID).
		str("createTime", wireTime(snap.CreatedAt)).
		str("updateTime", wireTime(snap.UpdatedAt)).
		str("trxID", snap.TrxID).
		str("transactionStatus", snap.Status)
	return success(o)
}

// paymentCompleted tells the listeners (the webhook emitter) that money moved.
func (s *Server) paymentCompleted(p PaymentState) {
	for _, h := range s.hooks {
		h.completed(s, completion{payment: p, merchantName: s.cfg.merchantName, shortCode: s.cfg.shortCode})
	}
}

// completion is a completed payment, as the webhook emitter sees it.
type completion struct {
	payment      PaymentState
	merchantName string
	shortCode    string
}
