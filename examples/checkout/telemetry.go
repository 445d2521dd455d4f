package main

// The shop's OpenTelemetry wiring: the bkash-go/otel adapter on the bKash
// client (beside the audit observer), a server span per request so that
// each request's bKash calls form one trace, traces written to stdout when
// BKASH_TRACES=stdout, and a Prometheus /metrics endpoint on its own
// listener with -metrics (or BKASH_METRICS_ADDR). Both are off by default.
// webhookOptions and reconcileObserver are for the webhook verifier and the
// reconciler, which package shop builds. docs/observability.md lists what
// is recorded and the dashboard queries.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/smartdairy/bkash-go"
	bkashotel "github.com/smartdairy/bkash-go/otel"
)

// telemetryOptions are the shop's observability settings.
type telemetryOptions struct {
	// traces is where spans go: "" (nowhere) or "stdout" (BKASH_TRACES).
	traces string
	// metrics is the address of the Prometheus /metrics listener, "" for
	// none (-metrics, or BKASH_METRICS_ADDR).
	metrics string
}

// registerTelemetryFlags adds -metrics to fs; call readTelemetryEnv after
// fs.Parse.
func registerTelemetryFlags(fs *flag.FlagSet, o *telemetryOptions) {
	fs.StringVar(&o.metrics, "metrics", "", "address of a Prometheus /metrics listener, e.g. 127.0.0.1:9464 (default: none; env BKASH_METRICS_ADDR)")
}

// readTelemetryEnv reads BKASH_TRACES and, when -metrics was not given,
// BKASH_METRICS_ADDR.
func readTelemetryEnv(getenv func(string) string, o *telemetryOptions) error {
	switch v := getenv("BKASH_TRACES"); v {
	case "", "off", "none":
		o.traces = ""
	case "stdout":
		o.traces = v
	default:
		return fmt.Errorf("BKASH_TRACES=%q: use stdout (or leave it unset)", v)
	}
	if o.metrics == "" {
		o.metrics = getenv("BKASH_METRICS_ADDR")
	}
	return nil
}

// telemetry is the running setup. Its methods work on a nil *telemetry
// too, and then do nothing.
type telemetry struct {
	tel     *bkashotel.Telemetry
	tracer  trace.Tracer
	tp      *sdktrace.TracerProvider // nil without traces
	mp      *sdkmetric.MeterProvider // nil without metrics
	metrics *http.Server             // nil without metrics
	addr    string                   // the metrics listener's address
}

// startTelemetry sets up what o asks for; with nothing asked it returns a
// nil *telemetry. Spans are written to stdout as JSON, one per line.
func startTelemetry(o telemetryOptions, stdout io.Writer) (*telemetry, error) {
	if o.traces == "" && o.metrics == "" {
		return nil, nil
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName("bkash-go-shop"), semconv.ServiceVersion(bkash.Version)))
	if err != nil {
		return nil, err
	}
	t := &telemetry{}
	var tp trace.TracerProvider = tracenoop.NewTracerProvider()
	if o.traces == "stdout" {
		exp, err := stdouttrace.New(stdouttrace.WithWriter(stdout))
		if err != nil {
			return nil, err
		}
		t.tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res),
			sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)))
		tp = t.tp
	}
	var mp metric.MeterProvider = metricnoop.NewMeterProvider()
	if o.metrics != "" {
		reg := prometheus.NewRegistry()
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			return nil, errors.Join(err, t.close(context.Background()))
		}
		t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(exp))
		mp = t.mp
		ln, err := net.Listen("tcp", o.metrics)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("metrics listener: %w", err), t.close(context.Background()))
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		t.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		t.addr = ln.Addr().String()
		go func() { _ = t.metrics.Serve(ln) }()
	}
	t.tracer = tp.Tracer("github.com/smartdairy/bkash-go/examples/checkout")
	t.tel, err = bkashotel.New(bkashotel.WithTracerProvider(tp), bkashotel.WithMeterProvider(mp))
	if err != nil {
		return nil, errors.Join(err, t.close(context.Background()))
	}
	return t, nil
}

// clientOptions are the bkash options that make a Client report to t.
func (t *telemetry) clientOptions() []bkash.Option {
	if t == nil {
		return nil
	}
	return []bkash.Option{t.tel.ClientOption()}
}

// webhookOptions are the options that make a WebhookVerifier report to t.
func (t *telemetry) webhookOptions() []bkash.WebhookOption {
	if t == nil {
		return nil
	}
	return []bkash.WebhookOption{t.tel.WebhookOption()}
}

// reconcileObserver is what a Reconciler's Observer field takes; nil
// without telemetry.
func (t *telemetry) reconcileObserver() bkash.ReconcileObserver {
	if t == nil {
		return nil
	}
	return t.tel
}

// handler wraps the shop's handler so that each request has a server span:
// the bKash calls a request makes are its children, one trace per request.
func (t *telemetry) handler(next http.Handler) http.Handler {
	if t == nil || t.tp == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := t.tracer.Start(r.Context(), r.Method+" "+r.URL.Path,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.URLPath(r.URL.Path)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		span.SetAttributes(semconv.HTTPResponseStatusCode(sw.status))
	})
}

// metricsURL is the /metrics URL, "" without metrics.
func (t *telemetry) metricsURL() string {
	if t == nil || t.metrics == nil {
		return ""
	}
	return "http://" + t.addr + "/metrics"
}

// Close flushes the spans and stops the metrics listener.
func (t *telemetry) Close(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.close(ctx)
}

func (t *telemetry) close(ctx context.Context) error {
	var errs []error
	if t.metrics != nil {
		errs = append(errs, t.metrics.Shutdown(ctx))
	}
	if t.tp != nil {
		errs = append(errs, t.tp.Shutdown(ctx))
	}
	if t.mp != nil {
		errs = append(errs, t.mp.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
