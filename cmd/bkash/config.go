package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
)

// configFile is the JSON config file. It holds credentials only: the
// environment (sandbox or production) is chosen on the command line, so that
// a config file can never silently point a command at live money.
type configFile struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	AppKey    string `json:"app_key"`
	AppSecret string `json:"app_secret"`
}

var envNames = [...]string{"BKASH_USERNAME", "BKASH_PASSWORD", "BKASH_APP_KEY", "BKASH_APP_SECRET"}

// defaultConfigPath is $XDG_CONFIG_HOME/bkash/config.json, or
// ~/.config/bkash/config.json when XDG_CONFIG_HOME is unset.
func (a *app) defaultConfigPath() string {
	if x := a.getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "bkash", "config.json")
	}
	home := a.getenv("HOME")
	if home == "" && runtime.GOOS == "windows" {
		home = a.getenv("USERPROFILE")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".config", "bkash", "config.json")
}

// credentials finds the merchant credentials: the file named by --config;
// else the BKASH_* variables when any of them is set (then all four must
// be); else the default config file.
func (a *app) credentials() (bkash.Credentials, error) {
	if a.g.config != "" {
		return readConfig(a.g.config)
	}
	vals := make([]string, len(envNames))
	var set, missing []string
	for i, n := range envNames {
		vals[i] = a.getenv(n)
		if vals[i] != "" {
			set = append(set, n)
		} else {
			missing = append(missing, n)
		}
	}
	if len(set) > 0 {
		if len(missing) > 0 {
			return bkash.Credentials{}, fmt.Errorf("credentials: %s set but %s not set", strings.Join(set, ", "), strings.Join(missing, ", "))
		}
		return bkash.Credentials{Username: vals[0], Password: bkash.Secret(vals[1]), AppKey: vals[2], AppSecret: bkash.Secret(vals[3])}, nil
	}
	path := a.defaultConfigPath()
	if path != "" {
		c, err := readConfig(path)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return c, err
		}
	}
	return bkash.Credentials{}, errors.New("no credentials: set BKASH_USERNAME, BKASH_PASSWORD, BKASH_APP_KEY and BKASH_APP_SECRET, " +
		"or write them to " + orDefault(path, "~/.config/bkash/config.json") + " (chmod 600) or a file named by --config")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readConfig reads a config file, refusing one that group or others can
// read or write, as ssh refuses a private key with open permissions.
func readConfig(path string) (bkash.Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return bkash.Credentials{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return bkash.Credentials{}, fmt.Errorf("config: %w", err)
	}
	if !st.Mode().IsRegular() {
		return bkash.Credentials{}, fmt.Errorf("config: %s is not a regular file", path)
	}
	// Windows has no permission bits to check.
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return bkash.Credentials{}, fmt.Errorf("config: permissions %04o for %s are too open: it holds secrets and must be readable by its owner only (run: chmod 600 %s)", perm, path, path)
	}
	var c configFile
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		// The decoder's message may quote the file; it holds secrets, so
		// name only the file and the kind of problem.
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return bkash.Credentials{}, fmt.Errorf("config: %s is not valid JSON (offset %d)", path, se.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return bkash.Credentials{}, fmt.Errorf("config: %s is not valid JSON (truncated)", path)
		case errors.As(err, &te):
			return bkash.Credentials{}, fmt.Errorf("config: %s: field %q must be a string", path, te.Field)
		}
		return bkash.Credentials{}, fmt.Errorf("config: %s: %v (expected keys: username, password, app_key, app_secret)", path, firstLine(err.Error()))
	}
	creds := bkash.Credentials{Username: c.Username, Password: bkash.Secret(c.Password), AppKey: c.AppKey, AppSecret: bkash.Secret(c.AppSecret)}
	if err := creds.Validate(); err != nil {
		// %v, not %w: an incomplete file is a configuration problem
		// (exit 4), not invalid input on the command line.
		return bkash.Credentials{}, fmt.Errorf("config: %s: %v", path, err)
	}
	return creds, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// environment returns the environment chosen by --sandbox/--production.
func (a *app) environment() bkash.Environment {
	if a.g.production {
		return bkash.Production
	}
	return bkash.Sandbox
}

// httpTimeout bounds one HTTP attempt, as the SDK's default client does
// (bKash recommends 30 seconds).
const httpTimeout = 30 * time.Second

// newClient builds the SDK client from the global flags and credentials.
// hc, when not nil, carries a recording transport (bkash validate). With
// freshToken the token cache is not read: the client grants a new token.
func (a *app) newClient(creds bkash.Credentials, hc *http.Client, freshToken bool, extra ...bkash.Option) (*bkash.Client, error) {
	opts := []bkash.Option{bkash.WithUserAgent("bkash-cli/" + userAgentVersion(cliVersion()))}
	if a.g.baseURL != "" {
		opts = append(opts, bkash.WithBaseURL(a.g.baseURL))
	}
	if a.g.allowHTTP {
		opts = append(opts, bkash.WithAllowHTTP())
	}
	if hc == nil && a.transport != nil {
		hc = &http.Client{Transport: a.transport, Timeout: httpTimeout}
	}
	if hc != nil {
		opts = append(opts, bkash.WithHTTPClient(hc))
	}
	cache, err := a.tokenCacheOptions(creds, freshToken)
	if err != nil {
		return nil, err
	}
	opts = append(append(opts, cache...), extra...)
	return bkash.NewClient(a.environment(), creds, opts...)
}

// client reads the credentials and builds the client, reusing a cached
// token.
func (a *app) client(extra ...bkash.Option) (*bkash.Client, error) {
	creds, err := a.credentials()
	if err != nil {
		return nil, err
	}
	return a.newClient(creds, nil, false, extra...)
}
