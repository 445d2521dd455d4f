package redact

import (
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
