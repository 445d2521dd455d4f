package redisstore

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The tests run against a real Redis: BKASH_REDIS_ADDR, or 127.0.0.1:6379.
// Without one they skip, unless BKASH_REQUIRE_REDIS is set (CI sets it), in
// which case they fail. TestStoreOnEveryTopology also runs against a
// Cluster or Sentinel when told where they are.

func redisAddr() string {
	if a := os.Getenv("BKASH_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// testClient returns a client for the test Redis, or skips (or fails, with
// BKASH_REQUIRE_REDIS set) when none answers.
func testClient(t testing.TB) *redis.Client {
	t.Helper()
	if err := probeRedis(); err != nil {
		if os.Getenv("BKASH_REQUIRE_REDIS") != "" {
			t.Fatalf("BKASH_REQUIRE_REDIS is set but Redis at %s does not answer: %v", redisAddr(), err)
		}
		t.Skipf("skipping: no Redis at %s (%v); start one or set BKASH_REDIS_ADDR, and set BKASH_REQUIRE_REDIS=1 to fail instead of skipping", redisAddr(), err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// probeRedis pings the test Redis once per test binary.
var probeRedis = sync.OnceValue(func() error {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr(), MaxRetries: -1, DialerRetries: 1, DialTimeout: 2 * time.Second})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return rdb.Ping(ctx).Err()
})

// testPrefix returns a key prefix no other test uses and deletes every key
// under it when the test ends.
func testPrefix(t testing.TB, rdb redis.UniversalClient) string {
	t.Helper()
	prefix := "bkashtest:" + strings.ToLower(rand.Text()[:12]) + ":"
	t.Cleanup(func() { deleteUnder(t, rdb, prefix) })
	return prefix
}

func deleteUnder(t testing.TB, rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	del := func(c redis.UniversalClient) error {
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return del(c) })
	} else {
		err = del(rdb)
	}
	if err != nil {
		t.Errorf("cleaning up keys under %s: %v", prefix, err)
	}
}

// newTestStore returns a Store on the test Redis under a fresh prefix.
func newTestStore(t testing.TB, opts ...Option) (*Store, *redis.Client, string) {
	t.Helper()
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	s, err := New(rdb, append([]Option{WithKeyPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, rdb, prefix
}
