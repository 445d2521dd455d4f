// Tests of tokengrant.go: the grant and refresh requests of a renewal.

package bkash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExpiredTokenIsRefreshedWithRefreshTokenNotRegranted(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	c, clk := m.clockedClient()

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
	c, clk := m.clockedClient()

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
	c, clk := m.clockedClient()
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
	c, clk := m.clockedClient()
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
	creds.AppSecret = Secret("a\"b\\c\té\u2028")
	c, err := NewClient(Sandbox, creds, WithHTTPClient(&http.Client{Transport: m.mt}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	g := m.requests(epGrant)[0]
	if want := `{"app_key":"appkey-0f3a","app_secret":"a\"b\\c\té\u2028"}`; string(g.Body) != want {
		t.Errorf("grant body = %s, want %s", g.Body, want)
	}
	var back map[string]string
	if err := json.Unmarshal(g.Body, &back); err != nil || back["app_secret"] != string(creds.AppSecret) {
		t.Errorf("grant body does not decode back: %v %q", err, back)
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

// TestGrantRefusedWithACodeIsFinal: a grant answered with a bKash code is
// not retried, whatever the HTTP status; a refusal of the credentials is
// ClassAuth and matches ErrCredentialsRejected, a system error is not.
func TestGrantRefusedWithACodeIsFinal(t *testing.T) {
	t.Parallel()
	badUser := `{"statusMessage":"Username does not exist","statusCode":"9999"}`
	tests := []struct {
		name        string
		status      int
		body        string
		credentials bool
		class       ErrorClass
	}{
		{"9999 bad user at 200", 200, badUser, true, ClassAuth},
		{"9999 bad user at 400", 400, badUser, true, ClassAuth},
		{"9999 bad user at 503", 503, badUser, true, ClassAuth},
		{"9999 bad user at 500", 500, badUser, true, ClassAuth},
		{"2001 invalid app key", 200, `{"statusCode":"2001","statusMessage":"Invalid App Key"}`, true, ClassAuth},
		{"gateway 401", 401, `{"message":"Unauthorized"}`, true, ClassAuth},
		{"9999 system error at 503", 503, `{"statusCode":"9999","statusMessage":"System Error"}`, false, ClassTransient},
		{"503 maintenance", 503, `{"statusCode":"503","statusMessage":"System is undergoing maintenance. Please try again later"}`, false, ClassTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			m.onGrant(func(int, coreReq) (*http.Response, error) { return coreJSON(tc.status, tc.body), nil })
			c := m.client()
			_, err := c.Token(context.Background())
			var ae *APIError
			if !errors.As(err, &ae) || ae.Op != "token.grant" {
				t.Fatalf("err = %v, want the grant's *APIError", err)
			}
			if got := m.sent(epGrant); got != 1 {
				t.Errorf("grant requests = %d, want 1", got)
			}
			if got := errors.Is(err, ErrCredentialsRejected); got != tc.credentials {
				t.Errorf("errors.Is(err, ErrCredentialsRejected) = %v, want %v (err %v)", got, tc.credentials, err)
			}
			if ae.Class() != tc.class || ae.Temporary() != (tc.class == ClassTransient) {
				t.Errorf("Class, Temporary = %v, %v; want %v", ae.Class(), ae.Temporary(), tc.class)
			}
		})
	}
}

// TestRefreshRefusedForTheCredentialsIsNotFollowedByAGrant: a grant with
// the same credentials would meet the same refusal.
func TestRefreshRefusedForTheCredentialsIsNotFollowedByAGrant(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onRefresh(func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusMessage":"Username does not exist","statusCode":"9999"}`), nil
	})
	m.on(epPaymentQuery, coreOK)
	c, clk := m.clockedClient()
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	_, err := coreQuery(context.Background(), c)
	if !errors.Is(err, ErrCredentialsRejected) {
		t.Errorf("err = %v, want ErrCredentialsRejected", err)
	}
	if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != 1 {
		t.Errorf("grants, refreshes = %d, %d; want 1, 1", g, r)
	}
	// The budget's refusal that follows still names the cause.
	if _, err := coreQuery(context.Background(), c); err == nil {
		t.Fatal("no error")
	}
	_, err = coreQuery(context.Background(), c)
	if !errors.Is(err, ErrTokenBudgetExceeded) || !errors.Is(err, ErrCredentialsRejected) {
		t.Errorf("err = %v, want the budget refusal naming the credentials refusal", err)
	}
}
