package shop

import (
	"context"
	"errors"
	"time"

	"github.com/smartdairy/bkash-go"
)

// The reconciler settles what nobody knows yet, with reads only:
//
//   - payments whose execute got no answer ("processing"): Payments.Query;
//   - saved wallets whose agreement execute got no answer: Payments.Query of
//     the agreement-creation paymentID, then Agreements.Query;
//   - refunds whose outcome is unknown: Refunds.Status.
//
// It never re-sends execute or refund: bKash may have processed the first one.

// wake asks the reconciler to run now instead of at its next tick.
func (s *Shop) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Shop) reconciler(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		s.ReconcileOnce(ctx)
	}
}

// ReconcileOnce runs one reconciliation pass. The background reconciler
// calls it periodically; it is exported for tests and tools.
func (s *Shop) ReconcileOnce(ctx context.Context) {
	for _, o := range s.store.Orders(func(o *Order) bool { return hasExecuting(o) || o.RefundPending != nil }) {
		for _, a := range o.Attempts {
			if a.State != AttemptExecuting {
				continue
			}
			if _, busy := s.inflight.Load(a.PaymentID); busy {
				continue // its request handler is still waiting for bKash
			}
			s.reconcilePayment(ctx, o.ID, a.PaymentID)
		}
		if o.RefundPending != nil {
			if _, err := s.reconcileRefund(ctx, o.ID); err != nil {
				s.log.Warn("reconcile refund", "order", o.ID, "err", err)
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
	for _, w := range s.store.Wallets(func(w *Wallet) bool { return w.State == WalletLinking }) {
		if _, busy := s.inflight.Load(w.PaymentID); busy {
			continue
		}
		s.reconcileWallet(ctx, w.PaymentID)
		if ctx.Err() != nil {
			return
		}
	}
}

func (s *Shop) reconcilePayment(ctx context.Context, orderID, paymentID string) {
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	p, err := s.client.Payments.Query(qctx, paymentID)
	var apiErr *bkash.APIError
	switch {
	case err == nil:
		o, err := s.settle(orderID, paymentID, p)
		if err != nil {
			s.log.Error("reconcile: record", "order", orderID, "err", err)
			return
		}
		s.log.Info("reconciled payment", "order", orderID, "paymentID", paymentID, "bkash", p.Status, "order_status", o.Status)
	case errors.As(err, &apiErr) && errors.Is(err, bkash.CodeInvalidPaymentID):
		// bKash does not know the payment (e.g. the fake restarted): it was
		// never executed.
		_, _ = s.settle(orderID, paymentID, &bkash.Payment{PaymentID: paymentID, Status: "Unknown to bKash"})
	default:
		s.log.Warn("reconcile: query", "order", orderID, "paymentID", paymentID, "err", err)
	}
}
