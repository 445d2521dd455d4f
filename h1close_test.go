package bkash_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	bkash "github.com/smartdairy/bkash-go"
)

// TestHTTP1ClosedAfterBodyNeverResendsMoney: a server (or a NAT, a load
// balancer) that reads a whole money request on a reused keep-alive
// connection and then closes it without answering. net/http re-sends a
// request by itself on a reused connection when it thinks the request was
// not processed; a money call must reach the server once, and its outcome
// is unknown. Both the SDK's default client and a user's *http.Transport.
func TestHTTP1ClosedAfterBodyNeverResendsMoney(t *testing.T) {
	t.Parallel()
	ops := []struct {
		name string
		path string
		call func(context.Context, *bkash.Client) error
	}{
		{"execute", "/execute", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Payments.Execute(ctx, benchPaymentID)
			return err
		}},
		{"capture", "/capture", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Payments.Capture(ctx, benchPaymentID)
			return err
		}},
		{"void", "/void", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Payments.Void(ctx, benchPaymentID)
			return err
		}},
		{"agreement execute", "/execute", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Agreements.Execute(ctx, benchPaymentID)
			return err
		}},
	}
	for _, op := range ops {
		for _, userTransport := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/userTransport=%v", op.name, userTransport), func(t *testing.T) {
				t.Parallel()
				var mu sync.Mutex
				money := 0
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					switch {
					case strings.HasSuffix(r.URL.Path, "/token/grant"):
						_, _ = fmt.Fprint(w, benchGrantAnswer)
					case strings.HasSuffix(r.URL.Path, op.path):
						_, _ = io.ReadAll(r.Body)
						mu.Lock()
						money++
						mu.Unlock()
						conn, _, err := http.NewResponseController(w).Hijack()
						if err != nil {
							t.Error(err)
							return
						}
						conn.Close()
					default:
						_, _ = fmt.Fprint(w, benchQueryAnswer)
					}
				}))
				t.Cleanup(srv.Close)
				opts := []bkash.Option{bkash.WithBaseURL(srv.URL)}
				if userTransport {
					opts = append(opts, bkash.WithHTTPClient(&http.Client{Transport: &http.Transport{}}))
				}
				c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
					Username: "h1", Password: "pw", AppKey: "app-key", AppSecret: "app-secret",
				}, opts...)
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				// Warm the connection so the money call goes out on a reused one.
				if _, err := c.Payments.Query(ctx, benchPaymentID); err != nil {
					t.Fatal(err)
				}
				err = op.call(ctx, c)
				if !errors.Is(err, bkash.ErrOutcomeUnknown) {
					t.Errorf("err = %v, want an unknown outcome", err)
				}
				mu.Lock()
				defer mu.Unlock()
				if money != 1 {
					t.Errorf("%s reached the server %d times, want 1", op.name, money)
				}
			})
		}
	}
}

// The loopback server's answers and the payment the calls name.
const (
	benchPaymentID   = "TR0011Hk2Lm9P1735713000456"
	benchGrantAnswer = `{"statusCode":"0000","statusMessage":"Successful","id_token":"eyJraWQiOiJFWEFNUExFIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.ZXhhbXBsZQ.aXY.Y2lwaGVy.dGFn"}`
	benchQueryAnswer = `{"paymentID":"TR0011Hk2Lm9P1735713000456","mode":"0011","paymentCreateTime":"2025-01-01T12:30:00:456 GMT+0600","paymentExecuteTime":"2025-01-01T12:31:10:222 GMT+0600","amount":"150.50","currency":"BDT","intent":"sale","merchantInvoice":"A-1001-1","trxID":"CLA7K2M9QZ","transactionStatus":"Completed","verificationStatus":"Complete","statusCode":"0000","statusMessage":"Successful","payerReference":"01770618575"}`
)
