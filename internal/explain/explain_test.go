package explain

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
)

// docs/troubleshooting.md and names_gen.go are what go generate writes now.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	doc, err := os.ReadFile("../../docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(Document()), string(doc)); diff != "" {
		t.Errorf("docs/troubleshooting.md is stale; run go generate ./internal/explain (-generated +committed):\n%s", diff)
	}
	src, err := os.ReadFile("../../errors.go")
	if err != nil {
		t.Fatal(err)
	}
	names, err := Names(src)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("names_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(names, committed) {
		t.Errorf("internal/explain/names_gen.go is stale; run go generate ./internal/explain")
	}
}

func TestEveryCodeIsExplained(t *testing.T) {
	codes := bkash.ErrorCodes()
	if len(codes) < 89 {
		t.Fatalf("ErrorCodes() has %d codes", len(codes))
	}
	for _, e := range Codes() {
		if e.GoName == "" || e.Advice == "" || e.Means == "" || e.Class == "" {
			t.Errorf("%s: incomplete entry %+v", e.Key, e)
		}
		if e.Key != string(bkash.CodeSuccessful) && bkash.ErrorCode(e.Key).Class() != bkash.ClassUnknown && e.Advice == bkash.ClassUnknown.Advice() {
			t.Errorf("%s: known code with the unknown-code advice", e.Key)
		}
	}
	doc := string(Document())
	for _, want := range []string{
		"### 2056 Invalid Payment State", "### 2062 The payment has already been completed",
		"### 2079 Invalid app Token", "### 2117 The payment execution has already been completed",
		"### 9999 System Error", "### 503 System is undergoing maintenance",
		`### 403 {"message":"Missing Authentication Token"}`, `### 400 {"message":"Invalid request body"}`,
		`### 400 {"externalCode":"20xx"`, "### 401 ", "### 429 ",
		"errors.Is(err, bkash.CodeExecutionAlreadyCompleted)",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the guide lacks %q", want)
		}
	}
}

func TestLookup(t *testing.T) {
	titles := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Title)
		}
		return out
	}
	tests := map[string][]string{
		"2056":                         {"2056 Invalid Payment State"},
		" 2117 ":                       {"2117 The payment execution has already been completed"},
		"missing authentication token": {`403 {"message":"Missing Authentication Token"}`},
		"503":                          {"503 System is undergoing maintenance. Please try again later", `503 {"message":...} (gateway)`},
		"1234":                         nil,
		"":                             nil,
	}
	for q, want := range tests {
		if diff := cmp.Diff(want, titles(Lookup(q))); diff != "" {
			t.Errorf("Lookup(%q) (-want +got):\n%s", q, diff)
		}
	}
	if got := len(Lookup("403")); got != 2 {
		t.Errorf("Lookup(403) = %d entries, want 2", got)
	}
}
