package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// budgetClock is a settable clock for fileBudget.
type budgetClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *budgetClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *budgetClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestFileBudgetCountsAcrossValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clock := &budgetClock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	// Two values on one directory stand for two runs of the command.
	a := &fileBudget{dir: dir, appKey: "app", now: clock.now}
	b := &fileBudget{dir: dir, appKey: "app", now: clock.now}

	take := func(fb *fileBudget, key string) (string, time.Time) {
		t.Helper()
		id, retryAt, err := fb.TakeRenewal(ctx, key, 2, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return id, retryAt
	}
	first, _ := take(a, "k")
	clock.add(10 * time.Minute)
	second, _ := take(b, "k")
	if first == "" || second == "" || first == second {
		t.Fatalf("ids %q and %q, want two different ones", first, second)
	}
	clock.add(10 * time.Minute)
	if id, retryAt := take(a, "k"); id != "" || !retryAt.Equal(time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("third request in the hour: id %q, retryAt %v; want refused until 11:00 (the first leaves the window)", id, retryAt)
	}

	// Another app has a count of its own; the SDK's key (which also names
	// the username and environment) does not split an app's count.
	if id, _ := take(&fileBudget{dir: dir, appKey: "other app", now: clock.now}, "k"); id == "" {
		t.Error("another app was refused")
	}
	if id, _ := take(a, "another SDK key"); id != "" {
		t.Error("another username or environment of the same app got a count of its own")
	}

	// A request given back (it never left) frees its place; an unknown id
	// is no error.
	if err := b.ReturnRenewal(ctx, "k", second); err != nil {
		t.Fatal(err)
	}
	if err := b.ReturnRenewal(ctx, "k", "unknown"); err != nil {
		t.Fatal(err)
	}
	third, _ := take(a, "k")
	if third == "" {
		t.Fatal("refused after a request was given back")
	}
	if id, _ := take(b, "k"); id != "" {
		t.Error("a fourth request was allowed")
	}

	// The first request leaves the window an hour after it was made.
	clock.add(40 * time.Minute) // 11:00
	if id, _ := take(b, "k"); id == "" {
		t.Error("refused an hour after the first request")
	}
	if id, retryAt := take(b, "k"); id != "" || !retryAt.Equal(time.Date(2026, 12, 6, 11, 20, 0, 0, time.UTC)) {
		t.Errorf("id %q, retryAt %v; want refused until 11:20", id, retryAt)
	}
}

func TestFileBudgetFutureRecordsCountAsNow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clock := &budgetClock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	fb := &fileBudget{dir: dir, appKey: "app", now: clock.now}
	for range 2 {
		if id, _, err := fb.TakeRenewal(ctx, "k", 2, time.Hour); err != nil || id == "" {
			t.Fatalf("id %q, err %v", id, err)
		}
	}
	// The clock is set back a day: the two requests still count, and leave
	// the window an hour after the new now, not a day and an hour.
	clock.add(-24 * time.Hour)
	id, retryAt, err := fb.TakeRenewal(ctx, "k", 2, time.Hour)
	if err != nil || id != "" {
		t.Fatalf("id %q, err %v; want refused", id, err)
	}
	if want := clock.now().Add(time.Hour); !retryAt.Equal(want) {
		t.Errorf("retryAt %v, want %v", retryAt, want)
	}
}

func TestFileBudgetUnreadableCountIsTakenAsFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, content := range []string{"", "{not json", `[]`, `{"requests":[{"at":"2026-12-06T09:59:00Z"}]}`, `{"requests":[{"id":"x","at":"yesterday"}]}`} {
		dir := t.TempDir()
		clock := &budgetClock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
		fb := &fileBudget{dir: dir, appKey: "app", now: clock.now}
		// A damaged count (a power cut, a hand edit) written at 09:30 is
		// taken as two requests made then, the worst it can have held.
		if err := os.WriteFile(fb.path(), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		written := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
		if err := os.Chtimes(fb.path(), written, written); err != nil {
			t.Fatal(err)
		}
		id, retryAt, err := fb.TakeRenewal(ctx, "k", 2, time.Hour)
		if id != "" || !retryAt.Equal(written.Add(time.Hour)) || err != nil {
			t.Errorf("count %q: id %q, retryAt %v, err %v; want refused until 10:30 by the count", content, id, retryAt, err)
		}
		// It was rewritten whole, and frees its requests an hour after.
		clock.add(30 * time.Minute)
		if id, _, err := fb.TakeRenewal(ctx, "k", 2, time.Hour); id == "" || err != nil {
			t.Errorf("count %q: refused at 10:30 (%v)", content, err)
		}
	}
}

// TestFileBudgetFailsClosed: when the count cannot be kept, a request is
// refused with an error that matches bkash.ErrTokenBudgetExceeded (the SDK
// then sends nothing, rather than count the run's requests alone) and says
// why.
func TestFileBudgetFailsClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blocked := func(t *testing.T, fb *fileBudget, want string) {
		t.Helper()
		id, _, err := fb.TakeRenewal(ctx, "k", 2, time.Hour)
		if id != "" || !errors.Is(err, bkash.ErrTokenBudgetExceeded) || !errors.Is(err, errCountNotKept) {
			t.Fatalf("id %q, err %v; want the count's refusal", id, err)
		}
		if !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("refusal %v, want one saying %q", err, want)
		}
	}
	t.Run("no directory", func(t *testing.T) {
		blocked(t, &fileBudget{appKey: "app", now: time.Now}, "HOME is not set")
	})
	t.Run("count is a directory", func(t *testing.T) {
		fb := &fileBudget{dir: t.TempDir(), appKey: "app", now: time.Now}
		if err := os.Mkdir(fb.path(), 0o700); err != nil {
			t.Fatal(err)
		}
		blocked(t, fb, "is a directory")
	})
	t.Run("directory is a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "bkash")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		blocked(t, &fileBudget{dir: file, appKey: "app", now: time.Now}, "not a directory")
	})
}

// TestFileBudgetGoroutinesTakeAtMostTheLimit races 32 values of one
// directory: the lock makes check and record one step, so exactly two
// requests are taken.
func TestFileBudgetGoroutinesTakeAtMostTheLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		taken int
	)
	for range 32 {
		wg.Go(func() {
			fb := &fileBudget{dir: dir, appKey: "app", now: time.Now}
			id, _, err := fb.TakeRenewal(context.Background(), "k", 2, time.Hour)
			if err != nil {
				t.Error(err)
			}
			if id != "" {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if taken != 2 {
		t.Errorf("%d requests taken by 32 concurrent runs, want 2", taken)
	}
}

// TestRunsShareTheRenewalBudget runs the real command: three token checks
// (each grants) in a row, then a script retrying with a wrong password.
// bKash would block the app at the third request of the hour; the command
// sends two and refuses the rest before anything is sent.
func TestRunsShareTheRenewalBudget(t *testing.T) {
	t.Parallel()
	creds := bkash.Credentials{Username: "shop-user", Password: "shop-password", AppKey: "shop-app-key", AppSecret: "shop-app-secret"}
	f := newFakeCLI(t, bkashtest.WithCredentials(creds))
	f.ok("token", "check")
	f.ok("token", "check", "--no-token-cache") // counted without a token cache too
	r := f.run("token", "check")
	if r.code != exitOther || !strings.Contains(r.stderr, "token renewal budget exceeded") || !strings.Contains(r.stderr, "share one count") {
		t.Errorf("third token check: exit %d, stderr %q; want 4 and the budget's refusal with its hint", r.code, r.stderr)
	}
	if n := f.srv.Grants(); n != 2 {
		t.Errorf("the server got %d grant requests, want 2", n)
	}
	// Commands that need no new token still work.
	id := f.createPayment("10")
	f.ok("payment", "query", id)

}

// TestFailedGrantsCountAcrossRuns: a script retrying with a wrong password
// sends two grants in the hour, which bKash refuses, and no more. The count
// is the app's (app key and username), whatever the password.
func TestFailedGrantsCountAcrossRuns(t *testing.T) {
	t.Parallel()
	creds := bkash.Credentials{Username: "shop-user", Password: "shop-password", AppKey: "shop-app-key", AppSecret: "shop-app-secret"}
	f := newFakeCLI(t, bkashtest.WithCredentials(creds))
	env := maps.Clone(f.env)
	env["BKASH_PASSWORD"] = "wrong"
	for i := range 4 {
		r := f.runEnv(env, "token", "check", "--json")
		var out struct{ Error errorBody }
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("run %d: %v\nstdout %q", i+1, err, r.stdout)
		}
		want := "bkash" // bKash's refusal of the credentials
		if i >= 2 {
			want = "other" // the budget's refusal, with nothing sent
		}
		if out.Error.Kind != want || (want == "other" && out.Error.Hint != budgetHint) {
			t.Errorf("run %d with a wrong password: %+v, want kind %s", i+1, out.Error, want)
		}
	}
	if got := f.srv.Received("token.grant"); got != 2 {
		t.Errorf("the server received %d grant requests, want 2", got)
	}
	// The right password is the same app: its count is spent too.
	if r := f.run("token", "check"); r.code != exitOther || !strings.Contains(r.stderr, "token renewal budget exceeded") {
		t.Errorf("right password after two failed grants: exit %d, stderr %q; want the budget's refusal", r.code, r.stderr)
	}
}

// TestBaseURLSpellingsShareTheCount: the same server reached through two
// spellings of its URL is one count, as bKash sees one app.
func TestBaseURLSpellingsShareTheCount(t *testing.T) {
	t.Parallel()
	creds := bkash.Credentials{Username: "shop-user", Password: "shop-password", AppKey: "shop-app-key", AppSecret: "shop-app-secret"}
	srv := bkashtest.NewServer(bkashtest.WithCredentials(creds))
	t.Cleanup(srv.Close)
	env := credsEnv(t, creds)
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/"
	for i, base := range []string{srv.URL, other, srv.URL, other} {
		r := runWithSpy(newSpy(), env, "--base-url", base, "token", "check")
		if wantOK := i < 2; (r.code == exitOK) != wantOK {
			t.Errorf("run %d on %s: exit %d, stderr %q", i+1, base, r.code, r.stderr)
		}
	}
	if n := srv.Grants(); n != 2 {
		t.Errorf("the server got %d grant requests, want 2", n)
	}
}

// TestConcurrentRunsShareTheRenewalBudget starts eight processes of the
// command at once, each granting a token: two reach the server.
func TestConcurrentRunsShareTheRenewalBudget(t *testing.T) {
	t.Parallel()
	creds := bkash.Credentials{Username: "shop-user", Password: "shop-password", AppKey: "shop-app-key", AppSecret: "shop-app-secret"}
	srv := bkashtest.NewServer(bkashtest.WithCredentials(creds))
	t.Cleanup(srv.Close)
	env := credsEnv(t, creds)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		exits    = map[int]int{}
		refusals int
	)
	for range 8 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "--base-url", srv.URL, "token", "check")
			cmd.Env = []string{"BKASH_TEST_RUN_MAIN=1"}
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			exits[code]++
			if code == exitOther && strings.Contains(stderr.String(), "token renewal budget exceeded") {
				refusals++
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff(map[int]int{exitOK: 2, exitOther: 6}, exits); diff != "" {
		t.Errorf("exit codes of 8 concurrent token checks (-want +got):\n%s", diff)
	}
	if refusals != 6 {
		t.Errorf("%d runs refused by the budget, want 6", refusals)
	}
	if n := srv.Grants(); n != 2 {
		t.Errorf("the server got %d grant requests, want 2", n)
	}
}

// TestFakeCredentialsKeepNoCount: the fake's published credentials were
// never issued by bKash, so runs with them are not counted (restarting
// `bkash fake` and trying it again is never refused) and write no count.
func TestFakeCredentialsKeepNoCount(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	for range 3 {
		f.ok("token", "check")
		f.ok("token", "check", "--no-token-cache")
	}
	if n := f.srv.Grants(); n != 6 {
		t.Errorf("%d grants, want 6", n)
	}
	files, _ := filepath.Glob(filepath.Join(f.env["HOME"], ".cache", "bkash", "budget-*"))
	if len(files) != 0 {
		t.Errorf("runs with the fake's credentials wrote %v", files)
	}
}

// TestLockDiesWithItsHolder kills a process that holds a count's lock: the
// system releases it, so the next run is not locked out. While the holder
// lives, a run waits, and gives up at its deadline or when cancelled.
func TestLockDiesWithItsHolder(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "budget-x.json.lock")
	cmd := holdLock(t, path)

	start := time.Now()
	if _, err := lockFile(context.Background(), path, 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("lock held elsewhere: err %v, want a timeout", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("gave up after %v, before its deadline", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled wait: err %v, want the context's", err)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	start = time.Now()
	unlock, err := lockFile(context.Background(), path, 5*time.Second)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	unlock()
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v to take a dead holder's lock", d)
	}
}

// TestBudgetDirIsOnePerUser: one user's runs find the count in one place
// however they were started: on Windows with or without HOME (Git Bash
// sets it, Task Scheduler does not), elsewhere with or without
// XDG_CACHE_HOME (a shell may set it, cron does not).
func TestBudgetDirIsOnePerUser(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	local := `C:\Users\shop\AppData\Local`
	tests := []struct {
		goos   string
		getenv func(string) string
		want   string
	}{
		{"windows", env("HOME", "C:/Users/shop", "LOCALAPPDATA", local), filepath.Join(local, "bkash")},
		{"windows", env("LOCALAPPDATA", local), filepath.Join(local, "bkash")},
		{"windows", env("HOME", "C:/Users/shop"), filepath.Join("C:/Users/shop", ".cache", "bkash")},
		{"linux", env("HOME", "/home/shop", "XDG_CACHE_HOME", "/home/shop/xdg"), "/home/shop/.cache/bkash"},
		{"linux", env("HOME", "/home/shop"), "/home/shop/.cache/bkash"},
		{"linux", env("XDG_CACHE_HOME", "/var/cache/shop"), "/var/cache/shop/bkash"},
		{"linux", env("HOME", "relative", "LOCALAPPDATA", "/x"), ""},
		{"darwin", env(), ""},
	}
	for i, tt := range tests {
		if got := budgetDir(tt.goos, tt.getenv); got != tt.want {
			t.Errorf("%d (%s): budgetDir = %q, want %q", i, tt.goos, got, tt.want)
		}
	}
}

// holdLock starts a process that holds the file lock at path until the test
// ends (a run stopped with Ctrl-Z, a hung NFS client, another tool).
func holdLock(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "BKASH_TEST_HOLD_LOCK="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("lock holder said %q, %v", line, err)
	}
	return cmd
}
