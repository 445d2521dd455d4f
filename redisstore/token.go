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
		if n < 0 {
			return fmt.Errorf("redisstore: unlock %s: %w", k, ErrLockLost)
		}
		return nil
	}, nil
}
