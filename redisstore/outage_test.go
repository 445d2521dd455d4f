package redisstore

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// slowProxy sits between a go-redis client and the test Redis. While slow
// is set, every reply is held back for delay before it reaches the client:
// Redis has applied the command, the client gave up waiting for the answer.
type slowProxy struct {
	addr  string
	slow  atomic.Bool
	down  atomic.Bool // commands are dropped and connections closed: Redis is unreachable
	delay time.Duration
}

func newSlowProxy(t *testing.T, delay time.Duration) *slowProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{addr: ln.Addr().String(), delay: delay}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", redisAddr())
			if err != nil || p.down.Load() {
				if up != nil {
					_ = up.Close()
				}
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			wg.Go(func() {
				defer up.Close()
				defer c.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if p.down.Load() {
							return
						}
						if _, werr := up.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := up.Read(buf)
					if n > 0 {
						if p.slow.Load() {
							time.Sleep(p.delay)
						}
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	return p
}

// outageLease is the replicas' dedupe lease (WithDedupeLease), short so
// that SNS's redelivery after it (20 s later by default) is one wait here.
const outageLease = time.Second

// slowReplica is a webhook endpoint whose Store reaches Redis through p,
// with a 100ms read timeout (go-redis's own retries included, a Redis that
// answers after 1s is an error).
func slowReplica(t *testing.T, p *slowProxy, signer *bkashtest.SNSSigner, prefix string, fn func(context.Context, *bkash.Notification) error) http.Handler {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: p.addr, ReadTimeout: 100 * time.Millisecond, MaxRetries: 1, PoolSize: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	// A pooled, handshaken connection: the commands below reach Redis.
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	s, err := New(rdb, WithKeyPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return webhookOn(t, signer, s, fn, bkash.WithDedupeLease(outageLease))
}

// TestSlowRedisDuringClaimNeverLosesTheNotification: Redis applies the
// claim's SET but answers after the client's read timeout. The Handler
// answers 500 without calling the callback, and SNS delivers again once
// Redis is fast again. That redelivery must be processed: nothing is
// processing the message. (Found: the claim is left behind with nobody
// to complete or release it; every redelivery gets 503 for the claim's
// whole TTL, maxAge+skew = 65 min, after which Verify refuses the message
// as stale: the notification is lost, the callback never ran. Now the claim
// lasts the lease.)
func TestSlowRedisDuringClaimNeverLosesTheNotification(t *testing.T) {
	t.Parallel()
	_, rdb, prefix := newTestStore(t)
	signer := newSigner(t)
	p := newSlowProxy(t, time.Second)
	var calls atomic.Int32
	h := slowReplica(t, p, signer, prefix, func(context.Context, *bkash.Notification) error {
		calls.Add(1)
		return nil
	})
	body := notification(t, signer, "TRX00SLOW1")

	p.slow.Store(true)
	if code := post(h, body); code != http.StatusInternalServerError {
		t.Fatalf("delivery while Redis is slow: HTTP %d, want 500", code)
	}
	if calls.Load() != 0 {
		t.Fatal("the callback ran although the claim failed")
	}
	keys, err := rdb.Keys(context.Background(), prefix+"webhook:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("setup: the slow SET did not reach Redis (keys %v, %v)", keys, err)
	}
	t.Logf("left behind: %s, PTTL %v", keys[0], rdb.PTTL(context.Background(), keys[0]).Val())
	p.slow.Store(false)
	time.Sleep(2500 * time.Millisecond) // the held-back replies drain; the lease ends

	// SNS redelivers (its default policy: 3 more tries, 20s apart); each
	// try is simulated here without the wait.
	codes := redeliver(h, body, &calls, 0, 3)
	if calls.Load() != 1 || codes[len(codes)-1] != http.StatusOK {
		t.Errorf("SNS's redeliveries after a failed claim: codes %v, callback ran %d times; want a 200 after the callback ran once (nobody else is processing the message)", codes, calls.Load())
	}
}

// TestRedisDownDuringReleaseNeverLosesTheNotification: the callback fails
// and Redis is unreachable when the Handler releases the claim. The first delivery
// gets 500, and SNS's redelivery, once Redis is fast again, must run the
// callback again. (Found: the unreleased claim reads as "in progress"
// forever: 503 to every redelivery for 65 min, then stale. Before
// e647ae2 the redeliveries got 200, equally lost. Now the claim lasts the
// lease.)
func TestRedisDownDuringReleaseNeverLosesTheNotification(t *testing.T) {
	t.Parallel()
	_, _, prefix := newTestStore(t)
	signer := newSigner(t)
	p := newSlowProxy(t, time.Second)
	var calls atomic.Int32
	h := slowReplica(t, p, signer, prefix, func(context.Context, *bkash.Notification) error {
		if calls.Add(1) == 1 {
			p.down.Store(true) // the database and Redis fail together
			return errors.New("database timeout")
		}
		return nil
	})
	body := notification(t, signer, "TRX00SLOW2")
	if code := post(h, body); code != http.StatusInternalServerError {
		t.Fatalf("failing callback: HTTP %d, want 500", code)
	}
	p.down.Store(false)
	time.Sleep(outageLease) // SNS waits 20 s before its next try
	codes := redeliver(h, body, &calls, 1, 3)
	if calls.Load() != 2 || codes[len(codes)-1] != http.StatusOK {
		t.Errorf("SNS's redeliveries after a failed release: codes %v, callback ran %d times; want 200 after a second run", codes, calls.Load())
	}
}

// TestRedisDownAfterTheCallbackNeverProcessesTwice: the callback succeeds
// and Redis is unreachable when the Handler marks the message processed.
// The delivery gets 200 (the work is done); a later duplicate, with Redis
// back, must not run the callback again, and while Redis is still down a
// duplicate gets 500 without running it.
func TestRedisDownAfterTheCallbackNeverProcessesTwice(t *testing.T) {
	t.Parallel()
	_, _, prefix := newTestStore(t)
	signer := newSigner(t)
	p := newSlowProxy(t, time.Second)
	var calls atomic.Int32
	h := slowReplica(t, p, signer, prefix, func(context.Context, *bkash.Notification) error {
		calls.Add(1)
		p.down.Store(true)
		return nil
	})
	body := notification(t, signer, "TRX00DOWN3")
	if code := post(h, body); code != http.StatusOK {
		t.Fatalf("processed, then Complete failed: HTTP %d, want 200", code)
	}
	if code := post(h, body); code != http.StatusInternalServerError || calls.Load() != 1 {
		t.Errorf("duplicate while Redis is down: HTTP %d, calls %d; want 500, 1", code, calls.Load())
	}
	p.down.Store(false)
	// The mark is missing, so the claim reads "in progress" for the rest of
	// its lease: 503 is tolerable (SNS had its 200 already); a second run
	// is not. (After the lease a duplicate would run it again: the
	// callback must be idempotent by TrxID, as the Handler's doc says.)
	codes := redeliver(h, body, &calls, 1, 3)
	if calls.Load() != 1 {
		t.Errorf("duplicates after Redis came back: codes %v, callback ran %d times; want 1", codes, calls.Load())
	}
}

// TestFourReplicasWithFailingCallbacks: one message reaches four replicas at
// once, again and again as SNS would after any non-2xx; the callback fails
// its first three runs (on whichever replica). It succeeds exactly once,
// never runs on two replicas at once, and no replica answers 200 before
// the success.
func TestFourReplicasWithFailingCallbacks(t *testing.T) {
	t.Parallel()
	_, _, prefix := newTestStore(t)
	signer := newSigner(t)
	for round := range 5 {
		var runs, running, overlap, successes atomic.Int32
		var succeeded atomic.Bool
		fn := func(context.Context, *bkash.Notification) error {
			if running.Add(1) > 1 {
				overlap.Add(1)
			}
			defer running.Add(-1)
			time.Sleep(2 * time.Millisecond)
			if runs.Add(1) <= 3 {
				return errors.New("database timeout")
			}
			successes.Add(1)
			succeeded.Store(true)
			return nil
		}
		replicas := make([]http.Handler, 4)
		for i := range replicas {
			replicas[i] = webhookReplica(t, signer, prefix, fn)
		}
		body := notification(t, signer, "TRX4R"+string(rune('A'+round)))
		var wg sync.WaitGroup
		var early, unfinished atomic.Int32
		for _, h := range replicas {
			wg.Go(func() {
				for range 300 {
					code := post(h, body)
					if code == http.StatusOK {
						if !succeeded.Load() {
							early.Add(1)
						}
						return
					}
					time.Sleep(time.Millisecond)
				}
				unfinished.Add(1)
			})
		}
		wg.Wait()
		if successes.Load() != 1 || overlap.Load() != 0 || early.Load() != 0 || unfinished.Load() != 0 {
			t.Fatalf("round %d: successes %d (want 1), overlapping runs %d, early 200s %d, never 200 %d", round, successes.Load(), overlap.Load(), early.Load(), unfinished.Load())
		}
	}
}

// TestLateFailureNeverReleasesTheRedeliverysClaim: one replica
// (one Store). Delivery A's callback outlives the lease; SNS's redelivery B
// claims and runs, well within its own lease. A then fails and releases:
// Release compares only the Store's identity, not the claim's token, so it
// deletes B's claim, and a third delivery C runs the callback while B is
// still running it. C must get 503: B holds a live claim.
func TestLateFailureNeverReleasesTheRedeliverysClaim(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	signer := newSigner(t)
	const lease = 300 * time.Millisecond
	var calls, running, overlap atomic.Int32
	aIn, aFail, bIn, bGo := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	h := webhookOn(t, signer, s, func(context.Context, *bkash.Notification) error {
		if running.Add(1) > 1 && calls.Load() >= 2 {
			overlap.Add(1)
		}
		defer running.Add(-1)
		switch calls.Add(1) {
		case 1: // A
			close(aIn)
			<-aFail
			return errors.New("database timeout")
		case 2: // B
			close(bIn)
			<-bGo
		}
		return nil
	}, bkash.WithDedupeLease(lease))
	body := notification(t, signer, "TRX5OWNER1")
	aCode, bCode := make(chan int), make(chan int)
	go func() { aCode <- post(h, body) }()
	<-aIn
	time.Sleep(lease + 100*time.Millisecond)
	go func() { bCode <- post(h, body) }()
	<-bIn
	close(aFail)
	if code := <-aCode; code != http.StatusInternalServerError {
		t.Fatalf("A: %d, want 500", code)
	}
	cCode := post(h, body) // B is running, within its lease
	close(bGo)
	<-bCode
	if cCode != http.StatusServiceUnavailable || calls.Load() != 2 {
		t.Errorf("C while B runs within its lease: HTTP %d, callback ran %d times (%d overlapping B); want 503, 2: A's late Release deleted B's claim", cCode, calls.Load(), overlap.Load())
	}
}
