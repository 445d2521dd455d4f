package bkash

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go/internal/transport"
)

// PaymentExpiry is how long bKash keeps an unexecuted payment: a paymentID
// that was not executed within 24 hours of its creation can no longer be.
const PaymentExpiry = 24 * time.Hour

// Reconciler brings payments whose outcome is unknown to a known, final
// state by reading them from bKash.
//
// Use it for two situations:
//
//   - Execute, Capture or Void returned an *OutcomeUnknownError (a timeout,
//     a dropped connection, a cancelled context) and a Finalize could not
//     settle it either.
//   - The callback never arrived: the customer paid (or gave up) on bKash's
//     page, but the browser never came back to the shop (closed tab, lost
//     network, a crashed server). bKash then keeps the payment Initiated
//     until it expires 24 hours after creation. With FinalizeApproved set,
//     the Reconciler executes payments the customer did approve
//     (verificationStatus "Complete"), exactly as the callback handler would
//     have; without it, it only reports them when they expire.
//
// The Reconciler sends at most one execute per payment it is reconciling:
// after one whose outcome is unknown it only reads the payment. It cannot
// know about executes sent before the payment was given to it: give a
// Reconciler with FinalizeApproved the payments that were never executed,
// and reconcile those whose Execute outcome is unknown without it (or accept
// that one that still reads Initiated and approved is executed once more;
// bKash answers 2117 to a repeat it has processed).
//
// Run queries each payment with backoff until it is final: Completed,
// Authorized or Cancelled (or any other status bKash reports that is not
// Initiated), Expired, or NotFound. Each result is reported exactly once
// through Report. Serve is the long-running form for a server: it
// reconciles whatever Add gives it until its context ends. Configure the
// exported fields before Run or Serve and do not change them afterwards.
type Reconciler struct {
	// Payments is the service used to query and finalize. Required.
	Payments *PaymentService
	// Report receives each payment's result once. Required. It is called from
	// the Reconciler's worker goroutines, possibly concurrently.
	Report func(ReconcileResult)
	// FinalizeApproved executes payments that the customer approved but whose
	// callback never arrived (query: Initiated, verificationStatus Complete).
	FinalizeApproved bool
	// MinInterval and MaxInterval bound the backoff between two reads of one
	// payment (defaults 2s and 5m).
	MinInterval, MaxInterval time.Duration
	// Concurrency bounds the reads in flight (default 4).
	Concurrency int
	// Now is the clock used for the 24-hour expiry (default time.Now).
	Now func() time.Time
	// Observer, if set, receives each result as Report does, with the
	// context of Run or Serve: for metrics and tracing beside the
	// application's own Report.
	Observer ReconcileObserver

	mu     sync.Mutex
	queued []string      // given to Add, not yet taken by the scheduler
	wake   chan struct{} // tells the scheduler that queued is not empty
}

// ReconcileOutcome says how a reconciled payment ended.
type ReconcileOutcome int

const (
	// ReconcileSettled: bKash reports a final status (Payment.Status).
	ReconcileSettled ReconcileOutcome = iota + 1
	// ReconcileExpired: still Initiated 24 hours after creation; bKash will
	// never execute it and no money moved.
	ReconcileExpired
	// ReconcileNotFound: bKash does not know the paymentID (code 2002).
	ReconcileNotFound
	// ReconcileAbandoned: Run's context ended before the payment was final.
	ReconcileAbandoned
)

// String returns "settled", "expired", "not-found" or "abandoned".
func (o ReconcileOutcome) String() string {
	switch o {
	case ReconcileSettled:
		return "settled"
	case ReconcileExpired:
		return "expired"
	case ReconcileNotFound:
		return "not-found"
	case ReconcileAbandoned:
		return "abandoned"
	}
	return "unknown"
}

// ReconcileResult is the final word on one payment.
type ReconcileResult struct {
	PaymentID string
	Outcome   ReconcileOutcome
	Payment   *Payment // the last state read from bKash; nil if none was read
	Reads     int      // how many times the payment was queried
	// Err is the last error, for ReconcileAbandoned and ReconcileNotFound.
	// For an abandoned payment whose execute (sent by this Run) had an
	// unknown outcome, it is that execute's error, matching ErrOutcomeUnknown.
	Err error
}

// ReconcileObserver receives a Reconciler's results (see
// Reconciler.Observer). ObserveSettlement is called from the Reconciler's
// goroutines, possibly concurrently, and must be fast. Package
// github.com/smartdairy/bkash-go/otel implements it.
type ReconcileObserver interface {
	ObserveSettlement(SettlementEvent)
}

// SettlementEvent is one reconciled payment's result. Its Payment holds
// the customer's wallet number: keep it out of spans and metrics.
type SettlementEvent struct {
	ReconcileResult

	ctx context.Context
}

// Context returns the context of the Run or Serve that reported the
// result. It is never nil.
func (e SettlementEvent) Context() context.Context { return orBackground(e.ctx) }

type reconcileItem struct {
	id       string
	due      time.Time
	reads    int // queries made; also the backoff step
	last     *Payment
	err      error
	index    int
	executed bool  // an execute sent by the Reconciler may have reached bKash
	execErr  error // its error when its outcome is unknown
}

type reconcileQueue []*reconcileItem

func (q reconcileQueue) Len() int           { return len(q) }
func (q reconcileQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q reconcileQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i]; q[i].index = i; q[j].index = j }
func (q *reconcileQueue) Push(x any) {
	it := x.(*reconcileItem)
	it.index = len(*q)
	*q = append(*q, it)
}
func (q *reconcileQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return it
}

// Run reconciles the given payments and returns when every one of them was
// reported, or when ctx ends (the rest are then reported as
// ReconcileAbandoned and Run returns ctx's error). Duplicate IDs are
// reconciled once. Payments passed to Add while Run runs are reconciled too
// before it returns. Run starts at most Concurrency goroutines and stops them
// all before it returns.
func (r *Reconciler) Run(ctx context.Context, paymentIDs ...string) error {
	return r.loop(ctx, paymentIDs, false)
}

// Serve reconciles the payments given to Add, for as long as ctx lasts: the
// long-running form of Run for a server, which calls Add whenever a payment's
// outcome is unknown or its callback is overdue. When ctx ends, the payments
// not yet final are reported as ReconcileAbandoned and Serve returns ctx's
// error. Run one Serve (or Run) at a time per Reconciler.
func (r *Reconciler) Serve(ctx context.Context) error {
	return r.loop(ctx, nil, true)
}

// Add queues payments for the running Serve or Run, or for the next one to
// start. It never blocks. A payment already being reconciled is not added
// twice; once reported, the same ID can be added again.
func (r *Reconciler) Add(paymentIDs ...string) {
	r.mu.Lock()
	r.queued = append(r.queued, paymentIDs...)
	wake := r.wakeLocked()
	r.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (r *Reconciler) wakeLocked() chan struct{} {
	if r.wake == nil {
		r.wake = make(chan struct{}, 1)
	}
	return r.wake
}

// takeQueued returns and clears the IDs given to Add.
func (r *Reconciler) takeQueued() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := r.queued
	r.queued = nil
	return ids
}

// loop is the scheduler of Run and Serve: a heap of payments ordered by
// their next read, served by a fixed pool of workers.
func (r *Reconciler) loop(ctx context.Context, initial []string, serve bool) error {
	if r.Payments == nil || r.Report == nil {
		return errors.New("bkash: Reconciler needs Payments and Report")
	}
	workers := r.Concurrency
	if workers <= 0 {
		workers = 4
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	r.mu.Lock()
	wake := r.wakeLocked()
	r.mu.Unlock()

	var q reconcileQueue
	active := map[string]bool{} // queued or in flight, not yet reported
	add := func(ids []string) {
		for _, id := range ids {
			if id != "" && !active[id] {
				active[id] = true
				heap.Push(&q, &reconcileItem{id: id})
			}
		}
	}
	add(initial)
	add(r.takeQueued())
	if len(active) == 0 && !serve {
		return nil
	}

	work := make(chan *reconcileItem)
	done := make(chan *reconcileItem)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				r.step(ctx, it, now)
				done <- it // the scheduler receives until every dispatched item is back
			}
		}()
	}
	defer wg.Wait()
	defer close(work)

	abandon := func(it *reconcileItem) {
		err := it.err
		if it.execErr != nil {
			err = it.execErr // what the caller must know: an execute may be in flight
		}
		if err == nil {
			err = ctx.Err()
		}
		r.report(ctx, ReconcileResult{PaymentID: it.id, Outcome: ReconcileAbandoned, Payment: it.last, Reads: it.reads, Err: err})
	}

	inFlight := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for serve || len(active) > 0 {
		var next *reconcileItem
		if q.Len() > 0 && inFlight < workers {
			next = q[0]
		}
		var dispatch chan *reconcileItem
		if next != nil {
			if wait := time.Until(next.due); wait > 0 {
				resetTimer(timer, wait)
			} else {
				dispatch = work
			}
		}
		select {
		case dispatch <- next:
			heap.Pop(&q)
			inFlight++
		case it := <-done:
			inFlight--
			if it.due.IsZero() { // reported
				delete(active, it.id)
				continue
			}
			heap.Push(&q, it)
		case <-wake:
			add(r.takeQueued())
		case <-timer.C:
		case <-ctx.Done():
			for ; inFlight > 0; inFlight-- {
				if it := <-done; !it.due.IsZero() {
					abandon(it)
				}
			}
			for q.Len() > 0 {
				abandon(heap.Pop(&q).(*reconcileItem))
			}
			for _, id := range r.takeQueued() {
				if id != "" && !active[id] {
					abandon(&reconcileItem{id: id})
				}
			}
			return ctx.Err()
		}
	}
	return nil
}

// step reads one payment once and either reports it (it.due set to zero) or
// schedules its next read.
func (r *Reconciler) step(ctx context.Context, it *reconcileItem, now func() time.Time) {
	minI, maxI := r.intervals()
	p, err := r.Payments.Query(ctx, it.id)
	it.reads++
	if err == nil {
		it.last, it.err = p, nil
		switch {
		case p.Status == StatusExpired:
			r.final(ctx, it, ReconcileExpired)
			return
		case p.Status != StatusInitiated:
			r.final(ctx, it, ReconcileSettled)
			return
		case !p.CreatedAt.IsZero() && now().After(p.CreatedAt.Add(PaymentExpiry)):
			r.final(ctx, it, ReconcileExpired)
			return
		case r.FinalizeApproved && p.VerificationStatus == "Complete" && !it.executed:
			fp, ferr := r.Payments.Finalize(ctx, it.id)
			if ferr == nil && fp != nil && fp.Status != StatusInitiated {
				it.last = fp
				r.final(ctx, it, ReconcileSettled)
				return
			}
			// Once an execute may have reached bKash it is never sent
			// again, as Finalize's own rule says: the payment is only read
			// from now on. A definite refusal, or a failure before sending,
			// leaves it to be tried again.
			if errors.Is(ferr, ErrOutcomeUnknown) {
				it.execErr = ferr
			}
			it.executed = ferr == nil || it.execErr != nil
			it.err = ferr
		}
	} else {
		it.err = err
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == CodeInvalidPaymentID {
			r.final(ctx, it, ReconcileNotFound)
			return
		}
	}
	wait := transport.Backoff(minI, maxI, it.reads-1)
	if wait < minI/2 {
		wait = minI / 2 // keep a floor: a payment is never polled in a tight loop
	}
	it.due = time.Now().Add(wait)
}

func (r *Reconciler) final(ctx context.Context, it *reconcileItem, o ReconcileOutcome) {
	it.due = time.Time{}
	res := ReconcileResult{PaymentID: it.id, Outcome: o, Payment: it.last, Reads: it.reads}
	if o == ReconcileNotFound {
		res.Err = it.err
	}
	r.report(ctx, res)
}

// report gives res to Report and then to the Observer.
func (r *Reconciler) report(ctx context.Context, res ReconcileResult) {
	r.Report(res)
	if r.Observer != nil {
		r.Observer.ObserveSettlement(SettlementEvent{ReconcileResult: res, ctx: ctx})
	}
}

func (r *Reconciler) intervals() (time.Duration, time.Duration) {
	minI, maxI := r.MinInterval, r.MaxInterval
	if minI <= 0 {
		minI = 2 * time.Second
	}
	if maxI < minI {
		maxI = max(5*time.Minute, minI)
	}
	return minI, maxI
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(d)
}
