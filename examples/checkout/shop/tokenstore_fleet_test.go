package shop

// Tests of the shop's database token store (tokenstore.go):
// several shop processes (a Store and a bkash.Client each) on one database
// against a fake bKash, with failing grants, expired and rejected tokens, a
// lock holder cut off from the database, a database that errors on some
// statements, and a PostgreSQL database an operator configured differently.
// The rules under attack: at most two grant or refresh requests an hour
// for the whole fleet, and no token or credential in a row, a log line or
// an error string.
//
// They began as an attack on the first version, which failed open when the
// database erred and counted wrong under a stricter default isolation.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/examples/checkout/internal/pgtest"
)

// syncBuffer is a bytes.Buffer safe for the loggers of concurrent clients.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fleet returns n shop processes on dsn, each a Store of its own and
// a client of fake wired as main.go wires the sandbox backend (TokenOptions,
// the audit observer, body logging), plus extra options.
func fleet(t *testing.T, dsn string, fake *bkashtest.Server, n int, extra ...bkash.Option) ([]*bkash.Client, []*Store) {
	t.Helper()
	clients := make([]*bkash.Client, n)
	stores := make([]*Store, n)
	for i := range clients {
		s := open(t, dsn)
		opts, err := s.TokenOptions(shopCreds)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, bkash.WithBaseURL(fake.URL), bkash.WithAllowHTTP(),
			bkash.WithObserver(&AuditObserver{Store: s}), bkash.WithBodyLogging())
		c, err := bkash.NewClient(bkash.Sandbox, shopCreds, append(opts, extra...)...)
		if err != nil {
			t.Fatal(err)
		}
		clients[i], stores[i] = c, s
	}
	return clients, stores
}

// renewals is every grant and refresh request fake received.
func renewals(fake *bkashtest.Server) int {
	return fake.Received("token.grant") + fake.Received("token.refresh")
}

// hammer calls Token from g goroutines per client, rounds times each, with
// a timeout per call, and returns the errors.
func hammer(clients []*bkash.Client, g, rounds int, timeout time.Duration) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, c := range clients {
		for range g {
			wg.Go(func() {
				for range rounds {
					ctx, cancel := context.WithTimeout(context.Background(), timeout)
					_, err := c.Token(ctx)
					cancel()
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	return errs
}

// TestFleetFailsClosedWhenTheBudgetTableErrors: a database that
// errors on the renewal count's statements (here the table is renamed, as a
// botched migration, a revoked grant, a full disk or a lock timeout would
// make them fail) while the rest of the database works. TakeRenewal returns
// the error, the SDK logs it and falls back to each process's own budget of
// two, and the renewal lock (still working) only serializes the processes:
// four processes against a failing bKash send eight grant requests in the
// hour instead of at most two.
// That was the first version; now the store refuses a request it cannot count.
func TestFleetFailsClosedWhenTheBudgetTableErrors(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		fake.Inject("token.grant", bkashtest.Fault{HTTPStatus: 503, Times: 1000})
		clients, _ := fleet(t, dsn, fake, 4)
		if _, err := open(t, dsn).DB().Exec(`ALTER TABLE bkash_token_renewals RENAME TO bkash_token_renewals_broken`); err != nil {
			t.Fatal(err)
		}
		hammer(clients, 4, 2, 8*time.Second)
		if n := fake.Received("token.grant"); n > 2 {
			t.Errorf("4 processes sent %d grant requests in the hour while the renewal count's table failed, want at most 2", n)
		}
	})
}

// TestFleetFailsClosedWhenTheDatabaseIsDown: the database is
// unreachable from every process (here their pools are closed). Lock fails,
// so the SDK renews without it; TakeRenewal fails, so each process counts
// only its own requests: four processes send eight grant requests.
// That was the first version; now the store refuses a request it cannot count.
func TestFleetFailsClosedWhenTheDatabaseIsDown(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		fake.Inject("token.grant", bkashtest.Fault{HTTPStatus: 503, Times: 1000})
		clients, stores := fleet(t, dsn, fake, 4)
		for _, s := range stores {
			_ = s.Close()
		}
		hammer(clients, 4, 2, 8*time.Second)
		if n := fake.Received("token.grant"); n > 2 {
			t.Errorf("4 processes sent %d grant requests in the hour while their database was down, want at most 2", n)
		}
	})
}

// TestLockHolderCutOffFromTheDatabaseSendsNoUncountedRetry: the
// lock holder's grant hangs (bKash answers 503 after 12 s) and the holder
// loses its database meanwhile (a network partition; here its pool is
// closed). Its extensions fail with an error that is not
// ErrLockNotAcquired, so it does not consider the lock lost; the lease runs
// out after 10 s and the next process takes the lock and spends the second
// request of the hour. When the holder's request ends, its retry is taken
// from its own per-process budget (the store is unreachable) and sent: three
// requests in the hour.
// That was the first version; now the holder's retry is refused, since its database cannot count it.
func TestLockHolderCutOffFromTheDatabaseSendsNoUncountedRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a lock lease (10 s)")
	}
	databases(t, func(t *testing.T, dsn string) {
		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		fake.Inject("token.grant", bkashtest.Fault{HTTPStatus: 503, Delay: 12 * time.Second})
		fake.Inject("token.grant", bkashtest.Fault{HTTPStatus: 503, Times: 1000})
		clients, stores := fleet(t, dsn, fake, 2)
		var wg sync.WaitGroup
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, _ = clients[0].Token(ctx)
		})
		deadline := time.Now().Add(5 * time.Second)
		for fake.Received("token.grant") == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if fake.Received("token.grant") == 0 {
			t.Fatal("the first process sent no grant")
		}
		_ = stores[0].Close() // the holder is cut off from the database
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			_, _ = clients[1].Token(ctx)
		})
		wg.Wait()
		if n := fake.Received("token.grant"); n > 2 {
			t.Errorf("two processes sent %d grant requests in the hour after the lock holder lost the database, want at most 2", n)
		}
	})
}

// setDefaultIsolation makes level the default transaction isolation of the
// PostgreSQL database at dsn for the sessions that start after it, as an
// operator may ("repeatable read" or "serializable", for "safety").
func setDefaultIsolation(t *testing.T, dsn, level string) {
	t.Helper()
	s := open(t, dsn)
	var name string
	if err := s.DB().QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(fmt.Sprintf(`ALTER DATABASE %q SET default_transaction_isolation TO '%s'`, name, level)); err != nil {
		t.Fatal(err)
	}
}

// TestRenewalCountIsAtomicUnderAnyDefaultIsolation: an operator
// sets default_transaction_isolation = 'repeatable read' on the shop's
// PostgreSQL database (a common "safer" default). TakeRenewal's transaction
// takes its snapshot at its first statement, the pg_advisory_xact_lock
// call, i.e. before it waits for the lock: after the previous holder
// commits, the waiter still counts the rows of its old snapshot and records
// one more. 24 processes take more than two requests.
//
// Under 'serializable' the same race makes some of them fail with a
// serialization error, which the SDK answers by falling back to the
// per-process budget (see the tests above): the subtest shows it too.
// That was the first version; now the store's transactions are READ COMMITTED whatever the default.
func TestRenewalCountIsAtomicUnderAnyDefaultIsolation(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(strings.ReplaceAll(level, " ", "_"), func(t *testing.T) {
			t.Parallel()
			dsn := pgtest.NewDatabase(t)
			setDefaultIsolation(t, dsn, level)
			stores := make([]*TokenStore, 24)
			for i := range stores {
				stores[i] = open(t, dsn).TokenStore()
			}
			var taken, failed atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, ts := range stores {
				wg.Go(func() {
					<-start
					id, _, err := ts.TakeRenewal(context.Background(), "k", 2, time.Hour)
					if err != nil {
						failed.Add(1)
					}
					if id != "" {
						taken.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if n := taken.Load(); n != 2 || failed.Load() != 0 {
				t.Errorf("under default_transaction_isolation %q, 24 processes took %d requests (%d failed with an error, which the SDK answers by counting per process), want exactly 2 and no error",
					level, n, failed.Load())
			}
		})
	}
}

// TestFleetUnderRepeatableReadSendsAtMostTwo: the fleet-level
// effect of the two tests around it. Sixteen processes on a PostgreSQL
// database whose default isolation is REPEATABLE READ, against a bKash that
// answers every grant 503, all need a token while the lock row is being
// written by another transaction (here a transaction of the test that
// marks a dead holder's lock expired; in production another process's
// Lock, ExtendLock or unlock): their Lock statements wait for the row, then
// fail with a serialization error, so every process renews "without the
// lock"; their TakeRenewal transactions all count the rows of snapshots
// taken before they waited for the advisory lock, so each records a
// request: sixteen and more grant requests instead of two.
// That was the first version; now the store's transactions are READ COMMITTED whatever the default.
func TestFleetUnderRepeatableReadSendsAtMostTwo(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	setDefaultIsolation(t, dsn, "repeatable read")
	fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
	t.Cleanup(fake.Close)
	fake.Inject("token.grant", bkashtest.Fault{HTTPStatus: 503, Times: 1000})
	clients, stores := fleet(t, dsn, fake, 16)
	ctx := context.Background()
	key := storeKeyOf(t)
	if _, err := stores[0].TokenStore().Lock(ctx, key, time.Minute); err != nil { // a holder that died
		t.Fatal(err)
	}
	blocker, err := open(t, dsn).DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec(`UPDATE bkash_token_locks SET expires_at = 0 WHERE store_key = $1`, key); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hammer(clients, 1, 1, 8*time.Second)
	}()
	time.Sleep(500 * time.Millisecond) // the processes' Lock statements wait for the row
	if err := blocker.Commit(); err != nil {
		t.Fatal(err)
	}
	<-done
	if n := fake.Received("token.grant"); n > 2 {
		t.Errorf("16 processes on a REPEATABLE READ database sent %d grant requests, want at most 2", n)
	}
}

// storeKeyOf is the SDK's store key of shopCreds: it lets a client save its
// token on a scratch database and reads the key of the row.
func storeKeyOf(t *testing.T) string {
	t.Helper()
	scratch := t.TempDir() + "/key.db"
	fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
	defer fake.Close()
	clients, stores := fleet(t, scratch, fake, 1)
	if _, err := clients[0].Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	var key string
	if err := stores[0].DB().QueryRow(`SELECT store_key FROM bkash_tokens`).Scan(&key); err != nil {
		t.Fatal(err)
	}
	return key
}

// TestLockUnderRepeatableReadIsTakenOrRefused: with the same operator
// setting, processes racing for an expired lock (the INSERT ... ON
// CONFLICT DO UPDATE of Lock) fail with "could not serialize access due to
// concurrent update" instead of ErrLockNotAcquired; the SDK then renews
// "without the lock".
// That was the first version; now Lock runs READ COMMITTED.
func TestLockUnderRepeatableReadIsTakenOrRefused(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	setDefaultIsolation(t, dsn, "repeatable read")
	ctx := context.Background()
	stores := make([]*TokenStore, 24)
	for i := range stores {
		stores[i] = open(t, dsn).TokenStore()
	}
	var errs []error
	for round := range 10 {
		// An expired lock row: the racers all try to take it over.
		if _, err := stores[0].Lock(ctx, "k", time.Millisecond); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		time.Sleep(5 * time.Millisecond)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []func(context.Context) error
		)
		start := make(chan struct{})
		for _, ts := range stores {
			wg.Go(func() {
				<-start
				unlock, err := ts.Lock(ctx, "k", time.Minute)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, unlock)
				case !errors.Is(err, bkash.ErrLockNotAcquired):
					errs = append(errs, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d holders of the lock", round, len(winners))
		}
		if err := winners[0](ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(errs) > 0 {
		t.Errorf("%d Lock calls failed with an error rather than ErrLockNotAcquired (the SDK renews without the lock); first: %v", len(errs), errs[0])
	}
}

// TestLockHasOneHolderUnderContention: 24 processes race for
// a free lock, for a lock just released, and for a lock whose holder's
// lease ran out: each time exactly one holds it; ExtendLock works for it
// only, and an expired holder can neither extend (resurrect) nor release
// the new holder's lock.
func TestLockHasOneHolderUnderContention(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		stores := make([]*TokenStore, 24)
		for i := range stores {
			stores[i] = open(t, dsn).TokenStore()
		}
		race := func(ttl time.Duration) (int, func(context.Context) error) {
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				winner  = -1
				unlock  func(context.Context) error
				holders int
			)
			start := make(chan struct{})
			for i, ts := range stores {
				wg.Go(func() {
					<-start
					u, err := ts.Lock(ctx, "k", ttl)
					if err != nil && !errors.Is(err, bkash.ErrLockNotAcquired) {
						t.Error(err)
					}
					if err == nil {
						mu.Lock()
						holders++
						winner, unlock = i, u
						mu.Unlock()
					}
				})
			}
			close(start)
			wg.Wait()
			if holders != 1 {
				t.Fatalf("%d processes hold the lock", holders)
			}
			return winner, unlock
		}
		w, unlock := race(time.Minute)
		for i, ts := range stores {
			err := ts.ExtendLock(ctx, "k", time.Minute)
			if (i == w) != (err == nil) {
				t.Errorf("ExtendLock by process %d (holder %d): %v", i, w, err)
			}
		}
		if err := unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := stores[w].ExtendLock(ctx, "k", time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
			t.Errorf("ExtendLock after unlock: %v, want ErrLockNotAcquired", err)
		}
		w, unlock = race(time.Minute)
		// The holder's lease runs out (set in the database: a short lease
		// and a sleep would let a slow goroutine of the race itself take
		// the lock after the winner's lease, a second holder in turn).
		if _, err := stores[w].exec(ctx, `UPDATE bkash_token_locks SET expires_at = {{now}} - 1 WHERE store_key = ?`, "k"); err != nil {
			t.Fatal(err)
		}
		// Expired and not yet taken: the old holder cannot resurrect it.
		if err := stores[w].ExtendLock(ctx, "k", time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
			t.Errorf("ExtendLock of an expired lock: %v, want ErrLockNotAcquired", err)
		}
		w2, unlock2 := race(time.Minute)
		if err := unlock(ctx); err != nil { // the stale holder's late unlock
			t.Fatal(err)
		}
		if err := stores[w2].ExtendLock(ctx, "k", time.Minute); err != nil {
			t.Errorf("the new holder lost its lock to a stale unlock: %v", err)
		}
		if w != w2 {
			if err := stores[w].ExtendLock(ctx, "k", time.Minute); !errors.Is(err, bkash.ErrLockNotAcquired) {
				t.Errorf("the stale holder extended the new holder's lock: %v", err)
			}
		}
		if err := unlock2(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReplicasRefreshOnceAfterExpiry: four processes, sixteen
// goroutines each, all calling bKash when the fake expires every id_token:
// each process meets a 401, yet the fleet sends one refresh in all; when
// the tokens expire again, the third request of the hour is refused, not
// sent.
func TestReplicasRefreshOnceAfterExpiry(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		clients, _ := fleet(t, dsn, fake, 4)
		if errs := hammer(clients, 4, 1, 10*time.Second); len(errs) > 0 {
			t.Fatal(errs[0])
		}
		query := func() {
			var wg sync.WaitGroup
			for _, c := range clients {
				for range 16 {
					wg.Go(func() {
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						_, _ = c.Payments.Query(ctx, "TR0011nonexistent")
					})
				}
			}
			wg.Wait()
		}
		fake.ExpireTokens()
		query()
		if g, r := fake.Received("token.grant"), fake.Received("token.refresh"); g != 1 || r != 1 {
			t.Errorf("after one expiry the fleet sent %d grants and %d refreshes, want 1 and 1", g, r)
		}
		fake.ExpireTokens()
		query()
		if n := renewals(fake); n > 2 {
			t.Errorf("the fleet sent %d grant/refresh requests in the hour, want at most 2", n)
		}
	})
}

// TestReplicasAgainstRefusedOrDroppedGrantsSendAtMostTwo(while
// the database works): grants refused by the gateway (401, 403), answered
// with a bKash code, dropped (connection closed) or timed out: four
// processes on one database send at most two grant requests.
func TestReplicasAgainstRefusedOrDroppedGrantsSendAtMostTwo(t *testing.T) {
	faults := map[string]bkashtest.Fault{
		"401":     {HTTPStatus: 401, Times: 1000},
		"403":     {HTTPStatus: 403, Times: 1000},
		"code":    {Code: "2001", Times: 1000},
		"drop":    {Drop: true, Times: 1000},
		"timeout": {Delay: 3 * time.Second, Times: 1000},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			databases(t, func(t *testing.T, dsn string) {
				fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
				t.Cleanup(fake.Close)
				fake.Inject("token.grant", f)
				clients, _ := fleet(t, dsn, fake, 4, bkash.WithHTTPClient(&http.Client{Timeout: time.Second}))
				hammer(clients, 4, 2, 5*time.Second)
				if n := renewals(fake); n > 2 {
					t.Errorf("4 processes sent %d grant/refresh requests, want at most 2", n)
				}
			})
		})
	}
}

// TestCallerGivingUpDoesNotLeakTheLock: the callers of the
// lock holder give up (their contexts end) while its grant is slow: the
// renewal goes on, on its own context, and the lock is released when it
// ends, so that another process is not blocked.
func TestCallerGivingUpDoesNotLeakTheLock(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		fake.Inject("token.grant", bkashtest.Fault{Delay: time.Second})
		clients, _ := fleet(t, dsn, fake, 2)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := clients[0].Token(ctx)
		cancel()
		if err == nil {
			t.Fatal("a token despite the caller giving up")
		}
		tok, err := clients[1].Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tok == nil || fake.Grants() != 1 {
			t.Errorf("grants %d, want the first renewal's only", fake.Grants())
		}
		var n int
		if err := open(t, dsn).DB().QueryRow(`SELECT COUNT(*) FROM bkash_token_locks`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d lock rows left after the renewals ended", n)
		}
	})
}

// TestNoSecretInTheDatabaseLogsOrErrors: after a grant, a
// refresh (the tokens expired), a grant refused with a body that echoes
// the app secret, and a budget refusal, no id_token, refresh_token,
// password or app secret is in any row of any table (the token row decoded
// from base64 as well), in the SDK's log lines, or in an error string.
func TestNoSecretInTheDatabaseLogsOrErrors(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		var logs syncBuffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		clients, _ := fleet(t, dsn, fake, 2, bkash.WithLogger(logger))
		ctx := context.Background()
		secrets := []string{string(shopCreds.Password), string(shopCreds.AppSecret)}
		var errs []error
		tok, err := clients[0].Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, string(tok.IDToken), string(tok.RefreshToken))
		fake.ExpireTokens()
		if _, err := clients[1].Payments.Query(ctx, "TR0011nonexistent"); err != nil {
			errs = append(errs, err)
		}
		tok2, err := clients[1].Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, string(tok2.IDToken), string(tok2.RefreshToken))
		if fake.Received("token.refresh") != 1 {
			t.Fatalf("refreshes %d, want 1", fake.Received("token.refresh"))
		}
		// The next renewal fails with a body echoing the credentials and
		// the refresh token; then the budget is spent.
		echo := fmt.Sprintf(`{"message":"bad app_secret %s for %s, refresh %s"}`, shopCreds.AppSecret, shopCreds.Password, tok2.RefreshToken)
		fake.Inject("token.refresh", bkashtest.Fault{HTTPStatus: 500, Body: echo, Times: 10})
		fake.Inject("token.grant", bkashtest.Fault{HTTPStatus: 500, Body: echo, Times: 10})
		fake.ExpireTokens()
		for _, c := range clients {
			if _, err := c.Payments.Query(ctx, "TR0011nonexistent"); err != nil {
				errs = append(errs, err)
			}
			if _, err := c.Token(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if n := renewals(fake); n > 2 {
			t.Errorf("%d grant/refresh requests, want at most 2", n)
		}

		where := dumpDatabase(t, open(t, dsn))
		for _, e := range errs {
			where["error string"] += e.Error() + "\n"
		}
		where["log"] = logs.String()
		if !strings.Contains(where["log"], "bkash token renewed") {
			t.Error("no renewal logged: the log check looked at nothing")
		}
		for place, text := range where {
			for _, s := range secrets {
				if s != "" && strings.Contains(text, s) {
					t.Errorf("%s holds a secret %.6s...", place, s)
				}
			}
		}
	})
}

// dumpDatabase returns the text of every row of every table of s, by
// table, with the base64 of bkash_tokens decoded as well.
func dumpDatabase(t *testing.T, s *Store) map[string]string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if s.Dialect() == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	tables, err := s.DB().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	out := map[string]string{}
	for _, n := range names {
		rows, err := s.DB().Query(`SELECT * FROM ` + n)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var b strings.Builder
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				var text string
				switch x := v.(type) {
				case []byte:
					text = string(x)
				default:
					text = fmt.Sprint(x)
				}
				b.WriteString(text + "\n")
				if raw, err := base64.StdEncoding.DecodeString(text); err == nil {
					b.Write(raw)
					b.WriteString("\n")
				}
			}
		}
		rows.Close()
		out["table "+n] = b.String()
	}
	if !strings.Contains(out["table api_log"], "token.grant") {
		t.Error("api_log has no token.grant row: the dump looked at nothing")
	}
	return out
}

// TestTokenRowIsSealed: the token row is the SDK's sealed
// blob, and a Store opened with other credentials' key cannot use it (it
// grants its own, under its own key).
func TestTokenRowIsSealed(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		clients, _ := fleet(t, dsn, fake, 1)
		if _, err := clients[0].Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		var blob string
		if err := open(t, dsn).DB().QueryRow(`SELECT blob FROM bkash_tokens`).Scan(&blob); err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(blob)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(raw, []byte("\x00bkt1")) || bytes.Contains(raw, []byte("id_token")) {
			t.Errorf("the token row is not sealed: %.10q", raw)
		}
	})
}

// TestDatabaseClockExpression: {{now}} is the database's clock
// in Unix milliseconds on both dialects (same host: within a second of
// time.Now), never decreasing across statements, and ignores the Store's
// injected clock (the tests' Stores run on 2026-01-02).
func TestDatabaseClockExpression(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		ts := open(t, dsn).TokenStore()
		var prev int64
		for range 50 {
			var now int64
			if err := ts.s.DB().QueryRow(ts.sql(`SELECT {{now}}`)).Scan(&now); err != nil {
				t.Fatal(err)
			}
			if d := time.Now().UnixMilli() - now; d < -1000 || d > 1000 {
				t.Fatalf("database clock %d is %d ms away from time.Now", now, d)
			}
			if now < prev {
				t.Fatalf("database clock went back from %d to %d", prev, now)
			}
			prev = now
		}
	})
}

// TestRenewalCountEdges: ReturnRenewal of an unknown id, of
// another key's id, or twice, is harmless; retryAt is when the oldest
// request leaves the window; the two keys' counts are separate.
func TestRenewalCountEdges(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		a, b := open(t, dsn).TokenStore(), open(t, dsn).TokenStore()
		first, _, err := a.TakeRenewal(ctx, "k", 2, 3*time.Second)
		if err != nil || first == "" {
			t.Fatal(first, err)
		}
		time.Sleep(time.Second)
		second, _, err := b.TakeRenewal(ctx, "k", 2, 3*time.Second)
		if err != nil || second == "" {
			t.Fatal(second, err)
		}
		other, _, _ := b.TakeRenewal(ctx, "other", 2, 3*time.Second)
		// Giving back the other key's id under k does not free k's place.
		for _, id := range []string{other, "unknown", ""} {
			if err := a.ReturnRenewal(ctx, "k", id); err != nil {
				t.Errorf("ReturnRenewal(%q): %v", id, err)
			}
		}
		id, retryAt, err := a.TakeRenewal(ctx, "k", 2, 3*time.Second)
		if err != nil || id != "" {
			t.Fatalf("third request within the window: %q, %v", id, err)
		}
		// The first leaves the window about 2 s from now.
		if d := time.Until(retryAt); d < 1500*time.Millisecond || d > 2500*time.Millisecond {
			t.Errorf("retryAt in %v, want about 2s", d)
		}
		time.Sleep(time.Until(retryAt) + 100*time.Millisecond)
		if id, _, _ := a.TakeRenewal(ctx, "k", 2, 3*time.Second); id == "" {
			t.Error("refused after retryAt")
		}
	})
}

// TestSQLiteProcessesUnderWriteLoadShareTheBudget: on SQLite,
// eight processes race for the budget while another process keeps the
// database's write lock busy with order writes: the IMMEDIATE transactions
// wait (busy_timeout) and exactly two requests are taken, with no error.
func TestSQLiteProcessesUnderWriteLoadShareTheBudget(t *testing.T) {
	dsn := t.TempDir() + "/shop.db"
	writer := open(t, dsn)
	stop := make(chan struct{})
	var wwg sync.WaitGroup
	wwg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = writer.tx(context.Background(), func(tx *sql.Tx) error {
				_, err := tx.Exec(`INSERT INTO bkash_token_renewals (store_key, id, at) VALUES ('noise', ?, 0)`, randomID())
				time.Sleep(2 * time.Millisecond)
				return err
			})
			time.Sleep(3 * time.Millisecond) // a busy shop, not a stuck one
		}
	})
	stores := make([]*TokenStore, 8)
	for i := range stores {
		stores[i] = open(t, dsn).TokenStore()
	}
	var taken, failed atomic.Int32
	var wg sync.WaitGroup
	for _, ts := range stores {
		for range 4 {
			wg.Go(func() {
				id, _, err := ts.TakeRenewal(context.Background(), "k", 2, time.Hour)
				if err != nil {
					failed.Add(1)
					t.Error(err)
				}
				if id != "" {
					taken.Add(1)
				}
			})
		}
	}
	wg.Wait()
	close(stop)
	wwg.Wait()
	if taken.Load() != 2 || failed.Load() != 0 {
		t.Errorf("taken %d, failed %d; want 2 and 0", taken.Load(), failed.Load())
	}
}
