package bkashtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/smartdairy/bkash-go/bkashtest"
)

// post sends a bKash API call the way any client does: a JSON POST with the
// token and app key headers.
func post(srv *bkashtest.Server, path, token string, body any) map[string]any {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-APP-Key", srv.Credentials().AppKey)
	if token != "" {
		req.Header.Set("Authorization", token)
	} else {
		creds := srv.Credentials()
		req.Header.Set("username", creds.Username)
		req.Header.Set("password", string(creds.Password))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}

const api = "/v1.2.0-beta/tokenized/checkout/"

// A test of a checkout against the fake: the customer approves without a
// browser, and the merchant executes the payment.
func Example() {
	srv := bkashtest.NewServer()
	defer srv.Close()

	creds := srv.Credentials()
	token := post(srv, api+"token/grant", "", map[string]string{
		"app_key": creds.AppKey, "app_secret": string(creds.AppSecret),
	})["id_token"].(string)

	created := post(srv, api+"create", token, map[string]string{
		"mode": "0011", "payerReference": "01770618575",
		"callbackURL": "https://shop.example.com/bkash/callback",
		"amount":      "1250.50", "currency": "BDT", "intent": "sale",
		"merchantInvoiceNumber": "INV-1001",
	})
	paymentID := created["paymentID"].(string)

	// The customer enters wallet, OTP and PIN on the page at bkashURL.
	if err := srv.Approve(paymentID, "01770618575"); err != nil {
		fmt.Println(err)
		return
	}

	executed := post(srv, api+"execute", token, map[string]string{"paymentID": paymentID})
	fmt.Println(executed["statusCode"], executed["transactionStatus"], executed["amount"])

	again := post(srv, api+"execute", token, map[string]string{"paymentID": paymentID})
	fmt.Println(again["statusCode"], again["statusMessage"])

	st, _ := srv.Payment(paymentID)
	fmt.Println(st.Status, st.Amount, srv.Applied("payment.execute"))
	// Output:
	// 0000 Completed 1250.50
	// 2117 The payment execution has already been completed
	// Completed 1250.50 1
}

// The sandbox wallet with no balance approves, and execute then answers 2023.
func ExampleServer_Approve() {
	srv := bkashtest.NewServer()
	defer srv.Close()
	creds := srv.Credentials()
	token := post(srv, api+"token/grant", "", map[string]string{
		"app_key": creds.AppKey, "app_secret": string(creds.AppSecret),
	})["id_token"].(string)
	created := post(srv, api+"create", token, map[string]string{
		"mode": "0011", "payerReference": " ", "callbackURL": "https://shop.example.com/cb",
		"amount": "100", "currency": "BDT", "intent": "sale", "merchantInvoiceNumber": "INV-7",
	})
	paymentID := created["paymentID"].(string)

	fmt.Println(srv.Approve(paymentID, bkashtest.WalletInsufficientBalance))
	executed := post(srv, api+"execute", token, map[string]string{"paymentID": paymentID})
	fmt.Println(executed["statusCode"], executed["statusMessage"])
	// Output:
	// <nil>
	// 2023 Insufficient Balance
}

// Execute a payment, but lose the answer: the connection drops after bKash
// moved the money. A correct client reconciles with a query.
func ExampleServer_Inject() {
	srv := bkashtest.NewServer()
	defer srv.Close()
	creds := srv.Credentials()
	token := post(srv, api+"token/grant", "", map[string]string{
		"app_key": creds.AppKey, "app_secret": string(creds.AppSecret),
	})["id_token"].(string)
	created := post(srv, api+"create", token, map[string]string{
		"mode": "0011", "payerReference": "01770618575", "callbackURL": "https://shop.example.com/cb",
		"amount": "500", "currency": "BDT", "intent": "sale", "merchantInvoiceNumber": "INV-8",
	})
	paymentID := created["paymentID"].(string)
	_ = srv.Approve(paymentID, "01770618575")

	srv.Inject("payment.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	lost := post(srv, api+"execute", token, map[string]string{"paymentID": paymentID})
	fmt.Println(lost["error"] != nil)

	query := post(srv, api+"payment/status", token, map[string]string{"paymentID": paymentID})
	fmt.Println(query["transactionStatus"], srv.Received("payment.execute"), srv.Applied("payment.execute"))
	// Output:
	// true
	// Completed 1 1
}
