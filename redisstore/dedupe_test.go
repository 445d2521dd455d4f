package redisstore

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
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

// TestCompleteMarksOnlyItsOwnOrAFreeClaim: Complete marks a message
// processed when this Store holds its claim or nobody does, and leaves
// alone a claim another replica holds now (its callback is still running).
// Completed reads the mark; Release never removes it.
func TestCompleteMarksOnlyItsOwnOrAFreeClaim(t *testing.T) {
	t.Parallel()
	a, _, prefix := newTestStore(t)
	b := replica(t, prefix)
	ctx := context.Background()
	var _ bkash.DedupeCompleter = a

	id := messageID()
	if ok, err := a.Claim(ctx, id, time.Hour); err != nil || !ok {
		t.Fatalf("Claim = (%v, %v)", ok, err)
	}
	if done, err := a.Completed(ctx, id); err != nil || done {
		t.Fatalf("a fresh claim: Completed = (%v, %v), want false", done, err)
	}
	if err := a.Complete(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	if done, err := b.Completed(ctx, id); err != nil || !done {
		t.Fatalf("after Complete, another replica reads Completed = (%v, %v), want true", done, err)
	}
	if err := a.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Claim(ctx, id, time.Hour); ok {
		t.Error("Release removed the processed mark")
	}

	// A's claim expired and B claimed the redelivery: A's late Complete
	// must not mark B's message, which B is still handling.
	id = messageID()
	if ok, _ := a.Claim(ctx, id, 30*time.Millisecond); !ok {
		t.Fatal("A's Claim failed")
	}
	time.Sleep(60 * time.Millisecond)
	if ok, _ := b.Claim(ctx, id, time.Hour); !ok {
		t.Fatal("B's Claim after A's expired failed")
	}
	if err := a.Complete(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	if done, _ := b.Completed(ctx, id); done {
		t.Error("A's late Complete marked B's claim processed")
	}

	// A claim that expired with nobody else's in its place is marked.
	id = messageID()
	if err := a.Complete(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	if done, _ := a.Completed(ctx, id); !done {
		t.Error("Complete of an expired claim did not mark it")
	}
	if err := a.Complete(ctx, id, 0); err == nil {
		t.Error("Complete with a zero ttl: want an error (every key must expire)")
	}
}
