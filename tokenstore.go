// This file holds the interfaces through which processes share one token:
// TokenStore keeps the token (sealed, with WithTokenEncryption), TokenLocker
// and TokenLockExtender serialise renewals, TokenBudgetStore counts grant
// and refresh requests across processes. MemoryTokenStore implements all of
// them in memory, and tokenKey names the credentials' entry without
// revealing them.

package bkash

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

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
// name of their own derived from it. When TakeRenewal fails, the SDK logs it
// and falls back to the budget it keeps in the process. A store that would
// rather fail closed (it cannot count the request, and each process
// counting alone could exceed bKash's limit) returns an error that matches
// ErrTokenBudgetExceeded and says why, such as
//
//	fmt.Errorf("%w: the count is unreachable: %w", bkash.ErrTokenBudgetExceeded, err)
//
// The SDK then sends nothing and returns that error, with "nothing was sent"
// appended, to the call that needed the token; its text also reaches the
// log and the observer, so it must carry no secret.
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

// tokenKey is the store key: bkash:token:<env>:<16 hex of sha256(appKey|username)>.
// It identifies the credentials without revealing them.
func tokenKey(env Environment, creds Credentials) string {
	sum := sha256.Sum256([]byte(creds.AppKey + "|" + creds.Username))
	return "bkash:token:" + env.String() + ":" + hex.EncodeToString(sum[:8])
}
