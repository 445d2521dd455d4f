package bkash

import (
	"errors"
	"net/url"
	"testing"
)

// FuzzParseCallback feeds arbitrary query strings to ParseCallback. It must
// never panic; it either refuses with a *ValidationError or returns a
// callback with a paymentID and one of the three statuses, which survives
// being encoded and parsed again.
func FuzzParseCallback(f *testing.F) {
	for _, seed := range []string{
		"paymentID=TR0011Hk2Lm9P1735713000456&status=success&signature=Qw3Er5Ty7U&apiVersion=1.2.0-beta/",
		"order=A-1001&paymentID=TR0011Hk2Lm9P1735713000456&status=cancel&signature=Qw3Er5Ty7U&apiVersion=1.2.0-beta/",
		"paymentID=TR0011Hk2Lm9P1735713000456&status=failure&apiVersion=1.2.0-beta",
		"paymentID=&status=success",
		"paymentID=a&paymentID=b&status=success",
		"status=SUCCESS&paymentID=x",
		"paymentID=%zz&status=success",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		cb, err := ParseCallback(q)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseCallback(%q) error %T %v, want *ValidationError", raw, err, err)
			}
			return
		}
		if cb.PaymentID == "" {
			t.Fatalf("ParseCallback(%q) accepted an empty paymentID", raw)
		}
		switch cb.Status {
		case CallbackSuccess, CallbackFailure, CallbackCancel:
		default:
			t.Fatalf("ParseCallback(%q) accepted status %q", raw, cb.Status)
		}
		again := url.Values{}
		for k, vs := range cb.Extra {
			again[k] = vs
		}
		again.Set("paymentID", cb.PaymentID)
		again.Set("status", string(cb.Status))
		if q.Has("signature") {
			again.Set("signature", cb.Signature)
		}
		if q.Has("apiVersion") {
			again.Set("apiVersion", cb.APIVersion)
		}
		cb2, err := ParseCallback(again)
		if err != nil {
			t.Fatalf("re-parsing %q: %v", again.Encode(), err)
		}
		if cb2.PaymentID != cb.PaymentID || cb2.Status != cb.Status || cb2.Signature != cb.Signature || cb2.APIVersion != cb.APIVersion {
			t.Fatalf("round trip changed the callback: %+v -> %+v", cb, cb2)
		}
	})
}
