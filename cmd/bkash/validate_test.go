package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// runWithSpy runs the command with every request passing through sp.
func runWithSpy(sp *spy, env map[string]string, args ...string) result {
	var out, errOut bytes.Buffer
	a := &app{ctx: context.Background(), getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errOut, transport: sp}
	code := a.main(args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// readReport reads report.md and report.json from dir.
func readReport(t *testing.T, dir string) (md, js []byte, rep report) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	js, err = os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	return md, js, rep
}

// field reads a string field of a recorded JSON body.
func bodyField(t *testing.T, body json.RawMessage, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	s, _ := m[key].(string)
	return s
}

func TestValidateFakeWritesTheGoLiveReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sp := newSpy()
	r := runWithSpy(sp, map[string]string{"HOME": t.TempDir()}, "validate", "--fake", "--out", filepath.Join(dir, "report.md"), "--json")
	if r.code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	summary := decodeJSON(t, r.stdout)
	if !strings.Contains(r.stderr, "Approve it in a browser") || !strings.Contains(r.stderr, "/checkout") {
		t.Errorf("the bkashURL was not printed:\n%s", r.stderr)
	}
	md, js, rep := readReport(t, dir)

	// Every required step, in the portal's order, with bKash's answer.
	var titles []string
	for _, s := range rep.Steps {
		titles = append(titles, s.Title)
		if s.Missing || s.Exchange == nil {
			t.Errorf("step %q missing", s.Title)
			continue
		}
		e := s.Exchange
		if e.Method != "POST" || !strings.HasPrefix(e.URL, "http://127.0.0.1:") || e.Status != 200 || len(e.Request) == 0 {
			t.Errorf("step %q: %s %s -> %d, request %s", s.Title, e.Method, e.URL, e.Status, e.Request)
		}
		if code := bodyField(t, e.Response, "statusCode"); code != "0000" {
			t.Errorf("step %q answered %q", s.Title, code)
		}
	}
	want := []string{"Grant Token", "Create Payment", "Execute Payment", "Query Payment", "Search Transaction", "Refund Transaction", "Refund Status"}
	if diff := cmp.Diff(want, titles); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if !rep.Passed || rep.Failure != "" {
		t.Errorf("report says passed=%v failure=%q", rep.Passed, rep.Failure)
	}
	if rep.Exchanges[0].Step != "Grant Token" {
		t.Errorf("first request is %q, want the grant", rep.Exchanges[0].Step)
	}
	steps := map[string]*exchange{}
	for _, s := range rep.Steps {
		steps[s.Title] = s.Exchange
	}
	if len(rep.Steps) != len(want) {
		t.Fatal("steps missing")
	}

	// One paymentID across create, execute and query (and the refund).
	id := bodyField(t, steps["Create Payment"].Response, "paymentID")
	ids := map[string]string{
		"report":          rep.PaymentID,
		"summary":         summary["payment_id"].(string),
		"execute request": bodyField(t, steps["Execute Payment"].Request, "paymentID"),
		"query request":   bodyField(t, steps["Query Payment"].Request, "paymentID"),
		"query response":  bodyField(t, steps["Query Payment"].Response, "paymentID"),
		"refund request":  bodyField(t, steps["Refund Transaction"].Request, "paymentID"),
		"status request":  bodyField(t, steps["Refund Status"].Request, "paymentID"),
	}
	for where, got := range ids {
		if id == "" || got != id {
			t.Errorf("paymentID in %s is %q, want %q (create's)", where, got, id)
		}
	}
	trx := bodyField(t, steps["Execute Payment"].Response, "trxID")
	if trx == "" || bodyField(t, steps["Search Transaction"].Request, "trxID") != trx || bodyField(t, steps["Refund Transaction"].Request, "trxID") != trx || rep.TrxID != trx {
		t.Errorf("trxID %q not used by search and refund", trx)
	}
	if got := bodyField(t, steps["Query Payment"].Response, "transactionStatus"); got != "Completed" {
		t.Errorf("query step shows %q, want the executed payment", got)
	}

	// The Markdown has the same steps, in order, each with title, URL,
	// request body and response.
	last := -1
	for i, title := range want {
		h := "## " + string(rune('1'+i)) + ". " + title + "\n"
		at := bytes.Index(md, []byte(h))
		if at <= last {
			t.Errorf("report.md: heading %q missing or out of order", h)
			continue
		}
		last = at
		section := md[at:]
		if end := bytes.Index(section[len(h):], []byte("\n## ")); end >= 0 {
			section = section[:len(h)+end]
		}
		for _, part := range []string{"**API title:** " + title, "**URL:** `POST ", "**Request body:**", "**Response** (HTTP 200)", `"statusCode": "0000"`} {
			if !bytes.Contains(section, []byte(part)) {
				t.Errorf("report.md section %q lacks %q", title, part)
			}
		}
	}
	if !bytes.Contains(md, []byte(id)) {
		t.Error("report.md does not name the paymentID")
	}

	// No credential or token anywhere.
	secrets := sp.list()
	if len(secrets) < 6 || len(sp.idTokens()) == 0 { // username, password, app key and secret, id and refresh token
		t.Fatalf("the spy saw only %d secrets; the leak check below would prove nothing", len(secrets))
	}
	for _, s := range secrets {
		if bytes.Contains(md, []byte(s)) || bytes.Contains(js, []byte(s)) {
			t.Errorf("the report contains a secret or token (%d chars, starts %q)", len(s), s[:min(4, len(s))])
		}
	}
	if !bytes.Contains(js, []byte(`"id_token": "[REDACTED]"`)) && !bytes.Contains(js, []byte(`"id_token":"[REDACTED]"`)) {
		t.Error("report.json does not show the grant's id_token as redacted")
	}
}

func TestValidateWithoutApprovalWritesAPartialReport(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	dir := t.TempDir()
	r := runWithSpy(f.spy, f.env, "--base-url", f.srv.URL, "validate", "--out", filepath.Join(dir, "report.md"), "--wait", "150ms", "--poll", "20ms")
	if r.code != exitOther || !strings.Contains(r.stderr, "was not approved within 150ms") || !strings.Contains(r.stderr, "Partial report written") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	md, js, rep := readReport(t, dir)
	if rep.Passed || !strings.Contains(rep.Failure, "not approved") {
		t.Errorf("passed=%v failure=%q", rep.Passed, rep.Failure)
	}
	present := map[string]bool{}
	for _, s := range rep.Steps {
		present[s.Title] = !s.Missing
	}
	if diff := cmp.Diff(map[string]bool{"Grant Token": true, "Create Payment": true, "Execute Payment": false, "Query Payment": false,
		"Search Transaction": false, "Refund Transaction": false, "Refund Status": false}, present); diff != "" {
		t.Errorf("steps present (-want +got):\n%s", diff)
	}
	waits := 0
	for _, e := range rep.Exchanges {
		if e.Step == stepWait {
			waits++
		}
	}
	if waits < 2 {
		t.Errorf("%d waiting queries recorded, want several", waits)
	}
	if !bytes.Contains(md, []byte("FAILED: ")) || !bytes.Contains(md, []byte("Not reached.")) {
		t.Error("report.md does not show the failure")
	}
	if f.srv.Received("payment.execute") != 0 {
		t.Error("an unapproved payment was executed")
	}
	if err := checkLeaks(f.spy.list(), md, js); err != nil {
		t.Error(err)
	}
}

func TestValidateUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "r.md")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"validate", "--production", "--out", out}, "sandbox only"},
		{[]string{"validate", "--fake", "--base-url", "http://127.0.0.1:1", "--out", out}, "exclude each other"},
		{[]string{"validate", "--fake", "--out", filepath.Join(dir, "missing", "r.md")}, "does not exist"},
		{[]string{"validate", "--fake", "--out", out, "--amount", "10.005"}, "--amount"},
		{[]string{"validate", "--fake", "--out", out, "--refund-api", "v3"}, "--refund-api"},
		{[]string{"validate", "--fake", "--out", out, "--wait", "0s"}, "--wait"},
	}
	for _, tt := range tests {
		r := runCLI(t, map[string]string{"HOME": dir}, tt.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a report was written after a usage error")
	}
}

func TestValidateFakeWritesNoTokenCache(t *testing.T) {
	t.Parallel()
	home, cache := t.TempDir(), t.TempDir()
	for _, env := range []map[string]string{{"HOME": home}, {"HOME": home, "XDG_CACHE_HOME": cache}} {
		r := runWithSpy(newSpy(), env, "validate", "--fake", "--out", filepath.Join(t.TempDir(), "report.md"))
		if r.code != exitOK {
			t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
		}
	}
	for _, dir := range []string{filepath.Join(home, ".cache"), filepath.Join(cache, "bkash")} {
		if entries, err := os.ReadDir(dir); err == nil {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("a run on the fake wrote %s: %v", dir, names)
		}
	}
}
