package bkash

import (
	"encoding/json"
	"testing"
)

func TestHandEncodedBodiesAreExactBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   jsonAppender
		want string
	}{
		{"agreement create", agreementCreateRequest{payerReference: "01929918378", callbackURL: "https://x.example/cb?a=1&b=2"},
			`{"mode":"0000","payerReference":"01929918378","callbackURL":"https://x.example/cb?a=1&b=2"}`},
		{"agreement execute", agreementExecuteRequest{paymentID: "TR0000A"}, `{"paymentID":"TR0000A"}`},
		{"agreement id", agreementIDRequest{agreementID: "AG\"1"}, `{"agreementID":"AG\"1"}`},
		{"refund v1", refundRequest{paymentID: "P", trxID: "T", amount: 1005, sku: "S", reason: "line\nঘি \"x\""},
			`{"paymentID":"P","amount":"10.05","trxID":"T","sku":"S","reason":"line\nঘি \"x\""}`},
		{"refund v2", refundRequest{v2: true, paymentID: "P", trxID: "T", amount: 100, sku: "S", reason: "R"},
			`{"paymentId":"P","trxId":"T","refundAmount":"1.00","sku":"S","reason":"R"}`},
		{"refund status v1", refundStatusRequest{paymentID: "P", trxID: "T"}, `{"paymentID":"P","trxID":"T"}`},
		{"refund status v2", refundStatusRequest{v2: true, paymentID: "P", trxID: "T"}, `{"paymentId":"P","trxId":"T"}`},
	}
	for _, tt := range tests {
		if got := string(tt.in.appendJSON(nil)); got != tt.want {
			t.Errorf("%s: body %s, want %s", tt.name, got, tt.want)
		}
		if !json.Valid(tt.in.appendJSON(nil)) {
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
		{agreementExecuteRequest{paymentID: "TR0000A"}, "paymentID", "TR0000A"},
		{agreementIDRequest{agreementID: "AG1"}, "agreementID", "AG1"},
		{refundRequest{paymentID: "P", trxID: "T"}, "paymentID", "P"},
		{refundStatusRequest{v2: true, paymentID: "P", trxID: "T"}, "paymentID", "P"},
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
