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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/smartdairy/bkash-go/internal/transport"
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
	granted   bool      // from this process's own grant or refresh (not a store): see Client.freshlyGranted
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
//
// While another process holds the lock, a renewal waits for that process's
// token (it polls the store and tries the lock again) instead of granting
// its own. A locker that is not also a TokenLockExtender is asked for a TTL
// that covers a whole renewal (70 s), so a holder that dies blocks the
// others that long; implement TokenLockExtender for a short, extended lease.
type TokenLocker interface {
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, err error)
}

// TokenLockExtender is implemented by a TokenLocker whose locks the holder
// can keep alive. The SDK then takes the renewal lock with a short TTL (10 s)
// and extends it every few seconds while the grant or refresh runs, however
// long that takes (up to a minute with retries): the lock lasts exactly as
// long as a live holder works, and a holder that dies (killed, frozen, cut
// off from the store) frees it within the short TTL, so the next process
// renews quickly.
//
// ExtendLock sets the expiry of the lock for key, which this store value
// took with Lock and has not released, to ttl from now. It returns an error
// matching ErrLockNotAcquired when the lock is no longer held by this store
// value (it expired, and another holder may have taken it); the SDK then
// sends no further request in that renewal. Other errors (the store
// unreachable) are logged and the SDK tries again at the next tick.
// redisstore implements it with a compare-and-PEXPIRE Lua script.
type TokenLockExtender interface {
	TokenLocker
	ExtendLock(ctx context.Context, key string, ttl time.Duration) error
}

// TokenBudgetStore is implemented by a TokenStore that can keep the count of
// grant and refresh requests, so that bKash's limit (two an hour per
// credentials) holds across every process that shares the store, and a
// process that restarts (a deploy, a pod in a crash loop) starts with the
// requests its previous life made instead of a fresh budget.
//
// The SDK calls TakeRenewal before every grant or refresh request it sends,
// retries included. TakeRenewal atomically drops the records of key older
// than window, and, if fewer than limit remain, records one more and returns
// its id; otherwise it records nothing and returns id "" with retryAt, the
// time (on this process's clock) when the oldest record leaves the window.
// The check and the record must be one atomic step across all the store's
// users (a Lua script in Redis, a transaction in SQL), or two processes can
// both take the last request. A request that provably never left the process
// (the connection could not be made) is given back with ReturnRenewal, which
// deletes the record id; returning an unknown id is not an error.
//
// key is the token's store key; implementations keep the records under a
// name of their own derived from it. When the store fails, the SDK logs it
// and falls back to the budget it keeps in the process.
type TokenBudgetStore interface {
	TakeRenewal(ctx context.Context, key string, limit int, window time.Duration) (id string, retryAt time.Time, err error)
	ReturnRenewal(ctx context.Context, key, id string) error
}

// MemoryTokenStore is an in-process TokenStore, TokenLockExtender and
// TokenBudgetStore with expiry. It is the default store; share one between
// Clients of the same credentials to make them share a token and the
// renewal budget. The zero value is not usable; call NewMemoryTokenStore.
type MemoryTokenStore struct {
	mu      sync.Mutex
	blobs   map[string]memEntry
	locks   map[string]memEntry // blob holds the owner's lock ID
	budgets map[string][]memRenewal
	now     func() time.Time
	seq     uint64
}

// memRenewal is one grant/refresh request recorded by TakeRenewal.
type memRenewal struct {
	id string
	at time.Time
}

type memEntry struct {
	blob    []byte
	expires time.Time // zero: never
}

// NewMemoryTokenStore returns an empty MemoryTokenStore.
func NewMemoryTokenStore() *MemoryTokenStore {
	return &MemoryTokenStore{blobs: map[string]memEntry{}, locks: map[string]memEntry{}, budgets: map[string][]memRenewal{}, now: time.Now}
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

// ExtendLock sets the expiry of the renewal lock for key to ttl from now. It
// returns ErrLockNotAcquired when the lock has expired or was released: the
// holder lost it. Within one process the singleflight of each Client and the
// lock itself leave one holder per key at a time.
func (s *MemoryTokenStore) ExtendLock(_ context.Context, key string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e, ok := s.locks[key]
	if !ok || !now.Before(e.expires) {
		return ErrLockNotAcquired
	}
	e.expires = now.Add(ttl)
	s.locks[key] = e
	return nil
}

// TakeRenewal records one grant/refresh request for key if fewer than limit
// were recorded within the last window (see TokenBudgetStore).
func (s *MemoryTokenStore) TakeRenewal(_ context.Context, key string, limit int, window time.Duration) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	keep := s.budgets[key][:0]
	for _, r := range s.budgets[key] {
		if now.Sub(r.at) < window {
			keep = append(keep, r)
		}
	}
	if len(keep) >= limit {
		s.budgets[key] = keep
		return "", keep[0].at.Add(window), nil
	}
	s.seq++
	id := strconv.FormatUint(s.seq, 10)
	s.budgets[key] = append(keep, memRenewal{id: id, at: now})
	return id, time.Time{}, nil
}

// ReturnRenewal deletes the record id of key: its request was never sent.
func (s *MemoryTokenStore) ReturnRenewal(_ context.Context, key, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.budgets[key]
	for i, r := range rs {
		if r.id == id {
			s.budgets[key] = append(rs[:i:i], rs[i+1:]...)
			break
		}
	}
	return nil
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
	defaultTokenLifetime = time.Hour                     // expires_in when bKash sends none
	refreshTokenLifetime = 28 * 24 * time.Hour           // "at most 28 days" (spec §3.1)
	renewSkew            = 5 * time.Minute               // renew this long before expiry
	renewJitter          = 60 * time.Second              // plus up to this, so processes do not all renew at once
	refreshMargin        = time.Minute                   // do not present a refresh_token this close to its expiry
	renewTimeout         = time.Minute                   // the work of one renewal (lock held), detached from the callers
	lockWaitLimit        = time.Minute                   // how long a renewal waits for another process's
	lockTTL              = renewTimeout + 10*time.Second // a TokenLocker that cannot extend: covers a whole renewal
	lockLease            = 10 * time.Second              // a TokenLockExtender's lock, extended while the holder works
	budgetWindow         = time.Hour                     // bKash's rolling window for grant/refresh calls
	failureHold          = 30 * time.Second              // after a failed renewal, keep using a valid token this long
	maxRejected          = 8                             // rejected id_tokens remembered
)

// defaultLockWaits are the pauses between polls of the store while another
// process holds the renewal lock; the last one repeats until that process's
// token appears, its lock is free, or lockWaitLimit passes.
var defaultLockWaits = []time.Duration{
	100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
	800 * time.Millisecond, time.Second,
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

	// Grant and refresh go out one request per transport call (tr makes a
	// single attempt): the manager retries them itself, taking every
	// request from the budget before it is sent.
	tr       *transport.Transport
	retry    RetryPolicy
	budgets  TokenBudgetStore  // store, when it keeps the budget; else nil
	extender TokenLockExtender // store, when it can extend its lock; else nil
	// Timing of the renewal lock; constants but for tests.
	lease   time.Duration
	lockTTL time.Duration
	waitMax time.Duration
	workMax time.Duration

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
	latest   *Token              // newest token known, even rejected or expired: its refresh_token
	calls    []time.Time         // grant/refresh requests sent in the budget window
	refusal  error               // the last credentials refusal, for the budget error
	rejected [][sha256.Size]byte // digests of the id_tokens bKash rejected, newest last (not the tokens: fmt can reach this struct)
	hold     time.Time           // after a failed renewal: keep the valid token until then
}

// newTokenManager returns the manager of c's token. tr is the transport for
// grant and refresh: it must make a single attempt per call.
func newTokenManager(c *Client, cfg *config, tr *transport.Transport) *tokenManager {
	m := &tokenManager{
		c:         c,
		store:     cfg.store,
		aead:      cfg.tokenAEAD,
		key:       tokenKey(c.env, c.secrets().creds),
		budget:    cfg.budget,
		lockWaits: defaultLockWaits,
		tr:        tr,
		retry:     cfg.retry,
		lease:     lockLease,
		lockTTL:   lockTTL,
		waitMax:   lockWaitLimit,
		workMax:   renewTimeout,
	}
	if l, ok := cfg.store.(TokenLocker); ok {
		m.locker = l
	}
	if e, ok := cfg.store.(TokenLockExtender); ok {
		m.extender = e
	}
	if b, ok := cfg.store.(TokenBudgetStore); ok {
		m.budgets = b
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
// else, and the renewal still completes for the others. A caller whose
// context has no deadline waits for the renewal's own limits: up to a
// minute for a renewal running in another process, then up to a minute for
// its own grant or refresh.
func (m *tokenManager) renewShared(ctx context.Context) (*Token, error) {
	ch := m.sf.DoChan(m.key, func() (any, error) {
		return m.renew(context.WithoutCancel(ctx))
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
		m.rejected = append(m.rejected, sha256.Sum256([]byte(t.IDToken)))
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
	sum := sha256.Sum256([]byte(id))
	for _, r := range m.rejected {
		if r == sum {
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

// renew is the single-flight body: store, lock (waiting while another
// process renews), store again, refresh or grant, save, swap.
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
	ctx, cancel := context.WithTimeout(ctx, m.waitMax+m.workMax)
	defer cancel()

	var warned bool
	stored := m.load(ctx, &warned)
	if m.usable(stored, now) {
		return m.adopt(ctx, stored), nil
	}
	held := false
	if m.locker != nil {
		unlock, t, err := m.lock(ctx, &stored, &warned)
		if t != nil || err != nil {
			return t, err
		}
		if unlock != nil {
			held = true
			defer func() {
				if err := unlock(ctx); err != nil {
					m.warn(ctx, "bkash token unlock failed", err)
				}
			}()
		}
	}

	wctx, wcancel := context.WithTimeout(ctx, m.workMax)
	defer wcancel()
	var keep *lockKeeper
	if held && m.extender != nil {
		keep = m.keepLock(wctx)
		defer keep.stop() // before the unlock above
	}
	t, err := m.fetch(wctx, stored, keep)
	if err != nil {
		return m.fallback(ctx, err)
	}
	m.save(ctx, t)
	m.swap(t)
	return t, nil
}

// lock takes the renewal lock. While a live holder elsewhere has it, lock
// waits for that holder's token: it polls the store and tries the lock
// again (a holder that died frees it when its TTL runs out), for at most
// waitMax. It returns the token when one appeared in the store (t), or
// unlock once the lock is ours, or neither when the store cannot lock (it
// failed: the renewal goes on without the lock, as without a locker).
// *stored is updated with the newest token loaded.
func (m *tokenManager) lock(ctx context.Context, stored **Token, warned *bool) (unlock func(context.Context) error, t *Token, err error) {
	wctx, cancel := context.WithTimeout(ctx, m.waitMax)
	defer cancel()
	ttl := m.lockTTL
	if m.extender != nil {
		ttl = m.lease
	}
	start := time.Now()
	for i := 0; ; i++ {
		unlock, err := m.locker.Lock(wctx, m.key, ttl)
		if err == nil {
			// The previous holder may have saved a token just before we
			// got the lock.
			if s := m.load(ctx, warned); s != nil {
				*stored = s
				if m.usable(s, m.clock()) {
					if err := unlock(ctx); err != nil {
						m.warn(ctx, "bkash token unlock failed", err)
					}
					return nil, m.adopt(ctx, s), nil
				}
			}
			return unlock, nil, nil
		}
		if wctx.Err() != nil {
			t, err := m.fallback(ctx, fmt.Errorf("bkash: token renewal: waited %s for the renewal lock: %w", time.Since(start).Round(time.Millisecond), wctx.Err()))
			return nil, t, err
		}
		if !errors.Is(err, ErrLockNotAcquired) {
			m.warn(ctx, "bkash token lock failed; renewing without it", err)
			return nil, nil, nil
		}
		// Another process is renewing. A token that is still valid serves
		// the callers meanwhile; the next renewal looks in the store again.
		if cur := m.valid(time.Second); cur != nil {
			return nil, cur, nil
		}
		if err := sleepCtx(wctx, m.lockWait(i)); err != nil {
			t, err := m.fallback(ctx, fmt.Errorf("bkash: token renewal: waited %s for the renewal running in another process: %w", time.Since(start).Round(time.Millisecond), err))
			return nil, t, err
		}
		if s := m.load(wctx, warned); s != nil {
			*stored = s
			if m.usable(s, m.clock()) {
				return nil, m.adopt(ctx, s), nil
			}
		}
	}
}

// lockWait is the pause before the i-th (0-based) poll of the store.
func (m *tokenManager) lockWait(i int) time.Duration {
	if i < len(m.lockWaits) {
		return m.lockWaits[i]
	}
	return m.lockWaits[len(m.lockWaits)-1]
}

// valid returns the current token while it is valid for at least margin
// more and was not rejected, holding renewals back for margin; else nil.
func (m *tokenManager) valid(margin time.Duration) *Token {
	now := m.clock()
	cur := m.cur.Load()
	if cur == nil || !now.Add(margin).Before(cur.ExpiresAt) {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isRejectedLocked(cur.IDToken) {
		return nil
	}
	if m.hold.Before(now.Add(margin)) {
		m.hold = now.Add(margin)
	}
	return cur
}

// errLockLost stops a renewal whose lock expired while it worked: another
// process may be renewing now, and a further request would be a second
// renewal.
var errLockLost = errors.New("bkash: token renewal lost its lock (the store did not see it extended in time); no further request sent")

// lockKeeper extends the renewal lock while its holder works.
type lockKeeper struct {
	lost atomic.Bool
	done chan struct{}
	wg   sync.WaitGroup
}

// keepLock extends the lock every third of its lease until stop or ctx ends.
func (m *tokenManager) keepLock(ctx context.Context) *lockKeeper {
	k := &lockKeeper{done: make(chan struct{})}
	k.wg.Go(func() {
		tick := time.NewTicker(m.lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-k.done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := m.extender.ExtendLock(ctx, m.key, m.lease)
			switch {
			case err == nil:
			case errors.Is(err, ErrLockNotAcquired):
				k.lost.Store(true)
				m.warn(ctx, "bkash token lock lost while renewing", err)
				return
			case ctx.Err() == nil:
				m.warn(ctx, "bkash token lock extension failed", err)
			}
		}
	})
	return k
}

func (k *lockKeeper) stop() {
	close(k.done)
	k.wg.Wait()
}

// check returns errLockLost once the lock was lost.
func (k *lockKeeper) check() error {
	if k != nil && k.lost.Load() {
		return errLockLost
	}
	return nil
}

// fetch calls refresh when a refresh_token is still valid, else grant. A
// refresh that bKash refuses outright (a code or a 401/403, not a transient
// failure) falls back to a grant, unless the refusal is about the
// credentials, which a grant would only meet again.
func (m *tokenManager) fetch(ctx context.Context, stored *Token, keep *lockKeeper) (*Token, error) {
	m.mu.Lock()
	base := m.latest
	m.mu.Unlock()
	// Another process may hold a newer refresh_token than ours.
	if stored != nil && (base == nil || stored.RefreshExpiresAt.After(base.RefreshExpiresAt)) {
		base = stored
	}
	if base != nil && base.RefreshToken != "" && m.clock().Before(base.RefreshExpiresAt.Add(-refreshMargin)) {
		t, err := m.call(ctx, epRefresh, base, keep)
		// Any definite refusal of the refresh (a bKash code or a 401/403)
		// falls back to a grant; the budget still bounds the calls. A
		// network failure or a 5xx says nothing about the token.
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || ae.HTTPStatus >= 500 || errors.Is(err, ErrCredentialsRejected) {
			return t, err
		}
	}
	return m.call(ctx, epGrant, nil, keep)
}

// call makes one grant or refresh (prev is the token being refreshed, nil
// for a grant). It sends at most MaxAttempts requests, each taken from the
// budget before it leaves: a retry the budget does not allow is not sent,
// and the error then matches both the last failure and
// ErrTokenBudgetExceeded. A request that never left the process is given
// back to the budget. An answer with a bKash code is final: bKash decided,
// and asking again would spend the budget on the same answer.
func (m *tokenManager) call(ctx context.Context, ep *endpoint, prev *Token, keep *lockKeeper) (*Token, error) {
	kind := "grant"
	if prev != nil {
		kind = "refresh"
	}
	if s, ok := m.c.observer.(StartObserver); ok {
		ctx = s.StartTokenRenewal(ctx, kind)
	}
	creds := &m.c.secrets().creds
	req := tokenRequest{AppKey: creds.AppKey, AppSecret: string(creds.AppSecret)}
	if prev != nil {
		req.RefreshToken = string(prev.RefreshToken)
	}
	start := time.Now()
	var (
		t     *Token
		last  error
		tried bool // a request was made; a renewal refused before any is not reported
	)
	for attempt := 1; ; attempt++ {
		if err := keep.check(); err != nil {
			last = joinRetryErr(last, err)
			break
		}
		slot, err := m.spend(ctx)
		if err != nil {
			last = joinRetryErr(last, err)
			break
		}
		tried = true
		var resp tokenResponse
		sent, err := m.c.doVia(ctx, m.tr, ep, req, &resp, attempt-1)
		if !sent {
			m.giveBack(ctx, slot)
		}
		if err == nil && resp.IDToken == "" {
			last = errorf(ep.op, "answer carries no id_token")
			break
		}
		if err == nil {
			t, last = m.newToken(ctx, &resp, prev), nil
			break
		}
		last = m.classify(err)
		if attempt >= m.retry.MaxAttempts || !renewalRetryable(err) || ctx.Err() != nil {
			break
		}
		if sleepCtx(ctx, transport.Backoff(m.retry.BaseDelay, m.retry.MaxDelay, attempt-1)) != nil {
			break
		}
	}
	if tried {
		m.report(ctx, kind, time.Since(start), last, t)
	} else {
		// Refused before any request: observed, not logged here; the
		// caller's error or the fallback's warning says it once.
		m.observe(ctx, kind, 0, last)
	}
	return t, last
}

// joinRetryErr is the error of a renewal whose next request was not sent
// for reason: the last failure, if there was one, and the reason.
func joinRetryErr(last, reason error) error {
	if last == nil {
		return reason
	}
	return fmt.Errorf("%w (not retried: %w)", last, reason)
}

// renewalRetryable reports whether a failed grant/refresh request may be
// sent again: after a network failure, an unreadable answer, or a gateway's
// 429/502/503/504 without a bKash code. Never after a bKash code (9999
// included: "Username does not exist" comes as 9999) or any other definite
// answer.
func renewalRetryable(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return true
	}
	if ae.Code != "" {
		return false
	}
	switch ae.HTTPStatus {
	case 429, 502, 503, 504:
		return true
	}
	return false
}

// classify remembers a grant or refresh refusal that is about the merchant
// credentials (see ErrCredentialsRejected), so that the budget error that
// may follow still tells the cause.
func (m *tokenManager) classify(err error) error {
	if errors.Is(err, ErrCredentialsRejected) {
		m.mu.Lock()
		m.refusal = err
		m.mu.Unlock()
	}
	return err
}

// credentialsRefused reports whether e is bKash refusing a grant or refresh
// because of the credentials: code 2001 (Invalid App Key), the gateway's
// 401/403 (a grant carries no token that could be the cause; the route
// error "Missing Authentication Token" excepted), or any bKash code whose
// message names a credential, such as 9999 "Username does not exist". It is
// computed from the exported fields, so that a copied or rebuilt *APIError
// answers the same.
func (e *APIError) credentialsRefused() bool {
	if e.Op != epGrant.op && e.Op != epRefresh.op {
		return false
	}
	switch {
	case e.Code == CodeInvalidAppKey:
		return true
	case e.Code == "":
		return (e.HTTPStatus == 401 || e.HTTPStatus == 403) && !strings.Contains(e.Message, "Missing Authentication Token")
	}
	msg := strings.ToLower(e.Message)
	for _, w := range credentialWords {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}

// credentialWords are the words of bKash messages that refuse credentials
// ("Username does not exist", "Invalid App Key", "Invalid username or
// password", ...).
var credentialWords = []string{"username", "user name", "password", "app key", "app_key", "appkey",
	"app secret", "app_secret", "secret", "credential", "unauthori", "authenticat"}

// budgetSlot is one grant/refresh request taken from the budget.
type budgetSlot struct {
	at time.Time // the in-process record
	id string    // the store's record; "" when the store keeps none
}

// spend takes one grant/refresh request from the budget, in the process and
// in the store when it keeps one, or says when the next one will be
// allowed. Failed requests count too: bKash counts them.
func (m *tokenManager) spend(ctx context.Context) (budgetSlot, error) {
	now := m.clock()
	m.mu.Lock()
	keep := m.calls[:0]
	for _, at := range m.calls {
		if now.Sub(at) < budgetWindow {
			keep = append(keep, at)
		}
	}
	m.calls = keep
	if len(m.calls) >= m.budget {
		err := m.budgetErrorLocked("in this process", m.calls[0].Add(budgetWindow), now)
		m.mu.Unlock()
		return budgetSlot{}, err
	}
	m.calls = append(m.calls, now)
	m.mu.Unlock()
	slot := budgetSlot{at: now}
	if m.budgets == nil {
		return slot, nil
	}
	id, retryAt, err := m.budgets.TakeRenewal(ctx, m.key, m.budget, budgetWindow)
	switch {
	case err != nil:
		m.warn(ctx, "bkash token budget store failed; counting this process's requests only", err)
	case id == "":
		m.mu.Lock()
		m.dropCallLocked(now)
		err := m.budgetErrorLocked("across the processes sharing the token store", retryAt, now)
		m.mu.Unlock()
		return budgetSlot{}, err
	default:
		slot.id = id
	}
	return slot, nil
}

// giveBack returns slot to the budget: its request never left the process.
func (m *tokenManager) giveBack(ctx context.Context, slot budgetSlot) {
	m.mu.Lock()
	m.dropCallLocked(slot.at)
	m.mu.Unlock()
	if slot.id != "" {
		if err := m.budgets.ReturnRenewal(ctx, m.key, slot.id); err != nil {
			m.warn(ctx, "bkash token budget store failed to take back an unsent request", err)
		}
	}
}

func (m *tokenManager) dropCallLocked(at time.Time) {
	for i, c := range m.calls {
		if c.Equal(at) {
			m.calls = append(m.calls[:i], m.calls[i+1:]...)
			return
		}
	}
}

// budgetErrorLocked builds the ErrTokenBudgetExceeded error and holds the
// still-valid token in service until free.
func (m *tokenManager) budgetErrorLocked(where string, free, now time.Time) error {
	m.hold = free
	err := fmt.Errorf("%w: %d grant/refresh requests %s in the last hour already; the next is allowed at %s (in %s); nothing was sent",
		ErrTokenBudgetExceeded, m.budget, where, free.UTC().Format(time.RFC3339), free.Sub(now).Round(time.Second))
	if m.refusal != nil {
		err = fmt.Errorf("%w; the last renewal was refused: %w", err, m.refusal)
	}
	return err
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
		granted:   true,
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

// tokenRequest is the body of a grant or refresh request. Secret
// marshals as [REDACTED], so the secret's text is copied into these
// plain strings when the request is built.
type tokenRequest struct {
	AppKey       string `json:"app_key"`
	AppSecret    string `json:"app_secret"`
	RefreshToken string `json:"refresh_token,omitempty"`
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
