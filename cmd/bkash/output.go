package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/smartdairy/bkash-go"
)

// field is one line of human output: "Label   value".
type field struct {
	label string
	value string
}

// emit prints a result: v as indented JSON with --json, else the non-empty
// fields as an aligned table.
func (a *app) emit(v any, fields []field) error {
	if a.g.json {
		return writeJSON(a.stdout, v)
	}
	writeFields(a.stdout, fields)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // bkashURL carries '&'
	return enc.Encode(v)
}

func writeFields(w io.Writer, fields []field) {
	width := 0
	for _, f := range fields {
		if f.value != "" {
			width = max(width, len(f.label))
		}
	}
	for _, f := range fields {
		if f.value != "" {
			fmt.Fprintf(w, "%-*s  %s\n", width, f.label, f.value)
		}
	}
}

// callCtx bounds one call to bKash by --timeout.
func (a *app) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(a.ctx, a.g.timeout)
}

// unknownError is an *bkash.OutcomeUnknownError with the advice the command
// prints about how to find out what happened.
type unknownError struct {
	err    error
	advice string
}

func (e *unknownError) Error() string { return e.err.Error() }
func (e *unknownError) Unwrap() error { return e.err }

// withAdvice attaches advice to err when the outcome of the call is unknown.
func withAdvice(err error, advice string) error {
	if err != nil && errors.Is(err, bkash.ErrOutcomeUnknown) {
		return &unknownError{err: err, advice: advice}
	}
	return err
}

// rejectedError is a webhook message that failed verification (exit 1).
type rejectedError struct{ err error }

func (e *rejectedError) Error() string { return "rejected: " + e.err.Error() }
func (e *rejectedError) Unwrap() error { return e.err }

// jsonError is the --json form of a failure.
type jsonError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Kind       string `json:"kind"` // bkash, outcome_unknown, invalid_input, rejected, other
	Op         string `json:"op,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Advice     string `json:"advice,omitempty"`
	Hint       string `json:"hint,omitempty"`
	ExitCode   int    `json:"exit_code"`
}

// reportError prints a failure (on stderr, prefixed with the command's name
// as the go command does; with --json also as JSON on stdout) and returns
// its exit code.
func (a *app) reportError(path []*command, err error) int {
	b := classify(err)
	if refusal, hint, ok := budgetRefusal(err); ok {
		if b.Kind != "other" {
			// After bKash's answer to an earlier attempt, which is the message.
			b.Message += "; not retried: " + refusal
		}
		b.Hint = strings.TrimPrefix(b.Hint+"\n"+hint, "\n")
	}
	if a.budget != nil && errors.Is(err, context.DeadlineExceeded) {
		if lock := a.budget.waitingFor(); lock != "" {
			// The run ran out of time waiting for another run's lock on the
			// count, not for bKash.
			b.Message += " (waiting for the lock " + lock + ", held by another process, before sending a grant or refresh)"
		}
	}
	if a.g.json {
		_ = writeJSON(a.stdout, jsonError{b})
	}
	name := fullName(path)
	switch b.Kind {
	case "bkash":
		if b.Code != "" {
			fmt.Fprintf(a.stderr, "%s: bKash error %s: %s (%s, http %d)\n", name, b.Code, b.Message, b.Op, b.HTTPStatus)
		} else {
			fmt.Fprintf(a.stderr, "%s: bKash refused the request: %s (%s, http %d)\n", name, b.Message, b.Op, b.HTTPStatus)
		}
		if b.Hint != "" {
			fmt.Fprintln(a.stderr, b.Hint)
		}
	case "outcome_unknown":
		fmt.Fprintf(a.stderr, "%s: OUTCOME UNKNOWN: %s\n", name, b.Message)
		if b.Advice != "" {
			fmt.Fprintf(a.stderr, "\n%s\n", b.Advice)
		}
	case "invalid_input":
		fmt.Fprintf(a.stderr, "%s: invalid input: %s\n", name, b.Message)
	default:
		fmt.Fprintf(a.stderr, "%s: %s\n", name, b.Message)
		if b.Hint != "" {
			fmt.Fprintln(a.stderr, b.Hint)
		}
	}
	return b.ExitCode
}

// fieldFlags names the flag (or argument) that carries each field the SDK
// validates, so that a *bkash.ValidationError reads as the command line the
// user typed ("--callback must be ...") rather than as Go
// ("CreatePaymentParams.CallbackURL").
var fieldFlags = map[string]string{
	"CreatePaymentParams.Amount":                  "--amount",
	"CreatePaymentParams.InvoiceNumber":           "--invoice",
	"CreatePaymentParams.PayerReference":          "--payer-ref",
	"CreatePaymentParams.CallbackURL":             "--callback",
	"CreatePaymentParams.AgreementID":             "--agreement",
	"CreatePaymentParams.Intent":                  "--intent",
	"CreatePaymentParams.MerchantAssociationInfo": "--merchant-info",
	"CreateAgreementParams.PayerReference":        "--payer-ref",
	"CreateAgreementParams.CallbackURL":           "--callback",
	"RefundParams.PaymentID":                      "--payment-id",
	"RefundParams.TrxID":                          "--trx-id",
	"RefundParams.Amount":                         "--amount",
	"RefundParams.SKU":                            "--sku",
	"RefundParams.Reason":                         "--reason",
	"paymentID":                                   "<paymentID>",
	"trxID":                                       "<trxID>",
	"agreementID":                                 "<agreementID>",
}

// flagError turns a *bkash.ValidationError of the command line's input into
// a usage error naming the flag (exit 2); other errors pass unchanged.
func flagError(err error) error {
	var ve *bkash.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	if f, ok := fieldFlags[ve.Field]; ok {
		return usagef("%s %s", f, ve.Reason)
	}
	return err
}

func classify(err error) errorBody {
	var (
		ae *bkash.APIError
		ue *unknownError
		oe *bkash.OutcomeUnknownError
		ve *bkash.ValidationError
		re *rejectedError
	)
	switch {
	case errors.As(err, &ue) && errors.As(err, &oe):
		return errorBody{Kind: "outcome_unknown", Op: oe.Op, Message: err.Error(), Advice: ue.advice, ExitCode: exitUnknown}
	case errors.As(err, &oe):
		return errorBody{Kind: "outcome_unknown", Op: oe.Op, Message: err.Error(), Advice: genericAdvice(oe.Op), ExitCode: exitUnknown}
	case errors.As(err, &ae):
		msg := ae.Message
		if msg == "" {
			msg = ae.Code.Message()
		}
		return errorBody{Kind: "bkash", Op: ae.Op, Code: string(ae.Code), Message: msg, HTTPStatus: ae.HTTPStatus, Hint: codeHints[ae.Code], ExitCode: exitBkash}
	case errors.As(err, &re):
		return errorBody{Kind: "rejected", Message: err.Error(), ExitCode: exitBkash}
	case errors.As(err, &ve):
		msg := strings.TrimPrefix(err.Error(), "bkash: ")
		if f, ok := fieldFlags[ve.Field]; ok {
			msg = f + " " + ve.Reason
		}
		return errorBody{Kind: "invalid_input", Message: msg, ExitCode: exitUsage}
	}
	return errorBody{Kind: "other", Message: err.Error(), ExitCode: exitOther}
}

// budgetHint explains a refusal of the renewal budget (budgetfile.go).
const budgetHint = "bKash blocks an app that sends more than two grant or refresh requests an hour, failed ones included, so a user's runs of bkash on this machine share one count of them per app. Until the time above, only commands that can use a token cached by an earlier run work."

// budgetFailHint explains a refusal because the count could not be kept.
const budgetFailHint = "bkash sends no grant or refresh request while it cannot count them: bKash blocks an app that sends more than two an hour. Fix what the message names and run again."

// budgetRefusal finds the renewal budget's refusal of a grant or refresh
// request in err, which may be the refusal alone or an earlier attempt's
// failure with the refusal of its retry joined to it, and returns its text
// and hint.
func budgetRefusal(err error) (msg, hint string, ok bool) {
	refusal := findRefusal(err)
	if refusal == nil {
		return "", "", false
	}
	hint = budgetHint
	if errors.Is(refusal, errCountNotKept) {
		hint = budgetFailHint
	}
	return strings.TrimPrefix(refusal.Error(), "bkash: "), hint, true
}

// findRefusal returns the part of err that is the renewal budget's refusal,
// without the bKash answers it may be joined to, or nil.
func findRefusal(err error) error {
	if !errors.Is(err, bkash.ErrTokenBudgetExceeded) {
		return nil
	}
	var ae *bkash.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if r := findRefusal(e); r != nil {
				return r
			}
		}
	case interface{ Unwrap() error }:
		return findRefusal(u.Unwrap())
	}
	return nil
}

// codeHints say what an operator usually does next after a bKash code.
var codeHints = map[bkash.ErrorCode]string{
	bkash.CodeInvalidPaymentState:       "The customer has not approved the payment (or cancelled it): check with 'bkash payment query <paymentID>'.",
	bkash.CodeExecutionAlreadyCompleted: "The payment was executed before: 'bkash payment query <paymentID>' shows its result.",
	bkash.CodePaymentAlreadyCompleted:   "The payment was executed before: 'bkash payment query <paymentID>' shows its result.",
	bkash.CodeRefundExceedsOriginal:     "Check what was refunded already: 'bkash refund status <paymentID> <trxID>'.",
	bkash.CodeRefundAmountInvalid:       "Check what was refunded already: 'bkash refund status <paymentID> <trxID>'.",
}

// genericAdvice covers an unknown outcome the command did not annotate.
func genericAdvice(op string) string {
	switch {
	case strings.HasPrefix(op, "refund."):
		return "The refund may have been made, and may still be running at bKash for a minute. Do not refund again: settle it with 'bkash refund settle' (see 'bkash refund settle -h')."
	case op == "payment.create" || op == "agreement.create":
		return "No money moved. Create a new one if needed."
	}
	return "The request may have reached bKash. Do not repeat it: check with 'bkash payment query <paymentID>'."
}
