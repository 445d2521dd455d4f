package bkashotel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	bkashotel "github.com/smartdairy/bkash-go/otel"
)

const checkoutPath = "/v1.2.0-beta/tokenized/checkout/"

// callAttrs are the attributes of a call span: those set at its start and
// those of its end (extra).
func (h *harness) callAttrs(op, class, path string, extra map[string]any) map[string]any {
	u, err := url.Parse(h.srv.URL)
	if err != nil {
		h.t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	m := map[string]any{
		"bkash.operation":     op,
		"bkash.retry_class":   class,
		"http.request.method": "POST",
		"url.full":            h.srv.URL + checkoutPath + path,
		"server.address":      u.Hostname(),
		"server.port":         int64(port),
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// grantSpans are the spans of the first token grant, made within the call
// named parent.
func (h *harness) grantSpans(parent string) []spanView {
	return []spanView{
		{Name: "bkash token.grant", Parent: "bkash token.renewal", Kind: trace.SpanKindClient,
			Attrs: h.callAttrs("token.grant", "read", "token/grant", map[string]any{
				"bkash.attempts": int64(1), "bkash.outcome": "ok", "http.response.status_code": int64(200),
			}),
			Events: []string{"bkash.attempt bkash.attempt=1 http.response.status_code=200"}},
		{Name: "bkash token.renewal", Parent: parent, Kind: trace.SpanKindInternal,
			Attrs: map[string]any{"bkash.token.kind": "grant", "bkash.result": "ok"}},
	}
}

func TestCheckoutSpansAndMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, span := h.caller("checkout")
	p := h.createApproved(ctx, "INV-OTEL-1")
	done, err := h.client.Payments.Execute(ctx, p.PaymentID)
	if err != nil || done.Status != bkash.StatusCompleted {
		t.Fatalf("execute: %v, %+v", err, done)
	}
	span.End()

	want := h.grantSpans("bkash payment.create")
	want = append(want,
		spanView{Name: "bkash payment.create", Parent: "checkout", Kind: trace.SpanKindClient,
			Attrs: h.callAttrs("payment.create", "create", "create", map[string]any{
				"bkash.invoice_number": "INV-OTEL-1",
				"bkash.attempts":       int64(1), "bkash.outcome": "ok", "http.response.status_code": int64(200),
			}),
			Events: []string{"bkash.attempt bkash.attempt=1 http.response.status_code=200"}},
		spanView{Name: "bkash payment.execute", Parent: "checkout", Kind: trace.SpanKindClient,
			Attrs: h.callAttrs("payment.execute", "money", "execute", map[string]any{
				"bkash.payment_id": p.PaymentID,
				"bkash.attempts":   int64(1), "bkash.outcome": "ok", "http.response.status_code": int64(200),
			}),
			Events: []string{"bkash.attempt bkash.attempt=1 http.response.status_code=200"}},
		spanView{Name: "checkout", Kind: trace.SpanKindInternal, Attrs: map[string]any{}},
	)
	if diff := cmp.Diff(want, h.views()); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	wantMetrics := map[string]int64{
		"bkash.client.call.duration{bkash.operation=token.grant,bkash.outcome=ok}":     1,
		"bkash.client.call.duration{bkash.operation=payment.create,bkash.outcome=ok}":  1,
		"bkash.client.call.duration{bkash.operation=payment.execute,bkash.outcome=ok}": 1,
		"bkash.client.attempts{bkash.operation=token.grant}":                           1,
		"bkash.client.attempts{bkash.operation=payment.create}":                        1,
		"bkash.client.attempts{bkash.operation=payment.execute}":                       1,
		"bkash.token.renewals{bkash.result=ok,bkash.token.kind=grant}":                 1,
		"bkash.token.renewal.duration{bkash.result=ok,bkash.token.kind=grant}":         1,
	}
	if diff := cmp.Diff(wantMetrics, h.collect()); diff != "" {
		t.Errorf("metric points (-want +got):\n%s", diff)
	}
}

func TestRetriedQuerySpanHasAnEventPerAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.createApproved(context.Background(), "INV-OTEL-2")
	h.reset()
	h.srv.Inject("payment.query", bkashtest.Fault{HTTPStatus: 503})
	ctx, span := h.caller("order status")
	if _, err := h.client.Payments.Query(ctx, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	span.End()

	want := []spanView{
		{Name: "bkash payment.query", Parent: "order status", Kind: trace.SpanKindClient,
			Attrs: h.callAttrs("payment.query", "read", "payment/status", map[string]any{
				"bkash.payment_id": p.PaymentID,
				"bkash.attempts":   int64(2), "bkash.outcome": "ok", "http.response.status_code": int64(200),
			}),
			Events: []string{
				"bkash.attempt bkash.attempt=1 http.response.status_code=503",
				"bkash.attempt bkash.attempt=2 http.response.status_code=200",
			}},
		{Name: "order status", Kind: trace.SpanKindInternal, Attrs: map[string]any{}},
	}
	if diff := cmp.Diff(want, h.views()); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	// The attempt events are stamped when each attempt ended, inside the span.
	s := h.spans.GetSpans()[0]
	first, second := s.Events[0].Time, s.Events[1].Time
	if first.Before(s.StartTime) || !second.After(first) || second.After(s.EndTime) {
		t.Errorf("event times %v, %v outside the span %v-%v or out of order", first, second, s.StartTime, s.EndTime)
	}
	wantMetrics := map[string]int64{
		"bkash.client.call.duration{bkash.operation=payment.query,bkash.outcome=ok}": 1,
		"bkash.client.attempts{bkash.operation=payment.query}":                       2,
	}
	if diff := cmp.Diff(wantMetrics, h.collect()); diff != "" {
		t.Errorf("metric points (-want +got):\n%s", diff)
	}
}

func TestUnknownExecuteSettledByFinalize(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.createApproved(context.Background(), "INV-OTEL-3")
	h.reset()
	h.srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	ctx, span := h.caller("callback")
	got, err := h.client.Payments.Finalize(ctx, p.PaymentID)
	if err != nil || got.Status != bkash.StatusCompleted {
		t.Fatalf("Finalize: %v, %+v", err, got)
	}
	span.End()

	views := h.views()
	want := []spanView{
		{Name: "bkash payment.execute", Parent: "callback", Kind: trace.SpanKindClient, Error: true,
			Attrs: h.callAttrs("payment.execute", "money", "execute", map[string]any{
				"bkash.payment_id": p.PaymentID,
				"bkash.attempts":   int64(1), "bkash.outcome": "unknown", "error.type": "outcome_unknown",
			}),
			Events: []string{"bkash.attempt bkash.attempt=1 error.type=" + attemptErrorType(views)}},
		{Name: "bkash payment.query", Parent: "callback", Kind: trace.SpanKindClient,
			Attrs: h.callAttrs("payment.query", "read", "payment/status", map[string]any{
				"bkash.payment_id": p.PaymentID,
				"bkash.attempts":   int64(1), "bkash.outcome": "ok", "http.response.status_code": int64(200),
			}),
			Events: []string{"bkash.attempt bkash.attempt=1 http.response.status_code=200"}},
		{Name: "callback", Kind: trace.SpanKindInternal, Attrs: map[string]any{}},
	}
	if diff := cmp.Diff(want, views); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if et := attemptErrorType(views); et != "network" && et != "transport" {
		t.Errorf("the dropped connection's error.type is %q", et)
	}
	if s := h.spans.GetSpans()[0]; s.Status.Description != "unknown: outcome_unknown" {
		t.Errorf("status description %q", s.Status.Description)
	}
	wantMetrics := map[string]int64{
		"bkash.client.call.duration{bkash.operation=payment.execute,bkash.outcome=unknown}": 1,
		"bkash.client.call.duration{bkash.operation=payment.query,bkash.outcome=ok}":        1,
		"bkash.client.attempts{bkash.operation=payment.execute}":                            1,
		"bkash.client.attempts{bkash.operation=payment.query}":                              1,
		"bkash.client.unknown_outcomes{bkash.operation=payment.execute}":                    1,
	}
	if diff := cmp.Diff(wantMetrics, h.collect()); diff != "" {
		t.Errorf("metric points (-want +got):\n%s", diff)
	}
}

// attemptErrorType is the error.type of the first span's first event.
func attemptErrorType(views []spanView) string {
	if len(views) == 0 || len(views[0].Events) == 0 {
		return ""
	}
	_, et, _ := strings.Cut(views[0].Events[0], "error.type=")
	return et
}

func TestRefusedRefund(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.createApproved(context.Background(), "INV-OTEL-4")
	done, err := h.client.Payments.Execute(context.Background(), p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	h.reset()
	ctx, span := h.caller("refund")
	_, err = h.client.Refunds.Create(ctx, &bkash.RefundParams{
		PaymentID: p.PaymentID, TrxID: done.TrxID, Amount: bkash.Taka(500), SKU: "SKU-1", Reason: "damaged",
	})
	if !errors.Is(err, bkash.CodeRefundExceedsOriginal) {
		t.Fatalf("refund: %v, want 2026", err)
	}
	span.End()
	want := []spanView{
		{Name: "bkash refund.create", Parent: "refund", Kind: trace.SpanKindClient, Error: true,
			Attrs: h.callAttrs("refund.create", "money", "payment/refund", map[string]any{
				"bkash.payment_id": p.PaymentID,
				"bkash.attempts":   int64(1), "bkash.outcome": "refused", "http.response.status_code": int64(200),
				"bkash.code": "2026", "error.type": "2026",
			}),
			Events: []string{"bkash.attempt bkash.attempt=1 bkash.code=2026 http.response.status_code=200"}},
		{Name: "refund", Kind: trace.SpanKindInternal, Attrs: map[string]any{}},
	}
	if diff := cmp.Diff(want, h.views()); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	wantMetrics := map[string]int64{
		"bkash.client.call.duration{bkash.operation=refund.create,bkash.outcome=refused}": 1,
		"bkash.client.attempts{bkash.operation=refund.create}":                            1,
	}
	if diff := cmp.Diff(wantMetrics, h.collect()); diff != "" {
		t.Errorf("metric points (-want +got):\n%s", diff)
	}
}

func TestWebhookVerificationSpans(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	signer, err := bkashtest.NewSNSSigner()
	if err != nil {
		t.Fatal(err)
	}
	v, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(signer.TopicARN()),
		bkash.WithCertFetcher(signer.CertFetcher()), h.tel.WebhookOption())
	if err != nil {
		t.Fatal(err)
	}
	inner := strings.ReplaceAll(string(readFixture(t, "notification_regular.json")), "8801770618575", "88"+testWallet)
	good := signer.NewNotification([]byte(inner), time.Now())
	if err := signer.Sign(good); err != nil {
		t.Fatal(err)
	}
	forged := signer.NewNotification([]byte(inner), time.Now())
	if err := signer.Sign(forged); err != nil {
		t.Fatal(err)
	}
	forged.Message = strings.Replace(forged.Message, "150.50", "15000.50", 1)

	ctx, span := h.caller("POST /bkash/webhook")
	msg, err := v.Verify(ctx, good.JSON())
	if err != nil || msg.Notification.DebitMSISDN != "88"+testWallet {
		t.Fatalf("verify: %v", err)
	}
	if _, err := v.Verify(ctx, forged.JSON()); !errors.Is(err, bkash.ErrWebhookBadSignature) {
		t.Fatalf("forged: %v", err)
	}
	span.End()
	want := []spanView{
		{Name: "bkash webhook.verify", Parent: "POST /bkash/webhook", Kind: trace.SpanKindInternal,
			Attrs: map[string]any{
				"bkash.result": "ok", "bkash.webhook.message_type": "Notification",
				"bkash.webhook.message_id": good.MessageID, "bkash.trx_id": "CLA7K2M9QZ",
			}},
		{Name: "bkash webhook.verify", Parent: "POST /bkash/webhook", Kind: trace.SpanKindInternal, Error: true,
			Attrs: map[string]any{"bkash.result": "bad_signature", "error.type": "bad_signature"}},
		{Name: "POST /bkash/webhook", Kind: trace.SpanKindInternal, Attrs: map[string]any{}},
	}
	if diff := cmp.Diff(want, h.views()); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	wantMetrics := map[string]int64{
		"bkash.webhook.verifications{bkash.result=ok}":            1,
		"bkash.webhook.verifications{bkash.result=bad_signature}": 1,
	}
	if diff := cmp.Diff(wantMetrics, h.collect()); diff != "" {
		t.Errorf("metric points (-want +got):\n%s", diff)
	}
}

func TestWebhookResultNamesEveryRejection(t *testing.T) {
	t.Parallel()
	tests := map[error]string{
		nil:                              "ok",
		bkash.ErrWebhookTooLarge:         "too_large",
		bkash.ErrWebhookBadJSON:          "bad_json",
		bkash.ErrWebhookMissingField:     "missing_field",
		bkash.ErrWebhookMessageType:      "message_type",
		bkash.ErrWebhookSignatureVersion: "signature_version",
		bkash.ErrWebhookCertURL:          "cert_url",
		bkash.ErrWebhookSubscribeURL:     "subscribe_url",
		bkash.ErrWebhookCertFetch:        "cert_fetch",
		bkash.ErrWebhookBadSignature:     "bad_signature",
		bkash.ErrWebhookTopicNotAllowed:  "topic_not_allowed",
		bkash.ErrWebhookBadTimestamp:     "bad_timestamp",
		bkash.ErrWebhookStale:            "stale",
		bkash.ErrWebhookFuture:           "future",
		bkash.ErrWebhookBadNotification:  "bad_notification",
		errors.New("something else"):     "other",
		errors.Join(bkash.ErrWebhookBadNotification, bkash.ErrWebhookMissingField): "bad_notification",
	}
	for err, want := range tests {
		if got := bkashotel.WebhookResult(fmt.Errorf("wrapped: %w", err)); err != nil && got != want {
			t.Errorf("WebhookResult(%v) = %q, want %q", err, got, want)
		}
		if err == nil && bkashotel.WebhookResult(nil) != "ok" {
			t.Errorf("WebhookResult(nil) = %q", bkashotel.WebhookResult(nil))
		}
	}
}

func TestReconcilerSettlements(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.createApproved(context.Background(), "INV-OTEL-5")
	h.srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	if _, err := h.client.Payments.Execute(context.Background(), p.PaymentID); !errors.Is(err, bkash.ErrOutcomeUnknown) {
		t.Fatalf("execute: %v", err)
	}
	h.reset()
	r := &bkash.Reconciler{Payments: h.client.Payments, Report: func(bkash.ReconcileResult) {}, Observer: h.tel,
		MinInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond}
	ctx, span := h.caller("sweep")
	if err := r.Run(ctx, p.PaymentID, "TR0000NOSUCHPAYMENT"); err != nil {
		t.Fatal(err)
	}
	span.End()
	metrics := h.collect()
	for k, want := range map[string]int64{
		"bkash.reconciler.settlements{bkash.payment.status=Completed,bkash.reconcile.outcome=settled}": 1,
		"bkash.reconciler.settlements{bkash.payment.status=none,bkash.reconcile.outcome=not-found}":    1,
	} {
		if metrics[k] != want {
			t.Errorf("%s = %d, want %d (all: %v)", k, metrics[k], want, metrics)
		}
	}
	var events []string
	for _, v := range h.views() {
		if v.Name == "sweep" {
			events = v.Events
		}
	}
	wantEvents := []string{
		"bkash.settlement bkash.payment.status=Completed bkash.payment_id=" + p.PaymentID + " bkash.reconcile.outcome=settled bkash.reconcile.reads=1",
		"bkash.settlement bkash.payment.status=none bkash.payment_id=TR0000NOSUCHPAYMENT bkash.reconcile.outcome=not-found bkash.reconcile.reads=1",
	}
	if len(events) == 2 && strings.Contains(events[0], "not-found") {
		events[0], events[1] = events[1], events[0]
	}
	if diff := cmp.Diff(wantEvents, events); diff != "" {
		t.Errorf("settlement events on the caller's span (-want +got):\n%s", diff)
	}
}

func TestBudgetRefusalIsCountedAndItsSpanEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bkash.WithTokenRenewalBudget(1))
	p := h.createApproved(context.Background(), "INV-OTEL-6")
	h.reset()
	h.srv.ExpireTokens() // the next call is refused with 401; its renewal is over budget
	ctx, span := h.caller("status")
	_, err := h.client.Payments.Query(ctx, p.PaymentID)
	if !errors.Is(err, bkash.ErrTokenBudgetExceeded) {
		t.Fatalf("query: %v, want the budget refusal", err)
	}
	span.End()
	views := h.views()
	var names []string
	for _, v := range views {
		names = append(names, v.Name+" < "+v.Parent)
		if v.Name == "bkash token.renewal" {
			want := map[string]any{"bkash.token.kind": "refresh", "bkash.result": "budget_exceeded", "error.type": "budget_exceeded"}
			if diff := cmp.Diff(want, v.Attrs); diff != "" || !v.Error {
				t.Errorf("renewal span (-want +got):\n%s", diff)
			}
		}
		if v.Name == "bkash payment.query" && (v.Attrs["bkash.outcome"] != "failed" || v.Attrs["bkash.attempts"] != int64(1) || v.Attrs["error.type"] != "budget_exceeded" || !v.Error) {
			t.Errorf("query span attributes %v", v.Attrs)
		}
	}
	if diff := cmp.Diff([]string{"bkash token.renewal < bkash payment.query", "bkash payment.query < status", "status < "}, names); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	metrics := h.collect()
	if metrics["bkash.token.budget_refusals{bkash.token.kind=refresh}"] != 1 {
		t.Errorf("budget refusals not counted: %v", metrics)
	}
	if metrics["bkash.client.call.duration{bkash.operation=payment.query,bkash.outcome=failed}"] != 1 {
		t.Errorf("failed query not measured: %v", metrics)
	}
}

// TestNoSecretReachesTelemetry runs every scenario with body logging on
// (so the SDK's events do carry the redacted bodies) and greps every span,
// event, attribute and metric point for the credentials, the tokens bKash
// issued, the customer's wallet number and the request bodies.
func TestNoSecretReachesTelemetry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bkash.WithBodyLogging())
	ctx, span := h.caller("everything")
	p := h.createApproved(ctx, "INV-OTEL-7")
	done, err := h.client.Payments.Execute(ctx, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Inject("payment.query", bkashtest.Fault{HTTPStatus: 503})
	if _, err := h.client.Payments.Query(ctx, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.Payments.Search(ctx, done.TrxID); err != nil {
		t.Fatal(err)
	}
	_, _ = h.client.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: done.TrxID, Amount: bkash.Taka(500), SKU: "SKU-SECRETISH-1", Reason: "reason-in-body-only"})
	h.srv.ExpireTokens() // a 401, a refresh and a replay
	if _, err := h.client.Payments.Query(ctx, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	p2 := h.createApproved(ctx, "INV-OTEL-8")
	h.srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	if _, err := h.client.Payments.Finalize(ctx, p2.PaymentID); err != nil {
		t.Fatal(err)
	}
	span.End()

	if n := len(h.tokens.issued()); n < 3 {
		t.Fatalf("only %d tokens seen: the grant and the refresh were not both made", n)
	}
	spans, err := json.Marshal(h.spans.GetSpans())
	if err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	metrics := fmt.Sprintf("%+v", rm)
	if !strings.Contains(string(spans), "bkash payment.execute") || !strings.Contains(metrics, "bkash.client.call.duration") {
		t.Fatalf("nothing recorded:\n%s\n%s", spans, metrics)
	}
	forbidden := append([]string{
		string(testCreds.Password), string(testCreds.AppSecret), testCreds.Username,
		testWallet, "88" + testWallet, testWallet[3:], // the full wallet, in both spellings, and its tail
		"SKU-SECRETISH-1", "reason-in-body-only", `"amount"`, "app_key", "[REDACTED]",
	}, h.tokens.issued()...)
	for _, s := range forbidden {
		if strings.Contains(string(spans), s) {
			t.Errorf("%q appears in the spans", s)
		}
		if strings.Contains(metrics, s) {
			t.Errorf("%q appears in the metrics", s)
		}
	}
}

func TestNewUsesTheGlobalProvidersByDefault(t *testing.T) {
	t.Parallel()
	tel, err := bkashotel.New(nil, bkashotel.WithTracerProvider(nil), bkashotel.WithMeterProvider(nil))
	if err != nil || tel == nil {
		t.Fatalf("New: %v", err)
	}
	// The global providers are no-ops: a call goes through without a span.
	srv := bkashtest.NewServer()
	defer srv.Close()
	c, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL), tel.ClientOption())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Payments.Query(context.Background(), "TR0011NONE"); !errors.Is(err, bkash.CodeInvalidPaymentID) {
		t.Errorf("query: %v", err)
	}
}

// TestInvoiceNumberWithWalletIsMasked: the invoice number is recorded on
// the create's span (bkash.invoice_number), and a merchant may build it
// from the customer's phone number, which is their wallet number
// ("ORD-01929384756-3"). The span carried the full wallet number. A digit
// run shaped like a wallet number (01[3-9] and eight digits, or 880 before
// it) is masked as the SDK masks wallet numbers in logs; the rest of the
// invoice number, and invoice numbers without one, are kept.
func TestInvoiceNumberWithWalletIsMasked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, span := h.caller("invoices")
	for _, inv := range []string{"ORD-" + testWallet + "-3", "88" + testWallet, testWallet, "INV-OTEL-9"} {
		if _, err := h.client.Payments.Create(ctx, &bkash.CreatePaymentParams{
			Amount: bkash.Taka(10), InvoiceNumber: inv,
			PayerReference: "x", CallbackURL: "https://shop.example/bkash/callback",
		}); err != nil {
			t.Fatal(err)
		}
	}
	span.End()
	var got []string
	for _, s := range h.spans.GetSpans() {
		for _, kv := range s.Attributes {
			if kv.Key == bkashotel.AttrInvoiceNumber {
				got = append(got, kv.Value.AsString())
			}
		}
	}
	masked := testWallet[:3] + "****" + testWallet[7:]
	want := []string{"ORD-" + masked + "-3", "880****" + testWallet[7:], masked, "INV-OTEL-9"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invoice number attributes (-want +got):\n%s", diff)
	}
}
