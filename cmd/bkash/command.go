package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Exit codes (documented in the package comment and in "bkash help").
const (
	exitOK      = 0
	exitBkash   = 1
	exitUsage   = 2
	exitUnknown = 3
	exitOther   = 4
)

// app is one invocation of the command.
type app struct {
	ctx    context.Context
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	g      globals

	// transport, when set, carries every request to bKash (tests observe
	// the traffic with it); nil means http.DefaultTransport.
	transport http.RoundTripper

	// budget is the renewal count of the client built last (budgetfile.go);
	// nil when none is kept.
	budget *fileBudget
}

func (a *app) roundTripper() http.RoundTripper {
	if a.transport != nil {
		return a.transport
	}
	return http.DefaultTransport
}

// globals are the flags every command accepts, before or after its name.
type globals struct {
	config       string
	sandbox      bool
	production   bool
	baseURL      string
	json         bool
	timeout      time.Duration
	noTokenCache bool
	allowHTTP    bool
}

const defaultTimeout = 30 * time.Second

// register defines the global flags on fs with their current values as
// defaults, so that a value given before the command name survives the
// command's own flag set.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.config, "config", g.config, "read credentials from `file` (default $XDG_CONFIG_HOME/bkash/config.json or ~/.config/bkash/config.json)")
	fs.BoolVar(&g.sandbox, "sandbox", g.sandbox, "use bKash's sandbox (the default)")
	fs.BoolVar(&g.production, "production", g.production, "use bKash's live environment (never the default)")
	fs.StringVar(&g.baseURL, "base-url", g.baseURL, "send requests to `url` instead of bKash's host (a proxy, or a fake bKash)")
	fs.BoolVar(&g.json, "json", g.json, "print machine-readable JSON on stdout")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "time limit for each call to bKash")
	fs.BoolVar(&g.noTokenCache, "no-token-cache", g.noTokenCache, "neither read nor write the cached token (~/.cache/bkash); the count of grants bKash allows is still kept")
	fs.BoolVar(&g.allowHTTP, "allow-http", g.allowHTTP, "allow a plain-http --base-url on a host other than loopback (a fake bKash in a container; never bKash's own hosts)")
}

// command is a node of the command tree: a group (with subs) or a leaf (with
// setup).
type command struct {
	name    string
	args    string // synopsis of the positional arguments, e.g. "<paymentID>"
	nargs   int    // exact number of positional arguments of a leaf
	summary string // one line for the listing
	detail  string // the help text after the synopsis
	// setup defines the command's own flags on fs and returns the function
	// that runs the command with its positional arguments.
	setup func(fs *flag.FlagSet) func(a *app, args []string) error
	subs  []*command
}

// usageError is a mistake in the command line; it exits with code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func (a *app) main(args []string) int {
	a.g.timeout = defaultTimeout
	fs := flag.NewFlagSet("bkash", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printHelp(a.stdout, nil, root)
			return exitOK
		}
		return a.usage([]*command{root}, err.Error())
	}
	rest := fs.Args()
	path := []*command{root}
	cmd := root
	for len(cmd.subs) > 0 {
		if len(rest) == 0 {
			// A group without its subcommand: show what it offers.
			a.printHelp(a.stderr, path[:len(path)-1], cmd)
			return exitUsage
		}
		name := rest[0]
		if strings.HasPrefix(name, "-") && name != "-" && !isHelpArg(name) {
			// Global flags between a group and its subcommand
			// ("bkash payment --json query X"), as after any name.
			gfs := flag.NewFlagSet(fullName(path), flag.ContinueOnError)
			gfs.SetOutput(io.Discard)
			a.g.register(gfs)
			if err := gfs.Parse(rest); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					a.printHelp(a.stdout, path[:len(path)-1], cmd)
					return exitOK
				}
				return a.usage(path, err.Error())
			}
			rest = gfs.Args()
			continue
		}
		if isHelpArg(name) {
			a.printHelp(a.stdout, path[:len(path)-1], cmd)
			return exitOK
		}
		if cmd == root && name == "help" {
			return a.help(rest[1:])
		}
		next := cmd.find(name)
		if next == nil {
			return a.usage(path, fmt.Sprintf("unknown command %q", name))
		}
		path = append(path, next)
		cmd = next
		rest = rest[1:]
	}
	return a.runLeaf(path, rest)
}

func isHelpArg(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

func (c *command) find(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

// runLeaf parses the leaf's flags (the global ones included), checks the
// positional arguments and runs it.
func (a *app) runLeaf(path []*command, args []string) int {
	cmd := path[len(path)-1]
	fs := flag.NewFlagSet(fullName(path), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runner := cmd.setup(fs)
	a.g.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printHelp(a.stdout, path[:len(path)-1], cmd)
			return exitOK
		}
		return a.usage(path, err.Error())
	}
	if len(pos) != cmd.nargs {
		switch {
		case len(pos) < cmd.nargs:
			return a.usage(path, "missing argument: "+cmd.args)
		default:
			return a.usage(path, fmt.Sprintf("unexpected argument %q", pos[cmd.nargs]))
		}
	}
	for i, p := range pos {
		if strings.TrimSpace(p) == "" {
			return a.usage(path, fmt.Sprintf("argument %d (%s) is empty", i+1, cmd.args))
		}
	}
	if a.g.sandbox && a.g.production {
		return a.usage(path, "--sandbox and --production exclude each other")
	}
	if a.g.timeout <= 0 {
		// A zero or negative limit would end every call before it starts.
		return a.usage(path, fmt.Sprintf("--timeout must be positive, not %s", a.g.timeout))
	}
	return a.finish(path, runner(a, pos))
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments ("payment query TR001 --json"). A "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// finish prints err (if any) and maps it to the exit code.
func (a *app) finish(path []*command, err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return a.usage(path, ue.msg)
	}
	return a.reportError(path, err)
}

// usage prints a command-line mistake and the synopsis of the command.
func (a *app) usage(path []*command, msg string) int {
	cmd := path[len(path)-1]
	fmt.Fprintf(a.stderr, "%s: %s\n", fullName(path), msg)
	fmt.Fprintf(a.stderr, "usage: %s\n", synopsis(path[:len(path)-1], cmd))
	fmt.Fprintf(a.stderr, "Run '%s -h' for help.\n", fullName(path))
	return exitUsage
}

func fullName(path []*command) string {
	names := make([]string, len(path))
	for i, c := range path {
		names[i] = c.name
	}
	return strings.Join(names, " ")
}

// synopsis is the one-line usage of cmd under parents.
func synopsis(parents []*command, cmd *command) string {
	name := fullName(append(append([]*command(nil), parents...), cmd))
	switch {
	case len(cmd.subs) > 0:
		return name + " <command> [flags]"
	case cmd.args != "":
		return name + " [flags] " + cmd.args
	}
	return name + " [flags]"
}

// help implements "bkash help [command...]".
func (a *app) help(names []string) int {
	path := []*command{}
	cmd := root
	for _, n := range names {
		next := cmd.find(n)
		if next == nil {
			fmt.Fprintf(a.stderr, "bkash help: unknown command %q\n", strings.Join(names, " "))
			return exitUsage
		}
		path = append(path, cmd)
		cmd = next
	}
	a.printHelp(a.stdout, path, cmd)
	return exitOK
}

// printHelp writes the help of cmd (under parents) to w.
func (a *app) printHelp(w io.Writer, parents []*command, cmd *command) {
	fmt.Fprintf(w, "Usage: %s\n\n", synopsis(parents, cmd))
	if cmd.detail != "" {
		fmt.Fprintf(w, "%s\n\n", strings.TrimSpace(cmd.detail))
	} else if cmd.summary != "" {
		fmt.Fprintf(w, "%s.\n\n", cmd.summary)
	}
	if len(cmd.subs) > 0 {
		fmt.Fprintln(w, "Commands:")
		width := 0
		for _, s := range cmd.subs {
			width = max(width, len(s.name))
		}
		for _, s := range cmd.subs {
			fmt.Fprintf(w, "  %-*s  %s\n", width, s.name, s.summary)
		}
		fmt.Fprintln(w)
	}
	if cmd.setup != nil {
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		cmd.setup(fs)
		if hasFlags(fs) {
			fmt.Fprintln(w, "Flags:")
			printFlags(w, fs)
			fmt.Fprintln(w)
		}
	}
	if cmd == root {
		fmt.Fprintln(w, "Global flags (accepted before or after any command):")
		gfs := flag.NewFlagSet("bkash", flag.ContinueOnError)
		g := globals{timeout: defaultTimeout}
		g.register(gfs)
		printFlags(w, gfs)
		fmt.Fprintln(w)
		fmt.Fprint(w, rootFooter)
		return
	}
	path := append(append([]*command(nil), parents...), cmd)
	fmt.Fprintf(w, "Global flags (--config, --sandbox, --production, --base-url, --json, --timeout,\n--no-token-cache, --allow-http) and exit codes: see 'bkash help'.")
	if len(cmd.subs) > 0 {
		fmt.Fprintf(w, " Run '%s <command> -h' for a command's flags.", fullName(path))
	}
	fmt.Fprintln(w)
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// printFlags lists the flags of fs in the "--name value  usage" form.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		head := "--" + f.Name
		if name != "" {
			head += " " + name
		}
		line := fmt.Sprintf("  %-24s %s", head, usage)
		if len(head) > 24 {
			line = fmt.Sprintf("  %s\n  %-24s %s", head, "", usage)
		}
		if def := f.DefValue; def != "" && def != "false" && def != "0" && def != "0s" {
			line += fmt.Sprintf(" (default %s)", def)
		}
		fmt.Fprintln(w, line)
	})
}

const rootFooter = `Credentials are read from the environment variables BKASH_USERNAME,
BKASH_PASSWORD, BKASH_APP_KEY and BKASH_APP_SECRET, or from a JSON config file
{"username": ..., "password": ..., "app_key": ..., "app_secret": ...} that only
its owner may read (chmod 600). They are never accepted as flags.

bKash blocks an app that grants tokens more than twice an hour, so the access
token is kept between runs in $XDG_CACHE_HOME/bkash (or ~/.cache/bkash),
encrypted with a key derived from the app secret and password, mode 0600.
"token check" and "validate" always grant a new one.

Exit codes:
  0  success
  1  bKash answered with an error (code and message printed), or a webhook
     message failed verification
  2  usage error
  3  outcome unknown: the request may have reached bKash; follow the printed
     advice before trying again
  4  any other failure (configuration, network error on a read, file I/O)
`
