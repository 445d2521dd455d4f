package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// spy is an http.RoundTripper that remembers every credential and token
// that crosses it: the grant headers and body, the Authorization and
// X-App-Key headers, and the tokens bKash issues. Tests check that none of
// them reaches the command's output or the validation report.
type spy struct {
	mu      sync.Mutex
	secrets map[string]bool
	ids     []string // id_tokens issued, in order
}

func newSpy() *spy { return &spy{secrets: map[string]bool{}} }

func (s *spy) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	s.mu.Lock()
	// The SDK sends username and password as lower-case, non-canonical
	// keys, as bKash spells them: look at every key.
	for k, vs := range req.Header {
		switch strings.ToLower(k) {
		case "username", "password", "authorization", "x-app-key":
			s.add(vs...)
		}
	}
	var grant struct {
		AppKey    string `json:"app_key"`
		AppSecret string `json:"app_secret"`
	}
	if json.Unmarshal(body, &grant) == nil {
		s.add(grant.AppKey, grant.AppSecret)
	}
	s.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	s.mu.Lock()
	collectTokens(rb, func(v string) { s.add(v) })
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if json.Unmarshal(rb, &tok) == nil && tok.IDToken != "" {
		s.ids = append(s.ids, tok.IDToken)
	}
	s.mu.Unlock()
	return resp, err
}

func (s *spy) add(vals ...string) {
	for _, v := range vals {
		if v != "" {
			s.secrets[v] = true
		}
	}
}

// list returns the secrets seen so far.
func (s *spy) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v := range s.secrets {
		out = append(out, v)
	}
	return out
}

// idTokens returns the id_tokens bKash issued, in order.
func (s *spy) idTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

// fakeCLI is a fake bKash with the command pointed at it.
type fakeCLI struct {
	t   *testing.T
	srv *bkashtest.Server
	env map[string]string
	spy *spy
}

func newFakeCLI(t *testing.T, opts ...bkashtest.Option) *fakeCLI {
	t.Helper()
	srv := bkashtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return &fakeCLI{t: t, srv: srv, env: credsEnv(t, srv.Credentials()), spy: newSpy()}
}

// run runs the command against the fake and checks that no credential or
// token it saw reached stdout or stderr.
func (f *fakeCLI) run(args ...string) result {
	f.t.Helper()
	return f.runEnv(f.env, args...)
}

func (f *fakeCLI) runEnv(env map[string]string, args ...string) result {
	f.t.Helper()
	var out, errOut bytes.Buffer
	a := &app{ctx: context.Background(), getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errOut, transport: f.spy}
	code := a.main(append([]string{"--base-url", f.srv.URL}, args...))
	r := result{code: code, stdout: out.String(), stderr: errOut.String()}
	if err := checkLeaks(f.spy.list(), []byte(r.stdout), []byte(r.stderr)); err != nil {
		f.t.Errorf("%q printed a credential or token:\nstdout:\n%s\nstderr:\n%s", args, r.stdout, r.stderr)
	}
	return r
}

// ok runs a --json command that must succeed and returns its output.
func (f *fakeCLI) ok(args ...string) map[string]any {
	f.t.Helper()
	r := f.run(append(args, "--json")...)
	if r.code != exitOK {
		f.t.Fatalf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return decodeJSON(f.t, r.stdout)
}

// createPayment creates a payment of amount and returns its paymentID.
func (f *fakeCLI) createPayment(amount string, extra ...string) string {
	f.t.Helper()
	args := append([]string{"payment", "create", "--amount", amount, "--invoice", "INV-" + amount,
		"--payer-ref", "01770618575", "--callback", "https://shop.example/bkash/callback?order=7"}, extra...)
	p := f.ok(args...)
	id, _ := p["payment_id"].(string)
	if id == "" || p["status"] != "Initiated" || p["bkash_url"] == nil {
		f.t.Fatalf("create: %v", p)
	}
	return id
}

// paidPayment creates, approves and executes a payment.
func (f *fakeCLI) paidPayment(amount string) (paymentID, trxID string) {
	f.t.Helper()
	id := f.createPayment(amount)
	if err := f.srv.Approve(id, "01770618575"); err != nil {
		f.t.Fatal(err)
	}
	p := f.ok("payment", "execute", id)
	return id, p["trx_id"].(string)
}

func TestTokenCheck(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	start := time.Now()
	got := f.ok("token", "check")
	ids := f.spy.idTokens()
	if len(ids) != 1 {
		t.Fatalf("%d id_tokens issued, want 1", len(ids))
	}
	if got["fingerprint"] != fingerprint(bkash.Secret(ids[0])) {
		t.Errorf("fingerprint %v does not identify the issued token", got["fingerprint"])
	}
	exp, err := time.Parse(time.RFC3339, got["expires_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := start.Add(59*time.Minute), time.Now().Add(61*time.Minute); exp.Before(lo) || exp.After(hi) {
		t.Errorf("expires_at %v, want about an hour from now", exp)
	}
	if got["ok"] != true || got["environment"] != "sandbox" || got["base_url"] != f.srv.URL || got["token_type"] != "Bearer" {
		t.Errorf("token check: %v", got)
	}
	if f.srv.Grants() != 1 {
		t.Errorf("%d grants, want 1", f.srv.Grants())
	}

	r := f.run("token", "check")
	for _, want := range []string{"granted", "Expires", "(in ", "Fingerprint", "sha256:", "Refresh until"} {
		if r.code != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("human output lacks %q (exit %d):\n%s", want, r.code, r.stdout)
		}
	}
}

func TestWrongCredentialsAreABkashError(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	env := credsEnv(t, bkash.Credentials{Username: f.srv.Credentials().Username, Password: "wrong-password", AppKey: f.srv.Credentials().AppKey, AppSecret: f.srv.Credentials().AppSecret})
	r := f.runEnv(env, "token", "check")
	if r.code != exitBkash || !strings.Contains(r.stderr, "bKash error") {
		t.Errorf("exit %d, stderr %q; want exit 1 with bKash's error", r.code, r.stderr)
	}
}

func TestPaymentLifecycle(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	id := f.createPayment("150.50")

	// Executing before the customer approved: bKash's 2056, exit 1.
	r := f.run("payment", "execute", id)
	if r.code != exitBkash || !strings.Contains(r.stderr, "bKash error 2056") {
		t.Fatalf("early execute: exit %d, stderr %q; want exit 1 and code 2056", r.code, r.stderr)
	}
	if err := f.srv.Approve(id, "01770618575"); err != nil {
		t.Fatal(err)
	}
	ex := f.ok("payment", "execute", id)
	trx, _ := ex["trx_id"].(string)
	want := map[string]any{"payment_id": id, "status": "Completed", "amount": "150.50", "currency": "BDT", "intent": "sale",
		"trx_id": trx, "customer_msisdn": "01770618575", "payer_reference": "01770618575", "invoice_number": "INV-150.50"}
	if diff := cmp.Diff(want, ex, cmpSubset(want)); diff != "" || trx == "" {
		t.Errorf("execute (-want +got):\n%s", diff)
	}
	q := f.ok("payment", "query", id)
	if q["status"] != "Completed" || q["trx_id"] != trx || q["verification_status"] != "Complete" || q["mode"] != "0011" {
		t.Errorf("query: %v", q)
	}
	s := f.ok("search", trx)
	if s["trx_id"] != trx || s["status"] != "Completed" || s["amount"] != "150.50" || s["customer_msisdn"] != "01770618575" {
		t.Errorf("search: %v", s)
	}

	// A second execute is refused by bKash and not treated as success.
	r = f.run("payment", "execute", id)
	if r.code != exitBkash || !strings.Contains(r.stderr, "bKash error 2117") || !strings.Contains(r.stderr, "executed before") {
		t.Errorf("second execute: exit %d, stderr %q; want 1, the code and a hint", r.code, r.stderr)
	}
	// Finalize turns "already executed" into bKash's truth.
	fin := f.ok("payment", "finalize", id)
	if fin["status"] != "Completed" || fin["trx_id"] != trx {
		t.Errorf("finalize after execute: %v", fin)
	}

	// Human output.
	r = f.run("payment", "query", id)
	for _, line := range []string{"Payment ID ", id, "Status ", "Completed", "150.50 BDT", trx} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("query output lacks %q:\n%s", line, r.stdout)
		}
	}
}

// cmpSubset makes cmp compare only the keys of want.
func cmpSubset(want map[string]any) cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		if mi, ok := p.Last().(cmp.MapIndex); ok {
			_, in := want[mi.Key().String()]
			return !in
		}
		return false
	}, cmp.Ignore())
}

func TestRefunds(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"v1", "v2"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			f := newFakeCLI(t)
			id, trx := f.paidPayment("500")
			rf := f.ok("refund", "create", "--payment-id", id, "--trx-id", trx, "--amount", "200", "--sku", "SKU-1", "--reason", "damaged", "--refund-api", api)
			rtrx, _ := rf["refund_trx_id"].(string)
			if rtrx == "" || rf["amount"] != "200.00" || rf["original_trx_id"] != trx {
				t.Errorf("refund: %v", rf)
			}
			st := f.ok("refund", "status", id, trx, "--refund-api", api)
			refunds, _ := st["refunds"].([]any)
			if st["original_trx_id"] != trx || len(refunds) != 1 || refunds[0].(map[string]any)["refund_trx_id"] != rtrx {
				t.Errorf("refund status: %v", st)
			}
			if got := f.srv.RefundsOf(trx); len(got) != 1 || got[0].Amount != bkash.Taka(200) {
				t.Errorf("the fake holds refunds %+v, want one of 200.00", got)
			}
			// More than what is left: bKash refuses, exit 1 with its code.
			r := f.run("refund", "create", "--payment-id", id, "--trx-id", trx, "--amount", "300.01", "--sku", "SKU-1", "--reason", "damaged", "--refund-api", api, "--json")
			if r.code != exitBkash {
				t.Fatalf("over-refund: exit %d, stderr %q", r.code, r.stderr)
			}
			e := decodeJSON(t, r.stdout)["error"].(map[string]any)
			if e["kind"] != "bkash" || e["op"] != "refund.create" || e["code"] == "" || e["exit_code"] != float64(exitBkash) {
				t.Errorf("JSON error: %v", e)
			}
			if n := len(f.srv.RefundsOf(trx)); n != 1 {
				t.Errorf("%d refunds after the refused one, want 1", n)
			}
		})
	}
}

func TestAuthorizationCaptureAndVoid(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	authorize := func(amount string) string {
		id := f.createPayment(amount, "--intent", "authorization")
		if err := f.srv.Approve(id, "01770618575"); err != nil {
			t.Fatal(err)
		}
		if p := f.ok("payment", "execute", id); p["status"] != "Authorized" || p["intent"] != "authorization" {
			t.Fatalf("execute of an authorization: %v", p)
		}
		return id
	}
	captured := authorize("75")
	if p := f.ok("payment", "capture", captured); p["status"] != "Completed" {
		t.Errorf("capture: %v", p)
	}
	if r := f.run("payment", "capture", captured); r.code != exitBkash {
		t.Errorf("second capture: exit %d, want 1 (bKash refuses a repeat); stderr %q", r.code, r.stderr)
	}
	voided := authorize("80")
	if p := f.ok("payment", "void", voided); p["status"] != "Cancelled" {
		t.Errorf("void: %v", p)
	}
}

func TestAgreementLifecycle(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	ag := f.ok("agreement", "create", "--payer-ref", "01770618575", "--callback", "https://shop.example/bkash/agreement")
	pid, _ := ag["payment_id"].(string)
	if pid == "" || ag["bkash_url"] == nil {
		t.Fatalf("agreement create: %v", ag)
	}
	if err := f.srv.Approve(pid, "01770618575"); err != nil {
		t.Fatal(err)
	}
	ex := f.ok("agreement", "execute", pid)
	agID, _ := ex["agreement_id"].(string)
	if agID == "" || ex["status"] != "Completed" {
		t.Fatalf("agreement execute: %v", ex)
	}
	if q := f.ok("agreement", "query", agID); q["agreement_id"] != agID || q["status"] != "Completed" || q["customer_msisdn"] != "01770618575" {
		t.Errorf("agreement query: %v", q)
	}
	// A payment with the saved wallet is mode 0001.
	id := f.createPayment("99", "--agreement", agID)
	if q := f.ok("payment", "query", id); q["mode"] != "0001" || q["agreement_id"] != agID {
		t.Errorf("payment with agreement: %v", q)
	}
	if c := f.ok("agreement", "cancel", agID); c["status"] != "Cancelled" {
		t.Errorf("cancel: %v", c)
	}
	// Cancelling again is success (bKash's 2053 is "already cancelled").
	if c := f.ok("agreement", "cancel", agID); c["status"] != "Cancelled" {
		t.Errorf("second cancel: %v", c)
	}
}

func TestUnknownOutcomeExitsThreeWithAdvice(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	id := f.createPayment("120")
	if err := f.srv.Approve(id, "01770618575"); err != nil {
		t.Fatal(err)
	}
	// bKash executes the payment, and the answer is lost.
	f.srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	r := f.run("payment", "execute", id)
	if r.code != exitUnknown {
		t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, exitUnknown, r.stderr)
	}
	for _, want := range []string{"OUTCOME UNKNOWN", "payment.execute", "Do NOT send execute again", "bkash payment query " + id} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if n := f.srv.Received("payment.execute"); n != 1 {
		t.Errorf("execute received %d times, want exactly 1 (never re-sent)", n)
	}
	// The advice works: the query shows what happened.
	if q := f.ok("payment", "query", id); q["status"] != "Completed" {
		t.Errorf("query after the lost answer: %v", q)
	}

	// The same with --json: the error is machine-readable.
	id2 := f.createPayment("121")
	if err := f.srv.Approve(id2, "01770618575"); err != nil {
		t.Fatal(err)
	}
	f.srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	r = f.run("payment", "execute", id2, "--json")
	e, _ := decodeJSON(t, r.stdout)["error"].(map[string]any)
	if r.code != exitUnknown || e["kind"] != "outcome_unknown" || e["op"] != "payment.execute" || !strings.Contains(e["advice"].(string), "bkash payment query "+id2) {
		t.Errorf("exit %d, JSON error %v", r.code, e)
	}

	// Finalize reconciles a lost answer by itself.
	id3 := f.createPayment("122")
	if err := f.srv.Approve(id3, "01770618575"); err != nil {
		t.Fatal(err)
	}
	f.srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	if p := f.ok("payment", "finalize", id3); p["status"] != "Completed" {
		t.Errorf("finalize after a lost answer: %v", p)
	}
}

func TestRefundUnknownOutcomeAdvisesStatus(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	id, trx := f.paidPayment("60")
	f.srv.Inject("refund.create", bkashtest.Fault{Drop: true, AfterApply: true})
	r := f.run("refund", "create", "--payment-id", id, "--trx-id", trx, "--amount", "60", "--sku", "S", "--reason", "r")
	if r.code != exitUnknown || !strings.Contains(r.stderr, "bkash refund status "+id+" "+trx) || !strings.Contains(r.stderr, "Do NOT refund again") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if n := f.srv.Received("refund.create"); n != 1 {
		t.Errorf("refund received %d times, want exactly 1", n)
	}
}

func TestBkashErrorPrintsCodeAndMessage(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	f.srv.Inject("payment.query", bkashtest.Fault{Code: "2023", Message: "Insufficient Balance"})
	r := f.run("payment", "query", "TR0011Whatever")
	if r.code != exitBkash || !strings.Contains(r.stderr, "bKash error 2023: Insufficient Balance (payment.query, http 200)") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing without --json", r.stdout)
	}
}

func TestReadNetworkErrorExitsFour(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	f.srv.Inject("payment.search", bkashtest.Fault{Drop: true, Times: 10})
	r := f.run("search", "ABCDEFGHIJ", "--timeout", "10s")
	if r.code != exitOther || !strings.HasPrefix(r.stderr, "bkash search: ") {
		t.Errorf("exit %d, stderr %q; want 4", r.code, r.stderr)
	}
}

func TestTokenIsCachedBetweenRuns(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	id := f.createPayment("10")
	f.ok("payment", "query", id)
	f.ok("payment", "query", id)
	if n := f.srv.Grants(); n != 1 {
		t.Errorf("%d grants for three runs, want 1 (bKash blocks more than two an hour)", n)
	}

	// One cache file, owner-only, holding no token in clear.
	files, err := filepath.Glob(filepath.Join(f.env["HOME"], ".cache", "bkash", "token-*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("cache files %v, %v; want one", files, err)
	}
	st, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %04o, want 0600", st.Mode().Perm())
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := checkLeaks(f.spy.list(), b); err != nil {
		t.Error("the cache file holds a credential or token in clear")
	}

	// token check always grants (it is the connection test) and leaves its
	// token for the next run.
	f.ok("token", "check")
	f.ok("payment", "query", id)
	if n := f.srv.Grants(); n != 2 {
		t.Errorf("%d grants after token check and a query, want 2", n)
	}
	f.ok("payment", "query", id, "--no-token-cache")
	if n := f.srv.Grants(); n != 3 {
		t.Errorf("%d grants after --no-token-cache, want 3", n)
	}

	// A file others can read is not trusted.
	if err := os.Chmod(files[0], 0o644); err != nil {
		t.Fatal(err)
	}
	f.ok("payment", "query", id)
	if n := f.srv.Grants(); n != 4 {
		t.Errorf("%d grants after the cache file was opened to others, want 4", n)
	}

	// Another server (another base URL) never gets this one's token.
	other := bkashtest.NewServer()
	defer other.Close()
	g := &fakeCLI{t: t, srv: other, env: f.env, spy: f.spy}
	if r := g.run("search", "ABCDEFGHIJ"); r.code != exitBkash || !strings.Contains(r.stderr, "2033") {
		t.Errorf("search on the other server: exit %d, stderr %q; want bKash's 2033", r.code, r.stderr)
	}
	if n := other.Received("payment.search"); n != 1 {
		t.Errorf("the other server received the search %d times, want 1 (no replay after a foreign token)", n)
	}
	if files, _ := filepath.Glob(filepath.Join(f.env["HOME"], ".cache", "bkash", "token-*.json")); len(files) != 2 {
		t.Errorf("%d cache files, want one per server", len(files))
	}
}
