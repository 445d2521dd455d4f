package main

import (
	"flag"
	"fmt"

	"github.com/smartdairy/bkash-go"
)

var refundCmd = &command{
	name:    "refund",
	summary: "Refund a payment, or show the refunds made on it",
	subs:    []*command{refundCreateCmd, refundStatusCmd},
}

// refundAPIFlag defines --refund-api and returns the option it selects.
func refundAPIFlag(fs *flag.FlagSet) func() (bkash.Option, error) {
	api := fs.String("refund-api", "v1", "bKash refund API: `v1` (payment/refund of v1.2.0-beta) or v2 (/v2/tokenized-checkout/refund)")
	return func() (bkash.Option, error) {
		switch *api {
		case "v1":
			return bkash.WithRefundAPI(bkash.RefundV1), nil
		case "v2":
			return bkash.WithRefundAPI(bkash.RefundV2), nil
		}
		return nil, usagef("--refund-api must be v1 or v2, not %q", *api)
	}
}

var refundCreateCmd = &command{
	name:    "create",
	summary: "Refund all or part of a completed payment (moves money; sent at most once)",
	detail: `Refund all or part of a completed payment. The refund is sent at most once:
exit code 3 means it may or may not have been made; check "bkash refund status"
before refunding again.`,
	setup: func(fs *flag.FlagSet) func(*app, []string) error {
		var p struct{ paymentID, trxID, amount, sku, reason string }
		fs.StringVar(&p.paymentID, "payment-id", "", "`paymentID` of the payment to refund (required)")
		fs.StringVar(&p.trxID, "trx-id", "", "`trxID` of the payment to refund (required)")
		fs.StringVar(&p.amount, "amount", "", "amount to refund in `taka`, e.g. 200 or 25.20 (required)")
		fs.StringVar(&p.sku, "sku", "", "`SKU` of the refunded item (required by bKash)")
		fs.StringVar(&p.reason, "reason", "", "`reason` for the refund (required by bKash)")
		api := refundAPIFlag(fs)
		return func(a *app, _ []string) error {
			if err := required("--payment-id", p.paymentID, "--trx-id", p.trxID, "--amount", p.amount, "--sku", p.sku, "--reason", p.reason); err != nil {
				return err
			}
			amount, err := parseAmount("--amount", p.amount)
			if err != nil {
				return err
			}
			opt, err := api()
			if err != nil {
				return err
			}
			params := &bkash.RefundParams{
				PaymentID: p.paymentID, TrxID: p.trxID, Amount: amount, SKU: p.sku, Reason: p.reason,
			}
			if err := params.Validate(); err != nil {
				return flagError(err)
			}
			c, err := a.client(opt)
			if err != nil {
				return err
			}
			ctx, cancel := a.callCtx()
			defer cancel()
			rf, err := c.Refunds.Create(ctx, params)
			if err != nil {
				return withAdvice(err, fmt.Sprintf("The refund may or may not have been made.\nDo NOT refund again before checking:\n  bkash refund status %s %s", p.paymentID, p.trxID))
			}
			v := viewRefund(rf)
			return a.emit(v, refundFields(v))
		}
	},
}

var refundStatusCmd = &command{
	name: "status", args: "<paymentID> <trxID>", nargs: 2,
	summary: "Show the refunds made on a payment",
	setup: func(fs *flag.FlagSet) func(*app, []string) error {
		api := refundAPIFlag(fs)
		return func(a *app, args []string) error {
			opt, err := api()
			if err != nil {
				return err
			}
			c, err := a.client(opt)
			if err != nil {
				return err
			}
			ctx, cancel := a.callCtx()
			defer cancel()
			st, err := c.Refunds.Status(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			v := refundStatusView{OriginalTrxID: st.OriginalTrxID, OriginalAmount: amountText(st.OriginalAmount), Refunds: []refundView{}}
			for i := range st.Refunds {
				v.Refunds = append(v.Refunds, viewRefund(&st.Refunds[i]))
			}
			if a.g.json {
				return writeJSON(a.stdout, v)
			}
			writeFields(a.stdout, []field{{"Original trxID", v.OriginalTrxID}, {"Original amount", v.OriginalAmount}, {"Refunds", fmt.Sprint(len(v.Refunds))}})
			for _, r := range v.Refunds {
				fmt.Fprintln(a.stdout)
				writeFields(a.stdout, refundFields(r))
			}
			return nil
		}
	},
}

// refundView is the printed form of a refund.
type refundView struct {
	RefundTrxID   string `json:"refund_trx_id"`
	OriginalTrxID string `json:"original_trx_id,omitempty"`
	Status        string `json:"status,omitempty"`
	Amount        string `json:"amount,omitempty"`
	Charge        string `json:"charge,omitempty"`
	Currency      string `json:"currency,omitempty"`
	SKU           string `json:"sku,omitempty"`
	Reason        string `json:"reason,omitempty"`
	CompletedAt   string `json:"completed_at,omitempty"`
}

type refundStatusView struct {
	OriginalTrxID  string       `json:"original_trx_id"`
	OriginalAmount string       `json:"original_amount,omitempty"`
	Refunds        []refundView `json:"refunds"`
}

func viewRefund(r *bkash.Refund) refundView {
	return refundView{
		RefundTrxID: r.RefundTrxID, OriginalTrxID: r.OriginalTrxID, Status: string(r.Status),
		Amount: amountText(r.Amount), Charge: r.Charge.String(), Currency: r.Currency,
		SKU: r.SKU, Reason: r.Reason, CompletedAt: timeText(r.CompletedAt),
	}
}

func refundFields(v refundView) []field {
	return []field{
		{"Refund trxID", v.RefundTrxID},
		{"Original trxID", v.OriginalTrxID},
		{"Status", v.Status},
		{"Amount", joinNonEmpty(v.Amount, v.Currency)},
		{"Charge", v.Charge},
		{"SKU", v.SKU},
		{"Reason", v.Reason},
		{"Completed", v.CompletedAt},
	}
}
