package bkash

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestAPIErrorText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  *APIError
		want string
	}{
		{&APIError{Op: "payment.execute", HTTPStatus: 200, Code: "2023", Message: "Insufficient Balance"},
			"bkash: payment.execute: 2023 Insufficient Balance (http 200)"},
		{&APIError{Op: "payment.execute", HTTPStatus: 200, Code: "2023"},
			"bkash: payment.execute: 2023 Insufficient Balance (http 200)"},
		{&APIError{Op: "payment.query", HTTPStatus: 401, Message: "Unauthorized"},
			"bkash: payment.query: Unauthorized (http 401)"},
		{&APIError{Op: "refund.create", HTTPStatus: 400, Code: "4711", Message: "Something new"},
			"bkash: refund.create: 4711 Something new (http 400)"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestAPIErrorMatchesItsCode(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("charging: %w", &APIError{Op: "payment.execute", HTTPStatus: 200, Code: CodeInsufficientBalance})
	if !errors.Is(err, CodeInsufficientBalance) {
		t.Error("errors.Is(err, CodeInsufficientBalance) = false")
	}
	if errors.Is(err, CodeWrongPIN) || errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, errors.New("2023")) {
		t.Error("matched something else")
	}
}

func TestAPIErrorClass(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err       *APIError
		class     ErrorClass
		temporary bool
	}{
		{&APIError{HTTPStatus: 401}, ClassAuth, false},
		{&APIError{HTTPStatus: 403, Message: "Forbidden"}, ClassAuth, false},
		{&APIError{HTTPStatus: 503}, ClassTransient, true}, // the gateway's "not sent, retry later"
		{&APIError{HTTPStatus: 429}, ClassTransient, true},
		{&APIError{HTTPStatus: 500}, ClassUnknown, false},
		{&APIError{HTTPStatus: 200, Code: "2023"}, ClassCustomer, false},
		{&APIError{HTTPStatus: 200, Code: "9999"}, ClassTransient, true},
		{&APIError{HTTPStatus: 200, Code: "503"}, ClassTransient, true},
		{&APIError{HTTPStatus: 200, Code: "2079"}, ClassAuth, false},
		{&APIError{HTTPStatus: 200, Code: "2117"}, ClassAlreadyDone, false},
		{&APIError{HTTPStatus: 400, Code: "2071"}, ClassRefund, false},
		{&APIError{HTTPStatus: 200, Code: "7777"}, ClassUnknown, false},
	}
	for _, tc := range cases {
		if got := tc.err.Class(); got != tc.class {
			t.Errorf("%+v: Class = %v, want %v", tc.err, got, tc.class)
		}
		if got := tc.err.Temporary(); got != tc.temporary {
			t.Errorf("%+v: Temporary = %v", tc.err, got)
		}
	}
}

func TestEveryPublishedCodeHasAMessageAndAClass(t *testing.T) {
	t.Parallel()
	// bKash's table (docs/wire.md, "Status codes"): 2001-2069, 2071-2082,
	// 2116-2119, 2127, 9999, 503 and 0000.
	var published []ErrorCode
	for _, r := range [][2]int{{2001, 2069}, {2071, 2082}, {2116, 2119}, {2127, 2127}, {9999, 9999}, {503, 503}} {
		for n := r[0]; n <= r[1]; n++ {
			published = append(published, ErrorCode(strconv.Itoa(n)))
		}
	}
	published = append(published, CodeSuccessful)
	for _, code := range published {
		if _, ok := codeInfo[code]; !ok {
			t.Errorf("published code %s is missing", code)
		}
	}
	if len(codeInfo) != len(published) {
		t.Errorf("%d codes known, %d published", len(codeInfo), len(published))
	}
	for code, info := range codeInfo {
		if info.msg == "" {
			t.Errorf("%s has no message", code)
		}
		if code != CodeSuccessful && info.class == ClassUnknown {
			t.Errorf("%s has no class", code)
		}
		if got := code.Error(); got != "bkash: "+string(code)+" "+info.msg {
			t.Errorf("Error() = %q", got)
		}
	}
	want := map[ErrorCode]ErrorClass{
		CodeInvalidAppKey: ClassAuth, CodeInvalidPaymentID: ClassNotFound, CodeInsufficientBalance: ClassCustomer,
		CodeDuplicateTransaction: ClassState, CodeAgreementAlreadyCancelled: ClassAlreadyDone,
		CodeInvalidPaymentState: ClassState, CodePaymentAlreadyCompleted: ClassAlreadyDone,
		CodeExecutionAlreadyCompleted: ClassAlreadyDone, CodeInvalidAppToken: ClassAuth,
		CodeSystemError: ClassTransient, CodeInvalidCallbackURL: ClassValidation,
		CodeMerchantNotPermitted: ClassPermission, CodeRefundWindowExpired: ClassRefund,
	}
	for code, class := range want {
		if code.Class() != class {
			t.Errorf("%s: %v, want %v", code, code.Class(), class)
		}
	}
	if ErrorCode("0001").Class() != ClassUnknown || ErrorCode("0001").Message() != "" {
		t.Error("an unknown code is not ClassUnknown")
	}
}

func TestErrorClassNames(t *testing.T) {
	t.Parallel()
	want := []string{"unknown", "customer", "validation", "state", "already-done", "transient", "auth", "refund", "permission", "not-found"}
	for i, w := range want {
		if got := ErrorClass(i).String(); got != w {
			t.Errorf("%d: %q, want %q", i, got, w)
		}
	}
	if got := ErrorClass(42).String(); got != "ErrorClass(42)" {
		t.Errorf("out of range: %q", got)
	}
}

func TestOutcomeUnknownError(t *testing.T) {
	t.Parallel()
	cause := context.DeadlineExceeded
	cases := []struct {
		op   string
		want string
	}{
		{"payment.execute", "bkash: payment.execute: outcome unknown (not re-sent; call Payments.Query): context deadline exceeded"},
		{"payment.capture", "bkash: payment.capture: outcome unknown (not re-sent; call Payments.Query): context deadline exceeded"},
		{"refund.create", "bkash: refund.create: outcome unknown (not re-sent; it may still complete at bKash until SettleAfter: call Refunds.Settle before refunding again): context deadline exceeded"},
		{"agreement.execute", "bkash: agreement.execute: outcome unknown (not re-sent; call Agreements.Query or Payments.Query): context deadline exceeded"},
		{"payment.create", "bkash: payment.create: outcome unknown (no money moved; create a new one): context deadline exceeded"},
		{"agreement.create", "bkash: agreement.create: outcome unknown (no money moved; create a new one): context deadline exceeded"},
		{"agreement.cancel", "bkash: agreement.cancel: outcome unknown: context deadline exceeded"},
		{"payment.query", "bkash: payment.query: outcome unknown: context deadline exceeded"},
	}
	for _, tc := range cases {
		err := error(&OutcomeUnknownError{Op: tc.op, Attempts: 1, Err: cause})
		if got := err.Error(); got != tc.want {
			t.Errorf("Error() = %q\nwant      %q", got, tc.want)
		}
		if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: Is/Unwrap broken", tc.op)
		}
	}
	if got := (&OutcomeUnknownError{Op: "payment.void"}).Error(); got != "bkash: payment.void: outcome unknown (not re-sent; call Payments.Query)" {
		t.Errorf("without cause: %q", got)
	}
	var ou *OutcomeUnknownError
	if !errors.As(fmt.Errorf("wrapped: %w", &OutcomeUnknownError{Op: "x"}), &ou) || ou.Op != "x" {
		t.Error("errors.As through a wrap")
	}
}

func TestValidationError(t *testing.T) {
	t.Parallel()
	err := error(&ValidationError{Field: "CreatePaymentParams.Amount", Reason: "must be positive, got 0.00"})
	if got := err.Error(); got != "bkash: invalid CreatePaymentParams.Amount: must be positive, got 0.00" {
		t.Errorf("Error() = %q", got)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "CreatePaymentParams.Amount" {
		t.Error("errors.As")
	}
}

func TestSentinelErrorsAreDistinct(t *testing.T) {
	t.Parallel()
	all := []error{ErrOutcomeUnknown, ErrTokenBudgetExceeded, ErrLockNotAcquired}
	for i, a := range all {
		if !strings.HasPrefix(a.Error(), "bkash: ") {
			t.Errorf("%q lacks the prefix", a)
		}
		for j, b := range all {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
	if got := errorf("payment.query", "bad %s", "thing").Error(); got != "bkash: payment.query: bad thing" {
		t.Errorf("errorf = %q", got)
	}
}
