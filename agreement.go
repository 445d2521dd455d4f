package bkash

import (
	"context"
	"errors"
)

// AgreementStatus is the state of an agreement as bKash reports it. Values
// other than the constants below are passed through verbatim.
type AgreementStatus string

// The agreement states of bKash's agreementStatus field.
const (
	// AgreementInitiated: created, the customer has not finished on bKash's page.
	AgreementInitiated AgreementStatus = "Initiated"
	// AgreementCompleted: executed; the AgreementID can pay (mode 0001).
	AgreementCompleted AgreementStatus = "Completed"
	// AgreementCancelled: cancelled by the merchant or the customer; it can no longer pay.
	AgreementCancelled AgreementStatus = "Cancelled"
)

// CreateAgreementParams are the inputs of AgreementService.Create.
type CreateAgreementParams struct {
	// PayerReference is the merchant's reference for the customer (at most
	// 255 characters, no '<', '>' or '&'). When it is a wallet number, bKash
	// pre-fills it on its page.
	PayerReference string
	// CallbackURL is the absolute http(s) URL bKash redirects the customer
	// to, with paymentID and status appended to its query string.
	CallbackURL string
}

func (p *CreateAgreementParams) validate() error {
	if p == nil {
		return &ValidationError{Field: "CreateAgreementParams", Reason: "is nil"}
	}
	return firstError(
		checkText("CreateAgreementParams.PayerReference", p.PayerReference, true),
		checkCallbackURL("CreateAgreementParams.CallbackURL", p.CallbackURL),
	)
}

// Agreement is a binding between a customer's wallet and the merchant
// (a "saved wallet"). Create, Execute, Query and Cancel all return one,
// filled with what that answer carries; fields bKash did not send are zero.
type Agreement struct {
	// AgreementID identifies the agreement once executed: store it and pass
	// it as CreatePaymentParams.AgreementID to pay with the saved wallet.
	AgreementID string
	// PaymentID is the id of the agreement-creation request (mode 0000); it
	// is what Execute takes and what the callback carries.
	PaymentID string
	// BkashURL is bKash's page to redirect the customer to after Create.
	BkashURL       string
	PayerReference string
	// CustomerMSISDN is the bound wallet number, as bKash sends it (01XXXXXXXXX).
	CustomerMSISDN string
	Status         AgreementStatus
	CreatedAt      Time // agreementCreateTime
	ExecutedAt     Time // agreementExecuteTime
	CancelledAt    Time // agreementVoidTime

	// The callback URLs bKash derived from CreateAgreementParams.CallbackURL
	// (answer of Create only).
	CallbackURL          string
	SuccessCallbackURL   string
	FailureCallbackURL   string
	CancelledCallbackURL string

	// StatusMessage is bKash's statusMessage, e.g. "Successful".
	StatusMessage string
}

// Create starts binding a customer's wallet: it creates an agreement request
// (mode 0000) and returns its PaymentID and the BkashURL to redirect the
// customer to. After the customer returns to the callback with
// status=success, call Execute with the PaymentID.
//
// It calls POST .../tokenized/checkout/create (operation agreement.create),
// retry class create: retried only when bKash provably did not process the
// request. An *OutcomeUnknownError means an agreement request may or may not
// exist; none was bound and no money moved, so create a new one.
// Errors of note: CodeAgreementAlreadyExists (2050), CodeInvalidPayerReference
// (2048), CodeInvalidCallbackURL (2049).
func (s *AgreementService) Create(ctx context.Context, p *CreateAgreementParams) (*Agreement, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var w agreementWire
	req := agreementCreateRequest{Mode: modeCreateAgreement, PayerReference: p.PayerReference, CallbackURL: p.CallbackURL}
	if err := s.c.do(ctx, epAgreementCreate, req, &w); err != nil {
		return nil, err
	}
	if w.PaymentID == "" {
		return nil, incompleteAnswer(epAgreementCreate, "paymentID")
	}
	return w.agreement(), nil
}

// Execute completes the agreement after the customer approved it on bKash's
// page; paymentID is the one Create returned. The answer carries the
// AgreementID to store and the bound CustomerMSISDN.
//
// It calls POST .../tokenized/checkout/execute (operation agreement.execute),
// retry class money: it is sent at most once. An *OutcomeUnknownError (also
// for bKash's transient codes 9999, 2003, 2020, 2024, 503 and codes outside
// its table, which it wraps) means the agreement may or may not have been
// executed: read the truth with
// PaymentService.Query on the same paymentID (it reports the agreementID and
// agreementStatus of an agreement request). Executing twice answers
// CodeAgreementAlreadyExecuted (2116); executing before the customer
// finished answers CodeAgreementNotReady (2054).
func (s *AgreementService) Execute(ctx context.Context, paymentID string) (*Agreement, error) {
	if err := checkID("paymentID", paymentID); err != nil {
		return nil, err
	}
	var w agreementWire
	if err := s.c.do(ctx, epAgreementExecute, paymentIDRequest{paymentID}, &w); err != nil {
		return nil, err
	}
	if w.AgreementID == "" {
		// The one thing the caller needs is missing: treat the answer as
		// unreadable, so that the caller reconciles instead of guessing.
		return nil, incompleteAnswer(epAgreementExecute, "agreementID")
	}
	return w.agreement(), nil
}

// Query reads an agreement's current state.
//
// It calls POST .../tokenized/checkout/agreement/status (operation
// agreement.query), retry class read: retried after transport failures and
// on 429/502/503/504. It changes nothing, so any error can be retried.
// An unknown agreementID answers CodeInvalidAgreementID (2051).
func (s *AgreementService) Query(ctx context.Context, agreementID string) (*Agreement, error) {
	if err := checkID("agreementID", agreementID); err != nil {
		return nil, err
	}
	var w agreementWire
	if err := s.c.do(ctx, epAgreementQuery, agreementIDRequest{agreementID}, &w); err != nil {
		return nil, err
	}
	return w.agreement(), nil
}

// Cancel cancels an agreement so that its AgreementID can no longer pay.
// Cancelling is idempotent: when bKash answers CodeAgreementAlreadyCancelled
// (2053), Cancel queries the agreement and returns its state with a nil
// error, so a retried or repeated Cancel succeeds.
//
// It calls POST .../tokenized/checkout/agreement/cancel (operation
// agreement.cancel) and, after a 2053, agreement/status. Retry class cancel:
// retried like a read, because cancelling twice does no harm. An
// *OutcomeUnknownError (all attempts failed without an answer) means the
// agreement may or may not be cancelled: call Cancel again or Query it.
func (s *AgreementService) Cancel(ctx context.Context, agreementID string) (*Agreement, error) {
	if err := checkID("agreementID", agreementID); err != nil {
		return nil, err
	}
	var w agreementWire
	err := s.c.do(ctx, epAgreementCancel, agreementIDRequest{agreementID}, &w)
	if errors.Is(err, CodeAgreementAlreadyCancelled) {
		return s.Query(ctx, agreementID)
	}
	if err != nil {
		return nil, err
	}
	return w.agreement(), nil
}

// agreementCreateRequest is the body of create in mode 0000: exactly mode,
// payerReference and callbackURL (docs/wire.md, "Endpoints"; the amount,
// currency and intent some documentation lists are ignored by bKash).
type agreementCreateRequest struct {
	Mode           string `json:"mode"` // modeCreateAgreement
	PayerReference string `json:"payerReference"`
	CallbackURL    string `json:"callbackURL"`
}

// No logRef: payerReference is often a wallet number, and the request names
// no bKash object yet.

// agreementIDRequest is {"agreementID":...}, the body of status and cancel.
// (Agreement execute sends a paymentIDRequest.)
type agreementIDRequest struct {
	AgreementID string `json:"agreementID"`
}

func (r agreementIDRequest) logRef() (string, string) { return "agreementID", r.AgreementID }

// agreementWire is every agreement answer (create, execute, status,
// cancel). encoding/json matches member names case-insensitively, so the
// bKashURL spelling some documents use is read too.
type agreementWire struct {
	envelope
	PaymentID            string    `json:"paymentID"`
	AgreementID          string    `json:"agreementID"`
	BkashURL             string    `json:"bkashURL"`
	CallbackURL          string    `json:"callbackURL"`
	SuccessCallbackURL   string    `json:"successCallbackURL"`
	FailureCallbackURL   string    `json:"failureCallbackURL"`
	CancelledCallbackURL string    `json:"cancelledCallbackURL"`
	PayerReference       string    `json:"payerReference"`
	CustomerMSISDN       string    `json:"customerMsisdn"`
	AgreementStatus      string    `json:"agreementStatus"`
	AgreementCreateTime  looseTime `json:"agreementCreateTime"`
	AgreementExecuteTime looseTime `json:"agreementExecuteTime"`
	AgreementVoidTime    looseTime `json:"agreementVoidTime"`
}

func (w *agreementWire) agreement() *Agreement {
	return &Agreement{
		AgreementID:          w.AgreementID,
		PaymentID:            w.PaymentID,
		BkashURL:             w.BkashURL,
		PayerReference:       w.PayerReference,
		CustomerMSISDN:       w.CustomerMSISDN,
		Status:               AgreementStatus(w.AgreementStatus),
		CreatedAt:            Time(w.AgreementCreateTime),
		ExecutedAt:           Time(w.AgreementExecuteTime),
		CancelledAt:          Time(w.AgreementVoidTime),
		CallbackURL:          w.CallbackURL,
		SuccessCallbackURL:   w.SuccessCallbackURL,
		FailureCallbackURL:   w.FailureCallbackURL,
		CancelledCallbackURL: w.CancelledCallbackURL,
		StatusMessage:        w.StatusMessage,
	}
}
