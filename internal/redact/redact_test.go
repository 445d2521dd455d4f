package redact

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSON(t *testing.T) {
	t.Parallel()
	rules := Rules{
		Secret: map[string]bool{"id_token": true, "password": true},
		Mask: func(key, v string) (string, bool) {
			if key == "msisdn" {
				return strings.Repeat("*", len(v)), true
			}
			return "", false
		},
	}
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"order and numbers kept", `{"z":1,"a":150.50,"m":12345678901234567890}`, `{"z":1,"a":150.50,"m":12345678901234567890}`, true},
		{"secret scalars of every kind", `{"ID_Token":"x","password":12,"Password":true}`, `{"ID_Token":"[REDACTED]","password":"[REDACTED]","Password":"[REDACTED]"}`, true},
		{"everything below a secret", `{"id_token":{"a":["b",1,false,null],"c":{"d":"e"}}}`, `{"id_token":{"a":["[REDACTED]","[REDACTED]","[REDACTED]",null],"c":{"d":"[REDACTED]"}}}`, true},
		{"nested secrets and masks", `[{"list":[{"msisdn":"0177","password":"p"}]},"top"]`, `[{"list":[{"msisdn":"****","password":"[REDACTED]"}]},"top"]`, true},
		{"masked arrays", `{"msisdn":["0177","01"]}`, `{"msisdn":["****","**"]}`, true},
		{"a mask leaves numbers", `{"msisdn":1770618575}`, `{"msisdn":1770618575}`, true},
		{"duplicate keys both redacted", `{"password":"a","password":"b"}`, `{"password":"[REDACTED]","password":"[REDACTED]"}`, true},
		{"no HTML escaping, escapes kept valid", `{"u":"a&b<c>","q":"\"\\\n"}`, `{"u":"a&b<c>","q":"\"\\\n"}`, true},
		{"white space dropped", " { \"a\" : [ 1 , 2 ] } \n", `{"a":[1,2]}`, true},
		{"a scalar", `"x"`, `"x"`, true},
		{"empty", ``, ``, false},
		{"not JSON", `<html>`, ``, false},
		{"truncated", `{"id_token":"x`, ``, false},
		{"trailing data", `{"a":1} {"id_token":"x"}`, ``, false},
	}
	for _, tc := range cases {
		got, ok := JSON([]byte(tc.in), rules)
		if string(got) != tc.want || ok != tc.ok {
			t.Errorf("%s: JSON(%s) = %s, %v; want %s, %v", tc.name, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestJSONWithoutRulesIsACompactCopy(t *testing.T) {
	t.Parallel()
	got, ok := JSON([]byte(`{"password": "kept", "n": [true, null]}`), Rules{})
	if !ok || string(got) != `{"password":"kept","n":[true,null]}` {
		t.Errorf("got %s, %v", got, ok)
	}
}

// TestSecretKeysMatchAsEncodingJSONDoes: the redactor lower-cased keys,
// while encoding/json folds them (Unicode simple folding): a body with
// "refre\u017fh_token" (ſ) fills a field tagged refresh_token, and was
// logged unredacted. Every key that encoding/json would take for a secret
// field is a secret here, escaped or not.
func TestSecretKeysMatchAsEncodingJSONDoes(t *testing.T) {
	t.Parallel()
	rules := Rules{Secret: map[string]bool{"refresh_token": true, "id_token": true, "app_secret": true, "password": true}}
	var field struct {
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
		AppSecret    string `json:"app_secret"`
		Password     string `json:"password"`
	}
	for _, key := range []string{
		`refresh_token`, `REFRESH_TOKEN`, `refre\u017fh_token`, "refre\u017fh_token", `REFRE\u017FH_TOKEN`,
		`\u0072efresh_token`, `id_to\u212aen`, "ID_TO\u212aEN", `app_\u017fecret`, `pa\u017f\u017fword`, `PA\u017fSWORD`,
	} {
		body := `{"` + key + `":"S3CRET-val","other":"kept"}`
		field.RefreshToken, field.IDToken, field.AppSecret, field.Password = "", "", "", ""
		if err := json.Unmarshal([]byte(body), &field); err != nil {
			t.Fatal(err)
		}
		used := field.RefreshToken + field.IDToken + field.AppSecret + field.Password
		got, ok := JSON([]byte(body), rules)
		if !ok || used != "S3CRET-val" || strings.Contains(string(got), "S3CRET") || !strings.Contains(string(got), `"kept"`) {
			t.Errorf("key %s: encoding/json used it as %q; redacted %s", key, used, got)
		}
	}
	// Keys encoding/json does not match with a secret field stay as they are.
	for _, key := range []string{`\u0131d_token`, `id_tokens`, `id-token`, `idtoken`} {
		body := `{"` + key + `":"visible"}`
		field.IDToken = ""
		_ = json.Unmarshal([]byte(body), &field)
		got, _ := JSON([]byte(body), rules)
		if field.IDToken != "" || !strings.Contains(string(got), "visible") {
			t.Errorf("key %s: encoding/json %q, redactor %s", key, field.IDToken, got)
		}
	}
}

func TestFold(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"refresh_token": "refresh_token", "Refresh_Token": "refresh_token", "refre\u017fh_token": "refresh_token",
		"id_to\u212aen": "id_token", "\u0131d": "\u0131d", "\u00c5": Fold("\u00e5"), "\u212b": Fold("\u00e5"), "": "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	for _, pair := range [][2]string{{"refre\u017fh_token", "REFRESH_TOKEN"}, {"\u212a", "k"}, {"\u00df", "\u1e9e"}, {"\u03c3", "\u03c2"}} {
		if strings.EqualFold(pair[0], pair[1]) != (Fold(pair[0]) == Fold(pair[1])) {
			t.Errorf("Fold disagrees with strings.EqualFold on %q, %q", pair[0], pair[1])
		}
	}
}
