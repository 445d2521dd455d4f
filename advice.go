package bkash

import (
	"slices"
	"strconv"
)

// Advice returns what to do when bKash answers with the code: the SDK's
// handling and the caller's next step, in a sentence or three. Codes outside
// bKash's table get the advice for unknown codes. The same text appears in
// docs/troubleshooting.md and in "bkash explain CODE".
func (c ErrorCode) Advice() string {
	if a, ok := codeAdvice[c]; ok {
		return a
	}
	return c.Class().Advice()
}

// Advice returns what to do about any code of the class.
func (c ErrorClass) Advice() string {
	if int(c) < len(classAdvice) {
		return classAdvice[c]
	}
	return classAdvice[ClassUnknown]
}

// ErrorCodes returns every code of bKash's published table that the SDK
// knows (the Code... constants), in numeric order. With Message, Class and
// Advice it is the SDK's whole code table.
func ErrorCodes() []ErrorCode {
	codes := make([]ErrorCode, 0, len(codeInfo))
	for c := range codeInfo {
		codes = append(codes, c)
	}
	slices.SortFunc(codes, func(a, b ErrorCode) int {
		x, _ := strconv.Atoi(string(a))
		y, _ := strconv.Atoi(string(b))
		return x - y
	})
	return codes
}

var classAdvice = [...]string{
	ClassUnknown: "A code outside bKash's published table. On a call that moves money (execute, capture, void, " +
		"refund, agreement execute) the SDK returns *OutcomeUnknownError: query the payment (or refund status) " +
		"before doing anything else. Otherwise keep the whole error (code, message, HTTP status) and ask bKash.",
	ClassCustomer: "A matter of the customer's wallet (PIN, OTP, balance, account state), not of your code. " +
		"Show bKash's message to the customer and let them try again, with another wallet if need be; " +
		"create a new payment for the new attempt.",
	ClassValidation: "bKash refused a field of the request: a programming or configuration error, not worth " +
		"retrying unchanged. The SDK checks most fields before sending (a *ValidationError); compare the field " +
		"bKash names with its rules (255 characters at most, no '<', '>' or '&', amounts with two decimals).",
	ClassState: "The payment or agreement is not in a state that allows this call. Query it " +
		"(PaymentService.Query, AgreementService.Query) and act on its current status instead of repeating the call.",
	ClassAlreadyDone: "It was done already, perhaps by your own earlier attempt whose answer was lost. Not a " +
		"failure: query the current state and use it (PaymentService.Finalize does this for execute).",
	ClassTransient: "A failure on bKash's side. Reads are retried by the SDK. On a call that moves money the " +
		"SDK does not re-send it and returns *OutcomeUnknownError: the money may or may not have moved, so query " +
		"(PaymentService.Query, RefundService.Status) before anything else; the Reconciler does it for you.",
	ClassAuth: "bKash refused the credentials, app key or token. Check the four credentials and that they " +
		"belong to the environment you call (sandbox credentials fail in production and the other way round). " +
		"Repeating the call does not help.",
	ClassRefund: "A refund rule was broken (window, amount left, SKU, reason, transaction). Check what was " +
		"refunded already with RefundService.Status before trying another refund.",
	ClassPermission: "Your merchant account, or a party's account, is not permitted to do this. Nothing to fix " +
		"in code: ask your bKash integration contact to enable the product, mode or permission.",
	ClassNotFound: "bKash does not know the ID. Check the ID you stored and the environment (sandbox IDs do " +
		"not exist in production); a paymentID is also forgotten some time after an unfinished checkout.",
}

// codeAdvice overrides the class's advice where a code needs its own.
var codeAdvice = map[ErrorCode]string{
	CodeSuccessful: "Success: no error. The SDK never returns it as an error.",
	CodeInvalidAppKey: "The X-App-Key header (Credentials.AppKey) is wrong, or belongs to the other environment. " +
		"Check the app key bKash gave you for this environment.",
	CodeInvalidPaymentID: "bKash does not know the paymentID: check the one you stored and the environment. " +
		"Payments never approved by the customer are forgotten after a while; create a new one.",
	CodeInsufficientBalance: "The customer's wallet lacks the balance. Show the message; the customer can " +
		"top up or pay with another wallet in a new payment.",
	CodeInvalidRequestBody: "bKash could not read the request body. The SDK builds every body itself, so this " +
		"usually means a proxy or a wrong base URL changed the request; check WithBaseURL and any proxy.",
	CodeDuplicateTransaction: "bKash saw the same transaction twice (for example the same invoice number " +
		"too soon). Query the payment before creating another; use a new merchant invoice number for a new payment.",
	CodeInvalidCallbackURL: "bKash refused the callbackURL. Use an absolute https URL on a host bKash can " +
		"redirect the customer's browser to (no localhost in production).",
	CodeAgreementAlreadyExists: "The payer already has an agreement with you: reuse its agreementID, or " +
		"cancel it (AgreementService.Cancel) before creating a new one.",
	CodeAgreementNotReady: "The agreement was executed before the customer approved it on bKash's page. Execute " +
		"only after the callback with status=success.",
	CodeInvalidPaymentState: "The payment is not in a state that allows the call: usually execute before the " +
		"customer approved it (no callback with status=success yet), after the customer cancelled or failed the " +
		"PIN, or after the payment expired. Query it; create a new payment if the customer wants to pay again.",
	CodePaymentNotReady: "Execute came before the customer finished on bKash's page. Execute only after the " +
		"callback with status=success; query the payment to see where it stands.",
	CodePaymentAlreadyCompleted: "The older code for \"already executed\": the payment was completed before, " +
		"perhaps by your own earlier execute whose answer was lost. Query it and use its trxID and status " +
		"(PaymentService.Finalize does this for you); never create a second payment for the same order.",
	CodeMandatoryFieldMissing: "A required field was missing from the request. The SDK sends every required " +
		"field it knows of; a wrong base URL (another API version) or an old bKash product can cause it.",
	CodeRefundWindowExpired: "The payment is older than bKash's refund window (60 days for the v2 refund " +
		"API): it can no longer be refunded through the API. Settle with the customer another way.",
	CodeRefundAmountInvalid: "The refund amount is malformed or more than what is left to refund. Check the " +
		"refunds made already with RefundService.Status and refund at most the rest.",
	CodeInvalidAppToken: "bKash refused the id_token (2079). The SDK renews the token and replays the call " +
		"once; seeing it as an error means the renewed token was refused too: check the credentials, and that " +
		"no other process renews tokens for the same app (share a TokenStore, e.g. redisstore).",
	CodeExecutionAlreadyCompleted: "The payment was executed before, perhaps by your own earlier execute whose " +
		"answer was lost. Not a failure: query it and use its trxID and status (PaymentService.Finalize does " +
		"this for you); never create a second payment for the same order.",
	CodeTransactionNotCompleted: "The payment being refunded has not completed. Query it; only a Completed " +
		"payment can be refunded.",
	CodeSystemError: "bKash's generic failure (9999). At token grant it also means \"Username does not exist\": " +
		"check Credentials.Username and the environment. On a read the SDK retries; on a call that moves money " +
		"the outcome is unknown (*OutcomeUnknownError): query before anything else.",
	CodeMaintenance: "bKash is under maintenance. Reads are retried by the SDK; a call that moves money is " +
		"not re-sent (*OutcomeUnknownError): query later before trying again.",
}
