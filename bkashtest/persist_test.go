package bkashtest

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/smartdairy/bkash-go"
)

// stateAPI is a raw client of a server that keeps its state in a file, and
// can restart it.
type stateAPI struct {
	*api
	path string
	opts []Option
}

// openState starts a server on the state file at path.
func openState(t testing.TB, path string, opts ...Option) *stateAPI {
	t.Helper()
	srv, err := Open(append([]Option{WithStateFile(path)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return &stateAPI{
		api:  &api{t: t, srv: srv, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}},
		path: path, opts: opts,
	}
}

// restart closes the server, checks that its state was written, and starts a
// new one on the same file; the client keeps its token.
func (c *stateAPI) restart() *stateAPI {
	c.t.Helper()
	c.srv.Close()
	if err := c.srv.StateErr(); err != nil {
		c.t.Fatalf("StateErr after Close: %v", err)
	}
	n := openState(c.t, c.path, c.opts...)
	n.token = c.token
	return n
}

// stateOpts compares states across a restart: the bkashURL names the
// server's port, and times loaded from the file carry a fixed zone.
var stateOpts = cmp.Options{
	cmp.AllowUnexported(PaymentState{}),
	cmpopts.IgnoreFields(PaymentState{}, "BkashURL"),
}

func statePath(t testing.TB) string { return filepath.Join(t.TempDir(), "state.jsonl") }

func TestStateFileKeepsPaymentsAndTokensAcrossRestart(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := openState(t, statePath(t), WithClock(clock.Now))
	grant := c.grant()
	refreshToken := grant.str("refresh_token")

	sale, saleTrx := c.paid("1250.50", "sale")
	auth, _ := c.paid("300", "authorization")
	pending := c.createPayment("10.00", "sale")
	cancelled := c.createPayment("11.00", "sale")
	if err := c.srv.Cancel(cancelled); err != nil {
		t.Fatal(err)
	}
	ids := []string{sale, auth, pending, cancelled}
	before := make(map[string]PaymentState)
	queries := make(map[string]answer)
	for _, id := range ids {
		before[id], _ = c.srv.Payment(id)
		queries[id] = mustOK(t, "query", c.call(statusPath, map[string]string{"paymentID": id}))
	}
	search := mustOK(t, "search", c.call(searchPath, map[string]string{"trxID": saleTrx}))
	balance, _ := c.srv.WalletBalance(walletOK)

	c = c.restart()
	for _, id := range ids {
		got, ok := c.srv.Payment(id)
		if !ok {
			t.Fatalf("payment %s lost in the restart", id)
		}
		if diff := cmp.Diff(before[id], got, stateOpts); diff != "" {
			t.Errorf("payment %s after restart (-before +after):\n%s", id, diff)
		}
		// The token granted before the restart still works.
		q := mustOK(t, "query after restart", c.call(statusPath, map[string]string{"paymentID": id}))
		if diff := cmp.Diff(queries[id].m, q.m); diff != "" {
			t.Errorf("query %s after restart (-before +after):\n%s", id, diff)
		}
	}
	if diff := cmp.Diff(search.m, mustOK(t, "search", c.call(searchPath, map[string]string{"trxID": saleTrx})).m); diff != "" {
		t.Errorf("search after restart (-before +after):\n%s", diff)
	}
	if got, _ := c.srv.WalletBalance(walletOK); got != balance {
		t.Errorf("wallet balance after restart = %v, want %v", got, balance)
	}
	if g := c.srv.Grants(); g != 0 {
		t.Errorf("the restarted server granted %d tokens; the old one should have been accepted", g)
	}

	// The payments go on from where they were.
	wantCode(t, "second execute", c.call(executePath, map[string]string{"paymentID": sale}), http.StatusOK, "2117")
	mustOK(t, "capture after restart", c.call(capturePath, map[string]string{"paymentID": auth}))
	wantCode(t, "execute of the cancelled one", c.call(executePath, map[string]string{"paymentID": cancelled}), http.StatusOK, "2056")
	if err := c.srv.Approve(pending, walletOK); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "execute of the pending one", c.call(executePath, map[string]string{"paymentID": pending}))

	// The refresh token also survives, and keeps its expiry.
	cr := c.srv.Credentials()
	rf := c.send(refreshPath, map[string]string{"app_key": cr.AppKey, "app_secret": string(cr.AppSecret), "refresh_token": refreshToken}, c.grantHeaders())
	mustOK(t, "refresh after restart", rf)

	// Expired tokens stay expired, with bKash's "expired" answer rather than
	// "Unauthorized".
	c.srv.ExpireTokens()
	c = c.restart()
	a := c.call(statusPath, map[string]string{"paymentID": sale})
	if a.status != http.StatusUnauthorized || a.str("message") != "The incoming token has expired" {
		t.Errorf("expired token after restart: %d %s", a.status, a.raw)
	}
	// A payment nobody executed still expires 24 hours after its creation.
	clock.Advance(25 * time.Hour)
	if st, _ := c.srv.Payment(cancelled); st.Status != statusExpired {
		t.Errorf("unexecuted payment 25 hours later: status %q, want %q", st.Status, statusExpired)
	}
}

func TestStateFileHoldsNoToken(t *testing.T) {
	t.Parallel()
	path := statePath(t)
	c := openState(t, path)
	g := c.grant()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id_token", "refresh_token"} {
		tok := g.str(k)
		if tok == "" || bytes.Contains(raw, []byte(tok)) {
			t.Errorf("the state file holds the %s itself", k)
		}
		if !bytes.Contains(raw, []byte(tokenKey(tok))) {
			t.Errorf("the state file does not record the %s's hash", k)
		}
	}
}

func TestStateFileKeepsAgreements(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := openState(t, statePath(t), WithClock(clock.Now))
	cr := mustOK(t, "create agreement", c.call(createPath, map[string]string{
		"mode": "0000", "payerReference": walletOK, "callbackURL": callbackBase,
	}))
	if err := c.srv.Approve(cr.str("paymentID"), walletOK); err != nil {
		t.Fatal(err)
	}
	agID := mustOK(t, "execute agreement", c.call(executePath, map[string]string{"paymentID": cr.str("paymentID")})).str("agreementID")
	other := mustOK(t, "create agreement", c.call(createPath, map[string]string{
		"mode": "0000", "payerReference": walletOther, "callbackURL": callbackBase,
	})).str("paymentID")
	agBefore, _ := c.srv.Agreement(agID)

	c = c.restart()
	agAfter, ok := c.srv.Agreement(agID)
	if diff := cmp.Diff(agBefore, agAfter); !ok || diff != "" {
		t.Errorf("agreement after restart (found %v; -before +after):\n%s", ok, diff)
	}
	body := paymentBody("99.00", "sale")
	body["mode"], body["agreementID"] = "0001", agID
	id := mustOK(t, "pay with the saved agreement (not 2051)", c.call(createPath, body)).str("paymentID")
	if err := c.srv.Approve(id, ""); err != nil {
		t.Fatal(err)
	}
	ex := mustOK(t, "execute with agreement", c.call(executePath, map[string]string{"paymentID": id}))
	if ex.str("agreementID") != agID {
		t.Errorf("execute names agreement %q, want %q", ex.str("agreementID"), agID)
	}
	// The unexecuted creation can still be approved and executed.
	if err := c.srv.Approve(other, walletOther); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "execute the other agreement", c.call(executePath, map[string]string{"paymentID": other}))

	mustOK(t, "cancel", c.call(agCancelPath, map[string]string{"agreementID": agID}))
	c = c.restart()
	wantCode(t, "second cancel after restart", c.call(agCancelPath, map[string]string{"agreementID": agID}), http.StatusOK, "2053")
	wantCode(t, "pay with the cancelled agreement", c.call(createPath, body), http.StatusOK, "2055")
	// The payment made with it still points at the same agreement.
	if st, _ := c.srv.Payment(id); st.AgreementID != agID || st.Status != statusCompleted {
		t.Errorf("payment with agreement after restart: %+v", st)
	}
}

func TestStateFileKeepsRefundsAndBalances(t *testing.T) {
	t.Parallel()
	const wallet = "01711000001"
	clock := fixedClock(t)
	c := openState(t, statePath(t), WithClock(clock.Now), WithWallet(wallet, bkash.Taka(500)), WithTokenLifetime(24*time.Hour))
	id := c.createPayment("120.00", "sale")
	if err := c.srv.Approve(id, wallet); err != nil {
		t.Fatal(err)
	}
	trx := mustOK(t, "execute", c.call(executePath, map[string]string{"paymentID": id})).str("trxID")
	r1 := mustOK(t, "v1 refund", c.call(refundPath, v1Refund(id, trx, "30.00"))).str("refundTrxID")
	clock.Advance(time.Hour)
	r2 := c.call(v2RefundPath, v2Refund(id, trx, "20"))
	if r2.status != http.StatusOK {
		t.Fatalf("v2 refund: %d %s", r2.status, r2.raw)
	}
	refunds := c.srv.RefundsOf(trx)
	status := c.call(v2StatusPath, map[string]string{"paymentId": id, "trxId": trx})

	// WithWallet's balance applies to a new state only: the file's wins.
	c = c.restart()
	if got, _ := c.srv.WalletBalance(wallet); got != bkash.Taka(430) {
		t.Errorf("wallet balance after restart = %v, want 430.00 (500 - 120 + 50)", got)
	}
	if diff := cmp.Diff(refunds, c.srv.RefundsOf(trx)); diff != "" {
		t.Errorf("refunds after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(status.m, c.call(v2StatusPath, map[string]string{"paymentId": id, "trxId": trx}).m); diff != "" {
		t.Errorf("refund status after restart (-before +after):\n%s", diff)
	}
	for _, rt := range []string{r1, r2.str("refundTrxId")} {
		mustOK(t, "search refund "+rt, c.call(searchPath, map[string]string{"trxID": rt}))
	}
	over := c.call(v2RefundPath, v2Refund(id, trx, "70.01"))
	wantCode(t, "refund past the kept balance", over, http.StatusBadRequest, "2072")
	mustOK(t, "v1 refund of the rest", c.call(refundPath, v1Refund(id, trx, "70.00")))
	if st, _ := c.srv.Payment(id); st.Refunded != bkash.Taka(120) {
		t.Errorf("Refunded = %v, want 120.00", st.Refunded)
	}
}

// scriptedRand is a randIntN that first returns the queued values, then
// random ones; safe for concurrent use.
type scriptedRand struct {
	mu    sync.Mutex
	queue []int
}

func (r *scriptedRand) IntN(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return rand.IntN(n)
	}
	v := r.queue[0]
	r.queue = r.queue[1:]
	if v >= n {
		panic("scriptedRand: value out of range")
	}
	return v
}

// replay queues the draws that make randomString(alphabet, ...) return s.
func (r *scriptedRand) replay(alphabet, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range len(s) {
		r.queue = append(r.queue, strings.IndexByte(alphabet, s[i]))
	}
}

// TestStateFileIDsDoNotClash makes the restarted server draw, for each kind
// of ID, the very characters of an ID it loaded: it must notice the clash
// and draw again, as it does for IDs it issued itself. (Not parallel: it
// replaces the package's random source.)
func TestStateFileIDsDoNotClash(t *testing.T) {
	orig := randIntN
	t.Cleanup(func() { randIntN = orig })
	clock := fixedClock(t)
	c := openState(t, statePath(t), WithClock(clock.Now))
	id, trx := c.paid("100", "sale")
	refundTrx := mustOK(t, "refund", c.call(refundPath, v1Refund(id, trx, "10"))).str("refundTrxID")
	cr := mustOK(t, "create agreement", c.call(createPath, map[string]string{
		"mode": "0000", "payerReference": walletOK, "callbackURL": callbackBase,
	})).str("paymentID")
	if err := c.srv.Approve(cr, walletOK); err != nil {
		t.Fatal(err)
	}
	agID := mustOK(t, "execute agreement", c.call(executePath, map[string]string{"paymentID": cr})).str("agreementID")

	c = c.restart()
	script := &scriptedRand{}
	randIntN = script.IntN
	issued := map[string]bool{id: true, trx: true, refundTrx: true, cr: true, agID: true}
	check := func(kind, got string) {
		t.Helper()
		if issued[got] {
			t.Errorf("the restarted server issued %s %s again", kind, got)
		}
		issued[got] = true
	}

	script.replay(mixedAlnum, id[6:13]) // TR0011 + 7 characters + epoch millis
	id2 := c.createPayment("50", "sale")
	check("paymentID", id2)
	if err := c.srv.Approve(id2, walletOK); err != nil {
		t.Fatal(err)
	}
	script.replay(upperAlnum, trx)
	trx2 := mustOK(t, "execute", c.call(executePath, map[string]string{"paymentID": id2})).str("trxID")
	check("trxID", trx2)
	script.replay(upperAlnum, refundTrx)
	check("refund trxID", mustOK(t, "refund", c.call(refundPath, v1Refund(id2, trx2, "5"))).str("refundTrxID"))
	id3 := c.createPayment("50", "sale")
	if err := c.srv.Approve(id3, walletOK); err != nil {
		t.Fatal(err)
	}
	script.replay(upperAlnum, refundTrx) // a payment's trxID must not be a refund's either
	check("trxID", mustOK(t, "execute", c.call(executePath, map[string]string{"paymentID": id3})).str("trxID"))

	cr2 := mustOK(t, "create agreement", c.call(createPath, map[string]string{
		"mode": "0000", "payerReference": walletOther, "callbackURL": callbackBase,
	})).str("paymentID")
	if err := c.srv.Approve(cr2, walletOther); err != nil {
		t.Fatal(err)
	}
	script.replay(upperAlnum, agID[len("TokenizedMerchant02"):len("TokenizedMerchant02")+7])
	check("agreementID", mustOK(t, "execute agreement", c.call(executePath, map[string]string{"paymentID": cr2})).str("agreementID"))
	if len(script.queue) != 0 {
		t.Fatalf("the script was not used up: %d draws left", len(script.queue))
	}
}

func countPayments(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.payments)
}

// stateLines reads the records of a state file.
func stateLines(t testing.TB, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(raw), "\n")
}

// record builds one line with a correct checksum.
func record(raw string) string {
	return `{"c":` + strconv.FormatUint(uint64(crc32.Checksum([]byte(raw), castagnoli)), 10) + `,"r":` + raw + "}\n"
}

// filledStateFile leaves a closed state file with a few payments and
// journal records after its snapshot.
func filledStateFile(t *testing.T) string {
	t.Helper()
	path := statePath(t)
	c := openState(t, path)
	c.paid("10", "sale")
	c.srv.Close()
	c = openState(t, path)
	c.token = ""
	c.paid("20", "sale")
	c.paid("30", "sale")
	leaveJournal(c.srv)
	c.srv.Close()
	return path
}

// leaveJournal makes Close leave the file as it is, without a final
// snapshot, as a killed process would.
func leaveJournal(s *Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store.closed = true
	_ = s.store.f.Close()
	if s.store.lock != nil {
		_ = s.store.lock.Close() // the lock dies with the process
	}
}

func TestStateFileCorruptionIsAnErrorNamingTheFile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(lines []string) []string
		line int
		want string
	}{
		{"flipped byte", func(l []string) []string {
			l[2] = strings.Replace(l[2], `"sale"`, `"salE"`, 1)
			return l
		}, 3, "checksum mismatch"},
		{"bad JSON with a good checksum", func(l []string) []string {
			l[2] = record(`{"payments":[{"id":`)
			return l
		}, 3, "bad record"},
		{"unknown field", func(l []string) []string {
			l[2] = record(`{"paymentz":[]}`)
			return l
		}, 3, "bad record"},
		{"torn line in the middle", func(l []string) []string {
			l[2] = strings.TrimRight(l[2][:len(l[2])/2], "}") + "\n"
			return l
		}, 3, "not a state record"},
		{"missing newline in the middle", func(l []string) []string {
			l[2] = strings.TrimSuffix(l[2], "\n")
			return l
		}, 3, "checksum mismatch"},
		{"unknown version", func(l []string) []string {
			l[0] = record(`{"format":"bkashtest-state","version":2}`)
			return l
		}, 1, "unknown version 2"},
		{"not a state file", func([]string) []string {
			return []string{"hello\n", "world\n"}
		}, 1, "not a state record"},
		{"another format", func(l []string) []string {
			l[0] = record(`{"format":"something-else","version":1}`)
			return l
		}, 1, "not a bkashtest state file"},
		{"second header", func(l []string) []string {
			l[3] = record(`{"format":"bkashtest-state","version":1}`)
			return l
		}, 4, "header record after the first line"},
		{"dangling agreement", func(l []string) []string {
			return append(l[:len(l)-1], record(`{"payments":[{"id":"TR0001x","mode":"0001","agreementID":"nope","callbackURL":"","hash":"","signature":"","created":"2025-01-01T00:00:00Z","updated":"2025-01-01T00:00:00Z"}]}`), "")
		}, 0, "agreement \"nope\" is not in the file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filledStateFile(t)
			lines := tc.edit(stateLines(t, path))
			if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
				t.Fatal(err)
			}
			srv, err := Open(WithStateFile(path))
			if err == nil {
				srv.Close()
				t.Fatal("Open accepted a corrupt state file")
			}
			var sfe *StateFileError
			if !errors.As(err, &sfe) || sfe.Path != path {
				t.Fatalf("error %v (%T) does not name the file", err, err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want the path and %q", err, tc.want)
			}
			if tc.line > 0 && sfe.Line != tc.line {
				t.Errorf("error names line %d, want %d", sfe.Line, tc.line)
			}
			if tc.line > 0 {
				var off int64
				for _, l := range lines[:tc.line-1] {
					off += int64(len(l))
				}
				if sfe.Offset != off || !strings.Contains(err.Error(), fmt.Sprintf("line %d (offset %d)", tc.line, off)) {
					t.Errorf("error %q: want offset %d", err, off)
				}
			}
			// The file is left as it was: never silently reset.
			if raw, _ := os.ReadFile(path); string(raw) != strings.Join(lines, "") {
				t.Error("Open changed the corrupt file")
			}
		})
	}
}

func TestNewServerPanicsOnACorruptStateFile(t *testing.T) {
	t.Parallel()
	path := statePath(t)
	if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), path) {
			t.Errorf("NewServer panicked with %v, want a message naming %s", r, path)
		}
	}()
	NewServer(WithStateFile(path)).Close()
}

func TestStateFileTornLastRecordIsDropped(t *testing.T) {
	t.Parallel()
	path := filledStateFile(t)
	lines := stateLines(t, path)
	last := lines[len(lines)-2] // SplitAfter leaves "" after the last newline
	torn := strings.Join(lines[:len(lines)-2], "") + last[:len(last)/2]
	if err := os.WriteFile(path, []byte(torn), 0o600); err != nil {
		t.Fatal(err)
	}
	c := openState(t, path)
	if got := countPayments(c.srv); got != 3 {
		t.Errorf("%d payments after a torn last record, want the 3 of the intact records", got)
	}
	// The last record was the execute of the 30.00 payment: it is Initiated
	// again, and the file goes on cleanly after the dropped bytes.
	var pending string
	c.srv.mu.Lock()
	for id, p := range c.srv.payments {
		if p.amountText == "30" {
			pending = id
		}
	}
	c.srv.mu.Unlock()
	if st, _ := c.srv.Payment(pending); st.Status != statusInitiated {
		t.Fatalf("payment of the torn record: %+v", st)
	}
	c.grant()
	c.paid("40", "sale")
	c = c.restart()
	if got := countPayments(c.srv); got != 4 {
		t.Errorf("%d payments after appending past the torn record, want 4", got)
	}
}

func TestStateFileStartsFromMissingOrEmptyFile(t *testing.T) {
	t.Parallel()
	for _, empty := range []bool{false, true} {
		path := statePath(t)
		if empty {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		c := openState(t, path)
		c.paid("10", "sale")
		c = c.restart()
		if got := countPayments(c.srv); got != 1 {
			t.Errorf("empty=%v: %d payments after restart", empty, got)
		}
	}
	_, err := Open(WithStateFile(filepath.Join(t.TempDir(), "no", "such", "dir", "state")))
	var sfe *StateFileError
	if !errors.As(err, &sfe) || !strings.Contains(err.Error(), "no/such/dir/state") {
		t.Errorf("state file in a missing directory: %v", err)
	}
}

func TestStateFileRemovesItsStaleTempFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.jsonl")
	stale := filepath.Join(dir, "state.jsonl.tmp-123456")
	foreign := []string{filepath.Join(dir, "other.jsonl.tmp-123456"), filepath.Join(dir, "state.jsonl.bak")}
	for _, p := range append(foreign, stale) {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := openState(t, path)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file still there: %v", err)
	}
	for _, p := range foreign {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("a file that is not ours was touched: %v", err)
		}
	}
	c.srv.Close()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if e.Name() != "state.jsonl.lock" {
			names = append(names, e.Name())
		}
	}
	if want := []string{"other.jsonl.tmp-123456", "state.jsonl", "state.jsonl.bak"}; !slices.Equal(names, want) {
		t.Errorf("directory after Close holds %q, want %q", names, want)
	}
}

func TestStateFileIsUsedByOneServerAtATime(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock(2)")
	}
	path := statePath(t)
	c := openState(t, path)
	_, err := Open(WithStateFile(path))
	var sfe *StateFileError
	if !errors.As(err, &sfe) || sfe.Path != path || !strings.Contains(err.Error(), "in use by another server") {
		t.Fatalf("second Open on a file in use: %v", err)
	}
	c.restart() // Close releases it
}

// TestStateFileConcurrentWritersAndCompaction runs checkouts and refunds from
// several goroutines while small compactions happen, then checks that a
// restarted server has every change.
func TestStateFileConcurrentWritersAndCompaction(t *testing.T) {
	t.Parallel()
	path := statePath(t)
	c := openState(t, path, withCompactMin(40))
	c.grant()
	start, _ := c.srv.WalletBalance(walletOK)
	const workers, each = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				cr, err := c.trySend(createPath, paymentBody("10.00", "sale"), c.authHeaders())
				if err != nil {
					errs <- err
					return
				}
				id := cr.str("paymentID")
				if err := c.srv.Approve(id, walletOK); err != nil {
					errs <- err
					return
				}
				ex, err := c.trySend(executePath, map[string]string{"paymentID": id}, c.authHeaders())
				if err != nil || ex.str("transactionStatus") != statusCompleted {
					errs <- fmt.Errorf("execute: %v %s", err, ex.raw)
					return
				}
				if (w+i)%3 == 0 {
					rf, err := c.trySend(refundPath, v1Refund(id, ex.str("trxID"), "2.50"), c.authHeaders())
					if err != nil || rf.str("statusCode") != "0000" {
						errs <- fmt.Errorf("refund: %v %s", err, rf.raw)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var refunds int
	for w := range workers {
		for i := range each {
			if (w+i)%3 == 0 {
				refunds++
			}
		}
	}
	want := start - bkash.Amount(workers*each)*bkash.Taka(10) + bkash.Amount(refunds)*250
	if got, _ := c.srv.WalletBalance(walletOK); got != want {
		t.Fatalf("balance %v, want %v", got, want)
	}
	before := make(map[string]PaymentState)
	c.srv.mu.Lock()
	for id, p := range c.srv.payments {
		before[id] = p.snapshot(c.srv.now())
	}
	compacted := c.srv.store.snapLines > 1
	c.srv.mu.Unlock()
	if !compacted {
		t.Error("no compaction happened during the run")
	}

	// Restart as after kill -9 (the compactions' files and the journal
	// after them), then after a clean Close.
	leaveJournal(c.srv)
	c = c.restart()
	for id, b := range before {
		got, _ := c.srv.Payment(id)
		if diff := cmp.Diff(b, got, stateOpts); diff != "" {
			t.Fatalf("payment %s after a kill (-before +after):\n%s", id, diff)
		}
	}
	c = c.restart()
	if got, _ := c.srv.WalletBalance(walletOK); got != want {
		t.Errorf("balance after restart %v, want %v", got, want)
	}
	for id, b := range before {
		got, _ := c.srv.Payment(id)
		if diff := cmp.Diff(b, got, stateOpts); diff != "" {
			t.Fatalf("payment %s after restart (-before +after):\n%s", id, diff)
		}
	}
	// Close compacted the file: one record per payment, a header and one of
	// tokens.
	if n := len(stateLines(t, path)) - 1; n != workers*each+2 {
		t.Errorf("state file after Close has %d records, want %d", n, workers*each+2)
	}
}

func TestStateFileWriteFailureAnswers500AndCloseRepairs(t *testing.T) {
	t.Parallel()
	path := statePath(t)
	c := openState(t, path)
	first, _ := c.paid("10", "sale")
	// Break the journal: its file is closed under the server's feet.
	c.srv.mu.Lock()
	_ = c.srv.store.f.Close()
	c.srv.mu.Unlock()

	a := c.call(createPath, paymentBody("20", "sale"))
	if a.status != http.StatusInternalServerError || !strings.Contains(a.str("message"), path) {
		t.Errorf("create with a broken state file: %d %s", a.status, a.raw)
	}
	b := c.call(statusPath, map[string]string{"paymentID": first})
	if b.status != http.StatusInternalServerError {
		t.Errorf("a later call: %d %s, want 500", b.status, b.raw)
	}
	if err := c.srv.StateErr(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("StateErr = %v", err)
	}
	// Close writes memory's state to a new file: the payment whose answer
	// was lost exists, like a bKash that made it and lost the answer.
	c.srv.Close()
	if c.srv.StateErr() == nil {
		t.Error("StateErr forgot the failure after Close")
	}
	c2 := openState(t, path)
	if got := countPayments(c2.srv); got != 2 {
		t.Errorf("%d payments after the repair, want 2", got)
	}
}

func TestStateFileReset(t *testing.T) {
	t.Parallel()
	c := openState(t, statePath(t))
	c.paid("10", "sale")
	c.srv.mu.Lock()
	clear(c.srv.payments)
	clear(c.srv.trx)
	clear(c.srv.idTokens)
	clear(c.srv.refreshTokens)
	c.srv.wallets = sandboxWallets()
	c.srv.wallets["01711000002"] = &wallet{balance: 77}
	c.srv.saveResetLocked()
	c.srv.mu.Unlock()
	c.token = "" // cleared by the reset
	c.paid("20", "sale")

	// No final snapshot: the journal's reset record must do it.
	leaveJournal(c.srv)
	c = c.restart()
	if got := countPayments(c.srv); got != 1 {
		t.Errorf("%d payments after a reset and one payment, want 1", got)
	}
	if got, _ := c.srv.WalletBalance("01711000002"); got != 77 {
		t.Errorf("wallet of the reset state: %v", got)
	}
	if got, _ := c.srv.WalletBalance(walletOK); got != sandboxBalance-bkash.Taka(20) {
		t.Errorf("sandbox balance after reset: %v", got)
	}
}

// TestStateFileCompactionKeepsChangesMadeMeanwhile makes a change while a
// compaction writes its snapshot, then "kills" the server (no final
// snapshot): the change must be in the compacted file.
func TestStateFileCompactionKeepsChangesMadeMeanwhile(t *testing.T) {
	t.Parallel()
	type job struct {
		srv *Server
		id  string
	}
	jobs := make(chan job, 1)
	var cancelled atomic.Bool
	path := statePath(t)
	c := openState(t, path, withCompactMin(6), withAfterSnapshot(func() {
		select {
		case j := <-jobs:
			if err := j.srv.Cancel(j.id); err != nil {
				t.Error(err)
			}
			cancelled.Store(true)
		default:
		}
	}))
	first := c.createPayment("10", "sale") // grant + create: 2 records after the header
	jobs <- job{c.srv, first}
	for range 4 { // the 6th record starts a compaction
		c.createPayment("10", "sale")
	}
	c.srv.store.wg.Wait()
	if !cancelled.Load() {
		t.Fatal("no compaction ran the hook")
	}
	c.srv.mu.Lock()
	snapLines := c.srv.store.snapLines
	c.srv.mu.Unlock()
	if snapLines != 1+1+5 {
		t.Errorf("the compaction wrote %d records, want 7 (header, tokens, 5 payments)", snapLines)
	}
	leaveJournal(c.srv)
	c = c.restart()
	if st, _ := c.srv.Payment(first); st.CustomerStatus != customerCancel {
		t.Errorf("the cancel made during the compaction was lost: %+v", st)
	}
}
