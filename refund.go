package bkash

import (
	"context"
	"errors"
	"slices"
	"time"
)

// RefundParams are the inputs of RefundService.Create.
type RefundParams struct {
	// PaymentID and TrxID identify the completed payment to refund (the
	// paymentID of create and the trxID of execute).
	PaymentID string
	TrxID     string
	// Amount to refund: positive, at most what is left of the payment.
	// Several partial refunds are allowed.
	Amount Amount
	// SKU tags the refunded product; Reason says why. Both are required
	// (bKash rejects empty values), at most 255 characters, without '<',
	// '>' or '&'. A distinct SKU per refund also lets RefundStatus.Find tell
	// refunds of the same amount apart where bKash reports the SKU.
	SKU    string
	Reason string
}

func (p *RefundParams) validate() error {
	if p == nil {
		return &ValidationError{Field: "RefundParams", Reason: "is nil"}
	}
	return firstError(
		checkID("RefundParams.PaymentID", p.PaymentID),
		checkID("RefundParams.TrxID", p.TrxID),
		checkAmount("RefundParams.Amount", p.Amount),
		checkText("RefundParams.SKU", p.SKU, true),
		checkText("RefundParams.Reason", p.Reason, true),
	)
}

// Refund is one refund of a payment. Both refund APIs decode into it; a
// field the answer did not carry is zero.
type Refund struct {
	// RefundTrxID is the refund's own transaction id.
	RefundTrxID string
	// OriginalTrxID is the trxID of the refunded payment.
	OriginalTrxID string
	// Amount is the refunded amount.
	Amount Amount
	// Charge is the fee bKash took for the refund (v1; usually 0.00).
	Charge   Amount
	Currency string
	// Status is the refund's transaction status, StatusCompleted when done.
	Status TransactionStatus
	// CompletedAt is when the refund completed. The v2 API sends it without
	// a UTC offset; it is then read as Bangladesh time (+06:00).
	CompletedAt Time
	// SKU and Reason as bKash echoed them or, when the answer to Create
	// carries none (v1), as they were sent. Status answers carry none.
	SKU    string
	Reason string
	// OriginalAmount is the refunded payment's amount (v2 originalTrxAmount);
	// zero when the answer does not say.
	OriginalAmount Amount
}

// RefundStatus lists the refunds of one payment.
//
// The v2 API lists every refund. The v1 API answers with a single refund
// (bKash does not document which one after several partial refunds; in
// practice the latest), so on v1 Refunds has at most one element and
// Refunded may be less than the total refunded. Refunds is empty when the
// payment has none.
type RefundStatus struct {
	OriginalTrxID string
	// OriginalAmount is the payment's amount; zero when the answer does not
	// say (v1).
	OriginalAmount Amount
	// OriginalCompletedAt is when the payment completed (v2).
	OriginalCompletedAt Time
	Refunds             []Refund
	// AskedAt is when Status sent its request: the answer shows bKash's
	// state at this time or later. PendingRefund.Settle compares it with
	// the uncertain refund's SettleAfter.
	AskedAt time.Time
}

// Find reports the most recent refund of amount. A refund matches when its
// Amount equals amount and, when both sku and the refund's SKU are known,
// its SKU equals sku. The status answers bKash documents carry no SKU
// (neither v1 nor v2), so Find usually matches on the amount alone: when a
// payment may have several refunds of the same amount, also compare
// RefundTrxID with the refunds you have recorded, or Refunded with its value
// before the uncertain call.
//
// Find matches refunds in any status, so that a refund bKash is still
// processing is not mistaken for one that never happened: check the
// returned refund's Status.
//
// Find's false does not say that a refund whose outcome was unknown was not
// made: until 30 seconds (bKash's API timeout) plus clock skew after it was
// sent, it may still be running at bKash and appear later. Use
// PendingRefund.Settle or RefundService.Settle, which wait for that.
func (st *RefundStatus) Find(amount Amount, sku string) (*Refund, bool) {
	for i := len(st.Refunds) - 1; i >= 0; i-- {
		r := &st.Refunds[i]
		if r.Amount == amount && (sku == "" || r.SKU == "" || r.SKU == sku) {
			return r, true
		}
	}
	return nil, false
}

// Refunded returns the sum of the completed refunds listed. On v1, which
// lists one refund, it is that refund's amount. Like Find, it can miss a
// refund that is still in flight; see PendingRefund.
func (st *RefundStatus) Refunded() Amount {
	var sum Amount
	for i := range st.Refunds {
		if st.Refunds[i].Status == StatusCompleted {
			sum += st.Refunds[i].Amount
		}
	}
	return sum
}

// Create refunds all or part of a completed payment.
//
// It calls, depending on WithRefundAPI, POST .../tokenized/checkout/payment/refund
// (v1, the default) or POST /v2/tokenized-checkout/refund/payment/transaction
// (v2); operation refund.create, retry class money: it is sent at most once.
// An *OutcomeUnknownError means the money may or may not have been refunded;
// the SDK has not re-sent it, and the refund may still complete at bKash
// until the error's SettleAfter. Record a PendingRefund and settle it
// (RefundService.Settle) before refunding again, as the RefundService
// documentation describes. A refusal is an *APIError; see
// RefundService for the codes.
func (s *RefundService) Create(ctx context.Context, p *RefundParams) (*Refund, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	ep := epRefundV1
	var req any = refundRequestV1{PaymentID: p.PaymentID, Amount: p.Amount, TrxID: p.TrxID, SKU: p.SKU, Reason: p.Reason}
	if s.c.refundAPI == RefundV2 {
		ep = epRefundV2
		req = refundRequestV2{PaymentID: p.PaymentID, TrxID: p.TrxID, RefundAmount: p.Amount, SKU: p.SKU, Reason: p.Reason}
	}
	var w refundWire
	if err := s.c.do(ctx, ep, req, &w); err != nil {
		return nil, err
	}
	if w.RefundTrxID == "" {
		// A v2 success has no statusCode, so an empty or foreign JSON object
		// would pass as one. Without a refund id nothing says the money
		// moved, nor that it did not.
		return nil, incompleteAnswer(ep, "refundTrxID")
	}
	r := refundFrom(&w.refundFields, "", 0, "")
	if r.OriginalTrxID == "" {
		r.OriginalTrxID = p.TrxID
	}
	r.SKU = firstNonEmpty(r.SKU, p.SKU)
	r.Reason = firstNonEmpty(r.Reason, p.Reason)
	return &r, nil
}

// Status lists the refunds of the payment paymentID whose execute returned
// trxID. Call it before refunding again after an *OutcomeUnknownError from
// Create, and use RefundStatus.Find or RefundStatus.Refunded on the answer.
//
// It calls POST .../tokenized/checkout/payment/refund with only paymentID
// and trxID (v1, the default) or POST /v2/tokenized-checkout/refund/payment/status
// (v2); operation refund.status, retry class read: retried after transport
// failures and on 429/502/503/504.
//
// On v1, bKash answers CodeInvalidPaymentID (2002) when the payment has no
// refund at all ("get status if the transaction is already refunded,
// otherwise invalid payment id will return"); with IDs known to be right,
// that answer means no refund was made. The v2 API answers an empty list.
// An answer that names neither the transaction nor a refund is an error.
func (s *RefundService) Status(ctx context.Context, paymentID, trxID string) (*RefundStatus, error) {
	if err := checkID("paymentID", paymentID); err != nil {
		return nil, err
	}
	if err := checkID("trxID", trxID); err != nil {
		return nil, err
	}
	ep := epRefundStatusV1
	var req any = refundStatusRequestV1{PaymentID: paymentID, TrxID: trxID}
	if s.c.refundAPI == RefundV2 {
		ep = epRefundStatusV2
		req = refundStatusRequestV2{PaymentID: paymentID, TrxID: trxID}
	}
	asked := time.Now()
	var w refundWire
	if err := s.c.do(ctx, ep, req, &w); err != nil {
		return nil, err
	}
	if w.RefundTransactions == nil && w.RefundTrxID == "" && w.OriginalTrxID == "" && w.TrxID == "" {
		// bKash's answer names the payment's transaction and lists its
		// refunds (v2: refundTransactions, [] when there is none), or names
		// a refund (v1: refundTrxID; v1 answers 2002 when there is none).
		// An answer that names nothing, an empty or foreign JSON object,
		// does not say that no refund was made: Settle must not read it as
		// "not made" and let the refund be sent again.
		return nil, errorf(ep.op, "answer names neither the transaction nor a refund")
	}
	st := w.status(trxID)
	st.AskedAt = asked
	return st, nil
}

// SettleDelay is how long after a money call was sent its outcome may still
// change at bKash: 30 seconds, bKash's API timeout (its gateway gives up at
// 29 s, and its v2 refund rule is "if the refund API does not respond
// within 30 s, call Refund Status"), plus 30 seconds for clock skew between
// the machine that recorded the send and the one that decides. A caller
// whose context gave up after 5 s must not read "no refund" in a status
// taken before then as "not made": the first refund may still be running.
const SettleDelay = time.Minute

// RefundOutcome is what became of a refund whose outcome was unknown.
type RefundOutcome int

const (
	// RefundUndecided: not decidable yet. The refund is not listed, but it
	// may still be in flight at bKash (the status was read before
	// SettleAfter, or the send time is unknown). Do not refund again; settle
	// it again after SettleAfter.
	RefundUndecided RefundOutcome = iota
	// RefundMade: the refund is listed; record it, do not refund again.
	RefundMade
	// RefundNotMade: the refund is not listed in a status read after
	// SettleAfter: it was not made and may be sent again.
	RefundNotMade
)

// String returns "undecided", "made" or "not made".
func (o RefundOutcome) String() string {
	switch o {
	case RefundMade:
		return "made"
	case RefundNotMade:
		return "not made"
	}
	return "undecided"
}

// PendingRefund is a refund whose outcome is unknown: what was asked, when
// it was sent, and which refunds of the payment were already known. Build
// it from the *OutcomeUnknownError of RefundService.Create with
// NewPendingRefund, store it (every field is plain data) and settle it, in
// this process or another, with RefundService.Settle or Settle.
//
// The flow after RefundService.Create returned an *OutcomeUnknownError:
//
//  1. Record p := NewPendingRefund(params, err, knownRefundTrxIDs). Do not
//     call Create again for this refund.
//  2. Call client.Refunds.Settle(ctx, p). It reads the refund status and,
//     when the refund is not listed yet, waits until p.SettleAfter() if ctx
//     allows and reads it again.
//  3. RefundMade: record the returned refund. RefundNotMade: the refund
//     may be sent again (a new Create). RefundUndecided: keep p and settle
//     it later (a job, the next request).
//
// On v1 the status shows only the latest refund of a payment: settle a
// pending refund before making another refund of the same payment.
type PendingRefund struct {
	// PaymentID, TrxID, Amount and SKU are those of the uncertain refund.
	PaymentID string
	TrxID     string
	Amount    Amount
	SKU       string
	// SentAt is OutcomeUnknownError.SentAt. A zero SentAt never settles as
	// not made: the refund stays undecided until it is listed.
	SentAt time.Time
	// Known lists the RefundTrxIDs of the payment's refunds recorded before
	// this refund was sent, so that an earlier refund of the same amount is
	// not taken for this one.
	Known []string
}

// NewPendingRefund returns the PendingRefund of p, whose Create returned
// err, with the RefundTrxIDs of the payment's refunds already recorded. It
// returns nil when err is not an *OutcomeUnknownError (a definite answer:
// nothing is pending).
func NewPendingRefund(p *RefundParams, err error, known ...string) *PendingRefund {
	var ue *OutcomeUnknownError
	if p == nil || !errors.As(err, &ue) {
		return nil
	}
	return &PendingRefund{
		PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: p.Amount, SKU: p.SKU,
		SentAt: ue.SentAt, Known: slices.Clone(known),
	}
}

// SettleAfter is when a status that does not list the refund means it was
// not made: SentAt plus SettleDelay. It is the zero Time when SentAt is
// zero.
func (p *PendingRefund) SettleAfter() time.Time {
	if p.SentAt.IsZero() {
		return time.Time{}
	}
	return p.SentAt.Add(SettleDelay)
}

// Settle decides from st, a RefundService.Status answer, what became of
// the refund. It is RefundMade, with the refund, when st lists a refund of
// the same amount (and SKU, where both are known) that is not among Known,
// whatever its status (check Refund.Status). Otherwise it is RefundNotMade
// only when st was read at or after SettleAfter (st.AskedAt), and
// RefundUndecided before then, when SentAt or st.AskedAt is zero, or when
// st is nil. A status you build yourself (for example from a v1
// CodeInvalidPaymentID answer, which means the payment has no refund) must
// carry the time its request was sent in AskedAt.
func (p *PendingRefund) Settle(st *RefundStatus) (RefundOutcome, *Refund) {
	if st == nil {
		return RefundUndecided, nil
	}
	for i := len(st.Refunds) - 1; i >= 0; i-- {
		r := &st.Refunds[i]
		if r.Amount == p.Amount && (p.SKU == "" || r.SKU == "" || r.SKU == p.SKU) && !slices.Contains(p.Known, r.RefundTrxID) {
			rf := *r
			return RefundMade, &rf
		}
	}
	if p.SentAt.IsZero() || st.AskedAt.IsZero() || st.AskedAt.Before(p.SettleAfter()) {
		return RefundUndecided, nil
	}
	return RefundNotMade, nil
}

// Settle finds out what became of a pending refund: it reads the refund
// status (Status; retry class read) and decides with PendingRefund.Settle.
// When the refund is not listed and the status was read before
// p.SettleAfter(), it waits until then and reads it again, unless ctx ends
// first: if ctx's deadline is before SettleAfter it does not wait and
// returns RefundUndecided at once, with a nil error. A context error while
// waiting is returned with RefundUndecided.
//
// On v1, the status answer CodeInvalidPaymentID (2002) means the payment
// has no refund (bKash: "get status if the transaction is already refunded,
// otherwise invalid payment id will return"), or that the IDs are wrong, in
// which case no refund could have been made either: Settle reads it as an
// empty list.
func (s *RefundService) Settle(ctx context.Context, p *PendingRefund) (RefundOutcome, *Refund, error) {
	if p == nil {
		return RefundUndecided, nil, &ValidationError{Field: "PendingRefund", Reason: "is nil"}
	}
	if err := firstError(checkID("PendingRefund.PaymentID", p.PaymentID), checkID("PendingRefund.TrxID", p.TrxID),
		checkAmount("PendingRefund.Amount", p.Amount)); err != nil {
		return RefundUndecided, nil, err
	}
	for range 3 { // a read, a wait, a read; a third read only if the clock stepped back
		st, err := s.settleStatus(ctx, p)
		if err != nil {
			return RefundUndecided, nil, err
		}
		if out, r := p.Settle(st); out != RefundUndecided || p.SentAt.IsZero() {
			return out, r, nil
		}
		at := p.SettleAfter()
		if dl, ok := ctx.Deadline(); ok && dl.Before(at) {
			return RefundUndecided, nil, nil
		}
		t := time.NewTimer(time.Until(at))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return RefundUndecided, nil, ctx.Err()
		}
	}
	return RefundUndecided, nil, nil
}

// settleStatus is Status, with v1's "no refund" answer read as an empty list.
func (s *RefundService) settleStatus(ctx context.Context, p *PendingRefund) (*RefundStatus, error) {
	asked := time.Now()
	st, err := s.Status(ctx, p.PaymentID, p.TrxID)
	if err != nil && s.c.refundAPI != RefundV2 && errors.Is(err, CodeInvalidPaymentID) {
		return &RefundStatus{OriginalTrxID: p.TrxID, AskedAt: asked}, nil
	}
	return st, err
}

// The bodies of a refund and of a refund status, v1 and v2 (docs/wire.md,
// "Endpoints"). The two versions spell the ids differently and order the
// members differently; bKash's v1 tells a status request from a refund by
// the absence of amount.
type (
	refundRequestV1 struct {
		PaymentID string `json:"paymentID"`
		Amount    Amount `json:"amount"`
		TrxID     string `json:"trxID"`
		SKU       string `json:"sku"`
		Reason    string `json:"reason"`
	}
	refundRequestV2 struct {
		PaymentID    string `json:"paymentId"`
		TrxID        string `json:"trxId"`
		RefundAmount Amount `json:"refundAmount"`
		SKU          string `json:"sku"`
		Reason       string `json:"reason"`
	}
	refundStatusRequestV1 struct {
		PaymentID string `json:"paymentID"`
		TrxID     string `json:"trxID"`
	}
	refundStatusRequestV2 struct {
		PaymentID string `json:"paymentId"`
		TrxID     string `json:"trxId"`
	}
)

func (r refundRequestV1) logRef() (string, string)       { return "paymentID", r.PaymentID }
func (r refundRequestV2) logRef() (string, string)       { return "paymentID", r.PaymentID }
func (r refundStatusRequestV1) logRef() (string, string) { return "paymentID", r.PaymentID }
func (r refundStatusRequestV2) logRef() (string, string) { return "paymentID", r.PaymentID }

// refundFields are the members of one refund under every name seen for
// them: v1 (originalTrxID, refundTrxID, amount, transactionStatus), v2
// (originalTrxId, refundTrxId, refundAmount, refundTransactionStatus) and
// other readings of the documentation (trxID for the original, refundTime).
// encoding/json matches member names case-insensitively, so one field reads
// both refundTrxID and refundTrxId.
type refundFields struct {
	OriginalTrxID           string    `json:"originalTrxID"`
	TrxID                   string    `json:"trxID"`
	RefundTrxID             string    `json:"refundTrxID"`
	TransactionStatus       string    `json:"transactionStatus"`
	RefundTransactionStatus string    `json:"refundTransactionStatus"`
	Amount                  Amount    `json:"amount"`
	RefundAmount            Amount    `json:"refundAmount"`
	OriginalTrxAmount       Amount    `json:"originalTrxAmount"`
	Charge                  Amount    `json:"charge"`
	Currency                string    `json:"currency"`
	CompletedTime           looseTime `json:"completedTime"`
	RefundTime              looseTime `json:"refundTime"`
	SKU                     string    `json:"sku"`
	Reason                  string    `json:"reason"`
}

// refundWire is every refund answer: a single refund (v1 and v2 create, v1
// status) or a payment with its refunds (v2 status, and a v1 status in
// that shape should bKash answer one).
type refundWire struct {
	envelope
	refundFields
	OriginalTrxCompletedTime looseTime      `json:"originalTrxCompletedTime"`
	RefundTransactions       []refundFields `json:"refundTransactions"`
}

// refundFrom converts one refund's members. The list items of a status
// answer inherit the payment's trxID, amount and currency when they lack them.
func refundFrom(f *refundFields, origTrxID string, origAmount Amount, currency string) Refund {
	r := Refund{
		RefundTrxID:    f.RefundTrxID,
		OriginalTrxID:  firstNonEmpty(f.OriginalTrxID, firstNonEmpty(f.TrxID, origTrxID)),
		Amount:         f.RefundAmount,
		Charge:         f.Charge,
		Currency:       firstNonEmpty(f.Currency, currency),
		Status:         TransactionStatus(firstNonEmpty(f.RefundTransactionStatus, f.TransactionStatus)),
		CompletedAt:    Time(f.CompletedTime),
		SKU:            f.SKU,
		Reason:         f.Reason,
		OriginalAmount: f.OriginalTrxAmount,
	}
	if r.Amount == 0 {
		r.Amount = f.Amount
	}
	if r.CompletedAt.Raw == "" {
		r.CompletedAt = Time(f.RefundTime)
	}
	if r.OriginalAmount == 0 {
		r.OriginalAmount = origAmount
	}
	return r
}

// status converts a status answer. trxID is the one asked about, used when
// the answer does not repeat it.
func (w *refundWire) status(trxID string) *RefundStatus {
	st := &RefundStatus{
		OriginalTrxID:       firstNonEmpty(w.OriginalTrxID, firstNonEmpty(w.TrxID, trxID)),
		OriginalAmount:      w.OriginalTrxAmount,
		OriginalCompletedAt: Time(w.OriginalTrxCompletedTime),
	}
	if w.RefundTransactions != nil {
		// A payment with its refunds: a top-level amount is the payment's.
		if st.OriginalAmount == 0 && w.RefundAmount == 0 {
			st.OriginalAmount = w.Amount
		}
		st.Refunds = make([]Refund, len(w.RefundTransactions))
		for i := range w.RefundTransactions {
			st.Refunds[i] = refundFrom(&w.RefundTransactions[i], st.OriginalTrxID, st.OriginalAmount, w.Currency)
		}
		return st
	}
	if w.RefundTrxID != "" {
		st.Refunds = []Refund{refundFrom(&w.refundFields, st.OriginalTrxID, st.OriginalAmount, "")}
	}
	return st
}
