package bkash_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// Integration tests of reconcile.go that are not in reconcile_test.go: what
// a Reconciler's Observer sees (harness: harness_test.go).

func TestReconcilerObserverSeesEachResultWithRunsContext(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	p := createPayment(t, c, "INV-OBS")
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	if _, err := c.Payments.Execute(context.Background(), p.PaymentID); !errors.Is(err, bkash.ErrOutcomeUnknown) {
		t.Fatalf("Execute error = %v, want outcome unknown", err)
	}
	var res collect
	var log eventLog
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report, Observer: &log,
		MinInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond}
	ctx := context.WithValue(context.Background(), obsKey{}, "sweep-1")
	if err := r.Run(ctx, p.PaymentID, "TR00000000000UNKNOWN"); err != nil {
		t.Fatal(err)
	}
	if len(log.settled) != 2 {
		t.Fatalf("%d settlement events, want 2", len(log.settled))
	}
	byID := map[string]bkash.SettlementEvent{}
	for _, e := range log.settled {
		byID[e.PaymentID] = e
		if e.Context().Value(obsKey{}) != "sweep-1" {
			t.Errorf("%s: event lost Run's context", e.PaymentID)
		}
		if want := res.got[e.PaymentID]; e.Outcome != want.Outcome || e.Reads != want.Reads {
			t.Errorf("%s: event %v/%d, Report %v/%d", e.PaymentID, e.Outcome, e.Reads, want.Outcome, want.Reads)
		}
	}
	if e := byID[p.PaymentID]; e.Outcome != bkash.ReconcileSettled || e.Payment.Status != bkash.StatusCompleted {
		t.Errorf("settled event = %+v", e.ReconcileResult)
	}
	if e := byID["TR00000000000UNKNOWN"]; e.Outcome != bkash.ReconcileNotFound || !errors.Is(e.Err, bkash.CodeInvalidPaymentID) {
		t.Errorf("not-found event = %+v", e.ReconcileResult)
	}
	// Abandoned results are observed too.
	var log2 eventLog
	r2 := &bkash.Reconciler{Payments: c.Payments, Report: func(bkash.ReconcileResult) {}, Observer: &log2}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = r2.Run(cctx, "TR0000000000ABANDON")
	if len(log2.settled) != 1 || log2.settled[0].Outcome != bkash.ReconcileAbandoned {
		t.Errorf("abandoned: events %+v", log2.settled)
	}
}
