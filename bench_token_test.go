package bkash

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// BenchmarkTokenFastPath measures getting the cached, valid token: one
// atomic load and a clock read, with no allocation.
func BenchmarkTokenFastPath(b *testing.B) {
	m := newCoreMock(b)
	c := m.client()
	ctx := context.Background()
	if _, err := c.tokens.token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.tokens.token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenFastPathParallel is the fast path under contention.
func BenchmarkTokenFastPathParallel(b *testing.B) {
	m := newCoreMock(b)
	c := m.client()
	ctx := context.Background()
	if _, err := c.tokens.token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.tokens.token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkColdStart1000 starts 1,000 callers on a cold client at once and
// checks that they cause exactly one grant.
func BenchmarkColdStart1000(b *testing.B) {
	m := newCoreMock(b)
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		time.Sleep(time.Millisecond) // a grant is never instant
		return m.tokenAnswer(n, r)
	})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c := m.client()
		before := m.sent(epGrant)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 1000 {
			wg.Go(func() {
				<-start
				if _, err := c.tokens.token(ctx); err != nil {
					b.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if got := m.sent(epGrant) - before; got != 1 {
			b.Fatalf("grants = %d, want 1", got)
		}
	}
}
