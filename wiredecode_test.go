package bkash

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fast answer decoder must be indistinguishable from encoding/json:
// every test here decodes the same bytes both ways and compares.

// wireSamples are the wire structs the decoders fill, each as a function
// returning a fresh zero value.
var wireSamples = []struct {
	name string
	new  func() any
}{
	{"envelope", func() any { return new(envelope) }},
	{"tokenResponse", func() any { return new(tokenResponse) }},
	{"paymentResponse", func() any { return new(paymentResponse) }},
	{"transactionResponse", func() any { return new(transactionResponse) }},
	{"agreementWire", func() any { return new(agreementWire) }},
	{"refundWire", func() any { return new(refundWire) }},
}

var wireCmp = cmp.Options{
	cmp.AllowUnexported(paymentResponse{}, transactionResponse{}, agreementWire{}, refundWire{}, tokenResponse{}),
	cmp.Comparer(func(a, b looseTime) bool {
		return a.Raw == b.Raw && a.Time.Equal(b.Time) && a.Location().String() == b.Location().String()
	}),
}

// checkSameAsEncodingJSON decodes data into a fresh value of every wire
// struct, through decodeWire and through encoding/json, and fails on any
// difference in the result or in the error.
func checkSameAsEncodingJSON(t *testing.T, data []byte) {
	t.Helper()
	for _, ws := range wireSamples {
		fast, slow := ws.new(), ws.new()
		handled := decodeWire(data, fast)
		slowErr := json.Unmarshal(data, slow)
		if !handled {
			if diff := cmp.Diff(ws.new(), fast, wireCmp); diff != "" {
				t.Errorf("%s: decodeWire gave up on %q but left the value changed (-zero +got):\n%s", ws.name, data, diff)
			}
			continue
		}
		if slowErr != nil {
			t.Errorf("%s: decodeWire accepted %q, encoding/json fails: %v", ws.name, data, slowErr)
			continue
		}
		if diff := cmp.Diff(slow, fast, wireCmp); diff != "" {
			t.Errorf("%s: decodeWire(%q) differs from encoding/json (-json +fast):\n%s", ws.name, data, diff)
		}
		// What the pipeline sees is the same too, error included.
		var fastOut, slowOut = ws.new(), ws.new()
		errFast := unmarshalWire(data, fastOut)
		if fmt.Sprint(errFast) != fmt.Sprint(json.Unmarshal(data, slowOut)) {
			t.Errorf("%s: unmarshalWire error %v differs from encoding/json's", ws.name, errFast)
		}
	}
}

// TestWireTypesListTheFieldsOfEncodingJSON: the decoder describes each wire
// struct with the member names encoding/json uses, in the same order (the
// order decides case-insensitive matches).
func TestWireTypesListTheFieldsOfEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, ws := range wireSamples {
		v := ws.new()
		wt := newWireType(reflect.TypeOf(v).Elem())
		if wt == nil {
			t.Errorf("%s: not supported by the fast decoder", ws.name)
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(topLevelKeys(t, b), wt.names); diff != "" {
			t.Errorf("%s: member names differ from encoding/json's (-json +fast):\n%s", ws.name, diff)
		}
	}
}

func topLevelKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestWireTypesTheFastPathDoesNotMirror are left to encoding/json.
func TestWireTypesTheFastPathDoesNotMirror(t *testing.T) {
	t.Parallel()
	type embedded struct{ A string }
	tests := []struct {
		name string
		typ  reflect.Type
	}{
		{"int field", reflect.TypeFor[struct{ N int }]()},
		{"string option", reflect.TypeFor[struct {
			N string `json:"n,string"`
		}]()},
		{"pointer field", reflect.TypeFor[struct{ P *string }]()},
		{"map field", reflect.TypeFor[struct{ M map[string]string }]()},
		{"nested struct", reflect.TypeFor[struct{ S struct{ A string } }]()},
		{"embedded pointer", reflect.TypeFor[struct{ *embedded }]()},
		{"tagged embedded", reflect.TypeFor[struct {
			embedded `json:"e"`
		}]()},
		{"same name twice", reflect.TypeFor[struct {
			embedded
			A string
		}]()},
		{"text unmarshaler", reflect.TypeFor[struct{ T textOnly }]()},
		{"not a struct", reflect.TypeFor[[]string]()},
	}
	for _, tc := range tests {
		if newWireType(tc.typ) != nil {
			t.Errorf("%s: newWireType accepts %v", tc.name, tc.typ)
		}
	}
}

type textOnly string

func (t *textOnly) UnmarshalText(b []byte) error { *t = textOnly(b); return nil }

// TestDecodeWireFixtures runs every answer fixture through both decoders.
func TestDecodeWireFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		if strings.Contains(f, "golden") {
			continue // request bodies
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkSameAsEncodingJSON(t, data)
		var compact bytes.Buffer
		if json.Compact(&compact, data) == nil {
			checkSameAsEncodingJSON(t, compact.Bytes())
		}
	}
}

// wireEdgeCases are the inputs where a hand decoder would most likely part
// ways with encoding/json.
var wireEdgeCases = []string{
	`{}`, ` { } `, `null`, `[]`, `"x"`, `1`, ``, `{`, `{"a":1,}`, `{"a":1}x`, `{"a":1} `, `{"a" 1}`,
	// Case-insensitive keys; the first field in declaration order wins.
	`{"PAYMENTID":"A"}`, `{"paymentId":"lower"}`, `{"paymentID":"exact","paymentId":"lower"}`,
	`{"paymentid":"x","paymentID":"y"}`, `{"bKashURL":"https://b"}`, `{"refundTrxId":"R","originalTrxId":"O"}`,
	`{"STATUSCODE":"2062"}`, `{"statuscode":2062}`,
	// Repeated keys: the last one wins; null leaves a string as it was.
	`{"statusCode":"0000","statusCode":"2023"}`, `{"trxID":"A","trxID":null}`, `{"amount":"1.00","amount":null}`,
	`{"paymentCreateTime":"2025-01-01T12:30:00:456 GMT+0600","paymentCreateTime":null}`,
	// Values of other kinds.
	`{"amount":150.5}`, `{"amount":"150.50"}`, `{"amount":""}`, `{"amount":"abc"}`, `{"amount":true}`, `{"amount":{}}`,
	`{"trxID":123}`, `{"trxID":true}`, `{"trxID":{"a":1}}`, `{"trxID":["x"]}`,
	`{"statusCode":0}`, `{"statusCode":null}`, `{"statusCode":true}`, `{"expires_in":3600}`, `{"expires_in":"3600"}`,
	`{"paymentExecuteTime":12345}`, `{"paymentExecuteTime":"01/01/2025 14:00"}`, `{"paymentExecuteTime":""}`,
	// Strings with escapes, non-ASCII text and invalid UTF-8.
	`{"bkashURL":"https:\/\/sandbox.payment.bkash.com\/?a=1"}`, `{"statusMessage":"\u0041\u00e9\ud83d\ude00"}`,
	`{"statusMessage":"\ud800"}`, `{"errorMessageBn":"রিফান্ডের সময় শেষ"}`, "{\"statusMessage\":\"a\xffb\"}",
	`{"statusMessage":"a\qb"}`, `{"statusMessage":"a\u12"}`, "{\"statusMessage\":\"a\tb\"}",
	// Keys the decoder leaves to encoding/json.
	`{"pay\u006dentID":"x"}`, `{"paymentİD":"x"}`, `{"ſtatusCode":"2023"}`, "{\"\xff\":1}",
	// Unknown members of every shape.
	`{"x":{"y":[1,2,{"z":null}],"w":"v"},"statusCode":"0000"}`, `{"x":[],"y":{},"z":-0.5e+10,"w":false}`,
	`{"x":01}`, `{"x":1.}`, `{"x":-}`, `{"x":1e}`, `{"x":tru}`, `{"x":nul}`, `{"x":[1,]}`, `{"x":{"a"}}`,
	`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	// Arrays of refunds.
	`{"refundTransactions":[]}`, `{"refundTransactions":null}`, `{"refundTransactions":[null,{}]}`,
	`{"refundTransactions":[{"refundTrxId":"A","refundAmount":"1.00"},{"refundTrxID":"B"}]}`,
	`{"refundTransactions":[{"refundTrxId":"A"}],"refundTransactions":[{"refundAmount":"2.00"}]}`,
	`{"refundTransactions":[1]}`, `{"refundTransactions":{}}`, `{"refundTransactions":[{"refundAmount":"x"}]}`,
}

func TestDecodeWireEdgeCases(t *testing.T) {
	t.Parallel()
	for _, in := range wireEdgeCases {
		checkSameAsEncodingJSON(t, []byte(in))
	}
}

// TestDecodeWireHandlesBkashAnswers: the fast path really is taken for
// ordinary answers, escapes and non-ASCII text included.
func TestDecodeWireHandlesBkashAnswers(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"statusCode":"0000","statusMessage":"Successful","paymentID":"TR0011","amount":"1250.50","paymentCreateTime":"2025-01-01T12:30:00:456 GMT+0600"}`,
		`{"bkashURL":"https:\/\/sandbox.payment.bkash.com\/","statusCode":"0000"}`,
		`{"externalCode":"2071","errorMessageBn":"রিফান্ডের সময় শেষ"}`,
		`{"refundTransactions":[{"refundTrxId":"A","refundAmount":"1.00"}],"originalTrxId":"O"}`,
	} {
		if !decodeWire([]byte(in), new(refundWire)) || !decodeWire([]byte(in), new(paymentResponse)) {
			t.Errorf("decodeWire gave up on %s", in)
		}
	}
}

func FuzzDecodeWire(f *testing.F) {
	for _, in := range wireEdgeCases {
		f.Add([]byte(in))
	}
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSameAsEncodingJSON(t, data)
	})
}
