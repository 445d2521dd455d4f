package bkash_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"

	bkash "github.com/smartdairy/bkash-go"
)

// newExampleClient builds a sandbox client from BKASH_* environment variables.
func newExampleClient() *bkash.Client {
	creds, err := bkash.CredentialsFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	client, err := bkash.NewClient(bkash.Sandbox, creds)
	if err != nil {
		log.Fatal(err)
	}
	return client
}

func ExamplePaymentService_Create() {
	client := newExampleClient()
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
	fmt.Println(p.PaymentID, p.Status, p.BkashURL)
}

func ExamplePaymentService_Finalize() {
	client := newExampleClient()
	mux := http.NewServeMux()
	// The callback handler: bKash sent the customer back to CallbackURL.
	mux.HandleFunc("GET /bkash/callback", func(w http.ResponseWriter, r *http.Request) {
		cb, err := bkash.ParseCallback(r.URL.Query())
		if err != nil {
			http.Error(w, "bad callback", http.StatusBadRequest)
			return
		}
		// Look up the order by cb.PaymentID here; never trust the redirect alone.
		if !cb.Success() {
			fmt.Fprintln(w, "payment not completed:", cb.Status)
			return
		}
		p, err := client.Payments.Finalize(r.Context(), cb.PaymentID)
		var apiErr *bkash.APIError
		switch {
		case errors.Is(err, bkash.ErrOutcomeUnknown):
			// bKash's answer was lost and the query could not settle it yet:
			// keep the order pending and Query later. Never execute again.
			fmt.Fprintln(w, "payment pending, we will confirm shortly")
		case errors.As(err, &apiErr):
			fmt.Fprintln(w, "payment failed:", apiErr.Message) // e.g. 2023 Insufficient Balance
		case err != nil:
			http.Error(w, "try again", http.StatusInternalServerError)
		case p.Status == bkash.StatusCompleted:
			fmt.Fprintln(w, "paid, transaction", p.TrxID) // store p.TrxID for refunds
		default:
			fmt.Fprintln(w, "payment state:", p.Status)
		}
	})
	log.Fatal(http.ListenAndServe("localhost:8080", mux))
}

func ExamplePaymentService_Query() {
	client := newExampleClient()
	p, err := client.Payments.Query(context.Background(), "TR0011Hk2Lm9P1735713000456")
	if err != nil {
		log.Fatal(err)
	}
	switch p.Status {
	case bkash.StatusCompleted:
		fmt.Println("paid:", p.Amount, p.TrxID)
	case bkash.StatusInitiated:
		fmt.Println("not executed yet; verification:", p.VerificationStatus)
	default:
		fmt.Println("state:", p.Status)
	}
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
