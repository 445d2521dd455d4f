package redisstore

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	bkash "github.com/smartdairy/bkash-go"
)

// DefaultKeyPrefix is the prefix of every key the Store writes unless
// WithKeyPrefix says otherwise.
const DefaultKeyPrefix = "bkash:"

// sdkTokenNamespace is how the SDK's token keys begin
// ("bkash:token:<env>:<hash>"). The Store replaces it with its own prefix and
// a kind, so the default layout is exactly "bkash:token:<env>:<hash>" and a
// custom prefix namespaces everything.
const sdkTokenNamespace = "bkash:token:"

// Store keeps the bKash access token, the renewal lock, the renewal budget
// and webhook dedupe claims in Redis, so that every replica of a service
// shares one token and handles each bKash notification once. It implements
// bkash.TokenStore, bkash.TokenLocker, bkash.TokenLockExtender (the renewal
// lock is kept alive while its holder works), bkash.TokenBudgetStore (the
// fleet shares one renewal budget, which survives restarts) and the webhook
// DedupeStore. A Store is safe for concurrent use; create one per Redis
// client and share it.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	aead    cipher.AEAD
	timeout time.Duration
	id      string // this Store's identity, the prefix of its dedupe claims

	mu   sync.Mutex
	held map[string]string // lock key -> owner value, for the locks this Store holds
}

var (
	_ bkash.TokenStore        = (*Store)(nil)
	_ bkash.TokenLocker       = (*Store)(nil)
	_ bkash.TokenLockExtender = (*Store)(nil)
	_ bkash.TokenBudgetStore  = (*Store)(nil)
	_ bkash.DedupeStore       = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store) error

// WithKeyPrefix namespaces every key the Store writes (default "bkash:").
// Use a distinct prefix per application sharing one Redis. Keys are laid out
// as <prefix>token:<env>:<hash>, <prefix>lock:<env>:<hash>,
// <prefix>budget:<env>:<hash> and <prefix>webhook:<MessageId>.
func WithKeyPrefix(prefix string) Option {
	return func(s *Store) error {
		if strings.ContainsAny(prefix, " \t\r\n") {
			return fmt.Errorf("redisstore: WithKeyPrefix: %q contains white space", prefix)
		}
		s.prefix = prefix
		return nil
	}
}

// WithEncryption encrypts token blobs at rest with aead (for example
// AES-256-GCM from crypto/aes and crypto/cipher), so that a reader of the
// Redis data (a replica, a backup, a MONITOR session) does not see the
// id_token and refresh_token. The associated data is the SDK's key, which
// binds each blob to its credential set: a blob copied to another key does
// not decrypt. Every process sharing the keys must use the same AEAD key.
//
// bkash.WithTokenEncryption does the same inside the SDK, before the blob
// reaches the store. Use one or the other: both together work, but the
// second layer adds nothing. Lock values and dedupe claims are random
// identifiers and are never encrypted.
func WithEncryption(aead cipher.AEAD) Option {
	return func(s *Store) error {
		if aead == nil {
			return errors.New("redisstore: WithEncryption: nil cipher.AEAD")
		}
		if aead.NonceSize() < 12 {
			// Nonces are random: a shorter one repeats too soon.
			return fmt.Errorf("redisstore: WithEncryption: nonce size %d is too small for random nonces", aead.NonceSize())
		}
		s.aead = aead
		return nil
	}
}

// WithTimeout bounds each Redis command the Store sends by d, on top of the
// caller's context (default: no bound beyond the caller's context and the
// client's own ReadTimeout/WriteTimeout). go-redis honours a context deadline
// on a connection only when the client was built with
// ContextTimeoutEnabled: true; without it, the client's ReadTimeout (3s by
// default) is what bounds a hung server.
func WithTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d < 0 {
			return fmt.Errorf("redisstore: WithTimeout: negative duration %v", d)
		}
		s.timeout = d
		return nil
	}
}

// New returns a Store that talks to Redis through rdb: a *redis.Client, a
// Sentinel-backed *redis.Client (redis.NewFailoverClient), a
// *redis.ClusterClient or whatever redis.NewUniversalClient returns. Every
// operation touches a single key, so a Cluster needs no hash tags. New does
// not contact Redis; the first operation does.
func New(rdb redis.UniversalClient, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: New: nil redis client")
	}
	s := &Store{rdb: rdb, prefix: DefaultKeyPrefix, id: rand.Text(), held: map[string]string{}}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("redisstore: New: nil Option")
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ctx applies the Store's per-command timeout, if any.
func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout > 0 {
		return context.WithTimeout(ctx, s.timeout)
	}
	return ctx, func() {}
}

// redisKey maps one of the SDK's token keys to a Redis key of the given
// kind ("token", "lock" or "budget").
func (s *Store) redisKey(kind, key string) string {
	return s.prefix + kind + ":" + strings.TrimPrefix(key, sdkTokenNamespace)
}

// pxMillis turns ttl into the PX argument, rounding up so that a positive
// TTL never becomes "no expiry" or an error. A TTL below 1ms is refused:
// every key this Store writes must expire.
func pxMillis(op string, ttl time.Duration) (int64, error) {
	if ttl < time.Millisecond {
		return 0, fmt.Errorf("redisstore: %s: ttl %v is below Redis's 1ms resolution; every key must expire", op, ttl)
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond), nil
}

// setNX runs SET key value NX PX ttl and reports whether it set the key.
// go-redis re-sends a command whose connection broke after writing it, so a
// SET that was applied can come back as "not set"; value is unique to this
// call, so finding it in the key proves the SET was ours.
func (s *Store) setNX(ctx context.Context, key, value string, px int64) (bool, error) {
	err := s.rdb.Do(ctx, "SET", key, value, "PX", px, "NX").Err()
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, redis.Nil) {
		return false, err
	}
	cur, err := s.rdb.Get(ctx, key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil // it expired meanwhile; the caller may try again
	case err != nil:
		return false, err
	}
	return cur == value, nil
}

// String describes the Store without reaching Redis or printing its client's
// options (which may carry a password).
func (s *Store) String() string {
	return fmt.Sprintf("redisstore.Store{prefix:%q, encrypted:%t, timeout:%v}", s.prefix, s.aead != nil, s.timeout)
}
