// Tests of tokenlock.go: the renewal lock shared by the processes of a
// fleet, waiting for its holder, and extending it.

package bkash

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// One renewal per fleet (issue 18, point 11): while a live holder has the
// renewal lock the others wait for its token; the holder extends its short
// lock while it works, however long the grant takes; a dead holder frees
// the lock within that short lease.

// fastLock shortens c's lock timing so that the tests run in about a second
// while keeping the proportions of the real values (lease 10 s, polls
// 100 ms-1 s, grants of 5-35 s).
func fastLock(c *Client, lease time.Duration) {
	c.tokens.lease = lease
	c.tokens.lockWaits = []time.Duration{lease / 10}
}

// TestReplicasWaitForTheHolderOfASlowGrant: six clients share a store; the
// grant takes four leases; exactly one grant is made and every client gets
// its token.
func TestReplicasWaitForTheHolderOfASlowGrant(t *testing.T) {
	t.Parallel()
	const lease = 250 * time.Millisecond
	m := newCoreMock(t)
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		time.Sleep(4 * lease)
		return m.tokenAnswer(n, r)
	})
	store := NewMemoryTokenStore()
	var wg sync.WaitGroup
	toks := make([]string, 6)
	for i := range toks {
		c := m.client(WithTokenStore(store))
		fastLock(c, lease)
		wg.Go(func() {
			tok, err := c.Token(context.Background())
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
				return
			}
			toks[i] = string(tok.IDToken)
		})
	}
	wg.Wait()
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1", got)
	}
	for i, tok := range toks {
		if tok != "eyJ-ID1-tok" {
			t.Errorf("replica %d has token %q, want the one granted", i, tok)
		}
	}
}

// TestHolderKeepsItsLockThroughRetries: the holder's grant fails once and
// succeeds on the retry, together seven leases long; the lock is extended
// all along, so a replica that asks meanwhile never takes it.
func TestHolderKeepsItsLockThroughRetries(t *testing.T) {
	t.Parallel()
	const lease = 250 * time.Millisecond
	m := newCoreMock(t)
	arrived := make(chan struct{})
	store := NewMemoryTokenStore()
	var heldPastLease atomic.Int32
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		if n == 1 {
			close(arrived)
		}
		time.Sleep(3 * lease)
		if _, err := store.Lock(context.Background(), tokenKey(Sandbox, coreCreds), time.Hour); errors.Is(err, ErrLockNotAcquired) {
			heldPastLease.Add(1)
		}
		if n == 1 {
			time.Sleep(lease)
			return coreJSON(503, `{"message":"Service Unavailable"}`), nil
		}
		return m.tokenAnswer(n, r)
	})
	holder := m.client(WithTokenStore(store))
	fastLock(holder, lease)
	other := m.client(WithTokenStore(store))
	fastLock(other, lease)

	done := make(chan error, 1)
	go func() { _, err := holder.Token(context.Background()); done <- err }()
	<-arrived
	tok, err := other.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("holder: %v", err)
	}
	if got := m.sent(epGrant); got != 2 {
		t.Errorf("grant requests = %d, want 2 (the holder's attempt and its retry)", got)
	}
	if string(tok.IDToken) != "eyJ-ID1-tok" {
		t.Errorf("the other replica has %q, want the holder's token", tok.IDToken)
	}
	if got := heldPastLease.Load(); got != 2 {
		t.Errorf("lock found held three leases into %d of the 2 grant requests, want both", got)
	}
	if _, err := store.Lock(context.Background(), holder.tokens.key, time.Second); err != nil {
		t.Errorf("lock still held after the renewal: %v", err)
	}
}

// TestDeadHolderFreesTheLockWithinItsLease: a holder took the lock and died
// (never extends, never unlocks): the next renewal waits for the lease to
// run out, not longer, and then grants.
func TestDeadHolderFreesTheLockWithinItsLease(t *testing.T) {
	t.Parallel()
	const lease = 200 * time.Millisecond
	m := newCoreMock(t)
	store := NewMemoryTokenStore()
	c := m.client(WithTokenStore(store))
	fastLock(c, lease)
	if _, err := store.Lock(context.Background(), c.tokens.key, lease); err != nil { // the dead holder
		t.Fatal(err)
	}
	died := time.Now()
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(died); d < lease || d > lease+time.Second {
		t.Errorf("renewed %v after the holder died, want just after its lease (%v)", d, lease)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1", got)
	}
}

// TestValidTokenServesWhileAnotherProcessRenews: a token that is due for
// renewal but still valid is used at once while another process holds the
// lock; no caller waits and nothing is granted here.
func TestValidTokenServesWhileAnotherProcessRenews(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	store := &contendedStore{MemoryTokenStore: NewMemoryTokenStore()}
	clk := newCoreClock()
	c := m.client(WithTokenStore(store))
	setTokenClock(c, clk.Now)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	clk.Advance(56 * time.Minute) // due, four minutes left
	store.lockError = ErrLockNotAcquired
	c.tokens.lockWaits = []time.Duration{time.Hour}
	start := time.Now()
	for range 3 {
		if _, err := coreQuery(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("calls took %v, want no wait", d)
	}
	if got := m.sent(epGrant) + m.sent(epRefresh); got != 1 {
		t.Errorf("renewal requests = %d, want only the first grant", got)
	}
	if got := store.locks.Load(); got != 2 {
		t.Errorf("Lock calls = %d, want 2 (the first grant's, and one try held back for a second)", got)
	}
}

// lostLockStore loses its lock as soon as the holder tries to extend it.
type lostLockStore struct {
	*MemoryTokenStore
	extends atomic.Int32
}

func (s *lostLockStore) ExtendLock(context.Context, string, time.Duration) error {
	s.extends.Add(1)
	return ErrLockNotAcquired
}

// TestHolderThatLostItsLockSendsNoRetry: once the lock is lost another
// process may renew, so a retry would be a second renewal.
func TestHolderThatLostItsLockSendsNoRetry(t *testing.T) {
	t.Parallel()
	const lease = 30 * time.Millisecond
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) {
		time.Sleep(3 * lease)
		return coreJSON(503, `{"message":"Service Unavailable"}`), nil
	})
	store := &lostLockStore{MemoryTokenStore: NewMemoryTokenStore()}
	log := &coreLog{}
	c := m.client(WithTokenStore(store), WithLogger(log.logger()))
	fastLock(c, lease)
	_, err := c.Token(context.Background())
	if !errors.Is(err, errLockLost) {
		t.Errorf("err = %v, want the lost lock", err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grant requests = %d, want 1", got)
	}
	if store.extends.Load() != 1 || len(log.lines("lock lost")) != 1 {
		t.Errorf("extends = %d, log:\n%s", store.extends.Load(), log)
	}
}

// flakyExtendStore fails to extend now and then, without losing the lock.
type flakyExtendStore struct {
	*MemoryTokenStore
	n atomic.Int32
}

func (s *flakyExtendStore) ExtendLock(ctx context.Context, key string, ttl time.Duration) error {
	if s.n.Add(1) == 1 {
		return errors.New("redis: i/o timeout")
	}
	return s.MemoryTokenStore.ExtendLock(ctx, key, ttl)
}

func TestFailedExtensionIsLoggedAndTriedAgain(t *testing.T) {
	t.Parallel()
	const lease = 250 * time.Millisecond
	m := newCoreMock(t)
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		time.Sleep(2 * lease)
		return m.tokenAnswer(n, r)
	})
	store := &flakyExtendStore{MemoryTokenStore: NewMemoryTokenStore()}
	log := &coreLog{}
	c := m.client(WithTokenStore(store), WithLogger(log.logger()))
	fastLock(c, lease)
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if store.n.Load() < 2 || len(log.lines("lock extension failed")) != 1 {
		t.Errorf("extends = %d, log:\n%s", store.n.Load(), log)
	}
}

// TestCallerDeadlineBoundsTheWaitNotTheRenewal: a caller with a short
// deadline stops waiting for the holder; a caller without one gets the
// holder's token.
func TestCallerDeadlineBoundsTheWaitNotTheRenewal(t *testing.T) {
	t.Parallel()
	const lease = 250 * time.Millisecond
	m := newCoreMock(t)
	release := make(chan struct{})
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		<-release
		return m.tokenAnswer(n, r)
	})
	store := NewMemoryTokenStore()
	holder := m.client(WithTokenStore(store))
	fastLock(holder, lease)
	waiter := m.client(WithTokenStore(store))
	fastLock(waiter, lease)
	go func() { _, _ = holder.Token(context.Background()) }()
	for m.sent(epGrant) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*lease)
	defer cancel()
	if _, err := waiter.Token(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for token renewal") {
		t.Errorf("short caller: err = %v, want its deadline", err)
	}
	got := make(chan error, 1)
	go func() { _, err := waiter.Token(context.Background()); got <- err }()
	time.Sleep(2 * lease)
	close(release)
	if err := <-got; err != nil {
		t.Errorf("patient caller: %v", err)
	}
	if n := m.sent(epGrant); n != 1 {
		t.Errorf("grants = %d, want 1", n)
	}
}

// contendedStore is a store whose lock is held by "another process".
type contendedStore struct {
	*MemoryTokenStore
	loads     atomic.Int32
	locks     atomic.Int32
	onLoad    func(n int32) // called before each Load returns
	lockError error
}

func (s *contendedStore) Load(ctx context.Context, key string) ([]byte, error) {
	n := s.loads.Add(1)
	if s.onLoad != nil {
		s.onLoad(n)
	}
	return s.MemoryTokenStore.Load(ctx, key)
}

func (s *contendedStore) Lock(context.Context, string, time.Duration) (func(context.Context) error, error) {
	s.locks.Add(1)
	return nil, s.lockError
}

func TestLockHeldElsewhereWaitsForTheOtherProcesssToken(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	inner := NewMemoryTokenStore()
	other := m.client(WithTokenStore(inner)) // the process holding the lock
	store := &contendedStore{MemoryTokenStore: inner, lockError: ErrLockNotAcquired}
	store.onLoad = func(n int32) {
		if n == 3 { // first load, then two polls come back empty
			if _, err := other.tokens.token(context.Background()); err != nil {
				t.Errorf("other process: %v", err)
			}
		}
	}
	log := &coreLog{}
	obs := &coreObserver{}
	c := m.client(WithTokenStore(store), WithObserver(obs), WithLogger(log.logger()))
	c.tokens.lockWaits = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}

	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1 (only the lock holder's)", got)
	}
	// The lock is tried again after each empty poll: a free lock would mean
	// the holder is gone and this process must renew.
	if got := store.locks.Load(); got != 2 {
		t.Errorf("Lock calls = %d, want 2", got)
	}
	if got := store.loads.Load(); got != 3 {
		t.Errorf("Loads = %d, want 3 (stop polling once the token is there)", got)
	}
	if diff := cmp.Diff([]string{"store"}, obs.kinds()); diff != "" {
		t.Errorf("renewals (-want +got):\n%s", diff)
	}
	if got := log.lines(`"kind":"store"`); len(got) != 1 || !strings.Contains(got[0], `"level":"INFO"`) {
		t.Errorf("Info line for the store renewal: %q", got)
	}
}

// TestLockHeldElsewhereIsWaitedForNotBypassed: while a live holder has the
// lock and no token appears, the renewal waits (up to its limit) and fails;
// it never grants beside the holder. (Until issue 18 it renewed without the
// lock after 3.5 s: with a 5 s grant, every replica granted.)
func TestLockHeldElsewhereIsWaitedForNotBypassed(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	store := &contendedStore{MemoryTokenStore: NewMemoryTokenStore(), lockError: ErrLockNotAcquired}
	c := m.client(WithTokenStore(store))
	c.tokens.lockWaits = []time.Duration{time.Millisecond, 5 * time.Millisecond}
	c.tokens.waitMax = 100 * time.Millisecond
	start := time.Now()
	_, err := coreQuery(context.Background(), c)
	// The wait limit can end during a poll of the store or during a try of
	// the lock (which of the two depends on the scheduler): either way the
	// error is the wait's deadline and nothing was granted.
	if !errors.Is(err, context.DeadlineExceeded) ||
		!(strings.Contains(err.Error(), "renewal running in another process") || strings.Contains(err.Error(), "for the renewal lock")) {
		t.Errorf("err = %v, want the wait's deadline", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %v, want the wait limit (100ms)", d)
	}
	if got := m.sent(epGrant); got != 0 {
		t.Errorf("grants = %d, want 0 (the holder's renewal is not duplicated)", got)
	}
	if got := store.locks.Load(); got < 3 {
		t.Errorf("Lock calls = %d, want one per poll", got)
	}
}

func TestLockFailureIsLoggedAndRenewalProceeds(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	store := &contendedStore{MemoryTokenStore: NewMemoryTokenStore(), lockError: errors.New("redis: connection refused")}
	log := &coreLog{}
	c := m.client(WithTokenStore(store), WithLogger(log.logger()))
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := log.lines("lock failed"); len(got) != 1 || !strings.Contains(got[0], "redis: connection refused") || !strings.Contains(got[0], `"level":"WARN"`) {
		t.Errorf("lock failure line = %q", got)
	}
}

func TestMemoryStoreLockSerialisesRenewal(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	store := NewMemoryTokenStore()
	c := m.client(WithTokenStore(store))
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		// While this client renews, another holder cannot take the lock.
		if _, err := store.Lock(context.Background(), c.tokens.key, time.Second); !errors.Is(err, ErrLockNotAcquired) {
			t.Errorf("Lock during renewal: err = %v, want ErrLockNotAcquired", err)
		}
		return m.tokenAnswer(n, r)
	})
	m.on(epPaymentQuery, coreOK)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	unlock, err := store.Lock(context.Background(), c.tokens.key, time.Second)
	if err != nil {
		t.Fatalf("Lock after renewal: %v (not released)", err)
	}
	_ = unlock(context.Background())
}

// lockHookStore runs hook when its lock is taken, and can fail the unlock.
type lockHookStore struct {
	*MemoryTokenStore
	hook      func()
	unlockErr error
}

func (s *lockHookStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	unlock, err := s.MemoryTokenStore.Lock(ctx, key, ttl)
	if err != nil {
		return nil, err
	}
	if s.hook != nil {
		s.hook()
	}
	return func(ctx context.Context) error {
		_ = unlock(ctx)
		return s.unlockErr
	}, nil
}

func TestTokenSavedJustBeforeTheLockIsTaken(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	inner := NewMemoryTokenStore()
	other := m.client(WithTokenStore(struct{ TokenStore }{inner})) // a holder that does not lock
	store := &lockHookStore{MemoryTokenStore: inner, unlockErr: errors.New("redis: unlock script failed")}
	store.hook = func() { // the previous holder saved while we waited for the lock
		if _, err := other.tokens.token(context.Background()); err != nil {
			t.Error(err)
		}
	}
	log := &coreLog{}
	obs := &coreObserver{}
	c := m.client(WithTokenStore(store), WithLogger(log.logger()), WithObserver(obs))
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1 (the other holder's)", got)
	}
	if diff := cmp.Diff([]string{"store"}, obs.kinds()); diff != "" {
		t.Errorf("renewals (-want +got):\n%s", diff)
	}
	if got := log.lines("unlock failed"); len(got) != 1 || !strings.Contains(got[0], "unlock script failed") {
		t.Errorf("unlock failure not logged:\n%s", log)
	}
}

func TestRenewalWithAnEndedContextStopsPollingAndFails(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	store := &contendedStore{MemoryTokenStore: NewMemoryTokenStore(), lockError: ErrLockNotAcquired}
	c := m.client(WithTokenStore(store))
	c.tokens.lockWaits = []time.Duration{time.Hour, time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err := c.tokens.renew(ctx)
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("renew = %v after %v", err, time.Since(start))
	}
	if m.sent(epGrant) != 0 {
		t.Error("granted with an ended context")
	}
}
