// Command webhook receives bKash's instant payment notifications (IPN) and
// fulfils orders only after confirming each payment with bKash.
//
// A notification is only a hint that money arrived: the handler verifies its
// SNS signature (bkash.WebhookVerifier), then asks bKash itself with
// Payments.Search(trxID) and checks status and amount before marking the
// order paid. Fulfilment is idempotent by trxID, because SNS may deliver a
// message more than once and bKash may publish a payment twice.
//
// Run it offline against the fake bKash, which posts a signed notification
// after a payment:
//
//	go run ./examples/webhook -demo
//
// Or serve for real (register https://<your host>/bkash/webhook with bKash):
//
//	BKASH_ENV=sandbox BKASH_USERNAME=... BKASH_PASSWORD=... BKASH_APP_KEY=... \
//	BKASH_APP_SECRET=... BKASH_SNS_TOPIC_ARN=arn:aws:sns:ap-southeast-1:...:... \
//	go run ./examples/webhook -addr :8080
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
	addr := flag.String("addr", ":8080", "listen address")
	demo := flag.Bool("demo", false, "run a payment against the fake bKash and receive its notification")
	flag.Parse()
	var err error
	if *demo {
		err = runDemo()
	} else {
		err = serve(*addr)
	}
	if err != nil {
		log.Fatal(err)
	}
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

func serve(addr string) error {
	env := map[string]bkash.Environment{"sandbox": bkash.Sandbox, "production": bkash.Production}[os.Getenv("BKASH_ENV")]
	if env == (bkash.Environment{}) {
		return errors.New("set BKASH_ENV to sandbox or production")
	}
	topic := os.Getenv("BKASH_SNS_TOPIC_ARN")
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
