package bkash_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	bkash "github.com/smartdairy/bkash-go"
)

// TestEchoedSecretsReachNoErrorOrLog: a server (or a proxy in front of it)
// that echoes the id_token or the app secret inside a message must not put
// them into the error string, the debug log or the observer's bodies: the
// key-based body redaction cannot see a secret inside statusMessage.
func TestEchoedSecretsReachNoErrorOrLog(t *testing.T) {
	t.Parallel()
	const (
		idToken   = "eyJ-ECHOED-ID-TOKEN-7f3a"
		refresh   = "ECHOED-REFRESH-9c1d"
		appSecret = "ECHOED-APP-SECRET-42ab"
		password  = "ECHOED-PASSWORD-55e0"
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/token/grant") {
			fmt.Fprintf(w, `{"statusCode":"0000","statusMessage":"Successful","id_token":%q,"token_type":"Bearer","expires_in":3600,"refresh_token":%q}`, idToken, refresh)
			return
		}
		fmt.Fprintf(w, `{"statusCode":"2079","statusMessage":"Invalid Token %s for app_secret %s password %s refresh %s"}`, idToken, appSecret, password, refresh)
	}))
	defer srv.Close()

	var logs bytes.Buffer
	var bodies []string
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
		Username: "echo-user", Password: password, AppKey: "echo-key", AppSecret: appSecret,
	},
		bkash.WithBaseURL(srv.URL),
		bkash.WithHTTPClient(srv.Client()),
		bkash.WithBodyLogging(),
		bkash.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		bkash.WithObserver(observerFunc(func(ev bkash.AttemptEvent) { bodies = append(bodies, ev.Request, ev.Response) })),
	)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Payments.Query(context.Background(), "TR0011echo")
	if err == nil {
		t.Fatal("query answered 2079 succeeded")
	}
	seen := err.Error() + fmt.Sprintf(" %+v %#v ", err, err) + logs.String() + strings.Join(bodies, " ")
	for _, s := range []string{idToken, refresh, appSecret, password} {
		if strings.Contains(seen, s) {
			t.Errorf("%s reached the error, the log or the observer:\nerror: %v\nlog: %s", s, err, logs.String())
		}
	}
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("error %q does not show where the secret was", err)
	}
}

type observerFunc func(bkash.AttemptEvent)

func (f observerFunc) ObserveAttempt(ev bkash.AttemptEvent) { f(ev) }

func (f observerFunc) ObserveTokenRenewal(bkash.TokenRenewalEvent) {}
