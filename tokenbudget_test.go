// Tests of tokenbudget.go: the grant/refresh request budget, in the process
// and in the store.

package bkash

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

// The renewal budget counts grant/refresh requests, each retry included,
// and lives in the store when the store can keep it (issue 18, point 9).

// grantUnavailable answers every grant with the gateway's 503, which is
// retried.
func grantUnavailable(int, coreReq) (*http.Response, error) {
	return coreJSON(503, `{"message":"Service Unavailable"}`), nil
}

func TestBudgetCountsEveryGrantRequestNotEveryRenewal(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(grantUnavailable)
	c := m.client() // MaxAttempts 3, budget 2

	_, err := coreQuery(context.Background(), c)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Op != "token.grant" || ae.HTTPStatus != 503 || ae.Attempts != 2 {
		t.Errorf("first call: err = %v (attempts %d), want the grant's 503 after 2 attempts", err, ae.Attempts)
	}
	if !errors.Is(err, ErrTokenBudgetExceeded) || !strings.Contains(err.Error(), "not retried") {
		t.Errorf("first call: err = %v, want it to say the third attempt was refused by the budget", err)
	}
	if got := m.sent(epGrant); got != 2 {
		t.Errorf("grant requests after one renewal = %d, want 2 (the budget), not MaxAttempts", got)
	}
	_, err = coreQuery(context.Background(), c)
	if !errors.Is(err, ErrTokenBudgetExceeded) || errors.As(err, &ae) {
		t.Errorf("second call: err = %v, want ErrTokenBudgetExceeded alone", err)
	}
	if got := m.sent(epGrant); got != 2 {
		t.Errorf("grant requests after two calls = %d, want 2", got)
	}
}

// TestDroppedGrantAnswersCountAgainstTheBudget: bKash granted, the answer
// was lost; each such request counts, and a retry past the budget is not
// sent.
func TestDroppedGrantAnswersCountAgainstTheBudget(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) {
		return nil, errors.New("connection reset by peer") // after the body was read
	})
	c := m.client(WithRetryPolicy(RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	_, err := coreQuery(context.Background(), c)
	if !errors.Is(err, ErrTokenBudgetExceeded) || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("err = %v, want the reset and the budget", err)
	}
	if got := m.sent(epGrant); got != 2 {
		t.Errorf("grant requests = %d, want 2", got)
	}
}

// TestUnsentGrantRequestIsGivenBack: a request that never left the process
// (no connection) is not counted.
func TestUnsentGrantRequestIsGivenBack(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	var tries atomic.Int32
	mt.RegisterResponder(http.MethodPost, coreRoot+epGrant.path, func(r *http.Request) (*http.Response, error) {
		if tries.Add(1) <= 2 {
			return nil, errors.New("dial tcp: connection refused") // body never read: not sent
		}
		_, _ = io.ReadAll(r.Body) // sent
		m := &coreMock{t: t, count: map[string]int{}}
		return m.tokenAnswer(1, coreReq{})
	})
	store := NewMemoryTokenStore()
	c, err := NewClient(Sandbox, coreCreds, WithHTTPClient(&http.Client{Transport: mt}), WithTokenStore(store),
		WithTokenRenewalBudget(1), WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatalf("Token after two unsent attempts with a budget of 1: %v", err)
	}
	c.tokens.budget.mu.Lock()
	local := len(c.tokens.budget.sent)
	c.tokens.budget.mu.Unlock()
	store.mu.Lock()
	stored := len(store.budgets[c.tokens.key])
	store.mu.Unlock()
	if local != 1 || stored != 1 {
		t.Errorf("requests counted in the process, in the store = %d, %d; want 1, 1", local, stored)
	}
}

// TestProcessesSharingAStoreShareTheBudget: a fleet (or one process that
// restarts) shares one budget through the store.
func TestProcessesSharingAStoreShareTheBudget(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"9999","statusMessage":"System Error"}`), nil
	})
	store := NewMemoryTokenStore()
	for i := range 2 { // two replicas, or one process and its restart
		_, err := coreQuery(context.Background(), m.client(WithTokenStore(store)))
		if !errors.Is(err, CodeSystemError) {
			t.Fatalf("process %d: err = %v, want the grant's 9999", i+1, err)
		}
	}
	log := &coreLog{}
	_, err := coreQuery(context.Background(), m.client(WithTokenStore(store), WithLogger(log.logger())))
	if !errors.Is(err, ErrTokenBudgetExceeded) || !strings.Contains(err.Error(), "sharing the token store") {
		t.Errorf("third process: err = %v, want the shared budget's refusal", err)
	}
	if got := m.sent(epGrant); got != 2 {
		t.Errorf("grant requests from three processes = %d, want 2", got)
	}
}

// budgetFailingStore is a store whose budget records fail.
type budgetFailingStore struct{ *MemoryTokenStore }

func (budgetFailingStore) TakeRenewal(context.Context, string, int, time.Duration) (string, time.Time, error) {
	return "", time.Time{}, errors.New("redis: connection refused")
}

func TestBudgetStoreFailureFallsBackToTheProcessBudget(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(grantUnavailable)
	log := &coreLog{}
	c := m.client(WithTokenStore(budgetFailingStore{NewMemoryTokenStore()}), WithLogger(log.logger()),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if _, err := coreQuery(context.Background(), c); !errors.Is(err, ErrTokenBudgetExceeded) {
		t.Errorf("err = %v, want the process budget's refusal", err)
	}
	if got := m.sent(epGrant); got != 2 {
		t.Errorf("grant requests = %d, want 2", got)
	}
	if got := log.lines("budget store failed"); len(got) != 2 {
		t.Errorf("budget store failures logged %d times, want 2:\n%s", len(got), log)
	}
}

// budgetRefusingStore is a store that cannot count a request and refuses
// it (fails closed) rather than let the process count alone.
type budgetRefusingStore struct{ *MemoryTokenStore }

func (budgetRefusingStore) TakeRenewal(context.Context, string, int, time.Duration) (string, time.Time, error) {
	return "", time.Time{}, fmt.Errorf("%w: the count in /var/x cannot be kept: %w", ErrTokenBudgetExceeded, io.ErrUnexpectedEOF)
}

func TestBudgetStoreThatRefusesSendsNothing(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	log := &coreLog{}
	c := m.client(WithTokenStore(budgetRefusingStore{NewMemoryTokenStore()}), WithLogger(log.logger()))
	_, err := coreQuery(context.Background(), c)
	if !errors.Is(err, ErrTokenBudgetExceeded) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want the store's refusal, with its cause", err)
	}
	if msg := fmt.Sprint(err); !strings.Contains(msg, "the count in /var/x cannot be kept") || !strings.Contains(msg, "nothing was sent") || strings.Contains(msg, "in the last hour already") {
		t.Errorf("err = %q, want the store's reason, not a spent budget's", msg)
	}
	if got := m.sent(epGrant); got != 0 {
		t.Errorf("grant requests = %d, want none", got)
	}
	if got := log.lines("budget store failed"); len(got) != 0 {
		t.Errorf("a refusal was logged as a store failure (a fallback):\n%s", log)
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
