// Command refund shows refunds with the bkash-go SDK, step by step:
//
//	go run ./examples/refund
//
// The flow:
//
//  1. A payment is created, approved by the customer on bKash's page and
//     executed (Payments.Finalize). Its PaymentID and TrxID identify it for
//     refunds.
//  2. Refunds.Create refunds part of it. SKU and Reason are required. Several
//     partial refunds are allowed, up to the amount paid.
//  3. Refunds.Status lists the payment's refunds (the v1 API, the default,
//     reports the latest one; WithRefundAPI(bkash.RefundV2) lists all).
//  4. A refund whose answer is lost (a timeout, a dropped connection) returns
//     an *OutcomeUnknownError. The SDK has not sent it again, and neither
//     must you: bKash may still be making it until the error's SettleAfter
//     (its 30-second timeout plus clock skew), so a status that does not
//     list it yet proves nothing. Record a bkash.PendingRefund and settle it
//     with Refunds.Settle: made, not made (only after SettleAfter), or
//     undecided (settle it later). Refunding "again" on an empty status
//     could pay the customer twice. (Shown with the fake only, which can
//     drop an answer on purpose.)
//  5. Refunding more than what is left is refused by bKash (an *APIError).
//
// By default the program runs against a fake bKash in the same process
// (package bkashtest), which plays the customer with Server.Approve. With
// BKASH_USERNAME, BKASH_PASSWORD, BKASH_APP_KEY and BKASH_APP_SECRET set it
// uses bKash's sandbox: open the printed URL in a browser (sandbox wallet
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

const callbackURL = "https://shop.example.com/bkash/callback"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "refund:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, in io.Reader) error {
	env, err := connect(out, in)
	if err != nil {
		return err
	}
	defer env.close()
	client := env.client
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	// 1. A completed payment of Tk 500.
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount:         bkash.Taka(500),
		InvoiceNumber:  fmt.Sprintf("RF-DEMO-%d", time.Now().UnixNano()),
		PayerReference: "01770618575",
		CallbackURL:    callbackURL,
	})
	if err != nil {
		return fmt.Errorf("create payment: %w", err)
	}
	if err := env.approve(p.PaymentID, p.BkashURL); err != nil {
		return err
	}
	p, err = client.Payments.Finalize(ctx, p.PaymentID)
	if err != nil {
		return fmt.Errorf("finalize payment: %w", err)
	}
	fmt.Fprintf(out, "1. Paid %s BDT: paymentID %s, trxID %s\n", p.Amount, p.PaymentID, p.TrxID)

	// 2. A partial refund.
	rf, err := client.Refunds.Create(ctx, &bkash.RefundParams{
		PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: bkash.Taka(120) + bkash.Poisha(50),
		SKU: "milk-1l", Reason: "one bottle arrived broken",
	})
	if err != nil {
		return fmt.Errorf("refund: %w", err)
	}
	fmt.Fprintf(out, "2. Refunded %s BDT: refundTrxID %s, %s (charge %s)\n", rf.Amount, rf.RefundTrxID, rf.Status, rf.Charge)
	left := p.Amount - rf.Amount

	// 3. The refund status.
	st, err := client.Refunds.Status(ctx, p.PaymentID, p.TrxID)
	if err != nil {
		return fmt.Errorf("refund status: %w", err)
	}
	fmt.Fprintf(out, "3. Refund status of %s:\n", st.OriginalTrxID)
	for _, r := range st.Refunds {
		fmt.Fprintf(out, "   - %s %s BDT %s\n", r.RefundTrxID, r.Amount, r.Status)
	}

	// 4. A refund whose answer is lost: reconcile with Status, never re-send.
	if env.fake != nil {
		env.fake.Inject("refund.create", bkashtest.Fault{Drop: true, AfterApply: true})
		amount := bkash.Taka(100)
		params := &bkash.RefundParams{
			PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: amount, SKU: "doi-500", Reason: "late delivery",
		}
		_, err := client.Refunds.Create(ctx, params)
		var unknown *bkash.OutcomeUnknownError
		if !errors.As(err, &unknown) {
			return fmt.Errorf("expected an unknown outcome, got %v", err)
		}
		fmt.Fprintf(out, "4. Refund of %s BDT: %v\n", amount, err)
		// What to store, so that any process can settle it later: the
		// refund, when it was sent, and the refunds already recorded.
		pending := bkash.NewPendingRefund(params, err, rf.RefundTrxID)
		fmt.Fprintf(out, "   Pending; not decidable as \"not made\" before %s.\n", pending.SettleAfter().Format(time.RFC3339))
		outcome, r, err := client.Refunds.Settle(ctx, pending)
		if err != nil {
			return fmt.Errorf("settle refund: %w", err)
		}
		switch outcome {
		case bkash.RefundMade:
			fmt.Fprintf(out, "   Settled: it went through, %s %s BDT %s. Not sent again.\n", r.RefundTrxID, r.Amount, r.Status)
			left -= r.Amount
		case bkash.RefundNotMade:
			fmt.Fprintln(out, "   Settled: it was not made (read after it could no longer be in flight). Only now may it be sent again.")
		default:
			fmt.Fprintln(out, "   Undecided: keep the pending refund and settle it later; do not refund again.")
		}
	}

	// 5. More than what is left is refused.
	_, err = client.Refunds.Create(ctx, &bkash.RefundParams{
		PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: left + bkash.Taka(1), SKU: "all", Reason: "too much",
	})
	var apiErr *bkash.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("refunding more than the %s BDT left: want a refusal from bKash, got %v", left, err)
	}
	fmt.Fprintf(out, "5. Refunding %s BDT when %s is left: refused, %s (code %s)\n", left+bkash.Taka(1), left, apiErr.Message, string(apiErr.Code))
	fmt.Fprintln(out, "Done.")
	return nil
}

// env is the bKash the example talks to.
type env struct {
	client  *bkash.Client
	fake    *bkashtest.Server // nil on the sandbox
	approve func(paymentID, bkashURL string) error
	close   func()
}

func connect(out io.Writer, in io.Reader) (*env, error) {
	if !sandboxRequested() {
		srv := bkashtest.NewServer()
		client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL))
		if err != nil {
			srv.Close()
			return nil, err
		}
		fmt.Fprintln(out, "Using a fake bKash in this process (set BKASH_* to use the sandbox).")
		return &env{
			client: client, fake: srv, close: srv.Close,
			approve: func(paymentID, _ string) error { return srv.Approve(paymentID, "01770618575") },
		}, nil
	}
	creds, err := bkash.CredentialsFromEnv()
	if err != nil {
		return nil, err
	}
	client, err := bkash.NewClient(bkash.Sandbox, creds)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "Using bKash's sandbox.")
	lines := bufio.NewScanner(in)
	return &env{client: client, close: func() {}, approve: func(paymentID, bkashURL string) error {
		fmt.Fprintf(out, "   Open %s\n   pay, then paste the URL your browser lands on: ", bkashURL)
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
	}}, nil
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
