package bkash

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestWithAllowHTTPAcceptsPlainHTTPToAFakeOnAnotherHost(t *testing.T) {
	t.Parallel()
	for _, order := range []string{"allow first", "allow last"} {
		t.Run(order, func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			var got []string
			m.mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
				got = append(got, r.URL.String())
				if strings.HasSuffix(r.URL.Path, "/token/grant") {
					return m.tokenAnswer(1, coreReq{})
				}
				return coreOK(1, coreReq{})
			})
			opts := []Option{WithHTTPClient(&http.Client{Transport: m.mt}), WithBaseURL("http://bkash-fake:9090")}
			if order == "allow first" {
				opts = append([]Option{WithAllowHTTP()}, opts...)
			} else {
				opts = append(opts, WithAllowHTTP())
			}
			c, err := NewClient(Sandbox, coreCreds, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := coreQuery(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			want := []string{
				"http://bkash-fake:9090/v1.2.0-beta/tokenized/checkout/token/grant",
				"http://bkash-fake:9090/v1.2.0-beta/tokenized/checkout/payment/status",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("URLs = %q, want %q", got, want)
			}
		})
	}
}

func TestPlainHTTPRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		root  string
		allow bool
		want  string // "" means accepted
	}{
		{"http://127.0.0.1:9090", false, ""},
		{"http://localhost:9090", false, ""},
		{"http://[::1]:9090", false, ""},
		{"http://10.0.0.7:8080", false, "plain http is allowed only for loopback hosts, not \"10.0.0.7\" (WithAllowHTTP allows it"},
		{"http://bkash-fake:9090", false, "only for loopback"},
		{"http://10.0.0.7:8080", true, ""},
		{"http://bkash-fake:9090/prefix", true, ""},
		{"http://notbka.sh", true, ""},
		{"https://bkash.example.com", false, ""},
		{"https://tokenized.sandbox.bka.sh", false, ""},
		// bKash's own hosts are never reached in clear, whatever the options.
		{"http://tokenized.sandbox.bka.sh", true, "plain http to bKash's own host \"tokenized.sandbox.bka.sh\" is never allowed"},
		{"http://tokenized.pay.bka.sh", true, "bKash's own host"},
		{"http://TOKENIZED.PAY.BKA.SH.", true, "bKash's own host \"tokenized.pay.bka.sh\""},
		{"http://checkout.pay.bka.sh:8080", true, "bKash's own host"},
		{"http://merchantdemo.sandbox.bka.sh", true, "bKash's own host"},
		{"http://bka.sh", true, "bKash's own host"},
		{"http://tokenized.sandbox.bka.sh", false, "bKash's own host"},
	}
	for _, tc := range cases {
		opts := []Option{WithBaseURL(tc.root)}
		if tc.allow {
			opts = append(opts, WithAllowHTTP())
		}
		_, err := NewClient(Sandbox, coreCreds, opts...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s (allow %t): %v", tc.root, tc.allow, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s (allow %t): error %v, want one containing %q", tc.root, tc.allow, err, tc.want)
		}
	}
}
