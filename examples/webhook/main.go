// Command webhook receives bKash's instant payment notifications (IPN) and
// fulfils orders only after confirming each payment with bKash.
//
// A notification is only a hint that money arrived: the handler verifies its
// SNS signature (bkash.WebhookVerifier), then asks bKash itself with
// Payments.Search(trxID) and checks status and amount before marking the
// order paid. Fulfilment is idempotent by trxID, because SNS may deliver a
// message more than once and bKash may publish a payment twice.
//
// By default, like the other examples, it runs offline against the fake bKash,
// which posts a signed notification after a payment:
//
//	go run ./examples/webhook
//
// With the BKASH_* credentials set it serves for real instead (register
// https://<your host>/bkash/webhook with bKash); BKASH_ENV is sandbox (the
// default) or production:
//
//	BKASH_USERNAME=... BKASH_PASSWORD=... BKASH_APP_KEY=... BKASH_APP_SECRET=... \
//	BKASH_SNS_TOPIC_ARN=arn:aws:sns:ap-southeast-1:...:... \
//	go run ./examples/webhook -addr :8080
//
// -demo runs the offline demo even when credentials are set.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		log.Fatal(err)
	}
}

// run parses the flags and runs the demo, or serves when getenv has the
// BKASH_* credentials.
func run(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "listen address (with BKASH_* credentials)")
	demo := fs.Bool("demo", false, "run the offline demo even when BKASH_* credentials are set")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *demo || !credentialsSet(getenv) {
		return runDemo()
	}
	env, err := environment(getenv("BKASH_ENV"))
	if err != nil {
		return err
	}
	return serve(env, *addr, getenv("BKASH_SNS_TOPIC_ARN"))
}

// credentialsSet reports whether any BKASH_* credential is set: then the
// user means bKash, and a missing one is an error rather than a demo.
func credentialsSet(getenv func(string) string) bool {
	for _, k := range []string{"BKASH_USERNAME", "BKASH_PASSWORD", "BKASH_APP_KEY", "BKASH_APP_SECRET"} {
		if getenv(k) != "" {
			return true
		}
	}
	return false
}

// environment maps BKASH_ENV to bKash's environment; live money only when
// asked for by name.
func environment(name string) (bkash.Environment, error) {
	switch name {
	case "", "sandbox":
		return bkash.Sandbox, nil
	case "production":
		return bkash.Production, nil
	}
	return bkash.Environment{}, fmt.Errorf("BKASH_ENV=%q: want sandbox (the default) or production", name)
}

// orders is the shop's order book: what each invoice should cost and
// whether it has been paid. A real shop keeps this in its database.
type orders struct {
	mu    sync.Mutex
	price map[string]bkash.Amount // invoice -> amount due
	paid  map[string]string       // invoice -> trxID
}

func newOrders() *orders {
	return &orders{price: map[string]bkash.Amount{}, paid: map[string]string{}}
}

// errNotConfirmed means bKash does not (yet) confirm the notification; the
// handler answers 500 and SNS retries later.
var errNotConfirmed = errors.New("payment not confirmed by bKash")

// onPayment is the webhook callback. It returns nil only when the payment
// is confirmed and recorded (or was already); any error makes SNS retry.
func onPayment(client *bkash.Client, book *orders, logger *slog.Logger) func(context.Context, *bkash.Notification) error {
	return func(ctx context.Context, n *bkash.Notification) error {
		// Never trust the notification alone: ask bKash (retry class read).
		tx, err := client.Payments.Search(ctx, n.TrxID)
		if err != nil {
			return fmt.Errorf("searching %s: %w", n.TrxID, err)
		}
		if tx.Status != bkash.StatusCompleted || tx.Amount != n.Amount {
			return fmt.Errorf("%w: %s is %s for %s, notification says %s",
				errNotConfirmed, n.TrxID, tx.Status, tx.Amount, n.Amount)
		}
		book.mu.Lock()
		defer book.mu.Unlock()
		due, known := book.price[n.MerchantInvoiceNumber]
		switch {
		case !known:
			// A payment by QR or USSD, not through our checkout: record it
			// for the accountants instead of failing (a 500 would only make
			// SNS retry).
			logger.Warn("payment for an unknown invoice", "trxID", n.TrxID, "invoice", n.MerchantInvoiceNumber)
			return nil
		case book.paid[n.MerchantInvoiceNumber] == n.TrxID:
			return nil // already fulfilled: a duplicate delivery
		case tx.Amount < due:
			logger.Warn("underpaid", "invoice", n.MerchantInvoiceNumber, "due", due.String(), "paid", tx.Amount.String())
			return nil
		}
		book.paid[n.MerchantInvoiceNumber] = n.TrxID
		logger.Info("order paid", "invoice", n.MerchantInvoiceNumber, "trxID", n.TrxID, "amount", tx.Amount.String())
		return nil
	}
}

func serve(env bkash.Environment, addr, topic string) error {
	if topic == "" {
		return errors.New("set BKASH_SNS_TOPIC_ARN to the topic bKash gave you")
	}
	creds, err := bkash.CredentialsFromEnv()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	client, err := bkash.NewClient(env, creds, bkash.WithLogger(logger))
	if err != nil {
		return err
	}
	v, err := bkash.NewWebhookVerifier(
		bkash.WithAllowedTopicARNs(topic),
		bkash.WithSubscriptionConfirmation(true),
		bkash.WithWebhookLogger(logger),
	)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /bkash/webhook", v.Handler(onPayment(client, newOrders(), logger)))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("listening", "addr", addr)
	return srv.ListenAndServe()
}

// runDemo plays the whole flow offline: the fake bKash takes a payment and
// posts its signed notification to our handler, which confirms it with a
// search before marking the order paid.
func runDemo() error {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	signer, err := bkashtest.NewSNSSigner()
	if err != nil {
		return err
	}
	book := newOrders()
	mux := http.NewServeMux()
	shop := httptest.NewServer(mux)
	defer shop.Close()
	fake := bkashtest.NewServer(bkashtest.WithWebhook(shop.URL+"/bkash/webhook", signer))
	client, err := bkash.NewClient(bkash.Sandbox, fake.Credentials(), bkash.WithBaseURL(fake.URL))
	if err != nil {
		return err
	}
	v, err := bkash.NewWebhookVerifier(
		bkash.WithAllowedTopicARNs(signer.TopicARN()),
		bkash.WithCertFetcher(signer.CertFetcher()), // the fake's "AWS"
		bkash.WithWebhookLogger(logger),
	)
	if err != nil {
		return err
	}
	mux.Handle("POST /bkash/webhook", v.Handler(onPayment(client, book, logger)))

	const invoice = "INV-1001"
	price := bkash.Taka(1250) + bkash.Poisha(50)
	book.mu.Lock()
	book.price[invoice] = price
	book.mu.Unlock()
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: price, InvoiceNumber: invoice, PayerReference: "01770618575",
		CallbackURL: shop.URL + "/bkash/callback",
	})
	if err != nil {
		return err
	}
	if err := fake.Approve(p.PaymentID, "01770618575"); err != nil {
		return err
	}
	if _, err := client.Payments.Finalize(ctx, p.PaymentID); err != nil {
		return err
	}
	defer fake.Close()
	// The fake posts the notification in the background; wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for len(fake.WebhookDeliveries()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, d := range fake.WebhookDeliveries() {
		fmt.Printf("notification %s for %s: HTTP %d after %d attempt(s)\n", d.MessageID, d.TrxID, d.StatusCode, d.Attempts)
	}
	book.mu.Lock()
	defer book.mu.Unlock()
	if trx, ok := book.paid[invoice]; ok {
		fmt.Printf("%s paid by %s\n", invoice, trx)
		return nil
	}
	return fmt.Errorf("%s was not marked paid", invoice)
}
