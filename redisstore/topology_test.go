package redisstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	bkash "github.com/smartdairy/bkash-go"
)

// The Store must behave the same on every kind of redis.UniversalClient.
// The single server always runs; a Cluster (BKASH_REDIS_CLUSTER_ADDRS,
// comma-separated seed addresses) and Sentinel (BKASH_REDIS_SENTINEL_ADDRS
// and BKASH_REDIS_SENTINEL_MASTER) run when those variables are set.
func TestStoreOnEveryTopology(t *testing.T) {
	t.Parallel()
	topologies := []struct {
		name string
		env  string // the variable that enables it; "" always runs
		make func() redis.UniversalClient
	}{
		{"single", "", func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: redisAddr()}) }},
		{"cluster", "BKASH_REDIS_CLUSTER_ADDRS", func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(os.Getenv("BKASH_REDIS_CLUSTER_ADDRS"), ",")})
		}},
		{"sentinel", "BKASH_REDIS_SENTINEL_ADDRS", func() redis.UniversalClient {
			return redis.NewFailoverClient(&redis.FailoverOptions{
				MasterName:    os.Getenv("BKASH_REDIS_SENTINEL_MASTER"),
				SentinelAddrs: strings.Split(os.Getenv("BKASH_REDIS_SENTINEL_ADDRS"), ","),
			})
		}},
	}
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			t.Parallel()
			if tp.env != "" && os.Getenv(tp.env) == "" {
				t.Skipf("set %s to run against a Redis %s", tp.env, tp.name)
			}
			if tp.env == "" {
				testClient(t) // skips or fails as configured when no Redis answers
			}
			a, b := tp.make(), tp.make() // two replicas
			t.Cleanup(func() { _, _ = a.Close(), b.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := a.Ping(ctx).Err(); err != nil {
				t.Fatalf("%s Redis does not answer: %v", tp.name, err)
			}
			prefix := testPrefix(t, a)
			sa, err := New(a, WithKeyPrefix(prefix), WithEncryption(newAEAD(t)))
			if err != nil {
				t.Fatal(err)
			}
			sb, err := New(b, WithKeyPrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			// Enough keys to land on every slot range of a small Cluster.
			for i := range 32 {
				key := fmt.Sprintf("bkash:token:sandbox:%016x", i)
				if err := sa.Save(ctx, key, []byte("blob"), time.Minute); err != nil {
					t.Fatal(err)
				}
				if got, err := sa.Load(ctx, key); err != nil || string(got) != "blob" {
					t.Fatalf("Load %s = (%q, %v)", key, got, err)
				}

				unlockA, err := sa.Lock(ctx, key, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sb.Lock(ctx, key, time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
					t.Fatalf("second Lock of %s = %v, want ErrLockNotAcquired", key, err)
				}
				if err := unlockA(ctx); err != nil {
					t.Fatalf("unlock %s: %v", key, err)
				}
				unlockB, err := sb.Lock(ctx, key, time.Minute)
				if err != nil {
					t.Fatalf("Lock of %s after unlock: %v", key, err)
				}
				if err := unlockB(ctx); err != nil {
					t.Fatal(err)
				}

				id := fmt.Sprintf("msg-%d", i)
				if ok, err := sa.Claim(ctx, id, time.Minute); err != nil || !ok {
					t.Fatalf("Claim %s = (%v, %v)", id, ok, err)
				}
				if ok, err := sb.Claim(ctx, id, time.Minute); err != nil || ok {
					t.Fatalf("second Claim %s = (%v, %v), want (false, nil)", id, ok, err)
				}
				if err := sa.Release(ctx, id); err != nil {
					t.Fatal(err)
				}
				if ok, err := sb.Claim(ctx, id, time.Minute); err != nil || !ok {
					t.Fatalf("Claim %s after Release = (%v, %v)", id, ok, err)
				}
			}
		})
	}
}
