package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
)

var paymentCmd = &command{
	name:    "payment",
	summary: "Create, execute, query, capture and void payments",
	detail: `Payments follow bKash's checkout: "create" returns a bkashURL where the
customer approves the payment; after bKash redirects the customer back,
"execute" (or "finalize") completes it. Execute, capture and void move money:
they are sent at most once, and when no answer comes back the command exits
with code 3 and tells you how to find out what happened.`,
	subs: []*command{
		paymentCreateCmd,
		paymentIDCmd("execute", "Execute an approved payment (moves money; sent at most once)",
			`Execute sends bKash's execute call once. Exit code 3 means the payment may
or may not have been executed: do not execute again, query it.`),
		paymentIDCmd("finalize", "Execute once, and on an unknown outcome or \"already executed\" query the truth",
			`Finalize executes the payment once. If no answer comes back, or bKash says the
payment was already executed, it queries the payment and prints bKash's
current state instead of failing.`),
		paymentIDCmd("query", "Show a payment's current state", ""),
		paymentIDCmd("capture", "Capture an authorized payment (intent authorization; moves money)", ""),
		paymentIDCmd("void", "Void an authorized payment (intent authorization; releases the hold)", ""),
	},
}

var paymentCreateCmd = &command{
	name:    "create",
	summary: "Create a payment and print the bkashURL the customer approves it at",
	detail: `Create a payment (mode 0011, or 0001 with --agreement) and print its paymentID
and the bkashURL to send the customer to. No money moves until it is executed.`,
	setup: func(fs *flag.FlagSet) func(*app, []string) error {
		var p struct{ amount, invoice, payer, callback, agreement, intent, assoc string }
		fs.StringVar(&p.amount, "amount", "", "amount in `taka`, at most two decimals, e.g. 150.50 (required)")
		fs.StringVar(&p.invoice, "invoice", "", "merchant invoice `number`, unique per payment (required)")
		fs.StringVar(&p.payer, "payer-ref", "", "payer `reference`, usually the customer's wallet number (required)")
		fs.StringVar(&p.callback, "callback", "", "`URL` bKash redirects the customer back to (required)")
		fs.StringVar(&p.agreement, "agreement", "", "pay with a saved wallet: agreement `ID` (mode 0001)")
		fs.StringVar(&p.intent, "intent", "sale", "`intent`: sale (charge now) or authorization (hold; capture or void later)")
		fs.StringVar(&p.assoc, "merchant-info", "", "optional merchantAssociationInfo `text` (aggregators)")
		return func(a *app, _ []string) error {
			if err := required("--amount", p.amount, "--invoice", p.invoice, "--payer-ref", p.payer, "--callback", p.callback); err != nil {
				return err
			}
			amount, err := parseAmount("--amount", p.amount)
			if err != nil {
				return err
			}
			var intent bkash.Intent
			switch p.intent {
			case "sale":
				intent = bkash.IntentSale
			case "authorization":
				intent = bkash.IntentAuthorization
			default:
				return usagef("--intent must be sale or authorization, not %q", p.intent)
			}
			params := &bkash.CreatePaymentParams{
				Amount: amount, InvoiceNumber: p.invoice, PayerReference: p.payer, CallbackURL: p.callback,
				AgreementID: p.agreement, Intent: intent, MerchantAssociationInfo: p.assoc,
			}
			// The command line is checked before credentials are looked
			// for: a usage error is a usage error on any machine.
			if err := params.Validate(); err != nil {
				return flagError(err)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.callCtx()
			defer cancel()
			pay, err := c.Payments.Create(ctx, params)
			if err != nil {
				return withAdvice(err, "No money moved. Create a new payment (with a new --invoice) if you still need one.")
			}
			return a.printPayment(pay)
		}
	},
}

// paymentIDCmd builds the payment commands that take one paymentID.
func paymentIDCmd(name, summary, detail string) *command {
	return &command{
		name: name, args: "<paymentID>", nargs: 1, summary: summary, detail: detail,
		setup: func(*flag.FlagSet) func(*app, []string) error {
			return func(a *app, args []string) error {
				id := args[0]
				c, err := a.client()
				if err != nil {
					return err
				}
				ctx, cancel := a.callCtx()
				defer cancel()
				var p *bkash.Payment
				switch name {
				case "execute":
					p, err = c.Payments.Execute(ctx, id)
				case "finalize":
					p, err = c.Payments.Finalize(ctx, id)
				case "query":
					p, err = c.Payments.Query(ctx, id)
				case "capture":
					p, err = c.Payments.Capture(ctx, id)
				case "void":
					p, err = c.Payments.Void(ctx, id)
				}
				if err != nil {
					return withAdvice(err, moneyAdvice(name, id))
				}
				return a.printPayment(p)
			}
		},
	}
}

// moneyAdvice tells the operator what to do after payment <verb> ended with
// an unknown outcome.
func moneyAdvice(verb, paymentID string) string {
	effect := map[string]string{
		"execute":  "The payment may or may not have been executed (money may have moved).",
		"finalize": "The payment may or may not have been executed, and the follow-up query failed too.",
		"capture":  "The payment may or may not have been captured (money may have moved).",
		"void":     "The payment may or may not have been voided.",
	}[verb]
	return fmt.Sprintf("%s\nDo NOT send %s again. Find out with:\n  bkash payment query %s", effect, verb, paymentID)
}

// paymentView is the printed form of a payment.
type paymentView struct {
	PaymentID          string `json:"payment_id"`
	Status             string `json:"status,omitempty"`
	TrxID              string `json:"trx_id,omitempty"`
	Amount             string `json:"amount,omitempty"`
	Currency           string `json:"currency,omitempty"`
	Intent             string `json:"intent,omitempty"`
	Mode               string `json:"mode,omitempty"`
	InvoiceNumber      string `json:"invoice_number,omitempty"`
	PayerReference     string `json:"payer_reference,omitempty"`
	CustomerMSISDN     string `json:"customer_msisdn,omitempty"`
	AgreementID        string `json:"agreement_id,omitempty"`
	VerificationStatus string `json:"verification_status,omitempty"`
	CreatedAt          string `json:"created_at,omitempty"`
	ExecutedAt         string `json:"executed_at,omitempty"`
	BkashURL           string `json:"bkash_url,omitempty"`
}

func viewPayment(p *bkash.Payment) paymentView {
	return paymentView{
		PaymentID: p.PaymentID, Status: string(p.Status), TrxID: p.TrxID,
		Amount: amountText(p.Amount), Currency: p.Currency, Intent: string(p.Intent), Mode: p.Mode,
		InvoiceNumber: p.InvoiceNumber, PayerReference: p.PayerReference, CustomerMSISDN: p.CustomerMSISDN,
		AgreementID: p.AgreementID, VerificationStatus: p.VerificationStatus,
		CreatedAt: timeText(p.CreatedAt), ExecutedAt: timeText(p.ExecutedAt), BkashURL: p.BkashURL,
	}
}

func (a *app) printPayment(p *bkash.Payment) error {
	v := viewPayment(p)
	return a.emit(v, []field{
		{"Payment ID", v.PaymentID},
		{"Status", v.Status},
		{"Transaction ID", v.TrxID},
		{"Amount", joinNonEmpty(v.Amount, v.Currency)},
		{"Intent", v.Intent},
		{"Mode", v.Mode},
		{"Invoice", v.InvoiceNumber},
		{"Payer reference", v.PayerReference},
		{"Customer wallet", v.CustomerMSISDN},
		{"Agreement ID", v.AgreementID},
		{"Verification", v.VerificationStatus},
		{"Created", v.CreatedAt},
		{"Executed", v.ExecutedAt},
		{"bKash URL", v.BkashURL},
	})
}

var searchCmd = &command{
	name: "search", args: "<trxID>", nargs: 1,
	summary: "Look up a transaction (payment or refund) by its trxID",
	setup: func(*flag.FlagSet) func(*app, []string) error {
		return func(a *app, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.callCtx()
			defer cancel()
			tx, err := c.Payments.Search(ctx, args[0])
			if err != nil {
				return err
			}
			v := viewTransaction(tx)
			return a.emit(v, []field{
				{"Transaction ID", v.TrxID},
				{"Status", v.Status},
				{"Type", v.TransactionType},
				{"Amount", joinNonEmpty(v.Amount, v.Currency)},
				{"Customer wallet", v.CustomerMSISDN},
				{"Initiated", v.InitiatedAt},
				{"Completed", v.CompletedAt},
			})
		}
	},
}

// transactionView is the printed form of a searched transaction.
type transactionView struct {
	TrxID           string `json:"trx_id"`
	Status          string `json:"status,omitempty"`
	TransactionType string `json:"transaction_type,omitempty"`
	Amount          string `json:"amount,omitempty"`
	Currency        string `json:"currency,omitempty"`
	CustomerMSISDN  string `json:"customer_msisdn,omitempty"`
	InitiatedAt     string `json:"initiated_at,omitempty"`
	CompletedAt     string `json:"completed_at,omitempty"`
}

func viewTransaction(t *bkash.Transaction) transactionView {
	return transactionView{
		TrxID: t.TrxID, Status: string(t.Status), TransactionType: t.TransactionType,
		Amount: amountText(t.Amount), Currency: t.Currency, CustomerMSISDN: t.CustomerMSISDN,
		InitiatedAt: timeText(t.InitiatedAt), CompletedAt: timeText(t.CompletedAt),
	}
}

// parseAmount parses a taka amount from a flag with bkash.ParseAmount (never
// through a float).
func parseAmount(flagName, s string) (bkash.Amount, error) {
	v, err := bkash.ParseAmount(s)
	if err != nil {
		return 0, usagef("%s %q: want taka with at most two decimals, e.g. 150 or 150.50", flagName, s)
	}
	if v <= 0 {
		return 0, usagef("%s must be more than zero", flagName)
	}
	return v, nil
}

// required takes flag names and values in pairs and reports the missing
// ones.
func required(pairs ...string) error {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			missing = append(missing, pairs[i])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return usagef("missing required flag(s): %s", strings.Join(missing, ", "))
}

func amountText(a bkash.Amount) string {
	if a == 0 {
		return ""
	}
	return a.String()
}

func timeText(t bkash.Time) string {
	if t.IsZero() {
		return t.Raw
	}
	return t.Format(time.RFC3339)
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return ""
	case b == "":
		return a
	}
	return a + " " + b
}
