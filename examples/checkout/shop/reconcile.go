package shop

import (
	"context"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go"
)

// The reconciler settles what nobody knows yet, with reads only:
//
//   - payments whose execute got no answer ("processing"): each one is
//     handed to a bkash.Reconciler, which queries it with backoff until bKash
//     reports a final state, the payment expires (24 hours) or bKash does not
//     know it;
//   - saved wallets whose agreement execute got no answer: Payments.Query of
//     the agreement-creation paymentID, then Agreements.Query;
//   - refunds whose outcome is unknown: Refunds.Status.
//
// It never re-sends execute or refund: bKash may have processed the first
// one. (bkash.Reconciler can execute approved payments whose callback never
// arrived, FinalizeApproved; the shop leaves that off, since every payment it
// reconciles was already sent to execute once.)

// wake asks the reconciler to run now instead of at its next tick.
func (s *Shop) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Shop) reconciler(ctx context.Context) {
	defer close(s.done)
	var watchers sync.WaitGroup
	defer watchers.Wait() // ctx is cancelled: every bkash.Reconciler returns
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.reconcilePass(ctx, &watchers)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// reconcilePass starts watching new processing payments and settles pending
// refunds and wallet links.
func (s *Shop) reconcilePass(ctx context.Context, watchers *sync.WaitGroup) {
	orders, err := s.store.OrdersToReconcile()
	if err != nil {
		s.log.Warn("reconcile: list orders", "err", err)
		return
	}
	for _, o := range orders {
		for _, a := range o.Attempts {
			if a.State != AttemptExecuting {
				continue
			}
			if _, busy := s.inflight.Load(a.PaymentID); busy {
				continue // its request handler is still waiting for bKash
			}
			if _, watched := s.watching.LoadOrStore(a.PaymentID, struct{}{}); watched {
				continue
			}
			watchers.Go(func() {
				defer s.watching.Delete(a.PaymentID)
				s.watchPayment(ctx, o.ID, a.PaymentID)
			})
		}
		// A refund whose outcome is unknown is read only once bKash's own
		// deadline (plus skew) has passed: before that, "not listed" means
		// nothing.
		if o.RefundPending != nil && s.now().Sub(o.RefundPending.At) >= s.refundSettle {
			if _, err := s.reconcileRefund(ctx, o.ID); err != nil {
				s.log.Warn("reconcile refund", "order", o.ID, "err", err)
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
	linking, err := s.store.WalletsInState(WalletLinking)
	if err != nil {
		s.log.Warn("reconcile: list wallets", "err", err)
		return
	}
	for _, w := range linking {
		if _, busy := s.inflight.Load(w.PaymentID); busy {
			continue
		}
		s.reconcileWallet(ctx, w.PaymentID)
		if ctx.Err() != nil {
			return
		}
	}
}

// watchPayment reads the payment until it is final and records the result.
func (s *Shop) watchPayment(ctx context.Context, orderID, paymentID string) {
	rec := bkash.Reconciler{
		Payments:    s.client.Payments,
		MinInterval: s.every,
		MaxInterval: 30 * s.every,
		Concurrency: 1,
		Now:         s.now,
		Report: func(res bkash.ReconcileResult) {
			var p *bkash.Payment
			switch res.Outcome {
			case bkash.ReconcileSettled:
				p = res.Payment
			case bkash.ReconcileExpired:
				p = &bkash.Payment{PaymentID: paymentID, Status: "Expired"}
			case bkash.ReconcileNotFound:
				// bKash does not know it (e.g. the fake restarted): never executed.
				p = &bkash.Payment{PaymentID: paymentID, Status: "unknown to bKash"}
			default:
				return // abandoned: the shop is stopping; the next start resumes
			}
			o, err := s.settle(orderID, paymentID, p)
			if err != nil {
				s.log.Error("reconcile: record", "order", orderID, "err", err)
				return
			}
			s.log.Info("reconciled payment", "order", orderID, "paymentID", paymentID,
				"outcome", res.Outcome.String(), "reads", res.Reads, "order_status", o.Status)
		},
	}
	_ = rec.Run(ctx, paymentID)
}
