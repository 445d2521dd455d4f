package shop

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go"
)

// TokenStore keeps the bKash token in the shop's database, so that every
// process of the shop on that database (replicas behind a load balancer, a
// restarted process) shares one token, renews it once for all, and counts
// its grant and refresh requests with the others': bKash blocks an app that
// sends more than two an hour, and each process granting its own would
// break that with the third replica. It is what redisstore is for a fleet
// on Redis, on the database the shop already has.
//
// It implements bkash.TokenStore, bkash.TokenLockExtender (a renewal lock
// with a short lease the holder extends) and bkash.TokenBudgetStore. Times
// are the database's clock, so replicas whose clocks disagree still agree
// on when a lock or a request expires. On PostgreSQL its transactions are
// READ COMMITTED whatever the database's default, which the count and the
// lock rely on. The token is kept sealed: use it with TokenOptions, which
// adds the SDK's encryption with a key derived from the credentials.
//
// The count fails closed: when the database cannot count a request (it is
// down, a table is missing, a lock times out), TakeRenewal refuses it with
// an error that matches bkash.ErrTokenBudgetExceeded, so that the SDK sends
// nothing rather than count each process's requests alone (two each).
type TokenStore struct {
	s *Store

	mu     sync.Mutex
	owners map[string]string // store key -> the owner id of a lock this value holds
}

var (
	_ bkash.TokenStore        = (*TokenStore)(nil)
	_ bkash.TokenLockExtender = (*TokenStore)(nil)
	_ bkash.TokenBudgetStore  = (*TokenStore)(nil)
)

// TokenStore returns a TokenStore on the shop's database.
func (s *Store) TokenStore() *TokenStore {
	return &TokenStore{s: s, owners: map[string]string{}}
}

// tx runs fn in a transaction: READ COMMITTED on PostgreSQL, where a
// stricter default isolation would let each waiter for the renewal count's
// advisory lock count the rows of a snapshot taken before the previous
// holder committed; IMMEDIATE on SQLite (OpenStore), which holds the write
// lock throughout.
func (t *TokenStore) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	var opts *sql.TxOptions
	if t.s.d.name == "postgres" {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := t.s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// exec runs one statement in its own transaction (tx) and returns the
// number of rows it changed.
func (t *TokenStore) exec(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := t.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, t.sql(q), args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// TokenOptions are the client options that share the token through the
// shop's database: the store, and the SDK's encryption of the token with a
// key derived from the app secret and password, so that the database (a
// backup, a read replica, a DBA) never holds a usable token.
func (s *Store) TokenOptions(creds bkash.Credentials) ([]bkash.Option, error) {
	key := sha256.Sum256([]byte("bkash-go demo shop token\x00" + string(creds.AppSecret) + "\x00" + string(creds.Password)))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return []bkash.Option{bkash.WithTokenStore(s.TokenStore()), bkash.WithTokenEncryption(aead)}, nil
}

// nowMillis is the database's clock in Unix milliseconds, as SQL.
func (d dialect) nowMillis() string {
	if d.name == "postgres" {
		return "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// sql rebinds q after replacing {{now}} with the database's clock.
func (t *TokenStore) sql(q string) string {
	return t.s.d.rebind(strings.ReplaceAll(q, "{{now}}", t.s.d.nowMillis()))
}

// Load implements bkash.TokenStore.
func (t *TokenStore) Load(ctx context.Context, key string) ([]byte, error) {
	var blob string
	err := t.s.db.QueryRowContext(ctx, t.sql(`SELECT blob FROM bkash_tokens WHERE store_key = ? AND expires_at > {{now}}`), key).Scan(&blob)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token store: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		return nil, fmt.Errorf("token store: the saved token is not base64: %w", err)
	}
	return b, nil
}

// Save implements bkash.TokenStore.
func (t *TokenStore) Save(ctx context.Context, key string, blob []byte, ttl time.Duration) error {
	_, err := t.exec(ctx, `INSERT INTO bkash_tokens (store_key, blob, expires_at) VALUES (?, ?, {{now}} + ?)
ON CONFLICT (store_key) DO UPDATE SET blob = excluded.blob, expires_at = excluded.expires_at`,
		key, base64.StdEncoding.EncodeToString(blob), ttl.Milliseconds())
	if err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	return nil
}

// Lock implements bkash.TokenLocker: it takes the lock of key unless a
// holder's lease has not expired.
func (t *TokenStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	owner := randomID()
	n, err := t.exec(ctx, `INSERT INTO bkash_token_locks (store_key, owner, expires_at) VALUES (?, ?, {{now}} + ?)
ON CONFLICT (store_key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE bkash_token_locks.expires_at <= {{now}}`, key, owner, ttl.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("token store: %w", err)
	}
	if n == 0 {
		return nil, bkash.ErrLockNotAcquired
	}
	t.mu.Lock()
	t.owners[key] = owner
	t.mu.Unlock()
	return func(ctx context.Context) error {
		t.mu.Lock()
		if t.owners[key] == owner {
			delete(t.owners, key)
		}
		t.mu.Unlock()
		if _, err := t.exec(ctx, `DELETE FROM bkash_token_locks WHERE store_key = ? AND owner = ?`, key, owner); err != nil {
			return fmt.Errorf("token store: %w", err)
		}
		return nil
	}, nil
}

// ExtendLock implements bkash.TokenLockExtender.
func (t *TokenStore) ExtendLock(ctx context.Context, key string, ttl time.Duration) error {
	t.mu.Lock()
	owner, ok := t.owners[key]
	t.mu.Unlock()
	if !ok {
		return bkash.ErrLockNotAcquired
	}
	n, err := t.exec(ctx, `UPDATE bkash_token_locks SET expires_at = {{now}} + ?
WHERE store_key = ? AND owner = ? AND expires_at > {{now}}`, ttl.Milliseconds(), key, owner)
	if err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	if n == 0 {
		t.mu.Lock()
		if t.owners[key] == owner {
			delete(t.owners, key)
		}
		t.mu.Unlock()
		return bkash.ErrLockNotAcquired
	}
	return nil
}

// renewalLockSpace is the first half of the PostgreSQL advisory lock that
// serializes the renewal count of one store key (the second is the key's
// hash); the migrations' lock is a single bigint and never collides.
const renewalLockSpace = 0x626b6173 // "bkas"

// TakeRenewal implements bkash.TokenBudgetStore: in one transaction,
// serialized per key (an advisory lock on PostgreSQL, the write lock on
// SQLite), it drops the requests older than window and records one more
// unless limit remain. It fails closed (see TokenStore).
func (t *TokenStore) TakeRenewal(ctx context.Context, key string, limit int, window time.Duration) (id string, retryAt time.Time, err error) {
	err = t.tx(ctx, func(tx *sql.Tx) error {
		if t.s.d.name == "postgres" {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, renewalLockSpace, key); err != nil {
				return err
			}
		}
		var now int64
		if err := tx.QueryRowContext(ctx, t.sql(`SELECT {{now}}`)).Scan(&now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, t.sql(`DELETE FROM bkash_token_renewals WHERE store_key = ? AND at <= ?`), key, now-window.Milliseconds()); err != nil {
			return err
		}
		var (
			n      int
			oldest int64
		)
		if err := tx.QueryRowContext(ctx, t.sql(`SELECT COUNT(*), COALESCE(MIN(at), 0) FROM bkash_token_renewals WHERE store_key = ?`), key).Scan(&n, &oldest); err != nil {
			return err
		}
		if n >= limit {
			// When the oldest leaves the window, on this process's clock.
			retryAt = time.Now().Add(time.Duration(oldest+window.Milliseconds()-now) * time.Millisecond)
			return nil
		}
		id = randomID()
		_, err := tx.ExecContext(ctx, t.sql(`INSERT INTO bkash_token_renewals (store_key, id, at) VALUES (?, ?, ?)`), key, id, now)
		return err
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: the shop's database could not count the request: %w", bkash.ErrTokenBudgetExceeded, err)
	}
	return id, retryAt, nil
}

// ReturnRenewal implements bkash.TokenBudgetStore.
func (t *TokenStore) ReturnRenewal(ctx context.Context, key, id string) error {
	if _, err := t.exec(ctx, `DELETE FROM bkash_token_renewals WHERE store_key = ? AND id = ?`, key, id); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	return nil
}

// randomID is 96 random bits in hex.
func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
