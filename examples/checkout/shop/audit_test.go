package shop

import "testing"

func TestMaskTextMasksWholeWalletNumbersOnly(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"payer 01770618575 paid", "payer 017****8575 paid"},
		{"payer +8801770618575", "payer +88****8575"},
		{"ORD-01770618575-3", "ORD-017****8575-3"},
		// A payment ID ends in epoch milliseconds: a random "0" before
		// "1765..." is not a wallet, and the ID must stay searchable.
		{`"paymentID":"TR0011ro5LbR01765009179282"`, `"paymentID":"TR0011ro5LbR01765009179282"`},
		{"a run 0177061857512 of 13 digits", "a run 0177061857512 of 13 digits"},
		{"02770618575 is no wallet", "02770618575 is no wallet"},
		{"/bkash/callback/abcDEF_12-3?x=1", "/bkash/callback/[REDACTED]?x=1"},
	}
	for _, tt := range tests {
		if got := maskText(tt.in); got != tt.want {
			t.Errorf("maskText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
