package bkashtest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
)

// Measured on the shared 2-core machine (go1.26, linux/amd64, ext4 under
// t.TempDir) while seven other builds ran on it: load average 6 to 20, so
// the absolute times are inflated, several-fold at the worst moments.
//
// TestStateFileScale, 100,000 completed sale payments (300,000 journal
// records, compacted on the way and on Close), final code, load 12-14:
//
//	state file 55.8 MB (557 bytes per payment)
//	Open (load) 5.3 s; Close (final snapshot) 1.4 s
//	a compaction holds the server's lock 21 ms to start (wallets, tokens,
//	the list of payments) and 0.6 ms per chunk of 1,024 payments
//	recording 43 µs per record, compactions included
//
// Before the chunked copy, a compaction held the lock for the copy of the
// whole state: 0.75 s, 1.2 s and 3.0 s at 100,000 payments (load 13-20).
// Earlier runs at load 8-19 loaded the same file in 5.6 s to 8.9 s.
//
// With 2,000 payments at load 7: 1.1 MB, Open 38 ms, Close 64 ms.
// BenchmarkStateFileLoad, 10,000 payments: 58 ms at best (GOMAXPROCS=1),
// 145-500 ms while the machine was busiest; about 6 µs per record when a
// core is free, most of it encoding/json.
//
// BenchmarkCheckoutCycleStateFile, create + approve + execute over HTTP,
// -benchtime 2000x -count 3, same run, load 6-8:
//
//	memory     245, 240, 254 µs per cycle (about 4,100 cycles/s)
//	statefile  292, 290, 407 µs per cycle (about 3,400 cycles/s)
//
// BenchmarkStateFileRecord: 27-41 µs per record at load 20; its CPU profile
// says about 10 µs, half JSON encoding, half the write(2).
// addCompletedPayments records n completed sale payments the way the
// handlers do (create, approve, execute: three journal records each),
// without HTTP, to build large states quickly.
func addCompletedPayments(t testing.TB, s *Server, n int) {
	t.Helper()
	now := s.now()
	for i := range n {
		amount := bkash.Amount(1000 + i%5000)
		p := &payment{
			mode: modeWithoutAgreement, intent: intentSale, currency: "BDT",
			amount: amount, amountText: amount.String(),
			invoice: "INV-" + strconv.Itoa(i), payerRef: walletOK, callbackURL: callbackBase,
			status: statusInitiated, created: now, updated: now,
		}
		s.mu.Lock()
		s.issueLocked(p, now)
		s.savePaymentLocked(p)
		p.customer, p.wallet = customerSuccess, walletOK
		s.savePaymentLocked(p)
		code := s.executePaymentLocked(p, now)
		s.mu.Unlock()
		if code != "" {
			t.Fatalf("execute: %s", code)
		}
	}
}

// TestStateFileScale builds a state of many payments, closes it, and loads
// it again, logging the file size and the times. It uses 2,000 payments;
// BKASHTEST_STATE_PAYMENTS=100000 measures the size of the issue.
func TestStateFileScale(t *testing.T) {
	n := 2000
	if v := os.Getenv("BKASHTEST_STATE_PAYMENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("BKASHTEST_STATE_PAYMENTS=%q", v)
		}
	}
	path := filepath.Join(t.TempDir(), "state.jsonl")
	clock := fixedClock(t)
	srv, err := Open(WithStateFile(path), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	addCompletedPayments(t, srv, n)
	record := time.Since(start)
	// What a compaction costs the requests waiting for the lock: its start
	// (wallets, tokens, the list of payments), and the copy of one chunk of
	// payments, the longest it holds the lock.
	start = time.Now()
	srv.mu.Lock()
	sn := srv.planSnapshotLocked()
	srv.mu.Unlock()
	plan := time.Since(start)
	start = time.Now()
	srv.mu.Lock()
	chunk := sn.chunkLocked(0, min(snapshotChunk, n))
	srv.mu.Unlock()
	held := time.Since(start)
	if sn.records() != n+1 || len(chunk) != min(snapshotChunk, n) { // the header and the payments: no token was granted
		t.Errorf("snapshot of %d records, want %d", sn.records(), n+1)
	}
	start = time.Now()
	srv.Close()
	closing := time.Since(start)
	if err := srv.StateErr(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	srv2, err := Open(WithStateFile(path), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	load := time.Since(start)
	defer srv2.Close()
	if got := countPayments(srv2); got != n {
		t.Fatalf("loaded %d payments, want %d", got, n)
	}
	want, _ := srv.WalletBalance(walletOK)
	if got, _ := srv2.WalletBalance(walletOK); got != want {
		t.Errorf("balance after load %v, want %v", got, want)
	}
	t.Logf("%d payments: recording %v (%.1f µs per record, compactions included), a compaction holds the lock %v to start, %v per chunk, Close %v, file %.1f MB (%d bytes per payment), Open %v",
		n, record.Round(time.Millisecond), float64(record.Microseconds())/float64(3*n), plan.Round(100*time.Microsecond), held.Round(100*time.Microsecond),
		closing.Round(time.Millisecond), float64(fi.Size())/1e6, fi.Size()/int64(n), load.Round(time.Millisecond))
}

// BenchmarkCheckoutCycleStateFile compares one create + approve + execute
// cycle over HTTP without and with a state file, in the same run:
// go test -run '^$' -bench CheckoutCycleStateFile -benchtime 2000x -count 3.
func BenchmarkCheckoutCycleStateFile(b *testing.B) {
	for _, withFile := range []bool{false, true} {
		name := "memory"
		var opts []Option
		if withFile {
			name = "statefile"
			opts = append(opts, WithStateFile(filepath.Join(b.TempDir(), "state.jsonl")))
		}
		b.Run(name, func(b *testing.B) {
			c := newAPI(b, opts...)
			c.grant()
			create := paymentBody("1250.50", "sale")
			for b.Loop() {
				cr, err := c.trySend(createPath, create, c.authHeaders())
				if err != nil {
					b.Fatal(err)
				}
				id := cr.str("paymentID")
				if err := c.srv.Approve(id, walletOK); err != nil {
					b.Fatal(err)
				}
				ex, err := c.trySend(executePath, map[string]string{"paymentID": id}, c.authHeaders())
				if err != nil || ex.str("transactionStatus") != statusCompleted {
					b.Fatalf("execute: %v %s", err, ex.raw)
				}
			}
			b.StopTimer()
			c.srv.Close()
			if err := c.srv.StateErr(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkStateFileLoad measures Open on a state file of 10,000 completed
// payments.
func BenchmarkStateFileLoad(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state.jsonl")
	srv, err := Open(WithStateFile(path))
	if err != nil {
		b.Fatal(err)
	}
	addCompletedPayments(b, srv, 10_000)
	srv.Close()
	if err := srv.StateErr(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := Open(WithStateFile(path))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		leaveJournal(s) // no final snapshot: nothing changed
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkStateFileRecord measures what one change costs the server with a
// state file: encoding the payment's record and appending it (compactions
// included, every 4,096 records of this small state).
func BenchmarkStateFileRecord(b *testing.B) {
	srv, err := Open(WithStateFile(filepath.Join(b.TempDir(), "state.jsonl")))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	addCompletedPayments(b, srv, 1)
	srv.mu.Lock()
	var p *payment
	for _, q := range srv.payments {
		p = q
	}
	srv.mu.Unlock()
	for b.Loop() {
		srv.mu.Lock()
		srv.savePaymentLocked(p, p.wallet)
		srv.mu.Unlock()
	}
}
