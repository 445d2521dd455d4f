package main

import (
	"flag"
	"fmt"

	"github.com/smartdairy/bkash-go"
)

var agreementCmd = &command{
	name:    "agreement",
	summary: "Create, execute, query and cancel agreements (saved wallets)",
	detail: `An agreement binds a customer's wallet to the merchant, so later payments
(payment create --agreement ID) need only the customer's PIN. "create" returns
a bkashURL where the customer approves the agreement; "execute" then returns
the agreementID to store.`,
	subs: []*command{agreementCreateCmd, agreementExecuteCmd,
		agreementIDCmd("query", "Show an agreement's current state"),
		agreementIDCmd("cancel", "Cancel an agreement (cancelling a cancelled one succeeds)"),
	},
}

var agreementCreateCmd = &command{
	name:    "create",
	summary: "Start an agreement and print the bkashURL the customer approves it at",
	setup: func(fs *flag.FlagSet) func(*app, []string) error {
		var payer, callback string
		fs.StringVar(&payer, "payer-ref", "", "payer `reference`, usually the customer's wallet number (required)")
		fs.StringVar(&callback, "callback", "", "`URL` bKash redirects the customer back to (required)")
		return func(a *app, _ []string) error {
			if err := required("--payer-ref", payer, "--callback", callback); err != nil {
				return err
			}
			params := &bkash.CreateAgreementParams{PayerReference: payer, CallbackURL: callback}
			if err := params.Validate(); err != nil {
				return flagError(err)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.callCtx()
			defer cancel()
			ag, err := c.Agreements.Create(ctx, params)
			if err != nil {
				return withAdvice(err, "Nothing was bound. Create a new agreement if you still need one.")
			}
			return a.printAgreement(ag)
		}
	},
}

var agreementExecuteCmd = &command{
	name: "execute", args: "<paymentID>", nargs: 1,
	summary: "Execute an approved agreement and print its agreementID",
	detail: `Execute an agreement the customer approved, using the paymentID that
"agreement create" printed. Exit code 3 means it may or may not have been
executed: do not execute again, query the paymentID.`,
	setup: func(*flag.FlagSet) func(*app, []string) error {
		return func(a *app, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.callCtx()
			defer cancel()
			ag, err := c.Agreements.Execute(ctx, args[0])
			if err != nil {
				return withAdvice(err, fmt.Sprintf("The agreement may or may not have been executed.\nDo NOT execute it again. Find out with:\n  bkash payment query %s\n(its agreement ID, once executed, is shown there)", args[0]))
			}
			return a.printAgreement(ag)
		}
	},
}

func agreementIDCmd(name, summary string) *command {
	return &command{
		name: name, args: "<agreementID>", nargs: 1, summary: summary,
		setup: func(*flag.FlagSet) func(*app, []string) error {
			return func(a *app, args []string) error {
				c, err := a.client()
				if err != nil {
					return err
				}
				ctx, cancel := a.callCtx()
				defer cancel()
				var ag *bkash.Agreement
				if name == "cancel" {
					ag, err = c.Agreements.Cancel(ctx, args[0])
				} else {
					ag, err = c.Agreements.Query(ctx, args[0])
				}
				if err != nil {
					return withAdvice(err, "Check the agreement with:\n  bkash agreement query "+args[0])
				}
				return a.printAgreement(ag)
			}
		},
	}
}

// agreementView is the printed form of an agreement.
type agreementView struct {
	AgreementID    string `json:"agreement_id,omitempty"`
	PaymentID      string `json:"payment_id,omitempty"`
	Status         string `json:"status,omitempty"`
	PayerReference string `json:"payer_reference,omitempty"`
	CustomerMSISDN string `json:"customer_msisdn,omitempty"`
	CreatedAt      string `json:"created_at,omitempty"`
	ExecutedAt     string `json:"executed_at,omitempty"`
	CancelledAt    string `json:"cancelled_at,omitempty"`
	BkashURL       string `json:"bkash_url,omitempty"`
}

func (a *app) printAgreement(ag *bkash.Agreement) error {
	v := agreementView{
		AgreementID: ag.AgreementID, PaymentID: ag.PaymentID, Status: string(ag.Status),
		PayerReference: ag.PayerReference, CustomerMSISDN: ag.CustomerMSISDN,
		CreatedAt: timeText(ag.CreatedAt), ExecutedAt: timeText(ag.ExecutedAt), CancelledAt: timeText(ag.CancelledAt),
		BkashURL: ag.BkashURL,
	}
	return a.emit(v, []field{
		{"Agreement ID", v.AgreementID},
		{"Payment ID", v.PaymentID},
		{"Status", v.Status},
		{"Payer reference", v.PayerReference},
		{"Customer wallet", v.CustomerMSISDN},
		{"Created", v.CreatedAt},
		{"Executed", v.ExecutedAt},
		{"Cancelled", v.CancelledAt},
		{"bKash URL", v.BkashURL},
	})
}
