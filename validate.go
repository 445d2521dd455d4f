package bkash

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxTextLen is bKash's limit for invoice numbers, payer references, SKUs,
// reasons and merchantAssociationInfo.
const maxTextLen = 255

// firstError returns the first non-nil error of a params type's field
// checks, given in field order: the first bad field is the one reported.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkText applies bKash's rule for free-text fields: at most 255
// characters and none of '<', '>', '&'. required rejects the empty string.
func checkText(field, v string, required bool) error {
	if v == "" {
		if required {
			return &ValidationError{Field: field, Reason: "is required"}
		}
		return nil
	}
	if n := utf8.RuneCountInString(v); n > maxTextLen {
		return &ValidationError{Field: field, Reason: "is longer than 255 characters"}
	}
	if !utf8.ValidString(v) {
		return &ValidationError{Field: field, Reason: "is not valid UTF-8"}
	}
	if i := strings.IndexAny(v, "<>&"); i >= 0 {
		return &ValidationError{Field: field, Reason: "must not contain " + string(v[i])}
	}
	return nil
}

// checkAmount requires a positive amount. Amount has at most two decimals by
// construction (it counts poisha).
func checkAmount(field string, a Amount) error {
	switch {
	case a == overflowAmount:
		return &ValidationError{Field: field, Reason: "overflowed: Taka was given more taka than an Amount holds"}
	case a <= 0:
		return &ValidationError{Field: field, Reason: "must be positive, got " + a.String()}
	case a > MaxAmount:
		return &ValidationError{Field: field, Reason: "exceeds MaxAmount (" + MaxAmount.String() + "), got " + a.String() + ": an overflowed sum?"}
	}
	return nil
}

// checkID requires an opaque identifier to be present; bKash's IDs have no
// documented shape, so nothing else is checked.
func checkID(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return &ValidationError{Field: field, Reason: "is required"}
	}
	return nil
}

// checkCallbackURL requires an absolute http(s) URL with a host.
func checkCallbackURL(field, v string) error {
	if v == "" {
		return &ValidationError{Field: field, Reason: "is required"}
	}
	u, err := url.Parse(v)
	if err != nil {
		return &ValidationError{Field: field, Reason: "is not a valid URL"}
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return &ValidationError{Field: field, Reason: "must be an absolute http or https URL"}
	}
	if u.Host == "" {
		return &ValidationError{Field: field, Reason: "has no host"}
	}
	if len(v) > 2048 {
		return &ValidationError{Field: field, Reason: "is longer than 2048 characters"}
	}
	return nil
}

// Validate reports the first field of p that CreatePayment would refuse, as
// a *ValidationError, without sending anything; nil when p would be sent.
// PaymentService.Create runs the same checks: Validate lets a caller (a
// form, a command line) report bad input before it has a Client.
func (p *CreatePaymentParams) Validate() error {
	_, err := p.request()
	return err
}

// Validate reports the first field of p that AgreementService.Create would
// refuse, as a *ValidationError, without sending anything.
func (p *CreateAgreementParams) Validate() error { return p.validate() }

// Validate reports the first field of p that RefundService.Create would
// refuse, as a *ValidationError, without sending anything.
func (p *RefundParams) Validate() error { return p.validate() }
