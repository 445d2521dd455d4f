package bkash

import "testing"

// TestInvoiceWalletNumbersAreMasked: an invoice number built from the
// customer's phone number reaches the log line's reference, the observer's
// Ref (and so spans and audit rows) and the logged body masked.
func TestInvoiceWalletNumbersAreMasked(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ORD-01929384756-3": "ORD-019****4756-3",
		"8801929384756":     "880****4756",
		"01929384756":       "019****4756",
		"INV-20261206-0042": "INV-20261206-0042", // a date and a counter stay
		"01229384756":       "01229384756",       // 012 is no wallet prefix
		"":                  "",
	} {
		if got := maskWallets(in); got != want {
			t.Errorf("maskWallets(%q) = %q, want %q", in, got, want)
		}
	}
	r := &createPaymentRequest{MerchantInvoiceNumber: "ORD-01929384756-3"}
	if _, v := r.logRef(); v != "ORD-019****4756-3" {
		t.Errorf("logRef = %q", v)
	}
	got := redactBody([]byte(`{"merchantInvoiceNumber":"ORD-01929384756-3","merchantInvoice":"01929384756"}`))
	if want := `{"merchantInvoiceNumber":"ORD-019****4756-3","merchantInvoice":"019****4756"}`; got != want {
		t.Errorf("redactBody = %s, want %s", got, want)
	}
}
