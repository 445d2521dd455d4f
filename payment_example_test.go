package bkash_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// exampleFake starts a fake bKash and a client for it. In production the
// client is bkash.NewClient(bkash.Production, creds) and nothing else changes.
func exampleFake() (*bkashtest.Server, *bkash.Client) {
	srv := bkashtest.NewServer()
	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	return srv, client
}

func ExamplePaymentService_Create() {
	srv, client := exampleFake()
	defer srv.Close()

	p, err := client.Payments.Create(context.Background(), &bkash.CreatePaymentParams{
		Amount:         bkash.Taka(1250) + bkash.Poisha(50), // sent as "1250.50"
		InvoiceNumber:  "INV-1001",
		PayerReference: "01770618575",
		CallbackURL:    "https://shop.example/bkash/callback?order=1001",
	})
	if err != nil {
		log.Fatal(err)
	}
	// Store p.PaymentID with the order, then redirect the customer's browser
	// to p.BkashURL, unchanged.
	fmt.Println(p.Status, p.Amount, p.Mode, p.Intent)
	// Output: Initiated 1250.50 0011 sale
}

func ExamplePaymentService_Finalize() {
	srv, client := exampleFake()
	defer srv.Close()
	ctx := context.Background()

	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: bkash.Taka(480), InvoiceNumber: "INV-1002", PayerReference: "01770618575",
		CallbackURL: "https://shop.example/bkash/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	// The customer pays on bKash's page, which sends the browser back to the
	// callback URL.
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		log.Fatal(err)
	}
	back, _ := url.Parse(p.SuccessCallbackURL)

	// The callback handler: parse, check, then let Finalize execute once and
	// reconcile any doubt with a query.
	cb, err := bkash.ParseCallback(back.Query())
	if err != nil || !cb.Success() {
		fmt.Println("not paid")
		return
	}
	done, err := client.Payments.Finalize(ctx, cb.PaymentID)
	var apiErr *bkash.APIError
	switch {
	case errors.Is(err, bkash.ErrOutcomeUnknown):
		// bKash's answer was lost and a query could not settle it yet: keep
		// the order pending and Query later. Never execute again.
		fmt.Println("pending")
	case errors.As(err, &apiErr):
		fmt.Println("refused:", apiErr.Code, apiErr.Message) // e.g. 2023 Insufficient Balance
	case err != nil:
		fmt.Println("error:", err)
	default:
		// Store done.TrxID: refunds and Search need it.
		fmt.Println(done.Status, done.Amount, done.TrxID != "")
	}
	// Output: Completed 480.00 true
}

func ExamplePaymentService_Query() {
	srv, client := exampleFake()
	defer srv.Close()
	ctx := context.Background()

	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: bkash.Taka(99), InvoiceNumber: "INV-1003", PayerReference: " ",
		CallbackURL: "https://shop.example/bkash/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	q, err := client.Payments.Query(ctx, p.PaymentID)
	if err != nil {
		log.Fatal(err)
	}
	switch q.Status {
	case bkash.StatusCompleted, bkash.StatusAuthorized:
		fmt.Println("paid:", q.Amount, q.TrxID)
	case bkash.StatusInitiated:
		fmt.Println("not executed; customer verification:", q.VerificationStatus)
	default:
		fmt.Println("state:", q.Status)
	}
	// Output: not executed; customer verification: Incomplete
}

func ExampleParseCallback() {
	// The query bKash appends to the merchant's callbackURL, which here
	// already carried the merchant's own order parameter.
	q, _ := url.ParseQuery("order=1001&paymentID=TR0011Hk2Lm9P1735713000456&status=success&signature=Qw3Er5Ty7U&apiVersion=1.2.0-beta/")
	cb, err := bkash.ParseCallback(q)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cb.PaymentID, cb.Status, cb.Success(), cb.APIVersion, cb.Extra.Get("order"))

	_, err = bkash.ParseCallback(url.Values{"paymentID": {"TR0011Hk2Lm9P1735713000456"}, "status": {"completed"}})
	fmt.Println(err)
	// Output:
	// TR0011Hk2Lm9P1735713000456 success true 1.2.0-beta/ 1001
	// bkash: invalid callback status: must be success, failure or cancel, got "completed"
}
