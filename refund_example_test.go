package bkash_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// Refund part of a payment, then read the refunds of the payment. The
// example runs against the fake bKash of package bkashtest, on the v2 refund
// API, which lists every refund.
func ExampleRefundService_Create() {
	srv := bkashtest.NewServer()
	defer srv.Close()
	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(),
		bkash.WithBaseURL(srv.URL), bkash.WithRefundAPI(bkash.RefundV2))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	p := examplePaidPayment(ctx, client, srv, bkash.Taka(1250)+bkash.Poisha(50))

	rf, err := client.Refunds.Create(ctx, &bkash.RefundParams{
		PaymentID: p.PaymentID,
		TrxID:     p.TrxID,
		Amount:    bkash.Taka(200),
		SKU:       "MILK-1L",
		Reason:    "leaking carton",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("refunded:", rf.Amount, rf.Status)

	st, err := client.Refunds.Status(ctx, p.PaymentID, p.TrxID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("payment:", st.OriginalAmount, "refunded so far:", st.Refunded(), "in", len(st.Refunds), "refund(s)")
	// Output:
	// refunded: 200.00 Completed
	// payment: 1250.50 refunded so far: 200.00 in 1 refund(s)
}

// A refund whose answer was lost is not re-sent by the SDK, and must not be
// refunded again until it is settled: bKash may still be making it until
// the error's SettleAfter. Settle reads the refund status; when the refund
// is not listed yet, it waits until SettleAfter (if the context allows) and
// reads again, so that "not made" is never read from a status taken while
// the refund may still be in flight.
func ExampleRefundService_Settle() {
	srv := bkashtest.NewServer()
	defer srv.Close()
	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(),
		bkash.WithBaseURL(srv.URL), bkash.WithRefundAPI(bkash.RefundV2))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	p := examplePaidPayment(ctx, client, srv, bkash.Taka(500))

	// bKash makes the refund, but the connection drops before it answers.
	srv.Inject("refund.create", bkashtest.Fault{Drop: true, AfterApply: true})
	params := &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: bkash.Taka(120), SKU: "GHEE-250G", Reason: "damaged jar"}
	_, err = client.Refunds.Create(ctx, params)
	fmt.Println("outcome unknown:", errors.Is(err, bkash.ErrOutcomeUnknown))

	// Store this (plain data) with the order, then settle it, here or in
	// a later job.
	pending := bkash.NewPendingRefund(params, err /* the refunds recorded before: */)
	outcome, rf, err := client.Refunds.Settle(ctx, pending)
	if err != nil {
		log.Fatal(err)
	}
	switch outcome {
	case bkash.RefundMade:
		fmt.Println("it went through:", rf.Amount, rf.Status)
	case bkash.RefundNotMade:
		fmt.Println("it was not made: it may be sent again")
	case bkash.RefundUndecided:
		fmt.Println("not decidable yet: settle it again after", pending.SettleAfter())
	}
	// Output:
	// outcome unknown: true
	// it went through: 120.00 Completed
}

// Status lists the refunds of a payment.
func ExampleRefundService_Status() {
	srv := bkashtest.NewServer()
	defer srv.Close()
	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(),
		bkash.WithBaseURL(srv.URL), bkash.WithRefundAPI(bkash.RefundV2))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	p := examplePaidPayment(ctx, client, srv, bkash.Taka(500))
	for _, amount := range []bkash.Amount{bkash.Taka(100), bkash.Taka(50) + bkash.Poisha(25)} {
		if _, err := client.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: amount, SKU: "DOI-500G", Reason: "late"}); err != nil {
			log.Fatal(err)
		}
	}
	st, err := client.Refunds.Status(ctx, p.PaymentID, p.TrxID)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range st.Refunds {
		fmt.Println(r.Amount, r.Status)
	}
	fmt.Println("refunded:", st.Refunded())
	// Output:
	// 100.00 Completed
	// 50.25 Completed
	// refunded: 150.25
}

// examplePaidPayment takes a payment of amount from the sandbox wallet
// 01770618575 and returns it executed.
func examplePaidPayment(ctx context.Context, client *bkash.Client, srv *bkashtest.Server, amount bkash.Amount) *bkash.Payment {
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: amount, InvoiceNumber: "INV-3001", PayerReference: "01770618575",
		CallbackURL: "https://shop.example/bkash/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		log.Fatal(err)
	}
	p, err = client.Payments.Execute(ctx, p.PaymentID)
	if err != nil {
		log.Fatal(err)
	}
	return p
}
