//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package main

// The renewal count the runs of the command share (budgetfile.go,
// filelock*.go, tokencache.go), as an adversary, a crash and a careless user
// meet it: hostile or broken files in the cache directory, stuck lock
// holders, killed runs, concurrent runs, credentials and flags that could
// split one app's count, and secrets in the files; the SDK's retries inside
// a run, grants that never left, money commands refused by the count, the
// words and JSON of each refusal, the validation report, and symlinks. They
// began as two attacks on the first versions, which failed open or misled
// the user in eleven of these ways. They run where the count is kept (a
// system with flock). Every
// test uses credentials other than bkashtest.DefaultCredentials, so that the
// count is kept; the rule is bKash's: at most two grant or refresh requests
// an hour per app key, failed ones included.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

var countCreds = bkash.Credentials{
	Username:  "attack-user",
	Password:  "attack-password-S3CRET",
	AppKey:    "attack-app-key",
	AppSecret: "attack-app-secret-S3CRET",
}

func countServer(t *testing.T, opts ...bkashtest.Option) *bkashtest.Server {
	t.Helper()
	srv := bkashtest.NewServer(append([]bkashtest.Option{bkashtest.WithCredentials(countCreds)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// tokenRequests is what bKash counts against the app: every grant and
// refresh request received, refused and failed ones included.
func tokenRequests(srv *bkashtest.Server) int {
	return srv.Received("token.grant") + srv.Received("token.refresh")
}

// countPath is the count file of creds under home: one per app key
// (fileBudget).
func countPath(home string, creds bkash.Credentials) string {
	return (&fileBudget{dir: filepath.Join(home, ".cache", "bkash"), appKey: creds.AppKey}).path()
}

// inProcess runs the command in this process against base.
func inProcess(env map[string]string, base string, args ...string) result {
	return runWithSpy(newSpy(), env, append([]string{"--base-url", base}, args...)...)
}

// tokenChecks runs n token checks against base in this process and
// returns what they printed on stderr.
func tokenChecks(env map[string]string, base string, n int) string {
	var said strings.Builder
	for range n {
		said.WriteString(inProcess(env, base, "token", "check").stderr)
	}
	return said.String()
}

// childCmd is the command as a process of its own (TestMain).
func childCmd(env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = []string{"BKASH_TEST_RUN_MAIN=1"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

type childResult struct {
	result
	took time.Duration
}

// runChild runs the command as a process, killed after a minute.
func runChild(t *testing.T, env map[string]string, args ...string) childResult {
	t.Helper()
	cmd := childCmd(env, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Error(err)
	}
	return childResult{result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}, time.Since(start)}
}

// TestCountPathIsTheOneUsed checks the helper the other tests rely on:
// a token check writes the count where countPath says.
func TestCountPathIsTheOneUsed(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	if r := inProcess(env, srv.URL, "token", "check"); r.code != exitOK {
		t.Fatalf("token check: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(countPath(env["HOME"], countCreds)); err != nil {
		t.Fatalf("the count is not where the tests look: %v", err)
	}
}

// TestBrokenCountFilesFailClosed: whatever is wrong with the count (a torn
// write after a power cut leaves an empty file, a stray edit, a directory
// or device where the file should be, the cache directory being a file),
// four token checks send at most two grants, and the user is told. (The
// first version failed open here: the SDK fell back to counting each run's
// own requests, and nothing was printed.)
func TestBrokenCountFilesFailClosed(t *testing.T) {
	t.Parallel()
	writeCount := func(content string) func(t *testing.T, home, count string) {
		return func(t *testing.T, home, count string) {
			if err := os.MkdirAll(filepath.Dir(count), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(count, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, home, count string)
	}{
		{"empty count (torn write)", writeCount("")},
		{"garbage count", writeCount("{not json")},
		{"count of another shape", writeCount(`{"requests":{"id":"x"}}`)},
		{"count with a bad date", writeCount(`{"requests":[{"id":"x","at":"yesterday"}]}`)},
		{"count is a directory", func(t *testing.T, home, count string) {
			if err := os.MkdirAll(count, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"count is a symlink to /dev/null", func(t *testing.T, home, count string) {
			if err := os.MkdirAll(filepath.Dir(count), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/dev/null", count); err != nil {
				t.Fatal(err)
			}
		}},
		{"lock is a directory", func(t *testing.T, home, count string) {
			if err := os.MkdirAll(count+".lock", 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"cache directory is a file", func(t *testing.T, home, count string) {
			if err := os.MkdirAll(filepath.Join(home, ".cache"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(home, ".cache", "bkash"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := countServer(t)
			env := credsEnv(t, countCreds)
			tc.setup(t, env["HOME"], countPath(env["HOME"], countCreds))
			said := tokenChecks(env, srv.URL, 4)
			if n := tokenRequests(srv); n > 2 {
				t.Errorf("four token checks sent %d grant requests in the hour, want at most 2 (the broken count is ignored)", n)
			}
			if !strings.Contains(said, "count") {
				t.Errorf("the user was told nothing about the broken count; stderr of the runs: %q", said)
			}
		})
	}
}

// TestNoHomeSendsNoGrant: with neither HOME nor XDG_CACHE_HOME set (a
// systemd service, `env -i`, some CI runners and containers) there is
// nowhere to keep the count, so no grant is sent. (The first version kept
// no count and sent one per run.)
func TestNoHomeSendsNoGrant(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	delete(env, "HOME")
	said := tokenChecks(env, srv.URL, 4)
	if n := tokenRequests(srv); n != 0 {
		t.Errorf("four token checks without HOME sent %d grant requests, want none; stderr %q", n, said)
	}
	if !strings.Contains(said, "HOME is not set") {
		t.Errorf("the runs did not say why: %q", said)
	}
}

// TestStuckLockHolderSendsNoGrant: a process holds the count's lock and
// does not let go (a run stopped with Ctrl-Z between lock and unlock, a
// hung file system, any tool that locks the file). Each run waits lockWait
// (10 s) and gives up without sending. (The first version then sent the
// grant anyway: three runs, three grants, nothing printed.)
func TestStuckLockHolderSendsNoGrant(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	holdLock(t, countPath(env["HOME"], countCreds)+".lock")
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out []childResult
	)
	for range 3 {
		wg.Go(func() {
			r := runChild(t, env, "--base-url", srv.URL, "token", "check")
			mu.Lock()
			out = append(out, r)
			mu.Unlock()
		})
	}
	wg.Wait()
	var b strings.Builder
	for _, r := range out {
		fmt.Fprintf(&b, "\n  exit %d after %v, stderr %q", r.code, r.took.Round(100*time.Millisecond), r.stderr)
		if r.code != exitOther || !strings.Contains(r.stderr, "is locked by another process") {
			t.Errorf("a run while the lock is held elsewhere: exit %d, stderr %q; want 4, naming the lock", r.code, r.stderr)
		}
	}
	if n := tokenRequests(srv); n != 0 {
		t.Errorf("three token checks while the count's lock is held elsewhere sent %d grant requests, want none:%s", n, b.String())
	}
}

// TestLockWaitHonorsTimeoutAndInterrupt: while another process holds
// the lock, --timeout and Ctrl-C end the wait, nothing is sent, and the run
// says it waited for a lock rather than that bKash's answer was lost.
func TestLockWaitHonorsTimeoutAndInterrupt(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	holdLock(t, countPath(env["HOME"], countCreds)+".lock")

	r := runChild(t, env, "--base-url", srv.URL, "--timeout", "1s", "token", "check")
	t.Logf("--timeout 1s with the lock held: exit %d after %v, stderr %q", r.code, r.took.Round(10*time.Millisecond), r.stderr)
	if r.took > 5*time.Second || r.code == exitOK {
		t.Errorf("--timeout 1s with the lock held: exit %d after %v; want a failure within a few seconds", r.code, r.took)
	}
	if r.code == exitUnknown || strings.Contains(r.stderr, "may have reached") || !strings.Contains(r.stderr, "waiting for the lock "+countPath(env["HOME"], countCreds)+".lock") {
		t.Errorf("waiting for a local file lock: exit %d, stderr %q; want it named, not an unknown outcome", r.code, r.stderr)
	}

	cmd := childCmd(env, "--base-url", srv.URL, "token", "check")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	time.Sleep(700 * time.Millisecond)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Ctrl-C while waiting for the lock took %v to stop the run", d)
	}
	if cmd.ProcessState.ExitCode() == exitOK {
		t.Errorf("interrupted run exited 0; stderr %q", stderr.String())
	}
	if n := tokenRequests(srv); n != 0 {
		t.Errorf("runs that gave up waiting for the lock sent %d grant requests", n)
	}
}

// TestUsernamesShareTheAppsCount: bKash's limit is the app's, so a script
// cycling through usernames for one app key (a typo corrected, another
// merchant user of the same app) shares one count. (The first version kept
// it per app key and username, the SDK's token key: two grants each.)
func TestUsernamesShareTheAppsCount(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	for _, user := range []string{"attack-user", "attack_user", "Attack-User"} {
		e := maps.Clone(env)
		e["BKASH_USERNAME"] = user
		for range 2 {
			inProcess(e, srv.URL, "token", "check")
		}
	}
	if n := tokenRequests(srv); n > 2 {
		t.Errorf("one app key, three usernames: %d grant requests in the hour, want at most 2", n)
	}
}

// TestEnvironmentFlagsShareTheAppsCount: with --base-url the environment
// flag says nothing about the server, so a proxy in front of production used
// once without --production and once with it is one count. (The first
// version kept one per environment label.)
func TestEnvironmentFlagsShareTheAppsCount(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	for _, flag := range []string{"--sandbox", "--production", "--sandbox", "--production"} {
		r := inProcess(env, srv.URL, flag, "token", "check")
		if r.code == exitUsage {
			t.Fatalf("%s --base-url refused: %s", flag, r.stderr)
		}
	}
	if n := tokenRequests(srv); n > 2 {
		t.Errorf("one server and app key, --sandbox and --production: %d grant requests, want at most 2", n)
	}
}

// TestRefreshAndGrantShareTheCount mixes grants, refreshes after the
// server expired the cached token, and --no-token-cache runs: the server
// gets at most two token requests, and the refusal comes before anything
// is sent.
func TestRefreshAndGrantShareTheCount(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	r := inProcess(env, srv.URL, "token", "check")
	if r.code != exitOK {
		t.Fatalf("token check: %d %s", r.code, r.stderr)
	}
	r = inProcess(env, srv.URL, "payment", "create", "--amount", "10", "--invoice", "INV-1",
		"--payer-ref", "01770618575", "--callback", "https://shop.example/cb", "--json")
	if r.code != exitOK {
		t.Fatalf("payment create: %d %s", r.code, r.stderr)
	}
	id, _ := decodeJSON(t, r.stdout)["payment_id"].(string)
	srv.ExpireTokens()
	// The cached token is refused (401): the run refreshes it, the second
	// request of the hour.
	if r := inProcess(env, srv.URL, "payment", "query", id); r.code != exitOK {
		t.Errorf("query after the token expired: exit %d, stderr %q", r.code, r.stderr)
	}
	if g, rf := srv.Received("token.grant"), srv.Received("token.refresh"); g+rf != 2 {
		t.Errorf("after a grant and an expired token: %d grants, %d refreshes, want 2 requests in all", g, rf)
	}
	for range 3 {
		srv.ExpireTokens()
		inProcess(env, srv.URL, "payment", "query", id)
		inProcess(env, srv.URL, "--no-token-cache", "payment", "query", id)
		inProcess(env, srv.URL, "token", "check")
	}
	if n := tokenRequests(srv); n > 2 {
		t.Errorf("grants %d + refreshes %d = %d token requests, want at most 2",
			srv.Received("token.grant"), srv.Received("token.refresh"), n)
	}
}

// TestKilledRunsLeaveAWholeCount: runs killed with SIGKILL while their
// grant is in flight (after the count was taken) leave a count that parses
// and still counts them; later runs are refused.
func TestKilledRunsLeaveAWholeCount(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	srv.Inject("token.grant", bkashtest.Fault{Times: 100, Delay: 3 * time.Second})
	env := credsEnv(t, countCreds)
	var cmds []*exec.Cmd
	for range 8 {
		cmd := childCmd(env, "--base-url", srv.URL, "token", "check")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Received("token.grant") < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the refused runs finish meanwhile
	for _, cmd := range cmds {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	count := countPath(env["HOME"], countCreds)
	data, err := os.ReadFile(count)
	if err != nil {
		t.Fatal(err)
	}
	var f budgetFile
	if err := json.Unmarshal(data, &f); err != nil || len(f.Requests) != 2 {
		t.Errorf("count after the kills: %q (%v), want two records", data, err)
	}
	srv.ClearFaults()
	tokenChecks(env, srv.URL, 3)
	if n := tokenRequests(srv); n > 2 {
		t.Errorf("%d grant requests after killed runs, want at most 2", n)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(count), ".budget-*"))
	if len(leftovers) > 0 {
		t.Logf("temporary files left by killed runs: %v", leftovers)
	}
}

// TestHostileCountRecords: records dated far in the future (a clock set
// back, or an edit) count as made now; records from year 1 leave the
// window; a count of 100,000 records is read and refused quickly; none of
// them crashes a run or lets a grant through.
func TestHostileCountRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		records []budgetRecord
		allowed bool
		retryAt time.Time
	}{
		{"far future", []budgetRecord{{"a", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}, {"b", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}}, false, now.Add(time.Hour)},
		{"year one", []budgetRecord{{"a", time.Time{}}, {"b", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}}, true, time.Time{}},
		{"duplicate ids", []budgetRecord{{"a", now.Add(-time.Minute)}, {"a", now.Add(-2 * time.Minute)}}, false, now.Add(58 * time.Minute)},
	}
	many := make([]budgetRecord, 100000)
	for i := range many {
		many[i] = budgetRecord{ID: fmt.Sprint(i), At: now.Add(-time.Duration(i%3000) * time.Second)}
	}
	cases = append(cases, struct {
		name    string
		records []budgetRecord
		allowed bool
		retryAt time.Time
	}{"100000 records", many, false, now.Add(time.Hour - 2999*time.Second)})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fb := &fileBudget{dir: t.TempDir(), appKey: "app", now: func() time.Time { return now }}
			data, _ := json.Marshal(budgetFile{Requests: tc.records})
			if err := os.WriteFile(fb.path(), data, 0o600); err != nil {
				t.Fatal(err)
			}
			// "Quickly" is relative to decoding the file once, measured
			// here: a loaded machine under -race slows both alike, and a
			// pass that grows with the square of the records does not.
			// The 3 s floor is for the small files, whose decoding takes
			// microseconds but whose write and fsync may not on a busy
			// disk.
			start := time.Now()
			_ = json.Unmarshal(data, new(budgetFile))
			decode := time.Since(start)
			start = time.Now()
			id, retryAt, err := fb.TakeRenewal(ctx, "k", 2, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 20*decode+3*time.Second {
				t.Errorf("took %v; decoding the file once took %v", d, decode)
			}
			if (id != "") != tc.allowed || (!tc.allowed && !retryAt.Equal(tc.retryAt)) {
				t.Errorf("id %q retryAt %v; want allowed %v, retryAt %v", id, retryAt, tc.allowed, tc.retryAt)
			}
		})
	}
}

// TestNothingSecretInTheCount: after grants, refusals and a wrong
// password, no credential or token is in the names or contents of the
// budget and lock files, nor in what the runs print.
func TestNothingSecretInTheCount(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	sp := newSpy()
	var printed strings.Builder
	run := func(env map[string]string, args ...string) {
		r := runWithSpy(sp, env, append([]string{"--base-url", srv.URL}, args...)...)
		printed.WriteString(r.stdout + r.stderr)
	}
	run(env, "token", "check")
	bad := maps.Clone(env)
	bad["BKASH_PASSWORD"] = "wrong-password-S3CRET"
	run(bad, "token", "check")
	run(bad, "token", "check", "--json")
	run(env, "token", "check", "--no-token-cache")
	secrets := append(sp.list(), string(countCreds.Password), string(countCreds.AppSecret), "wrong-password-S3CRET", countCreds.AppKey, countCreds.Username)
	dir := filepath.Join(env["HOME"], ".cache", "bkash")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "budget-") {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		for _, s := range secrets {
			if s != "" && (strings.Contains(e.Name(), s) || strings.Contains(string(data), s)) {
				t.Errorf("%s holds %q", e.Name(), s)
			}
		}
	}
	for _, s := range secrets[:len(secrets)-2] { // app key and username may be printed
		if s != "" && strings.Contains(printed.String(), s) {
			t.Errorf("a run printed the secret %q", s)
		}
	}
}

// TestNoTokenCacheRefusalHint: the third --no-token-cache run of the hour
// is refused, and is not told that a cached token is used meanwhile, which
// is false for a run that reads none.
func TestNoTokenCacheRefusalHint(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	var last result
	for range 3 {
		last = inProcess(env, srv.URL, "--no-token-cache", "payment", "query", "TR0000000000")
	}
	if n := tokenRequests(srv); n > 2 {
		t.Errorf("%d grant requests, want at most 2", n)
	}
	if !strings.Contains(last.stderr, "token renewal budget exceeded") {
		t.Fatalf("third --no-token-cache run: exit %d, stderr %q; want the budget's refusal", last.code, last.stderr)
	}
	if strings.Contains(last.stderr, "a cached token is used meanwhile") || !strings.Contains(last.stderr, "only commands that can use a token cached by an earlier run work") {
		t.Errorf("a --no-token-cache run is not told that only cached tokens work until then: %q", last.stderr)
	}
}

// TestFakeExemptionIsExact: only the fake's published credentials
// keep no count; real credentials that share any three of their four
// fields with them are counted.
func TestFakeExemptionIsExact(t *testing.T) {
	t.Parallel()
	d := bkashtest.DefaultCredentials
	variants := []bkash.Credentials{
		{Username: "real-user", Password: d.Password, AppKey: d.AppKey, AppSecret: d.AppSecret},
		{Username: d.Username, Password: "real-password", AppKey: d.AppKey, AppSecret: d.AppSecret},
		{Username: d.Username, Password: d.Password, AppKey: "real-app-key", AppSecret: d.AppSecret},
		{Username: d.Username, Password: d.Password, AppKey: d.AppKey, AppSecret: "real-app-secret"},
	}
	for i, creds := range variants {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			srv := bkashtest.NewServer(bkashtest.WithCredentials(creds))
			t.Cleanup(srv.Close)
			env := credsEnv(t, creds)
			for range 3 {
				inProcess(env, srv.URL, "token", "check")
				inProcess(env, srv.URL, "--no-token-cache", "token", "check")
			}
			if n := tokenRequests(srv); n != 2 {
				t.Errorf("credentials %d differing from the fake's in one field: %d grants, want 2", i, n)
			}
		})
	}
}

// TestConcurrentMixedRuns starts twelve processes at once: token
// checks, --no-token-cache token checks and payment queries with a token
// the server expired. At most two token requests reach the server, and
// the count file is whole afterwards.
func TestConcurrentMixedRuns(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	if r := inProcess(env, srv.URL, "token", "check"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	srv.ExpireTokens()
	argsets := [][]string{
		{"token", "check"},
		{"--no-token-cache", "token", "check"},
		{"payment", "query", "TR0000000000"},
		{"--no-token-cache", "payment", "query", "TR0000000000"},
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			runChild(t, env, append([]string{"--base-url", srv.URL}, argsets[i%len(argsets)]...)...)
		})
	}
	wg.Wait()
	if n := tokenRequests(srv); n > 2 {
		t.Errorf("grants %d + refreshes %d = %d, want at most 2", srv.Received("token.grant"), srv.Received("token.refresh"), n)
	}
	data, err := os.ReadFile(countPath(env["HOME"], countCreds))
	var f budgetFile
	if err != nil || json.Unmarshal(data, &f) != nil {
		t.Errorf("count after concurrent runs: %q, %v", data, err)
	}
}

// TestXDGCacheHomeSharesTheCount: the count is kept under HOME whatever
// XDG_CACHE_HOME says, so the same user's runs with and without it (an
// interactive shell exporting it, a cron job that does not) share it. (The
// first version kept it in the token cache directory, which follows
// XDG_CACHE_HOME: two counts.)
func TestXDGCacheHomeSharesTheCount(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	xdg := maps.Clone(env)
	xdg["XDG_CACHE_HOME"] = filepath.Join(env["HOME"], "xdg-cache")
	for range 2 {
		inProcess(env, srv.URL, "token", "check")
		inProcess(xdg, srv.URL, "token", "check")
	}
	if n := tokenRequests(srv); n > 2 {
		t.Errorf("one user and app, with and without XDG_CACHE_HOME: %d grant requests, want at most 2", n)
	}
}

// countRecords reads the count file of countCreds under home.
func countRecords(t *testing.T, home string) []budgetRecord {
	t.Helper()
	data, err := os.ReadFile(countPath(home, countCreds))
	if err != nil {
		t.Fatal(err)
	}
	var f budgetFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("count %q: %v", data, err)
	}
	return f.Requests
}

// hookTransport passes requests to http.DefaultTransport and calls after
// once the answer of the n-th grant or refresh request has come back.
type hookTransport struct {
	mu    sync.Mutex
	n     int
	seen  int
	after func()
}

func (h *hookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if strings.Contains(req.URL.Path, "/token/") {
		h.mu.Lock()
		h.seen++
		fire := h.seen == h.n
		h.mu.Unlock()
		if fire && h.after != nil {
			h.after()
		}
	}
	return resp, err
}

func runWithTransport(rt http.RoundTripper, env map[string]string, args ...string) result {
	var out, errOut strings.Builder
	a := &app{ctx: context.Background(), getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errOut, transport: rt}
	code := a.main(args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// TestGivingBackToAnUnreadableCountKeepsItFull: a request given back (its
// grant never connected) to a count that cannot be read leaves the count
// as it is, so the request stays counted, and the count is still taken as
// full until an hour after it was written. (The first version rewrote it
// empty: two more grants within the minute.)
func TestGivingBackToAnUnreadableCountKeepsItFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	fb := &fileBudget{dir: t.TempDir(), appKey: "app", now: func() time.Time { return now }}
	if err := os.WriteFile(fb.path(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	written := now.Add(-time.Minute) // damaged a minute ago
	if err := os.Chtimes(fb.path(), written, written); err != nil {
		t.Fatal(err)
	}
	// The run's grant could not connect: the SDK gives its slot back.
	if err := fb.ReturnRenewal(ctx, "k", "0123456789abcdef01234567"); err != nil {
		t.Logf("ReturnRenewal: %v", err)
	}
	allowed := 0
	for range 3 {
		if id, _, _ := fb.TakeRenewal(ctx, "k", 2, time.Hour); id != "" {
			allowed++
		}
	}
	if allowed > 0 {
		data, _ := os.ReadFile(fb.path())
		t.Errorf("a count damaged a minute ago allowed %d grants after a ReturnRenewal (count now %s); "+
			"want 0 until an hour after it was written, as TakeRenewal alone would", allowed, data)
	}
}

// TestRetryRefusedByABrokenCountKeepsTheFirstAnswer: a grant is answered
// 503 and, before the retry, the count can no longer be kept (its file
// replaced by a directory; in life a full disk or a stuck lock). The run
// reports bKash's answer to the grant it did send, then why the retry was
// not sent. (The first version said "sent no grant" although one was.)
func TestRetryRefusedByABrokenCountKeepsTheFirstAnswer(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	srv.Inject("token.grant", bkashtest.Fault{HTTPStatus: 503, Times: 5})
	env := credsEnv(t, countCreds)
	count := countPath(env["HOME"], countCreds)
	hook := &hookTransport{n: 1, after: func() {
		// The count cannot be kept from now on.
		_ = os.Remove(count)
		_ = os.Mkdir(count, 0o700)
	}}
	for _, jsonFlag := range []bool{false, true} {
		srv.Reset()
		srv.Inject("token.grant", bkashtest.Fault{HTTPStatus: 503, Times: 5})
		_ = os.RemoveAll(count)
		hook.mu.Lock()
		hook.seen = 0
		hook.mu.Unlock()
		args := []string{"--base-url", srv.URL, "token", "check"}
		if jsonFlag {
			args = append(args, "--json")
		}
		r := runWithTransport(hook, env, args...)
		sent := srv.Received("token.grant")
		if sent != 1 {
			t.Fatalf("json=%v: the server received %d grants, want 1 (the retry refused); exit %d, stderr %q", jsonFlag, sent, r.code, r.stderr)
		}
		t.Logf("json=%v: exit %d\nstdout %s\nstderr %s", jsonFlag, r.code, r.stdout, r.stderr)
		said := r.stderr
		if jsonFlag {
			var out struct{ Error errorBody }
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("--json stdout is not JSON: %v: %q", err, r.stdout)
			}
			said = out.Error.Message
		}
		if strings.Contains(said, "sent no grant or refresh request") {
			t.Errorf("json=%v: after one grant was sent and answered 503, the run says %q", jsonFlag, said)
		}
	}
}

// TestRelativeHomeIsNamed: HOME set to a relative path (HOME=. in a
// Dockerfile, a quoted ~) is refused as a place for the count, and the
// message says so rather than that HOME is unset.
func TestRelativeHomeIsNamed(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	env["HOME"] = "relative-home"
	r := inProcess(env, srv.URL, "token", "check")
	if n := tokenRequests(srv); n != 0 {
		t.Fatalf("%d grants with a relative HOME", n)
	}
	if r.code != exitOther {
		t.Errorf("exit %d, want %d", r.code, exitOther)
	}
	if strings.Contains(r.stderr, "HOME is not set") && !strings.Contains(r.stderr, "absolute") {
		t.Errorf("HOME=relative-home is reported as unset: %q", r.stderr)
	}
}

// TestValidateReportGivesTheCountsReason: when the count cannot be kept,
// the validation report (the file sent to bKash's portal) gives that reason,
// not the SDK's words, which blame two requests that were never made.
func TestValidateReportGivesTheCountsReason(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	out := filepath.Join(t.TempDir(), "report.md")
	delete(env, "HOME")
	r := inProcess(env, srv.URL, "validate", "--out", out, "--wait", "1s", "--poll", "100ms")
	if n := tokenRequests(srv); n != 0 {
		t.Fatalf("%d grants without HOME", n)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no report: %v; exit %d stderr %q", err, r.code, r.stderr)
	}
	t.Logf("stderr: %s", r.stderr)
	var failure string
	for _, line := range strings.Split(string(md), "\n") {
		if strings.Contains(line, "budget") || strings.Contains(line, "grant") {
			failure += line + "\n"
		}
	}
	t.Logf("report lines on the failure:\n%s", failure)
	if strings.Contains(string(md), "in the last hour already") || strings.Contains(string(md), "(in 0s)") {
		t.Errorf("the validation report says the budget was used up (%q), but no request was made: the count could not be kept (HOME unset)", strings.TrimSpace(failure))
	}
}

// TestRetryRefusedByAFullCountIsMentioned: two grants answered 503, and
// the third attempt refused by the count. The run reports bKash's answer,
// that the retry was refused by the count and when one is allowed, and the
// hint; the kind and exit code stay bKash's. (The first version printed only
// the 503.)
func TestRetryRefusedByAFullCountIsMentioned(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	srv.Inject("token.grant", bkashtest.Fault{HTTPStatus: 503, Times: 10})
	env := credsEnv(t, countCreds)
	for _, jsonFlag := range []bool{false, true} {
		e := maps.Clone(env)
		e["HOME"] = t.TempDir()
		before := srv.Received("token.grant")
		args := []string{"token", "check"}
		if jsonFlag {
			args = append(args, "--json")
		}
		r := inProcess(e, srv.URL, args...)
		// The SDK makes up to 3 attempts (DefaultRetryPolicy): two went
		// out, so the third was the one the count refused.
		if n := srv.Received("token.grant") - before; n != 2 {
			t.Fatalf("json=%v: %d grants sent, want 2 (each attempt counted, the third refused)", jsonFlag, n)
		}
		if recs := countRecords(t, e["HOME"]); len(recs) != 2 {
			t.Fatalf("json=%v: count holds %d records, want 2", jsonFlag, len(recs))
		}
		t.Logf("json=%v: exit %d\nstdout %s\nstderr %s", jsonFlag, r.code, r.stdout, r.stderr)
		said := r.stderr
		if jsonFlag {
			said = r.stdout
		}
		if !strings.Contains(said, "budget") && !strings.Contains(said, "count") {
			t.Errorf("json=%v: the run stopped retrying because the count is full, and does not say so: %q", jsonFlag, said)
		}
	}
}

// TestRetriesAfter5xxAreEachCounted: grants answered 502/503 are
// retried by the SDK inside one run; each attempt is taken from the file
// count before it leaves, so one run's retries and the next runs send two
// requests in all.
func TestRetriesAfter5xxAreEachCounted(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	srv.Inject("token.grant", bkashtest.Fault{HTTPStatus: 502, Times: 100})
	env := credsEnv(t, countCreds)
	for range 3 {
		inProcess(env, srv.URL, "token", "check")
		inProcess(env, srv.URL, "--no-token-cache", "payment", "query", "TR0000000000")
	}
	if n := tokenRequests(srv); n != 2 {
		t.Errorf("6 runs whose grants are answered 502: %d requests, want 2", n)
	}
	if recs := countRecords(t, env["HOME"]); len(recs) != 2 {
		t.Errorf("count holds %d records, want 2", len(recs))
	}
}

// TestUnsentGrantsAreGivenBack: a grant that cannot connect
// (nothing listens) never left, so the SDK gives its slot back and the
// file count ends empty: five such runs do not burn the hour, and the
// server, once up, gets its two grants. The runs use the command's own
// transport (a.transport nil): the tests' spy reads the request body
// before dialling, which the SDK rightly takes as "may have been sent", so
// through it these grants are counted (inProcess would fail this test for
// that reason alone).
func TestUnsentGrantsAreGivenBack(t *testing.T) {
	t.Parallel()
	dead := bkashtest.NewServer(bkashtest.WithCredentials(countCreds))
	deadURL := dead.URL
	dead.Close()
	env := credsEnv(t, countCreds)
	for range 5 {
		r := runWithTransport(nil, env, "--base-url", deadURL, "token", "check")
		if r.code == exitOK || r.code == exitUnknown {
			t.Errorf("grant to a closed port: exit %d, stderr %q", r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "budget") {
			t.Errorf("unsent grants were counted: %q", r.stderr)
		}
	}
	if recs := countRecords(t, env["HOME"]); len(recs) != 0 {
		t.Errorf("after five runs that could not connect the count holds %v, want none", recs)
	}
	srv := countServer(t)
	for range 3 {
		runWithTransport(nil, env, "--base-url", srv.URL, "token", "check", "--json")
	}
	if n := srv.Grants(); n != 2 {
		t.Errorf("server up: %d grants, want 2", n)
	}
}

// TestExecuteRefusedByTheCount: a payment execute that needs a
// grant when the hour's two are spent exits 4 (not 3: nothing moved),
// sends no execute, says the budget refused it and that nothing was sent,
// and --json is one valid JSON object of kind "other".
func TestExecuteRefusedByTheCount(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	id := approvedPayment(t, env, srv)
	inProcess(env, srv.URL, "--no-token-cache", "token", "check") // the second of the hour
	for _, args := range [][]string{
		{"--no-token-cache", "payment", "execute", id},
		{"--no-token-cache", "payment", "execute", id, "--json"},
		{"--no-token-cache", "payment", "finalize", id},
	} {
		r := inProcess(env, srv.URL, args...)
		if r.code != exitOther {
			t.Errorf("%q: exit %d, want %d; stderr %q", args, r.code, exitOther, r.stderr)
		}
		if strings.Contains(r.stderr, "OUTCOME UNKNOWN") || strings.Contains(r.stderr, "may have") {
			t.Errorf("%q: a budget refusal reported as an unknown outcome: %q", args, r.stderr)
		}
		if !strings.Contains(r.stderr, "nothing was sent") {
			t.Errorf("%q: does not say nothing was sent: %q", args, r.stderr)
		}
		if args[len(args)-1] == "--json" {
			m := decodeJSON(t, r.stdout)
			e, _ := m["error"].(map[string]any)
			if e["kind"] != "other" || e["exit_code"] != float64(exitOther) || e["hint"] != budgetHint {
				t.Errorf("--json: %v", m)
			}
		}
	}
	if n := srv.Received("payment.execute"); n != 0 {
		t.Errorf("%d executes sent", n)
	}
}

// TestExecuteWithRejectedTokenThenRefused: the cached token is
// refused by the gateway (401: bKash never processed the execute), the
// replay needs a refresh, and the count is full. Exit 4, not 3, and the
// payment is not executed.
func TestExecuteWithRejectedTokenThenRefused(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	id := approvedPayment(t, env, srv)
	inProcess(env, srv.URL, "--no-token-cache", "token", "check") // the second of the hour
	srv.ExpireTokens()
	r := inProcess(env, srv.URL, "payment", "execute", id)
	t.Logf("exit %d stderr %q", r.code, r.stderr)
	if r.code == exitUnknown || r.code == exitOK {
		t.Errorf("execute with a rejected token and a full count: exit %d; stderr %q", r.code, r.stderr)
	}
	if tokenRequests(srv) > 2 {
		t.Errorf("%d token requests", tokenRequests(srv))
	}
	if st := inProcessQueryStatus(t, srv, id); st == "Completed" {
		t.Errorf("payment executed although the run failed")
	}
}

func inProcessQueryStatus(t *testing.T, srv *bkashtest.Server, id string) string {
	t.Helper()
	p, ok := srv.Payment(id)
	if !ok {
		t.Fatalf("no payment %s", id)
	}
	return p.Status
}

// TestFailClosedRefusalIsValidJSONAndNamesThePath: a count that
// cannot be kept gives exit 4, one JSON object on stdout with kind
// "other", the count's path and the fail-closed hint, no "(in 0s)" or
// "requests ... already", and no secret.
func TestFailClosedRefusalIsValidJSONAndNamesThePath(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	count := countPath(env["HOME"], countCreds)
	if err := os.MkdirAll(count, 0o700); err != nil {
		t.Fatal(err)
	}
	r := inProcess(env, srv.URL, "token", "check", "--json")
	if r.code != exitOther {
		t.Errorf("exit %d, want %d", r.code, exitOther)
	}
	m := decodeJSON(t, r.stdout)
	e, _ := m["error"].(map[string]any)
	msg, _ := e["message"].(string)
	if e["kind"] != "other" || e["hint"] != budgetFailHint || !strings.Contains(msg, count) || strings.Contains(msg, "(in 0s)") {
		t.Errorf("--json refusal: %v", m)
	}
	for _, s := range []string{string(countCreds.Password), string(countCreds.AppSecret)} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("printed %q", s)
		}
	}
	if tokenRequests(srv) != 0 {
		t.Errorf("sent %d", tokenRequests(srv))
	}
}

// TestSymlinkedCountIsReplacedNotWrittenThrough: the count path is a
// symlink to a file the run must not change: the write replaces the link
// (rename), the target keeps its bytes. A symlink to a valid count
// elsewhere is read through (it is the user's own directory: they could as
// well delete the count), and the result is written in place of the link.
func TestSymlinkedCountIsReplacedNotWrittenThrough(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	count := countPath(env["HOME"], countCreds)
	if err := os.MkdirAll(filepath.Dir(count), 0o700); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(env["HOME"], "precious.txt")
	if err := os.WriteFile(precious, []byte("do not touch\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(precious, count); err != nil {
		t.Fatal(err)
	}
	tokenChecks(env, srv.URL, 3)
	if data, _ := os.ReadFile(precious); string(data) != "do not touch\n" {
		t.Errorf("the symlink's target was changed: %q", data)
	}
	if st, err := os.Lstat(count); err != nil || st.Mode()&os.ModeSymlink != 0 {
		t.Errorf("count is still a symlink (%v)", err)
	}
	// precious.txt was just written, so the unreadable count is "two
	// requests now": nothing was sent.
	if n := tokenRequests(srv); n != 0 {
		t.Errorf("%d grants through a count symlinked to a fresh non-count file, want 0", n)
	}
}

// TestSymlinkedLockIsFollowed documents (and accepts) that the lock
// path is opened with O_CREATE through a symlink: a dangling link makes the
// run create its target, empty and 0600, and lock it. Only someone who can
// write ~/.cache/bkash (mode 0700: the user) can plant the link, and they
// could do worse; the target is never truncated or written. Counting still
// works through it.
func TestSymlinkedLockIsFollowed(t *testing.T) {
	t.Parallel()
	srv := countServer(t)
	env := credsEnv(t, countCreds)
	count := countPath(env["HOME"], countCreds)
	if err := os.MkdirAll(filepath.Dir(count), 0o700); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(env["HOME"], "existing.txt")
	if err := os.WriteFile(existing, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(existing, count+".lock"); err != nil {
		t.Fatal(err)
	}
	tokenChecks(env, srv.URL, 3)
	if data, _ := os.ReadFile(existing); string(data) != "keep\n" {
		t.Errorf("lock target changed: %q", data)
	}
	if n := tokenRequests(srv); n != 2 {
		t.Errorf("%d grants, want 2", n)
	}

	// A dangling link: the target is created.
	env2 := credsEnv(t, countCreds)
	count2 := countPath(env2["HOME"], countCreds)
	if err := os.MkdirAll(filepath.Dir(count2), 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(env2["HOME"], "created-by-lock")
	if err := os.Symlink(target, count2+".lock"); err != nil {
		t.Fatal(err)
	}
	inProcess(env2, srv.URL, "token", "check")
	if st, err := os.Stat(target); err == nil {
		t.Logf("a dangling lock symlink made the run create %s (mode %v, %d bytes): accepted, see the comment", target, st.Mode().Perm(), st.Size())
	}
}

// TestOldMtimeFreesAnUnreadableCount pins an accepted limit: an unreadable
// count whose mtime is over an hour old (touch -d, cp -p, a restore from
// backup), or a valid empty one, frees the budget. Every record this program
// writes is at most as old as the write, and whoever can change the file
// could delete it, so the rule guards against accidents, not the user.
func TestOldMtimeFreesAnUnreadableCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, content := range []string{"garbage", `{}`, `{"requests":null}`, `{"requests":[]}`} {
		fb := &fileBudget{dir: t.TempDir(), appKey: "app", now: time.Now}
		for range 2 {
			if id, _, _ := fb.TakeRenewal(ctx, "k", 2, time.Hour); id == "" {
				t.Fatal("refused")
			}
		}
		if err := os.WriteFile(fb.path(), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(fb.path(), old, old); err != nil {
			t.Fatal(err)
		}
		if id, _, _ := fb.TakeRenewal(ctx, "k", 2, time.Hour); id == "" {
			t.Errorf("count replaced by %q with an old mtime: refused, want allowed", content)
		}
	}
}

// approvedPayment creates a payment through the command (its one grant of
// the hour) and approves it on srv, ready to execute.
func approvedPayment(t *testing.T, env map[string]string, srv *bkashtest.Server) string {
	t.Helper()
	r := inProcess(env, srv.URL, "payment", "create", "--amount", "10", "--invoice", "INV-1",
		"--payer-ref", "01770618575", "--callback", "https://shop.example/cb", "--json")
	if r.code != exitOK {
		t.Fatal(r.stderr)
	}
	id, _ := decodeJSON(t, r.stdout)["payment_id"].(string)
	if err := srv.Approve(id, "01770618575"); err != nil {
		t.Fatal(err)
	}
	return id
}
