package redisstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
)

func TestTakeRenewalKeepsTheLimitAcrossReplicas(t *testing.T) {
	t.Parallel()
	_, _, prefix := newTestStore(t)
	stores := make([]*Store, 4)
	for i := range stores {
		stores[i] = replica(t, prefix)
	}
	ctx := context.Background()
	for round := range 10 {
		key := sdkKey()
		var taken atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 20 {
			s := stores[i%len(stores)]
			wg.Go(func() {
				<-start
				id, retryAt, err := s.TakeRenewal(ctx, key, 2, time.Hour)
				switch {
				case err != nil:
					t.Error(err)
				case id != "":
					taken.Add(1)
				case time.Until(retryAt) < 59*time.Minute || time.Until(retryAt) > time.Hour:
					t.Errorf("refused with retryAt in %v, want about an hour", time.Until(retryAt))
				}
			})
		}
		close(start)
		wg.Wait()
		if n := taken.Load(); n != 2 {
			t.Fatalf("round %d: %d of 20 concurrent requests were allowed, want exactly 2", round, n)
		}
	}
}

func TestTakeRenewalWindowRollsAndReturnFreesARequest(t *testing.T) {
	t.Parallel()
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	key := sdkKey()
	const window = 400 * time.Millisecond

	first, _, err := s.TakeRenewal(ctx, key, 2, window)
	if err != nil || first == "" {
		t.Fatalf("first = %q, %v", first, err)
	}
	bk := s.redisKey("budget", key)
	if pttl := rdb.PTTL(ctx, bk).Val(); pttl <= 0 || pttl > window {
		t.Errorf("PTTL of %s = %v, want at most the window", bk, pttl)
	}
	time.Sleep(window / 2)
	second, _, err := s.TakeRenewal(ctx, key, 2, window)
	if err != nil || second == "" {
		t.Fatalf("second = %q, %v", second, err)
	}
	id, retryAt, err := s.TakeRenewal(ctx, key, 2, window)
	if err != nil || id != "" {
		t.Fatalf("third = %q, %v; want refused", id, err)
	}
	if d := time.Until(retryAt); d <= 0 || d > window/2+50*time.Millisecond {
		t.Errorf("third refused until %v from now, want when the first leaves the window (about %v)", d, window/2)
	}
	if err := s.ReturnRenewal(ctx, key, second); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := s.TakeRenewal(ctx, key, 2, window); id == "" {
		t.Error("a returned request still counts")
	}
	time.Sleep(window/2 + 50*time.Millisecond) // the first leaves the window
	if id, _, _ := s.TakeRenewal(ctx, key, 2, window); id == "" {
		t.Error("a request older than the window still counts")
	}
	if n := rdb.ZCard(ctx, bk).Val(); n != 2 {
		t.Errorf("records in the window = %d, want 2", n)
	}
}

func TestBudgetCallsRefuseBadArguments(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	if _, _, err := s.TakeRenewal(ctx, "", 2, time.Hour); err == nil {
		t.Error("empty key accepted")
	}
	if _, _, err := s.TakeRenewal(ctx, sdkKey(), 0, time.Hour); err == nil {
		t.Error("limit 0 accepted")
	}
	if _, _, err := s.TakeRenewal(ctx, sdkKey(), 2, 0); err == nil {
		t.Error("window 0 accepted")
	}
	if err := s.ReturnRenewal(ctx, sdkKey(), ""); err == nil {
		t.Error("empty id accepted")
	}
	if err := s.ReturnRenewal(ctx, sdkKey(), "never-taken"); err != nil {
		t.Errorf("returning an unknown id: %v", err)
	}
}

func TestExtendLockKeepsTheLockAndNeverRevivesAnother(t *testing.T) {
	t.Parallel()
	a, rdb, prefix := newTestStore(t)
	b := replica(t, prefix)
	ctx := context.Background()
	key := sdkKey()
	lk := a.redisKey("lock", key)

	if err := a.ExtendLock(ctx, key, time.Second); !errors.Is(err, bkash.ErrLockNotAcquired) || !errors.Is(err, ErrLockLost) {
		t.Errorf("extend of a lock never taken = %v, want ErrLockLost and ErrLockNotAcquired", err)
	}
	unlock, err := a.Lock(ctx, key, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 { // 600ms in all, three times the TTL
		time.Sleep(150 * time.Millisecond)
		if err := a.ExtendLock(ctx, key, 200*time.Millisecond); err != nil {
			t.Fatalf("extend: %v", err)
		}
	}
	if pttl := rdb.PTTL(ctx, lk).Val(); pttl <= 100*time.Millisecond || pttl > 200*time.Millisecond {
		t.Errorf("PTTL after extending = %v, want just under 200ms", pttl)
	}
	if err := b.ExtendLock(ctx, key, time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
		t.Errorf("another replica extended a lock it does not hold: %v", err)
	}
	if _, err := b.Lock(ctx, key, time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
		t.Errorf("lock taken by another replica while extended: %v", err)
	}

	// The holder stops extending (it froze); the lock expires and B takes it.
	time.Sleep(300 * time.Millisecond)
	unlockB, err := b.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatalf("B's lock after A's expired: %v", err)
	}
	held := rdb.Get(ctx, lk).Val()
	if err := a.ExtendLock(ctx, key, time.Hour); !errors.Is(err, ErrLockLost) || !errors.Is(err, bkash.ErrLockNotAcquired) {
		t.Errorf("A's late extend = %v, want ErrLockLost", err)
	}
	if got, pttl := rdb.Get(ctx, lk).Val(), rdb.PTTL(ctx, lk).Val(); got != held || pttl > time.Minute {
		t.Errorf("after A's late extend the lock holds %q with PTTL %v; want B's %q, untouched", got, pttl, held)
	}
	if err := unlock(ctx); !errors.Is(err, ErrLockLost) {
		t.Errorf("A's late unlock = %v, want ErrLockLost", err)
	}
	if err := unlockB(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.ExtendLock(ctx, key, time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
		t.Errorf("extend after unlock = %v, want ErrLockNotAcquired", err)
	}
	if _, err := a.Lock(ctx, key, time.Minute); err != nil {
		t.Errorf("lock after B's unlock: %v", err)
	}
}
