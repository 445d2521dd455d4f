package bkash

import (
	"strings"
	"testing"
)

func TestRedactBody(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
	}{
		{"empty", ``, ``},
		{"grant request", `{"app_key":"k1","app_secret":"s3cr3t"}`, `{"app_key":"k1","app_secret":"[REDACTED]"}`},
		{"token answer", `{"id_token":"eyJa","refresh_token":"eyJb","expires_in":3600,"token_type":"Bearer"}`,
			`{"id_token":"[REDACTED]","refresh_token":"[REDACTED]","expires_in":3600,"token_type":"Bearer"}`},
		{"keys are matched without case", `{"ID_Token":"eyJa","Password":"p","Authorization":"x","Signature":"sig","token":"t"}`,
			`{"ID_Token":"[REDACTED]","Password":"[REDACTED]","Authorization":"[REDACTED]","Signature":"[REDACTED]","token":"[REDACTED]"}`},
		{"wallets masked", `{"customerMsisdn":"01770618575","payerReference":"01929918378","debitMSISDN":"8801770618575","amount":"12.50"}`,
			`{"customerMsisdn":"017****8575","payerReference":"019****8378","debitMSISDN":"880****8575","amount":"12.50"}`},
		{"nested and in arrays", `{"refundTransactions":[{"msisdn":"01770618575","password":"p"}],"x":{"app_secret":1}}`,
			`{"refundTransactions":[{"msisdn":"017****8575","password":"[REDACTED]"}],"x":{"app_secret":"[REDACTED]"}}`},
		{"array of secrets", `{"id_token":["a","b"]}`, `{"id_token":["[REDACTED]","[REDACTED]"]}`},
		{"object under a secret key", `{"token":{"value":"eyJa","exp":3600}}`, `{"token":{"value":"[REDACTED]","exp":"[REDACTED]"}}`},
		{"non-string secret", `{"password":12345678}`, `{"password":"[REDACTED]"}`},
		{"short wallet", `{"wallet":"0177"}`, `{"wallet":"****"}`},
		{"numbers kept exactly", `{"amount":1250.50,"big":12345678901234567890}`, `{"amount":1250.50,"big":12345678901234567890}`},
		// Keys match as encoding/json matches them: ſ (U+017F) folds to s
		// and the Kelvin sign to k, so these are the refresh and id tokens.
		{"folded keys", `{"refre\u017fh_token":"eyJb","id_to\u212aen":"eyJa","app_\u017fecret":"s"}`,
			`{"refreſh_token":"[REDACTED]","id_toKen":"[REDACTED]","app_ſecret":"[REDACTED]"}`},
		{"escaped ASCII in a key", `{"\u0070assword":"p","p\u0061ssword":"q"}`, `{"password":"[REDACTED]","password":"[REDACTED]"}`},
		// Callback URLs may carry a merchant's secret in their query.
		{"callback URLs lose their query", `{"callbackURL":"https://shop.example/bkash/cb?order=42&key=S3CRET","successCallbackURL":"https://shop.example/bkash/cb?order=42&key=S3CRET&paymentID=TR1&status=success","bkashURL":"https://sandbox.payment.bkash.com/?paymentId=TR1&hash=H4SH","plainURL":"https://shop.example/bkash/cb"}`,
			`{"callbackURL":"https://shop.example/bkash/cb?[REDACTED]","successCallbackURL":"https://shop.example/bkash/cb?[REDACTED]","bkashURL":"https://sandbox.payment.bkash.com/?[REDACTED]","plainURL":"https://shop.example/bkash/cb"}`},
		{"URL fragment and user info", `{"callbackURL":"https://user:pw@shop.example/cb#tok","x_url":"not a url?secret=1","CALLBACKURL":"https://shop.example/cb?"}`,
			`{"callbackURL":"https://[REDACTED]@shop.example/cb#[REDACTED]","x_url":"not a url?[REDACTED]","CALLBACKURL":"https://shop.example/cb?[REDACTED]"}`},
		{"not JSON", `<html>id_token=eyJa</html>`, `[26 bytes, not JSON]`},
		{"truncated", `{"id_token":"eyJa`, `[17 bytes, not JSON]`},
		{"trailing data", `{"a":1}{"id_token":"eyJa"}`, `[26 bytes, not JSON]`},
	}
	for _, tc := range cases {
		if got := redactBody([]byte(tc.in)); got != tc.want {
			t.Errorf("%s:\n got  %s\n want %s", tc.name, got, tc.want)
		}
	}
}

func TestMaskMSISDN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"01770618575":   "017****8575",
		"8801770618575": "880****8575",
		"12345678":      "123****5678",
		"1234567":       "****",
		"":              "****",
	} {
		if got := MaskMSISDN(in); got != want {
			t.Errorf("MaskMSISDN(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedactBodyUnparseableURL: a callback URL that net/url cannot parse
// (an invalid escape after user info) fell back to "keep everything before
// the first '?', '#' or '@'", which is exactly the user info with its
// password. An unparseable URL keeps neither its user info, nor its query,
// nor its fragment.
func TestRedactBodyUnparseableURL(t *testing.T) {
	t.Parallel()
	const secret = "cb-S3CRET"
	for _, in := range []string{
		`{"callbackURL":"https://shop:` + secret + `@shop.example/cb/%zz"}`,
		`{"callbackURL":"https://shop:` + secret + `@shop.example/cb/%zz?x=1"}`,
		`{"successCallbackURL":"shop:` + secret + `@shop.example/cb"}`,
		`{"callbackURL":"//shop:` + secret + `@shop.example/cb"}`,
		`{"callbackURL":"https://shop.example/cb/%zz?token=` + secret + `"}`,
		`{"callbackURL":"https://shop.example/cb/%zz#` + secret + `"}`,
		`{"callbackURL":"https://a@b:` + secret + `@shop.example/%zz"}`,
	} {
		got := redactBody([]byte(in))
		if strings.Contains(got, secret) {
			t.Errorf("redactBody(%s) = %s: prints the secret", in, got)
		}
		if !strings.Contains(got, "[REDACTED]") {
			t.Errorf("redactBody(%s) = %s: nothing redacted", in, got)
		}
	}
}

// TestInvoiceWalletNumbersAreMasked: an invoice number built from the
// customer's phone number reaches the log line's reference, the observer's
// Ref (and so spans and audit rows) and the logged body masked.
func TestInvoiceWalletNumbersAreMasked(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ORD-01929384756-3": "ORD-019****4756-3",
		"8801929384756":     "880****4756",
		"01929384756":       "019****4756",
		"INV-20261206-0042": "INV-20261206-0042", // a date and a counter stay
		"01229384756":       "01229384756",       // 012 is no wallet prefix
		"":                  "",
	} {
		if got := maskWallets(in); got != want {
			t.Errorf("maskWallets(%q) = %q, want %q", in, got, want)
		}
	}
	r := &createPaymentRequest{MerchantInvoiceNumber: "ORD-01929384756-3"}
	if _, v := r.logRef(); v != "ORD-019****4756-3" {
		t.Errorf("logRef = %q", v)
	}
	got := redactBody([]byte(`{"merchantInvoiceNumber":"ORD-01929384756-3","merchantInvoice":"01929384756"}`))
	if want := `{"merchantInvoiceNumber":"ORD-019****4756-3","merchantInvoice":"019****4756"}`; got != want {
		t.Errorf("redactBody = %s, want %s", got, want)
	}
}
