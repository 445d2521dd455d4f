package bkash

import (
	"context"
	"sync"
	"time"
)

// Token is a bKash access token: the id_token sent as Authorization and the
// refresh_token that renews it. Both are Secrets and never print.
type Token struct {
	IDToken      Secret
	RefreshToken Secret
	TokenType    string
	ExpiresAt    time.Time

	auth []string // the Authorization header value, built once
}

// TokenStore is a TTL byte cache shared by processes. The SDK serialises the
// token itself.
type TokenStore interface {
	Load(ctx context.Context, key string) ([]byte, error)
	Save(ctx context.Context, key string, blob []byte, ttl time.Duration) error
}

// MemoryTokenStore is an in-process TokenStore.
type MemoryTokenStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemoryTokenStore returns an empty MemoryTokenStore.
func NewMemoryTokenStore() *MemoryTokenStore { return &MemoryTokenStore{m: map[string][]byte{}} }

// Load returns the blob for key, or nil.
func (s *MemoryTokenStore) Load(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}

// Save stores blob under key.
func (s *MemoryTokenStore) Save(_ context.Context, key string, blob []byte, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = blob
	return nil
}

// tokenManager is a placeholder replaced by the real manager.
type tokenManager struct {
	c  *Client
	mu sync.Mutex
	t  *Token
}

func newTokenManager(c *Client, _ TokenStore, _ int) *tokenManager { return &tokenManager{c: c} }

type grantRequest struct {
	AppKey    string `json:"app_key"`
	AppSecret string `json:"app_secret"`
}

type tokenResponse struct {
	envelope
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (m *tokenManager) token(ctx context.Context) (*Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.t != nil && time.Now().Before(m.t.ExpiresAt) {
		return m.t, nil
	}
	var r tokenResponse
	if err := m.c.do(ctx, epGrant, grantRequest{m.c.creds.AppKey, string(m.c.creds.AppSecret)}, &r); err != nil {
		return nil, err
	}
	m.t = &Token{IDToken: Secret(r.IDToken), RefreshToken: Secret(r.RefreshToken), TokenType: r.TokenType,
		ExpiresAt: time.Now().Add(time.Duration(r.ExpiresIn) * time.Second), auth: []string{r.IDToken}}
	return m.t, nil
}

func (m *tokenManager) reject(t *Token) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.t == t {
		m.t = nil
	}
}
