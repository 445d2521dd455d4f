package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunAgainstTheFake(t *testing.T) {
	for _, k := range []string{"BKASH_USERNAME", "BKASH_PASSWORD", "BKASH_APP_KEY", "BKASH_APP_SECRET"} {
		t.Setenv(k, "") // never the real sandbox in tests
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out, strings.NewReader("")); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"Using a fake bKash",
		"1. Paid 500.00 BDT: paymentID TR0011",
		"2. Refunded 120.50 BDT: refundTrxID ",
		"3. Refund status of ",
		"120.50 BDT Completed",
		"4. Refund of 100.00 BDT: bkash: refund.create: outcome unknown",
		"Settled: it went through, ",
		"Not sent again.",
		"5. Refunding 280.50 BDT when 279.50 is left: refused, The reversal amount cannot be greater than the original transaction amount (code 2026)",
		"Done.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
