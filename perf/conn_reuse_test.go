package perf_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
)

// These tests count the TCP connections a loopback "bKash" accepts while the
// SDK's default HTTP client calls it: calls reuse connections, at most one
// per concurrent caller, and a bKash error answer does not cost its
// connection (the SDK reads every answer to its end before closing it).

// connServer is a loopback bKash that counts the connections it accepts.
// Grant always succeeds; every other path is answered by answer.
type connServer struct {
	*httptest.Server
	conns  atomic.Int64
	mu     sync.Mutex
	answer func(w http.ResponseWriter, r *http.Request, n int) // n: 1-based count of non-grant requests
	n      int
}

func newConnServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) *connServer {
	t.Helper()
	cs := &connServer{answer: answer}
	cs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/token/grant") {
			_, _ = fmt.Fprint(w, benchGrantAnswer)
			return
		}
		cs.mu.Lock()
		cs.n++
		n := cs.n
		cs.mu.Unlock()
		cs.answer(w, r, n)
	}))
	cs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			cs.conns.Add(1)
		}
	}
	cs.Start()
	t.Cleanup(cs.Close)
	return cs
}

// connClient is a client with the SDK's default HTTP client and quick
// retries.
func connClient(t *testing.T, url string) *bkash.Client {
	t.Helper()
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
		Username: "conn", Password: "pw", AppKey: "app-key", AppSecret: "app-secret",
	}, bkash.WithBaseURL(url), bkash.WithRetryPolicy(bkash.RetryPolicy{
		MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond,
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func answerQuery(w http.ResponseWriter, _ *http.Request, _ int) {
	_, _ = fmt.Fprint(w, benchQueryAnswer)
}

func TestSequentialCallsShareOneConnection(t *testing.T) {
	t.Parallel()
	srv := newConnServer(t, answerQuery)
	c := connClient(t, srv.URL)
	ctx := context.Background()
	for i := range 200 {
		if _, err := c.Payments.Query(ctx, benchPaymentID); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if got := srv.conns.Load(); got != 1 {
		t.Errorf("connections for a grant and 200 sequential calls = %d, want 1", got)
	}
}

// TestConcurrentCallersOpenAtMostOneConnectionEach holds the first round of
// calls in the server until every caller's request has arrived, so that
// each caller needs a connection of its own at the same moment; after that
// the pool serves free-running callers without a new connection.
func TestConcurrentCallersOpenAtMostOneConnectionEach(t *testing.T) {
	t.Parallel()
	const callers, calls = 32, 25
	var arrived sync.WaitGroup
	arrived.Add(callers)
	released := make(chan struct{})
	go func() {
		arrived.Wait()
		close(released)
	}()
	srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n >= 2 && n <= callers+1 { // the first round, after the warm-up call
			arrived.Done()
			select {
			case <-released:
			case <-time.After(10 * time.Second):
			}
		}
		answerQuery(w, r, n)
	})
	c := connClient(t, srv.URL)
	ctx := context.Background()
	if _, err := c.Payments.Query(ctx, benchPaymentID); err != nil {
		t.Fatal(err) // grants the token on the connection the first round reuses
	}
	round := func() {
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				if _, err := c.Payments.Query(ctx, benchPaymentID); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	round()
	if got := srv.conns.Load(); got != callers {
		t.Fatalf("connections for %d simultaneous callers = %d, want %d", callers, got, callers)
	}
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range calls {
				if _, err := c.Payments.Query(ctx, benchPaymentID); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := srv.conns.Load() - callers; got != 0 {
		t.Errorf("%d callers x %d calls on a warm pool opened %d new connections, want 0", callers, calls, got)
	}
}

// TestErrorAnswersKeepTheirConnection: every kind of answer the SDK turns
// into an error is read to its end, so the connection goes back to the pool.
func TestErrorAnswersKeepTheirConnection(t *testing.T) {
	t.Parallel()
	const html = `<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>`
	tests := []struct {
		name   string
		call   func(context.Context, *bkash.Client) error
		answer func(w http.ResponseWriter, r *http.Request, n int)
		check  func(error) error
	}{
		{
			name: "HTTP 200 with a bKash error code",
			call: execute,
			answer: func(w http.ResponseWriter, _ *http.Request, _ int) {
				_, _ = fmt.Fprint(w, `{"statusCode":"2023","statusMessage":"Insufficient Balance"}`)
			},
			check: wantCode(bkash.CodeInsufficientBalance),
		},
		{
			name: "HTTP 200 with the errorCode envelope",
			call: func(ctx context.Context, c *bkash.Client) error {
				_, err := c.Payments.Void(ctx, benchPaymentID)
				return err
			},
			answer: func(w http.ResponseWriter, _ *http.Request, _ int) {
				_, _ = fmt.Fprint(w, `{"errorCode":"2119","errorMessage":"Authorization already processed"}`)
			},
			check: wantCode(bkash.CodeAuthorizationProcessed),
		},
		{
			name: "HTTP 400 with the v2 refund envelope",
			call: func(ctx context.Context, c *bkash.Client) error {
				_, err := c.Refunds.Status(ctx, benchPaymentID, "CLA7K2M9QZ")
				return err
			},
			answer: func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = fmt.Fprint(w, `{"internalCode":"","externalCode":"2071","errorMessageEn":"Refund window expired","errorMessageBn":"রিফান্ডের সময় শেষ"}`)
			},
			check: wantCode(bkash.CodeRefundWindowExpired),
		},
		{
			name: "an HTML error page, retried and then returned",
			call: query,
			answer: func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				_, _ = fmt.Fprint(w, html)
			},
			check: func(err error) error {
				if err == nil {
					return errors.New("no error")
				}
				return nil
			},
		},
		{
			name: "malformed JSON answering a money call",
			call: execute,
			answer: func(w http.ResponseWriter, _ *http.Request, _ int) {
				_, _ = fmt.Fprint(w, `{"statusCode":"0000","paymentID":`)
			},
			check: func(err error) error {
				if !errors.Is(err, bkash.ErrOutcomeUnknown) {
					return fmt.Errorf("err = %v, want ErrOutcomeUnknown", err)
				}
				return nil
			},
		},
		{
			name: "503 with Retry-After, then success",
			call: query,
			answer: func(w http.ResponseWriter, r *http.Request, n int) {
				if n%2 == 1 {
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = fmt.Fprint(w, `{"message":"Service Unavailable"}`)
					return
				}
				answerQuery(w, r, n)
			},
			check: wantNil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newConnServer(t, tc.answer)
			c := connClient(t, srv.URL)
			ctx := context.Background()
			for i := range 20 {
				if err := tc.check(tc.call(ctx, c)); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if got := srv.conns.Load(); got != 1 {
				t.Errorf("connections = %d, want 1: an error answer cost its connection", got)
			}
		})
	}
}

// TestOversizedAnswerIsNotDrained documents the one exception: an answer
// over the SDK's 1 MiB limit is not a bKash answer, and reading the rest of
// it to save a connection would be the wrong trade, so its connection is
// closed.
func TestOversizedAnswerIsNotDrained(t *testing.T) {
	t.Parallel()
	huge := `{"statusCode":"0000","pad":"` + strings.Repeat("x", 2<<20) + `"}`
	srv := newConnServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		_, _ = fmt.Fprint(w, huge)
	})
	c := connClient(t, srv.URL)
	ctx := context.Background()
	const calls = 3
	for i := range calls {
		if _, err := c.Payments.Execute(ctx, benchPaymentID); !errors.Is(err, bkash.ErrOutcomeUnknown) {
			t.Fatalf("call %d: err = %v, want ErrOutcomeUnknown", i, err)
		}
	}
	// One connection for the grant, reused by the first call; each
	// oversized answer closes the connection it came on.
	if got := srv.conns.Load(); got != calls {
		t.Errorf("connections = %d, want %d", got, calls)
	}
}

func query(ctx context.Context, c *bkash.Client) error {
	_, err := c.Payments.Query(ctx, benchPaymentID)
	return err
}

func execute(ctx context.Context, c *bkash.Client) error {
	_, err := c.Payments.Execute(ctx, benchPaymentID)
	return err
}

func wantNil(err error) error { return err }

func wantCode(code bkash.ErrorCode) func(error) error {
	return func(err error) error {
		var ae *bkash.APIError
		if !errors.As(err, &ae) || ae.Code != code {
			return fmt.Errorf("err = %v, want *APIError %s", err, code)
		}
		return nil
	}
}
