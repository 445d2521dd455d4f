// Tests of tokenstore.go: MemoryTokenStore and the store key.

package bkash

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStoreKey(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("appkey-0f3a|merchantUser01"))
	want := "bkash:token:sandbox:" + hex.EncodeToString(sum[:])[:16]
	if got := tokenKey(Sandbox, coreCreds); got != want {
		t.Errorf("key = %q, want %q", got, want)
	}
	if got := tokenKey(Production, coreCreds); !strings.HasPrefix(got, "bkash:token:production:") || strings.TrimPrefix(got, "bkash:token:production:") != want[len("bkash:token:sandbox:"):] {
		t.Errorf("production key = %q", got)
	}
	c, err := NewClient(Sandbox, coreCreds, WithBaseURL("http://127.0.0.1:9"))
	if err != nil {
		t.Fatal(err)
	}
	if c.tokens.key != want {
		t.Errorf("WithBaseURL client key = %q, want the environment's %q", c.tokens.key, want)
	}
	other := coreCreds
	other.Username = "merchantUser02"
	if tokenKey(Sandbox, other) == want {
		t.Error("different usernames share a key")
	}
	if strings.Contains(want, coreCreds.AppKey) || strings.Contains(want, coreCreds.Username) {
		t.Error("key reveals the credentials")
	}
}

func TestMemoryTokenStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newCoreClock()
	s := NewMemoryTokenStore()
	s.now = clk.Now

	if b, err := s.Load(ctx, "k"); b != nil || err != nil {
		t.Fatalf("empty Load = %q, %v", b, err)
	}
	blob := []byte("blob-1")
	_ = s.Save(ctx, "k", blob, time.Minute)
	blob[0] = 'X' // the store keeps its own copy
	got, _ := s.Load(ctx, "k")
	if string(got) != "blob-1" {
		t.Fatalf("Load = %q", got)
	}
	got[0] = 'Y'
	if again, _ := s.Load(ctx, "k"); string(again) != "blob-1" {
		t.Fatalf("Load returned the store's own slice")
	}
	clk.Advance(time.Minute)
	if b, _ := s.Load(ctx, "k"); b != nil {
		t.Errorf("Load after the TTL = %q, want nil", b)
	}
	_ = s.Save(ctx, "forever", []byte("x"), 0)
	clk.Advance(1000 * time.Hour)
	if b, _ := s.Load(ctx, "forever"); string(b) != "x" {
		t.Errorf("ttl 0 entry expired")
	}

	// Locks: exclusive, expiring, released only by their owner.
	unlock1, err := s.Lock(ctx, "k", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, "k", 30*time.Second); !errors.Is(err, ErrLockNotAcquired) {
		t.Fatalf("second Lock: %v", err)
	}
	if _, err := s.Lock(ctx, "other", 30*time.Second); err != nil {
		t.Fatalf("Lock of another key: %v", err)
	}
	clk.Advance(31 * time.Second)
	unlock2, err := s.Lock(ctx, "k", 30*time.Second)
	if err != nil {
		t.Fatalf("Lock after expiry: %v", err)
	}
	_ = unlock1(ctx) // stale owner: must not release the new holder's lock
	if _, err := s.Lock(ctx, "k", 30*time.Second); !errors.Is(err, ErrLockNotAcquired) {
		t.Fatalf("stale unlock released the lock: %v", err)
	}
	_ = unlock2(ctx)
	if _, err := s.Lock(ctx, "k", 30*time.Second); err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	if got := s.String(); got != "bkash.MemoryTokenStore{entries:1}" {
		t.Errorf("String = %q", got)
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

func TestMemoryStoreBudgetWindow(t *testing.T) {
	t.Parallel()
	s := NewMemoryTokenStore()
	clk := newCoreClock()
	s.now = clk.Now
	ctx := context.Background()
	first, _, err := s.TakeRenewal(ctx, "k", 2, time.Hour)
	if err != nil || first == "" {
		t.Fatalf("first = %q, %v", first, err)
	}
	clk.Advance(10 * time.Minute)
	if id, _, _ := s.TakeRenewal(ctx, "k", 2, time.Hour); id == "" {
		t.Fatal("second refused")
	}
	id, retryAt, err := s.TakeRenewal(ctx, "k", 2, time.Hour)
	if id != "" || err != nil || !retryAt.Equal(clk.Now().Add(50*time.Minute)) {
		t.Errorf("third = %q, %v, %v; want refused until the first leaves the window (in 50m)", id, retryAt, err)
	}
	if id, _, _ := s.TakeRenewal(ctx, "other", 2, time.Hour); id == "" {
		t.Error("another key shares the budget")
	}
	if err := s.ReturnRenewal(ctx, "k", first); err != nil {
		t.Fatal(err)
	}
	if err := s.ReturnRenewal(ctx, "k", "no-such-id"); err != nil {
		t.Errorf("returning an unknown id: %v", err)
	}
	if id, _, _ := s.TakeRenewal(ctx, "k", 2, time.Hour); id == "" {
		t.Error("a returned request still counts")
	}
	clk.Advance(time.Hour)
	if id, _, _ := s.TakeRenewal(ctx, "k", 2, time.Hour); id == "" {
		t.Error("records older than the window still count")
	}
}
