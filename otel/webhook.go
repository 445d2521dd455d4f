package bkashotel

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/smartdairy/bkash-go"
)

// webhookResults name each webhook rejection, in the order they are
// tested: a bad inner notification also matches ErrWebhookMissingField,
// and is reported as bad_notification.
var webhookResults = []struct {
	err  error
	name string
}{
	{bkash.ErrWebhookTooLarge, "too_large"},
	{bkash.ErrWebhookBadNotification, "bad_notification"},
	{bkash.ErrWebhookBadJSON, "bad_json"},
	{bkash.ErrWebhookMissingField, "missing_field"},
	{bkash.ErrWebhookMessageType, "message_type"},
	{bkash.ErrWebhookSignatureVersion, "signature_version"},
	{bkash.ErrWebhookCertURL, "cert_url"},
	{bkash.ErrWebhookSubscribeURL, "subscribe_url"},
	{bkash.ErrWebhookCertFetch, "cert_fetch"},
	{bkash.ErrWebhookBadSignature, "bad_signature"},
	{bkash.ErrWebhookTopicNotAllowed, "topic_not_allowed"},
	{bkash.ErrWebhookBadTimestamp, "bad_timestamp"},
	{bkash.ErrWebhookStale, "stale"},
	{bkash.ErrWebhookFuture, "future"},
}

// WebhookResult is the bkash.result value of a verification: "ok", or the
// name of the rejection ("bad_signature", "stale", "cert_fetch", ...;
// "other" for an error outside the ErrWebhook... list).
func WebhookResult(err error) string {
	if err == nil {
		return "ok"
	}
	for _, r := range webhookResults {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// ObserveWebhook records one verification: a span that began when Verify
// was called (a child of the span in its context, such as otelhttp's server
// span) and the verifications counter. It implements bkash.WebhookObserver.
func (t *Telemetry) ObserveWebhook(ev bkash.WebhookEvent) {
	ctx := ev.Context()
	result := AttrResult.String(WebhookResult(ev.Err))
	t.verifications.Add(ctx, 1, metric.WithAttributes(result))

	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, result)
	if ev.Err == nil {
		attrs = append(attrs, AttrMessageType.String(string(ev.Type)), AttrMessageID.String(ev.MessageID))
		if ev.TrxID != "" {
			attrs = append(attrs, AttrTrxID.String(ev.TrxID))
		}
	}
	_, span := t.tracer.Start(ctx, "bkash webhook.verify",
		trace.WithTimestamp(spanStart(ev.Duration)), trace.WithAttributes(attrs...))
	if ev.Err != nil {
		span.SetAttributes(semconv.ErrorTypeKey.String(result.Value.AsString()))
		span.SetStatus(codes.Error, "webhook rejected: "+result.Value.AsString())
	}
	span.End()
}

// knownStatuses bound the payment status attribute of the settlements
// metric: any other value bKash sends is counted as "other".
var knownStatuses = map[bkash.TransactionStatus]bool{
	bkash.StatusInitiated: true, bkash.StatusCompleted: true, bkash.StatusAuthorized: true,
	bkash.StatusCancelled: true, bkash.StatusExpired: true,
}

// ObserveSettlement counts one reconciled payment and adds a
// "bkash.settlement" event to the span in the Reconciler's context, if one
// is recording. It implements bkash.ReconcileObserver.
func (t *Telemetry) ObserveSettlement(ev bkash.SettlementEvent) {
	ctx := ev.Context()
	status := "none"
	if ev.Payment != nil {
		status = "other"
		if knownStatuses[ev.Payment.Status] {
			status = string(ev.Payment.Status)
		}
	}
	outcome := AttrSettlement.String(ev.Outcome.String())
	st := AttrPaymentStatus.String(status)
	t.settlements.Add(ctx, 1, metric.WithAttributes(outcome, st))
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("bkash.settlement", trace.WithAttributes(
			AttrPaymentID.String(ev.PaymentID), outcome, st, AttrReads.Int(ev.Reads)))
	}
}
