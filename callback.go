package bkash

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// CallbackStatus is the status bKash puts on the callback URL: what the
// customer did on bKash's page.
type CallbackStatus string

// The three callback statuses, exactly as bKash spells them.
const (
	// CallbackSuccess: the customer approved; call Finalize (or Execute).
	CallbackSuccess CallbackStatus = "success"
	// CallbackFailure: the customer failed (wrong OTP/PIN, ...); do not execute.
	CallbackFailure CallbackStatus = "failure"
	// CallbackCancel: the customer cancelled; do not execute.
	CallbackCancel CallbackStatus = "cancel"
)

// The query parameters bKash appends to the merchant's callbackURL.
const (
	cbPaymentID  = "paymentID"
	cbStatus     = "status"
	cbSignature  = "signature"
	cbAPIVersion = "apiVersion"
)

// Callback is the customer's return from bKash's page to the merchant's
// callbackURL. It is not proof of payment: the redirect can be forged or
// replayed. Match PaymentID to a payment you created, and let Finalize (or
// Execute and Query) decide, server to server.
type Callback struct {
	PaymentID string
	Status    CallbackStatus
	// Signature is bKash's opaque signature parameter (10 alphanumerics), or
	// "" when absent. It is the same in the success, failure and cancel URLs
	// of one payment, so it does not authenticate Status; no verification
	// method is published.
	Signature string
	// APIVersion is the apiVersion parameter verbatim, e.g. "1.2.0-beta/"
	// (current, with its trailing slash) or "1.2.0-beta"; "" when absent.
	APIVersion string
	// Extra holds every other query parameter: the merchant's own ones from
	// its callbackURL (e.g. an order number), already URL-decoded. It is nil
	// when there are none, and is a copy that the caller may modify.
	Extra url.Values
}

// Success reports whether the customer approved the payment on bKash's page
// (status=success). It does not mean the money moved: that takes Execute or
// Finalize.
func (c *Callback) Success() bool { return c != nil && c.Status == CallbackSuccess }

// ParseCallback reads the query of the request bKash redirected the customer
// to, typically r.URL.Query(). It returns a *ValidationError when paymentID
// is missing or empty, when status is anything but success, failure or
// cancel, or when paymentID, status, signature or apiVersion appears more
// than once (a merchant callbackURL must not use those four names for its
// own parameters). Parameter names and status values are case-sensitive, as
// bKash sends them.
func ParseCallback(q url.Values) (*Callback, error) {
	var cb Callback
	for _, name := range [...]string{cbPaymentID, cbStatus, cbSignature, cbAPIVersion} {
		if len(q[name]) > 1 {
			return nil, &ValidationError{Field: "callback " + name, Reason: "appears more than once"}
		}
	}
	cb.PaymentID = q.Get(cbPaymentID)
	if strings.TrimSpace(cb.PaymentID) == "" {
		return nil, &ValidationError{Field: "callback " + cbPaymentID, Reason: "is missing or empty"}
	}
	cb.Status = CallbackStatus(q.Get(cbStatus))
	switch cb.Status {
	case CallbackSuccess, CallbackFailure, CallbackCancel:
	case "":
		return nil, &ValidationError{Field: "callback " + cbStatus, Reason: "is missing or empty"}
	default:
		v := string(cb.Status)
		if len(v) > 32 {
			v = v[:32] + "..."
		}
		return nil, &ValidationError{Field: "callback " + cbStatus, Reason: "must be success, failure or cancel, got " + strconv.Quote(v)}
	}
	cb.Signature = q.Get(cbSignature)
	cb.APIVersion = q.Get(cbAPIVersion)
	for k, v := range q {
		switch k {
		case cbPaymentID, cbStatus, cbSignature, cbAPIVersion:
			continue
		}
		if cb.Extra == nil {
			cb.Extra = make(url.Values, len(q))
		}
		cb.Extra[k] = slices.Clone(v)
	}
	return &cb, nil
}
