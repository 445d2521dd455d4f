package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

func TestDemoMarksTheOrderPaid(t *testing.T) {
	if err := runDemo(); err != nil {
		t.Fatal(err)
	}
}

// onPayment fulfils only what bKash confirms, once.
func TestOnPaymentConfirmsWithBkash(t *testing.T) {
	ctx := context.Background()
	fake := bkashtest.NewServer()
	defer fake.Close()
	client, err := bkash.NewClient(bkash.Sandbox, fake.Credentials(), bkash.WithBaseURL(fake.URL))
	if err != nil {
		t.Fatal(err)
	}
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: bkash.Taka(500), InvoiceNumber: "INV-7", PayerReference: "01770618575",
		CallbackURL: "https://shop.example/bkash/callback",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	paid, err := client.Payments.Execute(ctx, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := func(amount bkash.Amount, invoice string) *bkash.Notification {
		return &bkash.Notification{TrxID: paid.TrxID, Amount: amount, MerchantInvoiceNumber: invoice, TransactionStatus: "Completed"}
	}

	book := newOrders()
	book.price["INV-7"] = bkash.Taka(500)
	fn := onPayment(client, book, logger)
	if err := fn(ctx, n(bkash.Taka(5000), "INV-7")); !errors.Is(err, errNotConfirmed) {
		t.Fatalf("inflated amount: %v", err)
	}
	if len(book.paid) != 0 {
		t.Fatal("an unconfirmed notification fulfilled the order")
	}
	if err := fn(ctx, n(bkash.Taka(500), "INV-7")); err != nil || book.paid["INV-7"] != paid.TrxID {
		t.Fatalf("confirmed payment: %v, paid %v", err, book.paid)
	}
	if err := fn(ctx, n(bkash.Taka(500), "INV-7")); err != nil {
		t.Fatalf("duplicate: %v", err)
	}
	if err := fn(ctx, n(bkash.Taka(500), "QR-PAYMENT")); err != nil {
		t.Fatalf("unknown invoice: %v", err)
	}
	under := newOrders()
	under.price["INV-7"] = bkash.Taka(600)
	if err := onPayment(client, under, logger)(ctx, n(bkash.Taka(500), "INV-7")); err != nil || len(under.paid) != 0 {
		t.Fatalf("underpaid: %v, paid %v", err, under.paid)
	}
	missing := &bkash.Notification{TrxID: "NOSUCHTRX", Amount: bkash.Taka(1), MerchantInvoiceNumber: "INV-7"}
	if err := fn(ctx, missing); err == nil {
		t.Fatal("an unknown trxID was accepted")
	}
}

// Like the other examples, a bare "go run ./examples/webhook" runs on the
// fake; bKash only with credentials.
func TestRunsTheDemoWithoutCredentials(t *testing.T) {
	if err := run(nil, func(string) string { return "" }); err != nil {
		t.Fatalf("run without BKASH_* = %v, want the demo to pass", err)
	}
}

func TestCredentialsSelectBkash(t *testing.T) {
	env := map[string]string{"BKASH_USERNAME": "u", "BKASH_ENV": "staging"}
	err := run(nil, func(k string) string { return env[k] })
	if err == nil || err.Error() != `BKASH_ENV="staging": want sandbox (the default) or production` {
		t.Errorf("run with BKASH_ENV=staging = %v", err)
	}
	for name, want := range map[string]bkash.Environment{"": bkash.Sandbox, "sandbox": bkash.Sandbox, "production": bkash.Production} {
		if got, err := environment(name); err != nil || got != want {
			t.Errorf("environment(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	delete(env, "BKASH_ENV")
	err = run(nil, func(k string) string { return env[k] })
	if err == nil || err.Error() != "set BKASH_SNS_TOPIC_ARN to the topic bKash gave you" {
		t.Errorf("run with credentials but no topic = %v", err)
	}
}
