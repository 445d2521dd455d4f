// Package bkashotel connects the bKash SDK (github.com/smartdairy/bkash-go)
// to OpenTelemetry: a span per call, per token renewal and per webhook
// verification, and the metrics operators of a payment service watch.
//
// # Installing
//
// Build one Telemetry from a TracerProvider and a MeterProvider (the global
// ones by default, as otelhttp does) and hand it to what it observes:
//
//	tel, err := bkashotel.New(
//		bkashotel.WithTracerProvider(tp),
//		bkashotel.WithMeterProvider(mp),
//	)
//	client, err := bkash.NewClient(bkash.Production, creds, tel.ClientOption())
//	verifier, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(arn), tel.WebhookOption())
//	reconciler := &bkash.Reconciler{Payments: client.Payments, Report: report, Observer: tel}
//
// Spans are children of the span in the context a call is made with, so a
// bKash call made while serving a request appears in that request's trace.
//
// # Spans
//
//   - "bkash <operation>" (for example "bkash payment.execute"), kind
//     client, for every call, with one "bkash.attempt" event per HTTP
//     attempt. A token renewal the call needs is its child, and the grant or
//     refresh call is the renewal's child.
//   - "bkash token.renewal" for every grant or refresh, including those the
//     renewal budget refused.
//   - "bkash webhook.verify" for every verified or rejected webhook message.
//
// A span's status is Error when the call was refused, ended with an unknown
// outcome, or failed; error.type then says why without any free text.
//
// # Metrics
//
//   - bkash.client.call.duration (histogram, s): operation, outcome
//   - bkash.client.attempts (counter): operation
//   - bkash.client.unknown_outcomes (counter): operation
//   - bkash.token.renewals (counter): kind, result
//   - bkash.token.renewal.duration (histogram, s): kind, result
//   - bkash.token.budget_refusals (counter): kind
//   - bkash.webhook.verifications (counter): result
//   - bkash.reconciler.settlements (counter): outcome, payment status
//
// # What is never recorded
//
// No attribute, event or metric carries a secret, a token, a request or
// response body, an error's text, or a wallet number (MSISDN): the SDK's
// events hold the bodies only for audit logs, and this package never reads
// them. docs/observability.md in the SDK's repository lists every attribute
// and gives dashboard queries.
package bkashotel
