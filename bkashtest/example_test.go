package bkashtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// A user's test of a checkout, against the fake instead of bKash's sandbox:
// the client is pointed at srv.URL with srv's credentials, the customer
// approves without a browser, and the payment is finalized.
func Example() {
	srv := bkashtest.NewServer()
	defer srv.Close() // in a test: t.Cleanup(srv.Close)

	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: bkash.Taka(1250) + bkash.Poisha(50), InvoiceNumber: "INV-1001",
		PayerReference: "01770618575", CallbackURL: "https://shop.example.com/bkash/callback",
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The customer enters wallet number, OTP and PIN on the page at p.BkashURL.
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		fmt.Println(err)
		return
	}

	p, err = client.Payments.Finalize(ctx, p.PaymentID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Status, p.Amount, p.CustomerMSISDN)

	st, _ := srv.Payment(p.PaymentID)
	fmt.Println(st.TrxID == p.TrxID, srv.Applied("payment.execute"), srv.Grants())
	// Output:
	// Completed 1250.50 01770618575
	// true 1 1
}

// The sandbox wallet with no balance approves, and execute then answers 2023.
func ExampleServer_Approve() {
	srv := bkashtest.NewServer()
	defer srv.Close()
	client, _ := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL))
	ctx := context.Background()

	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: bkash.Taka(100), InvoiceNumber: "INV-7",
		PayerReference: " ", CallbackURL: "https://shop.example.com/bkash/callback",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(srv.Approve(p.PaymentID, bkashtest.WalletInsufficientBalance))
	_, err = client.Payments.Execute(ctx, p.PaymentID)
	fmt.Println(errors.Is(err, bkash.CodeInsufficientBalance))
	// Output:
	// <nil>
	// true
}

// Execute a payment, but lose the answer: the connection drops after bKash
// moved the money. The SDK reports the outcome as unknown without re-sending,
// and a query tells the truth.
func ExampleServer_Inject() {
	srv := bkashtest.NewServer()
	defer srv.Close()
	client, _ := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL),
		bkash.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	ctx := context.Background()
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: bkash.Taka(500), InvoiceNumber: "INV-8",
		PayerReference: "01770618575", CallbackURL: "https://shop.example.com/bkash/callback",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = srv.Approve(p.PaymentID, "01770618575")

	srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	_, err = client.Payments.Execute(ctx, p.PaymentID)
	fmt.Println(errors.Is(err, bkash.ErrOutcomeUnknown))

	q, err := client.Payments.Query(ctx, p.PaymentID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q.Status, srv.Received("payment.execute"), srv.Applied("payment.execute"))
	// Output:
	// true
	// Completed 1 1
}
