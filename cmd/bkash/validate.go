package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// sandboxWallet is the sandbox wallet that pays successfully (docs/wire.md,
// "Sandbox").
const sandboxWallet = "01770618575"

var validateCmd = &command{
	name:    "validate",
	summary: "Run bKash's go-live validation flow and write the report bKash asks for",
	detail: `Validate runs the flow bKash's merchant integration portal asks for before a
merchant goes live, against the sandbox: grant token, create payment, execute,
query, search, refund and refund status, with one paymentID across create,
execute and query. It prints the bkashURL and waits (--wait) for you to approve
the payment in a browser with a sandbox wallet (01770618575, OTP 123456,
PIN 12121). With --fake it runs against an in-process fake bKash that approves
the payment itself, needing no credentials.

Every request and response is recorded in order and written to --out (Markdown,
one section per step with API title, URL, request body and response, in the
portal's order) and to the same name with .json. Credentials and tokens are
redacted; the files are checked for them before anything is written.`,
	setup: func(fs *flag.FlagSet) func(*app, []string) error {
		var o validateOptions
		fs.StringVar(&o.out, "out", "bkash-validation.md", "write the report to `file` (and the same name with .json)")
		fs.BoolVar(&o.fake, "fake", false, "run against an in-process fake bKash instead of the sandbox")
		fs.StringVar(&o.amount, "amount", "10.00", "payment `amount` in taka")
		fs.StringVar(&o.refund, "refund-amount", "", "`amount` to refund (default: the whole payment)")
		fs.StringVar(&o.payer, "payer-ref", sandboxWallet, "payer `reference` sent on create")
		fs.StringVar(&o.invoice, "invoice", "", "merchant invoice `number` (default: VALIDATE-<unix time>)")
		fs.StringVar(&o.callback, "callback", "https://example.com/bkash/callback", "callback `URL` sent on create (the browser lands there after approval)")
		fs.DurationVar(&o.wait, "wait", 10*time.Minute, "how long to wait for the payment to be approved")
		fs.DurationVar(&o.poll, "poll", 3*time.Second, "how often to query the payment while waiting")
		o.api = refundAPIFlag(fs)
		return o.run
	},
}

type validateOptions struct {
	out, amount, refund, payer, invoice, callback string
	fake                                          bool
	wait, poll                                    time.Duration
	api                                           func() (bkash.Option, error)
}

// validation is one run of the flow.
type validation struct {
	a       *app
	o       *validateOptions
	c       *bkash.Client
	rec     *recorder
	srv     *bkashtest.Server // with --fake
	amount  bkash.Amount
	refund  bkash.Amount
	invoice string
	rep     report
}

func (o *validateOptions) run(a *app, _ []string) error {
	if a.g.production {
		return usagef("validate runs against the sandbox only; --production is not allowed")
	}
	if o.fake && a.g.baseURL != "" {
		return usagef("--fake and --base-url exclude each other")
	}
	if o.wait <= 0 || o.poll <= 0 {
		return usagef("--wait and --poll must be positive")
	}
	// Fail before the flow (which makes a refund) if the report cannot be
	// written where asked.
	if st, err := os.Stat(filepath.Dir(o.out)); err != nil || !st.IsDir() {
		return usagef("--out %s: directory %s does not exist", o.out, filepath.Dir(o.out))
	}
	v := &validation{a: a, o: o, invoice: o.invoice}
	var err error
	if v.amount, err = parseAmount("--amount", o.amount); err != nil {
		return err
	}
	v.refund = v.amount
	if o.refund != "" {
		if v.refund, err = parseAmount("--refund-amount", o.refund); err != nil {
			return err
		}
	}
	if v.invoice == "" {
		v.invoice = fmt.Sprintf("VALIDATE-%d", time.Now().Unix())
	}
	apiOpt, err := o.api()
	if err != nil {
		return err
	}

	var creds bkash.Credentials
	env := "sandbox"
	if o.fake {
		v.srv = bkashtest.NewServer()
		defer v.srv.Close()
		creds = v.srv.Credentials()
		a.g.baseURL = v.srv.URL
		// The fake lives as long as this run, on a random port: a cached
		// token could never be used again, and a file per run piles up.
		a.g.noTokenCache = true
		env = "fake bKash (bkashtest)"
	} else if creds, err = a.credentials(); err != nil {
		return err
	}
	v.rec = newRecorder(a.roundTripper(), creds.Username, string(creds.Password), creds.AppKey, string(creds.AppSecret))
	hc := &http.Client{Transport: v.rec, Timeout: httpTimeout}
	// A fresh token, so that the grant is part of the report.
	if v.c, err = a.newClient(creds, hc, true, apiOpt); err != nil {
		return err
	}
	base := a.environment().BaseURL()
	if a.g.baseURL != "" {
		base = a.g.baseURL
	}
	v.rep = report{
		Title:       "bKash Tokenized Checkout sandbox validation",
		GeneratedAt: time.Now().UTC().Truncate(time.Second),
		Tool:        "bkash CLI " + cliVersion() + " (bkash-go " + bkash.Version + ")",
		Environment: env,
		BaseURL:     base,
	}

	flowErr := v.flow()
	v.rep.Exchanges = v.rec.exchanges()
	v.rep.Steps = buildSteps(v.rep.Exchanges)
	v.rep.Passed = flowErr == nil
	if flowErr != nil {
		v.rep.Failure = scrub(flowErr.Error(), v.rec.knownSecrets())
	}
	jsonPath, werr := v.rep.write(o.out, v.rec.knownSecrets())
	if werr != nil {
		return errors.Join(flowErr, fmt.Errorf("writing the report: %w", werr))
	}
	if flowErr != nil {
		fmt.Fprintf(a.stderr, "Partial report written to %s and %s.\n", o.out, jsonPath)
		return flowErr
	}
	summary := struct {
		Passed      bool   `json:"passed"`
		Report      string `json:"report"`
		ReportJSON  string `json:"report_json"`
		PaymentID   string `json:"payment_id"`
		TrxID       string `json:"trx_id"`
		RefundTrxID string `json:"refund_trx_id"`
		Requests    int    `json:"requests"`
	}{true, o.out, jsonPath, v.rep.PaymentID, v.rep.TrxID, v.rep.RefundTrxID, len(v.rep.Exchanges)}
	return a.emit(summary, []field{
		{"Validation", fmt.Sprintf("passed (%d steps, %d requests)", len(requiredSteps), summary.Requests)},
		{"Payment ID", summary.PaymentID},
		{"Transaction ID", summary.TrxID},
		{"Refund trxID", summary.RefundTrxID},
		{"Report", summary.Report},
		{"Report (JSON)", summary.ReportJSON},
	})
}

// flow runs the steps in the portal's order. The token is granted by the
// SDK on the first call and recorded as its own step.
func (v *validation) flow() error {
	a, c := v.a, v.c
	step := func(name string, call func(ctx context.Context) error) error {
		v.rec.setStep(name)
		ctx, cancel := a.callCtx()
		defer cancel()
		if err := call(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	var p *bkash.Payment
	err := step(stepCreate, func(ctx context.Context) (err error) {
		p, err = c.Payments.Create(ctx, &bkash.CreatePaymentParams{
			Amount: v.amount, InvoiceNumber: v.invoice, PayerReference: v.o.payer,
			CallbackURL: v.o.callback, Intent: bkash.IntentSale,
		})
		return err
	})
	if err != nil {
		return err
	}
	id := p.PaymentID
	v.rep.PaymentID = id
	fmt.Fprintf(a.stderr, "Payment %s created. Approve it in a browser:\n\n  %s\n\n", id, p.BkashURL)
	if v.srv != nil {
		fmt.Fprintf(a.stderr, "(fake bKash: approving with wallet %s)\n", sandboxWallet)
		if err := v.srv.Approve(id, sandboxWallet); err != nil {
			return fmt.Errorf("approving on the fake bKash: %w", err)
		}
	} else {
		fmt.Fprintf(a.stderr, "Sandbox wallet %s, OTP 123456, PIN 12121. Waiting up to %s...\n", sandboxWallet, v.o.wait)
	}
	if err := v.waitApproved(id); err != nil {
		return err
	}

	var ex *bkash.Payment
	err = step(stepExecute, func(ctx context.Context) (err error) {
		ex, err = c.Payments.Execute(ctx, id)
		return withAdvice(err, moneyAdvice("execute", id))
	})
	if err != nil {
		return err
	}
	trx := ex.TrxID
	v.rep.TrxID = trx
	if err := step(stepQuery, func(ctx context.Context) error {
		_, err := c.Payments.Query(ctx, id)
		return err
	}); err != nil {
		return err
	}
	if err := step(stepSearch, func(ctx context.Context) error {
		_, err := c.Payments.Search(ctx, trx)
		return err
	}); err != nil {
		return err
	}
	if err := step(stepRefund, func(ctx context.Context) error {
		rf, err := c.Refunds.Create(ctx, &bkash.RefundParams{
			PaymentID: id, TrxID: trx, Amount: v.refund, SKU: "VALIDATION", Reason: "bKash sandbox validation",
		})
		if err != nil {
			return withAdvice(err, fmt.Sprintf("The refund may or may not have been made.\nDo NOT refund again before checking:\n  bkash refund status %s %s", id, trx))
		}
		v.rep.RefundTrxID = rf.RefundTrxID
		return nil
	}); err != nil {
		return err
	}
	return step(stepRefundStatus, func(ctx context.Context) error {
		_, err := c.Refunds.Status(ctx, id, trx)
		return err
	})
}

// waitApproved queries the payment until the customer has completed
// verification on bKash's page, or --wait passes.
func (v *validation) waitApproved(id string) error {
	deadline := time.Now().Add(v.o.wait)
	for {
		v.rec.setStep(stepWait)
		ctx, cancel := v.a.callCtx()
		q, err := v.c.Payments.Query(ctx, id)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", stepWait, err)
		}
		switch {
		case q.VerificationStatus == "Complete":
			return nil
		case q.Status != bkash.StatusInitiated:
			return fmt.Errorf("payment %s is %s, not approved", id, q.Status)
		}
		if time.Now().Add(v.o.poll).After(deadline) {
			return fmt.Errorf("payment %s was not approved within %s (--wait)", id, v.o.wait)
		}
		select {
		case <-v.a.ctx.Done():
			return v.a.ctx.Err()
		case <-time.After(v.o.poll):
		}
	}
}
