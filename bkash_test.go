package bkash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want Amount
	}{
		{"1250.50", 125050},
		{"1250.5", 125050},
		{"0.5", 50},
		{"0.05", 5},
		{"480", 48000},
		{"0", 0},
		{"0.00", 0},
		{"007.10", 710},
		{"92233720368547749.99", 9223372036854774999},
	}
	for _, tc := range good {
		got, err := ParseAmount(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, why string }{
		{"-1", "not a decimal number"},
		{"+1", "not a decimal number"},
		{"1.234", "more than two decimals"},
		{"1.230", "more than two decimals"},
		{"1e3", "not a decimal number"},
		{" 1", "not a decimal number"},
		{"1 ", "not a decimal number"},
		{"", "empty"},
		{"1.", "no digits after the decimal point"},
		{".5", "not a decimal number"},
		{"1,5", "not a decimal number"},
		{"1.2.3", "not a decimal number"},
		{"1.5x", "not a decimal number"},
		{"১২", "not a decimal number"}, // Bangla digits
		{"0x10", "not a decimal number"},
		{"NaN", "not a decimal number"},
		{"99999999999999999999", "too large"},
		{"92233720368547758.07", "too large"},
	}
	for _, tc := range bad {
		got, err := ParseAmount(tc.in)
		if err == nil {
			t.Errorf("ParseAmount(%q) = %d, want an error", tc.in, got)
			continue
		}
		want := fmt.Sprintf("bkash: invalid amount %q: %s", tc.in, tc.why)
		if err.Error() != want {
			t.Errorf("ParseAmount(%q) error = %q, want %q", tc.in, err, want)
		}
	}
}

func TestAmountFormatting(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a    Amount
		want string
	}{
		{Taka(1250) + Poisha(50), "1250.50"},
		{Poisha(5), "0.05"},
		{Taka(480), "480.00"},
		{0, "0.00"},
		{-300, "-3.00"},
		{-5, "-0.05"},
		{math.MaxInt64, "92233720368547758.07"},
		{math.MinInt64, "-92233720368547758.08"},
	}
	for _, tc := range cases {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("%d.String() = %q, want %q", int64(tc.a), got, tc.want)
		}
		if got, _ := tc.a.MarshalText(); string(got) != tc.want {
			t.Errorf("MarshalText = %q", got)
		}
		if got, _ := json.Marshal(tc.a); string(got) != `"`+tc.want+`"` {
			t.Errorf("MarshalJSON = %s", got)
		}
	}
	a := Taka(12) + Poisha(34)
	if a.Taka() != 12 || a.Poisha() != 34 || Amount(-1234).Taka() != -12 || Amount(-1234).Poisha() != -34 {
		t.Errorf("Taka/Poisha split wrong")
	}
	if got := string(a.AppendText([]byte("amount="))); got != "amount=12.34" {
		t.Errorf("AppendText = %q", got)
	}
}

func TestAmountJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		start   Amount
		want    Amount
		wantErr string
	}{
		{`"1250.50"`, 0, 125050, ""},
		{`1250.5`, 0, 125050, ""},
		{`480`, 0, 48000, ""},
		{`"480"`, 0, 48000, ""},
		{`"5"`, 0, 500, ""},
		{`null`, 777, 777, ""},
		{`""`, 777, 0, ""},
		{`"500"`, 0, 50000, ""},
		{`"500.00"`, 0, 50000, ""},
		{`500`, 0, 50000, ""},
		{`"1250.5"`, 0, 125050, ""},
		{`"\u0035"`, 0, 500, ""},
		// What ParseAmount refuses, the decoder refuses: a sign, spaces,
		// more than two decimals (even zeros), overflow.
		{`-1`, 0, 0, "not a decimal number"},
		{`"-1"`, 0, 0, "not a decimal number"},
		{`"-5.00"`, 0, 0, "not a decimal number"},
		{`-0.5`, 0, 0, "not a decimal number"},
		{`" 12.5 "`, 0, 0, "not a decimal number"},
		{`"150.500"`, 0, 0, "more than two decimals"},
		{`150.500`, 0, 0, "more than two decimals"},
		{`"150.501"`, 0, 0, "more than two decimals"},
		{`99999999999999999999`, 0, 0, "too large"},
		{`1e3`, 0, 0, "not a decimal number"},
		{`true`, 0, 0, "not a decimal number"},
		{`"abc"`, 0, 0, "not a decimal number"},
		{`"\u0031`, 0, 0, "bkash: amount:"},
	}
	for _, tc := range cases {
		a := tc.start
		err := a.UnmarshalJSON([]byte(tc.in))
		switch {
		case tc.wantErr == "" && (err != nil || a != tc.want):
			t.Errorf("UnmarshalJSON(%s) = %d, %v; want %d", tc.in, a, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("UnmarshalJSON(%s) err = %v, want %q", tc.in, err, tc.wantErr)
		}
	}
	var a Amount
	if err := a.UnmarshalJSON(nil); err == nil {
		t.Error("empty input accepted")
	}
	var s struct {
		A Amount `json:"amount"`
	}
	if err := json.Unmarshal([]byte(`{"amount":"99.99"}`), &s); err != nil || s.A != 9999 {
		t.Errorf("in a struct: %d, %v", s.A, err)
	}
	// UnmarshalText is as strict as ParseAmount.
	if err := a.UnmarshalText([]byte("1.50")); err != nil || a != 150 {
		t.Errorf("UnmarshalText = %d, %v", a, err)
	}
	if err := a.UnmarshalText([]byte("-1")); err == nil {
		t.Error("UnmarshalText accepted a sign")
	}
}

func TestParseTimeAcceptsEveryVariantBkashSends(t *testing.T) {
	t.Parallel()
	bst := time.FixedZone("", 6*3600)
	cases := []struct {
		in   string
		want time.Time
	}{
		{"2025-05-18T20:49:12:377 GMT+0600", time.Date(2025, 5, 18, 20, 49, 12, 377e6, bst)},
		{"2021-02-21T18:46:18:085 GMT+0000", time.Date(2021, 2, 21, 18, 46, 18, 85e6, time.UTC)},
		{"2023-01-23T12:06:05:000 GMT+0600", time.Date(2023, 1, 23, 12, 6, 5, 0, bst)},
		{"2024-06-13T16:27:24:000", time.Date(2024, 6, 13, 16, 27, 24, 0, bst)},
		{"2025-05-18T20:49:12 GMT+0600", time.Date(2025, 5, 18, 20, 49, 12, 0, bst)},
		{"2025-05-18T20:49:12:377 GMT+06:00", time.Date(2025, 5, 18, 20, 49, 12, 377e6, bst)},
		{"2025-05-18T20:49:12.377 GMT+0600", time.Date(2025, 5, 18, 20, 49, 12, 377e6, bst)},
		{"2025-05-18T20:49:12:3 GMT+0600", time.Date(2025, 5, 18, 20, 49, 12, 300e6, bst)},
		{"2025-05-18T20:49:12:377 GMT-0530", time.Date(2025, 5, 18, 20, 49, 12, 377e6, time.FixedZone("", -19800))},
		{"2025-05-18T20:49:12:377 +0600", time.Date(2025, 5, 18, 20, 49, 12, 377e6, bst)},
		{"2025-05-18T20:49:12:377 UTC", time.Date(2025, 5, 18, 20, 49, 12, 377e6, time.UTC)},
		{"2025-05-18T20:49:12:377Z", time.Date(2025, 5, 18, 20, 49, 12, 377e6, time.UTC)},
		{"2024-06-13T16:27:24", time.Date(2024, 6, 13, 16, 27, 24, 0, bst)},
		{"20180419122246", time.Date(2018, 4, 19, 12, 22, 46, 0, bst)},
		{"2021-05-19T08:40:46.447Z", time.Date(2021, 5, 19, 8, 40, 46, 447e6, time.UTC)},
		{"2021-05-19T08:40:46+06:00", time.Date(2021, 5, 19, 8, 40, 46, 0, bst)},
		{" 2025-05-18T20:49:12:377 GMT+0600 ", time.Date(2025, 5, 18, 20, 49, 12, 377e6, bst)},
	}
	for _, tc := range cases {
		got, err := ParseTime(tc.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tc.in, err)
			continue
		}
		if !got.Time.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, want %v", tc.in, got.Time, tc.want)
		}
		_, off := got.Time.Zone()
		if _, wantOff := tc.want.Zone(); off != wantOff {
			t.Errorf("ParseTime(%q) offset = %d, want %d", tc.in, off, wantOff)
		}
		if got.Raw != tc.in {
			t.Errorf("Raw = %q, want the input verbatim", got.Raw)
		}
		if got.String() != tc.in {
			t.Errorf("String() = %q, want Raw", got.String())
		}
	}
}

func TestParseTimeRejectsJunk(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "yesterday", "2025-05-18", "2025-13-18T20:49:12", "2025-05-18T25:49:12:377 GMT+0600",
		"2025-05-18T20:49:12:377 GMT+2500", "2025-05-18T20:49:12:377 GMT+0660", "2025-05-18T20:49:12: GMT+0600",
		"2025-05-18T20:49:12:1234567890 GMT+0600", "20251318204912", "2025-05-18T20:49:12:377 PST",
		"2025-05-18T20:49:12:377 GMT+06", "2025-05-18 20:49:12", "2025-05-18T20:49:12:377 GMT+06:0x",
	} {
		if got, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, got)
		} else if !strings.Contains(err.Error(), "bkash: unrecognised time") {
			t.Errorf("ParseTime(%q) error = %v", in, err)
		}
	}
}

func TestTimeFormattingAndJSON(t *testing.T) {
	t.Parallel()
	bst := time.FixedZone("", 6*3600)
	tm := time.Date(2025, 5, 18, 20, 49, 12, 377_900_000, bst)
	if got := FormatTime(tm); got != "2025-05-18T20:49:12:377 GMT+0600" {
		t.Errorf("FormatTime = %q", got)
	}
	if got := FormatTime(tm.UTC()); got != "2025-05-18T14:49:12:377 GMT+0000" {
		t.Errorf("FormatTime UTC = %q", got)
	}
	// Round trip: format, parse, same instant (to the millisecond).
	back, err := ParseTime(FormatTime(tm))
	if err != nil || !back.Time.Equal(tm.Truncate(time.Millisecond)) {
		t.Errorf("round trip = %v, %v", back, err)
	}
	// A Time built in code formats itself; one from bKash keeps Raw.
	if got := (Time{Time: tm}).String(); got != "2025-05-18T20:49:12:377 GMT+0600" {
		t.Errorf("String = %q", got)
	}
	if got := (Time{}).String(); got != "" {
		t.Errorf("zero String = %q", got)
	}

	type doc struct {
		At Time `json:"at"`
	}
	var d doc
	raw := `{"at":"2024-06-13T16:27:24:000"}`
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(d)
	if string(out) != raw {
		t.Errorf("JSON round trip = %s, want %s (Raw kept)", out, raw)
	}
	if out, _ := json.Marshal(doc{}); string(out) != `{"at":""}` {
		t.Errorf("zero Time JSON = %s", out)
	}
	if out, _ := json.Marshal(doc{At: Time{Time: tm}}); string(out) != `{"at":"2025-05-18T20:49:12:377 GMT+0600"}` {
		t.Errorf("built Time JSON = %s", out)
	}
	for _, in := range []string{`{"at":null}`, `{"at":""}`, `{"at":"  "}`} {
		d := doc{At: back}
		if err := json.Unmarshal([]byte(in), &d); err != nil || !d.At.IsZero() || d.At.Raw != "" {
			t.Errorf("%s: %v, %v", in, d.At, err)
		}
	}
	for _, in := range []string{`{"at":12}`, `{"at":"soon"}`} {
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}

func TestSecretIsRedactedEverywhere(t *testing.T) {
	t.Parallel()
	s := Secret("hunter2-SECRET")
	type holder struct {
		Name string
		Key  Secret
		Ptr  *Secret
	}
	h := holder{"n", s, &s}
	var buf bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-8v"} {
		fmt.Fprintf(&buf, verb+"|", s)
		fmt.Fprintf(&buf, verb+"|", h)
		fmt.Fprintf(&buf, verb+"|", &h)
	}
	fmt.Fprint(&buf, s, []Secret{s}, map[string]Secret{"k": s}, s.String(), s.GoString())
	b, _ := json.Marshal(h)
	buf.Write(b)
	txt, _ := s.MarshalText()
	buf.Write(txt)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s, "holder", h)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "secret", s)
	if bytes.Contains(buf.Bytes(), []byte("hunter2")) {
		t.Fatalf("secret leaked:\n%s", buf.String())
	}
	if !strings.Contains(string(b), `"Key":"[REDACTED]"`) {
		t.Errorf("JSON = %s", b)
	}
	if s.LogValue().String() != "[REDACTED]" {
		t.Errorf("LogValue = %v", s.LogValue())
	}
	if string(s) != "hunter2-SECRET" {
		t.Error("the raw value must stay reachable by conversion")
	}
}

func TestCredentialsAreRedactedEverywhere(t *testing.T) {
	t.Parallel()
	want := `bkash.Credentials{Username:"merchantUser01", Password:[REDACTED], AppKey:"appkey-0f3a", AppSecret:[REDACTED]}`
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d"} {
		if got := fmt.Sprintf(verb, coreCreds); got != want {
			t.Errorf("%s: %s", verb, got)
		}
		if got := fmt.Sprintf(verb, &coreCreds); got != want {
			t.Errorf("%s of pointer: %s", verb, got)
		}
	}
	b, err := json.Marshal(coreCreds)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"username":"merchantUser01","password":"[REDACTED]","app_key":"appkey-0f3a","app_secret":"[REDACTED]"}`, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "creds", coreCreds)
	if !strings.Contains(buf.String(), `"creds":{"username":"merchantUser01","password":"[REDACTED]","app_key":"appkey-0f3a","app_secret":"[REDACTED]"}`) {
		t.Errorf("slog = %s", buf.String())
	}
	if strings.Contains(buf.String()+string(b), "SECRET") {
		t.Error("secret leaked")
	}
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env        Environment
		name, base string
	}{
		{Sandbox, "sandbox", "https://tokenized.sandbox.bka.sh"},
		{Production, "production", "https://tokenized.pay.bka.sh"},
		{Environment{}, "unset", ""},
	}
	for _, tc := range cases {
		if tc.env.String() != tc.name || tc.env.BaseURL() != tc.base {
			t.Errorf("%v: %q %q", tc.env, tc.env.String(), tc.env.BaseURL())
		}
	}
}

var amountSyntax = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1250.50", "0.5", "480", "-1", "+1", "1.234", "1e3", " 1", "", "1.", ".5",
		"92233720368547749.99", "99999999999999999999", "0.00", "007.10", "150.500"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		ok := amountSyntax.MatchString(s)
		if err == nil {
			if !ok {
				t.Fatalf("ParseAmount(%q) accepted text outside ^[0-9]+(\\.[0-9]{1,2})?$", s)
			}
			if a < 0 {
				t.Fatalf("ParseAmount(%q) = %d, negative", s, a)
			}
			back, err := ParseAmount(a.String())
			if err != nil || back != a {
				t.Fatalf("round trip of %q: %q -> %d, %v", s, a.String(), back, err)
			}
		} else if ok && len(strings.SplitN(s, ".", 2)[0]) <= 16 {
			t.Fatalf("ParseAmount(%q) rejected a valid amount: %v", s, err)
		}
		// The JSON decoder never panics and agrees with ParseAmount, in
		// the string form and (where s is a JSON number) the number form.
		var j Amount
		q, _ := json.Marshal(s)
		jerr := j.UnmarshalJSON(q)
		if s != "" && ((err == nil) != (jerr == nil) || err == nil && j != a) {
			t.Fatalf("UnmarshalJSON(%s) = %d, %v; ParseAmount gave %d, %v", q, j, jerr, a, err)
		}
		var n Amount
		if json.Valid([]byte(s)) && len(s) > 0 && s[0] != '"' && s != "null" {
			if nerr := n.UnmarshalJSON([]byte(s)); (err == nil) != (nerr == nil) || err == nil && n != a {
				t.Fatalf("UnmarshalJSON(%s) = %d, %v; ParseAmount gave %d, %v", s, n, nerr, a, err)
			}
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2025-05-18T20:49:12:377 GMT+0600", "2021-02-21T18:46:18:085 GMT+0000", "2024-06-13T16:27:24:000",
		"20180419122246", "2021-05-19T08:40:46.447Z", "2025-05-18T20:49:12 GMT+06:00", "2025-05-18T20:49:12.5 -0530",
		"", "x", "2025-05-18T20:49:12:", "99999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			return
		}
		if tm.Raw != s {
			t.Fatalf("Raw = %q, want %q", tm.Raw, s)
		}
		if _, off := tm.Time.Zone(); off%60 != 0 || off > 14*3600 || off < -14*3600 || tm.Year() < 0 || tm.Year() > 9999 {
			return // outside what FormatTime promises to round-trip
		}
		back, err := ParseTime(FormatTime(tm.Time))
		if err != nil {
			t.Fatalf("ParseTime(FormatTime(%q)) = %v", s, err)
		}
		if !back.Time.Equal(tm.Time.Truncate(time.Millisecond)) {
			t.Fatalf("round trip of %q: %v != %v", s, back.Time, tm.Time)
		}
	})
}

// TestTakaOverflowIsRefused: n*100 wraps for n beyond MaxInt64/100;
// Taka(184467440737095517) used to be 84 poisha, which validation passed
// and which would have been sent as a refund of Tk 0.84.
func TestTakaOverflowIsRefused(t *testing.T) {
	t.Parallel()
	if got := Taka(184467440737095517); got > 0 && got < MaxAmount {
		t.Fatalf("Taka(184467440737095517) = %s, a plausible amount", got)
	}
	for _, tc := range []struct {
		name string
		a    Amount
		why  string
	}{
		{"Taka wraps to 84 poisha", Taka(184467440737095517), "overflowed"},
		{"Taka just past the range", Taka(math.MaxInt64/100 + 1), "overflowed"},
		{"Taka far below the range", Taka(math.MinInt64), "overflowed"},
		{"Taka overflow plus a valid amount", Taka(math.MaxInt64) + Taka(500), "must be positive"},
		{"Taka overflow minus a valid amount", Taka(math.MaxInt64) - Poisha(1), "exceeds MaxAmount"},
		{"sum that wraps negative", Taka(math.MaxInt64/100) + Taka(1), "must be positive"},
		{"largest Amount", Amount(math.MaxInt64), "exceeds MaxAmount"},
		{"just above MaxAmount", MaxAmount + 1, "exceeds MaxAmount"},
	} {
		err := checkAmount("Amount", tc.a)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Reason, tc.why) {
			t.Errorf("%s: checkAmount(%d) = %v, want a *ValidationError saying %q", tc.name, int64(tc.a), err, tc.why)
		}
	}
	if err := checkAmount("Amount", MaxAmount); err != nil {
		t.Errorf("MaxAmount refused: %v", err)
	}
	if got, want := Taka(math.MaxInt64/100), Amount(math.MaxInt64/100*100); got != want {
		t.Errorf("Taka at the edge of the range = %d, want %d", got, want)
	}
	if got := Taka(-5); got != -500 {
		t.Errorf("Taka(-5) = %d", got)
	}
	// Through the public API: nothing is sent.
	c, err := NewClient(Sandbox, coreCreds, WithHTTPClient(&http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		t.Error("a request was sent")
		return nil, errors.New("no")
	})}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Refunds.Create(context.Background(), &RefundParams{PaymentID: "P", TrxID: "T", Amount: Taka(184467440737095517), SKU: "s", Reason: "r"})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "RefundParams.Amount" {
		t.Errorf("refund of Taka(184467440737095517): err = %v, want a *ValidationError on RefundParams.Amount", err)
	}
}

// TestMaybeRFC3339NeverSkipsAParse checks the shortcut of parseBkashTime:
// whenever it skips time.Parse, time.Parse would have failed.
func TestMaybeRFC3339NeverSkipsAParse(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"2025-01-01T12:30:00:456 GMT+0600",
		"2025-01-01T12:30:00 GMT+0600",
		"2025-01-01T12:30:00",
		"2025-01-01T12:30:00+0600",
		"2025-01-01T12:30:00 +06:00",
		"2025-01-01T12:30:00UTC",
		"2025-01-01T12:30:00.456+06:00",
		"2025-01-01T12:30:00,456+06:00",
		"2025-01-01T12:30:00Z",
		"2025-01-01T12:30:00z",
		"2025-01-01T12:30:00.123456789-05:30",
	} {
		if _, err := time.Parse(time.RFC3339Nano, in); err == nil && !maybeRFC3339(in[19:]) {
			t.Errorf("maybeRFC3339(%q) = false, but time.Parse accepts %q", in[19:], in)
		}
	}
}

func FuzzMaybeRFC3339(f *testing.F) {
	for _, s := range []string{":456 GMT+0600", ".456+06:00", "Z", "", " GMT+0600", "+06:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tail string) {
		in := "2025-01-01T12:30:00" + tail
		if _, err := time.Parse(time.RFC3339Nano, in); err == nil && !maybeRFC3339(tail) {
			t.Fatalf("maybeRFC3339(%q) = false, but time.Parse accepts %q", tail, in)
		}
	})
}

// jsonString must read every JSON string literal as encoding/json does:
// it only skips encoding/json for literals without escapes.
func TestJSONStringReadsAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, lit := range []string{
		`""`, `"0000"`, `"1250.50"`, `"2025-01-01T12:30:00:456 GMT+0600"`, `"টাকা"`,
		`"a\"b"`, `"a\\b"`, `"\u0030"`, `"\ud83d\ude00"`, `"\/"`, "\"\xff\"", "\"a\xc3\"",
	} {
		checkJSONString(t, []byte(lit))
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`""`, `"0000"`, `"a\"b"`, "\"\xff\"", `"\u00e9"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // encoding/json never hands an UnmarshalJSON method invalid JSON
		}
		checkJSONString(t, b)
	})
}

func checkJSONString(t *testing.T, b []byte) {
	t.Helper()
	var want string
	wantErr := json.Unmarshal(b, &want)
	got, err := jsonString(b)
	if (err != nil) != (wantErr != nil) || got != want {
		t.Errorf("jsonString(%q) = %q, %v; encoding/json: %q, %v", b, got, err, want, wantErr)
	}
}
