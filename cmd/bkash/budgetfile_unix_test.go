//go:build unix

package main

// The renewal count the runs of the command share (budgetfile.go,
// filelock*.go, tokencache.go), as an adversary, a crash and a careless user
// meet it: hostile or broken files in the cache directory, stuck lock
// holders, killed runs, concurrent runs, credentials and flags that could
// split one app's count, and secrets in the files. They began as an attack
// on the first version, which failed open in five of these ways. Every
// test uses credentials other than bkashtest.DefaultCredentials, so that the
// count is kept; the rule is bKash's: at most two grant or refresh requests
// an hour per app key, failed ones included.

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
	"syscall"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

var attackCreds = bkash.Credentials{
	Username:  "attack-user",
	Password:  "attack-password-S3CRET",
	AppKey:    "attack-app-key",
	AppSecret: "attack-app-secret-S3CRET",
}

func attackServer(t *testing.T, opts ...bkashtest.Option) *bkashtest.Server {
	t.Helper()
	srv := bkashtest.NewServer(append([]bkashtest.Option{bkashtest.WithCredentials(attackCreds)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// tokenRequests is what bKash counts against the app: every grant and
// refresh request received, refused and failed ones included.
func tokenRequests(srv *bkashtest.Server) int {
	return srv.Received("token.grant") + srv.Received("token.refresh")
}

// attackCountPath is the count file of creds under home: one per app key
// (fileBudget).
func attackCountPath(home string, _ bkash.Environment, creds bkash.Credentials) string {
	return (&fileBudget{dir: filepath.Join(home, ".cache", "bkash"), appKey: creds.AppKey}).path()
}

// inProcess runs the command in this process against base.
func inProcess(env map[string]string, base string, args ...string) result {
	return runWithSpy(newSpy(), env, append([]string{"--base-url", base}, args...)...)
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

// holdLock starts a process that holds the file lock at path until the test
// ends (a run stopped with Ctrl-Z, a hung NFS client, another tool).
func holdLock(t *testing.T, path string) {
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
}

// TestCountPathIsTheOneUsed checks the helper the other tests rely on:
// a token check writes the count where attackCountPath says.
func TestCountPathIsTheOneUsed(t *testing.T) {
	t.Parallel()
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
	if r := inProcess(env, srv.URL, "token", "check"); r.code != exitOK {
		t.Fatalf("token check: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(attackCountPath(env["HOME"], bkash.Sandbox, attackCreds)); err != nil {
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
			srv := attackServer(t)
			env := credsEnv(t, attackCreds)
			tc.setup(t, env["HOME"], attackCountPath(env["HOME"], bkash.Sandbox, attackCreds))
			var said strings.Builder
			for range 4 {
				r := inProcess(env, srv.URL, "token", "check")
				said.WriteString(r.stderr)
			}
			if n := tokenRequests(srv); n > 2 {
				t.Errorf("four token checks sent %d grant requests in the hour, want at most 2 (the broken count is ignored)", n)
			}
			if !strings.Contains(said.String(), "count") {
				t.Errorf("the user was told nothing about the broken count; stderr of the runs: %q", said.String())
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
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
	delete(env, "HOME")
	var said strings.Builder
	for range 4 {
		r := inProcess(env, srv.URL, "token", "check")
		said.WriteString(r.stderr)
	}
	if n := tokenRequests(srv); n > 2 {
		t.Errorf("four token checks without HOME sent %d grant requests, want at most 2; stderr %q", n, said.String())
	}
}

// TestStuckLockHolderSendsNoGrant: a process holds the count's lock and
// does not let go (a run stopped with Ctrl-Z between lock and unlock, a
// hung file system, any tool that locks the file). Each run waits lockWait
// (10 s) and gives up without sending. (The first version then sent the
// grant anyway: three runs, three grants, nothing printed.)
func TestStuckLockHolderSendsNoGrant(t *testing.T) {
	t.Parallel()
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
	holdLock(t, attackCountPath(env["HOME"], bkash.Sandbox, attackCreds)+".lock")
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
	if n := tokenRequests(srv); n > 2 {
		var b strings.Builder
		for _, r := range out {
			fmt.Fprintf(&b, "\n  exit %d after %v, stderr %q", r.code, r.took.Round(100*time.Millisecond), r.stderr)
		}
		t.Errorf("three token checks while the count's lock is held elsewhere sent %d grant requests, want at most 2:%s", n, b.String())
	}
}

// TestLockWaitHonorsTimeoutAndInterrupt: while another process holds
// the lock, --timeout and Ctrl-C end the wait, nothing is sent, and the run
// says it waited for a lock rather than that bKash's answer was lost.
func TestLockWaitHonorsTimeoutAndInterrupt(t *testing.T) {
	t.Parallel()
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
	holdLock(t, attackCountPath(env["HOME"], bkash.Sandbox, attackCreds)+".lock")

	r := runChild(t, env, "--base-url", srv.URL, "--timeout", "1s", "token", "check")
	t.Logf("--timeout 1s with the lock held: exit %d after %v, stderr %q", r.code, r.took.Round(10*time.Millisecond), r.stderr)
	if r.took > 5*time.Second || r.code == exitOK {
		t.Errorf("--timeout 1s with the lock held: exit %d after %v; want a failure within a few seconds", r.code, r.took)
	}
	if r.code == exitUnknown || strings.Contains(r.stderr, "may have reached") {
		t.Errorf("waiting for a local file lock is reported as an unknown outcome: exit %d, stderr %q", r.code, r.stderr)
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
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
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
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
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
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
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
	srv := attackServer(t)
	srv.Inject("token.grant", bkashtest.Fault{Times: 100, Delay: 3 * time.Second})
	env := credsEnv(t, attackCreds)
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
	count := attackCountPath(env["HOME"], bkash.Sandbox, attackCreds)
	data, err := os.ReadFile(count)
	if err != nil {
		t.Fatal(err)
	}
	var f budgetFile
	if err := json.Unmarshal(data, &f); err != nil || len(f.Requests) != 2 {
		t.Errorf("count after the kills: %q (%v), want two records", data, err)
	}
	srv.ClearFaults()
	for range 3 {
		inProcess(env, srv.URL, "token", "check")
	}
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
			start := time.Now()
			id, retryAt, err := fb.TakeRenewal(ctx, "k", 2, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
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
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
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
	secrets := append(sp.list(), string(attackCreds.Password), string(attackCreds.AppSecret), "wrong-password-S3CRET", attackCreds.AppKey, attackCreds.Username)
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
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
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
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
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
	data, err := os.ReadFile(attackCountPath(env["HOME"], bkash.Sandbox, attackCreds))
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
	srv := attackServer(t)
	env := credsEnv(t, attackCreds)
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
