package bkash_test

import (
	"context"
	"fmt"
	"log"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// Bind a customer's wallet, then pay with it. The example runs against the
// fake bKash of package bkashtest, which also plays the customer; an
// application uses bkash.Sandbox or bkash.Production without WithBaseURL.
func ExampleAgreementService_Create() {
	srv := bkashtest.NewServer()
	defer srv.Close()
	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// 1. Start the agreement and redirect the customer to ag.BkashURL.
	ag, err := client.Agreements.Create(ctx, &bkash.CreateAgreementParams{
		PayerReference: "01770618575",
		CallbackURL:    "https://shop.example/bkash/agreement",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", ag.Status)

	// The customer approves with wallet, OTP and PIN, and bKash sends them
	// back to the callback URL with status=success.
	if err := srv.Approve(ag.PaymentID, "01770618575"); err != nil {
		log.Fatal(err)
	}

	// 2. In the callback handler: execute, and store the AgreementID with
	// the customer's account.
	ag, err = client.Agreements.Execute(ctx, ag.PaymentID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("executed:", ag.Status, ag.CustomerMSISDN)

	// 3. Any later purchase: pay with the saved wallet (mode 0001). The
	// customer only enters the PIN on bKash's page.
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount:         bkash.Taka(480),
		InvoiceNumber:  "INV-2001",
		PayerReference: "01770618575",
		CallbackURL:    "https://shop.example/bkash/callback",
		AgreementID:    ag.AgreementID,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("payment mode:", p.Mode)
	if err := srv.Approve(p.PaymentID, ""); err != nil { // the PIN
		log.Fatal(err)
	}
	p, err = client.Payments.Execute(ctx, p.PaymentID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("paid:", p.Status, p.Amount)
	// Output:
	// created: Initiated
	// executed: Completed 01770618575
	// payment mode: 0001
	// paid: Completed 480.00
}

// Cancelling is idempotent: cancelling an agreement that is already
// cancelled returns its state, not an error.
func ExampleAgreementService_Cancel() {
	srv := bkashtest.NewServer()
	defer srv.Close()
	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	agreementID := exampleAgreement(ctx, client, srv)

	for range 2 {
		ag, err := client.Agreements.Cancel(ctx, agreementID)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ag.Status, !ag.CancelledAt.IsZero())
	}
	// Output:
	// Cancelled true
	// Cancelled true
}

// exampleAgreement binds the sandbox wallet 01770618575 and returns the
// agreement's ID.
func exampleAgreement(ctx context.Context, client *bkash.Client, srv *bkashtest.Server) string {
	ag, err := client.Agreements.Create(ctx, &bkash.CreateAgreementParams{
		PayerReference: "01770618575", CallbackURL: "https://shop.example/bkash/agreement",
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Approve(ag.PaymentID, "01770618575"); err != nil {
		log.Fatal(err)
	}
	ag, err = client.Agreements.Execute(ctx, ag.PaymentID)
	if err != nil {
		log.Fatal(err)
	}
	return ag.AgreementID
}
