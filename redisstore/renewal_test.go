package redisstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// One renewal per fleet, with real Redis and real time (issue 18, points 9
// and 11): the numbers are those of the issue.

// replicaClient is one replica: its own Store (its own connection pool) on
// the shared prefix, and its own bkash.Client.
func replicaClient(t *testing.T, srv *bkashtest.Server, prefix string) *bkash.Client {
	t.Helper()
	c, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL),
		bkash.WithTokenStore(replica(t, prefix)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tokens has n replicas ask for a token at once and returns what each got.
func tokens(t *testing.T, clients []*bkash.Client) []string {
	t.Helper()
	got := make([]string, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			tok, err := c.Token(context.Background())
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
				return
			}
			got[i] = string(tok.IDToken)
		})
	}
	wg.Wait()
	return got
}

// TestSixReplicasGrantOnceWhenTheGrantIsSlow: the grant takes 5 s, longer
// than replicas used to wait for the lock holder (3.5 s).
func TestSixReplicasGrantOnceWhenTheGrantIsSlow(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	srv.Inject("token.grant", bkashtest.Fault{Delay: 5 * time.Second, Times: 6})
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	clients := make([]*bkash.Client, 6)
	for i := range clients {
		clients[i] = replicaClient(t, srv, prefix)
	}
	start := time.Now()
	got := tokens(t, clients)
	t.Logf("6 replicas had a token after %v", time.Since(start).Round(time.Millisecond))
	if g, r := srv.Grants(), srv.Received("token.grant"); g != 1 || r != 1 {
		t.Errorf("grants applied, received = %d, %d; want 1, 1", g, r)
	}
	for i := range got {
		if got[i] == "" || got[i] != got[0] {
			t.Errorf("replica %d has another token than replica 0", i)
		}
	}
}

// TestHolderOfA35SecondRenewalKeepsTheLock: the holder's first grant
// request answers 503 after 20 s, its retry succeeds after 15 s. The lock,
// taken with a 10 s TTL, is extended all along: replicas that ask at the
// start and after 31 s (past the old 30 s TTL) wait for the holder's token.
func TestHolderOfA35SecondRenewalKeepsTheLock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 36 s of real time")
	}
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	srv.Inject("token.grant", bkashtest.Fault{Delay: 20 * time.Second, HTTPStatus: 503})
	srv.Inject("token.grant", bkashtest.Fault{Delay: 15 * time.Second, Times: 5})
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	holder := replicaClient(t, srv, prefix)
	early := replicaClient(t, srv, prefix)
	late := replicaClient(t, srv, prefix)

	start := time.Now()
	results := make(chan string, 3)
	ask := func(name string, c *bkash.Client) {
		tok, err := c.Token(context.Background())
		if err != nil {
			t.Errorf("%s, after %v: %v", name, time.Since(start).Round(time.Millisecond), err)
			results <- ""
			return
		}
		results <- string(tok.IDToken)
	}
	go ask("holder", holder)
	for srv.Received("token.grant") == 0 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the holder's grant never arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}
	go ask("early replica", early)
	time.Sleep(31*time.Second - time.Since(start))
	go ask("late replica (31 s)", late)
	var toks []string
	for range 3 {
		toks = append(toks, <-results)
	}
	t.Logf("renewal done after %v", time.Since(start).Round(time.Millisecond))
	if g, r := srv.Grants(), srv.Received("token.grant"); g != 1 || r != 2 {
		t.Errorf("grants applied, received = %d, %d; want 1, 2 (the holder's attempt and its retry)", g, r)
	}
	for _, tok := range toks {
		if tok == "" || tok != toks[0] {
			t.Errorf("tokens %q, want one token for all", toks)
			break
		}
	}
}

// TestKilledHolderFreesTheLockWithinItsLease: a replica takes the lock,
// sends its grant, and is killed (SIGKILL) before the answer: it never
// extends or unlocks again. The next replica renews once the 10 s lease has
// run out, and not before the lock expired.
func TestKilledHolderFreesTheLockWithinItsLease(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	srv.Inject("token.grant", bkashtest.Fault{Delay: time.Minute}) // the dying holder's grant
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	creds := srv.Credentials()
	w := startWorker(t, "granter", "REDISSTORE_TEST_PREFIX="+prefix, "REDISSTORE_TEST_BKASH_URL="+srv.URL,
		"BKASH_USERNAME="+creds.Username, "BKASH_PASSWORD="+string(creds.Password),
		"BKASH_APP_KEY="+creds.AppKey, "BKASH_APP_SECRET="+string(creds.AppSecret))
	if got := w.readLine(t, 30*time.Second); got != "renewing" {
		t.Fatalf("worker said %q; its stderr:\n%s", got, w.stderr)
	}
	for start := time.Now(); srv.Received("token.grant") == 0; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the worker's grant never arrived; its stderr:\n%s", w.stderr)
		}
	}
	time.Sleep(4 * time.Second) // the holder has extended its lock at least once
	if err := w.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = w.cmd.Wait()
	killed := time.Now()

	c := replicaClient(t, srv, prefix)
	done := make(chan error, 1)
	go func() { _, err := c.Token(context.Background()); done <- err }()
	// The holder extended its lock at most 3.3 s (a third of the lease)
	// before it died: the lock stands for at least 6.6 s more.
	time.Sleep(5 * time.Second)
	if r := srv.Received("token.grant"); r != 1 {
		t.Errorf("grant requests 5 s after the holder died = %d, want 1 (its lock still stands)", r)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no token 25 s after the holder died")
	}
	d := time.Since(killed)
	t.Logf("the next replica had a token %v after the holder was killed (lease 10 s)", d.Round(time.Millisecond))
	if d > 12*time.Second {
		t.Errorf("renewed %v after the holder died, want within the 10 s lease (plus a poll)", d)
	}
	if g, r := srv.Grants(), srv.Received("token.grant"); g != 1 || r != 2 {
		t.Errorf("grants applied, received = %d, %d; want 1, 2 (the dead holder's was never processed)", g, r)
	}
}

// TestCrashLoopingReplicasShareOneBudget: a replica whose grant fails
// restarts (a new process: a new Client and Store) again and again; the
// budget kept in Redis stops the third grant request within the hour.
func TestCrashLoopingReplicasShareOneBudget(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	srv.Inject("token.grant", bkashtest.Fault{Code: "9999", Message: "System Error", Times: 10})
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	var errs []error
	for range 4 {
		_, err := replicaClient(t, srv, prefix).Token(context.Background())
		errs = append(errs, err)
	}
	if r := srv.Received("token.grant"); r != 2 {
		t.Errorf("grant requests from 4 lives of the replica = %d, want 2", r)
	}
	for i, err := range errs {
		if want := i >= 2; errors.Is(err, bkash.ErrTokenBudgetExceeded) != want {
			t.Errorf("life %d: err = %v, want budget exceeded: %v", i+1, err, want)
		}
	}
	if n := rdb.ZCard(context.Background(), prefix+"budget:sandbox:"+tokenHash(t, srv)).Val(); n != 2 {
		t.Errorf("requests recorded in Redis = %d, want 2", n)
	}
}

// TestWrongCredentialsAreRefusedOnceAndClassedAsAuth: the fake answers a
// wrong password as bKash did ("Username does not exist", 9999).
func TestWrongCredentialsAreRefusedOnceAndClassedAsAuth(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	creds := srv.Credentials()
	creds.Password = "wrong"
	c, err := bkash.NewClient(bkash.Sandbox, creds, bkash.WithBaseURL(srv.URL), bkash.WithTokenStore(replica(t, prefix)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Token(context.Background())
	var ae *bkash.APIError
	if !errors.Is(err, bkash.ErrCredentialsRejected) || !errors.As(err, &ae) || ae.Class() != bkash.ClassAuth || ae.Temporary() {
		t.Errorf("err = %v, want ErrCredentialsRejected, ClassAuth, not temporary", err)
	}
	if r := srv.Received("token.grant"); r != 1 {
		t.Errorf("grant requests = %d, want 1", r)
	}
}
