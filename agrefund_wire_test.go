package bkash

import (
	"encoding/json"
	"testing"
)

func TestRequestBodiesAreExactBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"agreement create", agreementCreateRequest{Mode: modeCreateAgreement, PayerReference: "01929918378", CallbackURL: "https://x.example/cb?a=1&b=2"},
			`{"mode":"0000","payerReference":"01929918378","callbackURL":"https://x.example/cb?a=1&b=2"}`},
		{"agreement execute", paymentIDRequest{PaymentID: "TR0000A"}, `{"paymentID":"TR0000A"}`},
		{"agreement id", agreementIDRequest{AgreementID: "AG\"1"}, `{"agreementID":"AG\"1"}`},
		{"refund v1", refundRequestV1{PaymentID: "P", TrxID: "T", Amount: 1005, SKU: "S", Reason: "line\nঘি \"x\""},
			`{"paymentID":"P","amount":"10.05","trxID":"T","sku":"S","reason":"line\nঘি \"x\""}`},
		{"refund v2", refundRequestV2{PaymentID: "P", TrxID: "T", RefundAmount: 100, SKU: "S", Reason: "R"},
			`{"paymentId":"P","trxId":"T","refundAmount":"1.00","sku":"S","reason":"R"}`},
		{"refund status v1", refundStatusRequestV1{PaymentID: "P", TrxID: "T"}, `{"paymentID":"P","trxID":"T"}`},
		{"refund status v2", refundStatusRequestV2{PaymentID: "P", TrxID: "T"}, `{"paymentId":"P","trxId":"T"}`},
	}
	for _, tt := range tests {
		body, err := encodeRequest(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := string(body); got != tt.want {
			t.Errorf("%s: body %s, want %s", tt.name, got, tt.want)
		}
		if !json.Valid(body) {
			t.Errorf("%s: body is not valid JSON", tt.name)
		}
	}
}

func TestLogRefsNameTheObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         logRefer
		key, value string
	}{
		{paymentIDRequest{PaymentID: "TR0000A"}, "paymentID", "TR0000A"},
		{agreementIDRequest{AgreementID: "AG1"}, "agreementID", "AG1"},
		{refundRequestV1{PaymentID: "P", TrxID: "T"}, "paymentID", "P"},
		{refundRequestV2{PaymentID: "P", TrxID: "T"}, "paymentID", "P"},
		{refundStatusRequestV1{PaymentID: "P", TrxID: "T"}, "paymentID", "P"},
		{refundStatusRequestV2{PaymentID: "P", TrxID: "T"}, "paymentID", "P"},
	}
	for _, tt := range tests {
		if k, v := tt.in.logRef(); k != tt.key || v != tt.value {
			t.Errorf("%T.logRef() = %s=%s, want %s=%s", tt.in, k, v, tt.key, tt.value)
		}
	}
	// payerReference is often a wallet number: the create request names nothing.
	if _, ok := any(agreementCreateRequest{}).(logRefer); ok {
		t.Error("agreementCreateRequest must not put payerReference in logs")
	}
}

func TestLooseTimeNeverFailsTheDecode(t *testing.T) {
	t.Parallel()
	var w refundWire
	err := json.Unmarshal([]byte(`{"refundTrxID":"R1","amount":"10.00","completedTime":"13/02/2025 18:30","refundTime":17}`), &w)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	r := refundFrom(&w.refundFields, "", 0, "")
	if r.RefundTrxID != "R1" || r.Amount != 1000 || r.CompletedAt.Raw != "13/02/2025 18:30" || !r.CompletedAt.IsZero() {
		t.Errorf("refund = %+v; want the refund with the unknown time kept raw", r)
	}
}
