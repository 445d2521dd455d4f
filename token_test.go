// Tests of token.go: the Token type and its renewal time.

package bkash

import (
	"testing"
	"time"
)

func TestShortLivedTokenIsRenewedAtHalfLife(t *testing.T) {
	t.Parallel()
	issued := time.Date(2025, 5, 18, 10, 0, 0, 0, time.UTC)
	tk := &Token{IDToken: "a", ExpiresAt: issued.Add(2 * time.Minute), issuedAt: issued}
	tk.prepare(issued)
	if want := issued.Add(time.Minute); !tk.refreshAt.Equal(want) {
		t.Errorf("refreshAt = %v, want %v", tk.refreshAt, want)
	}
}
