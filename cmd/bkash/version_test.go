package main

import (
	"context"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/smartdairy/bkash-go"
)

func TestVersionComesFromTheBuildInfo(t *testing.T) {
	t.Parallel()
	setting := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		info debug.BuildInfo
		want string
		ua   string
	}{
		{"installed at a release", debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}}, "v0.2.0", "v0.2.0"},
		{"installed at a commit", debug.BuildInfo{Main: debug.Module{Version: "v0.2.1-0.20261206010000-0123456789ab"}},
			"v0.2.1-0.20261206010000-0123456789ab", "v0.2.1-0.20261206010000-0123456789ab"},
		{"built in a checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: setting("vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-12-05T23:00:00Z", "vcs.modified", "false")},
			"(devel) 0123456789ab 2026-12-05T23:00:00Z", "devel-0123456789ab"},
		{"built in a modified checkout", debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: setting("vcs.revision", "0123456789abcdef0123", "vcs.modified", "true")},
			"(devel) 0123456789ab modified", "devel-0123456789ab"},
		{"nothing known", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "(devel)", "devel"},
		{"no main version", debug.BuildInfo{}, "(devel)", "devel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionOf(&tt.info); got != tt.want {
				t.Errorf("versionOf = %q, want %q", got, tt.want)
			}
			if got := userAgentVersion(tt.want); got != tt.ua {
				t.Errorf("userAgentVersion(%q) = %q, want %q", tt.want, got, tt.ua)
			}
		})
	}
}

func TestVersionCommandPrintsCLIAndSDKVersions(t *testing.T) {
	t.Parallel()
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"version", "--json"}, func(string) string { return "" }, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var v struct{ CLI, SDK, Go string }
	if err := json.Unmarshal([]byte(out.String()), &v); err != nil {
		t.Fatal(err)
	}
	// A test binary's main module has no version: "(devel)", with or
	// without VCS details.
	if !strings.HasPrefix(v.CLI, "(devel)") || v.SDK != bkash.Version || v.Go != runtime.Version() {
		t.Errorf("version --json = %+v, want cli (devel)..., sdk %s, go %s", v, bkash.Version, runtime.Version())
	}
	out.Reset()
	run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, &errb)
	if want := "bkash " + v.CLI + " (bkash-go " + bkash.Version + ", " + runtime.Version() + ")\n"; out.String() != want {
		t.Errorf("version = %q, want %q", out.String(), want)
	}
}
