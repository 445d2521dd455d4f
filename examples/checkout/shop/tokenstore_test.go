package shop

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// shopCreds are credentials of a fake bKash that are not the fake's
// defaults, as a shop's would be.
var shopCreds = bkash.Credentials{Username: "shop-user", Password: "shop-password", AppKey: "shop-app-key", AppSecret: "shop-app-secret"}

func TestTokenStoreKeepsATokenUntilItsTTL(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		ts := open(t, dsn).TokenStore()
		if b, err := ts.Load(ctx, "k"); err != nil || b != nil {
			t.Fatalf("Load of nothing = %q, %v; want nil, nil", b, err)
		}
		blob := []byte{0, 1, 2, 255, 'x'}
		if err := ts.Save(ctx, "k", blob, 400*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		// Another process (another Store on the database) sees it.
		other := open(t, dsn).TokenStore()
		if b, err := other.Load(ctx, "k"); err != nil || string(b) != string(blob) {
			t.Fatalf("Load = %q, %v; want %q", b, err, blob)
		}
		if b, _ := other.Load(ctx, "other key"); b != nil {
			t.Errorf("another key loaded %q", b)
		}
		if err := ts.Save(ctx, "k", []byte("newer"), 400*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if b, _ := other.Load(ctx, "k"); string(b) != "newer" {
			t.Errorf("after a second Save, Load = %q", b)
		}
		time.Sleep(500 * time.Millisecond)
		if b, err := other.Load(ctx, "k"); err != nil || b != nil {
			t.Errorf("after its ttl, Load = %q, %v; want nothing", b, err)
		}
	})
}

func TestTokenStoreLockIsExclusiveExtendableAndExpires(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		a, b := open(t, dsn).TokenStore(), open(t, dsn).TokenStore()
		unlockA, err := a.Lock(ctx, "k", 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Lock(ctx, "k", time.Second); !errors.Is(err, bkash.ErrLockNotAcquired) {
			t.Fatalf("second Lock: %v, want ErrLockNotAcquired", err)
		}
		if unlock, err := b.Lock(ctx, "other key", time.Second); err != nil {
			t.Fatalf("Lock of another key: %v", err)
		} else if err := unlock(ctx); err != nil {
			t.Fatal(err)
		}
		// The holder extends its lease: past the first TTL it still holds.
		if err := a.ExtendLock(ctx, "k", 2*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
		if _, err := b.Lock(ctx, "k", time.Second); !errors.Is(err, bkash.ErrLockNotAcquired) {
			t.Fatalf("Lock after the holder extended: %v, want ErrLockNotAcquired", err)
		}
		if err := b.ExtendLock(ctx, "k", time.Second); !errors.Is(err, bkash.ErrLockNotAcquired) {
			t.Errorf("ExtendLock by a value that does not hold it: %v", err)
		}
		if err := unlockA(ctx); err != nil {
			t.Fatal(err)
		}

		// A holder that dies (no extension) loses the lock at its TTL; its
		// late unlock and extension do not touch the next holder's.
		unlockB, err := b.Lock(ctx, "k", 100*time.Millisecond)
		if err != nil {
			t.Fatalf("Lock after unlock: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
		unlockA, err = a.Lock(ctx, "k", time.Second)
		if err != nil {
			t.Fatalf("Lock after the holder's lease ran out: %v", err)
		}
		if err := b.ExtendLock(ctx, "k", time.Second); !errors.Is(err, bkash.ErrLockNotAcquired) {
			t.Errorf("ExtendLock of an expired and taken lock: %v, want ErrLockNotAcquired", err)
		}
		if err := unlockB(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := open(t, dsn).TokenStore().Lock(ctx, "k", time.Second); !errors.Is(err, bkash.ErrLockNotAcquired) {
			t.Errorf("a stale holder's unlock freed the new holder's lock: %v", err)
		}
		if err := unlockA(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTokenStoreCountsRenewals(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		a, b := open(t, dsn).TokenStore(), open(t, dsn).TokenStore()
		take := func(ts *TokenStore, window time.Duration) (string, time.Time) {
			t.Helper()
			id, retryAt, err := ts.TakeRenewal(ctx, "k", 2, window)
			if err != nil {
				t.Fatal(err)
			}
			return id, retryAt
		}
		first, _ := take(a, time.Hour)
		second, _ := take(b, time.Hour)
		if first == "" || second == "" || first == second {
			t.Fatalf("ids %q, %q; want two different ones", first, second)
		}
		start := time.Now()
		id, retryAt := take(a, time.Hour)
		if id != "" {
			t.Fatal("a third request in the hour was allowed")
		}
		if d := retryAt.Sub(start); d < 59*time.Minute || d > 61*time.Minute {
			t.Errorf("retryAt in %v, want about an hour", d)
		}
		if id, _ := take(a, time.Hour); id != "" {
			t.Fatal("a refusal recorded a request")
		}
		if id, _, err := a.TakeRenewal(ctx, "another key", 2, time.Hour); err != nil || id == "" {
			t.Errorf("another key: %q, %v", id, err)
		}
		// A request given back (it never left) frees its place.
		if err := b.ReturnRenewal(ctx, "k", second); err != nil {
			t.Fatal(err)
		}
		if err := b.ReturnRenewal(ctx, "k", "unknown"); err != nil {
			t.Fatal(err)
		}
		if id, _ := take(b, time.Hour); id == "" {
			t.Fatal("refused after a request was given back")
		}
		// With a short window, the requests leave it.
		time.Sleep(time.Second)
		for range 2 {
			if id, _ := take(a, time.Second); id == "" {
				t.Fatal("refused after the hour's requests left a one-second window")
			}
		}
		if id, _ := take(a, time.Second); id != "" {
			t.Fatal("a third request allowed within the one-second window")
		}
		time.Sleep(1100 * time.Millisecond)
		if id, _ := take(a, time.Second); id == "" {
			t.Fatal("refused after the window")
		}
	})
}

// TestTokenStoreRenewalsAreAtomic races 24 processes' stores (a Store and
// connection pool each) on one database: exactly two requests are taken.
func TestTokenStoreRenewalsAreAtomic(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		stores := make([]*TokenStore, 24)
		for i := range stores {
			stores[i] = open(t, dsn).TokenStore()
		}
		var taken atomic.Int32
		var wg sync.WaitGroup
		for _, ts := range stores {
			wg.Go(func() {
				id, _, err := ts.TakeRenewal(context.Background(), "k", 2, time.Hour)
				if err != nil {
					t.Error(err)
				}
				if id != "" {
					taken.Add(1)
				}
			})
		}
		wg.Wait()
		if n := taken.Load(); n != 2 {
			t.Errorf("%d requests taken by 24 concurrent processes, want 2", n)
		}
	})
}

// TestReplicasShareOneToken: four shop processes on one database, sixteen
// goroutines each, all needing a token at once: one grant. The row holds
// the token sealed, never in clear.
func TestReplicasShareOneToken(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		clients, _ := fleet(t, dsn, fake, 4)
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids = map[string]bool{}
		)
		for _, c := range clients {
			for range 16 {
				wg.Go(func() {
					tok, err := c.Token(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ids[string(tok.IDToken)] = true
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		if n := fake.Grants(); n != 1 {
			t.Errorf("4 processes sent %d grants, want 1", n)
		}
		if len(ids) != 1 {
			t.Errorf("the processes hold %d different tokens, want 1", len(ids))
		}
		var blob string
		if err := open(t, dsn).DB().QueryRow(`SELECT blob FROM bkash_tokens`).Scan(&blob); err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(blob)
		if err != nil {
			t.Fatal(err)
		}
		for id := range ids {
			if strings.Contains(string(raw), id) || strings.Contains(blob, id) {
				t.Error("the database row holds the id_token in clear")
			}
		}
		for _, s := range []string{string(shopCreds.Password), string(shopCreds.AppSecret)} {
			if strings.Contains(string(raw), s) {
				t.Errorf("the database row holds a credential")
			}
		}
	})
}

// TestReplicasAgainstFailingGrantsSendAtMostTwo: bKash's gateway answers
// every grant 503 (retryable). Four processes, sixteen goroutines each,
// calling for a token again and again for a while: at most two grant
// requests reach bKash in all.
func TestReplicasAgainstFailingGrantsSendAtMostTwo(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		fake.Inject("token.grant", bkashtest.Fault{HTTPStatus: 503, Times: 1000})
		clients, _ := fleet(t, dsn, fake, 4)
		var wg sync.WaitGroup
		var refused atomic.Int32
		for _, c := range clients {
			for range 16 {
				wg.Go(func() {
					for range 3 {
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						_, err := c.Token(ctx)
						cancel()
						if err == nil {
							t.Error("a token was granted by a failing bKash")
							return
						}
						if errors.Is(err, bkash.ErrTokenBudgetExceeded) {
							refused.Add(1)
						}
					}
				})
			}
		}
		wg.Wait()
		if n := fake.Received("token.grant"); n > 2 {
			t.Errorf("4 processes sent %d grant requests to a failing bKash, want at most 2", n)
		}
		if refused.Load() == 0 {
			t.Error("no call was refused by the shared budget")
		}
	})
}

// TestTokenStoreFailsClosed: a request the database cannot count is
// refused with an error that matches bkash.ErrTokenBudgetExceeded, so that
// the SDK sends nothing rather than count each process's own; a client
// gets that reason.
func TestTokenStoreFailsClosed(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		s, err := OpenStore(context.Background(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		ts := s.TokenStore()
		_ = s.Close()
		id, _, err := ts.TakeRenewal(context.Background(), "k", 2, time.Hour)
		if id != "" || !errors.Is(err, bkash.ErrTokenBudgetExceeded) || !strings.Contains(fmt.Sprint(err), "could not count the request") {
			t.Fatalf("TakeRenewal on a closed database = %q, %v; want the count's refusal", id, err)
		}

		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		clients, stores := fleet(t, dsn, fake, 1)
		_ = stores[0].Close()
		_, err = clients[0].Token(context.Background())
		if !errors.Is(err, bkash.ErrTokenBudgetExceeded) || !strings.Contains(fmt.Sprint(err), "could not count the request") || !strings.Contains(fmt.Sprint(err), "nothing was sent") {
			t.Errorf("Token with the database closed: %v; want the count's refusal", err)
		}
		if n := fake.Grants(); n != 0 {
			t.Errorf("%d grants sent while the database could not count them", n)
		}
	})
}
