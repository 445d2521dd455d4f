package bkashtest

import "testing"

// BenchmarkCheckoutCycle measures one create + approve + execute cycle over
// HTTP on a keep-alive connection. The target is 1,000 cycles in under five
// seconds on two cores: go test -bench CheckoutCycle -benchtime 1000x.
func BenchmarkCheckoutCycle(b *testing.B) {
	c := newAPI(b)
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
		if err != nil || ex.str("transactionStatus") != "Completed" {
			b.Fatalf("execute: %v %s", err, ex.raw)
		}
	}
}
