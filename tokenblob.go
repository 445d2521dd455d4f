// This file holds the stored form of a Token: the JSON blob the manager
// saves in the TokenStore, sealed with AES-GCM when WithTokenEncryption is
// set, and the manager's load and save, which keep store failures from
// failing a call.

package bkash

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// tokenBlob is the stored form of a Token, version 1. Unlike
// Token.MarshalJSON it carries the secrets: it is written only to the
// TokenStore, and sealed there when WithTokenEncryption is set.
type tokenBlob struct {
	V                int       `json:"v"`
	IDToken          string    `json:"id_token"`
	RefreshToken     string    `json:"refresh_token,omitempty"`
	TokenType        string    `json:"token_type,omitempty"`
	IssuedAt         time.Time `json:"issued_at"`
	ExpiresAt        time.Time `json:"expires_at"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
}

// sealedMagic starts an encrypted blob; a clear blob starts with '{'. An
// encrypted blob is sealedMagic, the nonce, then the AES-GCM sealed JSON,
// with the store key as additional data so that a blob copied to another
// key does not open.
const sealedMagic = "\x00bkt1"

// encode returns t's blob, sealed when the manager has a key.
func (m *tokenManager) encode(t *Token) ([]byte, error) {
	plain, err := json.Marshal(tokenBlob{
		V: 1, IDToken: string(t.IDToken), RefreshToken: string(t.RefreshToken), TokenType: t.TokenType,
		IssuedAt: t.issuedAt, ExpiresAt: t.ExpiresAt, RefreshExpiresAt: t.RefreshExpiresAt,
	})
	if err != nil || m.aead == nil {
		return plain, err
	}
	ns := m.aead.NonceSize()
	out := make([]byte, len(sealedMagic)+ns, len(sealedMagic)+ns+len(plain)+m.aead.Overhead())
	copy(out, sealedMagic)
	nonce := out[len(sealedMagic):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return m.aead.Seal(out, nonce, plain, []byte(m.key)), nil
}

// decode returns the token of a stored blob, ready for use. Its errors
// never quote the blob, which holds the secrets.
func (m *tokenManager) decode(blob []byte) (*Token, error) {
	sealed := bytes.HasPrefix(blob, []byte(sealedMagic))
	switch {
	case sealed && m.aead == nil:
		return nil, errors.New("the stored token is encrypted; configure WithTokenEncryption with the shared key")
	case !sealed && m.aead != nil:
		return nil, errors.New("the stored token is not encrypted although WithTokenEncryption is set")
	case sealed:
		rest := blob[len(sealedMagic):]
		ns := m.aead.NonceSize()
		if len(rest) < ns {
			return nil, errors.New("encrypted token blob is truncated")
		}
		plain, err := m.aead.Open(nil, rest[:ns], rest[ns:], []byte(m.key))
		if err != nil {
			return nil, errors.New("cannot decrypt the stored token (wrong key?)")
		}
		blob = plain
	}
	var b tokenBlob
	if err := json.Unmarshal(blob, &b); err != nil {
		// json's message may quote the blob; give only its kind.
		return nil, errors.New("stored token is not valid JSON")
	}
	if b.V != 1 {
		return nil, fmt.Errorf("stored token has unknown version %d", b.V)
	}
	if b.IDToken == "" || b.ExpiresAt.IsZero() {
		return nil, errors.New("stored token lacks id_token or expires_at")
	}
	t := &Token{
		IDToken: Secret(b.IDToken), RefreshToken: Secret(b.RefreshToken), TokenType: b.TokenType,
		ExpiresAt: b.ExpiresAt, RefreshExpiresAt: b.RefreshExpiresAt, issuedAt: b.IssuedAt,
	}
	t.prepare(m.clock())
	return t, nil
}

// load reads and decodes the stored token. A failure reads as "nothing
// stored" (the in-process token keeps working) and is logged once per
// renewal: *warned records that the warning was given.
func (m *tokenManager) load(ctx context.Context, warned *bool) *Token {
	blob, err := m.store.Load(ctx, m.key)
	msg := "bkash token store load failed"
	var t *Token
	if err == nil && len(blob) > 0 {
		t, err = m.decode(blob)
		msg = "bkash token in store is unusable; ignoring it"
	}
	if err != nil && !*warned {
		*warned = true
		m.warn(ctx, msg, err)
	}
	return t
}

// save stores t for as long as it is useful: until the later of its
// id_token's and its refresh_token's expiry, so that a process that starts
// later can still refresh instead of granting. A failure is logged, not
// returned: the token works in this process all the same.
func (m *tokenManager) save(ctx context.Context, t *Token) {
	blob, err := m.encode(t)
	if err == nil {
		now := m.clock()
		ttl := max(t.RefreshExpiresAt.Sub(now), t.ExpiresAt.Sub(now))
		err = m.store.Save(ctx, m.key, blob, ttl)
	}
	if err != nil {
		m.warn(ctx, "bkash token store save failed", err)
	}
}
