package sns

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadObjectKeepsEveryMemberInOrder(t *testing.T) {
	t.Parallel()
	in := " {\"a\" : \"x\\\"y\\u00e9\\ud83d\\ude00\", \"n\":-1.5e+3,\"t\":true,\"f\":false,\"z\":null," +
		"\"o\":{\"k\":[1,{\"q\":\"\\n\"}]},\"arr\":[],\"eo\":{},\"u\":\"\xff\",\"lone\":\"\\ud800x\"," +
		"\"a\":\"again\",\"A\":\"case\"}\n"
	got, err := ReadObject(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{
		{"a", "x\"y\u00e9\U0001F600"},
		{"n", json.Number("-1.5e+3")},
		{"t", true},
		{"f", false},
		{"z", nil},
		{"o", json.Delim('{')},
		{"arr", json.Delim('[')},
		{"eo", json.Delim('{')},
		{"u", "\uFFFD"},
		{"lone", "\uFFFDx"},
		{"a", "again"},
		{"A", "case"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("members (-want +got):\n%s", diff)
	}
}

func TestReadObjectDecodesStringsAsEncodingJSONDoes(t *testing.T) {
	t.Parallel()
	in := `{"k\u0041":"\b\f\n\r\t\"\\\/\u00E9\uD83D\uDE00\ud83dx\udc00"}`
	got, err := ReadObject(in)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]string
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != "kA" || got[0].Value != want["kA"] {
		t.Fatalf("got %+v, encoding/json %q", got, want)
	}
}

func TestReadObjectRejectsMalformedJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		``, ` `, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1}x`, `{"a":1}{}`, `{"a":1} 2`,
		`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`,
		`{"a":"\x}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`, "{\"a\":\"\x01\"}", `{"a":"unterminated}`,
		`{"a":[1 2]}`, `{"a":{"b" 1}}`, `{"a":{"b":1,}}`, `{"a":{1:2}}`, `{a:1}`, "\ufeff{}",
		`{"a":"\ud800\u12"}`, `{"a":[`, `{"a":{"b":`, `{"a":"x"`, `{"a":"\`, `{"a" "b"}`,
		`{"a":[1,]}`, `{]`, `{[`, `{"a":1 "b":2}`,
		`{"a":"\q"}`, `{"a":"\u00"}`, `{"a":"\u00zz"}`, `{"a":"é\`, `{"a":"é\x"}`, "{\"a\":\"é\x01\"}", `{"a":"é`,
	} {
		if _, err := ReadObject(in); err == nil {
			t.Errorf("%q: accepted", in)
		} else if json.Valid([]byte(in)) {
			t.Errorf("%q: rejected but encoding/json accepts it: %v", in, err)
		}
	}
}

func TestReadObjectWantsAnObject(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`[]`, `"s"`, `1`, `null`} {
		if _, err := ReadObject(in); err == nil {
			t.Errorf("%q: accepted", in)
		}
	}
}

func TestReadObjectLimitsDepth(t *testing.T) {
	t.Parallel()
	nested := func(n int, inner string) string {
		return `{"a":` + strings.Repeat("[", n) + inner + strings.Repeat("]", n) + `}`
	}
	for _, in := range []string{nested(maxDepth, "1"), nested(maxDepth+1, "")} {
		if _, err := ReadObject(in); err != nil {
			t.Errorf("%d levels accepted by the limit: %v", strings.Count(in, "["), err)
		}
	}
	for _, in := range []string{nested(maxDepth+1, "1"), nested(maxDepth+2, ""), nested(maxDepth+1, `{"k":1}`)} {
		if _, err := ReadObject(in); err == nil {
			t.Errorf("%d levels beyond the limit accepted", strings.Count(in, "[")+strings.Count(in, "{")-1)
		}
	}
}

// A forged body is read in full before its signature can be checked, so
// what it costs must not grow with the number of values inside it: a body
// of the largest accepted size (64 KiB), made of thousands of tiny values
// in an ignored member, costs a handful of allocations, and one of
// thousands of members is refused.
func TestReadObjectCostDoesNotGrowWithValues(t *testing.T) {
	const size = 64 << 10
	for _, unit := range []string{`0,`, `"",`, `[],`, `{"k":null},`} {
		body := `{"X":[` + strings.Repeat(unit, size/len(unit)) + `0]}`
		allocs := testing.AllocsPerRun(3, func() {
			if _, err := ReadObject(body); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 100 {
			t.Errorf("an array of %d %q: %.0f allocations", size/len(unit), unit, allocs)
		}
	}
	many := func(n int) string { return `{` + strings.Repeat(`"a":0,`, n-1) + `"a":0}` }
	if got, err := ReadObject(many(maxMembers)); err != nil || len(got) != maxMembers {
		t.Errorf("%d members: %d read, %v", maxMembers, len(got), err)
	}
	if _, err := ReadObject(many(maxMembers + 1)); err == nil {
		t.Errorf("%d members accepted", maxMembers+1)
	}
	if _, err := ReadObject(many(size / 6)); err == nil {
		t.Errorf("%d members accepted", size/6)
	}
}
