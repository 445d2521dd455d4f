package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
)

// result is what one in-process run of the command produced.
type result struct {
	code   int
	stdout string
	stderr string
}

// runCLI runs the command in-process with env as its whole environment.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := run(context.Background(), args, getenv, &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// credsEnv returns an environment carrying creds, with HOME pointing at an
// empty directory so that no real config file is read.
func credsEnv(t *testing.T, c bkash.Credentials) map[string]string {
	return map[string]string{
		"HOME":             t.TempDir(),
		"BKASH_USERNAME":   c.Username,
		"BKASH_PASSWORD":   string(c.Password),
		"BKASH_APP_KEY":    c.AppKey,
		"BKASH_APP_SECRET": string(c.AppSecret),
	}
}

// decodeJSON decodes the stdout of a --json run into a map.
func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", s)
	}
	return m
}

// walk calls f for every command under c with its path of names.
func walk(c *command, names []string, f func(names []string, c *command)) {
	f(names, c)
	for _, s := range c.subs {
		walk(s, append(append([]string(nil), names...), s.name), f)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	walk(root, nil, func(names []string, c *command) {
		full := strings.TrimSpace("bkash " + strings.Join(names, " "))
		if c != root && c.summary == "" {
			t.Errorf("%s has no summary", full)
		}
		viaHelp := runCLI(t, nil, append([]string{"help"}, names...)...)
		viaFlag := runCLI(t, nil, append(names, "-h")...)
		viaLong := runCLI(t, nil, append(names, "--help")...)
		for _, r := range []result{viaHelp, viaFlag, viaLong} {
			if r.code != exitOK {
				t.Errorf("%s: help exit code %d, stderr %q", full, r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, "Usage: "+full) {
				t.Errorf("%s: help does not start with its usage line:\n%s", full, r.stdout)
			}
		}
		if diff := cmp.Diff(viaHelp.stdout, viaFlag.stdout); diff != "" {
			t.Errorf("%s: 'bkash help ...' and '-h' differ (-help +flag):\n%s", full, diff)
		}
		for _, s := range c.subs {
			if !strings.Contains(viaHelp.stdout, "  "+s.name+" ") {
				t.Errorf("%s: help does not list %s", full, s.name)
			}
		}
	})
}

func TestRootHelpDocumentsExitCodesAndCredentials(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "help")
	for _, want := range []string{"BKASH_USERNAME", "chmod 600", "never accepted as flags", "0  success", "1  bKash answered", "2  usage error", "3  outcome unknown", "4  any other failure", "--production", "--json", "--timeout", "--base-url", "--config"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("root help lacks %q", want)
		}
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	env := credsEnv(t, bkash.Credentials{Username: "u", Password: "p", AppKey: "k", AppSecret: "s"})
	tests := []struct {
		name   string
		args   []string
		stderr string // a piece of the expected message
	}{
		{"no command", nil, "Usage: bkash <command>"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown subcommand", []string{"payment", "frobnicate"}, `unknown command "frobnicate"`},
		{"group without subcommand", []string{"payment"}, "Usage: bkash payment <command>"},
		{"unknown flag", []string{"payment", "query", "--frob", "TR1"}, "flag provided but not defined: -frob"},
		{"missing argument", []string{"payment", "query"}, "missing argument: <paymentID>"},
		{"extra argument", []string{"payment", "query", "TR1", "TR2"}, `unexpected argument "TR2"`},
		{"sandbox and production", []string{"--sandbox", "--production", "payment", "query", "TR1"}, "exclude each other"},
		{"missing required flags", []string{"payment", "create", "--amount", "10"}, "missing required flag(s): --invoice, --payer-ref, --callback"},
		{"float amount", []string{"payment", "create", "--amount", "1e3", "--invoice", "I", "--payer-ref", "017", "--callback", "https://x.example/cb"}, `--amount "1e3"`},
		{"three decimals", []string{"payment", "create", "--amount", "1.005", "--invoice", "I", "--payer-ref", "017", "--callback", "https://x.example/cb"}, "at most two decimals"},
		{"negative amount", []string{"payment", "create", "--amount", "-5", "--invoice", "I", "--payer-ref", "017", "--callback", "https://x.example/cb"}, `--amount "-5"`},
		{"zero amount", []string{"payment", "create", "--amount", "0.00", "--invoice", "I", "--payer-ref", "017", "--callback", "https://x.example/cb"}, "more than zero"},
		{"bad intent", []string{"payment", "create", "--amount", "5", "--invoice", "I", "--payer-ref", "017", "--callback", "https://x.example/cb", "--intent", "steal"}, "--intent must be sale or authorization"},
		{"help for unknown command", []string{"help", "frobnicate"}, "unknown command"},
		{"bad timeout", []string{"--timeout", "soon", "payment", "query", "TR1"}, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, env, tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty on a usage error: %q", r.stdout)
			}
		})
	}
}

func TestFlagsMayFollowArguments(t *testing.T) {
	t.Parallel()
	fsArgs := [][]string{
		{"--json", "TR1", "--timeout", "5s"},
		{"TR1", "--json", "--timeout=5s"},
		{"--json", "--timeout", "5s", "--", "TR1"},
	}
	for _, args := range fsArgs {
		a := &app{}
		a.g.timeout = defaultTimeout
		fs := newTestFlagSet(a)
		pos, err := parseInterleaved(fs, args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if diff := cmp.Diff([]string{"TR1"}, pos); diff != "" {
			t.Errorf("%q: positional (-want +got):\n%s", args, diff)
		}
		if !a.g.json || a.g.timeout.String() != "5s" {
			t.Errorf("%q: flags not parsed: json=%v timeout=%v", args, a.g.json, a.g.timeout)
		}
	}
}

func TestCredentialsNeverComeFromFlags(t *testing.T) {
	t.Parallel()
	for _, flagName := range []string{"--password", "--app-secret", "--username", "--app-key"} {
		r := runCLI(t, map[string]string{"HOME": t.TempDir()}, "token", "check", flagName, "x")
		if r.code != exitUsage || !strings.Contains(r.stderr, "flag provided but not defined") {
			t.Errorf("%s: exit %d, stderr %q; want a usage error", flagName, r.code, r.stderr)
		}
	}
}

// writeConfig writes a config file with mode perm and returns its path.
func writeConfig(t *testing.T, dir string, perm os.FileMode, c bkash.Credentials) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"username": c.Username, "password": string(c.Password), "app_key": c.AppKey, "app_secret": string(c.AppSecret)})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile's mode is masked by umask
		t.Fatal(err)
	}
	return path
}

var fileCreds = bkash.Credentials{Username: "fileUser", Password: "filePassword123", AppKey: "fileAppKey", AppSecret: "fileAppSecret456"}

func TestConfigFileWithOpenPermissionsIsRefused(t *testing.T) {
	t.Parallel()
	for _, perm := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		path := writeConfig(t, t.TempDir(), perm, fileCreds)
		a := &app{getenv: func(string) string { return "" }}
		a.g.config = path
		_, err := a.credentials()
		if err == nil {
			t.Errorf("mode %04o: config accepted", perm)
			continue
		}
		for _, want := range []string{"too open", "chmod 600"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("mode %04o: error %q lacks %q", perm, err, want)
			}
		}
		if strings.Contains(err.Error(), string(fileCreds.Password)) {
			t.Errorf("error reveals the password: %q", err)
		}
	}
}

func TestConfigFileIsFoundAndRead(t *testing.T) {
	t.Parallel()
	for _, perm := range []os.FileMode{0o600, 0o400} {
		xdg := t.TempDir()
		writeConfig(t, filepath.Join(xdg, "bkash"), perm, fileCreds)
		home := t.TempDir()
		writeConfig(t, filepath.Join(home, ".config", "bkash"), perm, bkash.Credentials{Username: "homeUser", Password: "p", AppKey: "k", AppSecret: "s"})
		tests := []struct {
			name string
			env  map[string]string
			want string // username
		}{
			{"XDG_CONFIG_HOME", map[string]string{"XDG_CONFIG_HOME": xdg, "HOME": home}, "fileUser"},
			{"HOME", map[string]string{"HOME": home}, "homeUser"},
			{"environment wins over the default file", map[string]string{"HOME": home, "BKASH_USERNAME": "envUser", "BKASH_PASSWORD": "p", "BKASH_APP_KEY": "k", "BKASH_APP_SECRET": "s"}, "envUser"},
		}
		for _, tt := range tests {
			a := &app{getenv: func(k string) string { return tt.env[k] }}
			c, err := a.credentials()
			if err != nil {
				t.Errorf("%s (mode %04o): %v", tt.name, perm, err)
				continue
			}
			if c.Username != tt.want {
				t.Errorf("%s: username %q, want %q", tt.name, c.Username, tt.want)
			}
		}
		// --config wins over everything.
		a := &app{getenv: func(k string) string { return map[string]string{"BKASH_USERNAME": "envUser"}[k] }}
		a.g.config = filepath.Join(xdg, "bkash", "config.json")
		c, err := a.credentials()
		if err != nil || c != fileCreds {
			t.Errorf("--config: got %v, %v; want the file's credentials", c, err)
		}
	}
}

func TestCredentialErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"username": "u", "password": "hunter2secret", `), 0o600); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "unknown.json")
	if err := os.WriteFile(unknown, []byte(`{"username": "u", "pasword": "hunter2secret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	incomplete := filepath.Join(dir, "incomplete.json")
	if err := os.WriteFile(incomplete, []byte(`{"username": "u", "password": "hunter2secret", "app_key": "k"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		env    map[string]string
		config string
		want   string
	}{
		{"nothing configured", map[string]string{"HOME": dir}, "", "no credentials"},
		{"partial environment", map[string]string{"HOME": dir, "BKASH_USERNAME": "u", "BKASH_APP_KEY": "k"}, "", "BKASH_PASSWORD, BKASH_APP_SECRET not set"},
		{"missing --config file", map[string]string{"HOME": dir}, filepath.Join(dir, "nope.json"), "no such file"},
		{"malformed JSON", map[string]string{"HOME": dir}, bad, "not valid JSON"},
		{"misspelt key", map[string]string{"HOME": dir}, unknown, "expected keys"},
		{"missing key", map[string]string{"HOME": dir}, incomplete, "AppSecret"},
	}
	for _, tt := range tests {
		r := runCLI(t, tt.env, append([]string{"token", "check"}, configArgs(tt.config)...)...)
		if r.code != exitOther {
			t.Errorf("%s: exit %d, want %d", tt.name, r.code, exitOther)
		}
		if !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: stderr lacks %q:\n%s", tt.name, tt.want, r.stderr)
		}
		if strings.Contains(r.stderr, "hunter2secret") {
			t.Errorf("%s: stderr reveals the password:\n%s", tt.name, r.stderr)
		}
	}
}

func configArgs(path string) []string {
	if path == "" {
		return nil
	}
	return []string{"--config", path}
}

func newTestFlagSet(a *app) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.g.register(fs)
	return fs
}
