package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/smartdairy/bkash-go"
)

// bKash blocks an app that sends more than two grant or refresh requests an
// hour, failed ones included. The SDK counts them in its process; every run
// of the command is a new process, so the command keeps the count in the
// cache directory, where every run on the machine shares it: three `token
// check` runs, or a script retrying with a wrong password, send two
// requests and are then refused before anything is sent. The count holds
// only times and random ids, so it is kept with --no-token-cache too.

// budgetStore is the client's TokenStore: the token where it is cached (a
// cache file, or nowhere with --no-token-cache) and the renewal count in
// files (bkash.TokenBudgetStore).
type budgetStore struct {
	bkash.TokenStore
	*fileBudget
}

// noTokenStore keeps no token (--no-token-cache).
type noTokenStore struct{}

func (noTokenStore) Load(context.Context, string) ([]byte, error)              { return nil, nil }
func (noTokenStore) Save(context.Context, string, []byte, time.Duration) error { return nil }

// fileBudget keeps the grant and refresh requests of each token store key
// in a file of dir, changed only under an exclusive lock on a file beside
// it (lockFile), so that runs of the command that start together cannot
// both take the last request. The key names the app (app key and username)
// and the environment, not the URL: bKash counts an app's requests however
// they reach it (--base-url spelt another way, a proxy).
type fileBudget struct {
	dir string
	now func() time.Time
}

// budgetRecord is one request in the count.
type budgetRecord struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

type budgetFile struct {
	Requests []budgetRecord `json:"requests"`
}

// lockWait bounds the wait for another run's lock. A run holds it for the
// time of a read and a write, so a longer wait means a stuck file system.
const lockWait = 10 * time.Second

func (b *fileBudget) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(b.dir, "budget-"+hex.EncodeToString(sum[:12])+".json")
}

// TakeRenewal implements bkash.TokenBudgetStore.
func (b *fileBudget) TakeRenewal(ctx context.Context, key string, limit int, window time.Duration) (id string, retryAt time.Time, err error) {
	err = b.update(ctx, key, func(reqs []budgetRecord, now time.Time) []budgetRecord {
		reqs = slices.DeleteFunc(reqs, func(r budgetRecord) bool { return now.Sub(r.At) >= window })
		if len(reqs) >= limit {
			retryAt = reqs[0].At.Add(window)
			return reqs
		}
		var raw [12]byte
		_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
		id = hex.EncodeToString(raw[:])
		return append(reqs, budgetRecord{ID: id, At: now})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return id, retryAt, nil
}

// ReturnRenewal implements bkash.TokenBudgetStore.
func (b *fileBudget) ReturnRenewal(ctx context.Context, key, id string) error {
	return b.update(ctx, key, func(reqs []budgetRecord, _ time.Time) []budgetRecord {
		return slices.DeleteFunc(reqs, func(r budgetRecord) bool { return r.ID == id })
	})
}

// update applies change to the count of key under the lock and writes the
// result, through a temporary file and a rename, so that a run killed
// half-way leaves the old count whole. change gets the requests oldest
// first; a request dated in the future (the clock was set back) is taken
// as made now, so that it still counts and leaves the window in time.
func (b *fileBudget) update(ctx context.Context, key string, change func([]budgetRecord, time.Time) []budgetRecord) error {
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return err
	}
	path := b.path(key)
	unlock, err := lockFile(ctx, path+".lock", lockWait)
	if err != nil {
		return err
	}
	defer unlock()

	var f budgetFile
	switch data, err := os.ReadFile(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("renewal count %s: %w", path, err)
		}
	}
	now := b.now().Round(0)
	for i := range f.Requests {
		if f.Requests[i].At.After(now) {
			f.Requests[i].At = now
		}
	}
	slices.SortFunc(f.Requests, func(x, y budgetRecord) int { return x.At.Compare(y.At) })
	f.Requests = change(f.Requests, now)

	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(b.dir, ".budget-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
