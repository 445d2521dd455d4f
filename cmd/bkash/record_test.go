package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	testIDToken      = "eyJraWQiOiJFWEFNUExFIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJ0ZXN0In0.c2ln"
	testRefreshToken = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.cmVmcmVzaA.aXY"
)

func TestRecorderRedactsAndPassesBodiesThrough(t *testing.T) {
	t.Parallel()
	grantReply := `{"statusCode":"0000","statusMessage":"Successful","id_token":"` + testIDToken + `","token_type":"Bearer","expires_in":3600,"refresh_token":"` + testRefreshToken + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, "/token/grant") {
			_, _ = io.WriteString(w, grantReply)
			return
		}
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>gateway says "+testIDToken+"</html>")
	}))
	defer srv.Close()

	rec := newRecorder(http.DefaultTransport, "merchantUser", "merchantPassword", "merchantAppKey", "merchantAppSecret")
	hc := &http.Client{Transport: rec}

	rec.setStep("Create Payment")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1.2.0-beta/tokenized/checkout/token/grant",
		strings.NewReader(`{"app_key":"merchantAppKey","app_secret":"merchantAppSecret"}`))
	req.Header.Set("username", "merchantUser")
	req.Header.Set("password", "merchantPassword")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != grantReply {
		t.Errorf("the caller got a changed body:\n%s", body)
	}

	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/v1.2.0-beta/tokenized/checkout/create",
		strings.NewReader(`{"mode":"0011","amount":"10.00","callbackURL":"https://x.example/cb?a=1&b=2"}`))
	req.Header.Set("Authorization", testIDToken)
	req.Header.Set("X-App-Key", "merchantAppKey")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got := rec.exchanges()
	if len(got) != 2 {
		t.Fatalf("%d exchanges recorded, want 2", len(got))
	}
	grant, create := got[0], got[1]
	if grant.Step != stepGrant || create.Step != "Create Payment" {
		t.Errorf("steps %q, %q: a grant is labelled as such whatever the current step", grant.Step, create.Step)
	}
	if diff := cmp.Diff(map[string]string{"Username": redactedText, "Password": redactedText, "Content-Type": "application/json"}, grant.Header); diff != "" {
		t.Errorf("grant headers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(`{"app_key":"[REDACTED]","app_secret":"[REDACTED]"}`, string(grant.Request)); diff != "" {
		t.Errorf("grant request (-want +got):\n%s", diff)
	}
	// Key order is bKash's; only the secrets change.
	wantReply := `{"statusCode":"0000","statusMessage":"Successful","id_token":"[REDACTED]","token_type":"Bearer","expires_in":3600,"refresh_token":"[REDACTED]"}`
	if diff := cmp.Diff(wantReply, string(grant.Response)); diff != "" {
		t.Errorf("grant response (-want +got):\n%s", diff)
	}
	if create.Header["Authorization"] != redactedText || create.Header["X-App-Key"] != redactedText {
		t.Errorf("create headers not redacted: %v", create.Header)
	}
	if diff := cmp.Diff(`{"mode":"0011","amount":"10.00","callbackURL":"https://x.example/cb?a=1&b=2"}`, string(create.Request)); diff != "" {
		t.Errorf("create request (-want +got):\n%s", diff)
	}
	if create.Status != http.StatusBadGateway || create.Text != "<html>gateway says [REDACTED]</html>" {
		t.Errorf("non-JSON answer: status %d, text %q; want 502 and the token scrubbed", create.Status, create.Text)
	}
	secrets := rec.knownSecrets()
	for _, s := range []string{"merchantUser", "merchantPassword", "merchantAppKey", "merchantAppSecret", testIDToken, testRefreshToken} {
		if !contains(secrets, s) {
			t.Errorf("recorder does not know secret %q", s)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestRedactBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, wantJSON, wantText string
	}{
		{"nested and case-insensitive", `{"a":{"ID_TOKEN":"x","list":[1,"y"]},"refresh_token":{"deep":["z",2,true,null]}}`,
			`{"a":{"ID_TOKEN":"[REDACTED]","list":[1,"y"]},"refresh_token":{"deep":["[REDACTED]","[REDACTED]","[REDACTED]",null]}}`, ""},
		{"numbers keep their text", `{"expires_in":3600,"amount":150.50}`, `{"expires_in":3600,"amount":150.50}`, ""},
		{"html is not escaped", `{"bkashURL":"https://p.example/?a=1&b=<2>"}`, `{"bkashURL":"https://p.example/?a=1&b=<2>"}`, ""},
		{"trailing garbage is text", `{"a":1} trailing s3cr3tvalue`, "", `{"a":1} trailing [REDACTED]`},
		{"truncated JSON is text", `{"id_token":"s3cr3tvalue`, "", `{"id_token":"[REDACTED]`},
		{"empty", "  ", "", ""},
	}
	for _, tt := range tests {
		js, text := redactBody([]byte(tt.in), []string{"s3cr3tvalue"})
		if string(js) != tt.wantJSON || text != tt.wantText {
			t.Errorf("%s: got (%s, %q), want (%s, %q)", tt.name, js, text, tt.wantJSON, tt.wantText)
		}
	}
}

func TestCheckLeaksFindsRawAndEscapedSecrets(t *testing.T) {
	t.Parallel()
	if err := checkLeaks([]string{"abc<def"}, []byte(`{"x":"abc\u003cdef"}`)); err == nil {
		t.Error("JSON-escaped secret not found")
	}
	if err := checkLeaks([]string{"abcdef"}, []byte("clean"), []byte("xx abcdef xx")); err == nil {
		t.Error("raw secret not found in the second document")
	}
	if err := checkLeaks([]string{"abcdef", ""}, []byte("clean")); err != nil {
		t.Errorf("clean document: %v", err)
	}
}
