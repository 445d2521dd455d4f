package bkash_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"

	bkash "github.com/smartdairy/bkash-go"
)

// bodyObserver keeps the bodies of every call's last event.
type bodyObserver struct {
	mu     sync.Mutex
	bodies []string
}

func (o *bodyObserver) ObserveAttempt(e bkash.AttemptEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bodies = append(o.bodies, e.Request, e.Response)
}

func (o *bodyObserver) ObserveTokenRenewal(bkash.TokenRenewalEvent) {}

// attrRecorder is a slog handler that keeps every attribute's value as
// text, unquoted, so that the test sees what a handler is given.
type attrRecorder struct {
	mu     *sync.Mutex
	values *[]string
}

func (h attrRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h attrRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.values = append(*h.values, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		*h.values = append(*h.values, a.Value.String())
		return true
	})
	return nil
}
func (h attrRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h attrRecorder) WithGroup(string) slog.Handler      { return h }

// TestSecretEchoedWithJSONEscapesIsScrubbedFromLoggedBodies: a server that
// echoes the password in an answer sends it JSON-escaped when it holds a
// quote, a backslash or a control character. The logged body is rendered
// as JSON again, so the secret appears there escaped, and a scrub that
// looks only for its raw text leaves it in the log line and the observer's
// Response for anyone to unescape.
func TestSecretEchoedWithJSONEscapesIsScrubbedFromLoggedBodies(t *testing.T) {
	t.Parallel()
	for _, password := range []string{`pa"ss\w0rd`, "pa\tss-w0rd", "pa\u2028ss-w0rd"} {
		escaped, _ := json.Marshal(password)
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder(http.MethodPost, mockRoot+pathGrant, httpmock.NewStringResponder(http.StatusOK,
			`{"statusCode":"0000","statusMessage":"Successful","id_token":"mock-id-token","token_type":"Bearer","expires_in":3600,"refresh_token":"mock-refresh-token"}`))
		mt.RegisterResponder(http.MethodPost, mockRoot+pathExecute, func(r *http.Request) (*http.Response, error) {
			_, _ = r.Body.Read(make([]byte, 1))
			return httpmock.NewStringResponse(http.StatusInternalServerError,
				`{"message":"login failed","detail":"user mock-user password `+string(escaped[1:len(escaped)-1])+`"}`), nil
		})
		obs := &bodyObserver{}
		var mu sync.Mutex
		var logged []string
		c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
			Username: "mock-user", Password: bkash.Secret(password), AppKey: "mock-app-key", AppSecret: "mock-app-secret",
		}, bkash.WithHTTPClient(&http.Client{Transport: mt}), bkash.WithRetryPolicy(fastRetries),
			bkash.WithObserver(obs), bkash.WithBodyLogging(), bkash.WithLogger(slog.New(attrRecorder{&mu, &logged})))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Payments.Execute(context.Background(), benchPaymentID)
		if err == nil {
			t.Fatal("execute succeeded")
		}
		seen := append(append([]string{err.Error()}, obs.bodies...), logged...)
		if !strings.Contains(strings.Join(seen, "\n"), "login failed") {
			t.Fatalf("the answer was not logged: %q", seen)
		}
		for _, s := range seen {
			if strings.Contains(s, password) || strings.Contains(s, string(escaped[1:len(escaped)-1])) {
				t.Errorf("password %q leaked: %s", password, s)
			}
		}
	}
}
