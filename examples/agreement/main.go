// Command agreement shows bKash's saved wallets ("agreements") with the
// bkash-go SDK, step by step:
//
//	go run ./examples/agreement
//
// The flow:
//
//  1. Agreements.Create (mode 0000) returns a paymentID and bKash's page
//     (BkashURL). The customer enters wallet number, verification code and
//     PIN there once; bKash then redirects the browser to your callback URL
//     with paymentID and status.
//  2. On status=success, Agreements.Execute(paymentID) binds the wallet and
//     returns the AgreementID. Store it with the customer. Execute is a money
//     call: it is sent once; if its outcome is unknown, read it back with
//     Payments.Query(paymentID), never execute again.
//  3. Payments.Create with AgreementID pays with the saved wallet (mode 0001):
//     on bKash's page the customer enters only the PIN. Finalize executes it.
//  4. Agreements.Query reads the agreement; Agreements.Cancel removes it
//     (cancelling twice is not an error).
//
// By default the program runs against a fake bKash in the same process
// (package bkashtest), which plays the customer with Server.Approve. With
// BKASH_USERNAME, BKASH_PASSWORD, BKASH_APP_KEY and BKASH_APP_SECRET set it
// uses bKash's sandbox: open the printed URLs in a browser (sandbox wallet
// 01770618575, code 123456, PIN 12121) and paste back the URL bKash
// redirects you to.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// callbackURL is where bKash sends the customer's browser back. In a real
// service it is your handler; here the fake never calls it and, on the
// sandbox, you paste the address you land on.
const callbackURL = "https://shop.example.com/bkash/agreement/callback"

// wallet is a sandbox wallet that pays.
const wallet = "01770618575"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "agreement:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, in io.Reader) error {
	client, customer, closeFn, err := connect(out, in)
	if err != nil {
		return err
	}
	defer closeFn()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	// 1. Create the agreement and send the customer to bKash.
	ag, err := client.Agreements.Create(ctx, &bkash.CreateAgreementParams{
		PayerReference: wallet, // a wallet number pre-fills bKash's page
		CallbackURL:    callbackURL,
	})
	if err != nil {
		return fmt.Errorf("create agreement: %w", err)
	}
	fmt.Fprintf(out, "1. Agreement created: paymentID %s, status %s\n   customer goes to %s\n", ag.PaymentID, ag.Status, ag.BkashURL)
	if err := customer(ag.PaymentID, ag.BkashURL, wallet); err != nil {
		return err
	}

	// 2. Execute it: the answer carries the AgreementID to store.
	ag, err = client.Agreements.Execute(ctx, ag.PaymentID)
	if errors.Is(err, bkash.ErrOutcomeUnknown) {
		return fmt.Errorf("execute agreement: outcome unknown, read it with Payments.Query: %w", err)
	}
	if err != nil {
		return fmt.Errorf("execute agreement: %w", err)
	}
	fmt.Fprintf(out, "2. Agreement executed: agreementID %s for wallet %s (%s)\n", ag.AgreementID, bkash.MaskMSISDN(ag.CustomerMSISDN), ag.Status)
	agreementID := ag.AgreementID

	// 3. Pay with the saved wallet (mode 0001): PIN only on bKash's page.
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount:         bkash.Taka(250),
		InvoiceNumber:  fmt.Sprintf("AG-DEMO-%d", time.Now().UnixNano()),
		PayerReference: wallet,
		CallbackURL:    callbackURL,
		AgreementID:    agreementID,
	})
	if err != nil {
		return fmt.Errorf("create payment: %w", err)
	}
	fmt.Fprintf(out, "3. Payment created with the saved wallet: paymentID %s, mode %s, amount %s\n", p.PaymentID, p.Mode, p.Amount)
	if err := customer(p.PaymentID, p.BkashURL, ""); err != nil {
		return err
	}
	p, err = client.Payments.Finalize(ctx, p.PaymentID)
	if err != nil {
		return fmt.Errorf("finalize payment: %w", err)
	}
	fmt.Fprintf(out, "   Payment %s: trxID %s, %s BDT\n", p.Status, p.TrxID, p.Amount)

	// 4. Read the agreement, then remove it (twice: the second is a no-op).
	ag, err = client.Agreements.Query(ctx, agreementID)
	if err != nil {
		return fmt.Errorf("query agreement: %w", err)
	}
	fmt.Fprintf(out, "4. Agreement %s is %s\n", ag.AgreementID, ag.Status)
	for i := range 2 {
		ag, err = client.Agreements.Cancel(ctx, agreementID)
		if err != nil {
			return fmt.Errorf("cancel agreement: %w", err)
		}
		fmt.Fprintf(out, "   Cancel #%d: agreement %s is %s\n", i+1, ag.AgreementID, ag.Status)
	}
	fmt.Fprintln(out, "Done.")
	return nil
}

// approveFunc plays (fake) or asks for (sandbox) the customer on bKash's page.
type approveFunc func(paymentID, bkashURL, wallet string) error

// connect returns a client for the fake bKash (default) or the sandbox.
func connect(out io.Writer, in io.Reader) (*bkash.Client, approveFunc, func(), error) {
	if !sandboxRequested() {
		srv := bkashtest.NewServer()
		client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL))
		if err != nil {
			srv.Close()
			return nil, nil, nil, err
		}
		fmt.Fprintln(out, "Using a fake bKash in this process (set BKASH_* to use the sandbox).")
		approve := func(paymentID, _, wallet string) error {
			fmt.Fprintln(out, "   (the fake's customer approves on bKash's page)")
			return srv.Approve(paymentID, wallet)
		}
		return client, approve, srv.Close, nil
	}
	creds, err := bkash.CredentialsFromEnv()
	if err != nil {
		return nil, nil, nil, err
	}
	client, err := bkash.NewClient(bkash.Sandbox, creds)
	if err != nil {
		return nil, nil, nil, err
	}
	fmt.Fprintln(out, "Using bKash's sandbox.")
	lines := bufio.NewScanner(in)
	approve := func(paymentID, bkashURL, _ string) error {
		fmt.Fprintf(out, "   Open %s\n   approve, then paste the URL your browser lands on: ", bkashURL)
		if !lines.Scan() {
			return errors.New("no callback URL on standard input")
		}
		u, err := url.Parse(strings.TrimSpace(lines.Text()))
		if err != nil {
			return err
		}
		cb, err := bkash.ParseCallback(u.Query())
		if err != nil {
			return err
		}
		if cb.PaymentID != paymentID || !cb.Success() {
			return fmt.Errorf("callback for %s says %s; stopping", cb.PaymentID, cb.Status)
		}
		return nil
	}
	return client, approve, func() {}, nil
}

// sandboxRequested reports whether any BKASH_* credential variable is set;
// CredentialsFromEnv then insists on all four.
func sandboxRequested() bool {
	for _, k := range []string{"BKASH_USERNAME", "BKASH_PASSWORD", "BKASH_APP_KEY", "BKASH_APP_SECRET"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}
