package redisstore

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sdkKey returns a key shaped like the SDK's, unique to the test.
func sdkKey() string { return "bkash:token:sandbox:" + rand.Text()[:16] }

func newAEAD(t testing.TB) cipher.AEAD {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

const blob = `{"id_token":"eyJ-secret-id","refresh_token":"refresh-secret","expires_at":"2030-01-01T00:00:00Z"}`

func TestRedisKeyLayout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, kind, key, want string
	}{
		{"bkash:", "token", "bkash:token:sandbox:0123456789abcdef", "bkash:token:sandbox:0123456789abcdef"},
		{"bkash:", "lock", "bkash:token:sandbox:0123456789abcdef", "bkash:lock:sandbox:0123456789abcdef"},
		{"shop-a:", "token", "bkash:token:production:0123456789abcdef", "shop-a:token:production:0123456789abcdef"},
		{"shop-a:", "lock", "bkash:token:production:0123456789abcdef", "shop-a:lock:production:0123456789abcdef"},
		{"", "token", "bkash:token:custom:ff", "token:custom:ff"},
		{"bkash:", "token", "my-own-key", "bkash:token:my-own-key"},
	}
	for _, tt := range tests {
		s := &Store{prefix: tt.prefix}
		if got := s.redisKey(tt.kind, tt.key); got != tt.want {
			t.Errorf("prefix %q: redisKey(%q, %q) = %q, want %q", tt.prefix, tt.kind, tt.key, got, tt.want)
		}
	}
}

func TestLoadMissReturnsNilNil(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	got, err := s.Load(context.Background(), sdkKey())
	if got != nil || err != nil {
		t.Fatalf("Load of a missing key = (%q, %v), want (nil, nil)", got, err)
	}
}

func TestSaveThenLoadRoundTripsWithTTL(t *testing.T) {
	t.Parallel()
	s, rdb, prefix := newTestStore(t)
	ctx := context.Background()
	key := sdkKey()
	if err := s.Save(ctx, key, []byte(blob), 50*time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(blob, string(got)); diff != "" {
		t.Errorf("Load after Save (-want +got):\n%s", diff)
	}
	rkey := prefix + "token:sandbox:" + key[len("bkash:token:sandbox:"):]
	pttl, err := rdb.PTTL(ctx, rkey).Result()
	if err != nil {
		t.Fatal(err)
	}
	if pttl <= 49*time.Minute || pttl > 50*time.Minute {
		t.Errorf("PTTL of %s = %v, want just under 50m", rkey, pttl)
	}

	// A second Save replaces the blob and its TTL.
	if err := s.Save(ctx, key, []byte("newer"), 1500*time.Microsecond+time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(ctx, key); string(got) != "newer" {
		t.Errorf("Load after second Save = %q, want %q", got, "newer")
	}
	if pttl, _ := rdb.PTTL(ctx, rkey).Result(); pttl > 1002*time.Millisecond || pttl <= 0 {
		t.Errorf("PTTL after Save with 1.0015s = %v, want at most 1.002s (rounded up to whole ms)", pttl)
	}
}

func TestSavedTokenExpiresAfterTTL(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	key := sdkKey()
	if err := s.Save(ctx, key, []byte(blob), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(120 * time.Millisecond)
	if got, err := s.Load(ctx, key); got != nil || err != nil {
		t.Errorf("Load after the TTL = (%q, %v), want (nil, nil)", got, err)
	}
}

func TestEveryKeyMustExpire(t *testing.T) {
	t.Parallel()
	// No Redis is needed: the TTL is refused before anything is sent.
	rdb, sent := recordingClient(t)
	s, err := New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ttl := range []time.Duration{0, -time.Second, 999 * time.Microsecond} {
		if err := s.Save(ctx, "k", []byte("x"), ttl); err == nil {
			t.Errorf("Save with ttl %v: nil error, want a refusal (a token without expiry)", ttl)
		}
		if _, err := s.Lock(ctx, "k", ttl); err == nil {
			t.Errorf("Lock with ttl %v: nil error, want a refusal (a lock without expiry blocks the fleet)", ttl)
		}
		if _, err := s.Claim(ctx, "m", ttl); err == nil {
			t.Errorf("Claim with ttl %v: nil error, want a refusal", ttl)
		}
	}
	if len(*sent) != 0 {
		t.Errorf("commands sent to Redis: %q, want none", *sent)
	}
}

func TestEncryptionHidesTheTokenAndRoundTrips(t *testing.T) {
	t.Parallel()
	aead := newAEAD(t)
	s, rdb, prefix := newTestStore(t, WithEncryption(aead))
	ctx := context.Background()
	key := sdkKey()
	if err := s.Save(ctx, key, []byte(blob), time.Minute); err != nil {
		t.Fatal(err)
	}
	raw, err := rdb.Get(ctx, s.redisKey("token", key)).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"eyJ-secret-id", "refresh-secret", "id_token"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the value in Redis contains %q in clear", secret)
		}
	}
	if raw[0] != blobVersion {
		t.Errorf("encrypted blob starts with %d, want version byte %d", raw[0], blobVersion)
	}
	got, err := s.Load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != blob {
		t.Errorf("Load = %q, want the saved blob", got)
	}

	// Another replica with the same AEAD key reads it.
	s2, err := New(rdb, WithKeyPrefix(prefix), WithEncryption(aead))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Load(ctx, key); err != nil || string(got) != blob {
		t.Errorf("Load by a second Store with the same AEAD = (%q, %v), want the blob", got, err)
	}
}

func TestEncryptedBlobThatDoesNotAuthenticateIsAnError(t *testing.T) {
	t.Parallel()
	aead := newAEAD(t)
	s, rdb, prefix := newTestStore(t, WithEncryption(aead))
	ctx := context.Background()
	key := sdkKey()
	if err := s.Save(ctx, key, []byte(blob), time.Minute); err != nil {
		t.Fatal(err)
	}
	raw, err := rdb.Get(ctx, s.redisKey("token", key)).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	otherKeyStore, err := New(rdb, WithKeyPrefix(prefix), WithEncryption(newAEAD(t)))
	if err != nil {
		t.Fatal(err)
	}
	plainStore, err := New(rdb, WithKeyPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}

	moved := sdkKey() // the same ciphertext copied under another credential set's key
	if err := rdb.Set(ctx, s.redisKey("token", moved), raw, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	tampered := sdkKey()
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-1] ^= 1
	if err := rdb.Set(ctx, s.redisKey("token", tampered), flipped, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	plain := sdkKey()
	if err := plainStore.Save(ctx, plain, []byte(blob), time.Minute); err != nil {
		t.Fatal(err)
	}
	short := sdkKey()
	if err := rdb.Set(ctx, s.redisKey("token", short), []byte{blobVersion, 1, 2}, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		store *Store
		key   string
	}{
		{"other AEAD key", otherKeyStore, key},
		{"blob moved to another key", s, moved},
		{"altered ciphertext", s, tampered},
		{"written without encryption", s, plain},
		{"truncated", s, short},
	}
	for _, tt := range tests {
		got, err := tt.store.Load(ctx, tt.key)
		if !errors.Is(err, ErrUndecryptable) || got != nil {
			t.Errorf("%s: Load = (%q, %v), want (nil, ErrUndecryptable)", tt.name, got, err)
		}
	}
}

func TestEmptyKeysAreRefused(t *testing.T) {
	t.Parallel()
	rdb, sent := recordingClient(t)
	s, err := New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Load(ctx, ""); err == nil {
		t.Error("Load(\"\"): nil error")
	}
	if err := s.Save(ctx, "", []byte("x"), time.Minute); err == nil {
		t.Error("Save(\"\"): nil error")
	}
	if _, err := s.Lock(ctx, "", time.Minute); err == nil {
		t.Error("Lock(\"\"): nil error")
	}
	if _, err := s.Claim(ctx, "", time.Minute); err == nil {
		t.Error("Claim(\"\"): nil error")
	}
	if err := s.Release(ctx, ""); err == nil {
		t.Error("Release(\"\"): nil error")
	}
	if len(*sent) != 0 {
		t.Errorf("commands sent to Redis: %q, want none", *sent)
	}
}
