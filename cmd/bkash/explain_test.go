package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// "bkash explain" prints exactly the guide's entries, without credentials.
func TestExplainPrintsTheGuidesEntry(t *testing.T) {
	t.Parallel()
	guide, err := os.ReadFile("../../docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	for q, heading := range map[string]string{
		"2056":                         "### 2056 Invalid Payment State\n",
		"2117":                         "### 2117 The payment execution has already been completed\n",
		"9999":                         "### 9999 System Error\n",
		"Missing Authentication Token": "### 403 {\"message\":\"Missing Authentication Token\"}\n",
		"invalid request body":         "### 400 {\"message\":\"Invalid request body\"}\n",
	} {
		r := runCLI(t, noCreds(t), "explain", q)
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("explain %q: exit %d, stderr %q", q, r.code, r.stderr)
			continue
		}
		if !strings.Contains(r.stdout, heading) {
			t.Errorf("explain %q lacks %q:\n%s", q, heading, r.stdout)
		}
		// Each printed entry is the guide's, word for word.
		for _, entry := range strings.SplitAfter(r.stdout, "\n\n###") {
			entry = strings.TrimSuffix(strings.TrimPrefix(entry, "###"), "\n###")
			if !strings.Contains(string(guide), "###"+entry) {
				t.Errorf("explain %q printed what docs/troubleshooting.md does not say:\n%s", q, entry)
			}
		}
	}
	r := runCLI(t, noCreds(t), "explain", "403")
	if n := strings.Count(r.stdout, "### 403 "); n != 2 {
		t.Errorf("explain 403 printed %d entries:\n%s", n, r.stdout)
	}
}

func TestExplainJSONAndUnknown(t *testing.T) {
	t.Parallel()
	r := runCLI(t, noCreds(t), "explain", "--json", "2079")
	var got []map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 1 {
		t.Fatalf("explain --json 2079: %v\n%s", err, r.stdout)
	}
	if got[0]["key"] != "2079" || got[0]["go_name"] != "CodeInvalidAppToken" || got[0]["class"] != "auth" || got[0]["advice"] == "" {
		t.Errorf("explain --json 2079 = %v", got[0])
	}
	r = runCLI(t, noCreds(t), "explain", "1234")
	want := `bkash explain: no entry for "1234": neither a code of bKash's table nor words of a gateway answer (see docs/troubleshooting.md)`
	if r.code != exitUsage || stderrLine(r) != want {
		t.Errorf("explain 1234: exit %d, stderr %q", r.code, r.stderr)
	}
}
