package bkash

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tests of the answer decoding: decodeInto and the types that read bKash's
// irregular values (Amount, Time, looseTime, flexString). Request bodies
// are pinned byte for byte by the golden tests of each service.

// TestEscapedValuesDecodeLikePlainOnes: a value written with JSON escapes
// decodes exactly like its plain spelling, for amounts, timestamps and
// status codes.
func TestEscapedValuesDecodeLikePlainOnes(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{`"1250.50"`, `"\u0031250.50"`},
		{`" 480 "`, `"\u0020480\u0020"`},
		{`"12.345"`, `"12.34\u0035"`},
		{`"2025-01-01T12:30:00:456 GMT+0600"`, `"2025-01-01T12:30:00:456\u0020GMT+0600"`},
		{`"2025-01-01T12:30:00.456+06:00"`, `"2025-01-01T12:30:00.456\u002B06:00"`},
		{`"20250101123000"`, `"2025010112300\u0030"`},
		{`"0000"`, `"\u0030000"`},
		{`"2062"`, `"\u0032062"`},
	}
	for _, p := range pairs {
		plain, escaped := []byte(p[0]), []byte(p[1])
		var a1, a2 Amount
		e1, e2 := a1.UnmarshalJSON(plain), a2.UnmarshalJSON(escaped)
		if a1 != a2 || fmt.Sprint(e1) != fmt.Sprint(e2) {
			t.Errorf("Amount: %s -> %v, %v; %s -> %v, %v", plain, a1, e1, escaped, a2, e2)
		}
		var t1, t2 Time
		e1, e2 = t1.UnmarshalJSON(plain), t2.UnmarshalJSON(escaped)
		if !t1.Time.Equal(t2.Time) || t1.Raw != t2.Raw || t1.Location().String() != t2.Location().String() || fmt.Sprint(e1) != fmt.Sprint(e2) {
			t.Errorf("Time: %s -> %v, %v; %s -> %v, %v", plain, t1, e1, escaped, t2, e2)
		}
		var f1, f2 flexString
		e1, e2 = f1.UnmarshalJSON(plain), f2.UnmarshalJSON(escaped)
		if f1 != f2 || fmt.Sprint(e1) != fmt.Sprint(e2) {
			t.Errorf("flexString: %s -> %q, %v; %s -> %q, %v", plain, f1, e1, escaped, f2, e2)
		}
	}
}

// answerSeeds are bodies at the edges of what the decoders meet: wrong
// kinds of value, spelling variants, escapes, broken JSON.
var answerSeeds = []string{
	`{}`, `null`, `[]`, `"x"`, `1`, ``, `{`, `{"a":1,}`, `{"a":1}x`,
	`{"PAYMENTID":"A"}`, `{"paymentId":"lower"}`, `{"paymentID":"exact","paymentId":"lower"}`,
	`{"bKashURL":"https://b"}`, `{"refundTrxId":"R","originalTrxId":"O"}`, `{"statuscode":2062}`,
	`{"statusCode":"0000","statusCode":"2023"}`, `{"trxID":"A","trxID":null}`, `{"amount":"1.00","amount":null}`,
	`{"amount":150.5}`, `{"amount":""}`, `{"amount":"abc"}`, `{"amount":true}`, `{"amount":{}}`,
	`{"trxID":123}`, `{"statusCode":0}`, `{"statusCode":true}`, `{"expires_in":3600}`, `{"expires_in":"3600"}`,
	`{"paymentExecuteTime":12345}`, `{"paymentExecuteTime":"01/01/2025 14:00"}`, `{"paymentExecuteTime":""}`,
	`{"statusCode":"2023","statusMessage":"Insufficient Balance","amount":"-1"}`,
	`{"errorCode":"2056","errorMessage":"Invalid Payment State","trxID":{"x":1}}`,
	`{"externalCode":"2071","errorMessageEn":"e","errorMessageBn":"রিফান্ডের সময় শেষ","refundTransactions":7}`,
	`{"message":"Unauthorized"}`, `{"Message":"User is not authorized to access this resource with an explicit deny"}`,
	`{"statusMessage":"\u0041\u00e9\ud83d\ude00"}`, "{\"statusMessage\":\"a\xffb\"}", `{"statusMessage":"a\qb"}`,
	`{"refundTransactions":[null,{}]}`, `{"refundTransactions":[{"refundTrxId":"A","refundAmount":"1.00"},{"refundTrxID":"B"}]}`,
	`{"refundTransactions":[1]}`, `{"refundTransactions":[{"refundAmount":"x"}]}`,
}

// FuzzDecodeAnswer decodes any body into every answer type. Whatever the
// body, the status is read whenever the envelope itself decodes (a payload
// that does not fit must not hide a bKash error), nothing else counts as an
// answer, an error in bKash's shape is never a success, and the conversion
// to the public types does not panic.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil && !strings.Contains(file, "golden") {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want envelope
		envErr := json.Unmarshal(data, &want)
		var (
			token       tokenResponse
			payment     paymentResponse
			transaction transactionResponse
			agreement   agreementWire
			refund      refundWire
			plain       struct {
				PaymentID string `json:"paymentID"`
			}
		)
		for _, out := range []any{&token, &payment, &transaction, &agreement, &refund, &plain, nil} {
			env, err := decodeInto(data, out)
			switch {
			case envErr != nil && (env != nil || err == nil):
				t.Fatalf("%T: %q is no envelope (%v), yet decodeInto gave %+v, %v", out, data, envErr, env, err)
			case envErr == nil && env == nil:
				t.Fatalf("%T: the envelope of %q decodes, yet decodeInto lost it (%v)", out, data, err)
			case envErr == nil && *env != want:
				t.Fatalf("%T: decodeInto read the status of %q as %+v, want %+v", out, data, *env, want)
			case err == nil && !json.Valid(data):
				t.Fatalf("%T: invalid JSON %q decoded without error", out, data)
			}
			if env != nil && env.bkashError() != nil && !env.failed() {
				t.Fatalf("%T: bKash error %v in %q, yet not failed", out, env.bkashError(), data)
			}
		}
		payment.payment()
		transaction.transaction()
		agreement.agreement()
		refund.status("T")
		refundFrom(&refund.refundFields, "", 0, "")
	})
}

// FuzzWireValue puts any string into each of bKash's irregular values, as
// encoding/json hands it to them inside an answer: an amount is "" or
// ParseAmount's decimal text, a timestamp is blank or one of ParseTime's
// forms, a cosmetic timestamp never fails its answer and keeps the text,
// and a code is the text itself. A JSON number is read as its digits.
func FuzzWireValue(f *testing.F) {
	for _, s := range []string{"1250.50", "", " ", "480", "-1", "1e3", "12.345", "2025-01-01T12:30:00:456 GMT+0600",
		"20250101123000", "2021-05-19T08:40:46.447Z", "13/02/2025 18:30", "0000", "2062", "টাকা", "a\x00b", "\xff"} {
		f.Add(s)
	}
	type values struct {
		Code   flexString `json:"code"`
		Amount Amount     `json:"amount"`
		Time   Time       `json:"time"`
		Loose  looseTime  `json:"loose"`
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, _ := json.Marshal(s)
		var text string
		_ = json.Unmarshal(q, &text) // s as a JSON string carries it (invalid UTF-8 replaced)

		var v values
		err := json.Unmarshal([]byte(`{"code":`+string(q)+`}`), &v)
		if err != nil || string(v.Code) != text {
			t.Fatalf("code %s = %q, %v; want %q", q, v.Code, err, text)
		}

		v = values{}
		err = json.Unmarshal([]byte(`{"amount":`+string(q)+`}`), &v)
		want, perr := ParseAmount(text)
		if text == "" {
			want, perr = 0, nil
		}
		if (err == nil) != (perr == nil) || err == nil && v.Amount != want {
			t.Fatalf("amount %s = %v, %v; ParseAmount gives %v, %v", q, v.Amount, err, want, perr)
		}

		v = values{}
		err = json.Unmarshal([]byte(`{"time":`+string(q)+`}`), &v)
		wantT, terr := ParseTime(text)
		if strings.TrimSpace(text) == "" {
			wantT, terr = Time{}, nil
		}
		if (err == nil) != (terr == nil) || err == nil && (v.Time.Raw != wantT.Raw || !v.Time.Time.Equal(wantT.Time)) {
			t.Fatalf("time %s = %v, %v; ParseTime gives %v, %v", q, v.Time, err, wantT, terr)
		}

		v = values{}
		if err := json.Unmarshal([]byte(`{"loose":`+string(q)+`}`), &v); err != nil {
			t.Fatalf("loose time %s failed its answer: %v", q, err)
		}
		if strings.TrimSpace(text) != "" && v.Loose.Raw != text {
			t.Fatalf("loose time %s kept %q", q, v.Loose.Raw)
		}

		// s itself as a JSON value: a number is read as its digits, and
		// nothing fails a cosmetic timestamp.
		if !json.Valid([]byte(s)) {
			return
		}
		v = values{}
		if err := json.Unmarshal([]byte(`{"loose":`+s+`}`), &v); err != nil {
			t.Fatalf("loose time %s failed its answer: %v", s, err)
		}
		num := strings.TrimSpace(s)
		if num[0] != '-' && (num[0] < '0' || num[0] > '9') {
			return // not a number
		}
		v = values{}
		if err := json.Unmarshal([]byte(`{"code":`+s+`}`), &v); err != nil || string(v.Code) != num {
			t.Fatalf("code %s = %q, %v", s, v.Code, err)
		}
		v = values{}
		err = json.Unmarshal([]byte(`{"amount":`+s+`}`), &v)
		want, perr = ParseAmount(num)
		if (err == nil) != (perr == nil) || err == nil && v.Amount != want {
			t.Fatalf("amount %s = %v, %v; ParseAmount gives %v, %v", s, v.Amount, err, want, perr)
		}
	})
}
