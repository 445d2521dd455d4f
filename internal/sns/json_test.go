package sns

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// member is one decoded member, for comparisons.
type member struct {
	Key  string
	Kind Kind
	Str  string
	Raw  string
}

func readAll(s string) ([]member, error) {
	r := NewObjectReader(s)
	var out []member
	for {
		k, v, ok, err := r.Next()
		if err != nil {
			return out, err
		}
		if !ok {
			// Once done, Next keeps reporting the end.
			if _, _, again, err := r.Next(); again || err != nil {
				panic("reader did not stay at the end")
			}
			return out, nil
		}
		out = append(out, member{k, v.Kind, v.Str, v.Raw})
	}
}

func TestObjectReaderDecodesMembers(t *testing.T) {
	t.Parallel()
	in := " {\"a\" : \"x\\\"y\\u00e9\\ud83d\\ude00\", \"n\":-1.5e+3,\"t\":true,\"f\":false,\"z\":null," +
		"\"o\":{\"k\":[1,{\"q\":\"\\n\"}]},\"arr\":[],\"eo\":{},\"u\":\"\xff\",\"lone\":\"\\ud800x\"}\n"
	got, err := readAll(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []member{
		{"a", KindString, "x\"y\u00e9\U0001F600", `"x\"y\u00e9\ud83d\ude00"`},
		{"n", KindNumber, "", "-1.5e+3"},
		{"t", KindBool, "", "true"},
		{"f", KindBool, "", "false"},
		{"z", KindNull, "", "null"},
		{"o", KindObject, "", `{"k":[1,{"q":"\n"}]}`},
		{"arr", KindArray, "", "[]"},
		{"eo", KindObject, "", "{}"},
		{"u", KindString, "\uFFFD", "\"\xff\""},
		{"lone", KindString, "\uFFFDx", `"\ud800x"`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("members (-want +got):\n%s", diff)
	}
}

func TestObjectReaderDecodesEveryEscape(t *testing.T) {
	t.Parallel()
	in := `{"k\u0041":"\b\f\n\r\t\"\\\/\u00E9\uD83D\uDE00\ud83dx\udc00"}`
	got, err := readAll(in)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]string
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != "kA" || got[0].Str != want["kA"] {
		t.Fatalf("got %+v, encoding/json %q", got, want)
	}
	for _, bad := range []string{`{"a":"\q"}`, `{"a":"\u00"}`, `{"a":"\u00zz"}`, `{"a":"é\`, `{"a":"é\x"}`, "{\"a\":\"é\x01\"}", `{"a":"é`} {
		if _, err := readAll(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestObjectReaderSharesUnescapedStrings(t *testing.T) {
	in := `{"Message":"plain text, no escapes"}`
	allocs := testing.AllocsPerRun(100, func() {
		r := ObjectReader{s: in}
		if _, v, ok, err := r.Next(); !ok || err != nil || v.Str != "plain text, no escapes" {
			t.Fatal("bad read")
		}
	})
	if allocs != 0 {
		t.Fatalf("reading an unescaped string allocated %v times", allocs)
	}
}

func TestObjectReaderRejectsMalformedJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		``, ` `, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1}x`, `{"a":1}{}`,
		`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`,
		`{"a":"\x}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`, "{\"a\":\"\x01\"}", `{"a":"unterminated}`,
		`{"a":[1 2]}`, `{"a":{"b" 1}}`, `{"a":{"b":1,}}`, `{"a":{1:2}}`, `{a:1}`, "\ufeff{}",
		`{"a":"\ud800\u12"}`, `{"a":[`, `{"a":{"b":`, `{"a":"x"`, `{"a":"\`, `{"a" "b"}`,
	} {
		if _, err := readAll(in); err == nil {
			t.Errorf("%q: accepted", in)
		} else if json.Valid([]byte(in)) {
			t.Errorf("%q: rejected but encoding/json accepts it: %v", in, err)
		}
	}
}

func TestObjectReaderWantsAnObject(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`[]`, `"s"`, `1`, `null`} {
		if _, err := readAll(in); err == nil {
			t.Errorf("%q: accepted", in)
		}
	}
}

func TestObjectReaderLimitsDepth(t *testing.T) {
	t.Parallel()
	deep := `{"a":` + strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2) + `}`
	_, err := readAll(deep)
	if !errors.Is(err, ErrTooDeep) {
		t.Fatalf("err = %v, want ErrTooDeep", err)
	}
	ok := `{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`
	if _, err := readAll(ok); err != nil {
		t.Fatalf("depth %d rejected: %v", maxDepth, err)
	}
}

// FuzzObjectReader checks the reader against encoding/json: it accepts
// exactly the JSON objects encoding/json accepts (up to the depth limit),
// and decodes every member the same way.
func FuzzObjectReader(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":"b"}`, `{"a":"\u00e9\ud83d\ude00\n","b":[1,2,{"c":null}],"d":-0.5E-2}`,
		"{\"x\":\"\xff\xfe\"}", `{"a":"\ud800"}`, `{"a":"\udc00\ud800"}`, `{"a":1}  `, `{"dup":1,"dup":2}`,
		`{"a":[[[[]]]]}`, `{"a":"x\/y"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readAll(in)
		valid := json.Valid([]byte(in))
		var obj map[string]any
		isObject := valid && json.Unmarshal([]byte(in), &obj) == nil && obj != nil
		if err != nil {
			if isObject && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("rejected an object encoding/json accepts: %v", err)
			}
			return
		}
		if !isObject {
			t.Fatalf("accepted what encoding/json does not take as an object: %q", in)
		}
		// Compare members in order with encoding/json's tokens.
		dec := json.NewDecoder(strings.NewReader(in))
		dec.UseNumber()
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for i, m := range got {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			if tok != m.Key {
				t.Fatalf("member %d: key %q, encoding/json %q", i, m.Key, tok)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, []byte(m.Raw)) {
				t.Fatalf("member %q: raw %q, encoding/json %q", m.Key, m.Raw, raw)
			}
			if m.Kind == KindString {
				var s string
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Fatal(err)
				}
				if s != m.Str {
					t.Fatalf("member %q: %q, encoding/json %q", m.Key, m.Str, s)
				}
			}
		}
		if dec.More() {
			t.Fatal("encoding/json sees more members")
		}
	})
}
