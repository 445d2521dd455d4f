package bkash

import (
	"strings"
	"testing"
)

// A refresh request carries the refresh_token in its body rather than in the
// call's token: a server echoing it in its message must not put it into an
// error.
func TestScrubRemovesRefreshTokenOfRefreshCall(t *testing.T) {
	c := &Client{secrets: seal(&clientSecrets{creds: Credentials{Password: "pw-1", AppSecret: "as-1"}})}
	cl := &call{c: c, ep: epRefresh, in: tokenRequest{refreshToken: "ECHOED-REFRESH-77"}}
	got := cl.scrub("bad refresh token ECHOED-REFRESH-77 (pw-1, as-1)")
	for _, s := range []string{"ECHOED-REFRESH-77", "pw-1", "as-1"} {
		if strings.Contains(got, s) {
			t.Fatalf("scrub left %q in %q", s, got)
		}
	}
}
