package perf_test

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The token benchmarks measure Client.Token, the public face of the path
// every call takes first: handing out the cached token while it is valid,
// and, on a cold client, one grant shared by every caller that arrives
// while it is under way. They have no baseline; their targets are absolute
// (BENCHMARKS.md).

// BenchmarkTokenFastPath measures Client.Token when the client holds a
// valid token: the cost every call pays before its request. The server's
// grant count shows that the token was served from the cache throughout.
// Like the call benchmarks it reports cpu-ns/op, which on a loaded machine
// stays near the true cost when the wall time does not.
func BenchmarkTokenFastPath(b *testing.B) {
	srv := newBenchServer(b, 0)
	c := newBenchClient(b, srv.URL, benchHTTPClient())
	ctx := context.Background()
	b.ReportAllocs()
	stopCPU := reportCPU(b)
	for b.Loop() {
		if _, err := c.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
	stopCPU()
	if n := srv.grants.Load(); n != 1 {
		b.Fatalf("grants = %d, want 1: the benchmark did not measure the cached token", n)
	}
}

// BenchmarkTokenFastPathParallel is BenchmarkTokenFastPath with every
// core asking at once.
func BenchmarkTokenFastPathParallel(b *testing.B) {
	srv := newBenchServer(b, 0)
	c := newBenchClient(b, srv.URL, benchHTTPClient())
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	stopCPU := reportCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	stopCPU()
	if n := srv.grants.Load(); n != 1 {
		b.Fatalf("grants = %d, want 1: the benchmark did not measure the cached token", n)
	}
}

// BenchmarkColdStart1000 starts 1,000 callers of Client.Token on a new
// client at once and checks that they cause exactly one grant.
func BenchmarkColdStart1000(b *testing.B) {
	srv := newBenchServer(b, time.Millisecond) // a grant is never instant
	hc := benchHTTPClient()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c := newClient(b, srv.URL, hc)
		before := srv.grants.Load()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 1000 {
			wg.Go(func() {
				<-start
				if _, err := c.Token(ctx); err != nil {
					b.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if got := srv.grants.Load() - before; got != 1 {
			b.Fatalf("grants = %d, want 1", got)
		}
	}
}
