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
		"1. Agreement created: paymentID TR0000",
		"2. Agreement executed: agreementID ",
		"for wallet 017****8575 (Completed)",
		"3. Payment created with the saved wallet: paymentID TR0001",
		"mode 0001, amount 250.00",
		"Payment Completed: trxID ",
		"4. Agreement ",
		" is Completed",
		"Cancel #1: agreement ",
		"Cancel #2: agreement ",
		"Done.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), " is Cancelled"); n != 2 {
		t.Errorf("%d cancels report Cancelled, want 2:\n%s", n, out.String())
	}
}
