package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// Every run of the command is a new process, and bKash blocks an app that
// grants or refreshes tokens more than twice an hour. So the command keeps
// its token between runs in a cache file, encrypted with a key derived from
// the app secret and password (the file is useless without them) and
// readable by its owner only.

// tokenCacheDir is $XDG_CACHE_HOME/bkash or ~/.cache/bkash; "" when neither
// is known.
func (a *app) tokenCacheDir() string {
	if x := a.getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "bkash")
	}
	home := a.getenv("HOME")
	if home == "" && runtime.GOOS == "windows" {
		home = a.getenv("LOCALAPPDATA")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".cache", "bkash")
}

// tokenCacheOptions returns the options that make a client use the token
// cache and the renewal count shared by every run (budgetfile.go). With
// fresh, the cache is not read (a new token is granted) but the new token is
// saved for the commands that follow. With --no-token-cache the token is
// neither read nor saved, and the count is still kept. Runs with the fake's
// published credentials (bkashtest.DefaultCredentials, which bKash never
// issued) keep no count, so that restarting `bkash fake` or trying it
// again is never refused; so do runs on a system without a file lock the
// command can use (lockSupported).
func (a *app) tokenCacheOptions(creds bkash.Credentials, fresh bool) ([]bkash.Option, error) {
	a.budget = nil
	if creds != bkashtest.DefaultCredentials && lockSupported {
		a.budget = &fileBudget{dir: a.budgetDir(), appKey: creds.AppKey, now: time.Now}
	}
	dir := a.tokenCacheDir()
	if a.g.noTokenCache || dir == "" {
		if a.budget == nil {
			return nil, nil
		}
		return []bkash.Option{bkash.WithTokenStore(budgetStore{noTokenStore{}, a.budget})}, nil
	}
	key := sha256.Sum256([]byte("bkash-cli token cache\x00" + string(creds.AppSecret) + "\x00" + string(creds.Password)))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	base := a.g.baseURL
	if base == "" {
		base = a.environment().BaseURL()
	}
	var store bkash.TokenStore = &fileTokenStore{dir: dir, base: base, fresh: fresh}
	if a.budget != nil {
		store = budgetStore{store, a.budget}
	}
	return []bkash.Option{bkash.WithTokenStore(store), bkash.WithTokenEncryption(aead)}, nil
}

// fileTokenStore is a bkash.TokenStore in one file per key and base URL.
type fileTokenStore struct {
	dir   string
	base  string // the API root: tokens of two servers never mix
	fresh bool   // do not read
}

type tokenCacheFile struct {
	Expires time.Time `json:"expires"`
	Blob    []byte    `json:"blob"` // sealed by the SDK (WithTokenEncryption)
}

func (s *fileTokenStore) path(key string) string {
	sum := sha256.Sum256([]byte(s.base + "\x00" + key))
	return filepath.Join(s.dir, "token-"+hex.EncodeToString(sum[:12])+".json")
}

// Load implements bkash.TokenStore. A missing, expired, unreadable or
// too-open file is a miss.
func (s *fileTokenStore) Load(_ context.Context, key string) ([]byte, error) {
	if s.fresh {
		return nil, nil
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || (st.Mode().Perm()&0o077 != 0 && runtime.GOOS != "windows") {
		return nil, nil
	}
	var c tokenCacheFile
	if err := json.NewDecoder(f).Decode(&c); err != nil || !time.Now().Before(c.Expires) {
		return nil, nil
	}
	return c.Blob, nil
}

// Save implements bkash.TokenStore (writeFileAtomic: a concurrent run
// never reads half a file).
func (s *fileTokenStore) Save(_ context.Context, key string, blob []byte, ttl time.Duration) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(tokenCacheFile{Expires: time.Now().Add(ttl), Blob: blob})
	if err != nil {
		return err
	}
	return writeFileAtomic(s.dir, ".token-*", b, s.path(key))
}
