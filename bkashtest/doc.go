// Package bkashtest provides a fake bKash Tokenized Checkout server for tests
// that need no credentials and no network.
//
// The fake speaks bKash's wire format (API v1.2.0-beta and the v2 refund
// API): the same paths, envelopes, field spellings, error codes and
// timestamp format. It authenticates like bKash, keeps payments, agreements
// and refunds in memory, serves a hosted checkout page, and can be told to
// misbehave.
//
// # Starting a server
//
//	srv := bkashtest.NewServer()
//	defer srv.Close()
//	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL))
//
// # Authentication
//
// Token grant and refresh need the username and password headers and the
// app_key and app_secret of Server.Credentials; wrong ones get an HTTP 200
// with code 9999 ("Username does not exist") or 2001. Every other call needs
// Authorization (the bare id_token, or "Bearer <id_token>") and X-APP-Key.
// A missing or unknown token answers HTTP 401 {"message":"Unauthorized"}, an
// expired one 401 {"message":"The incoming token has expired"}, a wrong app
// key 403 {"message":"Forbidden"}. Tokens live one hour (WithTokenLifetime)
// on the server's clock (WithClock, Clock).
//
// # The customer
//
// Create answers a bkashURL that points at the fake's own checkout page:
// wallet number, verification code (OTP, 123456) and PIN (PIN, 12121), with
// a confirm and a cancel button. The page redirects the browser to the
// merchant's callbackURL with paymentID, status (success, failure or cancel),
// signature and apiVersion, as bKash does; three wrong entries end in
// status=failure. Tests without a browser call Server.Approve or
// Server.Cancel instead.
//
// The sandbox wallets of bKash work: PayingWallets pay; WalletInsufficientBalance
// approves but execute answers 2023; WalletDebitBlocked approves but execute
// answers 2037. WithWallet adds wallets.
//
// # State and codes
//
// Payments (modes 0011 and 0001) go Initiated → Completed (intent sale) or
// Authorized (intent authorization) → Completed (capture) or Cancelled (void).
// Execute before the customer approved answers 2056, a second execute 2117;
// a payment not executed within 24 hours expires (its status becomes
// "Expired"). A second capture or void answers 2119, in the
// {"errorCode","errorMessage"} envelope that bKash documents for them.
// Agreements (mode 0000) answer 2054 when executed before approval, 2116 on a
// second execute, 2053 on a second cancel. Refunds, through payment/refund
// (v1) or the v2 API, draw on one refundable balance per payment: past it,
// v1 answers 2026 and v2 HTTP 400 with externalCode 2072. Search finds
// payment and refund trxIDs (2033 otherwise). Requests are validated like
// bKash does (amount format, currency BDT, intent, mode, callbackURL,
// reference lengths) with bKash's codes.
//
// # Faults and inspection
//
// Server.Inject makes the next calls of an operation fail with a bKash code,
// an HTTP status (with Retry-After), a raw body, a delay or a dropped
// connection, before or after the state change (Fault.AfterApply).
// Server.Received and Server.Applied count requests per operation;
// Server.Payment, Server.Agreement, Server.RefundsOf and
// Server.WalletBalance show the state.
//
// Operation names are those of the SDK: token.grant, token.refresh,
// payment.create, payment.execute, payment.query, payment.search,
// payment.capture, payment.void, agreement.create, agreement.execute,
// agreement.query, agreement.cancel, refund.create, refund.status.
//
// A Server is safe for concurrent use; Close leaves no goroutine behind.
package bkashtest
