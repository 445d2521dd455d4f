// Tests of token.go: the Token type, its renewal time and its redaction.

package bkash

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
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

func TestTokenIsRedactedEverywhere(t *testing.T) {
	t.Parallel()
	exp := time.Date(2025, 5, 18, 11, 0, 0, 0, time.UTC)
	tok := Token{IDToken: "eyJ-ID-SECRET", RefreshToken: "eyJ-RF-SECRET", TokenType: "Bearer", ExpiresAt: exp, RefreshExpiresAt: exp.Add(28 * 24 * time.Hour)}
	tok.prepare(exp.Add(-time.Hour))
	want := "bkash.Token{IDToken:[REDACTED], RefreshToken:[REDACTED], TokenType:\"Bearer\", ExpiresAt:2025-05-18T11:00:00Z, RefreshExpiresAt:2025-06-15T11:00:00Z}"
	var buf bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, x := range []any{tok, &tok} {
			got := fmt.Sprintf(verb, x)
			if got != want {
				t.Errorf("%s: %s", verb, got)
			}
			buf.WriteString(got)
		}
	}
	b, _ := json.Marshal(tok)
	buf.Write(b)
	b, _ = json.Marshal(&tok)
	buf.Write(b)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", tok, "ptr", &tok)
	if bytes.Contains(buf.Bytes(), []byte("SECRET")) {
		t.Errorf("token leaked:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), `"token":{"id_token":"[REDACTED]","refresh_token":"[REDACTED]","token_type":"Bearer"`) {
		t.Errorf("slog:\n%s", buf.String())
	}
	if fmt.Sprint(tok.GoString()) != want {
		t.Errorf("GoString = %s", tok.GoString())
	}
}
