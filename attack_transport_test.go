package bkash_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
)

// abandoningTimeout is a timeout a user might wrap around a transport: it
// runs the request on a goroutine and gives up on it after d. The request
// it gave up on is not cancelled: the inner transport goes on dialing and
// sends it when the connection is up. The RoundTripper contract allows
// this (RoundTrip may close the body "in a separate goroutine even after
// RoundTrip returns").
type abandoningTimeout struct {
	rt http.RoundTripper
	d  time.Duration
}

func (a abandoningTimeout) RoundTrip(r *http.Request) (*http.Response, error) {
	type result struct {
		resp *http.Response
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		resp, err := a.rt.RoundTrip(r)
		ch <- result{resp, err}
	}()
	select {
	case res := <-ch:
		return res.resp, res.err
	case <-time.After(a.d):
		return nil, errors.New("timeout wrapper: gave up waiting")
	}
}

// TestRoundTripperThatReturnsBeforeItIsDoneWithTheBodyNeverResendsMoney:
// behind a slow dial, a wrapper returns an error while its request is still
// on its way. That request was not sent yet, but it would be once the dial
// completes: the retry must be the only request that can reach the server,
// and "not sent" must be true. Before, the abandoned requests went out
// after the call had retried: three executes reached the server and the
// call reported "not sent after 3 attempt(s)".
func TestRoundTripperThatReturnsBeforeItIsDoneWithTheBodyNeverResendsMoney(t *testing.T) {
	t.Parallel()
	var money atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // headers without a whole body: nothing to execute
		}
		if strings.HasSuffix(r.URL.Path, "/token/grant") {
			_, _ = fmt.Fprint(w, benchGrantAnswer)
			return
		}
		if !strings.Contains(string(body), benchPaymentID) {
			t.Errorf("execute body = %q", body)
		}
		money.Add(1)
		_, _ = fmt.Fprint(w, benchQueryAnswer)
	}))
	t.Cleanup(srv.Close)
	var dialSlowly atomic.Bool
	slow := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dialSlowly.Load() {
			time.Sleep(100 * time.Millisecond)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(slow.CloseIdleConnections)
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
		Username: "u", Password: "pw", AppKey: "app-key", AppSecret: "app-secret",
	}, bkash.WithBaseURL(srv.URL), bkash.WithRetryPolicy(fastRetries),
		bkash.WithHTTPClient(&http.Client{Transport: abandoningTimeout{slow, 30 * time.Millisecond}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	slow.CloseIdleConnections() // the execute dials anew, slowly
	dialSlowly.Store(true)
	_, err = c.Payments.Execute(context.Background(), benchPaymentID)
	time.Sleep(300 * time.Millisecond) // let every abandoned request land
	n := money.Load()
	switch {
	case err == nil && n != 1:
		t.Errorf("execute succeeded and reached the server %d times, want 1", n)
	case errors.Is(err, bkash.ErrOutcomeUnknown) && n > 1:
		t.Errorf("execute reached the server %d times, want at most 1 (err = %v)", n, err)
	case err != nil && !errors.Is(err, bkash.ErrOutcomeUnknown) && n != 0:
		t.Errorf("err = %v, which says nothing was sent, but execute reached the server %d times", err, n)
	}
}
