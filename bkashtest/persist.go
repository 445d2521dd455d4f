package bkashtest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go"
)

// The state file (WithStateFile) is a sequence of lines, each one complete
// record:
//
//	{"c":<CRC-32C of R, decimal>,"r":R}\n
//
// where R is a JSON object. The first record is the header,
// {"format":"bkashtest-state","version":1,...}; every record, the header
// included, is a change set applied in order: payments (each whole, with
// its agreement and refunds), wallets, tokens (by SHA-256 hash), an
// expiry of every id_token, or a reset. A compaction rewrites the file as
// the smallest sequence of records that rebuilds the current state.
const (
	stateFormat  = "bkashtest-state"
	stateVersion = 1

	// defaultCompactMin is the fewest journal records after which the state
	// file is compacted; above it, compaction waits until the journal is as
	// long as the snapshot, so that each change costs O(1) amortized and the
	// file stays under about twice the size of the state.
	defaultCompactMin = 4096
	// tokensPerRecord groups token hashes in snapshot records.
	tokensPerRecord = 512
	// tempMarker names the temporary files of a compaction:
	// <state file name>.tmp-<random>.
	tempMarker = ".tmp-"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WithStateFile keeps the server's state in the file at path, so that a
// server started again with the same file behaves as the same bKash: its
// payments, agreements, refunds, wallet balances and issued tokens (with
// their expiries) are loaded at start, and every change is appended to the
// file as it happens. The file is compacted now and then, and on Close,
// by writing a new one beside it and renaming it into place.
//
// A missing or empty file starts a new state; the directory must exist. A
// file that cannot be read back (bad checksum, bad JSON, unknown version,
// not a state file) is an error that names it: use Open, which returns it,
// rather than NewServer, which panics. See the package documentation,
// "Persistent state", for the format and what is kept.
func WithStateFile(path string) Option {
	if path == "" {
		panic("bkashtest: WithStateFile: empty path")
	}
	return func(c *config) { c.stateFile = path }
}

// withCompactMin sets the compaction threshold (tests and benchmarks).
func withCompactMin(n int) Option {
	return func(c *config) { c.compactMin = n }
}

// withAfterSnapshot runs fn in each background compaction after its
// snapshot is written and before it is installed (tests).
func withAfterSnapshot(fn func()) Option {
	return func(c *config) { c.afterSnapshot = fn }
}

// Open starts a fake bKash server like NewServer does, and returns the
// error NewServer would panic with: a state file (WithStateFile) that
// cannot be read, created or locked. Programs and tests that use a state
// file should start the server with Open.
func Open(opts ...Option) (*Server, error) { return open(opts) }

// StateFileError reports a state file that cannot be loaded or written.
type StateFileError struct {
	Path   string // the state file
	Line   int    // 1-based record number, 0 when not about one record
	Offset int64  // byte offset of that record in the file
	Err    error
}

func (e *StateFileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("bkashtest: state file %s: line %d (offset %d): %v", e.Path, e.Line, e.Offset, e.Err)
	}
	return fmt.Sprintf("bkashtest: state file %s: %v", e.Path, e.Err)
}

func (e *StateFileError) Unwrap() error { return e.Err }

// StateErr reports the first failure to record the state (WithStateFile):
// a journal append, a compaction or the final snapshot of Close that could
// not be written. Once it is non-nil, API calls answer HTTP 500, because
// their changes would not survive a restart. It is nil without a state file.
// Check it after Close to know that the file holds the final state.
func (s *Server) StateErr() error {
	if s.store == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.err
}

// store is the state file of a Server. Its fields are guarded by Server.mu,
// apart from wg.
type store struct {
	path       string
	lock       *os.File // held open while the server runs (nil where unsupported)
	f          *os.File // the state file, written at its end
	line       []byte   // reusable encoding buffer
	fileLines  int      // records in the file
	snapLines  int      // records written by the last snapshot (or loaded)
	compactMin int
	afterSnap  func()   // withAfterSnapshot
	compacting bool     // a compaction writes a new file in the background
	pending    [][]byte // records appended since that compaction's snapshot
	closing    bool     // Close has begun: no new compactions
	closed     bool
	err        error // sticky: the first write failure
	wg         sync.WaitGroup
}

// Records, as they appear in the file.
type (
	stateRecord struct {
		Format  string `json:"format,omitempty"`
		Version int    `json:"version,omitempty"`
		// Reset clears payments, agreements, refunds, tokens and wallets
		// before the rest of the record is applied.
		Reset          bool            `json:"reset,omitempty"`
		Wallets        []walletRecord  `json:"wallets,omitempty"`
		Tokens         []tokenRecord   `json:"tokens,omitempty"`
		ExpireTokensAt time.Time       `json:"expireTokensAt,omitzero"`
		Payments       []paymentRecord `json:"payments,omitempty"`
	}
	walletRecord struct {
		MSISDN  string `json:"msisdn"`
		Balance int64  `json:"balance"` // poisha
		Blocked bool   `json:"blocked,omitempty"`
	}
	tokenRecord struct {
		Kind    string    `json:"kind"` // "id" or "refresh"
		SHA256  string    `json:"sha256"`
		Expires time.Time `json:"expires"`
	}
	paymentRecord struct {
		ID          string `json:"id"`
		Mode        string `json:"mode"`
		Intent      string `json:"intent,omitempty"`
		Currency    string `json:"currency,omitempty"`
		Amount      int64  `json:"amount,omitempty"` // poisha
		AmountText  string `json:"amountText,omitempty"`
		Invoice     string `json:"invoice,omitempty"`
		PayerRef    string `json:"payerRef,omitempty"`
		CallbackURL string `json:"callbackURL"`
		AssocInfo   string `json:"assocInfo,omitempty"`
		Hash        string `json:"hash"`
		Signature   string `json:"signature"`
		Status      string `json:"status,omitempty"`
		Customer    string `json:"customer,omitempty"`
		Wallet      string `json:"wallet,omitempty"`
		Failures    int    `json:"failures,omitempty"`
		TrxID       string `json:"trxID,omitempty"`
		// AgreementID is the agreement a mode-0001 payment is paid with.
		AgreementID string           `json:"agreementID,omitempty"`
		Agreement   *agreementRecord `json:"agreement,omitempty"` // mode 0000
		Refunds     []refundRecord   `json:"refunds,omitempty"`
		Created     time.Time        `json:"created"`
		Executed    time.Time        `json:"executed,omitzero"`
		Updated     time.Time        `json:"updated"`
	}
	agreementRecord struct {
		ID        string    `json:"id,omitempty"` // "" until executed
		PayerRef  string    `json:"payerRef"`
		Wallet    string    `json:"wallet,omitempty"`
		Status    string    `json:"status"`
		Created   time.Time `json:"created"`
		Executed  time.Time `json:"executed,omitzero"`
		Cancelled time.Time `json:"cancelled,omitzero"`
	}
	refundRecord struct {
		TrxID      string    `json:"trxID"`
		Amount     int64     `json:"amount"` // poisha
		AmountText string    `json:"amountText"`
		SKU        string    `json:"sku"`
		Reason     string    `json:"reason"`
		API        string    `json:"api"`
		Completed  time.Time `json:"completed"`
	}
)

// tokenKey is what the server keeps of a token: its SHA-256, so that the
// state file never holds a usable token.
func tokenKey(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func paymentRecordOf(p *payment) paymentRecord {
	r := paymentRecord{
		ID: p.id, Mode: p.mode, Intent: p.intent, Currency: p.currency,
		Amount: int64(p.amount), AmountText: p.amountText,
		Invoice: p.invoice, PayerRef: p.payerRef, CallbackURL: p.callbackURL, AssocInfo: p.assocInfo,
		Hash: p.hash, Signature: p.signature, Status: p.status, Customer: p.customer,
		Wallet: p.wallet, Failures: p.failures, TrxID: p.trxID,
		Created: p.created, Executed: p.executed, Updated: p.updated,
	}
	if ag := p.agreement; ag != nil {
		if p.mode == modeAgreement {
			r.Agreement = &agreementRecord{
				ID: ag.id, PayerRef: ag.payerRef, Wallet: ag.wallet, Status: ag.status,
				Created: ag.created, Executed: ag.executed, Cancelled: ag.cancelled,
			}
		} else {
			r.AgreementID = ag.id
		}
	}
	if len(p.refunds) > 0 {
		r.Refunds = make([]refundRecord, len(p.refunds))
		for i, rf := range p.refunds {
			r.Refunds[i] = refundRecord{
				TrxID: rf.trxID, Amount: int64(rf.amount), AmountText: rf.amountText,
				SKU: rf.sku, Reason: rf.reason, API: rf.api, Completed: rf.completed,
			}
		}
	}
	return r
}

// Recording changes. Each is called with s.mu held, right after the change,
// so that the file sees changes in the order memory did.

// savePaymentLocked records p (whole) and the wallets the change touched.
func (s *Server) savePaymentLocked(p *payment, wallets ...string) {
	if s.store == nil {
		return
	}
	rec := stateRecord{Payments: []paymentRecord{paymentRecordOf(p)}}
	for _, n := range wallets {
		if w := s.wallets[n]; w != nil {
			rec.Wallets = append(rec.Wallets, walletRecord{MSISDN: n, Balance: int64(w.balance), Blocked: w.blocked})
		}
	}
	s.recordLocked(&rec)
}

// saveTokensLocked records issued tokens, given by their keys.
func (s *Server) saveTokensLocked(toks ...tokenRecord) {
	if s.store == nil {
		return
	}
	s.recordLocked(&stateRecord{Tokens: toks})
}

// saveTokenExpiryLocked records that every id_token expired at t.
func (s *Server) saveTokenExpiryLocked(t time.Time) {
	if s.store == nil {
		return
	}
	s.recordLocked(&stateRecord{ExpireTokensAt: t})
}

// saveResetLocked records that the whole state was replaced by the one in
// memory now (for a reset of the fake: cleared maps, fresh wallets). It
// writes one record, so a crash leaves the old state or the new one.
func (s *Server) saveResetLocked() {
	if s.store == nil {
		return
	}
	rec := stateRecord{Reset: true}
	for _, r := range s.snapshotLocked() {
		rec.Wallets = append(rec.Wallets, r.Wallets...)
		rec.Tokens = append(rec.Tokens, r.Tokens...)
		rec.Payments = append(rec.Payments, r.Payments...)
	}
	s.recordLocked(&rec)
}

// recordLocked appends rec to the state file, and starts a compaction when
// the journal has grown as long as the snapshot.
func (s *Server) recordLocked(rec *stateRecord) {
	st := s.store
	if st.closed || st.err != nil {
		return
	}
	line, err := appendRecord(st.line[:0], rec)
	if err == nil {
		st.line = line
		_, err = st.f.Write(line)
	}
	if err != nil {
		st.err = &StateFileError{Path: st.path, Err: fmt.Errorf("appending a record: %w", err)}
		return
	}
	st.fileLines++
	if st.compacting {
		st.pending = append(st.pending, bytes.Clone(line))
		return
	}
	if !st.closing && st.fileLines-st.snapLines >= max(st.compactMin, st.snapLines) {
		st.compacting = true
		snap := s.snapshotLocked()
		st.wg.Add(1)
		go func() {
			defer st.wg.Done()
			s.compact(snap)
		}()
	}
}

// appendRecord appends rec as one line of the state file.
func appendRecord(dst []byte, rec *stateRecord) ([]byte, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return dst, err
	}
	dst = append(dst, `{"c":`...)
	dst = strconv.AppendUint(dst, uint64(crc32.Checksum(raw, castagnoli)), 10)
	dst = append(dst, `,"r":`...)
	dst = append(dst, raw...)
	return append(dst, "}\n"...), nil
}

// snapshotLocked copies the state into the records of a snapshot: the
// header with the wallets, the tokens, then the payments, agreement
// creations first so that the payments made with an agreement find it.
func (s *Server) snapshotLocked() []stateRecord {
	head := stateRecord{Format: stateFormat, Version: stateVersion}
	for _, n := range slices.Sorted(maps.Keys(s.wallets)) {
		w := s.wallets[n]
		head.Wallets = append(head.Wallets, walletRecord{MSISDN: n, Balance: int64(w.balance), Blocked: w.blocked})
	}
	recs := make([]stateRecord, 0, 1+len(s.payments)+(len(s.idTokens)+len(s.refreshTokens))/tokensPerRecord+2)
	recs = append(recs, head)
	var toks []tokenRecord
	addTokens := func(kind string, m map[string]time.Time) {
		for k, exp := range m {
			toks = append(toks, tokenRecord{Kind: kind, SHA256: k, Expires: exp})
			if len(toks) == tokensPerRecord {
				recs = append(recs, stateRecord{Tokens: toks})
				toks = nil
			}
		}
	}
	addTokens("id", s.idTokens)
	addTokens("refresh", s.refreshTokens)
	if len(toks) > 0 {
		recs = append(recs, stateRecord{Tokens: toks})
	}
	for _, agreements := range []bool{true, false} {
		for _, p := range s.payments {
			if (p.mode == modeAgreement) == agreements {
				recs = append(recs, stateRecord{Payments: []paymentRecord{paymentRecordOf(p)}})
			}
		}
	}
	return recs
}

// compact writes snap to a new file, appends what was recorded meanwhile,
// and renames the new file over the state file.
func (s *Server) compact(snap []stateRecord) {
	st := s.store
	f, err := writeSnapshot(st.path, snap)
	if st.afterSnap != nil {
		st.afterSnap()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pending := st.pending
	st.compacting, st.pending = false, nil
	if err == nil {
		err = st.install(f, len(snap), pending)
	}
	if err != nil && st.err == nil {
		st.err = &StateFileError{Path: st.path, Err: fmt.Errorf("compacting: %w", err)}
	}
}

// install makes f, a complete snapshot of snapLines records, the state file
// after appending the records pending since the snapshot was taken.
func (st *store) install(f *os.File, snapLines int, pending [][]byte) error {
	err := func() error {
		for _, line := range pending {
			if _, err := f.Write(line); err != nil {
				return err
			}
		}
		if len(pending) > 0 {
			if err := f.Sync(); err != nil {
				return err
			}
		}
		if err := os.Rename(f.Name(), st.path); err != nil {
			return err
		}
		return syncDir(filepath.Dir(st.path))
	}()
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return err
	}
	_ = st.f.Close() // the replaced file: everything in it is in f
	st.f = f
	st.snapLines, st.fileLines = snapLines, snapLines+len(pending)
	return nil
}

// writeSnapshot writes recs to a new temporary file beside path and syncs
// it. The file is left open, positioned at its end.
func writeSnapshot(path string, recs []stateRecord) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+tempMarker+"*")
	if err != nil {
		return nil, err
	}
	err = func() error {
		w := bufio.NewWriterSize(f, 256<<10)
		var line []byte
		for i := range recs {
			var err error
			if line, err = appendRecord(line[:0], &recs[i]); err != nil {
				return err
			}
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return f.Sync()
	}()
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory
// (and needs not: its renames are journaled with the file).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// openState loads the state file into s (which serves nothing yet) and
// opens it for appending, or creates it.
func (s *Server) openState(path string, compactMin int, afterSnap func()) error {
	st := &store{path: path, compactMin: compactMin, afterSnap: afterSnap}
	if st.compactMin <= 0 {
		st.compactMin = defaultCompactMin
	}
	fail := func(err error) error { return &StateFileError{Path: path, Err: err} }
	lock, err := lockStateFile(path)
	if err != nil {
		return fail(err)
	}
	st.lock = lock
	if err := st.open(s); err != nil {
		if lock != nil {
			_ = lock.Close()
		}
		return err
	}
	s.store = st
	return nil
}

// open loads or creates the state file; the lock is held.
func (st *store) open(s *Server) error {
	path := st.path
	fail := func(err error) error { return &StateFileError{Path: path, Err: err} }
	if err := removeStaleTemps(path); err != nil {
		return fail(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fail(err)
	default:
		n, good, err := s.load(f, path)
		if err != nil {
			_ = f.Close()
			return err
		}
		if n > 0 {
			// Drop a torn last record (a crash in the middle of an append)
			// before appending after it.
			if err := truncateTail(f, good); err != nil {
				_ = f.Close()
				return fail(err)
			}
			st.f, st.fileLines = f, n
			st.snapLines = 1 + len(s.payments) + (len(s.idTokens)+len(s.refreshTokens)+tokensPerRecord-1)/tokensPerRecord
			return nil
		}
		_ = f.Close() // empty: start a new state
	}
	snap := s.snapshotLocked() // s is not shared yet
	nf, err := writeSnapshot(path, snap)
	if err != nil {
		return fail(err)
	}
	if err := os.Rename(nf.Name(), path); err != nil {
		_ = nf.Close()
		_ = os.Remove(nf.Name())
		return fail(err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		_ = nf.Close()
		return fail(err)
	}
	st.f, st.fileLines, st.snapLines = nf, len(snap), len(snap)
	return nil
}

func truncateTail(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == size {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// removeStaleTemps deletes the temporary files a compaction of path left
// behind when its process died.
func removeStaleTemps(path string) error {
	dir, prefix := filepath.Dir(path), filepath.Base(path)+tempMarker
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), prefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// load applies the records of r to s. It returns the number of records and
// the size of the complete ones: bytes after the last newline are a torn
// record, ignored. Anything else that does not read back is an error.
func (s *Server) load(r io.Reader, path string) (n int, good int64, err error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var off int64
	for {
		line, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			// A record longer than the buffer: collect it whole.
			big := bytes.Clone(line)
			for rerr == bufio.ErrBufferFull {
				line, rerr = br.ReadSlice('\n')
				big = append(big, line...)
			}
			line = big
		}
		if rerr == io.EOF {
			return n, off, nil // no newline: empty, or a torn last record
		}
		if rerr != nil {
			return n, off, &StateFileError{Path: path, Err: rerr}
		}
		n++
		if err := s.applyLine(line[:len(line)-1], n); err != nil {
			return n, off, &StateFileError{Path: path, Line: n, Offset: off, Err: err}
		}
		off += int64(len(line))
	}
}

// applyLine checks one record and applies it.
func (s *Server) applyLine(line []byte, n int) error {
	rest, ok := bytes.CutPrefix(line, []byte(`{"c":`))
	i := bytes.IndexByte(rest, ',')
	if !ok || i < 0 {
		return errors.New("not a state record")
	}
	sum, err := strconv.ParseUint(string(rest[:i]), 10, 32)
	if err != nil {
		return errors.New("not a state record: bad checksum field")
	}
	rest, ok = bytes.CutPrefix(rest[i:], []byte(`,"r":`))
	raw, ok2 := bytes.CutSuffix(rest, []byte("}"))
	if !ok || !ok2 {
		return errors.New("not a state record")
	}
	if got := crc32.Checksum(raw, castagnoli); got != uint32(sum) {
		return fmt.Errorf("checksum mismatch (record says %d, content has %d)", sum, got)
	}
	var rec stateRecord
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return fmt.Errorf("bad record: %w", err)
	}
	switch {
	case n == 1 && rec.Format != stateFormat:
		return fmt.Errorf("not a bkashtest state file (format %q)", rec.Format)
	case n == 1 && rec.Version != stateVersion:
		return fmt.Errorf("unknown version %d (this bkashtest reads version %d)", rec.Version, stateVersion)
	case n > 1 && (rec.Format != "" || rec.Version != 0):
		return errors.New("header record after the first line")
	}
	return s.apply(&rec)
}

// apply replays one record onto s. Entities are updated in place, because
// payments made with an agreement point at it, and refunds at their payment.
func (s *Server) apply(rec *stateRecord) error {
	if rec.Reset {
		clear(s.payments)
		clear(s.agreements)
		clear(s.trx)
		clear(s.refundTrx)
		clear(s.idTokens)
		clear(s.refreshTokens)
		clear(s.wallets)
	}
	for _, w := range rec.Wallets {
		if !isWalletNumber(w.MSISDN) {
			return fmt.Errorf("wallet %q is not a wallet number", w.MSISDN)
		}
		cur := s.wallets[w.MSISDN]
		if cur == nil {
			cur = &wallet{}
			s.wallets[w.MSISDN] = cur
		}
		cur.balance, cur.blocked = bkash.Amount(w.Balance), w.Blocked
	}
	for _, t := range rec.Tokens {
		if len(t.SHA256) != sha256.Size*2 {
			return fmt.Errorf("token hash %q is not a SHA-256", t.SHA256)
		}
		switch t.Kind {
		case "id":
			s.idTokens[t.SHA256] = t.Expires
		case "refresh":
			s.refreshTokens[t.SHA256] = t.Expires
		default:
			return fmt.Errorf("unknown token kind %q", t.Kind)
		}
	}
	if !rec.ExpireTokensAt.IsZero() {
		for k := range s.idTokens {
			s.idTokens[k] = rec.ExpireTokensAt
		}
	}
	for i := range rec.Payments {
		if err := s.applyPayment(&rec.Payments[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) applyPayment(r *paymentRecord) error {
	switch {
	case r.ID == "":
		return errors.New("payment without an id")
	case r.Mode != modeAgreement && r.Mode != modeWithAgreement && r.Mode != modeWithoutAgreement:
		return fmt.Errorf("payment %s: unknown mode %q", r.ID, r.Mode)
	case r.Mode == modeAgreement && r.Agreement == nil:
		return fmt.Errorf("payment %s: agreement creation without its agreement", r.ID)
	}
	p := s.payments[r.ID]
	if p == nil {
		p = &payment{}
		s.payments[r.ID] = p
	}
	ag := p.agreement
	*p = payment{
		id: r.ID, mode: r.Mode, intent: r.Intent, currency: r.Currency,
		amount: bkash.Amount(r.Amount), amountText: r.AmountText,
		invoice: r.Invoice, payerRef: r.PayerRef, callbackURL: r.CallbackURL, assocInfo: r.AssocInfo,
		hash: r.Hash, signature: r.Signature, status: r.Status, customer: r.Customer,
		wallet: r.Wallet, failures: r.Failures, trxID: r.TrxID,
		created: r.Created, executed: r.Executed, updated: r.Updated,
	}
	switch r.Mode {
	case modeAgreement:
		if ag == nil {
			ag = &agreement{}
		}
		a := r.Agreement
		*ag = agreement{
			id: a.ID, paymentID: r.ID, payerRef: a.PayerRef, wallet: a.Wallet, status: a.Status,
			created: a.Created, executed: a.Executed, cancelled: a.Cancelled,
		}
		p.agreement = ag
		if ag.id != "" {
			s.agreements[ag.id] = ag
		}
	case modeWithAgreement:
		p.agreement = s.agreements[r.AgreementID]
		if p.agreement == nil {
			return fmt.Errorf("payment %s: agreement %q is not in the file before it", r.ID, r.AgreementID)
		}
	}
	if p.trxID != "" {
		s.trx[p.trxID] = p
	}
	for _, rr := range r.Refunds {
		rf := s.refundTrx[rr.TrxID]
		if rf == nil {
			rf = &refund{}
			s.refundTrx[rr.TrxID] = rf
		}
		*rf = refund{
			trxID: rr.TrxID, payment: p, amount: bkash.Amount(rr.Amount), amountText: rr.AmountText,
			sku: rr.SKU, reason: rr.Reason, api: rr.API, completed: rr.Completed,
		}
		p.refunds = append(p.refunds, rf)
		p.refunded += rf.amount
	}
	return nil
}

// closeState waits for a compaction in progress, writes a final snapshot
// when the file holds journal records, and closes the file.
func (s *Server) closeState() {
	st := s.store
	if st == nil {
		return
	}
	s.mu.Lock()
	st.closing = true
	s.mu.Unlock()
	st.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.closed {
		return
	}
	if st.fileLines > st.snapLines || st.err != nil {
		// After a failed append memory is still the truth: a snapshot of it
		// repairs the file, though StateErr keeps reporting the failure.
		snap := s.snapshotLocked()
		f, err := writeSnapshot(st.path, snap)
		if err == nil {
			err = st.install(f, len(snap), nil)
		}
		if err != nil && st.err == nil {
			st.err = &StateFileError{Path: st.path, Err: fmt.Errorf("writing the final snapshot: %w", err)}
		}
	}
	if err := st.f.Close(); err != nil && st.err == nil {
		st.err = &StateFileError{Path: st.path, Err: err}
	}
	if st.lock != nil {
		_ = st.lock.Close()
	}
	st.closed = true
}

// stateFailed reports whether the state file stopped recording changes.
func (s *Server) stateFailed() bool { return s.store != nil && s.StateErr() != nil }

// stateFailure is the answer while the state file cannot be written: an
// HTTP 500 that the SDK treats as an unknown outcome on money calls, which
// is what it is (the change may be in memory but would not survive a
// restart).
func (s *Server) stateFailure() reply {
	return gatewayError(http.StatusInternalServerError, s.StateErr().Error())
}
