package bkash

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func TestPlainJSONStringAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		plain bool
	}{
		{`"0000"`, true},
		{`""`, true},
		{`"2025-01-01T12:30:00:456 GMT+0600"`, true},
		{`"টাকা"`, true},
		{`"a\"b"`, false},
		{`"a\\b"`, false},
		{`"\u0030"`, false},
		{"\"a\tb\"", false},
		{"\"\xff\"", false},
		{`"`, false},
		{`"abc`, false},
		{`abc"`, false},
		{`12.5`, false},
		{`null`, false},
		{``, false},
	}
	for _, tc := range tests {
		got, ok := plainJSONString([]byte(tc.in))
		if ok != tc.plain {
			t.Errorf("plainJSONString(%q) ok = %v, want %v", tc.in, ok, tc.plain)
			continue
		}
		if !ok {
			continue
		}
		var want string
		if err := json.Unmarshal([]byte(tc.in), &want); err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if string(got) != want {
			t.Errorf("plainJSONString(%q) = %q, encoding/json reads %q", tc.in, got, want)
		}
	}
}

// FuzzPlainJSONString checks that whatever the fast path accepts,
// encoding/json reads the same way.
func FuzzPlainJSONString(f *testing.F) {
	for _, s := range []string{`"0000"`, `"a\"b"`, "\"\xff\"", `"টাকা"`, `1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := plainJSONString(b)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("plainJSONString accepted %q, which encoding/json rejects: %v", b, err)
		}
		if string(got) != want {
			t.Fatalf("plainJSONString(%q) = %q, encoding/json reads %q", b, got, want)
		}
	})
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

// TestFastDecodersMatchEncodingJSON checks that a value written with JSON
// escapes (the slow path) decodes exactly like its plain spelling (the
// fast path), for amounts, timestamps and status codes.
func TestFastDecodersMatchEncodingJSON(t *testing.T) {
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
