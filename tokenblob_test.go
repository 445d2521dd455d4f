// Tests of tokenblob.go: the stored, optionally encrypted, token and the
// manager's load and save.

package bkash

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestTokenEncryption(t *testing.T) {
	t.Parallel()
	gcm := func(key string) cipher.AEAD {
		b, err := aes.NewCipher([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		a, err := cipher.NewGCM(b)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	k1, k2 := gcm("0123456789abcdef0123456789abcdef"), gcm("fedcba9876543210fedcba9876543210")

	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	store := NewMemoryTokenStore()
	c1 := m.client(WithTokenStore(store), WithTokenEncryption(k1))
	if _, err := coreQuery(context.Background(), c1); err != nil {
		t.Fatal(err)
	}
	blob, _ := store.Load(context.Background(), c1.tokens.key)
	if len(blob) == 0 || bytes.Contains(blob, []byte("eyJ-")) || bytes.Contains(blob, []byte("refresh")) {
		t.Fatalf("stored blob is not encrypted: %q", blob)
	}

	// Same key: shares the token.
	c2 := m.client(WithTokenStore(store), WithTokenEncryption(k1))
	if _, err := coreQuery(context.Background(), c2); err != nil {
		t.Fatal(err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Fatalf("grants = %d, want 1", got)
	}

	cases := []struct {
		name string
		opts []Option
		warn string
	}{
		{"wrong key", []Option{WithTokenEncryption(k2)}, "wrong key"},
		{"no key", nil, "configure WithTokenEncryption"},
	}
	for i, tc := range cases {
		log := &coreLog{}
		// The store keeps one renewal budget for all these clients; a third
		// grant within the hour needs a budget of 3.
		c := m.client(append(tc.opts, WithTokenStore(store), WithLogger(log.logger()), WithTokenRenewalBudget(3))...)
		if _, err := coreQuery(context.Background(), c); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := m.sent(epGrant); got != 2+i {
			t.Errorf("%s: grants = %d, want %d (the blob cannot be used)", tc.name, got, 2+i)
		}
		if len(log.lines(tc.warn)) != 1 {
			t.Errorf("%s: no warning containing %q:\n%s", tc.name, tc.warn, log)
		}
		// Put the k1 blob back for the next case.
		_ = store.Save(context.Background(), c1.tokens.key, blob, time.Hour)
	}

	// A clear blob is not trusted by an encrypting client.
	clear := NewMemoryTokenStore()
	plain := m.client(WithTokenStore(clear))
	if _, err := coreQuery(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	log := &coreLog{}
	enc := m.client(WithTokenStore(clear), WithTokenEncryption(k1), WithLogger(log.logger()))
	before := m.sent(epGrant)
	if _, err := coreQuery(context.Background(), enc); err != nil {
		t.Fatal(err)
	}
	if m.sent(epGrant) != before+1 || len(log.lines("not encrypted")) != 1 {
		t.Errorf("clear blob: grants %d -> %d, log:\n%s", before, m.sent(epGrant), log)
	}

	// The associated data binds the blob to its key.
	other := &tokenManager{aead: k1, key: "bkash:token:sandbox:0000000000000000"}
	if _, err := other.decode(blob); err == nil {
		t.Error("a blob moved to another key decrypted")
	}
}

func TestStoredBlobRoundTripAndBadBlobs(t *testing.T) {
	t.Parallel()
	m := &tokenManager{key: "k"}
	issued := time.Date(2025, 5, 18, 10, 0, 0, 0, time.UTC)
	in := &Token{IDToken: "id\"\\x", RefreshToken: "rf", TokenType: "Bearer",
		ExpiresAt: issued.Add(time.Hour), RefreshExpiresAt: issued.Add(28 * 24 * time.Hour), issuedAt: issued}
	blob, err := m.encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.decode(blob)
	if err != nil {
		t.Fatal(err)
	}
	if out.IDToken != in.IDToken || out.RefreshToken != in.RefreshToken || out.TokenType != in.TokenType ||
		!out.ExpiresAt.Equal(in.ExpiresAt) || !out.RefreshExpiresAt.Equal(in.RefreshExpiresAt) || !out.issuedAt.Equal(issued) {
		t.Errorf("round trip: got %+v", out)
	}
	// Renewal is due 5-6 minutes before expiry.
	if d := out.ExpiresAt.Sub(out.refreshAt); d < renewSkew || d > renewSkew+renewJitter {
		t.Errorf("skew = %v, want 5m..6m", d)
	}
	for _, bad := range []string{
		`not json`, `{"v":2,"id_token":"a","expires_at":"2025-05-18T10:00:00Z"}`,
		`{"v":1,"expires_at":"2025-05-18T10:00:00Z"}`, `{"v":1,"id_token":"a"}`,
		sealedMagic + "short",
	} {
		if _, err := m.decode([]byte(bad)); err == nil {
			t.Errorf("decode(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "id_token\":\"a") {
			t.Errorf("error quotes the blob: %v", err)
		}
	}
}

func TestTruncatedEncryptedBlobIsRefused(t *testing.T) {
	t.Parallel()
	b, _ := aes.NewCipher(make([]byte, 32))
	a, _ := cipher.NewGCM(b)
	m := &tokenManager{aead: a, key: "k"}
	if _, err := m.decode([]byte(sealedMagic + "short")); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("err = %v", err)
	}
}

// failingStore is a store that is down.
type failingStore struct{ loads, saves atomic.Int32 }

func (s *failingStore) Load(context.Context, string) ([]byte, error) {
	s.loads.Add(1)
	return nil, errors.New("dial tcp 10.0.0.7:6379: connect: connection refused")
}

func (s *failingStore) Save(context.Context, string, []byte, time.Duration) error {
	s.saves.Add(1)
	return errors.New("dial tcp 10.0.0.7:6379: connect: connection refused")
}

func TestStoreDownIsLoggedAndTheClientKeepsWorking(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	store := &failingStore{}
	log := &coreLog{}
	c := m.client(WithTokenStore(store), WithLogger(log.logger()))
	for range 5 {
		if _, err := coreQuery(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1 (the in-process token serves while the store is down)", got)
	}
	if l, s := store.loads.Load(), store.saves.Load(); l != 1 || s != 1 {
		t.Errorf("store loads, saves = %d, %d; want 1, 1", l, s)
	}
	for _, msg := range []string{"token store load failed", "token store save failed"} {
		lines := log.lines(msg)
		if len(lines) != 1 || !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], "connection refused") {
			t.Errorf("%s: lines = %q", msg, lines)
		}
	}
}

func TestGrantWithoutRefreshTokenIsSavedForItsOwnLifetime(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"0000","id_token":"eyJ-only","expires_in":600}`), nil
	})
	store := NewMemoryTokenStore()
	clk := newCoreClock()
	store.now = clk.Now
	c := m.client(WithTokenStore(store))
	setTokenClock(c, clk.Now)
	tok, err := c.tokens.token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" || !tok.RefreshExpiresAt.IsZero() {
		t.Errorf("token = %v", tok)
	}
	store.mu.Lock()
	exp := store.blobs[c.tokens.key].expires
	store.mu.Unlock()
	if want := clk.Now().Add(10 * time.Minute); !exp.Equal(want) {
		t.Errorf("store TTL ends %v, want %v", exp, want)
	}
	// Without a refresh token, the next renewal is a grant.
	clk.Advance(10 * time.Minute)
	if _, err := c.tokens.token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g, r := m.sent(epGrant), m.sent(epRefresh); g != 2 || r != 0 {
		t.Errorf("grants, refreshes = %d, %d", g, r)
	}
}
