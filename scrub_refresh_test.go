package bkash

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/smartdairy/bkash-go/internal/transport"
)

// A refresh request carries the refresh_token in its body rather than in the
// call's token: a server echoing it in its message must not put it into an
// error.
func TestScrubRemovesRefreshTokenOfRefreshCall(t *testing.T) {
	c := &Client{secrets: seal(&clientSecrets{creds: Credentials{Password: "pw-1", AppSecret: "as-1"}})}
	cl := &call{c: c, ep: epRefresh, in: tokenRequest{RefreshToken: "ECHOED-REFRESH-77"}}
	got := cl.scrub("bad refresh token ECHOED-REFRESH-77 (pw-1, as-1)")
	for _, s := range []string{"ECHOED-REFRESH-77", "pw-1", "as-1"} {
		if strings.Contains(got, s) {
			t.Fatalf("scrub left %q in %q", s, got)
		}
	}
}

// An answer that is not bKash's (a 5xx with a foreign {"message": ...}, a
// 200 carrying only an errorMessage) becomes an *OutcomeUnknownError or a
// plain error whose text quotes the message: the secrets the call sent must
// be scrubbed from it as from an *APIError's message.
func TestScrubForeignMessageInUnknownOutcome(t *testing.T) {
	c := &Client{secrets: seal(&clientSecrets{creds: Credentials{Password: "pw-2", AppSecret: "as-2"}})}
	for _, ep := range []*endpoint{epPaymentExecute, epPaymentQuery} {
		for _, status := range []int{200, 500} {
			cl := &call{c: c, ep: ep, tok: &Token{IDToken: "idt-2", RefreshToken: "rt-2"}}
			body := `{"message":"echo idt-2 rt-2 pw-2 as-2"}`
			if status == 200 {
				body = `{"errorMessage":"echo idt-2 rt-2 pw-2 as-2"}`
			}
			res := transport.Result{Resp: &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}, Attempts: 1, Sent: true}
			err, _ := cl.finish(context.Background(), res, &struct{ envelope }{})
			cl.scrubError(err) // as run does
			if err == nil {
				t.Fatalf("%s %d: no error", ep.op, status)
			}
			for _, s := range []string{"idt-2", "rt-2", "pw-2", "as-2"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("%s %d: %q in %q", ep.op, status, s, err)
				}
			}
		}
	}
}
