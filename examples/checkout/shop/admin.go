package shop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
)

// Refunds, from the admin page:
//
//   - The refund is recorded as pending in the store before it is sent, and
//     only one refund per order may be pending. A crash, a timeout or a lost
//     answer leaves that marker behind.
//   - Refunds.Create is a money call: the SDK sends it at most once. When its
//     outcome is unknown the shop does NOT send it again: it reads
//     Refunds.Status and looks for a refund it has not recorded yet. Nothing
//     decides "this refund was not made" until RefundSettleAfter (30 s, bKash's
//     own deadline for a refund, plus clock skew) has passed since it was
//     sent: until then the refund shows as pending. Only when bKash shows no
//     such refund after that is the marker cleared, so that an operator may
//     decide to refund again.
//
// The demo admin page has no login. A real shop protects it.

// RefundClockSkew is the clock difference between the shop's replicas and
// bKash that the refund rule allows for.
const RefundClockSkew = 30 * time.Second

// RefundSettleAfter is how long after sending a refund whose outcome is
// unknown the shop waits before reading Refunds.Status to decide that it was
// not made: bKash's 30 s processing deadline plus RefundClockSkew.
const RefundSettleAfter = 30*time.Second + RefundClockSkew

type adminOrder struct {
	Order      Order
	Refundable bkash.Amount
	Refunded   bkash.Amount
	Live       *bkash.RefundStatus // bKash's answer, when just asked
	LiveErr    string
}

type adminPage struct {
	Orders []adminOrder
	Focus  string // the order a message is about
}

func (s *Shop) handleAdmin(w http.ResponseWriter, r *http.Request) {
	s.renderAdmin(w, r, http.StatusOK, "", "", "", nil, "")
}

func (s *Shop) renderAdmin(w http.ResponseWriter, r *http.Request, status int, focus, flash, errMsg string, live *bkash.RefundStatus, liveErr string) {
	orders, err := s.store.RecentOrders(200)
	if err != nil {
		s.log.Error("admin: list orders", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "The orders could not be read.")
		return
	}
	var rows []adminOrder
	for _, o := range orders {
		row := adminOrder{Order: o, Refundable: o.Refundable(), Refunded: o.Refunded()}
		if o.ID == focus {
			row.Live, row.LiveErr = live, liveErr
		}
		rows = append(rows, row)
	}
	s.render(w, r, status, "admin", view{Title: "Admin: orders and refunds", Nav: "admin", Flash: flash, Error: errMsg, Page: adminPage{Orders: rows, Focus: focus}})
}

// errRefundPending refuses a second refund while one's outcome is unknown.
var errRefundPending = errors.New("a refund of this order is still being confirmed with bKash; check its status first")

func (s *Shop) handleRefund(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	o, err := s.store.Order(id)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "No such order.")
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" {
		reason = "refund by shop"
	}
	var amount bkash.Amount
	if r.PostForm.Get("full") != "" {
		amount = o.Refundable()
	} else {
		a, err := bkash.ParseAmount(strings.TrimSpace(r.PostForm.Get("amount")))
		if err != nil {
			s.renderAdmin(w, r, http.StatusBadRequest, id, "", "Amount: enter taka like 120 or 120.50.", nil, "")
			return
		}
		amount = a
	}
	if amount <= 0 || amount > o.Refundable() {
		s.renderAdmin(w, r, http.StatusBadRequest, id, "", fmt.Sprintf("Order %s: the amount must be between Tk 0.01 and Tk %s.", id, o.Refundable()), nil, "")
		return
	}
	// Mark the refund pending before sending it.
	o, err = s.store.UpdateOrder(id, func(o *Order) error {
		if o.RefundPending != nil {
			return errRefundPending
		}
		if amount > o.Refundable() {
			return fmt.Errorf("at most Tk %s can be refunded", o.Refundable())
		}
		o.RefundPending = &PendingRefund{Amount: amount, Reason: reason, At: s.now()}
		return nil
	})
	if err != nil {
		s.renderAdmin(w, r, http.StatusConflict, id, "", "Order "+id+": "+err.Error(), nil, "")
		return
	}
	ctx, cancel := s.detached(r)
	defer cancel()
	ctx = auditContext(ctx, id)
	rf, err := s.client.Refunds.Create(ctx, &bkash.RefundParams{
		PaymentID: o.PaymentID, TrxID: o.TrxID, Amount: amount,
		SKU: refundSKU(o), Reason: reason,
	})
	switch outcome := bkash.OutcomeOf(err); outcome {
	case bkash.OutcomeOK:
		_, err = s.store.UpdateOrder(id, func(o *Order) error {
			o.RefundPending = nil
			recordRefund(o, *rf, reason, s.now())
			return nil
		})
		if err != nil {
			s.renderAdmin(w, r, http.StatusInternalServerError, id, "", "The refund went through but could not be saved; its status will be read from bKash.", nil, "")
			return
		}
		s.log.Info("refund", "order", id, "refundTrxID", rf.RefundTrxID, "amount", rf.Amount.String())
		s.renderAdmin(w, r, http.StatusOK, id, fmt.Sprintf("Order %s: refunded Tk %s (bKash refund %s).", id, rf.Amount, rf.RefundTrxID), "", nil, "")
	case bkash.OutcomeRefused, bkash.OutcomeFailed:
		// bKash refused it, or it was never sent (bad input, the token
		// budget, a network failure before sending): nothing was refunded.
		_, _ = s.store.UpdateOrder(id, func(o *Order) error { o.RefundPending = nil; return nil })
		what := "bKash refused the refund: "
		if outcome == bkash.OutcomeFailed {
			what = "the refund was not sent: "
		}
		s.renderAdmin(w, r, http.StatusBadGateway, id, "", "Order "+id+": "+what+err.Error(), nil, "")
	default:
		// Outcome unknown. Never send it again, and decide nothing before
		// RefundSettleAfter: the reconciler reads Refunds.Status then.
		s.log.Warn("refund outcome unknown", "order", id, "err", err)
		_, _ = s.store.UpdateOrder(id, func(o *Order) error {
			if o.RefundPending != nil {
				o.RefundPending.Note = "bKash did not answer the refund request; it was not sent again"
			}
			return nil
		})
		s.wake()
		s.renderAdmin(w, r, http.StatusAccepted, id, "", "Order "+id+": the refund's outcome is unknown ("+err.Error()+"). It was not re-sent. It shows as pending until bKash's refund status settles it, read from "+when(s.now().Add(s.refundSettle))+" on.", nil, "")
	}
}

// refundOutcome describes the order's refund state after a reconciliation.
func (s *Shop) refundOutcome(id string) (flash, errMsg string) {
	o, err := s.store.Order(id)
	if err != nil {
		return "", err.Error()
	}
	switch {
	case o.RefundPending != nil:
		return "", "Still unconfirmed: " + o.RefundPending.Note
	case len(o.Refunds) > 0:
		last := o.Refunds[len(o.Refunds)-1]
		return fmt.Sprintf("Order %s: bKash's status shows refund %s of Tk %s.", id, last.RefundTrxID, last.Amount), ""
	}
	return "", "bKash shows no refund."
}

// handleRefundStatus asks bKash for the refund status of an order (and
// settles a pending refund with it).
func (s *Shop) handleRefundStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	o, err := s.store.Order(id)
	if err != nil || o.TrxID == "" {
		s.fail(w, r, http.StatusNotFound, "No such paid order.")
		return
	}
	pending := o.RefundPending != nil
	st, err := s.reconcileRefund(auditContext(r.Context(), id), id)
	liveErr, flash, errMsg := "", "", ""
	if err != nil {
		liveErr = err.Error()
	}
	if pending {
		flash, errMsg = s.refundOutcome(id)
	}
	s.renderAdmin(w, r, http.StatusOK, id, flash, errMsg, st, liveErr)
}

// reconcileRefund reads Refunds.Status for order id and settles its pending
// refund: a refund bKash lists that the shop has not recorded is the pending
// one (when the amount matches). It returns bKash's answer.
func (s *Shop) reconcileRefund(ctx context.Context, id string) (*bkash.RefundStatus, error) {
	o, err := s.store.Order(id)
	if err != nil {
		return nil, err
	}
	if o.TrxID == "" {
		return nil, ErrNotFound
	}
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	st, err := s.client.Refunds.Status(qctx, o.PaymentID, o.TrxID)
	if err != nil {
		if !errors.Is(err, bkash.CodeInvalidPaymentID) {
			return nil, err
		}
		// v1 answers 2002 for a payment without any refund.
		st = &bkash.RefundStatus{OriginalTrxID: o.TrxID}
	}
	_, err = s.store.UpdateOrder(id, func(o *Order) error {
		var unrecorded []bkash.Refund
		for _, rf := range st.Refunds {
			if !slices.ContainsFunc(o.Refunds, func(r RefundRecord) bool { return r.RefundTrxID == rf.RefundTrxID }) {
				unrecorded = append(unrecorded, rf)
			}
		}
		p := o.RefundPending
		if p == nil {
			// Nothing pending: a refund bKash lists that we never recorded
			// (its answer was lost and we crashed) is still worth recording.
			for _, rf := range unrecorded {
				recordRefund(o, rf, "found in bKash's refund status", s.now())
			}
			return nil
		}
		fresh := &bkash.RefundStatus{OriginalTrxID: st.OriginalTrxID, Refunds: unrecorded}
		if rf, found := fresh.Find(p.Amount, ""); found {
			recordRefund(o, *rf, p.Reason, s.now())
			if rf.Status == bkash.StatusCompleted {
				o.RefundPending = nil
			} else {
				p.Note = "bKash lists the refund as " + string(rf.Status)
			}
			return nil
		}
		if s.now().Sub(p.At) < s.refundSettle {
			p.Note = "bKash does not list the refund yet; it will be checked again"
			return nil
		}
		o.RefundPending = nil // bKash never made it: an operator may refund again
		return nil
	})
	return st, err
}

// recordRefund adds rf to o unless it is already there.
func recordRefund(o *Order, rf bkash.Refund, reason string, now time.Time) {
	for i := range o.Refunds {
		if o.Refunds[i].RefundTrxID == rf.RefundTrxID {
			o.Refunds[i].Status = string(rf.Status)
			return
		}
	}
	at := now
	if !rf.CompletedAt.IsZero() {
		at = rf.CompletedAt.Time
	}
	o.Refunds = append(o.Refunds, RefundRecord{
		RefundTrxID: rf.RefundTrxID, Amount: rf.Amount, Charge: rf.Charge,
		Status: string(rf.Status), Reason: reason, At: at,
	})
}

// refundSKU tags a refund with the order's products (bKash requires a SKU).
func refundSKU(o Order) string {
	skus := make([]string, 0, len(o.Items))
	for _, it := range o.Items {
		skus = append(skus, it.SKU)
	}
	sku := strings.Join(skus, ",")
	if len(sku) > 255 {
		sku = sku[:255]
	}
	if sku == "" {
		sku = o.ID
	}
	return sku
}

type logsPage struct {
	Filter   LogFilter
	API      []APILogEntry
	Webhooks []WebhookLogEntry
}

// handleLogs lists the audit trail: api_log and webhook_log, filtered by
// ?order=, ?payment= (a paymentID or trxID) and ?outcome=ok|failed.
func (s *Shop) handleLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := LogFilter{
		OrderID:   strings.TrimSpace(q.Get("order")),
		PaymentID: strings.TrimSpace(q.Get("payment")),
		Outcome:   q.Get("outcome"),
	}
	if f.Outcome != "ok" && f.Outcome != "failed" {
		f.Outcome = ""
	}
	api, err := s.store.APILogs(r.Context(), f)
	if err == nil {
		var hooks []WebhookLogEntry
		hooks, err = s.store.WebhookLogs(r.Context(), f)
		if err == nil {
			s.render(w, r, http.StatusOK, "logs", view{Title: "Admin: API and webhook logs", Nav: "admin", Page: logsPage{Filter: f, API: api, Webhooks: hooks}})
			return
		}
	}
	s.log.Error("admin: logs", "err", err)
	s.fail(w, r, http.StatusInternalServerError, "The logs could not be read.")
}
