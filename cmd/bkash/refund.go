package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
)

var refundCmd = &command{
	name:    "refund",
	summary: "Refund a payment, or show the refunds made on it",
	subs:    []*command{refundCreateCmd, refundStatusCmd, refundSettleCmd},
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
exit code 3 means it may or may not have been made, and bKash may still be
making it for a minute (its 30-second timeout plus clock skew). Do not refund
again: run the "bkash refund settle" command the error prints, which waits
until the refund can no longer be in flight.`,
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
				return withAdvice(err, settleAdvice(bkash.NewPendingRefund(params, err), p.sku))
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

// settleAdvice tells how to settle an uncertain refund: not before its
// SettleAfter, with the settle command (which waits for it).
func settleAdvice(pr *bkash.PendingRefund, sku string) string {
	if pr == nil {
		return ""
	}
	at := pr.SettleAfter().UTC().Format(time.RFC3339)
	return fmt.Sprintf("The refund may or may not have been made, and bKash may still be making it until %s.\n"+
		"Do NOT refund again. Settle it (this waits until %s if needed):\n"+
		"  bkash refund settle --payment-id %s --trx-id %s --amount %s --sku %q --sent-at %s\n"+
		"To only look: bkash refund status %s %s (a refund missing there before %s may still appear).",
		at, at, pr.PaymentID, pr.TrxID, pr.Amount, sku, pr.SentAt.UTC().Format(time.RFC3339Nano), pr.PaymentID, pr.TrxID, at)
}

var refundSettleCmd = &command{
	name:    "settle",
	summary: "Find out whether a refund whose outcome was unknown was made",
	detail: `Find out whether a refund whose outcome was unknown was made, from the refund
status of the payment. A refund missing from the status is "not made" only when
the status was read a minute (bKash's 30-second timeout plus clock skew) after
the refund was sent (--sent-at, printed by "bkash refund create"); before then
the command waits, up to --timeout beyond that minute.

Prints the outcome: "made" (with the refund: do not refund again) or "not made"
(it may be sent again). Exit code 3: not decidable yet (the context ended
before the refund could be settled); run it again later.`,
	setup: func(fs *flag.FlagSet) func(*app, []string) error {
		var p struct{ paymentID, trxID, amount, sku, sentAt, known string }
		fs.StringVar(&p.paymentID, "payment-id", "", "`paymentID` of the refunded payment (required)")
		fs.StringVar(&p.trxID, "trx-id", "", "`trxID` of the refunded payment (required)")
		fs.StringVar(&p.amount, "amount", "", "amount of the uncertain refund in `taka` (required)")
		fs.StringVar(&p.sku, "sku", "", "`SKU` of the uncertain refund, where bKash reports SKUs")
		fs.StringVar(&p.sentAt, "sent-at", "", "when the refund was sent, RFC 3339 `time` as printed by refund create (required)")
		fs.StringVar(&p.known, "known", "", "comma-separated refund `trxIDs` of this payment recorded before the uncertain refund")
		api := refundAPIFlag(fs)
		return func(a *app, _ []string) error {
			if err := required("--payment-id", p.paymentID, "--trx-id", p.trxID, "--amount", p.amount, "--sent-at", p.sentAt); err != nil {
				return err
			}
			amount, err := parseAmount("--amount", p.amount)
			if err != nil {
				return err
			}
			sent, err := time.Parse(time.RFC3339Nano, p.sentAt)
			if err != nil {
				return usagef("--sent-at %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", p.sentAt)
			}
			opt, err := api()
			if err != nil {
				return err
			}
			c, err := a.client(opt)
			if err != nil {
				return err
			}
			pr := &bkash.PendingRefund{PaymentID: p.paymentID, TrxID: p.trxID, Amount: amount, SKU: p.sku, SentAt: sent}
			for _, k := range strings.Split(p.known, ",") {
				if k = strings.TrimSpace(k); k != "" {
					pr.Known = append(pr.Known, k)
				}
			}
			ctx, cancel := context.WithDeadline(a.ctx, later(pr.SettleAfter(), time.Now()).Add(a.g.timeout))
			defer cancel()
			out, rf, err := c.Refunds.Settle(ctx, pr)
			if err != nil {
				return err
			}
			if out == bkash.RefundUndecided {
				// Exit code 3 with the advice, as for the refund itself.
				return withAdvice(&bkash.OutcomeUnknownError{Op: "refund.create", SentAt: sent,
					Err: fmt.Errorf("not settled: the refund is not listed and may still be in flight until %s", pr.SettleAfter().UTC().Format(time.RFC3339))},
					settleAdvice(pr, p.sku))
			}
			v := settleView{Outcome: out.String(), SettleAfter: pr.SettleAfter().UTC().Format(time.RFC3339)}
			fields := []field{{"Outcome", v.Outcome}, {"Settle after", v.SettleAfter}}
			if rf != nil {
				rv := viewRefund(rf)
				v.Refund = &rv
				fields = append(fields, refundFields(rv)...)
			}
			return a.emit(v, fields)
		}
	},
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// settleView is the printed result of refund settle.
type settleView struct {
	Outcome     string      `json:"outcome"` // made or not made
	SettleAfter string      `json:"settle_after"`
	Refund      *refundView `json:"refund,omitempty"`
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
