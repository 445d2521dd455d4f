package redisstore

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func messageID() string { return "msg-" + rand.Text() }

func TestClaimTwiceReportsTheDuplicate(t *testing.T) {
	t.Parallel()
	s, rdb, prefix := newTestStore(t)
	ctx := context.Background()
	id := messageID()

	ok, err := s.Claim(ctx, id, time.Hour)
	if err != nil || !ok {
		t.Fatalf("first Claim = (%v, %v), want (true, nil)", ok, err)
	}
	ok, err = s.Claim(ctx, id, time.Hour)
	if err != nil || ok {
		t.Errorf("second Claim = (%v, %v), want (false, nil)", ok, err)
	}
	if pttl := rdb.PTTL(ctx, prefix+"webhook:"+id).Val(); pttl <= 59*time.Minute || pttl > time.Hour {
		t.Errorf("PTTL of the claim = %v, want just under 1h", pttl)
	}
	if ok, err := s.Claim(ctx, messageID(), time.Hour); err != nil || !ok {
		t.Errorf("Claim of another message = (%v, %v), want (true, nil)", ok, err)
	}
}

func TestReleaseLetsTheRedeliveryThrough(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	id := messageID()
	if ok, err := s.Claim(ctx, id, time.Hour); err != nil || !ok {
		t.Fatalf("Claim = (%v, %v)", ok, err)
	}
	if err := s.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Claim(ctx, id, time.Hour); err != nil || !ok {
		t.Errorf("Claim after Release = (%v, %v), want (true, nil)", ok, err)
	}
	if err := s.Release(ctx, messageID()); err != nil {
		t.Errorf("Release of a message never claimed = %v, want nil", err)
	}
}

func TestClaimExpiresAfterTTL(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	id := messageID()
	if ok, err := s.Claim(ctx, id, 40*time.Millisecond); err != nil || !ok {
		t.Fatalf("Claim = (%v, %v)", ok, err)
	}
	time.Sleep(90 * time.Millisecond)
	if ok, err := s.Claim(ctx, id, time.Hour); err != nil || !ok {
		t.Errorf("Claim after the first one expired = (%v, %v), want (true, nil)", ok, err)
	}
}

func TestReleaseNeverForgetsAnotherReplicasClaim(t *testing.T) {
	t.Parallel()
	a, _, prefix := newTestStore(t)
	b := replica(t, prefix)
	ctx := context.Background()

	// B holds the claim; A's Release (A never claimed) must not drop it.
	id := messageID()
	if ok, err := b.Claim(ctx, id, time.Hour); err != nil || !ok {
		t.Fatalf("B's Claim = (%v, %v)", ok, err)
	}
	if err := a.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.Claim(ctx, id, time.Hour); ok {
		t.Error("A's Release removed B's claim")
	}

	// A's slow callback outlives its claim, B claims the redelivery, then A
	// fails and releases: B's claim stays.
	id = messageID()
	if ok, err := a.Claim(ctx, id, 30*time.Millisecond); err != nil || !ok {
		t.Fatalf("A's Claim = (%v, %v)", ok, err)
	}
	time.Sleep(60 * time.Millisecond)
	if ok, err := b.Claim(ctx, id, time.Hour); err != nil || !ok {
		t.Fatalf("B's Claim after A's expired = (%v, %v)", ok, err)
	}
	if err := a.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.Claim(ctx, id, time.Hour); ok {
		t.Error("A's late Release removed B's newer claim")
	}
}

func TestSameMessageOnFourReplicasIsClaimedOnce(t *testing.T) {
	t.Parallel()
	_, _, prefix := newTestStore(t)
	ctx := context.Background()
	stores := make([]*Store, 4)
	for i := range stores {
		stores[i] = replica(t, prefix)
	}
	const messages = 50
	for range messages {
		id := messageID()
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, s := range stores {
			wg.Go(func() {
				<-start
				ok, err := s.Claim(ctx, id, time.Hour)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("message %s claimed %d times by 4 replicas, want exactly once", id, n)
		}
	}
}
