// Attacks on the store's refusal (d5d80f3): a TokenBudgetStore whose
// TakeRenewal error matches ErrTokenBudgetExceeded makes the SDK send
// nothing and return that error. These tests drive the refusal through the
// renewal retry loop, refresh, a still-valid token, the renewal lock,
// singleflight, money calls that need a renewal mid-call, the observer and
// the log, and the errors.Is chain after a credentials refusal.

package bkash

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// errDBDown is the cause behind the refusing store's refusals.
var errDBDown = errors.New("dial tcp 10.0.0.7:5432: connect: connection refused")

// refusalStore is a MemoryTokenStore whose TakeRenewal refuses (fails
// closed, wrapping ErrTokenBudgetExceeded) while refusing is set, and
// counts its calls.
type refusalStore struct {
	*MemoryTokenStore
	refusing atomic.Bool
	takes    atomic.Int32 // TakeRenewal calls
	refused  atomic.Int32 // of which refused
	returns  atomic.Int32 // ReturnRenewal calls
	// refuse, when set, is the refusal (else the default one below).
	refuse func() (string, time.Time, error)
	// returnErr, when set, is ReturnRenewal's error.
	returnErr error
}

func newRefusalStore() *refusalStore { return &refusalStore{MemoryTokenStore: NewMemoryTokenStore()} }

func (s *refusalStore) TakeRenewal(ctx context.Context, key string, limit int, window time.Duration) (string, time.Time, error) {
	s.takes.Add(1)
	if s.refusing.Load() {
		s.refused.Add(1)
		if s.refuse != nil {
			return s.refuse()
		}
		return "", time.Time{}, fmt.Errorf("%w: the shop's database could not count the request: %w", ErrTokenBudgetExceeded, errDBDown)
	}
	return s.MemoryTokenStore.TakeRenewal(ctx, key, limit, window)
}

func (s *refusalStore) ReturnRenewal(ctx context.Context, key, id string) error {
	s.returns.Add(1)
	if s.returnErr != nil {
		return s.returnErr
	}
	return s.MemoryTokenStore.ReturnRenewal(ctx, key, id)
}

// storedCount is the number of requests the inner memory store counts for
// c's key.
func storedCount(s *refusalStore, c *Client) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.budgets[c.tokens.key])
}

// processCount is the number of requests c's own budget counts.
func processCount(c *Client) int {
	c.tokens.budget.mu.Lock()
	defer c.tokens.budget.mu.Unlock()
	return len(c.tokens.budget.sent)
}

// clockRefusal puts c's token manager and the store's memory on clk.
func clockRefusal(c *Client, s *refusalStore, clk *coreClock) {
	c.tokens.now = clk.Now
	s.mu.Lock()
	s.now = clk.Now
	s.mu.Unlock()
}

// TestStoreRefusalOfARetryAfter503: the first grant is answered 503
// (retryable); the store refuses the retry. One grant was sent and is
// counted; the error is the 503 with the refusal joined to it, and
// matches the 503's *APIError, ErrTokenBudgetExceeded and the store's cause.
func TestStoreRefusalOfARetryAfter503(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	s := newRefusalStore()
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		s.refusing.Store(true) // the database goes down after the first request is counted
		return grantUnavailable(n, r)
	})
	obs := &coreObserver{}
	log := &coreLog{}
	c := m.client(WithTokenStore(s), WithObserver(obs), WithLogger(log.logger()))
	_, err := coreQuery(context.Background(), c)
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 503 || ae.Op != "token.grant" {
		t.Errorf("err = %v, want the grant's 503", err)
	}
	if !errors.Is(err, ErrTokenBudgetExceeded) || !errors.Is(err, errDBDown) {
		t.Errorf("err = %v, want it to match ErrTokenBudgetExceeded and the store's cause", err)
	}
	if msg := fmt.Sprint(err); !strings.Contains(msg, "not retried") || !strings.Contains(msg, "could not count the request") {
		t.Errorf("err = %q, want the 503 and the store's reason for not retrying", msg)
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v matches ErrOutcomeUnknown", err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grant requests = %d, want 1", got)
	}
	if got := m.sent(epPaymentQuery); got != 0 {
		t.Errorf("query requests = %d, want 0", got)
	}
	if got := storedCount(s, c); got != 1 {
		t.Errorf("store counts %d requests, want the 1 sent", got)
	}
	if got := processCount(c); got != 1 {
		t.Errorf("process counts %d requests, want the 1 sent", got)
	}
	obs.mu.Lock()
	n := len(obs.renewals)
	var evErr error
	if n > 0 {
		evErr = obs.renewals[n-1].Err
	}
	obs.mu.Unlock()
	if n != 1 || !errors.Is(evErr, ErrTokenBudgetExceeded) {
		t.Errorf("renewal events = %d (last err %v), want 1 matching ErrTokenBudgetExceeded", n, evErr)
	}
	if got := log.lines("bkash token renewal failed"); len(got) != 1 {
		t.Errorf("renewal failure logged %d times, want once:\n%s", len(got), log)
	}
}

// TestStoreRefusalOfARefreshSendsNoGrant: the token is due, a refresh
// would be sent; the store refuses it. Neither a refresh nor a grant goes
// out (the refusal is not a definite answer that falls back to a grant).
func TestStoreRefusalOfARefreshSendsNoGrant(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	s := newRefusalStore()
	c := m.client(WithTokenStore(s))
	clk := newCoreClock()
	clockRefusal(c, s, clk)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour) // the id_token expired, the refresh_token lives 28 days
	s.refusing.Store(true)
	_, err := coreQuery(context.Background(), c)
	if !errors.Is(err, ErrTokenBudgetExceeded) || !errors.Is(err, errDBDown) || !strings.Contains(fmt.Sprint(err), "nothing was sent") {
		t.Errorf("err = %v, want the store's refusal", err)
	}
	if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != 0 {
		t.Errorf("grants, refreshes = %d, %d; want 1, 0", g, r)
	}
}

// TestStoreRefusalKeepsAValidTokenAndHoldsRenewals: a due but valid token
// stays in service when the store refuses, and renewal is not tried again
// (no store call) for failureHold; then it is tried once more.
func TestStoreRefusalKeepsAValidTokenAndHoldsRenewals(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	s := newRefusalStore()
	log := &coreLog{}
	c := m.client(WithTokenStore(s), WithLogger(log.logger()))
	clk := newCoreClock()
	clockRefusal(c, s, clk)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	clk.Advance(55*time.Minute + 30*time.Second) // due (5-6 min before expiry), still valid
	s.refusing.Store(true)
	before := s.takes.Load()
	for i := range 20 {
		if _, err := coreQuery(context.Background(), c); err != nil {
			t.Fatalf("call %d with a valid token: %v", i, err)
		}
	}
	if got := s.takes.Load() - before; got != 1 {
		t.Errorf("TakeRenewal called %d times for 20 calls within the hold, want 1", got)
	}
	if got := log.lines("using the current token until it expires"); len(got) != 1 {
		t.Errorf("fallback warned %d times, want 1:\n%s", len(got), log)
	}
	clk.Advance(failureHold + time.Second)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatalf("call after the hold: %v", err)
	}
	if got := s.takes.Load() - before; got != 2 {
		t.Errorf("TakeRenewal called %d times after the hold, want 2", got)
	}
	if got := m.sent(epGrant) + m.sent(epRefresh); got != 1 {
		t.Errorf("grant/refresh requests = %d, want the first grant only", got)
	}
	if got := m.sent(epPaymentQuery); got != 22 {
		t.Errorf("queries sent = %d, want 22", got)
	}
}

// TestStoreRefusalUnderLoadSendsNothingAndReleasesTheLock: 64 goroutines
// need a token while the store refuses. Nothing is sent, each caller gets
// the refusal promptly, the store is asked at most once per caller (no
// loop), the renewal lock is free afterwards, and the process budget is
// untouched, so that a grant goes out as soon as the store counts again.
func TestStoreRefusalUnderLoadSendsNothingAndReleasesTheLock(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	s := newRefusalStore()
	s.refusing.Store(true)
	c := m.client(WithTokenStore(s))
	var wg sync.WaitGroup
	var bad atomic.Int32
	start := time.Now()
	for range 64 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := coreQuery(ctx, c)
			if !errors.Is(err, ErrTokenBudgetExceeded) || !errors.Is(err, errDBDown) {
				bad.Add(1)
				t.Errorf("err = %v, want the store's refusal", err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("64 refused callers took %v", d)
	}
	if got := m.sent(epGrant) + m.sent(epRefresh) + m.sent(epPaymentQuery); got != 0 {
		t.Errorf("%d requests sent while the store refused", got)
	}
	if n := s.takes.Load(); n < 1 || n > 64 {
		t.Errorf("TakeRenewal called %d times for 64 callers", n)
	}
	unlock, err := s.Lock(context.Background(), c.tokens.key, time.Second)
	if err != nil {
		t.Fatalf("the renewal lock is still held after the refusals: %v", err)
	}
	_ = unlock(context.Background())
	if got := processCount(c); got != 0 {
		t.Errorf("process budget counts %d requests after refusals, want 0", got)
	}
	s.refusing.Store(false)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatalf("after the store recovered: %v", err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants after recovery = %d, want 1", got)
	}
}

// TestMoneyCallWhoseRenewalTheStoreRefuses: execute is answered with the
// gateway's token rejection, and the store refuses the renewal. Execute was
// sent once, is not replayed, and the error is the refusal: nothing
// happened at bKash, so it is not an outcome unknown, for the caller,
// Finalize and the observer.
func TestMoneyCallWhoseRenewalTheStoreRefuses(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	m.on(epPaymentExecute, func(int, coreReq) (*http.Response, error) {
		return coreJSON(401, `{"message":"Unauthorized"}`), nil
	})
	s := newRefusalStore()
	obs := &coreObserver{}
	c := m.client(WithTokenStore(s), WithObserver(obs))
	if _, err := coreQuery(context.Background(), c); err != nil { // the token is accepted once
		t.Fatal(err)
	}
	s.refusing.Store(true)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Execute", func() error { _, err := c.Payments.Execute(context.Background(), "TR0011abc"); return err }},
		{"Finalize", func() error { _, err := c.Payments.Finalize(context.Background(), "TR0011abc"); return err }},
	} {
		before := m.sent(epPaymentExecute)
		queries := m.sent(epPaymentQuery)
		err := tc.call()
		if got := m.sent(epPaymentExecute) - before; got > 1 {
			t.Errorf("%s: execute sent %d times, want at most once", tc.name, got)
		}
		if errors.Is(err, ErrOutcomeUnknown) || OutcomeOf(err) == OutcomeUnknown {
			t.Errorf("%s: err = %v is an unknown outcome", tc.name, err)
		}
		if !errors.Is(err, ErrTokenBudgetExceeded) || !errors.Is(err, errDBDown) || !strings.Contains(fmt.Sprint(err), "nothing was sent") {
			t.Errorf("%s: err = %v, want the store's refusal", tc.name, err)
		}
		if got := m.sent(epPaymentQuery) - queries; got != 0 {
			t.Errorf("%s: %d reconciling queries after a refusal", tc.name, got)
		}
		// Refused mid-call: the call's last event reports it as failed,
		// not unknown.
		obs.mu.Lock()
		var last *AttemptEvent
		for i := range obs.attempts {
			if obs.attempts[i].Outcome != 0 && obs.attempts[i].Op == "payment.execute" {
				last = &obs.attempts[i]
			}
		}
		obs.mu.Unlock()
		if last == nil || last.Outcome == OutcomeUnknown || !errors.Is(last.CallErr, ErrTokenBudgetExceeded) {
			t.Errorf("%s: last execute event = %+v, want a failed outcome with the refusal", tc.name, last)
		}
	}
	if got := m.sent(epGrant) + m.sent(epRefresh); got != 1 {
		t.Errorf("grant/refresh requests = %d, want the first grant only", got)
	}
}

// TestRefundWhoseRenewalTheStoreRefusesIsNotSent: no token yet, the store
// refuses: a refund is not sent at all, and not an outcome unknown.
func TestRefundWhoseRenewalTheStoreRefusesIsNotSent(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	s := newRefusalStore()
	s.refusing.Store(true)
	c := m.client(WithTokenStore(s))
	_, err := c.Refunds.Create(context.Background(), &RefundParams{PaymentID: "TR0011abc", TrxID: "BFI70KNPGR", Amount: 100_00, SKU: "sku", Reason: "damaged"})
	if errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, ErrTokenBudgetExceeded) {
		t.Errorf("err = %v, want the refusal, not an unknown outcome", err)
	}
	if got := m.sent(epRefundV1) + m.sent(epGrant); got != 0 {
		t.Errorf("%d requests sent", got)
	}
}

// TestStoreRefusalIsNotBlamedOnAnOldCredentialsRefusal: the gateway once
// refused a grant with a 401 (a WAF glitch, a key rotated and restored);
// the next grant succeeded and the token served for an hour. Much later
// the store cannot count a renewal and refuses it. The caller's error is
// the store's reason; it must not say that the last renewal was refused
// for the credentials, nor match ErrCredentialsRejected: the last renewal
// succeeded, and a caller that checks ErrCredentialsRejected (to page
// someone about the credentials, or to stop retrying for good) acts on a
// cause that is two hours old and fixed.
func TestStoreRefusalIsNotBlamedOnAnOldCredentialsRefusal(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		if n == 1 {
			return coreJSON(401, `{"message":"Unauthorized"}`), nil
		}
		return m.tokenAnswer(n, r)
	})
	m.on(epPaymentQuery, coreOK)
	s := newRefusalStore()
	c := m.client(WithTokenStore(s))
	clk := newCoreClock()
	clockRefusal(c, s, clk)
	_, err := coreQuery(context.Background(), c)
	if !errors.Is(err, ErrCredentialsRejected) {
		t.Fatalf("first call: %v, want the credentials refusal", err)
	}
	clk.Advance(61 * time.Minute) // the budget frees the refused request
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatalf("second call: %v", err)
	}
	clk.Advance(2 * time.Hour) // the token expired; the refresh_token did not
	s.refusing.Store(true)
	_, err = coreQuery(context.Background(), c)
	if !errors.Is(err, ErrTokenBudgetExceeded) || !errors.Is(err, errDBDown) {
		t.Fatalf("third call: %v, want the store's refusal", err)
	}
	if errors.Is(err, ErrCredentialsRejected) || strings.Contains(err.Error(), "the last renewal was refused") {
		t.Errorf("third call: err = %q\nblames the store's refusal on a credentials refusal two hours old, followed by a successful renewal", err)
	}
	// Nor does it carry that old answer as an *APIError, which makes the
	// refused call a "definite refusal by bKash" (OutcomeRefused) instead of
	// a call never sent (OutcomeFailed).
	var ae *APIError
	if errors.As(err, &ae) || OutcomeOf(err) != OutcomeFailed {
		t.Errorf("third call: errors.As finds %v, OutcomeOf = %v; want no *APIError, OutcomeFailed", ae, OutcomeOf(err))
	}
}

// TestStoreRefusalAfterACredentialsRefusalKeepsBothInTheChain: right after
// bKash refused the credentials, the store refuses the next request: the
// error matches the refusal, its cause and ErrCredentialsRejected.
func TestStoreRefusalAfterACredentialsRefusalKeepsBothInTheChain(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"2001","statusMessage":"Invalid App Key"}`), nil
	})
	s := newRefusalStore()
	c := m.client(WithTokenStore(s))
	if _, err := coreQuery(context.Background(), c); !errors.Is(err, ErrCredentialsRejected) {
		t.Fatalf("first call: %v", err)
	}
	s.refusing.Store(true)
	_, err := coreQuery(context.Background(), c)
	var ae *APIError
	if !errors.Is(err, ErrTokenBudgetExceeded) || !errors.Is(err, errDBDown) || !errors.Is(err, ErrCredentialsRejected) || !errors.As(err, &ae) || ae.Code != "2001" {
		t.Errorf("err = %v, want the refusal, its cause and the 2001", err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1", got)
	}
}

// TestStoreRefusalWithAnIDIsStillARefusal: a store that records a request
// and still refuses (an id with the refusal, as a store whose commit failed
// after the insert might). Nothing is sent.
func TestStoreRefusalWithAnIDIsStillARefusal(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	s := newRefusalStore()
	s.refusing.Store(true)
	s.refuse = func() (string, time.Time, error) {
		return "rec-1", time.Time{}, fmt.Errorf("%w: commit failed: %w", ErrTokenBudgetExceeded, io.ErrUnexpectedEOF)
	}
	c := m.client(WithTokenStore(s))
	if _, err := c.Token(context.Background()); !errors.Is(err, ErrTokenBudgetExceeded) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want the refusal", err)
	}
	if got := m.sent(epGrant); got != 0 {
		t.Errorf("grants = %d, want 0", got)
	}
}

// TestReturnRenewalRefusalDoesNotRefuseTheRenewal: ReturnRenewal answers
// with an error that matches ErrTokenBudgetExceeded (a store that fails
// closed everywhere). Giving a request back is best effort: the renewal
// goes on, and the unsent request stays counted.
func TestReturnRenewalRefusalDoesNotRefuseTheRenewal(t *testing.T) {
	t.Parallel()
	var tries atomic.Int32
	m := newCoreMock(t)
	mt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == epGrant.path && tries.Add(1) == 1 {
			return nil, errors.New("dial tcp: connection refused") // never sent
		}
		return m.mt.RoundTrip(r)
	})
	s := newRefusalStore()
	s.returnErr = fmt.Errorf("%w: cannot delete the record: %w", ErrTokenBudgetExceeded, errDBDown)
	log := &coreLog{}
	c, err := NewClient(Sandbox, coreCreds, WithHTTPClient(&http.Client{Transport: mt}), WithTokenStore(s), WithLogger(log.logger()),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatalf("Token: %v", err)
	}
	if s.returns.Load() != 1 || len(log.lines("failed to take back an unsent request")) != 1 {
		t.Errorf("returns %d; log:\n%s", s.returns.Load(), log)
	}
	if got := storedCount(s, c); got != 2 {
		t.Errorf("store counts %d, want 2 (the unsent one could not be given back)", got)
	}
}

// TestStoreRefusalEventsAndLog: a refused renewal (no token to fall back
// on) is one renewal event whose Err is the refusal, and no "renewal
// failed" log line (nothing was sent; the caller's error says it).
func TestStoreRefusalEventsAndLog(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	s := newRefusalStore()
	s.refusing.Store(true)
	obs := &coreObserver{}
	log := &coreLog{}
	c := m.client(WithTokenStore(s), WithObserver(obs), WithLogger(log.logger()))
	_, _ = c.Token(context.Background())
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.renewals) != 1 || obs.renewals[0].Kind != "grant" || !errors.Is(obs.renewals[0].Err, ErrTokenBudgetExceeded) || !errors.Is(obs.renewals[0].Err, errDBDown) {
		t.Errorf("renewal events = %+v, want one grant event with the refusal", obs.renewals)
	}
	if got := log.lines("budget store failed"); len(got) != 0 {
		t.Errorf("the refusal was logged as a store failure:\n%s", log)
	}
}
