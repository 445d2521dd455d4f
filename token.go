package bkash

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
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

	auth      []string  // the Authorization header value, built once
	issuedAt  time.Time // when the id_token was issued, for the renewal skew
	refreshAt time.Time // renew from here on: ExpiresAt minus skew and jitter
}

// String describes the token without its secrets.
func (t Token) String() string {
	return fmt.Sprintf("bkash.Token{IDToken:%s, RefreshToken:%s, TokenType:%q, ExpiresAt:%s, RefreshExpiresAt:%s}",
		redacted, redacted, t.TokenType, t.ExpiresAt.Format(time.RFC3339), t.RefreshExpiresAt.Format(time.RFC3339))
}

// GoString is String, so %#v prints no secret.
func (t Token) GoString() string { return t.String() }

// Format prints String for every verb; the unexported header cache holds
// the raw id_token and must never reach fmt's struct printer. The methods
// have value receivers so that a Token value is covered as well as a pointer.
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
// store format is separate and is never produced by this method.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		IDToken          string    `json:"id_token"`
		RefreshToken     string    `json:"refresh_token"`
		TokenType        string    `json:"token_type"`
		ExpiresAt        time.Time `json:"expires_at"`
		RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	}{redacted, redacted, t.TokenType, t.ExpiresAt, t.RefreshExpiresAt})
}

// TokenStore is a TTL byte cache in which the client keeps its token so that
// several processes (or several Clients with the same credentials) share one
// token instead of each granting their own. The SDK serialises (and, with
// WithTokenEncryption, encrypts) the token itself; the store only keeps bytes.
//
// The ttl passed to Save is how long the blob stays useful: until the later
// of the id_token's and the refresh_token's expiry, so that a process that
// starts later can still refresh instead of granting.
type TokenStore interface {
	// Load returns the blob saved under key, or (nil, nil) when there is none.
	Load(ctx context.Context, key string) ([]byte, error)
	// Save stores blob under key for ttl.
	Save(ctx context.Context, key string, blob []byte, ttl time.Duration) error
}

// TokenLocker is implemented by a TokenStore that can serialise renewals
// across processes. Lock returns ErrLockNotAcquired when another holder has
// the lock; the lock expires by itself after ttl so that a crashed holder
// cannot block renewals.
type TokenLocker interface {
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, err error)
}

// MemoryTokenStore is an in-process TokenStore and TokenLocker with expiry.
// It is the default store; share one between Clients of the same
// credentials to make them share a token. The zero value is not usable; call
// NewMemoryTokenStore.
type MemoryTokenStore struct {
	mu    sync.Mutex
	blobs map[string]memEntry
	locks map[string]memEntry // blob holds the owner's lock ID
	now   func() time.Time
	seq   uint64
}

type memEntry struct {
	blob    []byte
	expires time.Time // zero: never
}

// NewMemoryTokenStore returns an empty MemoryTokenStore.
func NewMemoryTokenStore() *MemoryTokenStore {
	return &MemoryTokenStore{blobs: map[string]memEntry{}, locks: map[string]memEntry{}, now: time.Now}
}

// Load returns a copy of the blob saved under key, or (nil, nil) when there
// is none or it has expired.
func (s *MemoryTokenStore) Load(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.blobs[key]
	if !ok {
		return nil, nil
	}
	if !e.expires.IsZero() && !s.now().Before(e.expires) {
		delete(s.blobs, key)
		return nil, nil
	}
	return bytes.Clone(e.blob), nil
}

// Save stores a copy of blob under key. A ttl of zero or less keeps it until
// it is overwritten.
func (s *MemoryTokenStore) Save(_ context.Context, key string, blob []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := memEntry{blob: bytes.Clone(blob)}
	if ttl > 0 {
		e.expires = s.now().Add(ttl)
	}
	s.blobs[key] = e
	return nil
}

// Lock takes the renewal lock for key for at most ttl. It returns
// ErrLockNotAcquired while another holder has it. unlock releases the lock
// only if it is still the caller's (it may have expired and been taken).
func (s *MemoryTokenStore) Lock(_ context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if e, ok := s.locks[key]; ok && now.Before(e.expires) {
		return nil, ErrLockNotAcquired
	}
	s.seq++
	id := strconv.FormatUint(s.seq, 10)
	s.locks[key] = memEntry{blob: []byte(id), expires: now.Add(ttl)}
	return func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if e, ok := s.locks[key]; ok && string(e.blob) == id {
			delete(s.locks, key)
		}
		return nil
	}, nil
}

// String describes the store without its contents, which include tokens.
func (s *MemoryTokenStore) String() string {
	s.mu.Lock()
	n := len(s.blobs)
	s.mu.Unlock()
	return "bkash.MemoryTokenStore{entries:" + strconv.Itoa(n) + "}"
}

// GoString is String.
func (s *MemoryTokenStore) GoString() string { return s.String() }

// Format prints String for every verb, so no stored token can be printed.
func (s *MemoryTokenStore) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// Token lifetimes and renewal timing (spec §3.3, §3.4).
const (
	defaultTokenLifetime = time.Hour           // expires_in when bKash sends none
	refreshTokenLifetime = 28 * 24 * time.Hour // "at most 28 days" (spec §3.1)
	renewSkew            = 5 * time.Minute     // renew this long before expiry
	renewJitter          = 60 * time.Second    // plus up to this, so processes do not all renew at once
	refreshMargin        = time.Minute         // do not present a refresh_token this close to its expiry
	renewTimeout         = time.Minute         // one renewal, detached from the caller's context
	lockTTL              = 30 * time.Second    // cross-process renewal lock
	budgetWindow         = time.Hour           // bKash's rolling window for grant/refresh calls
	failureHold          = 30 * time.Second    // after a failed renewal, keep using a valid token this long
	maxRejected          = 8                   // rejected id_tokens remembered
)

// defaultLockWaits are the pauses between store polls while another process
// holds the renewal lock: about 3.5 s in all, then this process renews itself.
var defaultLockWaits = []time.Duration{
	100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
	800 * time.Millisecond, time.Second, time.Second,
}

// tokenManager caches the client's token, renews it once for all goroutines
// and keeps grant/refresh calls within bKash's budget.
type tokenManager struct {
	c         *Client
	store     TokenStore
	locker    TokenLocker // store, when it can lock; else nil
	aead      cipher.AEAD // nil: blobs are stored in clear
	key       string
	budget    int
	now       func() time.Time // nil: the real clock (tests inject one)
	lockWaits []time.Duration

	cur atomic.Pointer[Token] // the token handed out; nil when none is usable

	// hot is cur while it is certainly not due for renewal, so that the
	// fast path reads no clock: a timer withdraws it at refreshAt. A clock
	// read costs more than the rest of the fast path, several times more on
	// some virtual machines. Only with the real clock; hotMu orders its
	// setting and withdrawal with swap and reject.
	hot      atomic.Pointer[Token]
	hotMu    sync.Mutex
	hotTimer *time.Timer
	sf       singleflight.Group

	mu       sync.Mutex
	latest   *Token      // newest token known, even rejected or expired: its refresh_token
	calls    []time.Time // grant/refresh calls in the budget window
	rejected []string    // id_tokens bKash rejected, newest last
	hold     time.Time   // after a failed renewal: keep the valid token until then
}

func newTokenManager(c *Client, cfg *config) *tokenManager {
	m := &tokenManager{
		c:         c,
		store:     cfg.store,
		aead:      cfg.tokenAEAD,
		key:       tokenKey(c.env, c.creds),
		budget:    cfg.budget,
		lockWaits: defaultLockWaits,
	}
	if l, ok := cfg.store.(TokenLocker); ok {
		m.locker = l
	}
	return m
}

// tokenKey is the store key: bkash:token:<env>:<16 hex of sha256(appKey|username)>.
// It identifies the credentials without revealing them.
func tokenKey(env Environment, creds Credentials) string {
	sum := sha256.Sum256([]byte(creds.AppKey + "|" + creds.Username))
	return "bkash:token:" + env.String() + ":" + hex.EncodeToString(sum[:8])
}

// token returns a token that is not yet due for renewal. The fast path is one
// atomic load (hot); without it, an atomic load and a monotonic clock read.
func (m *tokenManager) token(ctx context.Context) (*Token, error) {
	if t := m.hot.Load(); t != nil {
		return t, nil
	}
	if t := m.cur.Load(); t != nil && m.fresh(t) {
		return t, nil
	}
	return m.renewShared(ctx)
}

// fresh reports whether t is not yet due for renewal. With the real clock,
// refreshAt carries a monotonic reading and time.Until reads only the
// monotonic clock, which costs half of time.Now.
func (m *tokenManager) fresh(t *Token) bool {
	if m.now == nil {
		return time.Until(t.refreshAt) > 0
	}
	return m.now().Before(t.refreshAt)
}

func (m *tokenManager) clock() time.Time {
	if m.now == nil {
		return time.Now()
	}
	return m.now()
}

// renewShared runs one renewal for every waiting goroutine. The renewal has
// its own context: a caller that gives up stops waiting but fails no one
// else, and the renewal still completes for the others.
func (m *tokenManager) renewShared(ctx context.Context) (*Token, error) {
	ch := m.sf.DoChan(m.key, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renewTimeout)
		defer cancel()
		return m.renew(rctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Token), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("bkash: waiting for token renewal: %w", ctx.Err())
	}
}

// reject invalidates t after bKash refused it (401/403 or code 2079). Only
// the current token is dropped (compare-and-swap): a caller holding an older
// token must not discard a newer one. t is remembered so that a store that
// still holds it is not trusted again.
func (m *tokenManager) reject(t *Token) {
	if t == nil {
		return
	}
	m.mu.Lock()
	if !m.isRejectedLocked(t.IDToken) {
		m.rejected = append(m.rejected, string(t.IDToken))
		if len(m.rejected) > maxRejected {
			m.rejected = m.rejected[1:]
		}
	}
	m.mu.Unlock()
	m.hotMu.Lock()
	m.cur.CompareAndSwap(t, nil)
	m.hot.CompareAndSwap(t, nil)
	m.hotMu.Unlock()
}

func (m *tokenManager) isRejectedLocked(id Secret) bool {
	for _, r := range m.rejected {
		if r == string(id) {
			return true
		}
	}
	return false
}

// usable reports whether t can be handed out at now: not rejected and not yet
// due for renewal.
func (m *tokenManager) usable(t *Token, now time.Time) bool {
	if t == nil || !now.Before(t.refreshAt) {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.isRejectedLocked(t.IDToken)
}

// renew is the single-flight body: store, lock, store again, refresh or
// grant, save, swap.
func (m *tokenManager) renew(ctx context.Context) (*Token, error) {
	now := m.clock()
	cur := m.cur.Load()
	if cur != nil && now.Before(cur.refreshAt) {
		return cur, nil // renewed by the flight that just ended
	}
	if cur != nil && now.Before(cur.ExpiresAt) {
		m.mu.Lock()
		held := now.Before(m.hold)
		m.mu.Unlock()
		if held {
			return cur, nil // a renewal just failed; do not hammer bKash or the budget
		}
	}

	var warned bool
	stored := m.load(ctx, &warned)
	if m.usable(stored, now) {
		return m.adopt(ctx, stored), nil
	}
	if m.locker != nil {
		unlock, err := m.locker.Lock(ctx, m.key, lockTTL)
		switch {
		case err == nil:
			defer func() {
				if err := unlock(ctx); err != nil {
					m.warn(ctx, "bkash token unlock failed", err)
				}
			}()
			// The previous holder may have saved a token just before we
			// got the lock.
			if s := m.load(ctx, &warned); s != nil {
				stored = s
				if m.usable(s, m.clock()) {
					return m.adopt(ctx, s), nil
				}
			}
		case errors.Is(err, ErrLockNotAcquired):
			// Another process is renewing: wait for its token.
			for _, d := range m.lockWaits {
				if err := sleepCtx(ctx, d); err != nil {
					break
				}
				if s := m.load(ctx, &warned); s != nil {
					stored = s
					if m.usable(s, m.clock()) {
						return m.adopt(ctx, s), nil
					}
				}
			}
			m.warn(ctx, "bkash token lock still held elsewhere; renewing without it", err)
		default:
			m.warn(ctx, "bkash token lock failed; renewing without it", err)
		}
	}

	t, err := m.fetch(ctx, stored)
	if err != nil {
		return m.fallback(ctx, err)
	}
	m.save(ctx, t)
	m.swap(t)
	return t, nil
}

// fetch calls refresh when a refresh_token is still valid, else grant. A
// refresh that bKash refuses outright (a code or a 401/403, not a transient
// failure) falls back to a grant.
func (m *tokenManager) fetch(ctx context.Context, stored *Token) (*Token, error) {
	m.mu.Lock()
	base := m.latest
	m.mu.Unlock()
	// Another process may hold a newer refresh_token than ours.
	if stored != nil && (base == nil || stored.RefreshExpiresAt.After(base.RefreshExpiresAt)) {
		base = stored
	}
	if base != nil && base.RefreshToken != "" && m.clock().Before(base.RefreshExpiresAt.Add(-refreshMargin)) {
		t, err := m.call(ctx, epRefresh, base)
		// Any definite refusal of the refresh (a bKash code, 9999 included,
		// or a 401/403) falls back to a grant; the budget still bounds the
		// calls. A network failure or a 5xx says nothing about the token.
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || ae.HTTPStatus >= 500 {
			return t, err
		}
	}
	return m.call(ctx, epGrant, nil)
}

// call makes one grant or refresh call, within the budget. prev is the token
// being refreshed (nil for a grant).
func (m *tokenManager) call(ctx context.Context, ep *endpoint, prev *Token) (*Token, error) {
	kind := "grant"
	if prev != nil {
		kind = "refresh"
	}
	if s, ok := m.c.observer.(StartObserver); ok {
		ctx = s.StartTokenRenewal(ctx, kind)
	}
	if err := m.spend(); err != nil {
		// Observed, not logged here: the caller's error or the fallback's
		// warning says it once.
		m.observe(ctx, kind, 0, err)
		return nil, err
	}
	req := tokenRequest{appKey: m.c.creds.AppKey, appSecret: m.c.creds.AppSecret}
	if prev != nil {
		req.refreshToken = prev.RefreshToken
	}
	start := time.Now()
	var resp tokenResponse
	err := m.c.do(ctx, ep, req, &resp)
	if err == nil && resp.IDToken == "" {
		err = errorf(ep.op, "answer carries no id_token")
	}
	var t *Token
	if err == nil {
		t = m.newToken(ctx, &resp, prev)
	}
	m.report(ctx, kind, time.Since(start), err, t)
	return t, err
}

// spend takes one grant/refresh call from the budget, or says when the next
// one will be allowed. Failed calls count too: bKash counts them.
func (m *tokenManager) spend() error {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	keep := m.calls[:0]
	for _, at := range m.calls {
		if now.Sub(at) < budgetWindow {
			keep = append(keep, at)
		}
	}
	m.calls = keep
	if len(m.calls) >= m.budget {
		free := m.calls[0].Add(budgetWindow)
		m.hold = free
		return fmt.Errorf("%w: %d grant/refresh calls in the last hour (budget %d); the next is allowed at %s (in %s); nothing was sent",
			ErrTokenBudgetExceeded, len(m.calls), m.budget, free.UTC().Format(time.RFC3339), free.Sub(now).Round(time.Second))
	}
	m.calls = append(m.calls, now)
	return nil
}

// newToken builds the Token from a grant or refresh answer.
func (m *tokenManager) newToken(ctx context.Context, r *tokenResponse, prev *Token) *Token {
	now := m.clock()
	life := defaultTokenLifetime
	if r.ExpiresIn != "" {
		n, err := strconv.ParseInt(string(r.ExpiresIn), 10, 64)
		if err != nil || n <= 0 || n > 7*24*3600 {
			m.warn(ctx, "bkash token answer has an unusable expires_in; assuming 3600", errors.New("expires_in "+strconv.Quote(string(r.ExpiresIn))))
		} else {
			life = time.Duration(n) * time.Second
		}
	}
	t := &Token{
		IDToken:   Secret(r.IDToken),
		TokenType: r.TokenType,
		ExpiresAt: now.Add(life),
		issuedAt:  now,
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
		// original expiry (spec §3.2).
		t.RefreshToken = prev.RefreshToken
		t.RefreshExpiresAt = prev.RefreshExpiresAt
	}
	t.prepare(now)
	return t
}

// prepare fills the unexported fields: the header value and the renewal
// time, with this token's own jitter. refreshAt is derived from now so that
// it keeps now's monotonic reading (see fresh).
func (t *Token) prepare(now time.Time) {
	t.auth = []string{string(t.IDToken)}
	skew := renewSkew + time.Duration(mrand.Int64N(int64(renewJitter)+1))
	if !t.issuedAt.IsZero() {
		// A short-lived token (a test server's) is renewed at half its life.
		if half := t.ExpiresAt.Sub(t.issuedAt) / 2; half < skew {
			skew = half
		}
	}
	t.refreshAt = now.Add(t.ExpiresAt.Sub(now) - skew)
}

// adopt makes a token loaded from the store current.
func (m *tokenManager) adopt(ctx context.Context, t *Token) *Token {
	m.swap(t)
	m.report(ctx, "store", 0, nil, t)
	return t
}

func (m *tokenManager) swap(t *Token) {
	m.mu.Lock()
	m.latest = t
	m.hold = time.Time{}
	m.mu.Unlock()
	m.cur.Store(t)
	m.armHot(t)
}

// armHot puts t on the clock-free fast path until its refreshAt, if t is
// still the current token.
func (m *tokenManager) armHot(t *Token) {
	m.hotMu.Lock()
	defer m.hotMu.Unlock()
	if m.hotTimer != nil {
		m.hotTimer.Stop()
	}
	m.hot.Store(nil)
	if m.now != nil || t == nil || m.cur.Load() != t {
		return
	}
	d := time.Until(t.refreshAt)
	if d <= 0 {
		return
	}
	m.hot.Store(t)
	m.hotTimer = time.AfterFunc(d, func() { m.hot.CompareAndSwap(t, nil) })
}

// fallback keeps a still-valid token in service when renewal failed (bKash
// down, budget spent): the caller is better served by the old token for the
// minutes it has left than by an error.
func (m *tokenManager) fallback(ctx context.Context, err error) (*Token, error) {
	now := m.clock()
	cur := m.cur.Load()
	if cur == nil || !now.Add(time.Second).Before(cur.ExpiresAt) {
		return nil, err
	}
	m.mu.Lock()
	if m.isRejectedLocked(cur.IDToken) {
		m.mu.Unlock()
		return nil, err
	}
	if m.hold.Before(now.Add(failureHold)) {
		m.hold = now.Add(failureHold)
	}
	m.mu.Unlock()
	m.warn(ctx, "bkash token renewal failed; using the current token until it expires", err)
	return cur, nil
}

// report tells the observer and the log about one renewal.
func (m *tokenManager) report(ctx context.Context, kind string, d time.Duration, err error, t *Token) {
	c := m.c
	m.observe(ctx, kind, d, err)
	if c.logger == nil {
		return
	}
	if err != nil {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "bkash token renewal failed",
			slog.String("kind", kind), slog.Duration("duration", d), slog.String("error", err.Error()))
		return
	}
	c.logger.LogAttrs(ctx, slog.LevelInfo, "bkash token renewed",
		slog.String("kind", kind), slog.Duration("duration", d),
		slog.Time("expires_at", t.ExpiresAt), slog.String("store_key", m.key))
}

// observe tells the observer about one renewal.
func (m *tokenManager) observe(ctx context.Context, kind string, d time.Duration, err error) {
	if m.c.observer != nil {
		m.c.observer.ObserveTokenRenewal(TokenRenewalEvent{Kind: kind, Duration: d, Err: err, ctx: ctx})
	}
}

func (m *tokenManager) warn(ctx context.Context, msg string, err error) {
	if m.c.logger != nil {
		m.c.logger.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("store_key", m.key), slog.String("error", err.Error()))
	}
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

func (m *tokenManager) save(ctx context.Context, t *Token) {
	blob, err := m.encode(t)
	if err == nil {
		ttl := t.RefreshExpiresAt.Sub(m.clock())
		if d := t.ExpiresAt.Sub(m.clock()); d > ttl {
			ttl = d
		}
		err = m.store.Save(ctx, m.key, blob, ttl)
	}
	if err != nil {
		m.warn(ctx, "bkash token store save failed", err)
	}
}

// tokenBlob is the stored form of a Token, version 1.
type tokenBlob struct {
	V                int       `json:"v"`
	IDToken          string    `json:"id_token"`
	RefreshToken     string    `json:"refresh_token,omitempty"`
	TokenType        string    `json:"token_type,omitempty"`
	IssuedAt         time.Time `json:"issued_at"`
	ExpiresAt        time.Time `json:"expires_at"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
}

// sealedMagic starts an encrypted blob; a clear blob starts with '{'.
const sealedMagic = "\x00bkt1"

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

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tokenRequest is the body of grant (spec §3.1) and refresh (§3.2).
type tokenRequest struct {
	appKey       string
	appSecret    Secret
	refreshToken Secret // empty for a grant
}

func (r tokenRequest) appendJSON(b []byte) []byte {
	b = append(b, `{"app_key":`...)
	b = appendJSONString(b, r.appKey)
	b = append(b, `,"app_secret":`...)
	b = appendJSONString(b, string(r.appSecret))
	if r.refreshToken != "" {
		b = append(b, `,"refresh_token":`...)
		b = appendJSONString(b, string(r.refreshToken))
	}
	return append(b, '}')
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
