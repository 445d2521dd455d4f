package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

var webhookSendCmd = &command{
	name:    "send",
	summary: "Post one signed bKash notification (SNS) to a URL, as a test trigger",
	detail: `Post one signed bKash payment notification to --to, as Amazon SNS delivers
bKash's webhooks (a text/plain JSON body with the x-amz-sns-* headers): to try
a webhook receiver without a real payment.

With --payment-id, the notification is the one a running "bkash fake" (at
--fake, default --base-url) signs for that completed payment; verify it with
the certificate the fake serves at <fake>/_bkashtest/sns/cert.pem.

Without --payment-id, the payment is described by flags (--trx-id and --amount
at least) and signed with a new key; --cert-out writes the certificate that
verifies it (PEM), for the receiver's certificate-fetch hook.

Without --to, the signed message is printed instead of posted (pipe it to
"bkash webhook verify -"). The message names an SNS-shaped SigningCertURL
(https://sns.<region>.amazonaws.com/SimpleNotificationService-<hex>.pem); no
certificate is published there: receivers must fetch it from the fake or the
--cert-out file through their certificate-fetch hook. Exit code 1 means the
receiver answered something other than 2xx.`,
	setup: func(fs *flag.FlagSet) func(*app, []string) error {
		var o sendOptions
		fs.StringVar(&o.to, "to", "", "post the notification to `url` (default: print it)")
		fs.StringVar(&o.fake, "fake", "", "root `url` of a running bkash fake (default --base-url)")
		fs.StringVar(&o.paymentID, "payment-id", "", "ask the fake to sign the notification of this completed `paymentID`")
		fs.StringVar(&o.trxID, "trx-id", "", "without --payment-id: the payment's `trxID`")
		fs.StringVar(&o.amount, "amount", "", "without --payment-id: the `amount` in taka, e.g. 150.50")
		fs.StringVar(&o.currency, "currency", "BDT", "without --payment-id: the `currency`")
		fs.StringVar(&o.invoice, "invoice", "", "without --payment-id: the merchant invoice `number`")
		fs.StringVar(&o.wallet, "wallet", "01770618575", "without --payment-id: the payer's wallet `number`")
		fs.StringVar(&o.merchant, "merchant", "bkashtest Merchant", "without --payment-id: the merchant's `name`")
		fs.StringVar(&o.shortCode, "short-code", "50022", "without --payment-id: the merchant's short `code`")
		fs.StringVar(&o.topicARN, "topic-arn", "", "without --payment-id: the SNS topic `ARN` (default: a random one)")
		fs.StringVar(&o.certOut, "cert-out", "", "without --payment-id: write the signing certificate (PEM) to `file`")
		return func(a *app, _ []string) error { return a.sendWebhook(o) }
	},
}

type sendOptions struct {
	to, fake, paymentID                      string
	trxID, amount, currency, invoice, wallet string
	merchant, shortCode, topicARN, certOut   string
}

// sendView is what "webhook send" prints.
type sendView struct {
	MessageID      string `json:"message_id"`
	TopicARN       string `json:"topic_arn"`
	TrxID          string `json:"trx_id"`
	SigningCertURL string `json:"signing_cert_url"`
	Certificate    string `json:"certificate"` // where the verifying certificate is
	To             string `json:"to"`
	StatusCode     int    `json:"status_code"`
}

func (a *app) sendWebhook(o sendOptions) error {
	if o.to != "" {
		if _, err := checkTarget(o.to); err != nil {
			return usagef("--to: %v", err)
		}
	}
	var (
		body []byte
		cert string
		err  error
	)
	if o.paymentID != "" {
		body, cert, err = a.notificationFromFake(o)
	} else {
		body, cert, err = notificationFromFlags(o)
	}
	if err != nil {
		return err
	}
	var env struct {
		MessageID      string `json:"MessageId"`
		TopicArn       string
		SigningCertURL string
		Message        string
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("the signed notification is not JSON: %w", err)
	}
	var inner struct {
		TrxID string `json:"trxID"`
	}
	_ = json.Unmarshal([]byte(env.Message), &inner)
	if o.to == "" {
		_, err := a.stdout.Write(body)
		return err
	}
	v := sendView{MessageID: env.MessageID, TopicARN: env.TopicArn, TrxID: inner.TrxID, SigningCertURL: env.SigningCertURL, Certificate: cert, To: o.to}
	v.StatusCode, err = a.postSNS(o.to, body, env.MessageID, env.TopicArn)
	if err != nil {
		return err
	}
	fields := []field{
		{"Sent", fmt.Sprintf("HTTP %d from %s", v.StatusCode, v.To)},
		{"Message ID", v.MessageID},
		{"Transaction ID", v.TrxID},
		{"Topic", v.TopicARN},
		{"Signing cert URL", v.SigningCertURL},
		{"Certificate", v.Certificate},
	}
	if err := a.emit(v, fields); err != nil {
		return err
	}
	if v.StatusCode/100 != 2 {
		return &rejectedError{fmt.Errorf("%s answered HTTP %d", o.to, v.StatusCode)}
	}
	return nil
}

// notificationFromFake asks a running fake to sign the notification of a
// completed payment.
func (a *app) notificationFromFake(o sendOptions) ([]byte, string, error) {
	root := o.fake
	if root == "" {
		root = a.g.baseURL
	}
	if root == "" {
		return nil, "", usagef("--payment-id needs the fake's root: --fake URL (or --base-url)")
	}
	if err := checkRoot(root); err != nil {
		return nil, "", usagef("--fake: %v", err)
	}
	for name, v := range map[string]string{"--trx-id": o.trxID, "--amount": o.amount, "--invoice": o.invoice, "--topic-arn": o.topicARN, "--cert-out": o.certOut} {
		if v != "" {
			return nil, "", usagef("%s describes a payment without --payment-id; the fake knows payment %s", name, o.paymentID)
		}
	}
	root = strings.TrimRight(root, "/")
	ctx, cancel := a.callCtx()
	defer cancel()
	u := root + bkashtest.ControlPrefix + "payments/" + url.PathEscape(o.paymentID) + "/notification"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := (&http.Client{Transport: a.roundTripper()}).Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("asking the fake at %s: %w", root, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxWebhookFile))
	if err != nil {
		return nil, "", fmt.Errorf("asking the fake at %s: %w", root, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			return nil, "", fmt.Errorf("the fake at %s answered HTTP %d (is it a bkash fake?)", root, resp.StatusCode)
		}
		return nil, "", fmt.Errorf("the fake at %s: %s", root, e.Error)
	}
	return b, root + bkashtest.CertPath, nil
}

// notificationFromFlags signs a notification for the payment the flags
// describe, with a new key.
func notificationFromFlags(o sendOptions) ([]byte, string, error) {
	if o.fake != "" {
		return nil, "", usagef("--fake goes with --payment-id")
	}
	if o.trxID == "" || o.amount == "" {
		return nil, "", usagef("give --payment-id (a payment of a running bkash fake), or --trx-id and --amount")
	}
	var amt bkash.Amount
	if err := amt.UnmarshalText([]byte(o.amount)); err != nil || amt <= 0 {
		return nil, "", usagef("--amount: %q is not a positive amount in taka such as 150.50", o.amount)
	}
	if !isWallet(o.wallet) {
		return nil, "", usagef("--wallet: %q is not a wallet number (01XXXXXXXXX)", o.wallet)
	}
	var (
		signer *bkashtest.SNSSigner
		err    error
	)
	if o.topicARN != "" {
		if signer, err = bkashtest.NewSNSSignerForTopic(o.topicARN); err != nil {
			return nil, "", usagef("--topic-arn: %v", strings.TrimPrefix(err.Error(), "bkashtest: "))
		}
	} else if signer, err = bkashtest.NewSNSSigner(); err != nil {
		return nil, "", err
	}
	now := time.Now()
	p := bkashtest.PaymentState{
		TrxID: o.trxID, Amount: amt, Currency: o.currency, InvoiceNumber: o.invoice,
		Wallet: o.wallet, Status: "Completed", UpdatedAt: now,
	}
	body, err := signer.PaymentNotification(p, o.merchant, o.shortCode, now)
	if err != nil {
		return nil, "", err
	}
	cert := "not kept: pass --cert-out to verify this message"
	if o.certOut != "" {
		if err := os.WriteFile(o.certOut, signer.CertificatePEM(), 0o644); err != nil {
			return nil, "", err
		}
		cert = o.certOut
	}
	return body, cert, nil
}

// postSNS posts a notification as SNS does and returns the HTTP status.
func (a *app) postSNS(to string, body []byte, messageID, topic string) (int, error) {
	ctx, cancel := a.callCtx()
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("User-Agent", "Amazon Simple Notification Service Agent")
	h.Set("x-amz-sns-message-type", "Notification")
	h.Set("x-amz-sns-message-id", messageID)
	h.Set("x-amz-sns-topic-arn", topic)
	hc := &http.Client{Transport: a.roundTripper(), CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // SNS does not follow redirects
	}}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting to %s: %w", to, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
