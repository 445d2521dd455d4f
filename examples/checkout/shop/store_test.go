package shop

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartdairy/bkash-go"
)

func fixedClock() func() time.Time {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return t0 }
}

func TestStoreReopensWithEverything(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "orders.json")
	s, err := OpenStore(path, fixedClock())
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.CreateOrder("c0123456789abcdef", []Item{{SKU: "milk-1l", Name: "Fresh milk", Qty: 3, UnitPrice: bkash.Taka(95)}})
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "A1001" || o.Total != bkash.Taka(285) {
		t.Fatalf("order %s total %s, want A1001 285.00", o.ID, o.Total)
	}
	o, err = s.UpdateOrder(o.ID, func(o *Order) error {
		o.Attempts = append(o.Attempts, Attempt{PaymentID: "TR0011x", Invoice: "A1001-1", State: AttemptPaid})
		o.Status, o.TrxID, o.Paid = OrderPaid, "TRX1", o.Total
		o.Refunds = []RefundRecord{{RefundTrxID: "R1", Amount: bkash.Poisha(1)}}
		o.RefundPending = &PendingRefund{Amount: bkash.Taka(2), Reason: "r"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutWallet(Wallet{PaymentID: "TR0000y", Customer: "c0123456789abcdef", State: WalletActive, AgreementID: "AG1"}); err != nil {
		t.Fatal(err)
	}

	again, err := OpenStore(path, fixedClock())
	if err != nil {
		t.Fatal(err)
	}
	got, ok := again.Order("A1001")
	if !ok {
		t.Fatal("order lost")
	}
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("reopened order (-want +got):\n%s", diff)
	}
	if w, ok := again.WalletByAgreement("AG1"); !ok || w.PaymentID != "TR0000y" {
		t.Errorf("reopened wallet = %+v, %v", w, ok)
	}
	if o2, _ := again.CreateOrder("c", nil); o2.ID != "A1002" {
		t.Errorf("next order after reopening is %s, want A1002", o2.ID)
	}
}

func TestStoreFailedUpdateChangesNothing(t *testing.T) {
	t.Parallel()
	s, err := OpenStore(filepath.Join(t.TempDir(), "orders.json"), fixedClock())
	if err != nil {
		t.Fatal(err)
	}
	o, _ := s.CreateOrder("c", []Item{{SKU: "a", Qty: 1, UnitPrice: 100}})
	boom := errors.New("boom")
	_, err = s.UpdateOrder(o.ID, func(o *Order) error {
		o.Status = OrderPaid // mutated, then the update fails
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if got, _ := s.Order(o.ID); got.Status != OrderNew {
		t.Errorf("status after a failed update = %s, want %s", got.Status, OrderNew)
	}
	if _, err := s.UpdateOrder("A9999", func(*Order) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown order: err = %v, want ErrNotFound", err)
	}
}

func TestStoreWriteFailureRollsBack(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := OpenStore(filepath.Join(dir, "orders.json"), fixedClock())
	if err != nil {
		t.Fatal(err)
	}
	o, _ := s.CreateOrder("c", nil)
	// Make every write fail (even as root): the directory becomes a file.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateOrder(o.ID, func(o *Order) error { o.Status = OrderPaid; return nil }); err == nil {
		t.Fatal("update succeeded without a directory to write to")
	}
	if got, _ := s.Order(o.ID); got.Status != OrderNew {
		t.Errorf("status after a failed write = %s, want %s", got.Status, OrderNew)
	}
}

func TestStoreConcurrentUpdatesAllLand(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "orders.json")
	s, err := OpenStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := s.CreateOrder("c", nil)
	done := make(chan struct{})
	for i := range 20 {
		go func() {
			defer func() { done <- struct{}{} }()
			_, _ = s.UpdateOrder(o.ID, func(o *Order) error {
				o.Attempts = append(o.Attempts, Attempt{PaymentID: strconv.Itoa(i)})
				return nil
			})
			_ = s.Orders(nil) // readers run alongside writers
		}()
	}
	for range 20 {
		<-done
	}
	again, err := OpenStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := again.Order(o.ID); len(got.Attempts) != 20 {
		t.Errorf("%d attempts on disk, want 20", len(got.Attempts))
	}
}

func TestOpenStoreRejectsACorruptFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "orders.json")
	if err := os.WriteFile(path, []byte(`{"orders": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(path, nil); err == nil {
		t.Error("a truncated file was accepted")
	}
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
