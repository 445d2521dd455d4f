package bkashtest

import (
	"time"

	"github.com/smartdairy/bkash-go"
)

// Refund rules. bKash documents them for its v2 refund API; the fake applies
// them to both APIs, which share each payment's refundable balance.
const (
	refundWindow     = 60 * 24 * time.Hour
	maxRefundsPerTrx = 10
)

// refund is one refund of a completed payment.
type refund struct {
	trxID      string
	payment    *payment
	amount     bkash.Amount
	amountText string // echoed as the merchant sent it
	sku        string
	reason     string
	completed  time.Time
	api        string // "v1" or "v2"
}

// refundCodes are the codes an API answers for the same refusals.
type refundCodes struct {
	badTrx, badAmount, exceeds bkash.ErrorCode
}

var (
	refundCodesV1 = refundCodes{badTrx: bkash.CodeReverseTrxNotFound, badAmount: bkash.CodeInvalidAmount, exceeds: bkash.CodeRefundExceedsOriginal}
	refundCodesV2 = refundCodes{badTrx: bkash.CodeInvalidTrxID, badAmount: bkash.CodeRefundAmountInvalid, exceeds: bkash.CodeRefundAmountInvalid}
)

// resolveRefundV1 tells refund from refund status on the v1 path: a status
// request is the same body without amount.
func resolveRefundV1(_ *Server, f fields) string {
	if a, _ := f.str("amount"); a != "" {
		return opRefundCreate
	}
	return opRefundStatus
}

// refundArgs are the members of a refund request.
type refundArgs struct {
	paymentID, trxID, amount, sku, reason string
}

// refundLocked checks a refund request against the payment and, when it is
// acceptable, makes it: the payment's refundable balance goes down and the
// customer's wallet is credited.
func (s *Server) refundLocked(c *call, a refundArgs, codes refundCodes, api string) (*refund, bkash.ErrorCode) {
	if a.paymentID == "" || a.trxID == "" || a.amount == "" {
		return nil, bkash.CodeMandatoryFieldMissing
	}
	p := s.payments[a.paymentID]
	if p == nil || p.mode == modeAgreement {
		return nil, bkash.CodeInvalidPaymentID
	}
	if p.trxID == "" || p.trxID != a.trxID {
		return nil, codes.badTrx
	}
	amount, err := bkash.ParseAmount(a.amount)
	switch {
	case err != nil || amount <= 0:
		return nil, codes.badAmount
	case a.sku == "" || !validReference(a.sku):
		if len([]rune(a.sku)) > 255 {
			return nil, bkash.CodeSKUTooLong
		}
		return nil, bkash.CodeInvalidSKU
	case a.reason == "" || !validReference(a.reason):
		if len([]rune(a.reason)) > 255 {
			return nil, bkash.CodeReasonTooLong
		}
		return nil, bkash.CodeInvalidReason
	case p.status != statusCompleted:
		return nil, bkash.CodeTransactionNotCompleted
	case !c.now.Before(p.executed.Add(refundWindow)):
		return nil, bkash.CodeRefundWindowExpired
	case len(p.refunds) >= maxRefundsPerTrx:
		return nil, bkash.CodeNotReversible
	case amount > p.refundable():
		return nil, codes.exceeds
	}
	rf := &refund{
		trxID: s.newTrxIDLocked(), payment: p,
		amount: amount, amountText: a.amount,
		sku: a.sku, reason: a.reason, completed: c.now, api: api,
	}
	p.refunds = append(p.refunds, rf)
	p.refunded += amount
	p.updated = c.now
	s.refundTrx[rf.trxID] = rf
	if w := s.wallets[p.wallet]; w != nil {
		w.balance += amount
	}
	s.savePaymentLocked(p, p.wallet)
	return rf, ""
}

// refundV1 serves payment/refund: a refund when the body has an amount, the
// refund status otherwise.
func (s *Server) refundV1(c *call) reply {
	v, err := c.f.strings("paymentID", "trxID", "amount", "sku", "reason")
	if err != nil {
		return c.fail(bkash.CodeInvalidRequestBody)
	}
	a := refundArgs{paymentID: v[0], trxID: v[1], amount: v[2], sku: v[3], reason: v[4]}
	s.mu.Lock()
	defer s.mu.Unlock()
	var rf *refund
	if c.op == opRefundStatus {
		switch p := s.payments[a.paymentID]; {
		case a.paymentID == "" || a.trxID == "":
			return c.fail(bkash.CodeMandatoryFieldMissing)
		case p == nil || p.trxID != a.trxID || len(p.refunds) == 0:
			// bKash: "get status if the transaction is already refunded,
			// otherwise invalid payment id will return".
			return c.fail(bkash.CodeInvalidPaymentID)
		default:
			rf = p.refunds[len(p.refunds)-1]
		}
	} else {
		var code bkash.ErrorCode
		if rf, code = s.refundLocked(c, a, refundCodesV1, "v1"); code != "" {
			return c.fail(code)
		}
	}
	return success(newObject().
		str("originalTrxID", rf.payment.trxID).
		str("refundTrxID", rf.trxID).
		str("transactionStatus", statusCompleted).
		str("amount", rf.amountText).
		str("currency", rf.payment.currency).
		str("charge", "0.00").
		str("completedTime", wireTime(rf.completed)))
}

// refundV2 serves /v2/tokenized-checkout/refund/payment/transaction.
func (s *Server) refundV2(c *call) reply {
	v, err := c.f.strings("paymentId", "trxId", "refundAmount", "sku", "reason")
	if err != nil {
		return c.fail(bkash.CodeInvalidRequestBody)
	}
	a := refundArgs{paymentID: v[0], trxID: v[1], amount: v[2], sku: v[3], reason: v[4]}
	s.mu.Lock()
	rf, code := s.refundLocked(c, a, refundCodesV2, "v2")
	s.mu.Unlock()
	if code != "" {
		return c.fail(code)
	}
	// A v2 success carries no statusCode.
	return okReply(newObject().
		str("originalTrxId", rf.payment.trxID).
		str("refundTrxId", rf.trxID).
		str("refundTransactionStatus", statusCompleted).
		str("originalTrxAmount", rf.payment.amountText).
		str("refundAmount", rf.amountText).
		str("currency", rf.payment.currency).
		str("completedTime", wireTime(rf.completed)).
		str("sku", rf.sku).
		str("reason", rf.reason))
}

// refundV2Status serves /v2/tokenized-checkout/refund/payment/status: every
// refund of the transaction, made through either API.
func (s *Server) refundV2Status(c *call) reply {
	v, err := c.f.strings("paymentId", "trxId")
	if err != nil {
		return c.fail(bkash.CodeInvalidRequestBody)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[v[0]]
	switch {
	case v[0] == "" || v[1] == "":
		return c.fail(bkash.CodeMandatoryFieldMissing)
	case p == nil || p.mode == modeAgreement:
		return c.fail(bkash.CodeInvalidPaymentID)
	case p.trxID == "" || p.trxID != v[1]:
		return c.fail(bkash.CodeInvalidTrxID)
	}
	list := make([]byte, 0, 128*len(p.refunds)+2)
	list = append(list, '[')
	for i, rf := range p.refunds {
		if i > 0 {
			list = append(list, ',')
		}
		// bKash sends these completedTime values without a GMT offset.
		list = append(list, newObject().
			str("refundTrxId", rf.trxID).
			str("refundTransactionStatus", statusCompleted).
			str("refundAmount", rf.amountText).
			str("completedTime", wireTimeNoOffset(rf.completed)).
			bytes()...)
	}
	list = append(list, ']')
	return okReply(newObject().
		str("originalTrxId", p.trxID).
		str("originalTrxAmount", p.amountText).
		str("originalTrxCompletedTime", wireTime(p.executed)).
		raw("refundTransactions", list))
}
