package bkash

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"
)

func TestColdClientGrantsOnceFor200ConcurrentCalls(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		time.Sleep(20 * time.Millisecond) // keep the flight open while the others arrive
		return m.tokenAnswer(n, r)
	})
	m.on(epPaymentQuery, coreOK)
	c := m.client()

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			_, err := c.Payments.Query(context.Background(), "TR0011abc")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want exactly 1", got)
	}
	if got := m.sent(epPaymentQuery); got != 200 {
		t.Errorf("queries = %d, want 200", got)
	}
	for _, r := range m.requests(epPaymentQuery) {
		if got := r.Header.Get("Authorization"); got != "eyJ-ID1-tok" {
			t.Fatalf("Authorization = %q, want the one granted token", got)
		}
	}
}

func TestExpiredTokenIsRefreshedWithRefreshTokenNotRegranted(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	clk := newCoreClock()
	c := m.client()
	setTokenClock(c, clk.Now)

	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	granted := c.tokens.current()
	clk.Advance(time.Hour)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != 1 {
		t.Fatalf("grants, refreshes = %d, %d; want 1, 1", g, r)
	}
	refresh := m.requests(epRefresh)[0]
	var body map[string]string
	if err := json.Unmarshal(refresh.Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"app_key": "appkey-0f3a", "app_secret": "appsecret-SECRET-91be", "refresh_token": "eyJ-RF1-tok"}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("refresh body (-want +got):\n%s", diff)
	}
	if got := refresh.Header["Username"]; len(got) != 1 || got[0] != "merchantUser01" {
		t.Errorf("refresh username header = %q", got)
	}
	if got := refresh.Header["Password"]; len(got) != 1 || got[0] != "pw-SECRET-7d1c" {
		t.Errorf("refresh password header missing")
	}
	q := m.requests(epPaymentQuery)
	if got := q[1].Header.Get("Authorization"); got != "eyJ-ID2-tok" {
		t.Errorf("Authorization after refresh = %q, want eyJ-ID2-tok", got)
	}
	tok := c.tokens.current()
	if tok.RefreshToken != "eyJ-RF2-tok" {
		t.Errorf("refresh token not replaced by the one the refresh returned")
	}
	if want := clk.Now().Add(28 * 24 * time.Hour); !tok.RefreshExpiresAt.Equal(want) {
		t.Errorf("RefreshExpiresAt = %v, want %v (a new refresh_token restarts the 28 days)", tok.RefreshExpiresAt, want)
	}
	if !granted.RefreshExpiresAt.Equal(clk.Now().Add(-time.Hour).Add(28 * 24 * time.Hour)) {
		t.Errorf("granted RefreshExpiresAt = %v", granted.RefreshExpiresAt)
	}
}

func TestRefreshWithoutRefreshTokenKeepsTheOldOne(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onRefresh(func(n int, _ coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"0000","id_token":"eyJ-REFRESHED-`+string(rune('0'+n))+`","token_type":"Bearer","expires_in":"3600"}`), nil
	})
	m.on(epPaymentQuery, coreOK)
	clk := newCoreClock()
	c := m.client()
	setTokenClock(c, clk.Now)

	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	grantedAt := clk.Now()
	for range 2 {
		clk.Advance(time.Hour)
		if _, err := coreQuery(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range m.requests(epRefresh) {
		if !bytes.Contains(r.Body, []byte(`"refresh_token":"eyJ-RF1-tok"`)) {
			t.Errorf("refresh %d body = %s, want the granted refresh_token", i+1, r.Body)
		}
	}
	tok := c.tokens.current()
	if tok.IDToken != "eyJ-REFRESHED-2" || tok.RefreshToken != "eyJ-RF1-tok" {
		t.Errorf("token = %s/%s", string(tok.IDToken), string(tok.RefreshToken))
	}
	if want := grantedAt.Add(28 * 24 * time.Hour); !tok.RefreshExpiresAt.Equal(want) {
		t.Errorf("RefreshExpiresAt = %v, want the grant's %v", tok.RefreshExpiresAt, want)
	}
	if want := clk.Now().Add(time.Hour); !tok.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v (expires_in as a string)", tok.ExpiresAt, want)
	}
}

func TestExpiredRefreshTokenMeansGrant(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	clk := newCoreClock()
	c := m.client()
	setTokenClock(c, clk.Now)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	clk.Advance(28*24*time.Hour - 30*time.Second) // inside the refresh margin
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if g, r := m.sent(epGrant), m.sent(epRefresh); g != 2 || r != 0 {
		t.Errorf("grants, refreshes = %d, %d; want 2, 0", g, r)
	}
}

func TestRefreshRefusedWithACodeFallsBackToGrant(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onRefresh(func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"2079","statusMessage":"Invalid app Token"}`), nil
	})
	m.on(epPaymentQuery, coreOK)
	clk := newCoreClock()
	c := m.client()
	setTokenClock(c, clk.Now)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if g, r := m.sent(epGrant), m.sent(epRefresh); g != 2 || r != 1 {
		t.Errorf("grants, refreshes = %d, %d; want 2, 1", g, r)
	}
}

func TestRejectedTokenIsRenewedOnceAndTheCallReplayedOnce(t *testing.T) {
	t.Parallel()
	rejections := []struct {
		name   string
		status int
		body   string
	}{
		{"gateway 401", 401, `{"message":"Unauthorized"}`},
		{"gateway 403", 403, `{"message":"Forbidden"}`},
		{"expired", 401, `{"message":"The incoming token has expired"}`},
		{"code 2079", 200, `{"statusCode":"2079","statusMessage":"Invalid app Token"}`},
	}
	for _, tc := range rejections {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			m.on(epPaymentExecute, func(n int, r coreReq) (*http.Response, error) {
				if n == 1 {
					return coreJSON(tc.status, tc.body), nil
				}
				return coreOK(n, r)
			})
			m.on(epPaymentQuery, coreOK)
			obs := &coreObserver{}
			c := m.client(WithObserver(obs))
			// The token has worked before it is rejected: a token rejected
			// on its first use right after its grant is a configuration
			// error instead (TestFreshTokenRejectedIsAConfigurationError).
			if _, err := coreQuery(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			var out coreQueryOut
			if err := c.do(context.Background(), epPaymentExecute, coreQueryIn{"TR0011abc"}, &out); err != nil {
				t.Fatalf("execute: %v", err)
			}
			if got := m.sent(epPaymentExecute); got != 2 {
				t.Errorf("executes sent = %d, want 2 (the call and one replay)", got)
			}
			if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != 1 {
				t.Errorf("grants, refreshes = %d, %d; want 1, 1", g, r)
			}
			reqs := m.requests(epPaymentExecute)
			if a, b := reqs[0].Header.Get("Authorization"), reqs[1].Header.Get("Authorization"); a != "eyJ-ID1-tok" || b != "eyJ-ID2-tok" {
				t.Errorf("Authorization of call, replay = %q, %q", a, b)
			}
			if diff := cmp.Diff([]string{"grant", "refresh"}, obs.kinds()); diff != "" {
				t.Errorf("renewal events (-want +got):\n%s", diff)
			}
			var nums []int
			for _, e := range obs.attempts {
				if e.Op == "payment.execute" {
					nums = append(nums, e.Attempt)
				}
			}
			if diff := cmp.Diff([]int{1, 2}, nums); diff != "" {
				t.Errorf("attempt numbers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecondRejectionAfterReplayIsAnAPIErrorAndThirdRenewalIsRefused(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(n int, r coreReq) (*http.Response, error) {
		if n == 1 {
			return coreOK(n, r) // the first token works (see TestFreshTokenRejectedIsAConfigurationError otherwise)
		}
		return coreJSON(401, `{"message":"Unauthorized"}`), nil
	})
	clk := newCoreClock()
	c := m.client()
	setTokenClock(c, clk.Now)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}

	_, err := coreQuery(context.Background(), c)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	want := &APIError{Op: "payment.query", HTTPStatus: 401, Message: "Unauthorized", Attempts: 2}
	if diff := cmp.Diff(want, ae); diff != "" {
		t.Errorf("APIError (-want +got):\n%s", diff)
	}
	if ae.Class() != ClassAuth {
		t.Errorf("Class = %v, want auth", ae.Class())
	}
	if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != 1 {
		t.Fatalf("grants, refreshes = %d, %d; want 1, 1", g, r)
	}

	// A third renewal within the hour: refused locally, nothing sent.
	clk.Advance(30 * time.Minute)
	_, err = coreQuery(context.Background(), c)
	if !errors.Is(err, ErrTokenBudgetExceeded) {
		t.Fatalf("err = %v, want ErrTokenBudgetExceeded", err)
	}
	if !strings.Contains(err.Error(), "next is allowed at 2025-05-18T11:00:00Z (in 30m0s)") {
		t.Errorf("err = %q, want it to say when the budget frees up", err)
	}
	if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != 1 {
		t.Errorf("grants, refreshes = %d, %d after refusal; want still 1, 1", g, r)
	}
	if got := m.sent(epPaymentQuery); got != 4 {
		t.Errorf("queries = %d, want 4 (the refused call's own attempt, no replay)", got)
	}
	// Still refused a moment later, without calling bKash.
	if _, err := coreQuery(context.Background(), c); !errors.Is(err, ErrTokenBudgetExceeded) {
		t.Fatalf("err = %v, want ErrTokenBudgetExceeded", err)
	}
	if got := m.sent(epPaymentQuery); got != 4 {
		t.Errorf("queries = %d, want 4: without a token nothing is sent", got)
	}

	// The budget frees an hour after the first grant.
	clk.Advance(30*time.Minute + time.Second)
	m.on(epPaymentQuery, coreOK)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatalf("after an hour: %v", err)
	}
	if got := m.sent(epGrant) + m.sent(epRefresh); got != 3 {
		t.Errorf("renewal calls = %d, want 3", got)
	}
}

func TestTokenBudgetCountsFailedCalls(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"9999","statusMessage":"Username does not exist"}`), nil
	})
	c := m.client()
	for i := range 2 {
		_, err := coreQuery(context.Background(), c)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Op != "token.grant" || ae.Code != "9999" {
			t.Fatalf("call %d: err = %v, want the grant's *APIError", i+1, err)
		}
	}
	_, err := coreQuery(context.Background(), c)
	if !errors.Is(err, ErrTokenBudgetExceeded) {
		t.Fatalf("third call: err = %v, want ErrTokenBudgetExceeded", err)
	}
	if got := m.sent(epGrant); got != 2 {
		t.Errorf("grants = %d, want 2", got)
	}
}

func TestTokenBudgetIsConfigurable(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"9999","statusMessage":"System Error"}`), nil
	})
	c := m.client(WithTokenRenewalBudget(1))
	_, _ = coreQuery(context.Background(), c)
	if _, err := coreQuery(context.Background(), c); !errors.Is(err, ErrTokenBudgetExceeded) {
		t.Fatalf("err = %v, want ErrTokenBudgetExceeded after 1 call", err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1", got)
	}
}

func TestCancelledWaiterDoesNotFailTheOthers(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	arrived := make(chan struct{})
	release := make(chan struct{})
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		close(arrived)
		<-release
		return m.tokenAnswer(n, r)
	})
	m.on(epPaymentQuery, coreOK)
	c := m.client()

	// The first caller starts the renewal and then gives up.
	ctx, cancel := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() {
		_, err := coreQuery(ctx, c)
		leader <- err
	}()
	<-arrived
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			_, err := coreQuery(context.Background(), c)
			errs <- err
		})
	}
	time.Sleep(50 * time.Millisecond) // let the waiters join the flight
	cancel()
	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader err = %v, want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("waiter failed: %v", err)
		}
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1", got)
	}
	if got := m.sent(epPaymentQuery); got != 5 {
		t.Errorf("queries = %d, want 5 (the cancelled caller sent none)", got)
	}
}

func TestClientsSharingAStoreShareTheToken(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	store := NewMemoryTokenStore()
	obs2 := &coreObserver{}
	c1 := m.client(WithTokenStore(store))
	c2 := m.client(WithTokenStore(store), WithObserver(obs2))
	for _, c := range []*Client{c1, c2, c1, c2} {
		if _, err := coreQuery(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1 (the second client takes the stored token)", got)
	}
	if diff := cmp.Diff([]string{"store"}, obs2.kinds()); diff != "" {
		t.Errorf("second client's renewals (-want +got):\n%s", diff)
	}
	for _, r := range m.requests(epPaymentQuery) {
		if got := r.Header.Get("Authorization"); got != "eyJ-ID1-tok" {
			t.Errorf("Authorization = %q", got)
		}
	}
}

func TestStoredTokenEqualToTheRejectedOneIsIgnored(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(n int, r coreReq) (*http.Response, error) {
		if r.Header.Get("Authorization") == "eyJ-ID1-tok" && n > 1 {
			return coreJSON(401, `{"message":"Unauthorized"}`), nil
		}
		return coreOK(n, r)
	})
	store := NewMemoryTokenStore()
	c1 := m.client(WithTokenStore(store))
	c2 := m.client(WithTokenStore(store))
	if _, err := coreQuery(context.Background(), c1); err != nil { // grants ID1 into the store
		t.Fatal(err)
	}
	if _, err := coreQuery(context.Background(), c2); err != nil { // takes ID1, rejected, renews
		t.Fatal(err)
	}
	if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != 1 {
		t.Errorf("grants, refreshes = %d, %d; want 1, 1 (the stored ID1 must not be taken again)", g, r)
	}
	if got := c2.tokens.current().IDToken; got != "eyJ-ID2-tok" {
		t.Errorf("c2 token = %s, want the refreshed one", string(got))
	}
	// The refresh used the refresh_token that came with the stored token.
	if !bytes.Contains(m.requests(epRefresh)[0].Body, []byte("eyJ-RF1-tok")) {
		t.Errorf("refresh body = %s", m.requests(epRefresh)[0].Body)
	}
	// And c1 now finds the newer token in the store after its own rejection.
	if _, err := coreQuery(context.Background(), c1); err != nil {
		t.Fatal(err)
	}
	if got := m.sent(epGrant) + m.sent(epRefresh); got != 2 {
		t.Errorf("renewal calls = %d, want 2", got)
	}
}

// contendedStore is a store whose lock is held by "another process".
type contendedStore struct {
	*MemoryTokenStore
	loads     atomic.Int32
	locks     atomic.Int32
	onLoad    func(n int32) // called before each Load returns
	lockError error
}

func (s *contendedStore) Load(ctx context.Context, key string) ([]byte, error) {
	n := s.loads.Add(1)
	if s.onLoad != nil {
		s.onLoad(n)
	}
	return s.MemoryTokenStore.Load(ctx, key)
}

func (s *contendedStore) Lock(context.Context, string, time.Duration) (func(context.Context) error, error) {
	s.locks.Add(1)
	return nil, s.lockError
}

func TestLockHeldElsewhereWaitsForTheOtherProcesssToken(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	inner := NewMemoryTokenStore()
	other := m.client(WithTokenStore(inner)) // the process holding the lock
	store := &contendedStore{MemoryTokenStore: inner, lockError: ErrLockNotAcquired}
	store.onLoad = func(n int32) {
		if n == 3 { // first load, then two polls come back empty
			if _, err := other.tokens.token(context.Background()); err != nil {
				t.Errorf("other process: %v", err)
			}
		}
	}
	log := &coreLog{}
	obs := &coreObserver{}
	c := m.client(WithTokenStore(store), WithObserver(obs), WithLogger(log.logger()))
	c.tokens.lockWaits = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}

	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1 (only the lock holder's)", got)
	}
	// The lock is tried again after each empty poll: a free lock would mean
	// the holder is gone and this process must renew.
	if got := store.locks.Load(); got != 2 {
		t.Errorf("Lock calls = %d, want 2", got)
	}
	if got := store.loads.Load(); got != 3 {
		t.Errorf("Loads = %d, want 3 (stop polling once the token is there)", got)
	}
	if diff := cmp.Diff([]string{"store"}, obs.kinds()); diff != "" {
		t.Errorf("renewals (-want +got):\n%s", diff)
	}
	if got := log.lines(`"kind":"store"`); len(got) != 1 || !strings.Contains(got[0], `"level":"INFO"`) {
		t.Errorf("Info line for the store renewal: %q", got)
	}
}

// TestLockHeldElsewhereIsWaitedForNotBypassed: while a live holder has the
// lock and no token appears, the renewal waits (up to its limit) and fails;
// it never grants beside the holder. (Until issue 18 it renewed without the
// lock after 3.5 s: with a 5 s grant, every replica granted.)
func TestLockHeldElsewhereIsWaitedForNotBypassed(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	store := &contendedStore{MemoryTokenStore: NewMemoryTokenStore(), lockError: ErrLockNotAcquired}
	c := m.client(WithTokenStore(store))
	c.tokens.lockWaits = []time.Duration{time.Millisecond, 5 * time.Millisecond}
	c.tokens.waitMax = 100 * time.Millisecond
	start := time.Now()
	_, err := coreQuery(context.Background(), c)
	// The wait limit can end during a poll of the store or during a try of
	// the lock (which of the two depends on the scheduler): either way the
	// error is the wait's deadline and nothing was granted.
	if !errors.Is(err, context.DeadlineExceeded) ||
		!(strings.Contains(err.Error(), "renewal running in another process") || strings.Contains(err.Error(), "for the renewal lock")) {
		t.Errorf("err = %v, want the wait's deadline", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %v, want the wait limit (100ms)", d)
	}
	if got := m.sent(epGrant); got != 0 {
		t.Errorf("grants = %d, want 0 (the holder's renewal is not duplicated)", got)
	}
	if got := store.locks.Load(); got < 3 {
		t.Errorf("Lock calls = %d, want one per poll", got)
	}
}

func TestLockFailureIsLoggedAndRenewalProceeds(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	store := &contendedStore{MemoryTokenStore: NewMemoryTokenStore(), lockError: errors.New("redis: connection refused")}
	log := &coreLog{}
	c := m.client(WithTokenStore(store), WithLogger(log.logger()))
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := log.lines("lock failed"); len(got) != 1 || !strings.Contains(got[0], "redis: connection refused") || !strings.Contains(got[0], `"level":"WARN"`) {
		t.Errorf("lock failure line = %q", got)
	}
}

func TestMemoryStoreLockSerialisesRenewal(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	store := NewMemoryTokenStore()
	c := m.client(WithTokenStore(store))
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		// While this client renews, another holder cannot take the lock.
		if _, err := store.Lock(context.Background(), c.tokens.key, time.Second); !errors.Is(err, ErrLockNotAcquired) {
			t.Errorf("Lock during renewal: err = %v, want ErrLockNotAcquired", err)
		}
		return m.tokenAnswer(n, r)
	})
	m.on(epPaymentQuery, coreOK)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	unlock, err := store.Lock(context.Background(), c.tokens.key, time.Second)
	if err != nil {
		t.Fatalf("Lock after renewal: %v (not released)", err)
	}
	_ = unlock(context.Background())
}

// failingStore is a store that is down.
type failingStore struct{ loads, saves atomic.Int32 }

func (s *failingStore) Load(context.Context, string) ([]byte, error) {
	s.loads.Add(1)
	return nil, errors.New("dial tcp 10.0.0.7:6379: connect: connection refused")
}

func (s *failingStore) Save(context.Context, string, []byte, time.Duration) error {
	s.saves.Add(1)
	return errors.New("dial tcp 10.0.0.7:6379: connect: connection refused")
}

func TestStoreDownIsLoggedAndTheClientKeepsWorking(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	store := &failingStore{}
	log := &coreLog{}
	c := m.client(WithTokenStore(store), WithLogger(log.logger()))
	for range 5 {
		if _, err := coreQuery(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1 (the in-process token serves while the store is down)", got)
	}
	if l, s := store.loads.Load(), store.saves.Load(); l != 1 || s != 1 {
		t.Errorf("store loads, saves = %d, %d; want 1, 1", l, s)
	}
	for _, msg := range []string{"token store load failed", "token store save failed"} {
		lines := log.lines(msg)
		if len(lines) != 1 || !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], "connection refused") {
			t.Errorf("%s: lines = %q", msg, lines)
		}
	}
}

func TestFailedRenewalKeepsTheStillValidToken(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onRefresh(func(int, coreReq) (*http.Response, error) {
		return coreJSON(503, `{"message":"Service Unavailable"}`), nil
	})
	m.onGrant(func(n int, r coreReq) (*http.Response, error) {
		if n > 1 {
			return coreJSON(503, `{"message":"Service Unavailable"}`), nil
		}
		return m.tokenAnswer(n, r)
	})
	m.on(epPaymentQuery, coreOK)
	clk := newCoreClock()
	log := &coreLog{}
	obs := &coreObserver{}
	c := m.client(WithLogger(log.logger()), WithObserver(obs), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	setTokenClock(c, clk.Now)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	clk.Advance(56 * time.Minute) // due for renewal, 4 minutes left
	for range 3 {
		if _, err := coreQuery(context.Background(), c); err != nil {
			t.Fatalf("query with a failed renewal: %v", err)
		}
	}
	if r := m.sent(epRefresh); r != 1 {
		t.Errorf("refreshes = %d, want 1 (no hammering after a failure)", r)
	}
	for _, r := range m.requests(epPaymentQuery) {
		if got := r.Header.Get("Authorization"); got != "eyJ-ID1-tok" {
			t.Errorf("Authorization = %q, want the still-valid token", got)
		}
	}
	if len(log.lines("using the current token until it expires")) != 1 {
		t.Errorf("missing fallback warning:\n%s", log)
	}
	obs.mu.Lock()
	last := obs.renewals[len(obs.renewals)-1]
	obs.mu.Unlock()
	if last.Kind != "refresh" || last.Err == nil {
		t.Errorf("last renewal event = %+v, want a failed refresh", last)
	}
	// After the hold, renewal is tried again, but the budget (grant +
	// refresh) is spent: refused locally, and the valid token still serves.
	clk.Advance(31 * time.Second)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if r, g := m.sent(epRefresh), m.sent(epGrant); r != 1 || g != 1 {
		t.Errorf("refreshes, grants = %d, %d; want 1, 1", r, g)
	}
	if len(log.lines("budget exceeded")) != 1 {
		t.Errorf("budget refusal not logged:\n%s", log)
	}
	// Once the token has expired, the failure reaches the caller.
	clk.Advance(4 * time.Minute)
	_, err := coreQuery(context.Background(), c)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Op != "token.refresh" || ae.HTTPStatus != 503 {
		t.Errorf("err = %v, want the refresh's 503", err)
	}
	if r := m.sent(epRefresh); r != 2 {
		t.Errorf("refreshes = %d, want 2", r)
	}
}

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

func TestTokenEncryption(t *testing.T) {
	t.Parallel()
	gcm := func(key string) cipher.AEAD {
		b, err := aes.NewCipher([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		a, err := cipher.NewGCM(b)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	k1, k2 := gcm("0123456789abcdef0123456789abcdef"), gcm("fedcba9876543210fedcba9876543210")

	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	store := NewMemoryTokenStore()
	c1 := m.client(WithTokenStore(store), WithTokenEncryption(k1))
	if _, err := coreQuery(context.Background(), c1); err != nil {
		t.Fatal(err)
	}
	blob, _ := store.Load(context.Background(), c1.tokens.key)
	if len(blob) == 0 || bytes.Contains(blob, []byte("eyJ-")) || bytes.Contains(blob, []byte("refresh")) {
		t.Fatalf("stored blob is not encrypted: %q", blob)
	}

	// Same key: shares the token.
	c2 := m.client(WithTokenStore(store), WithTokenEncryption(k1))
	if _, err := coreQuery(context.Background(), c2); err != nil {
		t.Fatal(err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Fatalf("grants = %d, want 1", got)
	}

	cases := []struct {
		name string
		opts []Option
		warn string
	}{
		{"wrong key", []Option{WithTokenEncryption(k2)}, "wrong key"},
		{"no key", nil, "configure WithTokenEncryption"},
	}
	for i, tc := range cases {
		log := &coreLog{}
		// The store keeps one renewal budget for all these clients; a third
		// grant within the hour needs a budget of 3.
		c := m.client(append(tc.opts, WithTokenStore(store), WithLogger(log.logger()), WithTokenRenewalBudget(3))...)
		if _, err := coreQuery(context.Background(), c); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := m.sent(epGrant); got != 2+i {
			t.Errorf("%s: grants = %d, want %d (the blob cannot be used)", tc.name, got, 2+i)
		}
		if len(log.lines(tc.warn)) != 1 {
			t.Errorf("%s: no warning containing %q:\n%s", tc.name, tc.warn, log)
		}
		// Put the k1 blob back for the next case.
		_ = store.Save(context.Background(), c1.tokens.key, blob, time.Hour)
	}

	// A clear blob is not trusted by an encrypting client.
	clear := NewMemoryTokenStore()
	plain := m.client(WithTokenStore(clear))
	if _, err := coreQuery(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	log := &coreLog{}
	enc := m.client(WithTokenStore(clear), WithTokenEncryption(k1), WithLogger(log.logger()))
	before := m.sent(epGrant)
	if _, err := coreQuery(context.Background(), enc); err != nil {
		t.Fatal(err)
	}
	if m.sent(epGrant) != before+1 || len(log.lines("not encrypted")) != 1 {
		t.Errorf("clear blob: grants %d -> %d, log:\n%s", before, m.sent(epGrant), log)
	}

	// The associated data binds the blob to its key.
	other := &tokenManager{aead: k1, key: "bkash:token:sandbox:0000000000000000"}
	if _, err := other.decode(blob); err == nil {
		t.Error("a blob moved to another key decrypted")
	}
}

func TestStoredBlobRoundTripAndBadBlobs(t *testing.T) {
	t.Parallel()
	m := &tokenManager{key: "k"}
	issued := time.Date(2025, 5, 18, 10, 0, 0, 0, time.UTC)
	in := &Token{IDToken: "id\"\\x", RefreshToken: "rf", TokenType: "Bearer",
		ExpiresAt: issued.Add(time.Hour), RefreshExpiresAt: issued.Add(28 * 24 * time.Hour), issuedAt: issued}
	blob, err := m.encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.decode(blob)
	if err != nil {
		t.Fatal(err)
	}
	if out.IDToken != in.IDToken || out.RefreshToken != in.RefreshToken || out.TokenType != in.TokenType ||
		!out.ExpiresAt.Equal(in.ExpiresAt) || !out.RefreshExpiresAt.Equal(in.RefreshExpiresAt) || !out.issuedAt.Equal(issued) {
		t.Errorf("round trip: got %+v", out)
	}
	if got := out.auth; len(got) != 1 || got[0] != string(in.IDToken) {
		t.Errorf("auth header not prepared")
	}
	// Renewal is due 5-6 minutes before expiry.
	if d := out.ExpiresAt.Sub(out.refreshAt); d < renewSkew || d > renewSkew+renewJitter {
		t.Errorf("skew = %v, want 5m..6m", d)
	}
	for _, bad := range []string{
		`not json`, `{"v":2,"id_token":"a","expires_at":"2025-05-18T10:00:00Z"}`,
		`{"v":1,"expires_at":"2025-05-18T10:00:00Z"}`, `{"v":1,"id_token":"a"}`,
		sealedMagic + "short",
	} {
		if _, err := m.decode([]byte(bad)); err == nil {
			t.Errorf("decode(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "id_token\":\"a") {
			t.Errorf("error quotes the blob: %v", err)
		}
	}
}

func TestShortLivedTokenIsRenewedAtHalfLife(t *testing.T) {
	t.Parallel()
	issued := time.Date(2025, 5, 18, 10, 0, 0, 0, time.UTC)
	tk := &Token{IDToken: "a", ExpiresAt: issued.Add(2 * time.Minute), issuedAt: issued}
	tk.prepare(issued)
	if want := issued.Add(time.Minute); !tk.refreshAt.Equal(want) {
		t.Errorf("refreshAt = %v, want %v", tk.refreshAt, want)
	}
}

func TestExpiresInVariants(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expiresIn string // raw JSON, "" to omit
		want      time.Duration
		warn      bool
	}{
		{`3600`, time.Hour, false},
		{`"3600"`, time.Hour, false},
		{`120`, 2 * time.Minute, false},
		{``, time.Hour, false},
		{`null`, time.Hour, false},
		{`"soon"`, time.Hour, true},
		{`-5`, time.Hour, true},
		{`3600.5`, time.Hour, true},
	}
	for _, tc := range cases {
		t.Run(tc.expiresIn, func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			body := `{"statusCode":"0000","id_token":"eyJ-X","refresh_token":"eyJ-R"`
			if tc.expiresIn != "" {
				body += `,"expires_in":` + tc.expiresIn
			}
			m.onGrant(func(int, coreReq) (*http.Response, error) { return coreJSON(200, body+"}"), nil })
			clk := newCoreClock()
			log := &coreLog{}
			c := m.client(WithLogger(log.logger()))
			setTokenClock(c, clk.Now)
			tok, err := c.tokens.token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.ExpiresAt.Sub(clk.Now()); got != tc.want {
				t.Errorf("lifetime = %v, want %v", got, tc.want)
			}
			if tok.TokenType != "Bearer" {
				t.Errorf("TokenType = %q, want the default Bearer", tok.TokenType)
			}
			if got := len(log.lines("unusable expires_in")) == 1; got != tc.warn {
				t.Errorf("warned = %v, want %v", got, tc.warn)
			}
		})
	}
}

func TestGrantAnswerWithoutIDTokenIsAnError(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"0000","statusMessage":"Successful"}`), nil
	})
	obs := &coreObserver{}
	c := m.client(WithObserver(obs))
	_, err := coreQuery(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "token.grant: answer carries no id_token") {
		t.Fatalf("err = %v", err)
	}
	if m.sent(epPaymentQuery) != 0 {
		t.Error("query sent without a token")
	}
	if len(obs.renewals) != 1 || obs.renewals[0].Kind != "grant" || obs.renewals[0].Err == nil {
		t.Errorf("renewal events = %+v", obs.renewals)
	}
}

func TestGrantRequestBodyAndHeaders(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	creds := coreCreds
	creds.AppSecret = Secret("a\"b\\c\n\x01é")
	c, err := NewClient(Sandbox, creds, WithHTTPClient(&http.Client{Transport: m.mt}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	g := m.requests(epGrant)[0]
	if want := `{"app_key":"appkey-0f3a","app_secret":"a\"b\\c\n\u0001é"}`; string(g.Body) != want {
		t.Errorf("grant body = %s, want %s", g.Body, want)
	}
	var back map[string]string
	if err := json.Unmarshal(g.Body, &back); err != nil || back["app_secret"] != string(creds.AppSecret) {
		t.Errorf("grant body does not decode back: %v %q", err, back)
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

func TestRejectOnlyDropsTheCurrentToken(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	c := m.client()
	t1, err := c.tokens.token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	newer := &Token{IDToken: "newer", ExpiresAt: time.Now().Add(time.Hour)}
	newer.prepare(time.Now())
	c.tokens.swap(newer)
	c.tokens.reject(t1) // a caller with the old token reports it
	if c.tokens.current() != newer {
		t.Error("rejecting an old token dropped the newer one")
	}
	c.tokens.reject(newer)
	if c.tokens.current() != nil {
		t.Error("rejecting the current token kept it")
	}
	c.tokens.reject(nil)
	for i := range maxRejected + 3 {
		c.tokens.reject(&Token{IDToken: Secret(strings.Repeat("r", i+1))})
	}
	if len(c.tokens.rejected) != maxRejected {
		t.Errorf("rejected list grew to %d", len(c.tokens.rejected))
	}
}

func TestTokenRenewalLogLines(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	clk := newCoreClock()
	log := &coreLog{}
	c := m.client(WithLogger(log.logger()))
	setTokenClock(c, clk.Now)
	_, _ = coreQuery(context.Background(), c)
	clk.Advance(time.Hour)
	_, _ = coreQuery(context.Background(), c)
	lines := log.lines("bkash token renewed")
	if len(lines) != 2 || !strings.Contains(lines[0], `"kind":"grant"`) || !strings.Contains(lines[1], `"kind":"refresh"`) {
		t.Fatalf("renewal lines = %q", lines)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"level":"INFO"`) || !strings.Contains(l, c.tokens.key) {
			t.Errorf("line = %s", l)
		}
	}
}

// Ensure the mock's isolated transport is what the client used (no global
// httpmock activation anywhere in these tests).
func TestHarnessUsesAnIsolatedTransport(t *testing.T) {
	t.Parallel()
	if httpmock.DefaultTransport.NumResponders() != 0 {
		t.Error("something registered on httpmock's global transport")
	}
}

// lockHookStore runs hook when its lock is taken, and can fail the unlock.
type lockHookStore struct {
	*MemoryTokenStore
	hook      func()
	unlockErr error
}

func (s *lockHookStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	unlock, err := s.MemoryTokenStore.Lock(ctx, key, ttl)
	if err != nil {
		return nil, err
	}
	if s.hook != nil {
		s.hook()
	}
	return func(ctx context.Context) error {
		_ = unlock(ctx)
		return s.unlockErr
	}, nil
}

func TestTokenSavedJustBeforeTheLockIsTaken(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	inner := NewMemoryTokenStore()
	other := m.client(WithTokenStore(struct{ TokenStore }{inner})) // a holder that does not lock
	store := &lockHookStore{MemoryTokenStore: inner, unlockErr: errors.New("redis: unlock script failed")}
	store.hook = func() { // the previous holder saved while we waited for the lock
		if _, err := other.tokens.token(context.Background()); err != nil {
			t.Error(err)
		}
	}
	log := &coreLog{}
	obs := &coreObserver{}
	c := m.client(WithTokenStore(store), WithLogger(log.logger()), WithObserver(obs))
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1 (the other holder's)", got)
	}
	if diff := cmp.Diff([]string{"store"}, obs.kinds()); diff != "" {
		t.Errorf("renewals (-want +got):\n%s", diff)
	}
	if got := log.lines("unlock failed"); len(got) != 1 || !strings.Contains(got[0], "unlock script failed") {
		t.Errorf("unlock failure not logged:\n%s", log)
	}
}

func TestRenewalAfterAConcurrentFlightReturnsItsToken(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	c := m.client()
	tok, err := c.tokens.token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A caller that read the old token just before the swap runs renew
	// itself: it must reuse the fresh token, not renew again.
	again, err := c.tokens.renew(context.Background())
	if err != nil || again != tok {
		t.Fatalf("renew = %v, %v; want the current token", again, err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d", got)
	}
}

func TestRenewalWithAnEndedContextStopsPollingAndFails(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	store := &contendedStore{MemoryTokenStore: NewMemoryTokenStore(), lockError: ErrLockNotAcquired}
	c := m.client(WithTokenStore(store))
	c.tokens.lockWaits = []time.Duration{time.Hour, time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err := c.tokens.renew(ctx)
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("renew = %v after %v", err, time.Since(start))
	}
	if m.sent(epGrant) != 0 {
		t.Error("granted with an ended context")
	}
}

func TestRefreshUsesTheNewestRefreshTokenKnown(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	store := NewMemoryTokenStore()
	c := m.client(WithTokenStore(store))
	clk := newCoreClock()
	setTokenClock(c, clk.Now)
	now := clk.Now()
	// This process knows an old refresh token; another process saved a
	// newer one (with an expired id_token) in the store.
	old := &Token{IDToken: "eyJ-old", RefreshToken: "eyJ-RF-old", ExpiresAt: now.Add(-time.Minute), RefreshExpiresAt: now.Add(24 * time.Hour), issuedAt: now.Add(-time.Hour)}
	old.prepare(now)
	c.tokens.swap(old)
	newer := &Token{IDToken: "eyJ-newer", RefreshToken: "eyJ-RF-newer", ExpiresAt: now.Add(-time.Second), RefreshExpiresAt: now.Add(27 * 24 * time.Hour), issuedAt: now.Add(-time.Hour)}
	c.tokens.save(context.Background(), newer)
	if _, err := c.tokens.token(context.Background()); err != nil {
		t.Fatal(err)
	}
	refresh := m.requests(epRefresh)
	if len(refresh) != 1 || !bytes.Contains(refresh[0].Body, []byte(`"refresh_token":"eyJ-RF-newer"`)) {
		t.Errorf("refresh requests = %q", refresh)
	}
}

func TestGrantWithoutRefreshTokenIsSavedForItsOwnLifetime(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"0000","id_token":"eyJ-only","expires_in":600}`), nil
	})
	store := NewMemoryTokenStore()
	clk := newCoreClock()
	store.now = clk.Now
	c := m.client(WithTokenStore(store))
	setTokenClock(c, clk.Now)
	tok, err := c.tokens.token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" || !tok.RefreshExpiresAt.IsZero() {
		t.Errorf("token = %v", tok)
	}
	store.mu.Lock()
	exp := store.blobs[c.tokens.key].expires
	store.mu.Unlock()
	if want := clk.Now().Add(10 * time.Minute); !exp.Equal(want) {
		t.Errorf("store TTL ends %v, want %v", exp, want)
	}
	// Without a refresh token, the next renewal is a grant.
	clk.Advance(10 * time.Minute)
	if _, err := c.tokens.token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g, r := m.sent(epGrant), m.sent(epRefresh); g != 2 || r != 0 {
		t.Errorf("grants, refreshes = %d, %d", g, r)
	}
}

func TestFallbackNeverReturnsARejectedToken(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	c := m.client()
	tok, err := c.tokens.token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.tokens.mu.Lock()
	// Rejected yet still current: fallback checks the rejections itself
	// rather than trusting that reject dropped the token.
	c.tokens.rejected = append(c.tokens.rejected, sha256.Sum256([]byte(tok.IDToken)))
	c.tokens.mu.Unlock()
	boom := errors.New("renewal failed")
	if got, err := c.tokens.fallback(context.Background(), boom); got != nil || err != boom {
		t.Errorf("fallback = %v, %v", got, err)
	}
}

func TestTruncatedEncryptedBlobIsRefused(t *testing.T) {
	t.Parallel()
	b, _ := aes.NewCipher(make([]byte, 32))
	a, _ := cipher.NewGCM(b)
	m := &tokenManager{aead: a, key: "k"}
	if _, err := m.decode([]byte(sealedMagic + "short")); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("err = %v", err)
	}
}

// shortTokenAnswer answers a grant or refresh with a token that lives
// lifetime seconds.
func shortTokenAnswer(lifetime int) coreResponder {
	return func(n int, _ coreReq) (*http.Response, error) {
		return coreJSON(200, fmt.Sprintf(`{"statusCode":"0000","statusMessage":"Successful","id_token":"eyJ-SHORT%d","token_type":"Bearer","expires_in":%d,"refresh_token":"eyJ-SHORTRF%d"}`, n, lifetime, n)), nil
	}
}

// TestTokenIsRenewedAtItsRenewalTime: on the real clock, the cached token
// is handed out until its renewal time and never after.
func TestTokenIsRenewedAtItsRenewalTime(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(shortTokenAnswer(2)) // renewed at half its life: after 1 s
	m.onRefresh(shortTokenAnswer(2))
	c := m.client()
	ctx := context.Background()
	first, err := c.tokens.token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.tokens.token(ctx); again != first {
		t.Fatalf("second call got another token")
	}
	time.Sleep(time.Until(first.refreshAt))
	second, err := c.tokens.token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Error("the token due for renewal was handed out again")
	}
	if got := m.sent(epGrant) + m.sent(epRefresh); got != 2 {
		t.Errorf("grant+refresh calls = %d, want 2", got)
	}
}

func TestRejectedTokenIsNotHandedOutAgain(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	c := m.client()
	ctx := context.Background()
	first, err := c.tokens.token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.tokens.reject(first)
	second, err := c.tokens.token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second == first || second.IDToken == first.IDToken {
		t.Error("the rejected token was handed out again")
	}
}
