package bkash

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrOutcomeUnknown matches (with errors.Is) every *OutcomeUnknownError.
var ErrOutcomeUnknown = errors.New("bkash: outcome unknown")

// ErrTokenBudgetExceeded is returned when the client would have to send a
// third grant or refresh request within an hour (retries count; with a
// TokenBudgetStore, so do the other processes' requests). bKash blocks
// applications that do so for an hour; refusing locally keeps the app usable.
// When a renewal's retry is the request refused, the error also wraps the
// failure that called for the retry (errors.As finds its *APIError), and
// after a refusal of the credentials it matches ErrCredentialsRejected.
var ErrTokenBudgetExceeded = errors.New("bkash: token renewal budget exceeded (bKash allows 2 grant/refresh calls per hour)")

// ErrCredentialsRejected matches (with errors.Is) the error of a token
// grant or refresh that bKash refused because of the merchant credentials:
// code 2001 (Invalid App Key), a gateway 401/403 on token/grant, or a bKash
// code whose message names a credential, such as
// {"statusCode":"9999","statusMessage":"Username does not exist"} (9999 is
// otherwise bKash's transient "System Error"). The error is an *APIError
// whose Class is ClassAuth. Such a refusal is never retried, and a refused
// refresh does not fall back to a grant: asking again with the same
// credentials only spends the renewal budget. Check the username, password,
// app key and app secret, and the environment (sandbox credentials do not
// work in production).
var ErrCredentialsRejected = errors.New("bkash: merchant credentials rejected at token grant/refresh")

// ErrLockNotAcquired is returned by a TokenLocker when another process holds
// the renewal lock.
var ErrLockNotAcquired = errors.New("bkash: token lock held elsewhere")

// ErrWrongRoute matches (with errors.Is) the *ConfigError of a call that
// bKash's API gateway answered with 403 {"message":"Missing Authentication
// Token"}: its answer for a path it has no route for. The URL is wrong,
// usually a WithBaseURL root that is not the host's root; the token was not
// at fault, so it is not renewed and nothing is replayed.
var ErrWrongRoute = errors.New("bkash: no such route at bKash's gateway (403 Missing Authentication Token)")

// ErrFreshTokenRejected matches (with errors.Is) the *ConfigError of a call
// whose token was rejected although it had been granted moments before and
// never accepted: a renewal would be rejected the same way and only spend
// the renewal budget. Typical causes are a wrong app key (X-App-Key), a
// firewall (WAF) in front of bKash, or credentials of the other environment.
var ErrFreshTokenRejected = errors.New("bkash: a token granted moments ago was rejected; not renewing again")

// ConfigError reports an answer that no retry, renewal or replay can
// change: the client is configured wrongly. Nothing reached bKash.
// errors.Is(err, ErrWrongRoute) or errors.Is(err, ErrFreshTokenRejected)
// tells which; errors.As finds the gateway's *APIError in Answer.
type ConfigError struct {
	Op     string    // the operation, e.g. "payment.execute"
	URL    string    // the URL the request was sent to (no credentials)
	Reason error     // ErrWrongRoute or ErrFreshTokenRejected
	Answer *APIError // the answer that showed it
}

// Error names the operation, the URL and what to change.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("bkash: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch e.Reason {
	case ErrWrongRoute:
		b.WriteString("configuration error: bKash's gateway has no route for POST ")
		b.WriteString(e.URL)
		b.WriteString(" (403 Missing Authentication Token); pass WithBaseURL the host's root only, such as https://tokenized.sandbox.bka.sh")
	case ErrFreshTokenRejected:
		b.WriteString("configuration error: the token granted moments ago was rejected at ")
		b.WriteString(e.URL)
		b.WriteString("; not renewing it again (check the app key, the environment, and any firewall in front of bKash)")
	default:
		b.WriteString("configuration error at ")
		b.WriteString(e.URL)
	}
	if e.Answer != nil {
		b.WriteString(": http ")
		b.WriteString(strconv.Itoa(e.Answer.HTTPStatus))
		if e.Answer.Message != "" {
			b.WriteByte(' ')
			b.WriteString(e.Answer.Message)
		}
	}
	return b.String()
}

// Unwrap returns Reason and Answer, for errors.Is and errors.As.
func (e *ConfigError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Reason != nil {
		errs = append(errs, e.Reason)
	}
	if e.Answer != nil {
		errs = append(errs, e.Answer)
	}
	return errs
}

// ValidationError reports input the SDK refused before sending anything.
type ValidationError struct {
	Field  string // the parameter, e.g. "CreatePaymentParams.Amount"
	Reason string // what is wrong with it
}

// Error returns "bkash: invalid <Field>: <Reason>".
func (e *ValidationError) Error() string {
	return "bkash: invalid " + e.Field + ": " + e.Reason
}

// OutcomeUnknownError means the request may have reached bKash but no
// definite answer came back: a timeout, a dropped connection, a cancelled
// context, a 5xx or an unreadable body. For a call that moves money, the
// money may or may not have moved; the SDK has not re-sent it. Reconcile
// with a read (PaymentService.Query, RefundService.Status).
type OutcomeUnknownError struct {
	Op       string // the operation, e.g. "payment.execute"
	Attempts int    // how many times the request was sent
	Err      error  // the network, context or decoding error
	// SentAt is when the SDK stopped waiting for the answer: the request
	// left no later than this, so it is a safe base for SettleAfter. It is
	// zero in an error the SDK did not build. Store it with the uncertain
	// call (see PendingRefund).
	SentAt time.Time
}

// SettleAfter is when the outcome of the call can no longer change at
// bKash: SentAt plus SettleDelay. Until then, a read that does not show the
// call's effect (a refund missing from RefundService.Status) does not mean
// it failed: bKash may still be processing it. It is the zero Time when
// SentAt is zero (nothing can then be decided from the time).
func (e *OutcomeUnknownError) SettleAfter() time.Time {
	if e.SentAt.IsZero() {
		return time.Time{}
	}
	return e.SentAt.Add(SettleDelay)
}

// Error names the operation, says how to reconcile it and gives the cause.
func (e *OutcomeUnknownError) Error() string {
	var b strings.Builder
	b.WriteString("bkash: ")
	b.WriteString(e.Op)
	b.WriteString(": outcome unknown")
	if hint := reconcileHint(e.Op); hint != "" {
		b.WriteString(" (")
		b.WriteString(hint)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func reconcileHint(op string) string {
	switch {
	case strings.HasPrefix(op, "refund"):
		return "not re-sent; it may still complete at bKash until SettleAfter: call Refunds.Settle before refunding again"
	case strings.HasPrefix(op, "agreement.execute"):
		return "not re-sent; call Agreements.Query or Payments.Query"
	case strings.HasPrefix(op, "payment.create"), strings.HasPrefix(op, "agreement.create"):
		return "no money moved; create a new one"
	case op == "payment.execute", op == "payment.capture", op == "payment.void":
		return "not re-sent; call Payments.Query"
	}
	return ""
}

// incompleteAnswer is the error of a call whose successful answer lacks the
// field that says what happened (a create's paymentID, an execute's
// transactionStatus, a refund's refundTrxID). Such an answer passes the
// envelope checks (an empty or foreign JSON object, null) but tells nothing,
// so the outcome is unknown and the caller reconciles. A call that was
// answered was sent once.
func incompleteAnswer(ep *endpoint, missing string) error {
	return &OutcomeUnknownError{Op: ep.op, Attempts: 1, Err: errors.New("successful answer without " + missing), SentAt: time.Now()}
}

// Unwrap returns the underlying error.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Is reports whether target is ErrOutcomeUnknown.
func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }

// APIError is a definite answer from bKash that is not a success: a business
// error on HTTP 200 (statusCode != "0000"), a capture/void errorCode, a v2
// refund error (HTTP 400), or a gateway rejection ({"message": ...}).
type APIError struct {
	Op         string    // the operation, e.g. "payment.execute"
	HTTPStatus int       // the HTTP status of the response
	Code       ErrorCode // bKash's code, e.g. "2023"; empty for a gateway message
	Message    string    // bKash's (English) message
	MessageBn  string    // the Bangla message, when bKash sent one (v2 refund)
	Attempts   int       // how many times the request was sent
}

// Error returns, for example, "bkash: payment.execute: 2023 Insufficient
// Balance (http 200)": bKash's code and message, never request data.
func (e *APIError) Error() string {
	msg := cmp.Or(e.Message, e.Code.Message())
	if e.Code != "" {
		msg = string(e.Code) + " " + msg
	}
	return fmt.Sprintf("bkash: %s: %s (http %d)", e.Op, msg, e.HTTPStatus)
}

// Is makes errors.Is(err, bkash.CodeInsufficientBalance) work, and
// errors.Is(err, bkash.ErrCredentialsRejected) for a grant or refresh
// refused because of the credentials.
func (e *APIError) Is(target error) bool {
	if target == ErrCredentialsRejected {
		return e.credentialsRefused()
	}
	c, ok := target.(ErrorCode)
	return ok && c == e.Code
}

// Class returns the class of the error's code. A gateway rejection (401/403)
// is ClassAuth, and so is a grant or refresh refused for its credentials
// (ErrCredentialsRejected, whatever the code); the gateway's throttling
// (429 without a bKash code) is ClassTransient, and so is a read answered
// 503 without one.
func (e *APIError) Class() ErrorClass {
	if e.credentialsRefused() {
		return ClassAuth
	}
	if e.Code == "" {
		switch e.HTTPStatus {
		case 401, 403:
			return ClassAuth
		case 429, 503:
			return ClassTransient
		}
	}
	return e.Code.Class()
}

// Temporary reports whether the same request may succeed later. On a call
// that moves money, an *APIError that is Temporary is the gateway's
// throttling (429 without a bKash code): the request never reached bKash,
// so it was not sent in any sense that matters and may be sent again later.
// A 503 on a money call is not: the gateway also answers 503 when bKash,
// behind it, fails or is too slow, so it is an *OutcomeUnknownError.
// bKash's own transient codes on money calls come back as an
// *OutcomeUnknownError wrapping the *APIError too.
func (e *APIError) Temporary() bool { return e.Class() == ClassTransient }

// ErrorCode is a bKash status code such as "2023". It implements error so
// that errors.Is(err, bkash.CodeInsufficientBalance) works on an *APIError.
type ErrorCode string

// Error returns the code and its documented message.
func (c ErrorCode) Error() string { return "bkash: " + string(c) + " " + c.Message() }

// Message returns bKash's documented message for the code, or "" if unknown.
func (c ErrorCode) Message() string { return codeInfo[c].msg }

// Class returns how to handle the code. Unknown codes are ClassUnknown.
func (c ErrorCode) Class() ErrorClass {
	if info, ok := codeInfo[c]; ok {
		return info.class
	}
	return ClassUnknown
}

// ErrorClass groups error codes by what a caller should do about them.
type ErrorClass int

// The error classes.
const (
	ClassUnknown     ErrorClass = iota // not in bKash's published table
	ClassCustomer                      // the customer's wallet, PIN, OTP or balance; show the message
	ClassValidation                    // the request was malformed; a programming or config error
	ClassState                         // the payment/agreement is not in a state that allows this
	ClassAlreadyDone                   // already executed/cancelled/processed; query the current state
	ClassTransient                     // bKash-side failure; the outcome may be unknown, query first
	ClassAuth                          // credentials, app key or token rejected
	ClassRefund                        // refund rule violated (window, amount, SKU, reason)
	ClassPermission                    // the merchant or identity is not permitted
	ClassNotFound                      // the referenced object does not exist
)

var classNames = [...]string{"unknown", "customer", "validation", "state", "already-done",
	"transient", "auth", "refund", "permission", "not-found"}

// String returns the class's name, e.g. "already-done".
func (c ErrorClass) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "ErrorClass(" + strconv.Itoa(int(c)) + ")"
}

// Error codes from bKash's published table (docs/wire.md, "Status codes").
const (
	CodeSuccessful                 ErrorCode = "0000"
	CodeInvalidAppKey              ErrorCode = "2001"
	CodeInvalidPaymentID           ErrorCode = "2002"
	CodeProcessFailed              ErrorCode = "2003"
	CodeInvalidFirstPaymentDate    ErrorCode = "2004"
	CodeInvalidFrequency           ErrorCode = "2005"
	CodeInvalidAmount              ErrorCode = "2006"
	CodeInvalidCurrency            ErrorCode = "2007"
	CodeInvalidIntent              ErrorCode = "2008"
	CodeInvalidWallet              ErrorCode = "2009"
	CodeInvalidOTP                 ErrorCode = "2010"
	CodeInvalidPIN                 ErrorCode = "2011"
	CodeInvalidReceiverMSISDN      ErrorCode = "2012"
	CodeResendLimitExceeded        ErrorCode = "2013"
	CodeWrongPIN                   ErrorCode = "2014"
	CodeWrongPINCountExceeded      ErrorCode = "2015"
	CodeWrongVerificationCode      ErrorCode = "2016"
	CodeWrongVerificationLimit     ErrorCode = "2017"
	CodeOTPVerificationExpired     ErrorCode = "2018"
	CodePINVerificationExpired     ErrorCode = "2019"
	CodeExceptionOccurred          ErrorCode = "2020"
	CodeInvalidMandateID           ErrorCode = "2021"
	CodeMandateNotFound            ErrorCode = "2022"
	CodeInsufficientBalance        ErrorCode = "2023"
	CodeExceptionOccurred2         ErrorCode = "2024"
	CodeInvalidRequestBody         ErrorCode = "2025"
	CodeRefundExceedsOriginal      ErrorCode = "2026"
	CodeMandateAlreadyExists       ErrorCode = "2027"
	CodeReverseTrxNotFound         ErrorCode = "2028"
	CodeDuplicateTransaction       ErrorCode = "2029"
	CodeInvalidMandateRequestType  ErrorCode = "2030"
	CodeInvalidInvoiceNumber       ErrorCode = "2031"
	CodeInvalidTransferType        ErrorCode = "2032"
	CodeTransactionNotFound        ErrorCode = "2033"
	CodeAlreadyReversed            ErrorCode = "2034"
	CodeReverseNotPermitted        ErrorCode = "2035"
	CodeMandateNotActive           ErrorCode = "2036"
	CodeDebitPartyBlocked          ErrorCode = "2037"
	CodeDebitPartyIdentityBlocked  ErrorCode = "2038"
	CodeCreditPartyBlocked         ErrorCode = "2039"
	CodeCreditPartyIdentityBlocked ErrorCode = "2040"
	CodeCreditPartyUnsupported     ErrorCode = "2041"
	CodeReverseNotPermitted2       ErrorCode = "2042"
	CodeWrongCredential            ErrorCode = "2043"
	CodeIdentityNotSubscribed      ErrorCode = "2044"
	CodeMSISDNNotFound             ErrorCode = "2045"
	CodeServiceNotSubscribed       ErrorCode = "2046"
	CodeTLVFormatError             ErrorCode = "2047"
	CodeInvalidPayerReference      ErrorCode = "2048"
	CodeInvalidCallbackURL         ErrorCode = "2049"
	CodeAgreementAlreadyExists     ErrorCode = "2050" // agreement create: the payer already has one with this merchant; reuse it or cancel it first
	CodeInvalidAgreementID         ErrorCode = "2051" // no such agreement (unknown or foreign ID); bind the wallet again
	CodeAgreementIncomplete        ErrorCode = "2052" // the agreement has not been executed (customer never finished)
	CodeAgreementAlreadyCancelled  ErrorCode = "2053" // agreement cancel: already done; AgreementService.Cancel returns the agreement instead
	CodeAgreementNotReady          ErrorCode = "2054" // agreement execute before the customer approved on bKash's page
	CodeInvalidAgreementState      ErrorCode = "2055" // the agreement's state does not allow the call (e.g. paying with a cancelled one)
	CodeInvalidPaymentState        ErrorCode = "2056"
	CodeNotBkashAccount            ErrorCode = "2057"
	CodeNotCustomerWallet          ErrorCode = "2058"
	CodeMultipleOTPDenied          ErrorCode = "2059"
	CodePaymentNotReady            ErrorCode = "2060"
	CodeInitiatorOnly              ErrorCode = "2061"
	CodePaymentAlreadyCompleted    ErrorCode = "2062"
	CodeInvalidMode                ErrorCode = "2063"
	CodeModeUnavailable            ErrorCode = "2064"
	CodeMandatoryFieldMissing      ErrorCode = "2065"
	CodeAgreementNotShared         ErrorCode = "2066"
	CodeInvalidPermission          ErrorCode = "2067"
	CodeTransactionAlreadyDone     ErrorCode = "2068"
	CodeTransactionAlreadyCanceled ErrorCode = "2069"
	CodeRefundWindowExpired        ErrorCode = "2071" // refund: the payment is older than the refund window
	CodeRefundAmountInvalid        ErrorCode = "2072" // refund: amount malformed or above what is left to refund
	CodeInvalidSKU                 ErrorCode = "2073" // refund: sku empty or refused
	CodeNotReversible              ErrorCode = "2074" // refund: bKash will not refund this transaction
	CodeSKUTooLong                 ErrorCode = "2075" // refund: sku over 255 characters
	CodeReasonTooLong              ErrorCode = "2076" // refund: reason over 255 characters
	CodeInvalidTrxID               ErrorCode = "2077" // refund: trxID unknown or not the payment's
	CodeInvalidReason              ErrorCode = "2078" // refund: reason empty or refused
	CodeInvalidAppToken            ErrorCode = "2079" // the id_token was refused; the client renews it and replays once
	CodeIdentityNotPermitted       ErrorCode = "2080" // the identity is not permitted to initiate the transaction
	CodePartyStateProhibits        ErrorCode = "2081" // a party's account state forbids the transaction
	CodeMerchantNotPermitted       ErrorCode = "2082" // the merchant is not permitted to initiate the transaction
	CodeAgreementAlreadyExecuted   ErrorCode = "2116"
	CodeExecutionAlreadyCompleted  ErrorCode = "2117"
	CodeInvalidPlatform            ErrorCode = "2118"
	CodeAuthorizationProcessed     ErrorCode = "2119"
	CodeTransactionNotCompleted    ErrorCode = "2127" // refund of a payment that has not completed
	CodeSystemError                ErrorCode = "9999"
	CodeMaintenance                ErrorCode = "503"
)

type codeMeta struct {
	msg   string
	class ErrorClass
}

var codeInfo = map[ErrorCode]codeMeta{
	CodeSuccessful:                 {"Successful", ClassUnknown},
	CodeInvalidAppKey:              {"Invalid App Key", ClassAuth},
	CodeInvalidPaymentID:           {"Invalid Payment ID", ClassNotFound},
	CodeProcessFailed:              {"Process failed", ClassTransient},
	CodeInvalidFirstPaymentDate:    {"Invalid firstPaymentDate", ClassValidation},
	CodeInvalidFrequency:           {"Invalid frequency", ClassValidation},
	CodeInvalidAmount:              {"Invalid amount", ClassValidation},
	CodeInvalidCurrency:            {"Invalid currency", ClassValidation},
	CodeInvalidIntent:              {"Invalid intent", ClassValidation},
	CodeInvalidWallet:              {"Invalid Wallet", ClassCustomer},
	CodeInvalidOTP:                 {"Invalid OTP", ClassCustomer},
	CodeInvalidPIN:                 {"Invalid PIN", ClassCustomer},
	CodeInvalidReceiverMSISDN:      {"Invalid Receiver MSISDN", ClassValidation},
	CodeResendLimitExceeded:        {"Resend Limit Exceeded", ClassCustomer},
	CodeWrongPIN:                   {"Wrong PIN", ClassCustomer},
	CodeWrongPINCountExceeded:      {"Wrong PIN count exceeded", ClassCustomer},
	CodeWrongVerificationCode:      {"Wrong verification code", ClassCustomer},
	CodeWrongVerificationLimit:     {"Wrong verification limit exceeded", ClassCustomer},
	CodeOTPVerificationExpired:     {"OTP verification time expired", ClassCustomer},
	CodePINVerificationExpired:     {"PIN verification time expired", ClassCustomer},
	CodeExceptionOccurred:          {"Exception Occurred", ClassTransient},
	CodeInvalidMandateID:           {"Invalid Mandate ID", ClassValidation},
	CodeMandateNotFound:            {"The mandate does not exist", ClassNotFound},
	CodeInsufficientBalance:        {"Insufficient Balance", ClassCustomer},
	CodeExceptionOccurred2:         {"Exception occurred", ClassTransient},
	CodeInvalidRequestBody:         {"Invalid request body", ClassValidation},
	CodeRefundExceedsOriginal:      {"The reversal amount cannot be greater than the original transaction amount", ClassRefund},
	CodeMandateAlreadyExists:       {"The mandate corresponding to the payer reference number already exists and cannot be created again", ClassState},
	CodeReverseTrxNotFound:         {"Reverse failed because the transaction serial number does not exist", ClassRefund},
	CodeDuplicateTransaction:       {"Duplicate for all transactions", ClassState},
	CodeInvalidMandateRequestType:  {"Invalid mandate request type", ClassValidation},
	CodeInvalidInvoiceNumber:       {"Invalid merchant invoice number", ClassValidation},
	CodeInvalidTransferType:        {"Invalid transfer type", ClassValidation},
	CodeTransactionNotFound:        {"Transaction not found", ClassNotFound},
	CodeAlreadyReversed:            {"The transaction cannot be reversed because the original transaction has been reversed", ClassRefund},
	CodeReverseNotPermitted:        {"Reverse failed because the initiator has no permission to reverse the transaction", ClassPermission},
	CodeMandateNotActive:           {"The direct debit mandate is not in Active state", ClassState},
	CodeDebitPartyBlocked:          {"The account of the debit party is in a state which prohibits execution of this transaction", ClassCustomer},
	CodeDebitPartyIdentityBlocked:  {"Debit party identity tag prohibits execution of this transaction", ClassCustomer},
	CodeCreditPartyBlocked:         {"The account of the credit party is in a state which prohibits execution of this transaction", ClassPermission},
	CodeCreditPartyIdentityBlocked: {"Credit party identity tag prohibits execution of this transaction", ClassPermission},
	CodeCreditPartyUnsupported:     {"Credit party identity is in a state which does not support the current service", ClassPermission},
	CodeReverseNotPermitted2:       {"Reverse failed because the initiator has no permission to reverse the transaction.", ClassPermission},
	CodeWrongCredential:            {"The security credential of the subscriber is incorrect.", ClassCustomer},
	CodeIdentityNotSubscribed:      {"Identity has not subscribed to a product that contains the expected service or the identity is not in Active status.", ClassCustomer},
	CodeMSISDNNotFound:             {"The MSISDN of the customer does not exist.", ClassCustomer},
	CodeServiceNotSubscribed:       {"Identity has not subscribed to a product that contains requested service.", ClassPermission},
	CodeTLVFormatError:             {"TLV Data Format Error", ClassValidation},
	CodeInvalidPayerReference:      {"Invalid Payer Reference", ClassValidation},
	CodeInvalidCallbackURL:         {"Invalid Merchant Callback URL", ClassValidation},
	CodeAgreementAlreadyExists:     {"Agreement already exists between payer and merchant", ClassState},
	CodeInvalidAgreementID:         {"Invalid Agreement ID", ClassNotFound},
	CodeAgreementIncomplete:        {"Agreement is in incomplete state", ClassState},
	CodeAgreementAlreadyCancelled:  {"Agreement has already been cancelled", ClassAlreadyDone},
	CodeAgreementNotReady:          {"Agreement execution pre-requisite hasn't been met", ClassState},
	CodeInvalidAgreementState:      {"Invalid Agreement State", ClassState},
	CodeInvalidPaymentState:        {"Invalid Payment State", ClassState},
	CodeNotBkashAccount:            {"Not a bKash Account", ClassCustomer},
	CodeNotCustomerWallet:          {"Not a Customer Wallet", ClassCustomer},
	CodeMultipleOTPDenied:          {"Multiple OTP request for a single session denied", ClassCustomer},
	CodePaymentNotReady:            {"Payment execution pre-requisite hasn't been met", ClassState},
	CodeInitiatorOnly:              {"This action can only be performed by the agreement or payment initiator party", ClassPermission},
	CodePaymentAlreadyCompleted:    {"The payment has already been completed", ClassAlreadyDone},
	CodeInvalidMode:                {"Mode is not valid as per request data", ClassValidation},
	CodeModeUnavailable:            {"This product mode currently unavailable", ClassPermission},
	CodeMandatoryFieldMissing:      {"Mendatory field missing", ClassValidation},
	CodeAgreementNotShared:         {"Agreement is not shared with other merchant", ClassPermission},
	CodeInvalidPermission:          {"Invalid permission", ClassPermission},
	CodeTransactionAlreadyDone:     {"Transaction has already been completed", ClassAlreadyDone},
	CodeTransactionAlreadyCanceled: {"Transaction has already been cancelled", ClassAlreadyDone},
	CodeRefundWindowExpired:        {"Refund after specified days not allowed", ClassRefund},
	CodeRefundAmountInvalid:        {"Refund amount not valid", ClassRefund},
	CodeInvalidSKU:                 {"Invalid SKU", ClassRefund},
	CodeNotReversible:              {"The transaction cannot be reversed", ClassRefund},
	CodeSKUTooLong:                 {"SKU Character Limit Exceeded", ClassRefund},
	CodeReasonTooLong:              {"Reason Character Limit Exceeded", ClassRefund},
	CodeInvalidTrxID:               {"Invalid TrxID", ClassRefund},
	CodeInvalidReason:              {"Invalid Reason", ClassRefund},
	CodeInvalidAppToken:            {"Invalid app Token", ClassAuth},
	CodeIdentityNotPermitted:       {"The identity is not permitted to initiate this transaction", ClassPermission},
	CodePartyStateProhibits:        {"The identity of the debit or credit party is in a state which prohibits the execution of this transaction", ClassPermission},
	CodeMerchantNotPermitted:       {"The merchant is not permitted to initiate this transaction", ClassPermission},
	CodeAgreementAlreadyExecuted:   {"The agreement execution has already been completed", ClassAlreadyDone},
	CodeExecutionAlreadyCompleted:  {"The payment execution has already been completed", ClassAlreadyDone},
	CodeInvalidPlatform:            {"The Platform value is invalid", ClassValidation},
	CodeAuthorizationProcessed:     {"The authorized payment has already been processed", ClassAlreadyDone},
	CodeTransactionNotCompleted:    {"Transaction not yet completed", ClassRefund},
	CodeSystemError:                {"System Error", ClassTransient},
	CodeMaintenance:                {"System is undergoing maintenance. Please try again later", ClassTransient},
}

// errorf builds an error whose text never includes request data.
func errorf(op, format string, args ...any) error {
	return fmt.Errorf("bkash: "+op+": "+format, args...)
}
