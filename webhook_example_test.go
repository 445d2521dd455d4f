package bkash_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// A production verifier: only bKash's topic is trusted, messages older than
// an hour are refused, and the subscription bKash sets up is confirmed
// automatically once its message verifies.
func ExampleNewWebhookVerifier() {
	v, err := bkash.NewWebhookVerifier(
		bkash.WithAllowedTopicARNs("arn:aws:sns:ap-southeast-1:123456789012:bkash-merchant-ipn"),
		bkash.WithMaxMessageAge(time.Hour),
		bkash.WithSubscriptionConfirmation(true),
	)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /bkash/webhook", v.Handler(func(ctx context.Context, n *bkash.Notification) error {
		// Look the payment up with client.Payments.Search(ctx, n.TrxID)
		// before delivering anything; return an error to have SNS retry.
		return nil
	}))
	fmt.Println("ready")
	// Output: ready
}

// The Handler in a test: bkashtest.SNSSigner signs notifications the way
// SNS does, and its CertFetcher stands in for AWS.
func ExampleWebhookVerifier_Handler() {
	signer, err := bkashtest.NewSNSSigner()
	if err != nil {
		log.Fatal(err)
	}
	v, err := bkash.NewWebhookVerifier(
		bkash.WithAllowedTopicARNs(signer.TopicARN()),
		bkash.WithCertFetcher(signer.CertFetcher()),
	)
	if err != nil {
		log.Fatal(err)
	}
	h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
		fmt.Printf("paid: %s BDT %s by %s (invoice %s)\n", n.TrxID, n.Amount, n.DebitMSISDN, n.MerchantInvoiceNumber)
		return nil
	})
	body, err := signer.Notification([]byte(`{"trxID":"CLA7K2M9QZ","amount":"150.50","currency":"BDT",` +
		`"transactionStatus":"Completed","debitMSISDN":"8801770618575","merchantInvoiceNumber":"A-1001-1",` +
		`"dateTime":"20250101123110"}`))
	if err != nil {
		log.Fatal(err)
	}
	for range 2 { // SNS may deliver the same message twice
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/bkash/webhook", bytes.NewReader(body)))
		fmt.Println("status", rec.Code)
	}
	tampered := bytes.Replace(body, []byte("150.50"), []byte("15000.50"), 1)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/bkash/webhook", bytes.NewReader(tampered)))
	fmt.Println("tampered: status", rec.Code)
	// Output:
	// paid: CLA7K2M9QZ BDT 150.50 by 8801770618575 (invoice A-1001-1)
	// status 200
	// status 200
	// tampered: status 400
}

// Verify checks a message without the HTTP handling, for queues or custom
// servers.
func ExampleWebhookVerifier_Verify() {
	signer, err := bkashtest.NewSNSSigner()
	if err != nil {
		log.Fatal(err)
	}
	v, err := bkash.NewWebhookVerifier(
		bkash.WithAllowedTopicARNs(signer.TopicARN()),
		bkash.WithCertFetcher(signer.CertFetcher()),
	)
	if err != nil {
		log.Fatal(err)
	}
	body, err := signer.Notification([]byte(`{"trxID":"CLA7K2M9QZ","amount":"100","transactionStatus":"Completed","dateTime":"20250101123110"}`))
	if err != nil {
		log.Fatal(err)
	}
	msg, err := v.Verify(context.Background(), body)
	if err != nil {
		log.Fatal(err)
	}
	n := msg.Notification
	fmt.Println(msg.Type, n.TrxID, n.Amount, n.TransactionStatus, n.DateTime.UTC().Format(time.RFC3339))
	// Output: Notification CLA7K2M9QZ 100.00 Completed 2025-01-01T06:31:10Z
}
