package bkash_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// TestReconcilerDoesNotCallExpiredAPaymentItsExecuteMayStillComplete: the
// Reconciler executes an approved payment ten seconds before its 24 hours
// are up, and the execute's outcome is unknown. A read twenty seconds later
// still shows it Initiated, now past the expiry, but bKash may still be
// processing that execute (SettleDelay): reporting ReconcileExpired, "no
// money moved", would let the shop cancel an order the customer may have
// paid for. It is Expired only once the execute can no longer take effect.
func TestReconcilerDoesNotCallExpiredAPaymentItsExecuteMayStillComplete(t *testing.T) {
	t.Parallel()
	start := time.Now()
	created := start.Add(-bkash.PaymentExpiry + 10*time.Second)
	srv, c := newIntegration(t, []bkashtest.Option{bkashtest.WithClock(func() time.Time { return created })})
	p := createPayment(t, c, "INV-EXPIRY-EDGE")
	if err := srv.Approve(p.PaymentID, fakeWallet); err != nil {
		t.Fatal(err)
	}
	// The execute is lost on its way: nothing applied it yet, nothing says
	// it will not be.
	srv.Inject("payment.execute", bkashtest.Fault{Drop: true})

	// The Reconciler's clock: ten seconds before the expiry until it has
	// sent the execute, then twenty seconds past it (within SettleDelay of
	// the execute) for a few reads, then two minutes later.
	const settledAfterQueries = 8 // 1 read, 3 of Finalize's, then 4 more
	now := func() time.Time {
		switch {
		case srv.Received("payment.execute") == 0:
			return start
		case srv.Received("payment.query") < settledAfterQueries:
			return start.Add(20 * time.Second)
		}
		return start.Add(2 * time.Minute)
	}
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, FinalizeApproved: true, Now: now,
		MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond,
		Report: func(got bkash.ReconcileResult) {
			if got.Outcome == bkash.ReconcileExpired && srv.Received("payment.query") < settledAfterQueries {
				t.Errorf("reported expired after %d reads, while its execute may still complete", got.Reads)
			}
			res.report(got)
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	if got := res.got[p.PaymentID]; got.Outcome != bkash.ReconcileExpired {
		t.Errorf("outcome = %v, want expired once the execute can no longer complete", got.Outcome)
	}
	if n := srv.Received("payment.execute"); n != 1 {
		t.Errorf("execute sent %d times, want 1", n)
	}
}

// TestReconcilerReadsAgainAfterAnAnswerWithoutStatus: a query answer
// without transactionStatus (an empty object, a bare success envelope from
// a proxy) says nothing about the payment. The Reconciler took it for a
// final state other than Initiated and reported the payment settled with an
// empty Status, which a shop reads as "not paid".
func TestReconcilerReadsAgainAfterAnAnswerWithoutStatus(t *testing.T) {
	t.Parallel()
	m := newMockBkash(t)
	m.replies(pathPaymentQuery, http.StatusOK, `{}`, `{"statusCode":"0000","statusMessage":"Successful"}`,
		`{"statusCode":"0000","statusMessage":"Successful","paymentID":"`+benchPaymentID+`","trxID":"CLA7K2M9QZ","transactionStatus":"Completed","verificationStatus":"Complete"}`)
	var res collect
	r := &bkash.Reconciler{Payments: m.client.Payments, Report: res.report,
		MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx, benchPaymentID); err != nil {
		t.Fatal(err)
	}
	got := res.got[benchPaymentID]
	if got.Outcome != bkash.ReconcileSettled || got.Payment == nil || got.Payment.Status != bkash.StatusCompleted || got.Reads != 3 {
		t.Errorf("result = %+v (payment %+v), want settled Completed after 3 reads", got, got.Payment)
	}
}

// pathPaymentQuery is the path of Payments.Query on the sandbox host.
const pathPaymentQuery = "/v1.2.0-beta/tokenized/checkout/payment/status"
