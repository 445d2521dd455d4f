package bkash_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"

	bkash "github.com/smartdairy/bkash-go"
)

// The benchmarks below compare the SDK with the floor: a hand-written
// net/http + encoding/json call to the same loopback server, measured in
// the same run. scripts/bench.sh turns them into the ratios of BENCHMARKS.md.

const benchQueryAnswer = `{"paymentID":"TR0011Hk2Lm9P1735713000456","mode":"0011","paymentCreateTime":"2025-01-01T12:30:00:456 GMT+0600","paymentExecuteTime":"2025-01-01T12:31:10:222 GMT+0600","amount":"150.50","currency":"BDT","intent":"sale","merchantInvoice":"A-1001-1","trxID":"CLA7K2M9QZ","transactionStatus":"Completed","verificationStatus":"Complete","statusCode":"0000","statusMessage":"Successful","payerReference":"01770618575"}`

const benchGrantAnswer = `{"statusCode":"0000","statusMessage":"Successful","id_token":"eyJraWQiOiJFWEFNUExFIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.ZXhhbXBsZQ.aXY.Y2lwaGVy.dGFn"}`

func benchHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	return &http.Client{Transport: tr}
}

func newBenchClient(tb testing.TB, url string, hc *http.Client) *bkash.Client {
	tb.Helper()
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
		Username: "bench", Password: "pw", AppKey: "app-key", AppSecret: "app-secret",
	}, bkash.WithBaseURL(url), bkash.WithHTTPClient(hc))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Payments.Query(context.Background(), "TR0011Hk2Lm9P1735713000456"); err != nil {
		tb.Fatal(err) // warm up: grant the token and open a connection
	}
	return c
}

// rawQueryAnswer is what a careful hand-written integration decodes.
type rawQueryAnswer struct {
	PaymentID          string `json:"paymentID"`
	Mode               string `json:"mode"`
	PaymentCreateTime  string `json:"paymentCreateTime"`
	PaymentExecuteTime string `json:"paymentExecuteTime"`
	Amount             string `json:"amount"`
	Currency           string `json:"currency"`
	Intent             string `json:"intent"`
	MerchantInvoice    string `json:"merchantInvoice"`
	TrxID              string `json:"trxID"`
	TransactionStatus  string `json:"transactionStatus"`
	VerificationStatus string `json:"verificationStatus"`
	StatusCode         string `json:"statusCode"`
	StatusMessage      string `json:"statusMessage"`
	PayerReference     string `json:"payerReference"`
}

// rawQuery is the baseline: the same request, headers and decoding, written
// by hand with net/http and encoding/json.
func rawQuery(hc *http.Client, url, token string) error {
	return rawPost(hc, url+"/v1.2.0-beta/tokenized/checkout/payment/status", token,
		map[string]string{"paymentID": "TR0011Hk2Lm9P1735713000456"}, &rawQueryAnswer{})
}

const benchToken = "eyJraWQiOiJFWEFNUExFIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl"

func BenchmarkQuery(b *testing.B) {
	const id = "TR0011Hk2Lm9P1735713000456"
	runCallPair(b, benchCall{
		raw: func(hc *http.Client, root string) error { return rawQuery(hc, root, benchToken) },
		sdk: func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Payments.Query(ctx, id)
			return err
		},
	})
}

// par64 is the parallelism that makes RunParallel use 64 goroutines.
func par64() int {
	p := runtime.GOMAXPROCS(0)
	return (64 + p - 1) / p
}
