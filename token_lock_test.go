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

func TestMemoryStoreExtendLock(t *testing.T) {
	t.Parallel()
	s := NewMemoryTokenStore()
	clk := newCoreClock()
	s.now = clk.Now
	ctx := context.Background()
	if err := s.ExtendLock(ctx, "k", time.Second); !errors.Is(err, ErrLockNotAcquired) {
		t.Errorf("extend of no lock = %v", err)
	}
	unlock, err := s.Lock(ctx, "k", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(900 * time.Millisecond)
	if err := s.ExtendLock(ctx, "k", time.Second); err != nil {
		t.Fatal(err)
	}
	clk.Advance(900 * time.Millisecond)
	if _, err := s.Lock(ctx, "k", time.Second); !errors.Is(err, ErrLockNotAcquired) {
		t.Errorf("lock after the extension = %v, want still held", err)
	}
	clk.Advance(200 * time.Millisecond)
	if err := s.ExtendLock(ctx, "k", time.Second); !errors.Is(err, ErrLockNotAcquired) {
		t.Errorf("extend of an expired lock = %v, want ErrLockNotAcquired", err)
	}
	_ = unlock(ctx)
}
