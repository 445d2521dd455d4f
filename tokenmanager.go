// This file holds tokenManager, which gives every call of a Client its
// token. It keeps the current token and hands it out while it is fresh;
// when it is due, one renewal runs for all the goroutines that need it
// (singleflight), on a context of its own. A renewal first looks in the
// TokenStore, takes the store's renewal lock (tokenlock.go), and only then
// refreshes or grants (tokengrant.go) within the request budget
// (tokenbudget.go). When renewal fails, a token that is still valid stays
// in service; a token bKash rejected never does.

package bkash

import (
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/smartdairy/bkash-go/internal/transport"
)

// Renewal timing.
const (
	renewTimeout  = time.Minute      // the work of one renewal (lock held), detached from the callers
	refreshMargin = time.Minute      // do not present a refresh_token this close to its expiry
	failureHold   = 30 * time.Second // after a failed renewal, keep using a valid token this long
	maxRejected   = 8                // rejected id_tokens remembered
)

// tokenManager caches the client's token, renews it once for all goroutines
// and keeps grant/refresh calls within bKash's budget.
type tokenManager struct {
	c        *Client
	store    TokenStore
	locker   TokenLocker       // store, when it can lock; else nil
	extender TokenLockExtender // store, when it can extend its lock; else nil
	aead     cipher.AEAD       // nil: blobs are stored in clear
	key      string            // the store key (tokenKey)
	now      func() time.Time  // nil: the real clock (tests inject one)
	budget   *tokenBudget

	// Grant and refresh go out one request per transport call (tr makes a
	// single attempt): the manager retries them itself, taking every
	// request from the budget before it is sent.
	tr    *transport.Transport
	retry RetryPolicy

	// Timing of the renewal lock (tokenlock.go); constants but for tests.
	lockWaits []time.Duration
	lease     time.Duration
	lockTTL   time.Duration
	waitMax   time.Duration
	workMax   time.Duration

	sf singleflight.Group // one renewal at a time, shared by its waiters

	// mu guards the fields below. It is held only to read or set them:
	// never across a request, a store call or another lock.
	mu       sync.Mutex
	cur      *Token              // the token handed out; nil when none is usable
	latest   *Token              // newest token known, even rejected or expired: its refresh_token
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
		tr:        tr,
		retry:     cfg.retry,
		lockWaits: defaultLockWaits,
		lease:     lockLease,
		lockTTL:   lockTTL,
		waitMax:   lockWaitLimit,
		workMax:   renewTimeout,
	}
	m.locker, _ = cfg.store.(TokenLocker)
	m.extender, _ = cfg.store.(TokenLockExtender)
	m.budget = &tokenBudget{limit: cfg.budget, key: m.key, warn: m.warn}
	m.budget.store, _ = cfg.store.(TokenBudgetStore)
	return m
}

// token returns a token that is not yet due for renewal, renewing it when
// it is. Reading the cached token is a lock and a clock read, as in
// golang.org/x/oauth2's reuseTokenSource; unlike there, the lock is not held
// while renewing, so callers never queue behind a slow grant they do not
// need.
func (m *tokenManager) token(ctx context.Context) (*Token, error) {
	if t := m.current(); t != nil && m.fresh(t) {
		return t, nil
	}
	return m.renewShared(ctx)
}

// fresh reports whether t is not yet due for renewal. With the real clock
// it reads only the monotonic clock (refreshAt carries a monotonic reading,
// see Token.prepare): time.Now reads the wall clock as well, which costs
// twice as much, and every call of the client asks for its token.
func (m *tokenManager) fresh(t *Token) bool {
	if m.now == nil {
		return time.Until(t.refreshAt) > 0
	}
	return m.now().Before(t.refreshAt)
}

// current returns the token handed out, or nil when none is usable.
func (m *tokenManager) current() *Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
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

// renew is the single-flight body: store, lock (waiting while another
// process renews), store again, refresh or grant, save, swap.
func (m *tokenManager) renew(ctx context.Context) (*Token, error) {
	now := m.clock()
	m.mu.Lock()
	cur, hold := m.cur, m.hold
	m.mu.Unlock()
	if cur != nil && now.Before(cur.refreshAt) {
		return cur, nil // renewed by the flight that just ended
	}
	if cur != nil && now.Before(cur.ExpiresAt) && now.Before(hold) {
		return cur, nil // a renewal just failed; do not hammer bKash or the budget
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

// reject invalidates t after bKash refused it (401/403 or code 2079). Only
// the current token is dropped: a caller holding an older token must not
// discard a newer one. t is remembered so that a store that still holds it
// is not trusted again.
func (m *tokenManager) reject(t *Token) {
	if t == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.isRejectedLocked(t.IDToken) {
		m.rejected = append(m.rejected, sha256.Sum256([]byte(t.IDToken)))
		if len(m.rejected) > maxRejected {
			m.rejected = m.rejected[1:]
		}
	}
	if m.cur == t {
		m.cur = nil
	}
}

// isRejectedLocked reports whether bKash rejected the id_token id. m.mu
// must be held.
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

// adopt makes a token loaded from the store current.
func (m *tokenManager) adopt(ctx context.Context, t *Token) *Token {
	m.swap(t)
	m.report(ctx, "store", 0, nil, t)
	return t
}

// swap makes t the token handed out.
func (m *tokenManager) swap(t *Token) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cur = t
	m.latest = t
	m.hold = time.Time{}
	m.refusal = nil // a working token: an earlier refusal no longer explains a later one
}

// keepCurrent returns the current token if it is valid for at least life
// more and was not rejected, and holds renewals back for hold (renew
// returns it meanwhile); else nil.
func (m *tokenManager) keepCurrent(life, hold time.Duration) *Token {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.cur
	if cur == nil || !now.Add(life).Before(cur.ExpiresAt) || m.isRejectedLocked(cur.IDToken) {
		return nil
	}
	if m.hold.Before(now.Add(hold)) {
		m.hold = now.Add(hold)
	}
	return cur
}

// fallback keeps a still-valid token in service when renewal failed (bKash
// down, budget spent): the caller is better served by the old token for the
// minutes it has left than by an error. Renewal is not tried again for
// failureHold, so that a failing bKash is not asked on every call.
func (m *tokenManager) fallback(ctx context.Context, err error) (*Token, error) {
	cur := m.keepCurrent(time.Second, failureHold)
	if cur == nil {
		return nil, err
	}
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

// warn logs a failure that the manager works around.
func (m *tokenManager) warn(ctx context.Context, msg string, err error) {
	if m.c.logger != nil {
		m.c.logger.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("store_key", m.key), slog.String("error", err.Error()))
	}
}

// sleepCtx waits for d or until ctx ends, whichever is first.
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
