package bkashtest

import (
	"time"

	"github.com/smartdairy/bkash-go"
)

// agreement binds a customer's wallet to the merchant (mode 0000). It is
// created by a paymentID and gets its agreementID when that is executed.
type agreement struct {
	id                           string // "" until executed
	paymentID                    string
	payerRef, wallet, status     string
	created, executed, cancelled time.Time
}

func (s *Server) createAgreement(c *call) reply {
	v, err := c.f.strings("payerReference", "callbackURL")
	if err != nil {
		return c.fail(bkash.CodeInvalidRequestBody)
	}
	payerRef, callback := v[0], v[1]
	switch {
	case payerRef == "" || callback == "":
		return c.fail(bkash.CodeMandatoryFieldMissing)
	case !validReference(payerRef):
		return c.fail(bkash.CodeInvalidPayerReference)
	case !validCallbackURL(callback):
		return c.fail(bkash.CodeInvalidCallbackURL)
	}
	p := &payment{
		mode: modeAgreement, payerRef: payerRef, callbackURL: callback,
		created: c.now, updated: c.now,
	}
	s.mu.Lock()
	s.issueLocked(p, c.now)
	p.agreement = &agreement{paymentID: p.id, payerRef: payerRef, status: statusInitiated, created: c.now}
	s.savePaymentLocked(p)
	s.mu.Unlock()

	o := newObject().
		str("statusCode", "0000").
		str("statusMessage", "Successful").
		str("paymentID", p.id).
		str("bkashURL", s.checkoutURL(p))
	addCallbackURLs(o, p)
	o.str("payerReference", p.payerRef).
		str("agreementStatus", statusInitiated).
		str("agreementCreateTime", wireTime(p.created))
	return okReply(o)
}

// executeAgreementLocked executes an agreement creation once the customer
// approved it on the checkout page.
func (s *Server) executeAgreementLocked(c *call, p *payment) reply {
	ag := p.agreement
	switch {
	case ag.status != statusInitiated:
		return c.fail(bkash.CodeAgreementAlreadyExecuted)
	case p.expired(c.now):
		return c.fail(bkash.CodeInvalidAgreementState)
	case p.customer != customerSuccess:
		return c.fail(bkash.CodeAgreementNotReady)
	}
	for {
		ag.id = "TokenizedMerchant02" + randomString(upperAlnum, 7) + epochMillis(c.now)
		if s.agreements[ag.id] == nil {
			break
		}
	}
	ag.wallet, ag.status, ag.executed = p.wallet, statusCompleted, c.now
	p.executed, p.updated = c.now, c.now
	s.agreements[ag.id] = ag
	s.savePaymentLocked(p)

	o := newObject().
		str("statusCode", "0000").
		str("statusMessage", "Successful").
		str("paymentID", p.id).
		str("agreementID", ag.id).
		str("payerReference", ag.payerRef).
		str("customerMsisdn", ag.wallet).
		str("agreementExecuteTime", wireTime(ag.executed)).
		str("agreementStatus", ag.status)
	return okReply(o)
}

// agreementObject is the answer of agreement/status and agreement/cancel.
func agreementObject(ag *agreement) *object {
	o := newObject().
		str("statusCode", "0000").
		str("statusMessage", "Successful").
		str("agreementID", ag.id).
		str("paymentID", ag.paymentID).
		str("payerReference", ag.payerRef).
		str("customerMsisdn", ag.wallet).
		str("agreementStatus", ag.status).
		str("agreementCreateTime", wireTime(ag.created)).
		str("agreementExecuteTime", wireTime(ag.executed))
	if !ag.cancelled.IsZero() {
		o.str("agreementVoidTime", wireTime(ag.cancelled))
	}
	return o
}

// agreementQueryObject is what payment/status answers for an agreement
// creation paymentID: the agreement's fields rather than a payment's.
func agreementQueryObject(p *payment, now time.Time) *object {
	ag := p.agreement
	status := ag.status
	if p.expired(now) {
		status = statusExpired
	}
	o := newObject().
		str("paymentID", p.id).
		str("mode", p.mode).
		str("payerReference", p.payerRef).
		opt("agreementID", ag.id).
		str("agreementStatus", status).
		str("agreementCreateTime", wireTime(ag.created))
	if !ag.executed.IsZero() {
		o.str("agreementExecuteTime", wireTime(ag.executed))
	}
	o.opt("payerAccount", p.wallet).
		str("payerType", "Customer").
		str("verificationStatus", verification(p.customer))
	return o
}

// agreementArg finds the agreement named by the agreementID member.
func (s *Server) agreementLocked(c *call) (*agreement, reply, bool) {
	id, err := c.f.str("agreementID")
	switch {
	case err != nil:
		return nil, c.fail(bkash.CodeInvalidRequestBody), false
	case id == "":
		return nil, c.fail(bkash.CodeMandatoryFieldMissing), false
	}
	ag := s.agreements[id]
	if ag == nil {
		return nil, c.fail(bkash.CodeInvalidAgreementID), false
	}
	return ag, reply{}, true
}

// agreementStatus serves agreement/status.
func (s *Server) agreementStatus(c *call) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	ag, rep, ok := s.agreementLocked(c)
	if !ok {
		return rep
	}
	return okReply(agreementObject(ag))
}

// agreementCancel serves agreement/cancel; a second cancel answers 2053.
func (s *Server) agreementCancel(c *call) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	ag, rep, ok := s.agreementLocked(c)
	if !ok {
		return rep
	}
	if ag.status == statusCancelled {
		return c.fail(bkash.CodeAgreementAlreadyCancelled)
	}
	ag.status, ag.cancelled = statusCancelled, c.now
	if p := s.payments[ag.paymentID]; p != nil {
		s.savePaymentLocked(p) // the agreement is recorded with its creation
	}
	return okReply(agreementObject(ag))
}
