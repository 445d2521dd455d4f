package bkash

import (
	"encoding/json"
	"testing"
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
