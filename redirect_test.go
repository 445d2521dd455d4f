package bkash

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
)

// A redirect is never followed. net/http would re-send a 307/308'd POST,
// body and all (go-retryablehttp gives it GetBody), which for a call that
// moves money is a second send; and it forwards custom headers such as
// Username, Password and X-App-Key to whatever host the Location names.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			var followed atomic.Int32
			m.mt.RegisterResponder(http.MethodPost, "https://elsewhere.example/execute", func(*http.Request) (*http.Response, error) {
				followed.Add(1)
				return coreJSON(200, `{"statusCode":"0000","transactionStatus":"Completed"}`), nil
			})
			m.mt.RegisterResponder(http.MethodGet, "https://elsewhere.example/execute", func(*http.Request) (*http.Response, error) {
				followed.Add(1)
				return coreJSON(200, `{}`), nil
			})
			redirect := func(int, coreReq) (*http.Response, error) {
				r := coreJSON(status, `{}`)
				r.Header.Set("Location", "https://elsewhere.example/execute")
				return r, nil
			}
			m.on(epPaymentExecute, redirect)
			c := m.client()
			_, err := c.Payments.Execute(context.Background(), "TR0011abc")
			var ou *OutcomeUnknownError
			if !errors.As(err, &ou) {
				t.Errorf("Execute answered %d: err = %v, want *OutcomeUnknownError", status, err)
			}
			if n := m.sent(epPaymentExecute); n != 1 {
				t.Errorf("execute sent %d times, want 1", n)
			}

			m.onGrant(redirect) // the credentials must not follow either
			_, err = m.client(WithTokenStore(NewMemoryTokenStore())).Token(context.Background())
			if err == nil {
				t.Errorf("grant answered %d: no error", status)
			}
			if n := followed.Load(); n != 0 {
				t.Errorf("the redirect was followed %d times", n)
			}
		})
	}
}
