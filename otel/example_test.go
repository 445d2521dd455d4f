package bkashotel_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	bkashotel "github.com/smartdairy/bkash-go/otel"
)

// ExampleNew wires a Client to a TracerProvider and a MeterProvider. In a
// service they would export to a collector or Prometheus; here the spans
// are kept in memory and printed.
func ExampleNew() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))

	tel, err := bkashotel.New(bkashotel.WithTracerProvider(tp), bkashotel.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	srv := bkashtest.NewServer() // the fake bKash
	defer srv.Close()
	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL), tel.ClientOption())
	if err != nil {
		log.Fatal(err)
	}

	// The application's own span: the SDK's spans become its children.
	ctx, span := tp.Tracer("shop").Start(context.Background(), "GET /orders/42")
	_, err = client.Payments.Query(ctx, "TR0011NOSUCHPAYMENT")
	span.End()
	fmt.Println("payment not found:", errors.Is(err, bkash.CodeInvalidPaymentID))

	for _, s := range spans.GetSpans() {
		fmt.Println(s.Name)
	}
	// Output:
	// payment not found: true
	// bkash token.grant
	// bkash token.renewal
	// bkash payment.query
	// GET /orders/42
}
