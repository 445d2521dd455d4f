package bkash_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// fakeClock is a settable clock shared by the fake bKash and the reconciler.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestReconcilerExecutesApprovedPaymentWhoseCallbackNeverArrived(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	p := createPayment(t, c, "INV-CB-LOST")
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report, FinalizeApproved: true,
		MinInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond}
	if err := r.Run(context.Background(), p.PaymentID); err != nil {
		t.Fatal(err)
	}
	got := res.got[p.PaymentID]
	if got.Outcome != bkash.ReconcileSettled || got.Payment == nil || got.Payment.Status != bkash.StatusCompleted || got.Payment.TrxID == "" {
		t.Fatalf("result = %+v, want settled Completed with a trxID", got)
	}
	if n := srv.Applied("payment.execute"); n != 1 {
		t.Fatalf("execute applied %d times, want 1", n)
	}
	truth, _ := srv.Payment(p.PaymentID)
	if diff := cmp.Diff(truth.TrxID, got.Payment.TrxID); diff != "" {
		t.Fatalf("trxID differs from the server's truth (-server +reconciler):\n%s", diff)
	}
}

func TestReconcilerWithoutFinalizeApprovedOnlyWatches(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	srv, c := newIntegration(t, []bkashtest.Option{bkashtest.WithClock(clock.Now)})
	p := createPayment(t, c, "INV-WATCH")
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond,
		Now: clock.Now, Report: res.report}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		// Let the reconciler read the Initiated payment a few times, then
		// move past the 24-hour expiry.
		for srv.Received("payment.query") < 3 {
			time.Sleep(time.Millisecond)
		}
		clock.Advance(bkash.PaymentExpiry + time.Minute)
	}()
	if err := r.Run(ctx, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	got := res.got[p.PaymentID]
	if got.Outcome != bkash.ReconcileExpired {
		t.Fatalf("outcome = %v (%+v), want expired", got.Outcome, got.Payment)
	}
	if n := srv.Applied("payment.execute"); n != 0 {
		t.Fatalf("execute applied %d times without FinalizeApproved, want 0", n)
	}
	if got.Reads < 3 {
		t.Fatalf("reads = %d, want at least 3 before the expiry", got.Reads)
	}
}

func TestReconcilerSettlesUnknownExecuteWithoutResending(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	p := createPayment(t, c, "INV-DROP")
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	_, err := c.Payments.Execute(context.Background(), p.PaymentID)
	if !errors.Is(err, bkash.ErrOutcomeUnknown) {
		t.Fatalf("Execute error = %v, want outcome unknown", err)
	}
	// The next query fails too: the reconciler must back off and read again.
	srv.Inject("payment.query", bkashtest.Fault{HTTPStatus: 500, Times: 4})
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report, FinalizeApproved: true,
		MinInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond}
	if err := r.Run(context.Background(), p.PaymentID, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	got := res.got[p.PaymentID]
	if got.Outcome != bkash.ReconcileSettled || got.Payment.Status != bkash.StatusCompleted {
		t.Fatalf("result = %+v, want settled Completed", got)
	}
	if n := srv.Applied("payment.execute"); n != 1 {
		t.Fatalf("execute applied %d times, want exactly 1", n)
	}
	if n := srv.Received("payment.execute"); n != 1 {
		t.Fatalf("execute received %d times, want exactly 1 (never re-sent)", n)
	}
	if res.n.Load() != 1 {
		t.Fatalf("%d results for one (duplicated) ID, want 1", res.n.Load())
	}
}

func TestReconcilerExecutesAPaymentAtMostOnce(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	p := createPayment(t, c, "INV-EXEC-ONCE")
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	// The callback never arrived, and the reconciler's own execute is lost
	// on its way: bKash still reports the payment Initiated and approved,
	// but the execute may yet arrive. It must not be sent again.
	srv.Inject("payment.execute", bkashtest.Fault{Drop: true, Times: 100})
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report, FinalizeApproved: true,
		MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
	// Finalize's own reconciling queries take about a second.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_ = r.Run(ctx, p.PaymentID)
	if n := srv.Received("payment.execute"); n != 1 {
		t.Fatalf("execute received %d times, want exactly 1", n)
	}
	got := res.got[p.PaymentID]
	if got.Outcome != bkash.ReconcileAbandoned || !errors.Is(got.Err, bkash.ErrOutcomeUnknown) || got.Reads < 2 {
		t.Fatalf("result = %+v, want abandoned with the unknown outcome after reading on", got)
	}
}

func TestReconcilerReportsUnknownPaymentAsNotFound(t *testing.T) {
	t.Parallel()
	_, c := newIntegration(t, nil)
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report, MinInterval: time.Millisecond}
	if err := r.Run(context.Background(), "TR0011NoSuchPayment"); err != nil {
		t.Fatal(err)
	}
	got := res.got["TR0011NoSuchPayment"]
	if got.Outcome != bkash.ReconcileNotFound || !errors.Is(got.Err, bkash.CodeInvalidPaymentID) {
		t.Fatalf("result = %+v, want not-found with code 2002", got)
	}
}

// Not parallel: it counts the Reconciler's goroutines, which other tests'
// reconcilers would add to.
func TestReconcilerStopsOnContextAndReportsTheRestAbandoned(t *testing.T) {
	_, c := newIntegration(t, nil)
	ids := make([]string, 12)
	for i := range ids {
		ids[i] = createPayment(t, c, "INV-ABANDON-"+string(rune('a'+i))).PaymentID
	}
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report, Concurrency: 3,
		MinInterval: 20 * time.Millisecond, MaxInterval: 40 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	err := r.Run(ctx, ids...)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want the context's error", err)
	}
	if int(res.n.Load()) != len(ids) {
		t.Fatalf("%d results, want one for each of %d payments", res.n.Load(), len(ids))
	}
	for _, id := range ids {
		if got := res.got[id]; got.Outcome != bkash.ReconcileAbandoned || got.Err == nil {
			t.Fatalf("%s: %+v, want abandoned", id, got)
		}
	}
	// Run's workers are gone when it returns.
	if left := goroutinesCreatedBy("github.com/smartdairy/bkash-go.(*Reconciler)"); len(left) > 0 {
		t.Fatalf("%d Reconciler goroutines left after Run:\n%s", len(left), strings.Join(left, "\n"))
	}
}

func TestReconcilerNeedsPaymentsAndReport(t *testing.T) {
	t.Parallel()
	if err := (&bkash.Reconciler{}).Run(context.Background(), "x"); err == nil {
		t.Fatal("Run without Payments and Report succeeded")
	}
	if err := (&bkash.Reconciler{Payments: &bkash.PaymentService{}, Report: func(bkash.ReconcileResult) {}}).Run(context.Background()); err != nil {
		t.Fatalf("Run with no IDs = %v, want nil", err)
	}
}

func TestReconcilerServeReconcilesWhatIsAddedUntilCancelled(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	results := make(chan bkash.ReconcileResult, 8)
	r := &bkash.Reconciler{Payments: c.Payments, FinalizeApproved: true,
		MinInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond,
		Report: func(res bkash.ReconcileResult) { results <- res }}

	early := createPayment(t, c, "INV-SERVE-EARLY")
	if err := srv.Approve(early.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	r.Add(early.PaymentID) // before Serve starts: kept for it

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.Serve(ctx) }()

	got := <-results
	if got.PaymentID != early.PaymentID || got.Outcome != bkash.ReconcileSettled || got.Payment.Status != bkash.StatusCompleted {
		t.Fatalf("first result = %+v, want %s settled Completed", got, early.PaymentID)
	}

	late := createPayment(t, c, "INV-SERVE-LATE")
	if err := srv.Approve(late.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	r.Add(late.PaymentID, late.PaymentID, "") // duplicates and empty IDs are ignored
	got = <-results
	if got.PaymentID != late.PaymentID || got.Outcome != bkash.ReconcileSettled {
		t.Fatalf("second result = %+v, want %s settled", got, late.PaymentID)
	}

	// Never approved: stays Initiated until Serve is stopped.
	open := createPayment(t, c, "INV-SERVE-OPEN")
	r.Add(open.PaymentID)
	for srv.Received("payment.query") < 6 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve = %v, want context.Canceled", err)
	}
	got = <-results
	if got.PaymentID != open.PaymentID || got.Outcome != bkash.ReconcileAbandoned {
		t.Fatalf("last result = %+v, want %s abandoned", got, open.PaymentID)
	}
	select {
	case extra := <-results:
		t.Fatalf("unexpected extra result %+v", extra)
	default:
	}
	if n := srv.Applied("payment.execute"); n != 2 {
		t.Fatalf("executed %d payments, want 2", n)
	}
}

// TestGatewayThrottlingIsNotTheReconcilersOneExecute: the gateway's 429 on
// Finalize's execute reached nobody. Finalize returns it as a Temporary
// *APIError without querying, and the Reconciler executes again later.
// Before, the 429 was an unknown outcome: Finalize queried, and the
// Reconciler counted it as its one execute and never executed the approved
// payment.
func TestGatewayThrottlingIsNotTheReconcilersOneExecute(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	p := createPayment(t, c, "INV-THROTTLED")
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}

	srv.Inject("payment.execute", bkashtest.Fault{HTTPStatus: 429})
	queries := srv.Received("payment.query")
	_, err := c.Payments.Finalize(context.Background(), p.PaymentID)
	var ae *bkash.APIError
	if !errors.As(err, &ae) || !ae.Temporary() || ae.HTTPStatus != 429 || errors.Is(err, bkash.ErrOutcomeUnknown) {
		t.Fatalf("Finalize = %v, want the gateway's Temporary *APIError", err)
	}
	if got := srv.Received("payment.query") - queries; got != 0 {
		t.Errorf("Finalize queried %d times after a refusal that reached nobody", got)
	}

	srv.Inject("payment.execute", bkashtest.Fault{HTTPStatus: 429})
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report, FinalizeApproved: true,
		MinInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Run(ctx, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	got := res.got[p.PaymentID]
	if got.Outcome != bkash.ReconcileSettled || got.Payment == nil || got.Payment.Status != bkash.StatusCompleted {
		t.Fatalf("result = %+v (err %v), want settled Completed", got, got.Err)
	}
	if n, a := srv.Received("payment.execute"), srv.Applied("payment.execute"); n != 3 || a != 1 {
		t.Errorf("executes received, applied = %d, %d; want 3 (two refused by the gateway), 1", n, a)
	}
}

// queryLog is an http.RoundTripper that records when each payment query
// starts and how many are in flight at once.
type queryLog struct {
	next     http.RoundTripper
	mu       sync.Mutex
	starts   []time.Time
	inFlight int
	most     int
}

func (q *queryLog) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/payment/status") {
		return q.next.RoundTrip(req)
	}
	q.mu.Lock()
	q.starts = append(q.starts, time.Now())
	q.inFlight++
	q.most = max(q.most, q.inFlight)
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.inFlight--
		q.mu.Unlock()
	}()
	return q.next.RoundTrip(req)
}

// newLoggedIntegration is newIntegration with payment queries logged.
func newLoggedIntegration(t *testing.T) (*bkashtest.Server, *bkash.Client, *queryLog) {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	log := &queryLog{next: tr}
	srv, c := newIntegration(t, nil, bkash.WithHTTPClient(&http.Client{Transport: log, Timeout: 5 * time.Second}))
	return srv, c, log
}

// Not parallel: it counts the Reconciler's goroutines.
func TestReconcilerReadsAtMostConcurrencyPaymentsAtOnceOnConcurrencyGoroutines(t *testing.T) {
	srv, c, log := newLoggedIntegration(t)
	ids := make([]string, 12)
	for i := range ids {
		ids[i] = createPayment(t, c, "INV-POOL-"+string(rune('a'+i))).PaymentID
	}
	srv.Inject("payment.query", bkashtest.Fault{Delay: 20 * time.Millisecond, Times: 1000})
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report, Concurrency: 3,
		MinInterval: 5 * time.Millisecond, MaxInterval: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- r.Run(ctx, ids...) }()

	// Every payment read at least once: none is final (never approved), so
	// all twelve are pending, and only three goroutines serve them.
	for srv.Received("payment.query") < 2*len(ids) {
		time.Sleep(time.Millisecond)
	}
	if got := goroutinesCreatedBy("github.com/smartdairy/bkash-go.(*Reconciler)"); len(got) != 3 {
		t.Errorf("%d Reconciler goroutines for 12 pending payments, want Concurrency (3):\n%s", len(got), strings.Join(got, "\n"))
	}
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if log.most != 3 {
		t.Errorf("at most %d queries in flight at once, want Concurrency (3)", log.most)
	}
	if int(res.n.Load()) != len(ids) {
		t.Errorf("%d results, want %d", res.n.Load(), len(ids))
	}
}

func TestReconcilerWaitsAtLeastHalfMinIntervalBetweenReads(t *testing.T) {
	t.Parallel()
	_, c, log := newLoggedIntegration(t)
	p := createPayment(t, c, "INV-SPACED") // never approved: read until the context ends
	const minInterval = 30 * time.Millisecond
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report,
		MinInterval: minInterval, MaxInterval: 60 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := r.Run(ctx, p.PaymentID); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want the context's error", err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.starts) < 3 {
		t.Fatalf("%d reads in 500ms, want at least 3", len(log.starts))
	}
	for i := 1; i < len(log.starts); i++ {
		// The jittered backoff may draw anything up to the interval; the
		// floor keeps a payment from being read in a tight loop. The upper
		// bound is MaxInterval with room for a loaded machine.
		gap := log.starts[i].Sub(log.starts[i-1])
		if gap < minInterval/2 || gap > 60*time.Millisecond+time.Second {
			t.Errorf("read %d came %v after the one before, want between %v and about MaxInterval", i, gap, minInterval/2)
		}
	}
	if got := res.got[p.PaymentID]; got.Outcome != bkash.ReconcileAbandoned || got.Reads != len(log.starts) {
		t.Errorf("result = %+v, want abandoned after %d reads", got, len(log.starts))
	}
}

func TestReconcilerRunReconcilesPaymentsAddedWhileItRuns(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	first := createPayment(t, c, "INV-RUN-FIRST")
	second := createPayment(t, c, "INV-RUN-SECOND")
	for _, p := range []*bkash.Payment{first, second} {
		if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
			t.Fatal(err)
		}
	}
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, FinalizeApproved: true,
		MinInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}
	r.Report = func(got bkash.ReconcileResult) {
		res.report(got)
		if got.PaymentID == first.PaymentID {
			r.Add(second.PaymentID) // while Run runs: Run waits for it too
		}
	}
	if err := r.Run(context.Background(), first.PaymentID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*bkash.Payment{first, second} {
		if got := res.got[p.PaymentID]; got.Outcome != bkash.ReconcileSettled || got.Payment.Status != bkash.StatusCompleted {
			t.Errorf("%s: %+v, want settled Completed before Run returned", p.PaymentID, got)
		}
	}
}

func TestReconcilerTakesAPaymentAgainOnceReported(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	p := createPayment(t, c, "INV-AGAIN")
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	var reports []bkash.ReconcileResult
	r := &bkash.Reconciler{Payments: c.Payments, FinalizeApproved: true,
		MinInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, Concurrency: 1}
	r.Report = func(got bkash.ReconcileResult) {
		reports = append(reports, got) // Concurrency 1: one report at a time
		if len(reports) == 1 {
			r.Add(p.PaymentID) // reported: the same ID may be added again
		}
	}
	if err := r.Run(context.Background(), p.PaymentID); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 {
		t.Fatalf("%d reports, want 2 (the payment was added again once reported)", len(reports))
	}
	for i, got := range reports {
		if got.Outcome != bkash.ReconcileSettled || got.Payment.Status != bkash.StatusCompleted {
			t.Errorf("report %d = %+v, want settled Completed", i, got)
		}
	}
	if n := srv.Applied("payment.execute"); n != 1 {
		t.Errorf("execute applied %d times, want 1 (the second read finds it Completed)", n)
	}
}

// What a Reconciler's Observer sees (eventLog and obsKey are in
// harness_test.go).

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
		`{"statusCode":"0000","statusMessage":"Successful","paymentID":"`+loopbackPaymentID+`","trxID":"CLA7K2M9QZ","transactionStatus":"Completed","verificationStatus":"Complete"}`)
	var res collect
	r := &bkash.Reconciler{Payments: m.client.Payments, Report: res.report,
		MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx, loopbackPaymentID); err != nil {
		t.Fatal(err)
	}
	got := res.got[loopbackPaymentID]
	if got.Outcome != bkash.ReconcileSettled || got.Payment == nil || got.Payment.Status != bkash.StatusCompleted || got.Reads != 3 {
		t.Errorf("result = %+v (payment %+v), want settled Completed after 3 reads", got, got.Payment)
	}
}

// pathPaymentQuery is the path of Payments.Query on the sandbox host.
const pathPaymentQuery = "/v1.2.0-beta/tokenized/checkout/payment/status"

// TestReconcilerNeverExecutesAgainAfter503: the Reconciler executes an
// approved payment whose callback never came; every execute is answered
// 503 {"message":"Service Unavailable"} (the gateway's answer when bKash
// behind it is too slow). A 503 does not prove bKash did not execute, so
// the Reconciler must send the execute once and only read afterwards.
func TestReconcilerNeverExecutesAgainAfter503(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	p := createPayment(t, c, "INV-503")
	if err := srv.Approve(p.PaymentID, fakeWallet); err != nil {
		t.Fatal(err)
	}
	srv.Inject("payment.execute", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, Times: 100})
	var res collect
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report, FinalizeApproved: true,
		MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_ = r.Run(ctx, p.PaymentID)
	if n := srv.Received("payment.execute"); n != 1 {
		t.Fatalf("execute received %d times after 503s, want exactly 1", n)
	}
	got := res.got[p.PaymentID]
	if got.Outcome != bkash.ReconcileAbandoned || !errors.Is(got.Err, bkash.ErrOutcomeUnknown) {
		t.Fatalf("result = %+v, want abandoned with the execute's unknown outcome", got)
	}
}

// TestAttackRefund503AfterApplySettlesAsMade: a refund that bKash made and
// answered 503 (v1 and v2) is pending, never "not made": the status read
// that follows may itself be answered 503 (Settle then returns an error and
// undecided), and once it answers, Settle finds the refund. Create is never
// sent a second time.
