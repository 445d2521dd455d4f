package bkash_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

func TestWebhookObserverSeesEveryVerification(t *testing.T) {
	t.Parallel()
	var log eventLog
	v, _ := newVerifier(t, bkash.WithWebhookObserver(&log))
	ctx := context.WithValue(context.Background(), obsKey{}, "req-7")

	good := signed(t, "2", nil)
	if _, err := v.Verify(ctx, good.JSON()); err != nil {
		t.Fatal(err)
	}
	forged := signed(t, "2", nil)
	forged.Message = strings.Replace(forged.Message, "150.50", "15000.50", 1)
	if _, err := v.Verify(ctx, forged.JSON()); !errors.Is(err, bkash.ErrWebhookBadSignature) {
		t.Fatalf("forged: err = %v", err)
	}
	// Through the Handler: the request's context reaches the event.
	h := v.Handler(func(context.Context, *bkash.Notification) error { return nil })
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/bkash/webhook", bytes.NewReader(signed(t, "1", nil).JSON()))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("handler status %d", rec.Code)
	}

	if len(log.webhooks) != 3 {
		t.Fatalf("%d events, want 3", len(log.webhooks))
	}
	ok, bad := log.webhooks[0], log.webhooks[1]
	if ok.Err != nil || ok.Type != bkash.WebhookNotification || ok.MessageID != good.MessageID ||
		ok.TopicARN != mainSigner().TopicARN() || ok.TrxID != "CLA7K2M9QZ" || ok.Duration <= 0 {
		t.Errorf("verified event = %+v", ok)
	}
	if !errors.Is(bad.Err, bkash.ErrWebhookBadSignature) || bad.Type != "" || bad.MessageID != "" || bad.TopicARN != "" || bad.TrxID != "" {
		t.Errorf("rejected event = %+v, want only the error (a forged message's claims are not repeated)", bad)
	}
	for i, e := range log.webhooks {
		if e.Context().Value(obsKey{}) != "req-7" {
			t.Errorf("event %d lost the caller's context", i)
		}
	}
	if fmt.Sprint(log.webhooks) == "" || strings.Contains(fmt.Sprintf("%+v", log.webhooks), "8801770618575") {
		t.Errorf("the payer's wallet number reached an event: %+v", log.webhooks)
	}
	if _, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(mainSigner().TopicARN()), bkash.WithWebhookObserver(nil)); err == nil {
		t.Error("WithWebhookObserver(nil) accepted")
	}
}

func TestReconcilerObserverSeesEachResultWithRunsContext(t *testing.T) {
	t.Parallel()
	srv, c := newIntegration(t, nil)
	p := createPayment(t, c, "INV-OBS")
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	if _, err := c.Payments.Execute(context.Background(), p.PaymentID); !errors.Is(err, bkash.ErrOutcomeUnknown) {
		t.Fatalf("Execute error = %v, want outcome unknown", err)
	}
	var res collect
	var log eventLog
	r := &bkash.Reconciler{Payments: c.Payments, Report: res.report, Observer: &log,
		MinInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond}
	ctx := context.WithValue(context.Background(), obsKey{}, "sweep-1")
	if err := r.Run(ctx, p.PaymentID, "TR00000000000UNKNOWN"); err != nil {
		t.Fatal(err)
	}
	if len(log.settled) != 2 {
		t.Fatalf("%d settlement events, want 2", len(log.settled))
	}
	byID := map[string]bkash.SettlementEvent{}
	for _, e := range log.settled {
		byID[e.PaymentID] = e
		if e.Context().Value(obsKey{}) != "sweep-1" {
			t.Errorf("%s: event lost Run's context", e.PaymentID)
		}
		if want := res.got[e.PaymentID]; e.Outcome != want.Outcome || e.Reads != want.Reads {
			t.Errorf("%s: event %v/%d, Report %v/%d", e.PaymentID, e.Outcome, e.Reads, want.Outcome, want.Reads)
		}
	}
	if e := byID[p.PaymentID]; e.Outcome != bkash.ReconcileSettled || e.Payment.Status != bkash.StatusCompleted {
		t.Errorf("settled event = %+v", e.ReconcileResult)
	}
	if e := byID["TR00000000000UNKNOWN"]; e.Outcome != bkash.ReconcileNotFound || !errors.Is(e.Err, bkash.CodeInvalidPaymentID) {
		t.Errorf("not-found event = %+v", e.ReconcileResult)
	}
	// Abandoned results are observed too.
	var log2 eventLog
	r2 := &bkash.Reconciler{Payments: c.Payments, Report: func(bkash.ReconcileResult) {}, Observer: &log2}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = r2.Run(cctx, "TR0000000000ABANDON")
	if len(log2.settled) != 1 || log2.settled[0].Outcome != bkash.ReconcileAbandoned {
		t.Errorf("abandoned: events %+v", log2.settled)
	}
}
