package bkash

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// Request encoding and response decoding of every endpoint: the SDK's own
// encoder and decoder against encoding/json on an equivalent struct of
// plain strings, measured in the same run. The SDK side is exactly what a
// call does: encodeRequest for the body, decodeInto plus the conversion to
// the public type for the answer. Its decoders do more than the baseline
// (amounts to poisha, timestamps to time.Time, every spelling variant), so
// the decode ratio is the price of that work.

// Equivalent request structs, as a hand-written integration would marshal
// them. The amount is already text: the baseline formats nothing.
type (
	jsonTokenRequest struct {
		AppKey       string `json:"app_key"`
		AppSecret    string `json:"app_secret"`
		RefreshToken string `json:"refresh_token,omitempty"`
	}
	jsonCreatePaymentRequest struct {
		Mode                  string `json:"mode"`
		PayerReference        string `json:"payerReference"`
		CallbackURL           string `json:"callbackURL"`
		Amount                string `json:"amount"`
		Currency              string `json:"currency"`
		Intent                string `json:"intent"`
		MerchantInvoiceNumber string `json:"merchantInvoiceNumber"`
	}
	jsonPaymentIDRequest struct {
		PaymentID string `json:"paymentID"`
	}
	jsonTrxIDRequest struct {
		TrxID string `json:"trxID"`
	}
	jsonAgreementCreateRequest struct {
		Mode           string `json:"mode"`
		PayerReference string `json:"payerReference"`
		CallbackURL    string `json:"callbackURL"`
	}
	jsonAgreementIDRequest struct {
		AgreementID string `json:"agreementID"`
	}
	jsonRefundV1Request struct {
		PaymentID string `json:"paymentID"`
		Amount    string `json:"amount"`
		TrxID     string `json:"trxID"`
		SKU       string `json:"sku"`
		Reason    string `json:"reason"`
	}
	jsonRefundV2Request struct {
		PaymentID    string `json:"paymentId"`
		TrxID        string `json:"trxId"`
		RefundAmount string `json:"refundAmount"`
		SKU          string `json:"sku"`
		Reason       string `json:"reason"`
	}
	jsonRefundStatusV1Request struct {
		PaymentID string `json:"paymentID"`
		TrxID     string `json:"trxID"`
	}
	jsonRefundStatusV2Request struct {
		PaymentID string `json:"paymentId"`
		TrxID     string `json:"trxId"`
	}
)

// benchEncodeCases are the request bodies of every endpoint. Execute, query,
// capture and void send the same {"paymentID":...} body; agreement query
// and cancel the same {"agreementID":...}.
var benchEncodeCases = []struct {
	ep       string
	sdk      any
	baseline any
}{
	{"token.grant", tokenRequest{AppKey: "4f6o0cjiki2rfm34kfdadl1eqq", AppSecret: "2is7hdktrekvrbljjh44ll3d9l1dtjo4pasmjvs5vl5qr3fug4b"},
		&jsonTokenRequest{AppKey: "4f6o0cjiki2rfm34kfdadl1eqq", AppSecret: "2is7hdktrekvrbljjh44ll3d9l1dtjo4pasmjvs5vl5qr3fug4b"}},
	{"token.refresh", tokenRequest{AppKey: "4f6o0cjiki2rfm34kfdadl1eqq", AppSecret: "2is7hdktrekvrbljjh44ll3d9l1dtjo4pasmjvs5vl5qr3fug4b", RefreshToken: "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.ZXhhbXBsZQ.aXY.Y2lwaGVy.dGFn"},
		&jsonTokenRequest{AppKey: "4f6o0cjiki2rfm34kfdadl1eqq", AppSecret: "2is7hdktrekvrbljjh44ll3d9l1dtjo4pasmjvs5vl5qr3fug4b", RefreshToken: "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.ZXhhbXBsZQ.aXY.Y2lwaGVy.dGFn"}},
	{"payment.create", &createPaymentRequest{Mode: "0011", PayerReference: "01770618575", CallbackURL: "https://shop.example.com/bkash/callback?order=A-1001", Amount: 125050, Currency: "BDT", Intent: IntentSale, MerchantInvoiceNumber: "A-1001-1"},
		&jsonCreatePaymentRequest{Mode: "0011", PayerReference: "01770618575", CallbackURL: "https://shop.example.com/bkash/callback?order=A-1001", Amount: "1250.50", Currency: "BDT", Intent: "sale", MerchantInvoiceNumber: "A-1001-1"}},
	{"payment.execute", paymentIDRequest{"TR0011Hk2Lm9P1735713000456"}, &jsonPaymentIDRequest{"TR0011Hk2Lm9P1735713000456"}},
	{"payment.search", trxIDRequest{"CLA7K2M9QZ"}, &jsonTrxIDRequest{"CLA7K2M9QZ"}},
	{"agreement.create", agreementCreateRequest{Mode: "0000", PayerReference: "01929918378", CallbackURL: "https://dairy.example.com/bkash/agreement?customer=42"},
		&jsonAgreementCreateRequest{Mode: "0000", PayerReference: "01929918378", CallbackURL: "https://dairy.example.com/bkash/agreement?customer=42"}},
	{"agreement.execute", paymentIDRequest{"TR0000Ag7Kp2X1736921400250"}, &jsonPaymentIDRequest{"TR0000Ag7Kp2X1736921400250"}},
	{"agreement.query", agreementIDRequest{"TokenizedMerchant02R5TY8W1736921485731"}, &jsonAgreementIDRequest{"TokenizedMerchant02R5TY8W1736921485731"}},
	{"refund.create.v1", refundRequestV1{PaymentID: "TR0011Hk2Lm9P1735713000456", TrxID: "CMF3H5J7KA", Amount: 20000, SKU: "GHEE-250G", Reason: "customer changed mind"},
		&jsonRefundV1Request{PaymentID: "TR0011Hk2Lm9P1735713000456", Amount: "200.00", TrxID: "CMF3H5J7KA", SKU: "GHEE-250G", Reason: "customer changed mind"}},
	{"refund.create.v2", refundRequestV2{PaymentID: "TR0011Hk2Lm9P1735713000456", TrxID: "CMF3H5J7KA", RefundAmount: 20000, SKU: "GHEE-250G", Reason: "customer changed mind"},
		&jsonRefundV2Request{PaymentID: "TR0011Hk2Lm9P1735713000456", TrxID: "CMF3H5J7KA", RefundAmount: "200.00", SKU: "GHEE-250G", Reason: "customer changed mind"}},
	{"refund.status.v1", refundStatusRequestV1{PaymentID: "TR0011Hk2Lm9P1735713000456", TrxID: "CMF3H5J7KA"},
		&jsonRefundStatusV1Request{PaymentID: "TR0011Hk2Lm9P1735713000456", TrxID: "CMF3H5J7KA"}},
	{"refund.status.v2", refundStatusRequestV2{PaymentID: "TR0011Hk2Lm9P1735713000456", TrxID: "CMF3H5J7KA"},
		&jsonRefundStatusV2Request{PaymentID: "TR0011Hk2Lm9P1735713000456", TrxID: "CMF3H5J7KA"}},
}

// TestBenchEncodeCasesAgree keeps the encode benchmark honest: both sides
// produce the same JSON value.
func TestBenchEncodeCasesAgree(t *testing.T) {
	t.Parallel()
	for _, tc := range benchEncodeCases {
		sdk, err := encodeRequest(tc.sdk)
		if err != nil {
			t.Fatalf("%s: %v", tc.ep, err)
		}
		base, err := json.Marshal(tc.baseline)
		if err != nil {
			t.Fatalf("%s: %v", tc.ep, err)
		}
		var a, b any
		if err := json.Unmarshal(sdk, &a); err != nil {
			t.Fatalf("%s: sdk body %s: %v", tc.ep, sdk, err)
		}
		if err := json.Unmarshal(base, &b); err != nil {
			t.Fatal(err)
		}
		if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
			t.Errorf("%s: sdk encodes %s, baseline %s", tc.ep, ja, jb)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v) // map keys sorted: a canonical form
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func BenchmarkEncode(b *testing.B) {
	for _, tc := range benchEncodeCases {
		b.Run("ep="+tc.ep+"/impl=json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(tc.baseline); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("ep="+tc.ep+"/impl=sdk", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeRequest(tc.sdk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Equivalent answer structs: the same members as the SDK's wire structs,
// every value a plain string.
type (
	jsonTokenAnswer struct {
		StatusCode    string `json:"statusCode"`
		StatusMessage string `json:"statusMessage"`
		IDToken       string `json:"id_token"`
		TokenType     string `json:"token_type"`
		ExpiresIn     int    `json:"expires_in"`
		RefreshToken  string `json:"refresh_token"`
	}
	jsonPaymentAnswer struct {
		StatusCode             string `json:"statusCode"`
		StatusMessage          string `json:"statusMessage"`
		PaymentID              string `json:"paymentID"`
		TrxID                  string `json:"trxID"`
		AgreementID            string `json:"agreementID"`
		BkashURL               string `json:"bkashURL"`
		CallbackURL            string `json:"callbackURL"`
		SuccessCallbackURL     string `json:"successCallbackURL"`
		FailureCallbackURL     string `json:"failureCallbackURL"`
		CancelledCallbackURL   string `json:"cancelledCallbackURL"`
		Mode                   string `json:"mode"`
		Amount                 string `json:"amount"`
		Currency               string `json:"currency"`
		Intent                 string `json:"intent"`
		TransactionStatus      string `json:"transactionStatus"`
		MerchantInvoiceNumber  string `json:"merchantInvoiceNumber"`
		MerchantInvoice        string `json:"merchantInvoice"`
		PayerReference         string `json:"payerReference"`
		CustomerMsisdn         string `json:"customerMsisdn"`
		VerificationStatus     string `json:"verificationStatus"`
		UserVerificationStatus string `json:"userVerificationStatus"`
		PaymentCreateTime      string `json:"paymentCreateTime"`
		PaymentExecuteTime     string `json:"paymentExecuteTime"`
		CreateTime             string `json:"createTime"`
		UpdateTime             string `json:"updateTime"`
	}
	jsonSearchAnswer struct {
		StatusCode            string `json:"statusCode"`
		StatusMessage         string `json:"statusMessage"`
		TrxID                 string `json:"trxID"`
		InitiationTime        string `json:"initiationTime"`
		CompletedTime         string `json:"completedTime"`
		TransactionType       string `json:"transactionType"`
		CustomerMsisdn        string `json:"customerMsisdn"`
		PayerAccount          string `json:"payerAccount"`
		TransactionStatus     string `json:"transactionStatus"`
		Amount                string `json:"amount"`
		Currency              string `json:"currency"`
		OrganizationShortCode string `json:"organizationShortCode"`
		ServiceFee            string `json:"serviceFee"`
		PayerType             string `json:"payerType"`
		CreditedAmount        string `json:"creditedAmount"`
		MaxRefundableAmount   string `json:"maxRefundableAmount"`
	}
	jsonAgreementAnswer struct {
		StatusCode           string `json:"statusCode"`
		StatusMessage        string `json:"statusMessage"`
		PaymentID            string `json:"paymentID"`
		AgreementID          string `json:"agreementID"`
		BkashURL             string `json:"bkashURL"`
		CallbackURL          string `json:"callbackURL"`
		SuccessCallbackURL   string `json:"successCallbackURL"`
		FailureCallbackURL   string `json:"failureCallbackURL"`
		CancelledCallbackURL string `json:"cancelledCallbackURL"`
		PayerReference       string `json:"payerReference"`
		CustomerMsisdn       string `json:"customerMsisdn"`
		AgreementStatus      string `json:"agreementStatus"`
		AgreementCreateTime  string `json:"agreementCreateTime"`
		AgreementExecuteTime string `json:"agreementExecuteTime"`
		AgreementVoidTime    string `json:"agreementVoidTime"`
	}
	jsonRefundItem struct {
		OriginalTrxID           string `json:"originalTrxID"`
		RefundTrxID             string `json:"refundTrxID"`
		TransactionStatus       string `json:"transactionStatus"`
		RefundTransactionStatus string `json:"refundTransactionStatus"`
		Amount                  string `json:"amount"`
		RefundAmount            string `json:"refundAmount"`
		OriginalTrxAmount       string `json:"originalTrxAmount"`
		Charge                  string `json:"charge"`
		Currency                string `json:"currency"`
		CompletedTime           string `json:"completedTime"`
		SKU                     string `json:"sku"`
		Reason                  string `json:"reason"`
	}
	jsonRefundAnswer struct {
		StatusCode    string `json:"statusCode"`
		StatusMessage string `json:"statusMessage"`
		jsonRefundItem
		OriginalTrxCompletedTime string           `json:"originalTrxCompletedTime"`
		RefundTransactions       []jsonRefundItem `json:"refundTransactions"`
	}
)

const benchTokenAnswer = `{"statusCode":"0000","statusMessage":"Successful","id_token":"eyJraWQiOiJFWEFNUExFIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.ZXhhbXBsZQ.aXY.Y2lwaGVy.dGFn"}`

// decodeAs is the SDK side of a decode benchmark: the pipeline's decode
// followed by the conversion the service method makes.
func decodeAs[W any, PW interface {
	*W
	enveloper
}](convert func(PW)) func([]byte) error {
	return func(data []byte) error {
		w := PW(new(W))
		env, err := decodeInto(data, w)
		if err != nil {
			return err
		}
		if ae := env.apiError(); ae != nil {
			return ae
		}
		convert(w)
		return nil
	}
}

// benchDecodeCases are the success answers of every endpoint, from the
// testdata fixtures (compacted, as bKash sends them).
var benchDecodeCases = []struct {
	ep       string
	fixture  string // under testdata/, or "" for benchTokenAnswer
	sdk      func([]byte) error
	baseline func() any
}{
	{"token.grant", "", decodeAs(func(*tokenResponse) {}), func() any { return new(jsonTokenAnswer) }},
	{"payment.create", "payment/create_0011_ok.json", decodeAs(func(r *paymentResponse) { r.payment() }), func() any { return new(jsonPaymentAnswer) }},
	{"payment.execute", "payment/execute_completed.json", decodeAs(func(r *paymentResponse) { r.payment() }), func() any { return new(jsonPaymentAnswer) }},
	{"payment.query", "payment/query_completed.json", decodeAs(func(r *paymentResponse) { r.payment() }), func() any { return new(jsonPaymentAnswer) }},
	{"payment.search", "payment/search_ok.json", decodeAs(func(r *transactionResponse) { r.transaction() }), func() any { return new(jsonSearchAnswer) }},
	{"payment.capture", "payment/capture_ok.json", decodeAs(func(r *paymentResponse) { r.payment() }), func() any { return new(jsonPaymentAnswer) }},
	{"payment.void", "payment/void_ok.json", decodeAs(func(r *paymentResponse) { r.payment() }), func() any { return new(jsonPaymentAnswer) }},
	{"agreement.create", "agreement/create_ok.json", decodeAs(func(w *agreementWire) { w.agreement() }), func() any { return new(jsonAgreementAnswer) }},
	{"agreement.execute", "agreement/execute_ok.json", decodeAs(func(w *agreementWire) { w.agreement() }), func() any { return new(jsonAgreementAnswer) }},
	{"agreement.query", "agreement/status_ok.json", decodeAs(func(w *agreementWire) { w.agreement() }), func() any { return new(jsonAgreementAnswer) }},
	{"agreement.cancel", "agreement/cancel_ok.json", decodeAs(func(w *agreementWire) { w.agreement() }), func() any { return new(jsonAgreementAnswer) }},
	{"refund.create.v1", "refund/v1_create_ok.json", decodeAs(func(w *refundWire) { w.status("CMF3H5J7KA") }), func() any { return new(jsonRefundAnswer) }},
	{"refund.create.v2", "refund/v2_create_ok.json", decodeAs(func(w *refundWire) { w.status("CMF3H5J7KA") }), func() any { return new(jsonRefundAnswer) }},
	{"refund.status.v1", "refund/v1_status_ok.json", decodeAs(func(w *refundWire) { w.status("CMF3H5J7KA") }), func() any { return new(jsonRefundAnswer) }},
	{"refund.status.v2", "refund/v2_status_partials.json", decodeAs(func(w *refundWire) { w.status("CMF3H5J7KA") }), func() any { return new(jsonRefundAnswer) }},
}

func benchDecodeData(tb testing.TB, fixture string) []byte {
	tb.Helper()
	if fixture == "" {
		return []byte(benchTokenAnswer)
	}
	raw, err := os.ReadFile("testdata/" + fixture)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkDecode(b *testing.B) {
	for _, tc := range benchDecodeCases {
		data := benchDecodeData(b, tc.fixture)
		b.Run("ep="+tc.ep+"/impl=json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := json.Unmarshal(data, tc.baseline()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("ep="+tc.ep+"/impl=sdk", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.sdk(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBenchDecodeCasesSucceed keeps the decode benchmark honest: every
// fixture decodes on both sides.
func TestBenchDecodeCasesSucceed(t *testing.T) {
	t.Parallel()
	for _, tc := range benchDecodeCases {
		data := benchDecodeData(t, tc.fixture)
		if err := tc.sdk(data); err != nil {
			t.Errorf("%s: sdk: %v", tc.ep, err)
		}
		if err := json.Unmarshal(data, tc.baseline()); err != nil {
			t.Errorf("%s: baseline: %v", tc.ep, err)
		}
	}
}
