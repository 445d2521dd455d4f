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
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go"
)

// bKash blocks an app that sends more than two grant or refresh requests an
// hour, failed ones included. The SDK counts them in its process; every run
// of the command is a new process, so the command keeps the count in a file
// that every run of the user's on the machine shares: three `token check`
// runs, or a script retrying with a wrong password, send two requests and
// are then refused before anything is sent.
//
// The count fails closed: when it cannot be kept (no directory for it, a
// file in the way, a lock held by a stuck process), TakeRenewal refuses the
// request with an error that says why and matches
// bkash.ErrTokenBudgetExceeded, so that the SDK sends nothing rather than
// count the run's requests alone. It
// holds only times and random ids, so it is kept with --no-token-cache too.

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

// fileBudget keeps one app's grant and refresh requests in a file, changed
// only under an exclusive lock on a file beside it (lockFile), so that runs
// that start together cannot both take the last request. The file is named
// after the app key alone: bKash blocks the app, whichever username,
// environment flag or URL (another spelling, a proxy) a run used.
type fileBudget struct {
	dir    string // "" when the user has no directory for it: every request is refused
	appKey string
	now    func() time.Time

	mu      sync.Mutex
	waiting string // the lock file a request is waiting for, if one is
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
// time of a read and a write, so a longer wait means a stuck process or
// file system.
const lockWait = 10 * time.Second

// budgetDir is where the count is kept, the same for every run of the
// user's however it was started: %LOCALAPPDATA%\bkash on Windows (Git Bash
// and Cygwin set HOME, cmd.exe and Task Scheduler do not); elsewhere
// ~/.cache/bkash whatever XDG_CACHE_HOME says (a shell may set it, cron
// does not), and $XDG_CACHE_HOME/bkash only when there is no home. "" when
// none is known.
func (a *app) budgetDir() string { return budgetDir(runtime.GOOS, a.getenv) }

func budgetDir(goos string, getenv func(string) string) string {
	abs := func(p string) bool { return filepath.IsAbs(p) || (goos == "windows" && len(p) > 2 && p[1] == ':') }
	if d := getenv("LOCALAPPDATA"); d != "" && goos == "windows" && abs(d) {
		return filepath.Join(d, "bkash")
	}
	if home := getenv("HOME"); home != "" && abs(home) {
		return filepath.Join(home, ".cache", "bkash")
	}
	if x := getenv("XDG_CACHE_HOME"); x != "" && abs(x) {
		return filepath.Join(x, "bkash")
	}
	return ""
}

func (b *fileBudget) path() string {
	sum := sha256.Sum256([]byte("bkash-cli renewal count\x00" + b.appKey))
	return filepath.Join(b.dir, "budget-"+hex.EncodeToString(sum[:12])+".json")
}

func (b *fileBudget) setWaiting(lock string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting = lock
}

// waitingFor is the lock file a request is waiting for, or "".
func (b *fileBudget) waitingFor() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiting
}

// TakeRenewal implements bkash.TokenBudgetStore. The SDK's key is not
// used: the count is the app's (see fileBudget). When the count cannot be
// kept, the request is refused with an error matching both
// bkash.ErrTokenBudgetExceeded and errCountNotKept.
func (b *fileBudget) TakeRenewal(ctx context.Context, _ string, limit int, window time.Duration) (id string, retryAt time.Time, err error) {
	err = b.update(ctx, limit, func(reqs []budgetRecord, now time.Time) []budgetRecord {
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
	switch {
	case errors.Is(err, errNoBudgetDir):
		return "", time.Time{}, fmt.Errorf("%w: %w: %w", bkash.ErrTokenBudgetExceeded, errCountNotKept, err)
	case err != nil:
		return "", time.Time{}, fmt.Errorf("%w: %w in %s: %w", bkash.ErrTokenBudgetExceeded, errCountNotKept, b.path(), err)
	}
	return id, retryAt, nil
}

// ReturnRenewal implements bkash.TokenBudgetStore. When it fails (a count
// that cannot be read included: it is not rewritten then), the request
// stays counted, which errs on the safe side.
func (b *fileBudget) ReturnRenewal(ctx context.Context, _, id string) error {
	return b.update(ctx, -1, func(reqs []budgetRecord, _ time.Time) []budgetRecord {
		return slices.DeleteFunc(reqs, func(r budgetRecord) bool { return r.ID == id })
	})
}

var (
	// errCountNotKept marks a refusal because the count could not be kept.
	errCountNotKept = errors.New("the count of grant and refresh requests cannot be kept")
	// errNoBudgetDir is why a run that has nowhere to keep the count keeps none.
	errNoBudgetDir = errors.New("there is no directory to keep it in: HOME is not set or not an absolute path")
)

// update applies change to the count under the lock and writes the
// result (writeFileAtomic). change gets the
// requests oldest first; a request dated in the future (the clock was set
// back) is taken as made now, so that it still counts and leaves the window
// in time. A count that cannot be read (damaged by hand or by a disk) is
// taken as limit requests made when the file was last written, the worst
// it can have held, and is rewritten whole; with limit -1 (a request given
// back) it is an error instead.
func (b *fileBudget) update(ctx context.Context, limit int, change func([]budgetRecord, time.Time) []budgetRecord) error {
	if b.dir == "" {
		return errNoBudgetDir
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return err
	}
	path := b.path()
	b.setWaiting(path + ".lock")
	unlock, err := lockFile(ctx, path+".lock", lockWait)
	b.setWaiting("")
	if err != nil {
		return err
	}
	defer unlock()

	now := b.now().Round(0)
	var f budgetFile
	switch data, err := os.ReadFile(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if json.Unmarshal(data, &f) != nil || slices.ContainsFunc(f.Requests, func(r budgetRecord) bool { return r.ID == "" }) {
			if limit < 0 {
				return errors.New("the count cannot be read")
			}
			at := now
			if st, err := os.Stat(path); err == nil && st.ModTime().Before(now) {
				at = st.ModTime()
			}
			f.Requests = nil
			for i := range limit {
				f.Requests = append(f.Requests, budgetRecord{ID: "unreadable-" + string(rune('a'+i)), At: at})
			}
		}
	}
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
	return writeFileAtomic(b.dir, ".budget-*", data, path)
}

// writeFileAtomic writes data to path through a temporary file in dir
// (mode 0600), synced, then renamed over path, so that a reader never sees
// half a file and a run killed half-way, or a power cut, leaves the old one
// whole.
func writeFileAtomic(dir, pattern string, data []byte, path string) error {
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable where the system allows it (not on
	// Windows, where the rename is written through already).
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
