package bkash

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sort"
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

	// The schedule shared by the workers of Run or Serve, guarded by mu.
	// Add writes to it whether or not a Run is under way, so payments
	// given before Run or Serve starts wait here for it.
	mu      sync.Mutex
	waiting []*waiter       // payments to read, the one due first at [0]
	pending map[string]bool // IDs waiting or being read, not yet reported
	changed chan struct{}   // closed (and replaced) whenever the schedule changes
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

// Run reconciles the given payments and returns when every one of them was
// reported, or when ctx ends (the rest are then reported as
// ReconcileAbandoned and Run returns ctx's error). Duplicate IDs are
// reconciled once. Payments passed to Add while Run runs are reconciled too
// before it returns. Run starts at most Concurrency goroutines and stops them
// all before it returns.
func (r *Reconciler) Run(ctx context.Context, paymentIDs ...string) error {
	return r.run(ctx, paymentIDs, false)
}

// Serve reconciles the payments given to Add, for as long as ctx lasts: the
// long-running form of Run for a server, which calls Add whenever a payment's
// outcome is unknown or its callback is overdue. When ctx ends, the payments
// not yet final are reported as ReconcileAbandoned and Serve returns ctx's
// error. Run one Serve (or Run) at a time per Reconciler.
func (r *Reconciler) Serve(ctx context.Context) error {
	return r.run(ctx, nil, true)
}

// Add queues payments for the running Serve or Run, or for the next one to
// start. It never blocks. A payment already being reconciled is not added
// twice; once reported, the same ID can be added again.
func (r *Reconciler) Add(paymentIDs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range paymentIDs {
		if id == "" || r.pending[id] {
			continue
		}
		if r.pending == nil {
			r.pending = map[string]bool{}
		}
		r.pending[id] = true
		r.scheduleLocked(&waiter{id: id}) // due at once
	}
}

// A waiter is one payment's wait for a final state, in the manner of
// aws-sdk-go-v2's waiters: read it, decide what the answer means, back
// off, read again. poll and backoff are its loop's body; the pool (run,
// below) does the sleeping, so that a payment between two reads holds no
// goroutine.
type waiter struct {
	id    string
	due   time.Time // when the next read may start
	reads int       // queries made; also the backoff step
	last  *Payment  // the last state read from bKash
	err   error     // the last read's or execute's error

	// executed: an execute sent by this waiter may have reached bKash, so
	// none is sent again. execErr is that execute's error when its outcome
	// is unknown.
	executed bool
	execErr  error
}

// poll reads the payment once and says what the answer means: a final
// outcome, or 0 to read it again later.
func (r *Reconciler) poll(ctx context.Context, w *waiter) ReconcileOutcome {
	p, err := r.Payments.Query(ctx, w.id)
	w.reads++
	if err != nil {
		w.err = err
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == CodeInvalidPaymentID {
			return ReconcileNotFound
		}
		return 0 // a failed read says nothing about the payment: read again
	}
	if p.Status == "" {
		// An answer without transactionStatus (an empty object, a bare
		// envelope) is no state at all, least of all a final one.
		w.err = errorf(epPaymentQuery.op, "answer without transactionStatus")
		return 0
	}
	w.last, w.err = p, nil
	now := r.now()
	switch {
	case p.Status == StatusExpired:
		return ReconcileExpired
	case p.Status != StatusInitiated:
		return ReconcileSettled
	case !p.CreatedAt.IsZero() && now.After(p.CreatedAt.Add(PaymentExpiry)) && !w.mayStillExecute(now):
		return ReconcileExpired
	case r.FinalizeApproved && p.VerificationStatus == "Complete" && !w.executed:
		return r.finalize(ctx, w)
	}
	return 0 // still Initiated: the customer has not finished on bKash's page
}

// mayStillExecute reports whether the waiter's execute, whose outcome is
// unknown, may still take effect at bKash at now: until its SettleAfter.
// A payment it may execute is not expired yet, whatever its age.
func (w *waiter) mayStillExecute(now time.Time) bool {
	var ue *OutcomeUnknownError
	return errors.As(w.execErr, &ue) && !now.After(ue.SettleAfter())
}

// finalize executes an approved payment whose callback never arrived. It
// returns ReconcileSettled when bKash's answer is final, else 0.
func (r *Reconciler) finalize(ctx context.Context, w *waiter) ReconcileOutcome {
	p, err := r.Payments.Finalize(ctx, w.id)
	if err == nil && p != nil && p.Status != StatusInitiated {
		w.last = p
		return ReconcileSettled
	}
	// Once an execute may have reached bKash it is never sent again, as
	// Finalize's own rule says: the payment is only read from now on. A
	// definite refusal, or a failure before sending, leaves it to be tried
	// again; so does the gateway's "not sent, retry later" (an *APIError
	// that is Temporary: 429 without a bKash code), which never reached
	// bKash and is not the waiter's one execute.
	if errors.Is(err, ErrOutcomeUnknown) {
		w.execErr = err
	}
	w.executed = err == nil || w.execErr != nil
	w.err = err
	return 0
}

// backoff is the wait after a payment's reads-th read: jittered, doubling
// from MinInterval up to MaxInterval, and never below half of MinInterval
// so that no payment is read in a tight loop.
func (r *Reconciler) backoff(reads int) time.Duration {
	minI := r.MinInterval
	if minI <= 0 {
		minI = 2 * time.Second
	}
	maxI := r.MaxInterval
	if maxI < minI {
		maxI = max(5*time.Minute, minI)
	}
	return max(transport.Backoff(minI, maxI, reads-1), minI/2)
}

// now is the clock for the 24-hour expiry.
func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// result is the waiter's final word, given outcome o. ctxErr is the error
// of the context that ended, for an abandoned payment.
func (w *waiter) result(o ReconcileOutcome, ctxErr error) ReconcileResult {
	res := ReconcileResult{PaymentID: w.id, Outcome: o, Payment: w.last, Reads: w.reads}
	switch o {
	case ReconcileNotFound:
		res.Err = w.err
	case ReconcileAbandoned:
		// First what the caller must know: an execute that may be in flight.
		res.Err = cmp.Or(w.execErr, w.err, ctxErr)
	}
	return res
}

// run is the pool of Run (serve false: stop when every payment was
// reported) and Serve (serve true: stop only when ctx ends). It starts
// Concurrency workers. Each takes the payment due first from the schedule
// (sleeping until it is due), reads it once (poll), and either reports it
// or puts it back with the time of its next read. A payment waiting for
// its next read holds no goroutine, so a Serve with thousands of abandoned
// checkouts still runs on Concurrency goroutines.
func (r *Reconciler) run(ctx context.Context, paymentIDs []string, serve bool) error {
	if r.Payments == nil || r.Report == nil {
		return errors.New("bkash: Reconciler needs Payments and Report")
	}
	r.Add(paymentIDs...)
	workers := r.Concurrency
	if workers <= 0 {
		workers = 4
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, serve)
		}()
	}
	wg.Wait()
	if ctx.Err() == nil {
		return nil // Run: every payment was reported
	}

	// ctx ended and no worker is reading: whatever is left is abandoned.
	r.mu.Lock()
	left := r.waiting
	r.waiting = nil
	for _, w := range left {
		delete(r.pending, w.id)
	}
	r.mu.Unlock()
	if !serve && len(left) == 0 {
		return nil // the last payment was reported as ctx ended
	}
	for _, w := range left {
		r.report(ctx, w.result(ReconcileAbandoned, ctx.Err()))
	}
	return ctx.Err()
}

// work is one worker's loop.
func (r *Reconciler) work(ctx context.Context, serve bool) {
	for {
		w := r.next(ctx, serve)
		if w == nil {
			return
		}
		outcome := r.poll(ctx, w)
		if outcome == 0 {
			w.due = time.Now().Add(r.backoff(w.reads))
			r.schedule(w)
			continue
		}
		// Forget it before reporting, so that Report may Add it again.
		r.mu.Lock()
		delete(r.pending, w.id)
		r.wakeWorkersLocked() // a worker of Run may be waiting for the last one
		r.mu.Unlock()
		r.report(ctx, w.result(outcome, nil))
	}
}

// next takes the payment due first from the schedule once it is due. It
// returns nil when the worker should stop: ctx ended, or (not serving)
// every payment was reported.
func (r *Reconciler) next(ctx context.Context, serve bool) *waiter {
	for {
		r.mu.Lock()
		if ctx.Err() != nil || (!serve && len(r.pending) == 0) {
			r.mu.Unlock()
			return nil
		}
		wait := time.Duration(-1) // nothing is waiting: sleep until something changes
		if len(r.waiting) > 0 {
			w := r.waiting[0]
			if wait = time.Until(w.due); wait <= 0 {
				r.waiting = slices.Delete(r.waiting, 0, 1)
				r.mu.Unlock()
				return w
			}
		}
		changed := r.nextChangeLocked()
		r.mu.Unlock()
		idle(ctx, wait, changed)
	}
}

// schedule puts w back in the schedule, to be read at w.due.
func (r *Reconciler) schedule(w *waiter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scheduleLocked(w)
}

// scheduleLocked inserts w after every payment due no later than it, so
// that payments due at the same time are read in the order they came.
func (r *Reconciler) scheduleLocked(w *waiter) {
	i := sort.Search(len(r.waiting), func(i int) bool { return r.waiting[i].due.After(w.due) })
	r.waiting = slices.Insert(r.waiting, i, w)
	r.wakeWorkersLocked() // w may be due before what the idle workers wait for
}

// nextChangeLocked returns the channel that is closed at the schedule's
// next change.
func (r *Reconciler) nextChangeLocked() <-chan struct{} {
	if r.changed == nil {
		r.changed = make(chan struct{})
	}
	return r.changed
}

// wakeWorkersLocked wakes the workers sleeping in next, to look again.
func (r *Reconciler) wakeWorkersLocked() {
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// idle waits for d (for ever if d is negative), until changed is closed,
// or until ctx ends, whichever comes first.
func idle(ctx context.Context, d time.Duration, changed <-chan struct{}) {
	var timeUp <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeUp = t.C
	}
	select {
	case <-timeUp:
	case <-changed:
	case <-ctx.Done():
	}
}

// report gives res to Report and then to the Observer.
func (r *Reconciler) report(ctx context.Context, res ReconcileResult) {
	r.Report(res)
	if r.Observer != nil {
		r.Observer.ObserveSettlement(SettlementEvent{ReconcileResult: res, ctx: ctx})
	}
}
