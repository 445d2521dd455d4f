package bkashotel

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/smartdairy/bkash-go"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/smartdairy/bkash-go/otel"

// Attribute keys of this package. Where OpenTelemetry's semantic
// conventions have a name (http.request.method, http.response.status_code,
// server.address, server.port, url.full, error.type) that name is used.
const (
	AttrOperation     = attribute.Key("bkash.operation")      // "payment.execute"
	AttrRetryClass    = attribute.Key("bkash.retry_class")    // "read", "create", "money", "cancel"
	AttrAttempt       = attribute.Key("bkash.attempt")        // 1-based attempt number (span events)
	AttrAttempts      = attribute.Key("bkash.attempts")       // attempts a call made
	AttrCode          = attribute.Key("bkash.code")           // bKash's status or error code, e.g. "2023"
	AttrOutcome       = attribute.Key("bkash.outcome")        // "ok", "refused", "unknown", "failed"
	AttrPaymentID     = attribute.Key("bkash.payment_id")     // the paymentID a call names
	AttrTrxID         = attribute.Key("bkash.trx_id")         // the trxID a call or notification names
	AttrAgreementID   = attribute.Key("bkash.agreement_id")   // the agreementID a call names
	AttrInvoiceNumber = attribute.Key("bkash.invoice_number") // the merchant invoice number of a create
	AttrTokenKind     = attribute.Key("bkash.token.kind")     // "grant", "refresh", "store"
	AttrResult        = attribute.Key("bkash.result")         // token renewal: "ok", "error", "budget_exceeded"; webhook: "ok" or the rejection
	AttrMessageType   = attribute.Key("bkash.webhook.message_type")
	AttrMessageID     = attribute.Key("bkash.webhook.message_id")
	AttrSettlement    = attribute.Key("bkash.reconcile.outcome") // "settled", "expired", "not-found", "abandoned"
	AttrPaymentStatus = attribute.Key("bkash.payment.status")    // "Completed", "Cancelled", ... or "other"
	AttrReads         = attribute.Key("bkash.reconcile.reads")
)

// Option configures New.
type Option func(*config)

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets the TracerProvider spans are made with (default:
// the global one, otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	}
}

// WithMeterProvider sets the MeterProvider metrics are recorded with
// (default: the global one, otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	}
}

// Telemetry turns the SDK's events into spans and metrics. It implements
// bkash.StartObserver (for a Client), bkash.WebhookObserver and
// bkash.ReconcileObserver; one Telemetry can observe any number of them.
// It is safe for concurrent use.
type Telemetry struct {
	tracer trace.Tracer

	callDuration   metric.Float64Histogram
	attempts       metric.Int64Counter
	unknowns       metric.Int64Counter
	renewals       metric.Int64Counter
	renewDuration  metric.Float64Histogram
	budgetRefusals metric.Int64Counter
	verifications  metric.Int64Counter
	settlements    metric.Int64Counter

	servers sync.Map // endpoint URL -> []attribute.KeyValue (server.address, server.port)
	sets    sync.Map // opSet -> metric.MeasurementOption, built once per operation and outcome
}

// opSet keys the metric attribute sets of an operation (outcome 0: the
// operation alone).
type opSet struct {
	op      string
	outcome bkash.Outcome
}

// opAttrs returns the metric option carrying bkash.operation and, when
// outcome is not zero, bkash.outcome. Building an attribute set sorts and
// allocates; there are few operations and outcomes, so each is built once.
func (t *Telemetry) opAttrs(op string, outcome bkash.Outcome) metric.MeasurementOption {
	k := opSet{op, outcome}
	if v, ok := t.sets.Load(k); ok {
		return v.(metric.MeasurementOption)
	}
	kvs := []attribute.KeyValue{AttrOperation.String(op)}
	if outcome != 0 {
		kvs = append(kvs, AttrOutcome.String(outcome.String()))
	}
	o := metric.WithAttributeSet(attribute.NewSet(kvs...))
	t.sets.Store(k, o)
	return o
}

// Compile-time checks of the interfaces Telemetry implements.
var (
	_ bkash.StartObserver     = (*Telemetry)(nil)
	_ bkash.WebhookObserver   = (*Telemetry)(nil)
	_ bkash.ReconcileObserver = (*Telemetry)(nil)
)

// durationBuckets suit bKash: most calls take 0.2-2 s, its recommended
// timeout is 30 s.
var durationBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 20, 30, 60}

// New returns a Telemetry recording to the configured providers.
func New(opts ...Option) (*Telemetry, error) {
	c := config{tp: otel.GetTracerProvider(), mp: otel.GetMeterProvider()}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	t := &Telemetry{
		tracer: c.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(bkash.Version), trace.WithSchemaURL(semconv.SchemaURL)),
	}
	m := c.mp.Meter(ScopeName, metric.WithInstrumentationVersion(bkash.Version), metric.WithSchemaURL(semconv.SchemaURL))
	var errs [8]error
	t.callDuration, errs[0] = m.Float64Histogram("bkash.client.call.duration",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(durationBuckets...),
		metric.WithDescription("Duration of bKash calls, with retries, backoff and token renewal, by operation and outcome."))
	t.attempts, errs[1] = m.Int64Counter("bkash.client.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("HTTP attempts made to bKash, by operation."))
	t.unknowns, errs[2] = m.Int64Counter("bkash.client.unknown_outcomes", metric.WithUnit("{call}"),
		metric.WithDescription("Calls whose outcome is unknown and must be reconciled, by operation."))
	t.renewals, errs[3] = m.Int64Counter("bkash.token.renewals", metric.WithUnit("{renewal}"),
		metric.WithDescription("Token renewals: grants and refreshes sent to bKash, and tokens taken from the shared store, by kind and result."))
	t.renewDuration, errs[4] = m.Float64Histogram("bkash.token.renewal.duration",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(durationBuckets...),
		metric.WithDescription("Duration of grant and refresh calls, by kind and result."))
	t.budgetRefusals, errs[5] = m.Int64Counter("bkash.token.budget_refusals", metric.WithUnit("{renewal}"),
		metric.WithDescription("Grants and refreshes the client refused to send: bKash's hourly budget was spent, or the TokenBudgetStore could not count them."))
	t.verifications, errs[6] = m.Int64Counter("bkash.webhook.verifications", metric.WithUnit("{message}"),
		metric.WithDescription("Webhook messages verified, by result (ok or the reason for rejection)."))
	t.settlements, errs[7] = m.Int64Counter("bkash.reconciler.settlements", metric.WithUnit("{payment}"),
		metric.WithDescription("Payments the Reconciler brought to a final state, by outcome and payment status."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return t, nil
}

// ClientOption returns the option that makes a Client report to t.
func (t *Telemetry) ClientOption() bkash.Option { return bkash.WithObserver(t) }

// WebhookOption returns the option that makes a WebhookVerifier report to t.
func (t *Telemetry) WebhookOption() bkash.WebhookOption { return bkash.WithWebhookObserver(t) }

// callKey and renewalKey hold, in the context a start hook returns, the
// state that the matching end event needs.
type (
	callKey    struct{}
	renewalKey struct{}
)

type callState struct {
	span trace.Span
}

// StartCall starts the call's span as a child of the span in ctx. It
// implements bkash.StartObserver.
func (t *Telemetry) StartCall(ctx context.Context, ci bkash.CallInfo) context.Context {
	op := AttrOperation.String(ci.Op)
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, op, AttrRetryClass.String(ci.Class), semconv.HTTPRequestMethodPost, semconv.URLFull(ci.URL))
	attrs = append(attrs, t.server(ci.URL)...)
	if ref, ok := refAttr(ci.RefKind, ci.Ref); ok {
		attrs = append(attrs, ref)
	}
	ctx, span := t.tracer.Start(ctx, "bkash "+ci.Op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, callKey{}, &callState{span: span})
}

// ObserveAttempt adds an event per attempt to the call's span and, on the
// call's last event, ends the span and records the call's metrics. It
// implements bkash.Observer.
func (t *Telemetry) ObserveAttempt(ev bkash.AttemptEvent) {
	ctx := ev.Context()
	st, _ := ctx.Value(callKey{}).(*callState)
	if ev.Attempt > 0 {
		t.attempts.Add(ctx, 1, t.opAttrs(ev.Op, 0))
		if st != nil {
			attrs := make([]attribute.KeyValue, 0, 4)
			attrs = append(attrs, AttrAttempt.Int(ev.Attempt))
			if ev.HTTPStatus != 0 {
				attrs = append(attrs, semconv.HTTPResponseStatusCode(ev.HTTPStatus))
			}
			if ev.Code != "" {
				attrs = append(attrs, AttrCode.String(string(ev.Code)))
			}
			if ev.Err != nil {
				attrs = append(attrs, semconv.ErrorTypeKey.String(transportErrorType(ev.Err)))
			}
			opts := []trace.EventOption{trace.WithAttributes(attrs...)}
			if !ev.Start.IsZero() {
				opts = append(opts, trace.WithTimestamp(ev.Start.Add(ev.Duration)))
			}
			st.span.AddEvent("bkash.attempt", opts...)
		}
	}
	if ev.Outcome == 0 {
		return
	}
	outcome := AttrOutcome.String(ev.Outcome.String())
	t.callDuration.Record(ctx, ev.CallDuration.Seconds(), t.opAttrs(ev.Op, ev.Outcome))
	if ev.Outcome == bkash.OutcomeUnknown {
		t.unknowns.Add(ctx, 1, t.opAttrs(ev.Op, 0))
	}
	if st == nil {
		return
	}
	span := st.span
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, AttrAttempts.Int(ev.Attempts), outcome)
	if ev.HTTPStatus != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(ev.HTTPStatus))
	}
	code := ev.Code
	var ae *bkash.APIError
	if code == "" && errors.As(ev.CallErr, &ae) {
		code = ae.Code
	}
	if code != "" {
		attrs = append(attrs, AttrCode.String(string(code)))
	}
	if ev.Outcome != bkash.OutcomeOK {
		et := callErrorType(ev.Outcome, code, ev.HTTPStatus, ev.CallErr)
		attrs = append(attrs, semconv.ErrorTypeKey.String(et))
		span.SetStatus(codes.Error, ev.Outcome.String()+": "+et)
	}
	span.SetAttributes(attrs...)
	span.End()
}

// StartTokenRenewal starts a renewal's span. It implements
// bkash.StartObserver.
func (t *Telemetry) StartTokenRenewal(ctx context.Context, kind string) context.Context {
	ctx, span := t.tracer.Start(ctx, "bkash token.renewal", trace.WithAttributes(AttrTokenKind.String(kind)))
	return context.WithValue(ctx, renewalKey{}, span)
}

// ObserveTokenRenewal ends the renewal's span and counts it. It implements
// bkash.Observer.
func (t *Telemetry) ObserveTokenRenewal(ev bkash.TokenRenewalEvent) {
	ctx := ev.Context()
	kind := AttrTokenKind.String(ev.Kind)
	result := "ok"
	switch {
	case errors.Is(ev.Err, bkash.ErrTokenBudgetExceeded):
		result = "budget_exceeded"
		t.budgetRefusals.Add(ctx, 1, metric.WithAttributes(kind))
	case ev.Err != nil:
		result = "error"
	}
	res := AttrResult.String(result)
	if result != "budget_exceeded" {
		t.renewals.Add(ctx, 1, metric.WithAttributes(kind, res))
		if ev.Kind != "store" {
			t.renewDuration.Record(ctx, ev.Duration.Seconds(), metric.WithAttributes(kind, res))
		}
	}
	span, _ := ctx.Value(renewalKey{}).(trace.Span)
	if span == nil || ev.Kind == "store" {
		return
	}
	span.SetAttributes(res)
	if ev.Err != nil {
		et := result
		if result == "error" {
			et = callErrorType(bkash.OutcomeOf(ev.Err), apiCode(ev.Err), 0, ev.Err)
		}
		span.SetAttributes(semconv.ErrorTypeKey.String(et))
		span.SetStatus(codes.Error, "token renewal: "+et)
	}
	span.End()
}

// server returns server.address and server.port of an endpoint URL,
// parsed once per URL.
func (t *Telemetry) server(u string) []attribute.KeyValue {
	if v, ok := t.servers.Load(u); ok {
		return v.([]attribute.KeyValue)
	}
	var attrs []attribute.KeyValue
	if pu, err := url.Parse(u); err == nil && pu.Host != "" {
		port := 443
		if pu.Scheme == "http" {
			port = 80
		}
		if p := pu.Port(); p != "" {
			if n, err := strconv.Atoi(p); err == nil {
				port = n
			}
		}
		attrs = []attribute.KeyValue{semconv.ServerAddress(pu.Hostname()), semconv.ServerPort(port)}
	}
	t.servers.Store(u, attrs)
	return attrs
}

// refAttr is the attribute of the object a call names. Only these kinds
// are recorded: payerReference, often a wallet number, never is.
func refAttr(kind, ref string) (attribute.KeyValue, bool) {
	if ref == "" {
		return attribute.KeyValue{}, false
	}
	switch kind {
	case "paymentID":
		return AttrPaymentID.String(ref), true
	case "trxID":
		return AttrTrxID.String(ref), true
	case "agreementID":
		return AttrAgreementID.String(ref), true
	case "merchantInvoiceNumber":
		return AttrInvoiceNumber.String(ref), true
	}
	return attribute.KeyValue{}, false
}

func apiCode(err error) bkash.ErrorCode {
	var ae *bkash.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// callErrorType is error.type for a call that did not succeed: a bKash
// code, an HTTP status, or a fixed word; never an error's text.
func callErrorType(o bkash.Outcome, code bkash.ErrorCode, status int, err error) string {
	var invalid *bkash.ValidationError
	switch {
	case o == bkash.OutcomeUnknown:
		return "outcome_unknown"
	case code != "":
		return string(code)
	case errors.Is(err, bkash.ErrTokenBudgetExceeded):
		return "budget_exceeded"
	case errors.As(err, &invalid):
		return "validation"
	case status >= 400:
		return strconv.Itoa(status)
	}
	return transportErrorType(err)
}

// transportErrorType names a transport failure without its text, which
// may hold addresses.
func transportErrorType(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "_OTHER"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ne):
		return "network"
	}
	return "transport"
}

// spanStart is when an event that lasted d and is reported now began.
func spanStart(d time.Duration) time.Time { return time.Now().Add(-d) }
