package shop

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/examples/checkout/internal/pgtest"
)

func fixedClock() func() time.Time {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	return func() time.Time { return t0 }
}

// databases runs fn on a fresh SQLite file and a fresh PostgreSQL database
// (skipped when PostgreSQL is unreachable, unless BKASH_REQUIRE_POSTGRES=1).
// fn gets the DSN to open.
func databases(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, filepath.Join(t.TempDir(), "sub", "shop.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, pgtest.NewDatabase(t))
	})
}

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), dsn, fixedClock())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestMigrationsAreAppliedOnceAtStart(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		// Two processes starting at once on an empty database: one applies
		// the migrations, the other waits and finds them applied.
		var wg sync.WaitGroup
		stores := make([]*Store, 2)
		errs := make([]error, 2)
		for i := range stores {
			wg.Go(func() { stores[i], errs[i] = OpenStore(context.Background(), dsn, fixedClock()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("open #%d: %v", i, err)
			}
			defer stores[i].Close()
		}
		again := open(t, dsn) // a restart applies nothing
		got, err := again.Migrations(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"0001_orders", "0002_audit_logs", "0003_wallet_callback_key", "0004_bkash_token"}, got); diff != "" {
			t.Errorf("schema_migrations (-want +got):\n%s", diff)
		}
	})
}

// otherProcessOnANewFile makes a new SQLite file, not in WAL mode, and
// begins a transaction on it through a connection of its own, as another
// process would; the transaction takes its lock at its first statement.
func otherProcessOnANewFile(t *testing.T) (path string, tx *sql.Tx) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "shop.db")
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	if _, err := other.Exec(`CREATE TABLE other_process (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	tx, err = other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	return path, tx
}

// Switching a new SQLite file to WAL needs the file's exclusive lock, and
// SQLite does not wait for it while another connection writes the file, or
// is switching it too (it sees a deadlock): it fails at once with
// SQLITE_BUSY, whatever busy_timeout says. Two shop processes starting
// together on a new file failed so (TestMigrationsAreAppliedOnceAtStart, on
// CI). Here another process writes the new file for 300 ms: OpenStore must
// wait for it and then switch the file to WAL. Without the retry in useWAL
// it fails every time, within a millisecond.
func TestOpenStoreWaitsForAnotherProcessWritingTheNewFile(t *testing.T) {
	path, w := otherProcessOnANewFile(t)
	if _, err := w.Exec(`INSERT INTO other_process VALUES (1)`); err != nil { // holds the write lock
		t.Fatal(err)
	}
	const hold = 300 * time.Millisecond
	committed := make(chan error, 1)
	go func() {
		time.Sleep(hold)
		committed <- w.Commit()
	}()
	start := time.Now()
	s, err := OpenStore(context.Background(), path, fixedClock())
	took := time.Since(start)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("OpenStore failed after %v while another process wrote the new file for %v: %v", took, hold, err)
	}
	defer s.Close()
	var mode string
	if err := s.DB().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal mode %q, want wal", mode)
	}
	if took > 5*time.Second {
		t.Errorf("OpenStore took %v; the other process let go after %v", took, hold)
	}
}

// While another process holds a lock on a new file, the switch to WAL
// waits; OpenStore stops waiting when its context ends, instead of after
// busy_timeout's 10 s.
func TestOpenStoreStopsWaitingWhenTheContextEnds(t *testing.T) {
	path, read := otherProcessOnANewFile(t)
	var n int
	if err := read.QueryRow(`SELECT COUNT(*) FROM other_process`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err := OpenStore(ctx, path, fixedClock())
	if err == nil {
		s.Close()
		t.Fatal("OpenStore succeeded while another process held a lock on the new file")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("OpenStore took %v after its context ended at 100 ms", took)
	}
}

func TestStoreKeepsEverythingAcrossReopen(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		o, err := s.CreateOrder("c0123456789abcdef", []Item{
			{SKU: "milk-1l", Name: "Fresh milk", Qty: 3, UnitPrice: bkash.Taka(95)},
			{SKU: "ghee-200", Name: "Cow ghee", Qty: 1, UnitPrice: bkash.Poisha(42050)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if o.ID != "A1001" || o.Total != bkash.Poisha(70550) {
			t.Fatalf("order %s total %s, want A1001 705.50", o.ID, o.Total)
		}
		o, err = s.UpdateOrder(o.ID, func(o *Order) error {
			o.Attempts = append(o.Attempts,
				Attempt{PaymentID: "TR0011x", Invoice: "A1001-1", Mode: "0011", State: AttemptPaid, KeyHash: "h1", CreatedAt: time.Unix(1, 0).UTC()},
				Attempt{PaymentID: "TR0011y", Invoice: "A1001-2", Mode: "0011", State: AttemptNotTaken, Note: "n", KeyHash: "h2", CreatedAt: time.Unix(2, 0).UTC()})
			o.Status, o.PaymentID, o.TrxID, o.Paid, o.Payer = OrderPaid, "TR0011x", "TRX1", o.Total, "017****8575"
			o.PaidAt = time.Unix(3, 5).UTC()
			o.Refunds = []RefundRecord{{RefundTrxID: "R1", Amount: bkash.Poisha(1), Status: "Completed", At: time.Unix(4, 0).UTC()}}
			o.RefundPending = &PendingRefund{Amount: bkash.Taka(2), Reason: "r", At: time.Unix(5, 0).UTC(), Note: "x"}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutWallet(Wallet{PaymentID: "TR0000y", Customer: "c0123456789abcdef", State: WalletPending}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateWallet("TR0000y", func(w *Wallet) error {
			w.State, w.AgreementID, w.MSISDN = WalletActive, "AG1", "016****7283"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()

		again := open(t, dsn)
		got, err := again.Order("A1001")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(o, got); diff != "" {
			t.Errorf("reopened order (-want +got):\n%s", diff)
		}
		if byPID, err := again.OrderByPaymentID("TR0011y"); err != nil || byPID.ID != "A1001" {
			t.Errorf("OrderByPaymentID = %s, %v", byPID.ID, err)
		}
		if w, err := again.WalletByAgreement("AG1"); err != nil || w.PaymentID != "TR0000y" || w.State != WalletActive {
			t.Errorf("reopened wallet = %+v, %v", w, err)
		}
		if o2, _ := again.CreateOrder("c", nil); o2.ID != "A1002" {
			t.Errorf("next order after reopening is %s, want A1002", o2.ID)
		}
		if _, err := again.Order("A9999"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown order: err = %v, want ErrNotFound", err)
		}
	})
}

func TestStoreRefusesWhatWouldCountMoneyTwice(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		a, _ := s.CreateOrder("c", []Item{{SKU: "a", Name: "a", Qty: 1, UnitPrice: 100}})
		b, _ := s.CreateOrder("c", []Item{{SKU: "a", Name: "a", Qty: 1, UnitPrice: 100}})
		pay := func(id, pid, inv, trx string) error {
			_, err := s.UpdateOrder(id, func(o *Order) error {
				o.Attempts = append(o.Attempts, Attempt{PaymentID: pid, Invoice: inv, Mode: "0011", State: AttemptPaid, KeyHash: "h"})
				o.Status, o.TrxID = OrderPaid, trx
				return nil
			})
			return err
		}
		if err := pay(a.ID, "P1", a.ID+"-1", "TRX1"); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{
			"the same trxID on another order":     pay(b.ID, "P2", b.ID+"-1", "TRX1"),
			"the same paymentID on another order": pay(b.ID, "P1", b.ID+"-2", "TRX2"),
			"the same invoice number":             pay(b.ID, "P3", a.ID+"-1", "TRX3"),
		} {
			if err == nil {
				t.Errorf("%s was accepted", name)
			}
		}
		// A refused change leaves nothing behind.
		if got, _ := s.Order(b.ID); got.Status != OrderNew || len(got.Attempts) != 0 || got.TrxID != "" {
			t.Errorf("order %s after refused changes: %s %+v %q", b.ID, got.Status, got.Attempts, got.TrxID)
		}
		if used, err := s.TrxIDUsed("TRX1", b.ID); err != nil || !used {
			t.Errorf("TrxIDUsed = %v, %v; want true", used, err)
		}
		boom := errors.New("boom")
		if _, err := s.UpdateOrder(a.ID, func(o *Order) error { o.Status = OrderUnpaid; return boom }); !errors.Is(err, boom) {
			t.Errorf("err = %v, want boom", err)
		}
		if got, _ := s.Order(a.ID); got.Status != OrderPaid {
			t.Errorf("status after a failed update = %s, want paid", got.Status)
		}
	})
}

func TestConcurrentUpdatesOfAnOrderAllLand(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		// Two handles on one database stand for two replicas.
		s1, s2 := open(t, dsn), open(t, dsn)
		o, _ := s1.CreateOrder("c", nil)
		var wg sync.WaitGroup
		for i := range 20 {
			s := s1
			if i%2 == 1 {
				s = s2
			}
			wg.Go(func() {
				_, err := s.UpdateOrder(o.ID, func(o *Order) error {
					o.NextTry++ // a read-modify-write: lost updates would show
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got, _ := s1.Order(o.ID); got.NextTry != 20 {
			t.Errorf("next_try = %d after 20 increments from two handles, want 20", got.NextTry)
		}
	})
}

// TestUpdateThatChangesNothingWritesNothing: a replayed callback, a late
// reconciler pass or a second webhook over a settled order runs an
// UpdateOrder whose function changes nothing; the order, updated_at
// included, must stay as it was.
func TestUpdateThatChangesNothingWritesNothing(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		var tick atomic.Int64
		clock := func() time.Time { return time.Unix(1_800_000_000+tick.Add(1), 0).UTC() }
		s, err := OpenStore(context.Background(), dsn, clock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		o, err := s.CreateOrder("c", []Item{{SKU: "milk-1l", Name: "Fresh milk", Qty: 1, UnitPrice: bkash.Taka(95)}})
		if err != nil {
			t.Fatal(err)
		}
		o, err = s.UpdateOrder(o.ID, func(o *Order) error {
			o.Attempts = append(o.Attempts, Attempt{PaymentID: "TR1", Invoice: o.ID + "-1", Mode: "0011", State: AttemptPaid, KeyHash: "h"})
			o.Status = OrderPaid
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		same, err := s.UpdateOrder(o.ID, func(o *Order) error {
			if a, _ := o.Attempt("TR1"); a.State == AttemptPaid {
				a.State = AttemptPaid // what a replay sets: what is there
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(o, same); diff != "" {
			t.Errorf("an update that changed nothing changed the order (-before +after):\n%s", diff)
		}
		changed, err := s.UpdateOrder(o.ID, func(o *Order) error { o.Note = "checked"; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !changed.UpdatedAt.After(o.UpdatedAt) || changed.Note != "checked" {
			t.Errorf("a real change: note %q, updated_at %v (was %v); want it written with a later time", changed.Note, changed.UpdatedAt, o.UpdatedAt)
		}
	})
}

func TestCartCookieIsResolvedAgainstTheCatalog(t *testing.T) {
	t.Parallel()
	s := &Shop{catalog: DefaultCatalog}
	for _, tc := range []struct {
		in   string
		want string
		tot  bkash.Amount
	}{
		{"milk-1l:2,ghee-200:1", "milk-1l:2,ghee-200:1", bkash.Taka(610) + 50},
		{"milk-1l:2,milk-1l:5", "milk-1l:2", bkash.Taka(190)},
		{"nope:1,milk-1l:0,milk-1l:-3,ghee-200:99,doi-500:x", "", 0},
		{"", "", 0},
	} {
		c := s.parseCart(tc.in)
		if c.Encode() != tc.want || c.Total != tc.tot {
			t.Errorf("parseCart(%q) = %q total %s, want %q total %s", tc.in, c.Encode(), c.Total, tc.want, tc.tot)
		}
	}
	c := s.add(s.parseCart("milk-1l:1"), "milk-1l", -1)
	if !c.Empty() {
		t.Errorf("removing the last milk left %q", c.Encode())
	}
}

func TestGroupThousands(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"0.05": "0.05", "950.00": "950.00", "1250.50": "1,250.50", "1234567.00": "1,234,567.00", "-1000.00": "-1,000.00"} {
		if got := groupThousands(in); got != want {
			t.Errorf("groupThousands(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTimesAreShownInDhaka(t *testing.T) {
	t.Parallel()
	got := when(time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC))
	if want := "6 Dec 2026, 12:30:00 am (Dhaka)"; got != want {
		t.Errorf("when = %q, want %q", got, want)
	}
	if when(time.Time{}) != "" {
		t.Error("the zero time is not blank")
	}
}

func TestRedactBodyHidesSecretsAndMasksWallets(t *testing.T) {
	t.Parallel()
	in := `{"app_key":"KEY-123","app_secret":"SEC-456","id_token":"eyJ.x.y","refresh_token":"r",
"payerReference":"01770618575","customerMsisdn":"8801619777283",
"callbackURL":"http://shop/bkash/callback/AbCdEfGhIjKlMnOpQrStUv","link":"http://shop/bkash/agreement/callback/WxYz0123456789-_abcdef","amount":"10.00","nested":{"password":"pw"}}`
	got := redactBody([]byte(in))
	for _, secret := range []string{"KEY-123", "SEC-456", "eyJ.x.y", `"r"`, "pw", "01770618575", "8801619777283", "AbCdEfGhIjKlMnOpQrStUv", "WxYz0123456789-_abcdef"} {
		if contains(got, secret) {
			t.Errorf("redacted body keeps %q: %s", secret, got)
		}
	}
	for _, kept := range []string{`"amount":"10.00"`, "017****8575", "/bkash/callback/[REDACTED]", "/bkash/agreement/callback/[REDACTED]"} {
		if !contains(got, kept) {
			t.Errorf("redacted body lost %q: %s", kept, got)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
