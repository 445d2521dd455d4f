package bkash

import (
	"strconv"
	"testing"
)

func TestEveryCodeHasAdvice(t *testing.T) {
	t.Parallel()
	codes := ErrorCodes()
	if len(codes) != len(codeInfo) {
		t.Fatalf("ErrorCodes() has %d codes, the table %d", len(codes), len(codeInfo))
	}
	prev := -1
	for _, c := range codes {
		n, err := strconv.Atoi(string(c))
		if err != nil || n <= prev {
			t.Errorf("ErrorCodes() not in numeric order at %s", c)
		}
		prev = n
		if c.Advice() == "" {
			t.Errorf("%s has no advice", c)
		}
	}
	for c := range codeAdvice {
		if _, ok := codeInfo[c]; !ok {
			t.Errorf("advice for %s, which is not in the code table", c)
		}
	}
	for cl := range len(classNames) {
		if ErrorClass(cl).Advice() == "" {
			t.Errorf("class %s has no advice", ErrorClass(cl))
		}
	}
	if got, want := ErrorCode("1234").Advice(), ClassUnknown.Advice(); got != want {
		t.Errorf("unknown code's advice = %q, want the unknown class's", got)
	}
	if got, want := ErrorClass(99).Advice(), ClassUnknown.Advice(); got != want {
		t.Errorf("ErrorClass(99).Advice() = %q", got)
	}
	if CodeInvalidPaymentState.Advice() == ClassState.Advice() || CodeWrongPIN.Advice() != ClassCustomer.Advice() {
		t.Error("a code's own advice does not override its class's, or a class's advice is not the default")
	}
}
