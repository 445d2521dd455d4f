package redisstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	bkash "github.com/smartdairy/bkash-go"
)

// replica returns a Store with its own Redis connection pool under prefix,
// standing for another process of the fleet.
func replica(t testing.TB, prefix string) *Store {
	t.Helper()
	s, err := New(testClient(t), WithKeyPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSecondLockIsNotAcquired(t *testing.T) {
	t.Parallel()
	a, rdb, prefix := newTestStore(t)
	b := replica(t, prefix)
	ctx := context.Background()
	key := sdkKey()

	unlock, err := a.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*Store{"same Store": a, "other replica": b} {
		u, err := s.Lock(ctx, key, time.Minute)
		if !errors.Is(err, bkash.ErrLockNotAcquired) || u != nil {
			t.Errorf("%s: second Lock = (unlock %v, %v), want (nil, ErrLockNotAcquired)", name, u != nil, err)
		}
	}
	// Another key is another lock.
	if u, err := b.Lock(ctx, sdkKey(), time.Minute); err != nil {
		t.Errorf("Lock of another key: %v", err)
	} else if err := u(ctx); err != nil {
		t.Errorf("unlock of another key: %v", err)
	}

	if pttl := rdb.PTTL(ctx, a.redisKey("lock", key)).Val(); pttl <= 59*time.Second || pttl > time.Minute {
		t.Errorf("PTTL of the lock = %v, want just under 1m", pttl)
	}
	if err := unlock(ctx); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if n := rdb.Exists(ctx, a.redisKey("lock", key)).Val(); n != 0 {
		t.Errorf("lock key still exists after unlock")
	}
	u, err := b.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	if err := u(ctx); err != nil {
		t.Errorf("unlock: %v", err)
	}
}

func TestUnlockAfterExpiryNeverDeletesTheNewOwnersLock(t *testing.T) {
	t.Parallel()
	a, rdb, prefix := newTestStore(t)
	b := replica(t, prefix)
	ctx := context.Background()
	key := sdkKey()
	lockKey := a.redisKey("lock", key)

	unlockA, err := a.Lock(ctx, key, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // A worked past its TTL
	unlockB, err := b.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatalf("Lock by B after A's lock expired: %v", err)
	}
	held := rdb.Get(ctx, lockKey).Val()

	if err := unlockA(ctx); !errors.Is(err, ErrLockLost) {
		t.Errorf("A's late unlock = %v, want ErrLockLost", err)
	}
	if got := rdb.Get(ctx, lockKey).Val(); got != held || got == "" {
		t.Errorf("after A's late unlock the lock holds %q, want B's owner %q", got, held)
	}
	if _, err := a.Lock(ctx, key, time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
		t.Errorf("Lock while B holds it = %v, want ErrLockNotAcquired", err)
	}
	if err := unlockB(ctx); err != nil {
		t.Errorf("B's unlock: %v", err)
	}
	if n := rdb.Exists(ctx, lockKey).Val(); n != 0 {
		t.Errorf("lock key still exists after its owner unlocked")
	}
}

func TestUnlockOfAnExpiredFreeLockAndRepeatedUnlockAreHarmless(t *testing.T) {
	t.Parallel()
	a, _, prefix := newTestStore(t)
	b := replica(t, prefix)
	ctx := context.Background()
	key := sdkKey()

	unlock, err := a.Lock(ctx, key, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if err := unlock(ctx); err != nil {
		t.Errorf("unlock of a lock that expired untaken = %v, want nil", err)
	}

	unlock, err = a.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock(ctx); err != nil {
		t.Fatal(err)
	}
	unlockB, err := b.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock(ctx); err != nil {
		t.Errorf("second call of the same unlock = %v, want nil", err)
	}
	if _, err := a.Lock(ctx, key, time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
		t.Errorf("a repeated unlock released B's lock: Lock = %v, want ErrLockNotAcquired", err)
	}
	if err := unlockB(ctx); err != nil {
		t.Error(err)
	}
}

func TestKilledHolderBlocksRenewalForAtMostTheTTL(t *testing.T) {
	t.Parallel()
	_, _, prefix := newTestStore(t)
	ctx := context.Background()
	key := sdkKey()
	const ttl = 500 * time.Millisecond

	// Another process takes the lock and is killed (SIGKILL) without
	// unlocking, as a replica that crashes in the middle of a renewal.
	holder := startWorker(t, "holder", "REDISSTORE_TEST_PREFIX="+prefix,
		"REDISSTORE_TEST_KEY="+key, "REDISSTORE_TEST_TTL="+ttl.String())
	if got := holder.readLine(t, 30*time.Second); got != "locked" {
		t.Fatalf("holder said %q, want \"locked\"; its stderr:\n%s", got, holder.stderr)
	}
	locked := time.Now()
	if err := holder.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = holder.cmd.Wait()

	survivor := replica(t, prefix)
	if _, err := survivor.Lock(ctx, key, time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
		t.Fatalf("Lock right after the holder was killed = %v, want ErrLockNotAcquired (its TTL still runs)", err)
	}
	var unlock func(context.Context) error
	var err error
	deadline := locked.Add(ttl + 2*time.Second) // generous for a loaded machine
	for attempts := 0; unlock == nil; attempts++ {
		if time.Now().After(deadline) || attempts > 500 {
			t.Fatalf("the killed holder's lock was still held %v after it was taken (TTL %v)", time.Since(locked), ttl)
		}
		time.Sleep(20 * time.Millisecond)
		unlock, err = survivor.Lock(ctx, key, time.Minute)
		if err != nil && !errors.Is(err, bkash.ErrLockNotAcquired) {
			t.Fatal(err)
		}
	}
	t.Logf("the survivor took the lock %v after the holder reported it (TTL %v)", time.Since(locked).Round(time.Millisecond), ttl)
	if err := unlock(ctx); err != nil {
		t.Error(err)
	}
}

func TestConcurrentReplicasLockOnce(t *testing.T) {
	t.Parallel()
	_, _, prefix := newTestStore(t)
	ctx := context.Background()
	const replicas = 8
	stores := make([]*Store, replicas)
	for i := range stores {
		stores[i] = replica(t, prefix)
	}
	for round := range 20 {
		key := sdkKey()
		var acquired atomic.Int32
		var wg sync.WaitGroup
		unlocks := make(chan func(context.Context) error, replicas)
		start := make(chan struct{})
		for _, s := range stores {
			wg.Go(func() {
				<-start
				u, err := s.Lock(ctx, key, time.Minute)
				switch {
				case err == nil:
					acquired.Add(1)
					unlocks <- u
				case !errors.Is(err, bkash.ErrLockNotAcquired):
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		close(unlocks)
		if n := acquired.Load(); n != 1 {
			t.Fatalf("round %d: %d of %d replicas acquired the lock, want exactly 1", round, n, replicas)
		}
		for u := range unlocks {
			if err := u(ctx); err != nil {
				t.Error(err)
			}
		}
	}
}

// resendSET is a hook that sends every SET twice, as go-redis does when a
// connection breaks after the command was written: the second answer is
// what the caller sees.
type resendSET struct{ resent atomic.Int32 }

func (h *resendSET) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *resendSET) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "set" {
			return next(ctx, cmd)
		}
		if err := next(ctx, cmd); err != nil {
			return err
		}
		h.resent.Add(1)
		return next(ctx, cmd)
	}
}

func (h *resendSET) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func TestASETResentByTheClientStillCountsAsAcquired(t *testing.T) {
	t.Parallel()
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	hook := &resendSET{}
	rdb.AddHook(hook)
	s, err := New(rdb, WithKeyPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	other := replica(t, prefix)
	ctx := context.Background()

	key := sdkKey()
	unlock, err := s.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatalf("Lock whose SET was applied and then re-sent = %v, want success", err)
	}
	if _, err := other.Lock(ctx, key, time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
		t.Errorf("other replica's Lock = %v, want ErrLockNotAcquired", err)
	}
	if err := unlock(ctx); err != nil {
		t.Errorf("unlock: %v", err)
	}

	ok, err := s.Claim(ctx, "resent-message", time.Minute)
	if err != nil || !ok {
		t.Errorf("Claim whose SET was applied and then re-sent = (%v, %v), want (true, nil): the message would never be processed", ok, err)
	}
	if ok, err := other.Claim(ctx, "resent-message", time.Minute); ok || err != nil {
		t.Errorf("other replica's Claim = (%v, %v), want (false, nil)", ok, err)
	}
	if hook.resent.Load() < 2 {
		t.Fatalf("the hook re-sent %d SETs, want at least 2: the test did not exercise the re-send", hook.resent.Load())
	}
}
