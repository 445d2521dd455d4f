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

	"github.com/smartdairy/bkash-go"
)

// External tests of webhook.go that are not in webhook_test.go: what a
// WebhookObserver sees. The signer and verifier helpers are those of
// webhook_test.go; eventLog and obsKey are in harness_test.go.

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
