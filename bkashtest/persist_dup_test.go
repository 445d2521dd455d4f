package bkashtest

import (
	"bytes"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
)

// TestStateFileDuplicatedRecordsCountNothingTwice: a state file whose
// records were copied twice (a careless `cat state >> state` minus the
// header, a backup tool replaying a journal) must rebuild the same state:
// each record holds whole entities, so applying it again changes nothing —
// no refund, balance or payment counted twice.
func TestStateFileDuplicatedRecordsCountNothingTwice(t *testing.T) {
	t.Parallel()
	const wallet = "01711000002"
	clock := fixedClock(t)
	path := statePath(t)
	c := openState(t, path, WithClock(clock.Now), WithWallet(wallet, bkash.Taka(500)), WithTokenLifetime(24*time.Hour))
	id := c.createPayment("120.00", "sale")
	if err := c.srv.Approve(id, wallet); err != nil {
		t.Fatal(err)
	}
	trx := mustOK(t, "execute", c.call(executePath, map[string]string{"paymentID": id})).str("trxID")
	mustOK(t, "refund", c.call(refundPath, v1Refund(id, trx, "30.00")))
	mustOK(t, "refund", c.call(refundPath, v1Refund(id, trx, "20.00")))
	before, _ := c.srv.Payment(id)
	refunds := c.srv.RefundsOf(trx)
	c.srv.Close()

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok || len(rest) == 0 {
		t.Fatalf("state file has no record after its header:\n%s", b)
	}
	dup := append(append(append(append([]byte{}, header...), '\n'), rest...), rest...)
	if err := os.WriteFile(path, dup, 0o600); err != nil {
		t.Fatal(err)
	}

	c = openState(t, path, WithClock(clock.Now), WithTokenLifetime(24*time.Hour))
	after, ok := c.srv.Payment(id)
	if !ok {
		t.Fatalf("payment %s lost", id)
	}
	if after.Refunded != before.Refunded || after.Status != before.Status || after.TrxID != before.TrxID || after.Amount != before.Amount {
		t.Errorf("payment after loading duplicated records: refunded %v, %s, trx %s, amount %v; want refunded %v, %s, trx %s, amount %v",
			after.Refunded, after.Status, after.TrxID, after.Amount, before.Refunded, before.Status, before.TrxID, before.Amount)
	}
	if diff := cmp.Diff(refunds, c.srv.RefundsOf(trx)); diff != "" {
		t.Errorf("refunds after loading duplicated records (-before +after):\n%s", diff)
	}
	if got, _ := c.srv.WalletBalance(wallet); got != bkash.Taka(430) {
		t.Errorf("wallet balance = %v, want 430.00 (500 - 120 + 50)", got)
	}
	// What is left to refund is still 70.00, not 120.00 - 2 x 50.00.
	over := c.call(refundPath, v1Refund(id, trx, "70.01"))
	if over.status == http.StatusOK && over.str("refundTrxID") != "" {
		t.Errorf("a refund past the remaining 70.00 was accepted: %s", over.raw)
	}
	mustOK(t, "refund of the rest", c.call(refundPath, v1Refund(id, trx, "70.00")))
}
