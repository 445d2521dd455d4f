package bkash

import (
	"context"
	"errors"
	"strconv"
)

// Outcome is how a call ended, as its last AttemptEvent reports it. The
// zero value marks an event that is not the call's last.
type Outcome uint8

const (
	// OutcomeOK: bKash answered with success.
	OutcomeOK Outcome = iota + 1
	// OutcomeRefused: a definite refusal, by bKash (an *APIError with its
	// code) or before anything was sent (a *ValidationError). Nothing
	// happened that the call asked for.
	OutcomeRefused
	// OutcomeUnknown: the call may or may not have taken effect (an
	// *OutcomeUnknownError). Reconcile it with a read.
	OutcomeUnknown
	// OutcomeFailed: no definite answer, and nothing to be unsure of: a
	// read that ran out of attempts, or a call that was never sent (a
	// cancelled context, a spent token budget, bKash unreachable).
	OutcomeFailed
)

// String returns "ok", "refused", "unknown" or "failed" ("none" for the
// zero value).
func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeRefused:
		return "refused"
	case OutcomeUnknown:
		return "unknown"
	case OutcomeFailed:
		return "failed"
	case 0:
		return "none"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText returns String, so that JSON and slog show the name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// OutcomeOf classifies the error a call returned: nil is OutcomeOK, an
// *OutcomeUnknownError OutcomeUnknown, an *APIError or *ValidationError
// OutcomeRefused, anything else OutcomeFailed. The unknown outcome is
// checked first: it wins over an *APIError it may wrap.
func OutcomeOf(err error) Outcome {
	var unknown *OutcomeUnknownError
	var api *APIError
	var invalid *ValidationError
	switch {
	case err == nil:
		return OutcomeOK
	case errors.As(err, &unknown):
		return OutcomeUnknown
	case errors.As(err, &api), errors.As(err, &invalid):
		return OutcomeRefused
	}
	return OutcomeFailed
}

// StartObserver is implemented by an Observer that wants to know when a
// call or a token renewal begins, for example to start a trace span that
// the call's last event ends. The context it returns replaces the caller's
// for the rest of the call: the call's events carry it, and a token renewal
// the call triggers starts from it (so a renewal span nests under the call
// span, and the grant's call span under the renewal span). Return ctx itself
// when there is nothing to add. Like Observer's, its methods must be fast
// and safe for concurrent use.
type StartObserver interface {
	Observer
	// StartCall is called once per call, before its first attempt (and
	// before its token is fetched). Calls refused by validation never
	// start.
	StartCall(ctx context.Context, call CallInfo) context.Context
	// StartTokenRenewal is called before each grant or refresh, kind being
	// "grant" or "refresh". The renewal's TokenRenewalEvent follows, also
	// when the renewal budget refuses it.
	StartTokenRenewal(ctx context.Context, kind string) context.Context
}

// CallInfo names a call that is starting: the same values as the call
// fields of its AttemptEvents.
type CallInfo struct {
	Op      string // e.g. "payment.execute"
	Class   string // retry class: "read", "create", "money" or "cancel"
	RefKind string // what Ref is: "paymentID", "trxID", "agreementID" or "merchantInvoiceNumber"
	Ref     string // the payment, transaction or agreement the call names
	URL     string // the endpoint's URL: no query, no credentials
}

// retryClassNames are the retry classes' names in events.
var retryClassNames = [...]string{classRead: "read", classCreate: "create", classMoney: "money", classCancel: "cancel"}

func className(c retryClass) string {
	if int(c) < len(retryClassNames) {
		return retryClassNames[c]
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
