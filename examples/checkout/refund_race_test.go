package main

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/examples/checkout/internal/pgtest"
)

// TestConcurrentRefundsOfAnOrderRefundOnce sends the same full refund from
// several admin tabs at once: bKash must see one refund, and the order must
// record exactly what was paid back.
func TestConcurrentRefundsOfAnOrderRefundOnce(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		concurrentRefunds(t, startShop(t, ""))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		concurrentRefunds(t, startShopWith(t, options{databaseURL: pgtest.NewDatabase(t)}))
	})
}

func concurrentRefunds(t *testing.T, ts *testShop) {
	o := ts.paidOrder(map[string]int{"milk-1l": 2})
	const tabs = 6
	var wg sync.WaitGroup
	statuses := make([]int, tabs)
	for i := range tabs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = ts.post("/admin/orders/"+o.ID+"/refund", url.Values{"full": {"1"}, "reason": {"double click"}}).status
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d refund requests answered 200 (%v), want exactly 1", ok, tabs, statuses)
	}
	if n := ts.fake.Received("refund.create"); n != 1 {
		t.Errorf("refund.create reached bKash %d times, want 1", n)
	}
	var atBkash bkash.Amount
	for _, r := range ts.fake.RefundsOf(o.TrxID) {
		atBkash += r.Amount
	}
	got := ts.order(o.ID)
	if atBkash != o.Paid || got.Refunded() != o.Paid || !got.FullyRefunded() {
		t.Errorf("paid %s; bKash refunded %s, the order records %s", o.Paid, atBkash, got.Refunded())
	}
}
