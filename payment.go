package bkash

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TransactionStatus is the state bKash reports for a payment or a refund
// (the transactionStatus field). Values the SDK does not know, such as a
// future "Expired", are kept verbatim.
type TransactionStatus string

// The transaction states of the Tokenized Checkout API.
const (
	// StatusInitiated: created, not executed (the customer may still be on
	// bKash's page, or has left it without paying).
	StatusInitiated TransactionStatus = "Initiated"
	// StatusCompleted: the money moved (a sale executed, an authorization
	// captured, a refund done).
	StatusCompleted TransactionStatus = "Completed"
	// StatusAuthorized: an authorization-intent payment was executed and the
	// funds are held until Capture or Void.
	StatusAuthorized TransactionStatus = "Authorized"
	// StatusCancelled: an authorization was voided.
	StatusCancelled TransactionStatus = "Cancelled"
	// StatusExpired: not executed within PaymentExpiry (24 hours) of its
	// creation; it can no longer be executed and no money moved. bKash's
	// documents do not name this value; it is what the fake bKash reports,
	// and a payment still reported Initiated past the expiry means the same.
	StatusExpired TransactionStatus = "Expired"
)

// Intent is what executing a payment does: take the money (IntentSale) or
// hold it for a later Capture or Void (IntentAuthorization).
type Intent string

// The two intents bKash accepts. They are lower case on the wire.
const (
	IntentSale          Intent = "sale"
	IntentAuthorization Intent = "authorization"
)

// The payment modes of the create call (docs/wire.md, "Endpoints").
const (
	modeCreateAgreement  = "0000" // AgreementService.Create
	modeWithAgreement    = "0001"
	modeWithoutAgreement = "0011"
)

// CreatePaymentParams are the inputs of PaymentService.Create. The currency
// is always BDT, the only one bKash accepts.
type CreatePaymentParams struct {
	// Amount to charge; positive. Sent as "1250.50".
	Amount Amount
	// InvoiceNumber is the merchant's invoice (merchantInvoiceNumber):
	// required, at most 255 characters, none of '<', '>', '&'. bKash asks
	// for one that is unique per payment attempt.
	InvoiceNumber string
	// PayerReference is shown to and pre-fills bKash's page, typically the
	// customer's wallet number: required, at most 255 characters, none of
	// '<', '>', '&'. bKash rejects a missing one but accepts a single space
	// (" ") when the merchant has nothing to put there.
	PayerReference string
	// CallbackURL is where bKash sends the customer's browser back, with
	// paymentID and status appended (see ParseCallback). Absolute http(s).
	CallbackURL string
	// AgreementID, when set, pays with a saved wallet (mode 0001: the
	// customer enters only the PIN). Empty: mode 0011, wallet number + OTP +
	// PIN, and no agreementID key is sent at all (bKash requires it to be
	// absent or empty in mode 0011).
	AgreementID string
	// Intent is IntentSale (the default when empty) or IntentAuthorization.
	Intent Intent
	// MerchantAssociationInfo is the optional aggregator/system-integrator
	// string (at most 255 characters).
	MerchantAssociationInfo string
}

// request validates p and returns the wire request. Nothing is sent when it
// fails.
func (p *CreatePaymentParams) request() (*createPaymentRequest, error) {
	const ty = "CreatePaymentParams."
	if p == nil {
		return nil, &ValidationError{Field: "CreatePaymentParams", Reason: "is nil"}
	}
	if err := firstError(
		checkAmount(ty+"Amount", p.Amount),
		checkText(ty+"InvoiceNumber", p.InvoiceNumber, true),
		checkText(ty+"PayerReference", p.PayerReference, true),
		checkCallbackURL(ty+"CallbackURL", p.CallbackURL),
		checkText(ty+"MerchantAssociationInfo", p.MerchantAssociationInfo, false),
	); err != nil {
		return nil, err
	}
	mode := modeWithoutAgreement
	if p.AgreementID != "" {
		if err := checkID(ty+"AgreementID", p.AgreementID); err != nil {
			return nil, err
		}
		mode = modeWithAgreement
	}
	intent := p.Intent
	switch intent {
	case "":
		intent = IntentSale
	case IntentSale, IntentAuthorization:
	default:
		return nil, &ValidationError{Field: ty + "Intent", Reason: fmt.Sprintf("must be %q or %q, got %q", IntentSale, IntentAuthorization, string(intent))}
	}
	return &createPaymentRequest{
		Mode:                    mode,
		PayerReference:          p.PayerReference,
		CallbackURL:             p.CallbackURL,
		AgreementID:             p.AgreementID,
		Amount:                  p.Amount,
		Currency:                "BDT",
		Intent:                  intent,
		MerchantInvoiceNumber:   p.InvoiceNumber,
		MerchantAssociationInfo: p.MerchantAssociationInfo,
	}, nil
}

// createPaymentRequest is the body of a payment create call (docs/wire.md,
// "Endpoints"), its members in the order bKash documents them. agreementID
// is set only in mode 0001: bKash wants no such key in mode 0011.
type createPaymentRequest struct {
	Mode                    string `json:"mode"`
	PayerReference          string `json:"payerReference"`
	CallbackURL             string `json:"callbackURL"`
	AgreementID             string `json:"agreementID,omitempty"`
	Amount                  Amount `json:"amount"`
	Currency                string `json:"currency"`
	Intent                  Intent `json:"intent"`
	MerchantInvoiceNumber   string `json:"merchantInvoiceNumber"`
	MerchantAssociationInfo string `json:"merchantAssociationInfo,omitempty"`
}

// logRef names the invoice with any wallet number in it masked: it reaches
// log lines, observer events and spans.
func (r *createPaymentRequest) logRef() (key, value string) {
	return "merchantInvoiceNumber", maskWallets(r.MerchantInvoiceNumber)
}

// paymentIDRequest is the body of execute, query, capture and void, and of
// agreement execute: {"paymentID":"..."}.
type paymentIDRequest struct {
	PaymentID string `json:"paymentID"`
}

func (r paymentIDRequest) logRef() (key, value string) { return "paymentID", r.PaymentID }

// trxIDRequest is the body of search: {"trxID":"..."}.
type trxIDRequest struct {
	TrxID string `json:"trxID"`
}

func (r trxIDRequest) logRef() (key, value string) { return "trxID", r.TrxID }

// Payment is bKash's view of one payment, as returned by Create, Execute,
// Finalize, Query, Capture and Void. Each call fills the fields its answer
// carries; the others stay zero.
type Payment struct {
	PaymentID   string
	TrxID       string // set once executed; needed for Search and refunds
	AgreementID string // mode 0001 (and agreement-creation payments)
	// BkashURL is bKash's payment page (Create): redirect the customer's
	// browser there unchanged; it is an opaque URL and must not be
	// re-encoded.
	BkashURL string
	// The callback URLs as bKash will call them (Create): CallbackURL as
	// sent, and the three variants with paymentID, status and signature
	// appended.
	CallbackURL          string
	SuccessCallbackURL   string
	FailureCallbackURL   string
	CancelledCallbackURL string
	Mode                 string // "0011", "0001" (or "0000" for an agreement creation)
	Amount               Amount
	Currency             string // "BDT"
	Intent               Intent
	// Status is the transactionStatus: StatusInitiated before execution,
	// StatusCompleted or StatusAuthorized after, StatusCancelled after a
	// void. Unknown values are kept verbatim.
	Status TransactionStatus
	// InvoiceNumber is the merchant invoice, from merchantInvoiceNumber or,
	// in query answers, merchantInvoice.
	InvoiceNumber  string
	PayerReference string
	CustomerMSISDN string // the paying wallet (customerMsisdn), e.g. "01770618575"
	// VerificationStatus (query): "Incomplete" until the customer finished
	// wallet number, OTP and PIN, then "Complete". Read from
	// verificationStatus or userVerificationStatus.
	VerificationStatus string
	// CreatedAt is paymentCreateTime, or createTime in capture/void answers.
	CreatedAt Time
	// ExecutedAt is paymentExecuteTime.
	ExecutedAt Time
	// UpdatedAt is updateTime of a capture or void answer: when the capture
	// or void took effect.
	UpdatedAt Time
	// Agreement fields, in query answers of mode 0001 (and 0000) payments.
	AgreementStatus       string
	AgreementCreatedAt    Time
	AgreementExecutedAt   Time
	PayerAccount          string // query answers of agreement creations
	PayerType             string
	MaxRefundableAmount   Amount // query, when bKash sends it; zero otherwise
	OrganizationShortCode string // orgShortCode, when bKash sends it
	// StatusMessage is bKash's statusMessage, "Successful" on success.
	StatusMessage string
}

// paymentResponse is the wire shape of every payment answer (docs/wire.md,
// "Endpoints"):
// the union of the fields bKash sends on create, execute, query, capture
// and void, with each spelling variant seen in the wild.
type paymentResponse struct {
	envelope
	PaymentID              string            `json:"paymentID"`
	PaymentIDLower         string            `json:"paymentId"` // capture/void replies of some deployments
	TrxID                  string            `json:"trxID"`
	AgreementID            string            `json:"agreementID"`
	BkashURL               string            `json:"bkashURL"`
	CallbackURL            string            `json:"callbackURL"`
	SuccessCallbackURL     string            `json:"successCallbackURL"`
	FailureCallbackURL     string            `json:"failureCallbackURL"`
	CancelledCallbackURL   string            `json:"cancelledCallbackURL"`
	Mode                   string            `json:"mode"`
	Amount                 Amount            `json:"amount"`
	Currency               string            `json:"currency"`
	Intent                 Intent            `json:"intent"`
	TransactionStatus      TransactionStatus `json:"transactionStatus"`
	MerchantInvoiceNumber  string            `json:"merchantInvoiceNumber"`
	MerchantInvoice        string            `json:"merchantInvoice"` // query answers
	PayerReference         string            `json:"payerReference"`
	CustomerMsisdn         string            `json:"customerMsisdn"`
	VerificationStatus     string            `json:"verificationStatus"`
	UserVerificationStatus string            `json:"userVerificationStatus"`
	PaymentCreateTime      looseTime         `json:"paymentCreateTime"`
	PaymentExecuteTime     looseTime         `json:"paymentExecuteTime"`
	CreateTime             looseTime         `json:"createTime"`
	UpdateTime             looseTime         `json:"updateTime"`
	AgreementStatus        string            `json:"agreementStatus"`
	AgreementCreateTime    looseTime         `json:"agreementCreateTime"`
	AgreementExecuteTime   looseTime         `json:"agreementExecuteTime"`
	PayerAccount           string            `json:"payerAccount"`
	PayerType              string            `json:"payerType"`
	MaxRefundableAmount    Amount            `json:"maxRefundableAmount"`
	OrgShortCode           string            `json:"orgShortCode"`
}

func (r *paymentResponse) payment() *Payment {
	created := r.PaymentCreateTime
	if created.Raw == "" {
		created = r.CreateTime
	}
	return &Payment{
		PaymentID:             firstNonEmpty(r.PaymentID, r.PaymentIDLower),
		TrxID:                 r.TrxID,
		AgreementID:           r.AgreementID,
		BkashURL:              r.BkashURL,
		CallbackURL:           r.CallbackURL,
		SuccessCallbackURL:    r.SuccessCallbackURL,
		FailureCallbackURL:    r.FailureCallbackURL,
		CancelledCallbackURL:  r.CancelledCallbackURL,
		Mode:                  r.Mode,
		Amount:                r.Amount,
		Currency:              r.Currency,
		Intent:                r.Intent,
		Status:                r.TransactionStatus,
		InvoiceNumber:         firstNonEmpty(r.MerchantInvoiceNumber, r.MerchantInvoice),
		PayerReference:        r.PayerReference,
		CustomerMSISDN:        r.CustomerMsisdn,
		VerificationStatus:    firstNonEmpty(r.VerificationStatus, r.UserVerificationStatus),
		CreatedAt:             Time(created),
		ExecutedAt:            Time(r.PaymentExecuteTime),
		UpdatedAt:             Time(r.UpdateTime),
		AgreementStatus:       r.AgreementStatus,
		AgreementCreatedAt:    Time(r.AgreementCreateTime),
		AgreementExecutedAt:   Time(r.AgreementExecuteTime),
		PayerAccount:          r.PayerAccount,
		PayerType:             r.PayerType,
		MaxRefundableAmount:   r.MaxRefundableAmount,
		OrganizationShortCode: r.OrgShortCode,
		StatusMessage:         r.StatusMessage,
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// looseTime decodes a bKash timestamp without ever failing the answer it is
// part of: a format the SDK does not recognise keeps its text in Raw with a
// zero time. A success answer of a call that moved money must not turn into
// an "unreadable answer" because of a cosmetic field.
type looseTime Time

func (t *looseTime) UnmarshalJSON(b []byte) error {
	var v Time
	if err := v.UnmarshalJSON(b); err == nil {
		*t = looseTime(v)
		return nil
	}
	s, err := jsonString(b)
	if err != nil {
		s = string(b) // a number or another JSON value: keep its text
	}
	*t = looseTime{Raw: s}
	return nil
}

// Transaction is the answer of PaymentService.Search: one transaction of
// the merchant (a payment, or a refund's own trxID). Amount fields bKash did
// not send are zero; the newer fields (ServiceFee, PayerType, CreditedAmount,
// MaxRefundableAmount, ...) are absent from older answers and from refund
// transactions, so a zero there means "not reported" as much as "none".
type Transaction struct {
	TrxID    string
	Amount   Amount
	Currency string // "BDT"
	// Status is the transactionStatus, e.g. StatusCompleted.
	Status TransactionStatus
	// TransactionType is bKash's free text, e.g.
	// "bKash Tokenized Checkout via API".
	TransactionType       string
	CustomerMSISDN        string // customerMsisdn
	InitiatedAt           Time   // initiationTime
	CompletedAt           Time   // completedTime
	OrganizationShortCode string // the merchant's short code
	TransactionReference  string // older answers
	PayerAccount          string
	PayerType             string // e.g. "Customer"
	ServiceFee            Amount
	CreditedAmount        Amount // what reached the merchant's account
	MaxRefundableAmount   Amount // what can still be refunded, when reported
	OriginalTrxAmount     Amount // only when TrxID is a refund
	SaleAmount            Amount // coupon payments
	CouponAmount          Amount
	MerchantShareAmount   Amount
	// StatusMessage is bKash's statusMessage, "Successful" on success.
	StatusMessage string
}

// transactionResponse is the wire shape of a search answer (docs/wire.md,
// "Endpoints").
type transactionResponse struct {
	envelope
	TrxID                 string            `json:"trxID"`
	Amount                Amount            `json:"amount"`
	Currency              string            `json:"currency"`
	TransactionStatus     TransactionStatus `json:"transactionStatus"`
	TransactionType       string            `json:"transactionType"`
	CustomerMsisdn        string            `json:"customerMsisdn"`
	InitiationTime        looseTime         `json:"initiationTime"`
	CompletedTime         looseTime         `json:"completedTime"`
	OrganizationShortCode string            `json:"organizationShortCode"`
	TransactionReference  string            `json:"transactionReference"`
	PayerAccount          string            `json:"payerAccount"`
	PayerType             string            `json:"payerType"`
	ServiceFee            Amount            `json:"serviceFee"`
	CreditedAmount        Amount            `json:"creditedAmount"`
	MaxRefundableAmount   Amount            `json:"maxRefundableAmount"`
	OriginalTrxAmount     Amount            `json:"originalTrxAmount"`
	SaleAmount            Amount            `json:"saleAmount"`
	CouponAmount          Amount            `json:"couponAmount"`
	MerchantShareAmount   Amount            `json:"merchantShareAmount"`
}

func (r *transactionResponse) transaction() *Transaction {
	return &Transaction{
		TrxID:                 r.TrxID,
		Amount:                r.Amount,
		Currency:              r.Currency,
		Status:                r.TransactionStatus,
		TransactionType:       r.TransactionType,
		CustomerMSISDN:        r.CustomerMsisdn,
		InitiatedAt:           Time(r.InitiationTime),
		CompletedAt:           Time(r.CompletedTime),
		OrganizationShortCode: r.OrganizationShortCode,
		TransactionReference:  r.TransactionReference,
		PayerAccount:          r.PayerAccount,
		PayerType:             r.PayerType,
		ServiceFee:            r.ServiceFee,
		CreditedAmount:        r.CreditedAmount,
		MaxRefundableAmount:   r.MaxRefundableAmount,
		OriginalTrxAmount:     r.OriginalTrxAmount,
		SaleAmount:            r.SaleAmount,
		CouponAmount:          r.CouponAmount,
		MerchantShareAmount:   r.MerchantShareAmount,
		StatusMessage:         r.StatusMessage,
	}
}

// Create creates a payment (POST .../tokenized/checkout/create, mode 0011,
// or 0001 when params.AgreementID is set) and returns it with Status
// StatusInitiated and the BkashURL to redirect the customer to. No money
// moves until Execute.
//
// Retry class create: retried when the request never left the process, or
// on 429/503 with Retry-After. An *OutcomeUnknownError means bKash may or
// may not have created the payment; no money moved, so create a new one
// (with a new InvoiceNumber). Invalid params return a *ValidationError and
// nothing is sent.
//
// Fields bKash does not echo (Mode always; Amount, Intent, Currency,
// InvoiceNumber, PayerReference, CallbackURL and AgreementID when absent
// from the answer) are filled from params, and an empty transactionStatus
// reads as StatusInitiated, which a newly created payment always is. An
// answer without a paymentID is not a success but an *OutcomeUnknownError.
func (s *PaymentService) Create(ctx context.Context, params *CreatePaymentParams) (*Payment, error) {
	req, err := params.request()
	if err != nil {
		return nil, err
	}
	var r paymentResponse
	if err := s.c.do(ctx, epPaymentCreate, req, &r); err != nil {
		return nil, err
	}
	if r.PaymentID == "" && r.PaymentIDLower == "" {
		return nil, incompleteAnswer(epPaymentCreate, "paymentID")
	}
	p := r.payment()
	if p.Mode == "" {
		p.Mode = req.Mode
	}
	if p.Amount == 0 {
		p.Amount = req.Amount
	}
	if p.Intent == "" {
		p.Intent = req.Intent
	}
	if p.Currency == "" {
		p.Currency = req.Currency
	}
	if p.InvoiceNumber == "" {
		p.InvoiceNumber = req.MerchantInvoiceNumber
	}
	if p.PayerReference == "" {
		p.PayerReference = req.PayerReference
	}
	if p.CallbackURL == "" {
		p.CallbackURL = req.CallbackURL
	}
	if p.AgreementID == "" {
		p.AgreementID = req.AgreementID
	}
	if p.Status == "" {
		p.Status = StatusInitiated
	}
	return p, nil
}

// Execute executes a payment the customer approved on bKash's page (POST
// .../tokenized/checkout/execute). This is the call that moves the money
// (intent sale: Status StatusCompleted) or places the hold (intent
// authorization: StatusAuthorized). Call it only after a success callback.
//
// Retry class money: it is sent at most once. An *OutcomeUnknownError means
// the payment may or may not have been executed: never call Execute again
// for it; call Query (or use Finalize, which does both). bKash's transient
// codes (9999, 2003, 2020, 2024, 503) and codes outside its table do not say
// whether the money moved: they too are an *OutcomeUnknownError, wrapping
// the *APIError. Any other bKash error is an *APIError: 2056 (the customer
// did not approve), 2023 (insufficient balance), 2062/2117 (already
// executed: Query for the result). The gateway's own refusal (an *APIError
// without a code; Temporary at 429) means nothing reached bKash.
//
// A success answer is returned as it is, even when its Status is not
// Completed or Authorized: check Status before delivering goods. An answer
// without any transactionStatus (an empty or foreign JSON object) says
// nothing about the money and is an *OutcomeUnknownError, as are such
// answers to Capture and Void.
func (s *PaymentService) Execute(ctx context.Context, paymentID string) (*Payment, error) {
	return s.paymentCall(ctx, epPaymentExecute, paymentID)
}

// Query reads the current state of a payment (POST
// .../tokenized/checkout/payment/status): Status StatusInitiated before
// execution, StatusCompleted or StatusAuthorized after, StatusCancelled
// after a void. bKash requires it in its sandbox validation; it is the way
// to reconcile any unknown outcome of Execute, Capture or Void.
//
// Retry class read: retried after transport failures and on 429/502/503/504
// (honouring Retry-After). A bKash error is an *APIError.
func (s *PaymentService) Query(ctx context.Context, paymentID string) (*Payment, error) {
	return s.paymentCall(ctx, epPaymentQuery, paymentID)
}

// Capture takes the money held by an executed authorization-intent payment
// (POST .../tokenized/checkout/payment/confirm/capture); on success Status is
// StatusCompleted.
//
// Retry class money: sent at most once. An *OutcomeUnknownError (also for
// bKash's transient codes and codes outside its table, wrapped) means the
// capture may or may not have happened: Query before doing anything else. A
// repeated capture or void answers 2119
// (CodeAuthorizationProcessed), returned as an *APIError.
func (s *PaymentService) Capture(ctx context.Context, paymentID string) (*Payment, error) {
	return s.paymentCall(ctx, epPaymentCapture, paymentID)
}

// Void releases the money held by an executed authorization-intent payment
// (POST .../tokenized/checkout/payment/confirm/void); on success Status is
// StatusCancelled.
//
// Retry class money: sent at most once. An *OutcomeUnknownError (also for
// bKash's transient codes and codes outside its table, wrapped) means the
// void may or may not have happened: Query before doing anything else. A
// repeated capture or void answers 2119 (CodeAuthorizationProcessed),
// returned as an *APIError.
func (s *PaymentService) Void(ctx context.Context, paymentID string) (*Payment, error) {
	return s.paymentCall(ctx, epPaymentVoid, paymentID)
}

func (s *PaymentService) paymentCall(ctx context.Context, ep *endpoint, paymentID string) (*Payment, error) {
	if err := checkID("paymentID", paymentID); err != nil {
		return nil, err
	}
	var r paymentResponse
	if err := s.c.do(ctx, ep, paymentIDRequest{paymentID}, &r); err != nil {
		return nil, err
	}
	if ep.class == classMoney && r.TransactionStatus == "" {
		// Execute, capture and void always report the payment's new state;
		// an answer without it (an empty or foreign JSON object) does not
		// say whether the money moved.
		return nil, incompleteAnswer(ep, "transactionStatus")
	}
	return r.payment(), nil
}

// Search reads a transaction by its trxID (POST
// .../tokenized/checkout/general/searchTransaction). It works for payment
// and refund trxIDs of the merchant. An unknown trxID is an *APIError,
// typically 2033 (CodeTransactionNotFound).
//
// Retry class read: retried after transport failures and on 429/502/503/504.
func (s *PaymentService) Search(ctx context.Context, trxID string) (*Transaction, error) {
	if err := checkID("trxID", trxID); err != nil {
		return nil, err
	}
	var r transactionResponse
	if err := s.c.do(ctx, epPaymentSearch, trxIDRequest{trxID}, &r); err != nil {
		return nil, err
	}
	return r.transaction(), nil
}

// finalizeQueryWaits are the pauses before the second and third reconciling
// query of Finalize: short, because the customer is usually waiting on the
// callback page, and bounded, because an unknown outcome that does not
// settle within a second or two is better reported than waited for.
var finalizeQueryWaits = [...]time.Duration{300 * time.Millisecond, 700 * time.Millisecond}

// Finalize executes a payment once and, when the answer leaves any doubt,
// asks bKash for the truth. It is what a callback handler should call after
// a success callback.
//
// Execute is sent exactly once (retry class money). Then:
//
//   - Execute succeeds: its Payment is returned (whatever its Status, as
//     with Execute).
//   - Execute fails with an *OutcomeUnknownError (which is also how Execute
//     reports bKash's transient codes 9999, 2003, 2020, 2024 and 503, and
//     codes outside bKash's table: wrapped, so errors.As still finds the
//     *APIError) or an already-done code (2062 CodePaymentAlreadyCompleted,
//     2117 CodeExecutionAlreadyCompleted, or another code of
//     ClassAlreadyDone): the payment is queried (retry class read) up to
//     three times within about a second, until bKash reports it Completed
//     or Authorized.
//   - The query shows StatusCompleted or StatusAuthorized: that queried
//     Payment is returned with a nil error. This covers a repeated callback
//     (2117) and an execute whose answer was lost.
//   - The query shows any other status (still StatusInitiated: the execute
//     did not take effect, or has not yet; StatusCancelled; an unknown
//     value): the original Execute error is returned, unchanged. After an
//     *OutcomeUnknownError that means the outcome is still unknown: query
//     again later, and never execute again.
//   - The query itself fails (or ctx ends while waiting for it): the outcome
//     is unknown, so the error matches ErrOutcomeUnknown. It is the original
//     *OutcomeUnknownError, or, when Execute had answered with an
//     already-done code, an *OutcomeUnknownError wrapping that *APIError;
//     either way the query's failure is added to its text. Test
//     errors.Is(err, ErrOutcomeUnknown) before inspecting an *APIError.
//   - Execute fails with any other error (2056 the customer did not approve,
//     2023 insufficient balance, a *ValidationError, ...): it is returned
//     as it is, and nothing is queried. That includes the gateway's own
//     refusal, an *APIError without a bKash code: nothing reached bKash.
//     When it is Temporary (429: "not sent, retry later"), call Finalize
//     again later; the payment was not executed.
func (s *PaymentService) Finalize(ctx context.Context, paymentID string) (*Payment, error) {
	p, err := s.Execute(ctx, paymentID)
	if err == nil || !needsReconcile(err) {
		return p, err
	}
	var (
		q    *Payment
		qerr error
	)
	for i := 0; ; i++ {
		q, qerr = s.Query(ctx, paymentID)
		if qerr == nil && (q.Status == StatusCompleted || q.Status == StatusAuthorized) {
			return q, nil
		}
		if (qerr != nil && !queryRetryable(qerr)) || i == len(finalizeQueryWaits) {
			break
		}
		if q != nil && q.Status != StatusInitiated {
			break // a settled state other than success: asking again changes nothing
		}
		t := time.NewTimer(finalizeQueryWaits[i])
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, unsettled(err, ctx.Err())
		case <-t.C:
		}
	}
	if qerr != nil {
		return nil, unsettled(err, qerr)
	}
	return nil, err
}

// unsettled is Finalize's error when the reconciling query could not say
// what happened: the outcome is unknown, whatever Execute had answered.
func unsettled(execErr, queryErr error) error {
	rerr := &reconcileError{err: execErr, query: queryErr}
	var ae *APIError
	if !errors.Is(execErr, ErrOutcomeUnknown) && errors.As(execErr, &ae) {
		return &OutcomeUnknownError{Op: ae.Op, Attempts: ae.Attempts, Err: rerr}
	}
	return rerr
}

// needsReconcile reports whether an Execute error leaves the payment's state
// to be read from bKash.
func needsReconcile(err error) bool {
	if errors.Is(err, ErrOutcomeUnknown) {
		return true
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Code.Class() {
	case ClassAlreadyDone, ClassTransient:
		return true
	}
	return false
}

// queryRetryable reports whether a failed reconciling query is worth
// repeating: not when bKash gave a definite, lasting answer (unknown payment
// ID, bad credentials) or the context ended.
func queryRetryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Temporary()
	}
	return true
}

// reconcileError is Finalize's error when the reconciling query failed: it
// is the original Execute error, with the query's failure added to the text.
type reconcileError struct {
	err   error // the Execute error
	query error // the last query error
}

func (e *reconcileError) Error() string {
	return e.err.Error() + " (reconciling query failed: " + e.query.Error() + ")"
}

func (e *reconcileError) Unwrap() error { return e.err }
