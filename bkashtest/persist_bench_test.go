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
// t.TempDir), see TestStateFileScale and BenchmarkCheckoutCycleStateFile:
//
//	100,000 completed sale payments (3 journal records each, compacted
//	on the way and on Close): state file RESULTS_SIZE, Open (load) RESULTS_LOAD,
//	final snapshot on Close RESULTS_CLOSE.
//
//	create + approve + execute over HTTP, same run, -count 3:
//	RESULTS_CYCLE

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
	t.Logf("%d payments: recording %v (%.1f µs per record, compactions included), Close %v, file %.1f MB (%d bytes per payment), Open %v",
		n, record.Round(time.Millisecond), float64(record.Microseconds())/float64(3*n), closing.Round(time.Millisecond),
		float64(fi.Size())/1e6, fi.Size()/int64(n), load.Round(time.Millisecond))
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
