package bkash

import (
	"errors"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCallback(t *testing.T) {
	t.Parallel()
	const id = "TR0011Hk2Lm9P1735713000456"
	tests := []struct {
		name  string
		query string // the raw query string bKash's redirect carries
		want  Callback
	}{
		{
			name:  "success with signature and apiVersion with its trailing slash",
			query: "paymentID=" + id + "&status=success&signature=Qw3Er5Ty7U&apiVersion=1.2.0-beta/",
			want:  Callback{PaymentID: id, Status: CallbackSuccess, Signature: "Qw3Er5Ty7U", APIVersion: "1.2.0-beta/"},
		},
		{
			name:  "failure, legacy: no signature, apiVersion without slash",
			query: "paymentID=" + id + "&status=failure&apiVersion=1.2.0-beta",
			want:  Callback{PaymentID: id, Status: CallbackFailure, APIVersion: "1.2.0-beta"},
		},
		{
			name:  "cancel with neither signature nor apiVersion",
			query: "paymentID=" + id + "&status=cancel",
			want:  Callback{PaymentID: id, Status: CallbackCancel},
		},
		{
			name:  "merchant's own parameters before bKash's",
			query: "order=A-1001&paymentID=" + id + "&status=cancel&signature=Qw3Er5Ty7U&apiVersion=1.2.0-beta/",
			want: Callback{PaymentID: id, Status: CallbackCancel, Signature: "Qw3Er5Ty7U", APIVersion: "1.2.0-beta/",
				Extra: url.Values{"order": {"A-1001"}}},
		},
		{
			name:  "URL-encoded values are decoded, repeated merchant parameters kept",
			query: "paymentID=TR0011%2BAb%2F9&status=success&apiVersion=1.2.0-beta%2F&note=caf%C3%A9+au+lait&tag=a&tag=b",
			want: Callback{PaymentID: "TR0011+Ab/9", Status: CallbackSuccess, APIVersion: "1.2.0-beta/",
				Extra: url.Values{"note": {"café au lait"}, "tag": {"a", "b"}}},
		},
		{
			name:  "portal-style merchant callbackURL with version and product",
			query: "version=v1.2.0-beta&product=tokenized-checkout&paymentID=" + id + "&status=success&signature=cm8HBfl65A",
			want: Callback{PaymentID: id, Status: CallbackSuccess, Signature: "cm8HBfl65A",
				Extra: url.Values{"version": {"v1.2.0-beta"}, "product": {"tokenized-checkout"}}},
		},
		{
			name:  "2020 sandbox execute parameter lands in Extra",
			query: "paymentID=" + id + "&status=success&apiVersion=1.2.0-beta&execute=Payment",
			want:  Callback{PaymentID: id, Status: CallbackSuccess, APIVersion: "1.2.0-beta", Extra: url.Values{"execute": {"Payment"}}},
		},
		{
			name:  "empty signature is absent",
			query: "paymentID=" + id + "&status=success&signature=",
			want:  Callback{PaymentID: id, Status: CallbackSuccess},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseCallback(q)
			if err != nil {
				t.Fatalf("ParseCallback: %v", err)
			}
			if d := cmp.Diff(&tt.want, got); d != "" {
				t.Errorf("Callback (-want +got):\n%s", d)
			}
			if got.Success() != (tt.want.Status == CallbackSuccess) {
				t.Errorf("Success() = %v for status %q", got.Success(), got.Status)
			}
		})
	}
}

func TestParseCallbackRejects(t *testing.T) {
	t.Parallel()
	const id = "TR0011Hk2Lm9P1735713000456"
	tests := []struct {
		name  string
		query string
		field string
	}{
		{"no parameters", "", "callback paymentID"},
		{"missing paymentID", "status=success&signature=Qw3Er5Ty7U", "callback paymentID"},
		{"empty paymentID", "paymentID=&status=success", "callback paymentID"},
		{"blank paymentID", "paymentID=%20%20&status=success", "callback paymentID"},
		{"duplicated paymentID", "paymentID=" + id + "&paymentID=TR0011Other&status=success", "callback paymentID"},
		{"duplicated identical paymentID", "paymentID=" + id + "&paymentID=" + id + "&status=success", "callback paymentID"},
		{"missing status", "paymentID=" + id, "callback status"},
		{"empty status", "paymentID=" + id + "&status=", "callback status"},
		{"unknown status", "paymentID=" + id + "&status=completed", "callback status"},
		{"status in another case", "paymentID=" + id + "&status=Success", "callback status"},
		{"status with a space", "paymentID=" + id + "&status=success%20", "callback status"},
		{"duplicated status", "paymentID=" + id + "&status=failure&status=success", "callback status"},
		{"duplicated signature", "paymentID=" + id + "&status=success&signature=a&signature=b", "callback signature"},
		{"duplicated apiVersion", "paymentID=" + id + "&status=success&apiVersion=1.2.0-beta&apiVersion=1.2.0-beta/", "callback apiVersion"},
		{"paymentId spelling is not paymentID", "paymentId=" + id + "&status=success", "callback paymentID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			cb, err := ParseCallback(q)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v (%T), want *ValidationError", err, err)
			}
			if ve.Field != tt.field {
				t.Errorf("Field = %q, want %q (reason %q)", ve.Field, tt.field, ve.Reason)
			}
			if cb != nil {
				t.Errorf("Callback = %+v, want nil", cb)
			}
		})
	}
}

func TestParseCallbackNamesTheUnknownStatusBriefly(t *testing.T) {
	t.Parallel()
	long := make([]byte, 100)
	for i := range long {
		long[i] = 'x'
	}
	_, err := ParseCallback(url.Values{"paymentID": {"TR1"}, "status": {string(long)}})
	want := `bkash: invalid callback status: must be success, failure or cancel, got "` + string(long[:32]) + `..."`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestParseCallbackExtraIsACopy(t *testing.T) {
	t.Parallel()
	q := url.Values{"paymentID": {"TR1"}, "status": {"success"}, "order": {"A-1"}}
	cb, err := ParseCallback(q)
	if err != nil {
		t.Fatal(err)
	}
	cb.Extra["order"][0] = "changed"
	if q.Get("order") != "A-1" {
		t.Errorf("modifying Extra changed the caller's url.Values: %v", q)
	}
}

func TestCallbackSuccessOnNil(t *testing.T) {
	t.Parallel()
	var cb *Callback
	if cb.Success() {
		t.Error("(*Callback)(nil).Success() = true")
	}
}

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
