package bkashotel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/smartdairy/bkash-go"
	bkashotel "github.com/smartdairy/bkash-go/otel"
)

const (
	benchQueryAnswer = `{"paymentID":"TR0011Hk2Lm9P1735713000456","mode":"0011","paymentCreateTime":"2025-01-01T12:30:00:456 GMT+0600","paymentExecuteTime":"2025-01-01T12:31:10:222 GMT+0600","amount":"150.50","currency":"BDT","intent":"sale","merchantInvoice":"A-1001-1","trxID":"CLA7K2M9QZ","transactionStatus":"Completed","verificationStatus":"Complete","statusCode":"0000","statusMessage":"Successful","payerReference":"01770618575"}`
	benchGrantAnswer = `{"statusCode":"0000","statusMessage":"Successful","id_token":"eyJraWQiOiJFWEFNUExFIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.ZXhhbXBsZQ.aXY.Y2lwaGVy.dGFn"}`
	benchPaymentID   = "TR0011Hk2Lm9P1735713000456"
)

// benchClients returns a Client without telemetry and one whose every span
// (sampled, batched to a discarding exporter) and metric is recorded, both
// on one loopback server, and the context of a parent span to call them
// with.
func benchClients(b *testing.B) (plain, observed *bkash.Client, ctx context.Context) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/token/grant") {
			_, _ = io.WriteString(w, benchGrantAnswer)
			return
		}
		_, _ = io.WriteString(w, benchQueryAnswer)
	}))
	b.Cleanup(srv.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}

	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tel, err := bkashotel.New(bkashotel.WithTracerProvider(tp), bkashotel.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	ctx, parent := tp.Tracer("bench").Start(context.Background(), "request")
	b.Cleanup(func() { parent.End() })

	newClient := func(opts ...bkash.Option) *bkash.Client {
		c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{Username: "bench", Password: "pw", AppKey: "app-key", AppSecret: "app-secret"},
			append([]bkash.Option{bkash.WithBaseURL(srv.URL), bkash.WithHTTPClient(hc)}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Payments.Query(ctx, benchPaymentID); err != nil {
			b.Fatal(err) // warm up: the grant and a connection
		}
		return c
	}
	return newClient(), newClient(tel.ClientOption()), ctx
}

// BenchmarkQuery measures each client on its own, for the allocations.
func BenchmarkQuery(b *testing.B) {
	plain, observed, ctx := benchClients(b)
	run := func(c *bkash.Client) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Payments.Query(ctx, benchPaymentID); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("plain", run(plain))
	b.Run("otel", run(observed))
}

// BenchmarkQueryOverhead interleaves the two clients call by call, so that
// both see the same machine, and reports their times and the ratio
// otel/plain. Run it as -bench QueryOverhead -count 6 -benchtime 2000x.
func BenchmarkQueryOverhead(b *testing.B) {
	plain, observed, ctx := benchClients(b)
	var tPlain, tOtel time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := plain.Payments.Query(ctx, benchPaymentID); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := observed.Payments.Query(ctx, benchPaymentID); err != nil {
			b.Fatal(err)
		}
		tPlain += t1.Sub(t0)
		tOtel += time.Since(t1)
	}
	b.ReportMetric(float64(tPlain.Nanoseconds())/float64(b.N), "plain-ns/op")
	b.ReportMetric(float64(tOtel.Nanoseconds())/float64(b.N), "otel-ns/op")
	b.ReportMetric(float64(tOtel)/float64(tPlain), "otel/plain")
}
