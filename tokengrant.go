// This file holds the grant and refresh requests of a renewal: fetch
// chooses between them, call sends one with its retries, each request taken
// from the budget first, and newToken makes a Token of the answer
// (docs/wire.md, "Tokens").

package bkash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go/internal/transport"
)

// fetch calls refresh when a refresh_token is still valid, else grant. A
// refresh that bKash refuses outright (a code or a 401/403, not a transient
// failure) falls back to a grant, unless the refusal is about the
// credentials, which a grant would only meet again.
func (m *tokenManager) fetch(ctx context.Context, stored *Token, keep *lockKeeper) (*Token, error) {
	m.mu.Lock()
	base := m.latest
	m.mu.Unlock()
	// Another process may hold a newer refresh_token than ours.
	if stored != nil && (base == nil || stored.RefreshExpiresAt.After(base.RefreshExpiresAt)) {
		base = stored
	}
	if base != nil && base.RefreshToken != "" && m.clock().Before(base.RefreshExpiresAt.Add(-refreshMargin)) {
		t, err := m.call(ctx, epRefresh, base, keep)
		// Any definite refusal of the refresh (a bKash code or a 401/403)
		// falls back to a grant; the budget still bounds the calls. A
		// network failure or a 5xx says nothing about the token.
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || ae.HTTPStatus >= 500 || errors.Is(err, ErrCredentialsRejected) {
			return t, err
		}
	}
	return m.call(ctx, epGrant, nil, keep)
}

// call makes one grant or refresh (prev is the token being refreshed, nil
// for a grant). It sends at most MaxAttempts requests, each taken from the
// budget before it leaves: a retry the budget does not allow is not sent,
// and the error then matches both the last failure and
// ErrTokenBudgetExceeded. A request that never left the process is given
// back to the budget. An answer with a bKash code is final: bKash decided,
// and asking again would spend the budget on the same answer.
func (m *tokenManager) call(ctx context.Context, ep *endpoint, prev *Token, keep *lockKeeper) (*Token, error) {
	kind := "grant"
	if prev != nil {
		kind = "refresh"
	}
	if s, ok := m.c.observer.(StartObserver); ok {
		ctx = s.StartTokenRenewal(ctx, kind)
	}
	creds := &m.c.secrets().creds
	var refreshToken Secret
	if prev != nil {
		refreshToken = prev.RefreshToken
	}
	req := newTokenRequest(creds.AppKey, creds.AppSecret, refreshToken)
	start := time.Now()
	var (
		t     *Token
		last  error
		tried bool // a request was made; a renewal refused before any is not reported
	)
	for attempt := 1; ; attempt++ {
		if err := keep.check(); err != nil {
			last = joinRetryErr(last, err)
			break
		}
		slot, refused := m.budget.spend(ctx, m.clock())
		if refused != nil {
			last = joinRetryErr(last, m.budgetRefused(refused))
			break
		}
		tried = true
		var resp tokenResponse
		sent, err := m.c.doVia(ctx, m.tr, ep, req, &resp, attempt-1)
		if !sent {
			m.budget.giveBack(ctx, slot)
		}
		if err == nil && resp.IDToken == "" {
			last = errorf(ep.op, "answer carries no id_token")
			break
		}
		if err == nil {
			t, last = m.newToken(ctx, &resp, prev), nil
			break
		}
		last = m.classify(err)
		if attempt >= m.retry.MaxAttempts || !renewalRetryable(err) || ctx.Err() != nil {
			break
		}
		if sleepCtx(ctx, transport.Backoff(m.retry.BaseDelay, m.retry.MaxDelay, attempt-1)) != nil {
			break
		}
	}
	if tried {
		m.report(ctx, kind, time.Since(start), last, t)
	} else {
		// Refused before any request: observed, not logged here; the
		// caller's error or the fallback's warning says it once.
		m.observe(ctx, kind, 0, last)
	}
	return t, last
}

// joinRetryErr is the error of a renewal whose next request was not sent
// for reason: the last failure, if there was one, and the reason.
func joinRetryErr(last, reason error) error {
	if last == nil {
		return reason
	}
	return fmt.Errorf("%w (not retried: %w)", last, reason)
}

// renewalRetryable reports whether a failed grant/refresh request may be
// sent again: after a network failure, an unreadable answer, or a gateway's
// 429/502/503/504 without a bKash code. Never after a bKash code (9999
// included: "Username does not exist" comes as 9999) or any other definite
// answer.
func renewalRetryable(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return true
	}
	if ae.Code != "" {
		return false
	}
	switch ae.HTTPStatus {
	case 429, 502, 503, 504:
		return true
	}
	return false
}

// classify remembers a grant or refresh refusal that is about the merchant
// credentials (see ErrCredentialsRejected), so that the budget error that
// may follow still tells the cause.
func (m *tokenManager) classify(err error) error {
	if errors.Is(err, ErrCredentialsRejected) {
		m.mu.Lock()
		m.refusal = err
		m.mu.Unlock()
	}
	return err
}

// budgetRefused is the error of a request the budget refused. Until the
// budget frees a request, renew keeps a still-valid token in service
// instead of asking again; the error names the last credentials refusal, if
// any, since that is why the budget ran out.
func (m *tokenManager) budgetRefused(refused *budgetError) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hold = refused.free
	if m.refusal != nil {
		return fmt.Errorf("%w; the last renewal was refused: %w", refused, m.refusal)
	}
	return refused
}

// credentialsRefused reports whether e is bKash refusing a grant or refresh
// because of the credentials: code 2001 (Invalid App Key), the gateway's
// 401/403 (a grant carries no token that could be the cause; the route
// error "Missing Authentication Token" excepted), or any bKash code whose
// message names a credential, such as 9999 "Username does not exist". It is
// computed from the exported fields, so that a copied or rebuilt *APIError
// answers the same.
func (e *APIError) credentialsRefused() bool {
	if e.Op != epGrant.op && e.Op != epRefresh.op {
		return false
	}
	switch {
	case e.Code == CodeInvalidAppKey:
		return true
	case e.Code == "":
		return (e.HTTPStatus == 401 || e.HTTPStatus == 403) && !strings.Contains(e.Message, "Missing Authentication Token")
	}
	msg := strings.ToLower(e.Message)
	for _, w := range credentialWords {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}

// credentialWords are the words of bKash messages that refuse credentials
// ("Username does not exist", "Invalid App Key", "Invalid username or
// password", ...).
var credentialWords = []string{"username", "user name", "password", "app key", "app_key", "appkey",
	"app secret", "app_secret", "secret", "credential", "unauthori", "authenticat"}

// newToken builds the Token from a grant or refresh answer.
func (m *tokenManager) newToken(ctx context.Context, r *tokenResponse, prev *Token) *Token {
	now := m.clock()
	life := defaultTokenLifetime
	if r.ExpiresIn != "" {
		n, err := strconv.ParseInt(string(r.ExpiresIn), 10, 64)
		if err != nil || n <= 0 || n > 7*24*3600 {
			m.warn(ctx, "bkash token answer has an unusable expires_in; assuming 3600", errors.New("expires_in is not a number of seconds from 1 to 604800")) // not quoted: an answer may echo a token there
		} else {
			life = time.Duration(n) * time.Second
		}
	}
	t := &Token{
		IDToken:   Secret(r.IDToken),
		TokenType: r.TokenType,
		ExpiresAt: now.Add(life),
		issuedAt:  now,
		granted:   true,
	}
	if t.TokenType == "" {
		t.TokenType = "Bearer"
	}
	switch {
	case r.RefreshToken != "":
		t.RefreshToken = Secret(r.RefreshToken)
		t.RefreshExpiresAt = now.Add(refreshTokenLifetime)
	case prev != nil:
		// bKash may not send a new refresh_token; the old one keeps its
		// original expiry (docs/wire.md, "Tokens").
		t.RefreshToken = prev.RefreshToken
		t.RefreshExpiresAt = prev.RefreshExpiresAt
	}
	t.prepare(now)
	return t
}

// tokenRequest is the body of a grant or refresh request. Its secrets sit
// behind a func, as the Client's credentials do, so that no fmt verb and no
// reflection reaches them (%p of a value bypasses Format and String);
// MarshalJSON writes their text, since Secret itself marshals as
// [REDACTED].
type tokenRequest struct {
	appKey  string
	secrets func() (appSecret, refreshToken Secret) // refreshToken is empty for a grant
}

// newTokenRequest returns the body of a grant, or of a refresh when
// refreshToken is not empty.
func newTokenRequest(appKey string, appSecret, refreshToken Secret) tokenRequest {
	return tokenRequest{appKey: appKey, secrets: func() (Secret, Secret) { return appSecret, refreshToken }}
}

// refreshToken returns the refresh_token the request carries, if any.
func (r tokenRequest) refreshToken() Secret {
	_, rt := r.secrets()
	return rt
}

// MarshalJSON writes {"app_key", "app_secret"[, "refresh_token"]}, in
// bKash's order, without HTML escaping (encodeRequest).
func (r tokenRequest) MarshalJSON() ([]byte, error) {
	appSecret, refreshToken := r.secrets()
	var buf bytes.Buffer
	err := encodeRequest(&buf, struct {
		AppKey       string `json:"app_key"`
		AppSecret    string `json:"app_secret"`
		RefreshToken string `json:"refresh_token,omitempty"`
	}{r.appKey, string(appSecret), string(refreshToken)})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tokenResponse is the answer of grant and refresh. expires_in arrives as a
// number or, from some gateways, as a string.
type tokenResponse struct {
	envelope
	IDToken      string     `json:"id_token"`
	TokenType    string     `json:"token_type"`
	ExpiresIn    flexString `json:"expires_in"`
	RefreshToken string     `json:"refresh_token"`
}
