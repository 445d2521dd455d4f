package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	bkash "github.com/smartdairy/bkash-go"
)

// ErrUndecryptable is returned by Load when a stored blob fails
// authentication: it was written with another AEAD key, without encryption,
// or altered. The SDK then renews the token and Save overwrites the blob.
var ErrUndecryptable = errors.New("redisstore: stored token blob cannot be decrypted (other key, not encrypted, or altered)")

// ErrLockLost is returned by an unlock function when the lock had expired
// and another process had taken it: the holder worked past the lock's TTL,
// so that process may have renewed the token at the same time. The other
// process's lock is left untouched.
var ErrLockLost = errors.New("redisstore: lock expired and was taken by another process before unlock")

// blobVersion starts every encrypted blob, so a future format can be told
// apart from this one (version, nonce, ciphertext+tag).
const blobVersion = 1

// Load returns the token blob stored under key, or (nil, nil) when there is
// none. With WithEncryption it returns the decrypted blob, or an error
// wrapping ErrUndecryptable.
func (s *Store) Load(ctx context.Context, key string) ([]byte, error) {
	if key == "" {
		return nil, errors.New("redisstore: Load: empty key")
	}
	k := s.redisKey("token", key)
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	blob, err := s.rdb.Get(ctx, k).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: load %s: %w", k, err)
	}
	if s.aead == nil {
		return blob, nil
	}
	plain, err := s.open(key, blob)
	if err != nil {
		return nil, fmt.Errorf("redisstore: load %s: %w", k, err)
	}
	return plain, nil
}

// Save stores blob under key for ttl (SET key blob PX ttl), encrypted when
// the Store has WithEncryption. ttl must be at least 1ms.
func (s *Store) Save(ctx context.Context, key string, blob []byte, ttl time.Duration) error {
	if key == "" {
		return errors.New("redisstore: Save: empty key")
	}
	px, err := pxMillis("Save", ttl)
	if err != nil {
		return err
	}
	k := s.redisKey("token", key)
	if s.aead != nil {
		blob = s.seal(key, blob)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.rdb.Do(ctx, "SET", k, blob, "PX", px).Err(); err != nil {
		return fmt.Errorf("redisstore: save %s: %w", k, err)
	}
	return nil
}

func (s *Store) seal(key string, plain []byte) []byte {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+s.aead.Overhead())
	out[0] = blobVersion
	rand.Read(out[1:]) // never fails (crypto/rand, Go 1.24+)
	return s.aead.Seal(out, out[1:1+ns], plain, []byte(key))
}

func (s *Store) open(key string, blob []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(blob) < 1+ns+s.aead.Overhead() || blob[0] != blobVersion {
		return nil, ErrUndecryptable
	}
	plain, err := s.aead.Open(nil, blob[1:1+ns], blob[1+ns:], []byte(key))
	if err != nil {
		return nil, ErrUndecryptable
	}
	return plain, nil
}

// unlockScript deletes the lock only while it still holds this owner's
// value, so a holder whose lock expired never deletes the lock that another
// process took since. It answers 1 (deleted), 0 (absent) or -1 (held by
// someone else).
var unlockScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if not v then return 0 end
if v == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return -1
`)

// Lock takes the cross-process token renewal lock for key (SET key owner NX
// PX ttl, with a random owner). It returns bkash.ErrLockNotAcquired when
// another process holds it. The lock expires after ttl whatever happens, so
// a process that dies while holding it blocks the others for at most ttl.
//
// The returned unlock function releases the lock by compare-and-delete (a
// Lua script): it deletes the lock only if this owner still holds it. It
// returns ErrLockLost when the lock had expired and another process took it,
// and nil when the lock had simply expired. Calling it again after a success
// does nothing.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	if key == "" {
		return nil, errors.New("redisstore: Lock: empty key")
	}
	px, err := pxMillis("Lock", ttl)
	if err != nil {
		return nil, err
	}
	k := s.redisKey("lock", key)
	owner := rand.Text()
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	ok, err := s.setNX(cctx, k, owner, px)
	if err != nil {
		return nil, fmt.Errorf("redisstore: lock %s: %w", k, err)
	}
	if !ok {
		return nil, bkash.ErrLockNotAcquired
	}
	s.mu.Lock()
	s.held[k] = owner
	s.mu.Unlock()
	var done atomic.Bool
	return func(ctx context.Context) error {
		if done.Load() {
			return nil
		}
		ctx, cancel := s.ctx(ctx)
		defer cancel()
		n, err := unlockScript.Run(ctx, s.rdb, []string{k}, owner).Int64()
		if err != nil {
			return fmt.Errorf("redisstore: unlock %s: %w", k, err)
		}
		done.Store(true)
		s.forget(k, owner)
		if n < 0 {
			return fmt.Errorf("redisstore: unlock %s: %w", k, ErrLockLost)
		}
		return nil
	}, nil
}

// forget drops this Store's record of holding lock k as owner.
func (s *Store) forget(k, owner string) {
	s.mu.Lock()
	if s.held[k] == owner {
		delete(s.held, k)
	}
	s.mu.Unlock()
}

// extendScript resets the lock's TTL only while it still holds this owner's
// value: a holder whose lock expired never revives a lock another process
// took since. It answers 1 (extended) or 0 (not ours any more).
var extendScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
`)

// ExtendLock sets the expiry of the renewal lock for key, which this Store
// took with Lock and has not released, to ttl from now (a Lua script:
// PEXPIRE only if the lock still holds this Store's owner value). The SDK
// calls it every few seconds while it renews, so that the lock it takes
// with a short TTL lasts as long as the holder works and no longer
// (bkash.TokenLockExtender).
//
// It returns an error matching both ErrLockLost and bkash.ErrLockNotAcquired
// when this Store does not hold the lock: it expired (the holder was cut off
// from Redis for longer than the TTL) and may have been taken by another
// process, or it was released. A Redis failure is returned as it is; the
// lock may still be held, and the SDK tries again at its next tick.
func (s *Store) ExtendLock(ctx context.Context, key string, ttl time.Duration) error {
	if key == "" {
		return errors.New("redisstore: ExtendLock: empty key")
	}
	px, err := pxMillis("ExtendLock", ttl)
	if err != nil {
		return err
	}
	k := s.redisKey("lock", key)
	s.mu.Lock()
	owner, ok := s.held[k]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("redisstore: extend %s: %w (%w)", k, ErrLockLost, bkash.ErrLockNotAcquired)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := extendScript.Run(ctx, s.rdb, []string{k}, owner, px).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: extend %s: %w", k, err)
	}
	if n != 1 {
		s.forget(k, owner)
		return fmt.Errorf("redisstore: extend %s: %w (%w)", k, ErrLockLost, bkash.ErrLockNotAcquired)
	}
	return nil
}

// takeScript records one renewal request in a sorted set scored by Redis's
// own clock (TIME, so that the fleet's clocks need not agree), after
// dropping the records older than the window, if fewer than the limit
// remain. It answers {1, 0} when recorded, or {0, ms} with the
// milliseconds until the oldest record leaves the window. The set expires
// a window after its newest record. Scripts that read TIME and then write
// need effects replication, the default since Redis 5 (and forced on 3.2-4
// by redis.replicate_commands).
var takeScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - window)
if redis.call("ZCARD", KEYS[1]) >= limit then
  local oldest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
  local wait = tonumber(oldest[2]) + window - now
  if wait < 1 then wait = 1 end
  return {0, wait}
end
redis.call("ZADD", KEYS[1], now, ARGV[3])
redis.call("PEXPIRE", KEYS[1], window)
return {1, 0}
`)

// TakeRenewal records one grant/refresh request for key in a sorted set of
// timestamps (<prefix>budget:<env>:<hash>) if fewer than limit were
// recorded within the last window, atomically (one Lua script, timed by
// Redis's clock), and returns the record's id. When limit requests are
// already recorded it records nothing and returns id "" and the time when
// the oldest leaves the window. The SDK calls it before every grant or
// refresh request, so every process of the fleet, and every restart of
// one, draws from the same budget (bkash.TokenBudgetStore).
func (s *Store) TakeRenewal(ctx context.Context, key string, limit int, window time.Duration) (string, time.Time, error) {
	if key == "" {
		return "", time.Time{}, errors.New("redisstore: TakeRenewal: empty key")
	}
	if limit < 1 {
		return "", time.Time{}, fmt.Errorf("redisstore: TakeRenewal: limit %d is below 1", limit)
	}
	px, err := pxMillis("TakeRenewal", window)
	if err != nil {
		return "", time.Time{}, err
	}
	k := s.redisKey("budget", key)
	id := rand.Text()
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	res, err := takeScript.Run(ctx, s.rdb, []string{k}, limit, px, id).Int64Slice()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("redisstore: take renewal %s: %w", k, err)
	}
	if len(res) != 2 {
		return "", time.Time{}, fmt.Errorf("redisstore: take renewal %s: unexpected answer %v", k, res)
	}
	if res[0] != 1 {
		return "", time.Now().Add(time.Duration(res[1]) * time.Millisecond), nil
	}
	return id, time.Time{}, nil
}

// ReturnRenewal deletes the record id from key's budget (ZREM): the request
// it was taken for never left the process.
func (s *Store) ReturnRenewal(ctx context.Context, key, id string) error {
	if key == "" || id == "" {
		return errors.New("redisstore: ReturnRenewal: empty key or id")
	}
	k := s.redisKey("budget", key)
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.rdb.ZRem(ctx, k, id).Err(); err != nil {
		return fmt.Errorf("redisstore: return renewal %s: %w", k, err)
	}
	return nil
}
