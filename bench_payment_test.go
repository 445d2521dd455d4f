package bkash_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	bkash "github.com/smartdairy/bkash-go"
)

// Payments.Create and Payments.Execute through the SDK against the same call
// written by hand with net/http and encoding/json, on one loopback server
// and in the same run. BenchmarkQuery (bench_query_test.go) is the third of
// the set and shares its client and helpers. Sub-benchmark names carry
// key=value pairs so that benchstat can put the two implementations side by
// side (scripts/bench.sh).

// benchPaymentID is the payment every benchmark call names.
const benchPaymentID = "TR0011Hk2Lm9P1735713000456"

// compactFixture reads a testdata fixture and compacts it, as bKash sends
// its answers.
func compactFixture(tb testing.TB, path string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return buf.Bytes()
}

// newPaymentBenchServer answers grant, create, execute and payment/status
// with fixed bodies taken from the testdata fixtures.
func newPaymentBenchServer(tb testing.TB) *httptest.Server {
	tb.Helper()
	answers := map[string][]byte{
		"/v1.2.0-beta/tokenized/checkout/token/grant":    []byte(benchGrantAnswer),
		"/v1.2.0-beta/tokenized/checkout/create":         compactFixture(tb, "testdata/payment/create_0011_ok.json"),
		"/v1.2.0-beta/tokenized/checkout/execute":        compactFixture(tb, "testdata/payment/execute_completed.json"),
		"/v1.2.0-beta/tokenized/checkout/payment/status": []byte(benchQueryAnswer),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		answer, ok := answers[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// rawCreateRequest is the create body a careful integration would marshal.
type rawCreateRequest struct {
	Mode                  string `json:"mode"`
	PayerReference        string `json:"payerReference"`
	CallbackURL           string `json:"callbackURL"`
	Amount                string `json:"amount"`
	Currency              string `json:"currency"`
	Intent                string `json:"intent"`
	MerchantInvoiceNumber string `json:"merchantInvoiceNumber"`
}

// rawPaymentIDRequest is the body of execute.
type rawPaymentIDRequest struct {
	PaymentID string `json:"paymentID"`
}

// rawPaymentAnswer holds the members of create and execute answers as
// plain strings.
type rawPaymentAnswer struct {
	StatusCode            string `json:"statusCode"`
	StatusMessage         string `json:"statusMessage"`
	PaymentID             string `json:"paymentID"`
	BkashURL              string `json:"bkashURL"`
	CallbackURL           string `json:"callbackURL"`
	SuccessCallbackURL    string `json:"successCallbackURL"`
	FailureCallbackURL    string `json:"failureCallbackURL"`
	CancelledCallbackURL  string `json:"cancelledCallbackURL"`
	PayerReference        string `json:"payerReference"`
	CustomerMsisdn        string `json:"customerMsisdn"`
	TrxID                 string `json:"trxID"`
	Amount                string `json:"amount"`
	Intent                string `json:"intent"`
	Currency              string `json:"currency"`
	PaymentCreateTime     string `json:"paymentCreateTime"`
	PaymentExecuteTime    string `json:"paymentExecuteTime"`
	TransactionStatus     string `json:"transactionStatus"`
	MerchantInvoiceNumber string `json:"merchantInvoiceNumber"`
}

// rawAnswer is a baseline's answer type: it reports bKash's statusCode.
type rawAnswer interface{ code() string }

func (a *rawPaymentAnswer) code() string { return a.StatusCode }
func (a *rawQueryAnswer) code() string   { return a.StatusCode }

// rawPost is the baseline call: marshal, POST with bKash's headers, read
// the whole answer, unmarshal into out, check the status code.
func rawPost(hc *http.Client, url, token string, in any, out rawAnswer) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", token)
	req.Header.Set("X-App-Key", "app-key")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return err
	}
	if c := out.code(); c != "0000" {
		return errors.New("bkash error " + c)
	}
	return nil
}

// reportCPU adds a cpu-ns/op metric to b: the process's CPU time (client,
// loopback server and runtime together) per operation. Unlike ns/op it
// hardly moves when other processes compete for the machine's cores, so it
// is the steadier measure of what the SDK adds. Call the function it
// returns when the measured loop is done.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// benchCall is one operation of the pair: the raw call and the SDK call.
type benchCall struct {
	raw func(hc *http.Client, root string) error
	sdk func(ctx context.Context, c *bkash.Client) error
}

// runCallPair runs the four sub-benchmarks of a call: raw and SDK,
// sequential and with 64 goroutines, each on its own server and client.
func runCallPair(b *testing.B, bc benchCall) {
	b.Run("mode=seq/impl=raw", func(b *testing.B) {
		srv := newPaymentBenchServer(b)
		hc := benchHTTPClient()
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if err := bc.raw(hc, srv.URL); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mode=seq/impl=sdk", func(b *testing.B) {
		srv := newPaymentBenchServer(b)
		c := newBenchClient(b, srv.URL, benchHTTPClient())
		ctx := context.Background()
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if err := bc.sdk(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mode=par64/impl=raw", func(b *testing.B) {
		srv := newPaymentBenchServer(b)
		hc := benchHTTPClient()
		b.SetParallelism(par64())
		b.ReportAllocs()
		defer reportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := bc.raw(hc, srv.URL); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("mode=par64/impl=sdk", func(b *testing.B) {
		srv := newPaymentBenchServer(b)
		c := newBenchClient(b, srv.URL, benchHTTPClient())
		ctx := context.Background()
		b.SetParallelism(par64())
		b.ReportAllocs()
		defer reportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := bc.sdk(ctx, c); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkCreate(b *testing.B) {
	params := &bkash.CreatePaymentParams{
		Amount:         bkash.Poisha(125050),
		InvoiceNumber:  "A-1001-1",
		PayerReference: "01770618575",
		CallbackURL:    "https://shop.example.com/bkash/callback?order=A-1001",
	}
	runCallPair(b, benchCall{
		raw: func(hc *http.Client, root string) error {
			return rawPost(hc, root+"/v1.2.0-beta/tokenized/checkout/create", benchToken, &rawCreateRequest{
				Mode:                  "0011",
				PayerReference:        params.PayerReference,
				CallbackURL:           params.CallbackURL,
				Amount:                "1250.50",
				Currency:              "BDT",
				Intent:                "sale",
				MerchantInvoiceNumber: params.InvoiceNumber,
			}, &rawPaymentAnswer{})
		},
		sdk: func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Payments.Create(ctx, params)
			return err
		},
	})
}

func BenchmarkExecute(b *testing.B) {
	runCallPair(b, benchCall{
		raw: func(hc *http.Client, root string) error {
			return rawPost(hc, root+"/v1.2.0-beta/tokenized/checkout/execute", benchToken, &rawPaymentIDRequest{PaymentID: benchPaymentID}, &rawPaymentAnswer{})
		},
		sdk: func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Payments.Execute(ctx, benchPaymentID)
			return err
		},
	})
}
