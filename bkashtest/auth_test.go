package bkashtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
)

func TestGrantIssuesOpaqueTokensForAnHour(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	a := c.grant()
	b := c.grant()
	for _, k := range []string{"id_token", "refresh_token"} {
		if a.str(k) == "" || a.str(k) == b.str(k) {
			t.Errorf("%s: want distinct non-empty tokens, got %q and %q", k, a.str(k), b.str(k))
		}
	}
	if !strings.HasPrefix(a.str("id_token"), "eyJraWQiOi") || !strings.HasPrefix(a.str("refresh_token"), "eyJjdHkiOi") {
		t.Errorf("tokens not shaped like bKash's: %s", a.raw)
	}
	if got := a.m["expires_in"]; got != json.Number("3600") {
		t.Errorf("expires_in = %#v, want the JSON number 3600", got)
	}
	if a.str("token_type") != "Bearer" || a.str("statusMessage") != "Successful" {
		t.Errorf("grant answer: %s", a.raw)
	}
	if got := c.srv.Grants(); got != 2 {
		t.Errorf("Grants() = %d, want 2", got)
	}
}

func TestGrantRefusesWrongCredentials(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	cr := c.srv.Credentials()
	good := map[string]string{"app_key": cr.AppKey, "app_secret": string(cr.AppSecret)}
	tests := []struct {
		name       string
		header     map[string]string
		body       map[string]string
		code, text string
	}{
		{"unknown username", map[string]string{"username": "someone", "password": string(cr.Password)}, good, "9999", "Username does not exist"},
		{"no headers", nil, good, "9999", "Username does not exist"},
		{"wrong password", map[string]string{"username": cr.Username, "password": "guess"}, good, "9999", "Incorrect username or password"},
		{"wrong app key", c.grantHeaders(), map[string]string{"app_key": "x", "app_secret": string(cr.AppSecret)}, "2001", "Invalid App Key"},
		{"wrong app secret", c.grantHeaders(), map[string]string{"app_key": cr.AppKey, "app_secret": "x"}, "2001", "Invalid App Key"},
	}
	for _, tt := range tests {
		a := c.send(grantPath, tt.body, tt.header)
		want := map[string]any{"statusCode": tt.code, "statusMessage": tt.text}
		if a.status != http.StatusOK {
			t.Errorf("%s: HTTP %d, want 200", tt.name, a.status)
		}
		if diff := cmp.Diff(want, a.m); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	if got := c.srv.Grants(); got != 0 {
		t.Errorf("Grants() = %d after refusals, want 0", got)
	}
	if got := c.srv.Received("token.grant"); got != len(tests) {
		t.Errorf("Received(token.grant) = %d, want %d", got, len(tests))
	}
}

func TestWithCredentialsChangesWhatIsAccepted(t *testing.T) {
	t.Parallel()
	creds := bkash.Credentials{Username: "u", Password: "p", AppKey: "k", AppSecret: "s"}
	c := newAPI(t, WithCredentials(creds))
	if diff := cmp.Diff(creds, c.srv.Credentials()); diff != "" {
		t.Fatalf("Credentials() (-want +got):\n%s", diff)
	}
	c.grant() // fails the test unless accepted
	a := c.send(grantPath, map[string]string{"app_key": DefaultCredentials.AppKey, "app_secret": string(DefaultCredentials.AppSecret)},
		map[string]string{"username": DefaultCredentials.Username, "password": string(DefaultCredentials.Password)})
	wantCode(t, "default credentials", a, http.StatusOK, "9999")
}

func TestRefreshGivesANewIDToken(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := newAPI(t, WithClock(clock.Now))
	g := c.grant()
	cr := c.srv.Credentials()
	refresh := func(rt string) answer {
		return c.send(refreshPath, map[string]string{"app_key": cr.AppKey, "app_secret": string(cr.AppSecret), "refresh_token": rt}, c.grantHeaders())
	}

	clock.Advance(2 * time.Hour) // the first id_token has expired
	r := mustOK(t, "refresh", refresh(g.str("refresh_token")))
	if r.str("id_token") == "" || r.str("id_token") == g.str("id_token") {
		t.Errorf("refresh: want a new id_token, got %s", r.raw)
	}
	if r.str("refresh_token") != g.str("refresh_token") {
		t.Errorf("refresh: refresh_token changed")
	}
	if r.m["expires_in"] != json.Number("3600") {
		t.Errorf("refresh: expires_in = %v", r.m["expires_in"])
	}
	c.token = g.str("id_token")
	wantCode(t, "old token", c.call(statusPath, map[string]string{"paymentID": "x"}), http.StatusUnauthorized, "")
	c.token = r.str("id_token")
	wantCode(t, "refreshed token", c.call(statusPath, map[string]string{"paymentID": "x"}), http.StatusOK, "2002")

	wantCode(t, "unknown refresh token", refresh("nope"), http.StatusOK, "9999")
	clock.Advance(29 * 24 * time.Hour)
	wantCode(t, "refresh token after 28 days", refresh(g.str("refresh_token")), http.StatusOK, "9999")
	if got, want := c.srv.Applied("token.refresh"), 1; got != want {
		t.Errorf("Applied(token.refresh) = %d, want %d", got, want)
	}
}

func TestRefreshNeedsTheCredentialsToo(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	g := c.grant()
	a := c.send(refreshPath, map[string]string{"app_key": "x", "app_secret": "y", "refresh_token": g.str("refresh_token")}, c.grantHeaders())
	wantCode(t, "refresh with wrong app key", a, http.StatusOK, "2001")
}

func TestCallsNeedAValidTokenAndAppKey(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := newAPI(t, WithClock(clock.Now), WithTokenLifetime(10*time.Minute))
	g := c.grant()
	if g.m["expires_in"] != json.Number("600") {
		t.Errorf("expires_in = %v, want 600", g.m["expires_in"])
	}
	tok, key := g.str("id_token"), c.srv.Credentials().AppKey
	body := map[string]string{"paymentID": "TR0011none"}
	tests := []struct {
		name    string
		header  map[string]string
		advance time.Duration
		status  int
		message string
	}{
		{"bare token", map[string]string{"Authorization": tok, "X-APP-Key": key}, 0, http.StatusOK, ""},
		{"Bearer token", map[string]string{"Authorization": "Bearer " + tok, "X-APP-Key": key}, 0, http.StatusOK, ""},
		{"lower-case header names", map[string]string{"authorization": tok, "x-app-key": key}, 0, http.StatusOK, ""},
		{"no token", map[string]string{"X-APP-Key": key}, 0, http.StatusUnauthorized, "Unauthorized"},
		{"unknown token", map[string]string{"Authorization": "eyJraWQiOiforged", "X-APP-Key": key}, 0, http.StatusUnauthorized, "Unauthorized"},
		{"wrong app key", map[string]string{"Authorization": tok, "X-APP-Key": "other"}, 0, http.StatusForbidden, "Forbidden"},
		{"no app key", map[string]string{"Authorization": tok}, 0, http.StatusForbidden, "Forbidden"},
		{"still valid at 9 minutes", map[string]string{"Authorization": tok, "X-APP-Key": key}, 9 * time.Minute, http.StatusOK, ""},
		{"expired at 10 minutes", map[string]string{"Authorization": tok, "X-APP-Key": key}, time.Minute, http.StatusUnauthorized, "The incoming token has expired"},
	}
	for _, tt := range tests {
		clock.Advance(tt.advance)
		a := c.send(statusPath, body, tt.header)
		if a.status != tt.status {
			t.Errorf("%s: HTTP %d %s, want %d", tt.name, a.status, a.raw, tt.status)
			continue
		}
		if tt.message == "" {
			wantCode(t, tt.name, a, http.StatusOK, "2002") // authenticated; the payment is unknown
			continue
		}
		if diff := cmp.Diff(map[string]any{"message": tt.message}, a.m); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	if got := c.srv.Applied("payment.query"); got != 0 {
		t.Errorf("Applied(payment.query) = %d: refused calls must not count", got)
	}
}

func TestExpireTokensForcesRenewal(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	c.grant()
	c.srv.ExpireTokens()
	a := c.call(statusPath, map[string]string{"paymentID": "x"})
	if a.status != http.StatusUnauthorized || a.str("message") != "The incoming token has expired" {
		t.Fatalf("after ExpireTokens: %d %s", a.status, a.raw)
	}
	c.grant()
	wantCode(t, "new token", c.call(statusPath, map[string]string{"paymentID": "x"}), http.StatusOK, "2002")
}

func TestUnknownPathsAnswerLikeTheGateway(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	for _, p := range []string{
		"/v1.2.0-beta/tokenized/checkout/payment/confirm/capture/void",
		"/v1.2.0-beta/tokenized/checkout/payment/query",
		"/tokenized/checkout/create",
	} {
		a := c.call(p, map[string]string{})
		if a.status != http.StatusForbidden || a.str("message") != "Missing Authentication Token" {
			t.Errorf("%s: %d %s", p, a.status, a.raw)
		}
	}
	resp, err := c.hc.Get(c.srv.URL + executePath) // bKash has no GET
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET execute: HTTP %d, want 403", resp.StatusCode)
	}
}
