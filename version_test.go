package bkash

import (
	"os"
	"regexp"
	"testing"
)

// The User-Agent carries Version, and bKash's support reads it: it must name
// the release the code is, so Version and the changelog move together (see
// RELEASING.md). Between releases Version names the newest release.
func TestVersionIsTheNewestReleaseInTheChangelog(t *testing.T) {
	b, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	// "## [0.2.0] - 2026-12-06": the first dated section is the newest.
	m := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\] - (\d{4}-\d{2}-\d{2})$`).FindSubmatch(b)
	if m == nil {
		// Only before the first release is cut (RELEASING.md, step 1).
		t.Skip(`CHANGELOG.md has no released section ("## [X.Y.Z] - YYYY-MM-DD") yet`)
	}
	if got := string(m[1]); got != Version {
		t.Errorf("Version = %q, but the newest release in CHANGELOG.md is %q (released %s)", Version, got, m[2])
	}
}
