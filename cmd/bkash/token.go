package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"time"

	"github.com/smartdairy/bkash-go"
)

var tokenCmd = &command{
	name:    "token",
	summary: "Check that the credentials work",
	subs:    []*command{tokenCheckCmd},
}

var tokenCheckCmd = &command{
	name:    "check",
	summary: "Grant a token and report when it expires (a connection test)",
	detail: `Grant an access token with the configured credentials and report when it
expires: a "test connection" for the credentials, the environment and the
network path. The token itself is never printed; its fingerprint (the start of
its SHA-256) tells two tokens apart. bKash blocks an app that grants tokens
more than twice an hour, so do not run this in a loop.`,
	setup: func(*flag.FlagSet) func(*app, []string) error {
		return func(a *app, _ []string) error {
			creds, err := a.credentials()
			if err != nil {
				return err
			}
			// Always a new grant: that is the test. The token is cached
			// for the commands that follow.
			c, err := a.newClient(creds, nil, true)
			if err != nil {
				return err
			}
			ctx, cancel := a.callCtx()
			defer cancel()
			t, err := c.Token(ctx)
			if err != nil {
				return err
			}
			base := c.Environment().BaseURL()
			if a.g.baseURL != "" {
				base = a.g.baseURL
			}
			v := struct {
				OK               bool   `json:"ok"`
				Environment      string `json:"environment"`
				BaseURL          string `json:"base_url"`
				TokenType        string `json:"token_type,omitempty"`
				ExpiresAt        string `json:"expires_at"`
				ExpiresIn        string `json:"expires_in"`
				RefreshExpiresAt string `json:"refresh_expires_at,omitempty"`
				Fingerprint      string `json:"fingerprint"`
			}{
				OK: true, Environment: c.Environment().String(), BaseURL: base, TokenType: t.TokenType,
				ExpiresAt: t.ExpiresAt.UTC().Format(time.RFC3339), ExpiresIn: time.Until(t.ExpiresAt).Round(time.Second).String(),
				Fingerprint: fingerprint(t.IDToken),
			}
			if !t.RefreshExpiresAt.IsZero() {
				v.RefreshExpiresAt = t.RefreshExpiresAt.UTC().Format(time.RFC3339)
			}
			return a.emit(v, []field{
				{"Token", "granted"},
				{"Environment", v.Environment + " (" + v.BaseURL + ")"},
				{"Type", v.TokenType},
				{"Expires", v.ExpiresAt + " (in " + v.ExpiresIn + ")"},
				{"Refresh until", v.RefreshExpiresAt},
				{"Fingerprint", v.Fingerprint},
			})
		}
	},
}

// fingerprint identifies a token without revealing it: the first 8 bytes
// of its SHA-256, in hex.
func fingerprint(s bkash.Secret) string {
	sum := sha256.Sum256([]byte(string(s)))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
