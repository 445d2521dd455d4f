package main

import (
	"runtime/debug"
	"strings"
	"sync"
)

// cliVersion is the command's version as the go command recorded it in the
// binary, so that it cannot drift from the release it was built from:
//
//   - "v0.2.0" after go install github.com/smartdairy/bkash-go/cmd/bkash@v0.2.0
//     (or a pseudo-version for a commit between releases);
//   - "(devel) 1a2b3c4d5e6f 2026-12-05T23:00:00Z" (plus " modified" for
//     uncommitted changes) when built in a checkout with VCS stamping;
//   - "(devel)" when neither is known (go run, -buildvcs=false).
var cliVersion = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	return versionOf(info)
})

// versionOf is cliVersion for a given build.
func versionOf(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "(devel)"
	}
	parts := []string{"(devel)", rev[:min(12, len(rev))]}
	if at != "" {
		parts = append(parts, at)
	}
	if modified {
		parts = append(parts, "modified")
	}
	return strings.Join(parts, " ")
}

// userAgentVersion is v as one User-Agent product version token: "v0.2.0",
// or "devel" / "devel-1a2b3c4d5e6f" (parentheses would start a comment).
func userAgentVersion(v string) string {
	f := strings.Fields(v)
	if len(f) == 0 || f[0] != "(devel)" {
		return v
	}
	if len(f) > 1 {
		return "devel-" + f[1]
	}
	return "devel"
}
