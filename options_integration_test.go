package bkash_test

import (
	"strings"
	"testing"

	bkash "github.com/smartdairy/bkash-go"
)

// External tests of options.go: what NewClient's options accept and refuse,
// seen from outside the package. The rest are in options_test.go.

// TestWithBaseURLErrorHidesUserInfo: a base URL a merchant copied from a
// proxy configuration may carry a password in its user info or a key in
// its query. WithBaseURL refuses such a root, but its error quoted the
// root whole, so the password reached the error string (and every log line
// that prints it). No refusal of WithBaseURL may carry the user info's
// password or the query.
func TestWithBaseURLErrorHidesUserInfo(t *testing.T) {
	t.Parallel()
	const secret = "pr0xy-S3CRET"
	creds := bkash.Credentials{Username: "u", Password: "p", AppKey: "k", AppSecret: "s"}
	for _, root := range []string{
		"https://merchant:" + secret + "@127.0.0.1:8443",
		"https://merchant:" + secret + "@127.0.0.1:8443/%zz",    // url.Parse fails
		"https://merchant:" + secret + "@127.0.0.1:8443/a b%zz", // url.Parse fails
		"ftp://merchant:" + secret + "@127.0.0.1",
		"merchant:" + secret + "@127.0.0.1",
		"https://merchant:" + secret + "@h/v1.2.0-beta",
		"https://h/?key=" + secret,
		"https://h/#" + secret,
		"https://h/v1.2.0-beta?key=" + secret,
	} {
		_, err := bkash.NewClient(bkash.Sandbox, creds, bkash.WithBaseURL(root))
		if err == nil {
			t.Errorf("WithBaseURL(%q) accepted", root)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("WithBaseURL(%q) error prints the secret: %v", root, err)
		}
		if !strings.Contains(err.Error(), "WithBaseURL") {
			t.Errorf("WithBaseURL(%q) error does not name the option: %v", root, err)
		}
	}
}
