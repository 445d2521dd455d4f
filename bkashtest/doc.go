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
// # Persistent state
//
// By default a Server keeps its state in memory. WithStateFile keeps it in a
// file as well, so that a server started again with the same file (a
// `bkash fake --state FILE` restarted, a test suite run in two steps)
// behaves as the same bKash: payments (with their status, customer answer,
// trxID, hash and signature), agreements, refunds and each payment's
// refundable balance, wallet balances, and issued id_tokens and refresh
// tokens with their expiries, so a token granted before the restart is
// accepted after it. IDs drawn after a restart never repeat loaded ones.
// Not kept: injected faults, the Received/Applied counters, webhook
// deliveries, the clock (every time is stored as an absolute instant), and
// the options (credentials, token lifetime, merchant, webhook): pass them
// again. A wallet in the file keeps its balance; WithWallet adds wallets
// and sets the balance of new ones only.
//
// Use Open, which returns the file's errors, rather than NewServer, which
// panics with them:
//
//	srv, err := bkashtest.Open(bkashtest.WithStateFile("bkash-state.jsonl"))
//	if err != nil {
//		return err // *StateFileError: names the file, the line and its offset
//	}
//	defer srv.Close() // writes the final snapshot; then check srv.StateErr()
//
// The file is a journal: every change is appended as one record (one
// write, no fsync) while the change is made, so the cost per change does
// not grow with the state. When the journal is as long as the state
// (at least 4,096 records), a compaction writes the whole state to a
// temporary file beside it (<name>.tmp-<random>), syncs it, appends the
// records made meanwhile and renames it over the file; Close does the same
// when the file holds journal records. Temporary files of that name left
// by a crash are removed at start. A process killed at any moment leaves a
// file that loads; after a power failure the last changes may be missing.
// A missing or empty file starts a new state (the directory must exist).
// One server at a time may use a file.
//
// Format, version 1: UTF-8 text, one record per line,
//
//	{"c":<CRC-32C (Castagnoli) of R, decimal>,"r":R}\n
//
// where R is a JSON object. The first record is the header
// {"format":"bkashtest-state","version":1,"wallets":[...],...}. Each record,
// header included, is a change set applied in order: "reset" (true: clear
// everything first), "wallets" ({"msisdn","balance" in poisha,"blocked"}),
// "tokens" ({"kind":"id"|"refresh","sha256":hex of the token,"expires"}),
// "expireTokensAt" (every id_token expires then), and "payments" (each
// payment whole, replacing the previous version: amounts in poisha, times
// in RFC 3339, an agreement creation (mode 0000) with its "agreement", a
// payment with an agreement (0001) naming it by "agreementID", refunds
// listed in "refunds"). The file never holds a token, only its SHA-256.
//
// Loading is strict. A last line without its newline is a record torn by a
// crash during its write: it is dropped (the change it carried is lost, as
// if the process had died just before) and the file is truncated to the
// records before it. Anything else that does not read back (a checksum
// mismatch, bad JSON, an unknown member, a header other than version 1, a
// reference to an agreement that is not there) is a *StateFileError naming
// the file, the record's line and byte offset; the file is left untouched,
// never reset.
//
// If a record cannot be written (a full disk, say), the server answers
// every later API call with HTTP 500 and StateErr reports the failure;
// Close still tries to write the whole state from memory.
//
// A Server is safe for concurrent use; Close leaves no goroutine behind.
package bkashtest
