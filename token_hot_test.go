package bkash

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// The clock-free fast path of the token manager (hot) must hand out exactly
// what the clock-reading path would: the current token, until its renewal
// time, and never a rejected one.

func shortTokenAnswer(m *coreMock, lifetime int) coreResponder {
	return func(n int, _ coreReq) (*http.Response, error) {
		return coreJSON(200, fmt.Sprintf(`{"statusCode":"0000","statusMessage":"Successful","id_token":"eyJ-HOT%d","token_type":"Bearer","expires_in":%d,"refresh_token":"eyJ-HOTRF%d"}`, n, lifetime, n)), nil
	}
}

func TestHotTokenIsWithdrawnAtItsRenewalTime(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(shortTokenAnswer(m, 2)) // renewed at half its life: after 1 s
	m.onRefresh(shortTokenAnswer(m, 2))
	c := m.client()
	ctx := context.Background()
	first, err := c.tokens.token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hot := c.tokens.hot.Load(); hot != first {
		t.Fatalf("hot = %v, want the new token", hot)
	}
	if again, _ := c.tokens.token(ctx); again != first {
		t.Fatalf("second call got another token")
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.tokens.hot.Load() == first {
		if time.Now().After(deadline) {
			t.Fatal("hot token not withdrawn 5 s after its renewal time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !time.Now().After(first.refreshAt) {
		t.Errorf("hot token withdrawn before its renewal time %v", first.refreshAt)
	}
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

func TestRejectedTokenLeavesTheFastPath(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	c := m.client()
	ctx := context.Background()
	first, err := c.tokens.token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.tokens.reject(first)
	if hot := c.tokens.hot.Load(); hot != nil {
		t.Fatalf("hot = %v after reject, want nil", hot)
	}
	second, err := c.tokens.token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second == first || second.IDToken == first.IDToken {
		t.Error("the rejected token was handed out again")
	}
	if hot := c.tokens.hot.Load(); hot != second {
		t.Errorf("hot = %v, want the renewed token", hot)
	}
}

func TestInjectedClockBypassesTheFastPath(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	c := m.client()
	now := time.Now()
	setTokenClock(c, func() time.Time { return now })
	if _, err := c.tokens.token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hot := c.tokens.hot.Load(); hot != nil {
		t.Errorf("hot = %v with an injected clock, want nil", hot)
	}
}
