// This file holds Token, the access token the client sends with every call:
// its lifetimes, when it is due for renewal, how it prints, logs and
// marshals without its secrets, and Client.Token, which hands out a copy.
// How the client obtains, shares and renews it is in tokenmanager.go.

package bkash

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"time"
)

// Token is a bKash access token: the id_token sent as the Authorization
// header and the refresh_token that renews it. Both are Secrets, and the
// Token itself prints, logs and marshals with them redacted.
type Token struct {
	IDToken      Secret
	RefreshToken Secret
	TokenType    string    // "Bearer"; informational, bKash wants the bare id_token
	ExpiresAt    time.Time // when the id_token expires
	// RefreshExpiresAt is when the refresh_token stops working: 28 days after
	// the grant that issued it. A refresh that returns no new refresh_token
	// keeps the old one and this time.
	RefreshExpiresAt time.Time

	issuedAt  time.Time // when the id_token was issued, for the renewal skew
	granted   bool      // from this process's own grant or refresh (not a store): see Client.freshlyGranted
	refreshAt time.Time // renew from here on: ExpiresAt minus skew and jitter
}

// Token lifetimes and renewal timing (docs/wire.md, "Tokens").
const (
	defaultTokenLifetime = time.Hour           // expires_in when bKash sends none
	refreshTokenLifetime = 28 * 24 * time.Hour // "at most 28 days", bKash's portal says
	renewSkew            = 5 * time.Minute     // renew this long before expiry
	renewJitter          = 60 * time.Second    // plus up to this, so processes do not all renew at once
)

// prepare fills the renewal time, with this token's own jitter. refreshAt
// is derived from now so that it keeps now's monotonic clock reading: a
// wall-clock jump does not make the token look due, or not due, for renewal.
func (t *Token) prepare(now time.Time) {
	skew := renewSkew + time.Duration(mrand.Int64N(int64(renewJitter)+1))
	if !t.issuedAt.IsZero() {
		// A short-lived token (a test server's) is renewed at half its life.
		if half := t.ExpiresAt.Sub(t.issuedAt) / 2; half < skew {
			skew = half
		}
	}
	t.refreshAt = now.Add(t.ExpiresAt.Sub(now) - skew)
}

// String describes the token without its secrets.
func (t Token) String() string {
	return fmt.Sprintf("bkash.Token{IDToken:%s, RefreshToken:%s, TokenType:%q, ExpiresAt:%s, RefreshExpiresAt:%s}",
		redacted, redacted, t.TokenType, t.ExpiresAt.Format(time.RFC3339), t.RefreshExpiresAt.Format(time.RFC3339))
}

// GoString is String, so %#v prints no secret.
func (t Token) GoString() string { return t.String() }

// Format prints String for every verb, so that fmt's struct printer never
// reaches the fields. The methods have value receivers so that a Token
// value is covered as well as a pointer.
func (t Token) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, t.String()) }

// LogValue implements slog.LogValuer with the secrets redacted.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id_token", redacted),
		slog.String("refresh_token", redacted),
		slog.String("token_type", t.TokenType),
		slog.Time("expires_at", t.ExpiresAt),
		slog.Time("refresh_expires_at", t.RefreshExpiresAt),
	)
}

// MarshalJSON encodes the token with its secrets redacted. The SDK's own
// store format (tokenblob.go) is separate and is never produced by this
// method.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		IDToken          string    `json:"id_token"`
		RefreshToken     string    `json:"refresh_token"`
		TokenType        string    `json:"token_type"`
		ExpiresAt        time.Time `json:"expires_at"`
		RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	}{redacted, redacted, t.TokenType, t.ExpiresAt, t.RefreshExpiresAt})
}

// Token returns the access token the client is using, granting one (POST
// token/grant, or token/refresh when a refresh token is cached) if it has
// none that is still fresh. Retry class: read. Ordinary calls obtain their
// token themselves; Token serves connection checks and monitoring (report
// ExpiresAt, never the token). It counts against the renewal budget like any
// renewal. The Token is a copy: changing it does not change the client's.
func (c *Client) Token(ctx context.Context) (*Token, error) {
	t, err := c.tokens.token(ctx)
	if err != nil {
		return nil, err
	}
	cp := *t
	return &cp, nil
}
