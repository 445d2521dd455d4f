package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/smartdairy/bkash-go"
)

var webhookCmd = &command{
	name:    "webhook",
	summary: "Verify a saved webhook (SNS) message, or send a signed one",
	subs:    []*command{webhookVerifyCmd, webhookSendCmd},
}

// maxWebhookFile is the verifier's own body limit (64 KiB), plus one byte to
// notice a larger file.
const maxWebhookFile = 64<<10 + 1

var webhookVerifyCmd = &command{
	name: "verify", args: "<file>", nargs: 1,
	summary: "Verify the signature of a saved SNS message and print what it says",
	detail: `Verify a bKash webhook message (an Amazon SNS message body saved to <file>, or
"-" for stdin) exactly as the SDK's webhook handler does: signature, signing
certificate URL, topic and, with --max-age, the message's age. The signing
certificate is fetched from the SNS URL the message names (only from
https://sns.<region>.amazonaws.com); with --cert it is read from a PEM file
instead, for offline checks.

Without --topic the message's own topic is accepted and shown; pass --topic
with your bKash topic ARN to require it. A saved message is usually old, so its
age is not checked unless --max-age is given. Exit code 1 means the message
failed verification.`,
	setup: func(fs *flag.FlagSet) func(*app, []string) error {
		var topic, certFile string
		var maxAge time.Duration
		fs.StringVar(&topic, "topic", "", "require this SNS topic `ARN`")
		fs.StringVar(&certFile, "cert", "", "verify against the certificate in PEM `file` instead of fetching it")
		fs.DurationVar(&maxAge, "max-age", 0, "reject a message older than `duration` (default: age not checked)")
		return func(a *app, args []string) error {
			body, err := readInput(args[0])
			if err != nil {
				return err
			}
			// Read the envelope's topic and time before verifying: they
			// configure the verifier (see the help text).
			var head struct {
				TopicArn  string
				Timestamp string
			}
			_ = json.Unmarshal(body, &head) // a malformed body is the verifier's to reject
			opts := []bkash.WebhookOption{}
			if topic != "" {
				opts = append(opts, bkash.WithAllowedTopicARNs(topic))
			} else {
				opts = append(opts, bkash.WithAllowedTopicARNs(head.TopicArn))
			}
			sent, tsErr := time.Parse(time.RFC3339Nano, head.Timestamp)
			if maxAge > 0 {
				opts = append(opts, bkash.WithMaxMessageAge(maxAge))
			} else if tsErr == nil {
				// Judge the message (and its certificate's validity) at the
				// moment it was sent: the age of a saved message is not the
				// question.
				opts = append(opts, bkash.WithClock(func() time.Time { return sent }))
			}
			if certFile != "" {
				cert, err := readCert(certFile)
				if err != nil {
					return err
				}
				opts = append(opts, bkash.WithCertFetcher(func(context.Context, string) (*x509.Certificate, error) {
					if tsErr == nil && (sent.Before(cert.NotBefore) || sent.After(cert.NotAfter)) {
						return nil, fmt.Errorf("certificate %s is not valid at %s", certFile, head.Timestamp)
					}
					return cert, nil
				}))
			}
			v, err := bkash.NewWebhookVerifier(opts...)
			if err != nil {
				if topic == "" {
					return &rejectedError{fmt.Errorf("no usable TopicArn: %w", err)}
				}
				return usagef("--topic: %v", err)
			}
			ctx, cancel := a.callCtx()
			defer cancel()
			msg, err := v.Verify(ctx, body)
			switch {
			case errors.Is(err, bkash.ErrWebhookCertFetch) && certFile == "":
				return fmt.Errorf("cannot check the signature: %w", err)
			case err != nil:
				return &rejectedError{err}
			}
			return a.printWebhook(msg, topic == "")
		}
	},
}

// readInput reads a file, or stdin for "-", up to the webhook size limit.
func readInput(name string) ([]byte, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxWebhookFile))
	if err != nil {
		return nil, err
	}
	if len(b) == maxWebhookFile {
		return nil, &rejectedError{fmt.Errorf("%s is larger than 64 KiB, the limit for a webhook message", name)}
	}
	return b, nil
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseCert(b, path)
}

func parseCert(b []byte, from string) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", from)
	}
	return x509.ParseCertificate(blk.Bytes)
}

// webhookView is the printed form of a verified message.
type webhookView struct {
	Verified     bool              `json:"verified"`
	TopicChecked bool              `json:"topic_checked"`
	Type         string            `json:"type"`
	MessageID    string            `json:"message_id"`
	TopicARN     string            `json:"topic_arn"`
	Timestamp    string            `json:"timestamp,omitempty"`
	SubscribeURL string            `json:"subscribe_url,omitempty"`
	Notification *notificationView `json:"notification,omitempty"`
}

type notificationView struct {
	TrxID                  string `json:"trx_id,omitempty"`
	Amount                 string `json:"amount,omitempty"`
	Currency               string `json:"currency,omitempty"`
	TransactionStatus      string `json:"transaction_status,omitempty"`
	TransactionType        string `json:"transaction_type,omitempty"`
	DebitMSISDN            string `json:"debit_msisdn,omitempty"`
	MerchantInvoiceNumber  string `json:"merchant_invoice_number,omitempty"`
	TransactionReference   string `json:"transaction_reference,omitempty"`
	CreditShortCode        string `json:"credit_short_code,omitempty"`
	CreditOrganizationName string `json:"credit_organization_name,omitempty"`
	DateTime               string `json:"date_time,omitempty"`
}

func (a *app) printWebhook(m *bkash.WebhookMessage, anyTopic bool) error {
	v := webhookView{Verified: true, TopicChecked: !anyTopic, Type: string(m.Type), MessageID: m.MessageID, TopicARN: m.TopicARN, SubscribeURL: m.SubscribeURL}
	if !m.Timestamp.IsZero() {
		v.Timestamp = m.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	if n := m.Notification; n != nil {
		v.Notification = &notificationView{
			TrxID: n.TrxID, Amount: amountText(n.Amount), Currency: n.Currency,
			TransactionStatus: n.TransactionStatus, TransactionType: n.TransactionType,
			DebitMSISDN: n.DebitMSISDN, MerchantInvoiceNumber: n.MerchantInvoiceNumber,
			TransactionReference: n.TransactionReference, CreditShortCode: n.CreditShortCode,
			CreditOrganizationName: n.CreditOrganizationName, DateTime: timeText(n.DateTime),
		}
	}
	topic := v.TopicARN
	if anyTopic {
		topic += " (not checked: pass --topic to require it)"
	}
	fields := []field{
		{"Signature", "valid"},
		{"Type", v.Type},
		{"Message ID", v.MessageID},
		{"Topic", topic},
		{"Sent", v.Timestamp},
		{"Subscribe URL", v.SubscribeURL},
	}
	if n := v.Notification; n != nil {
		fields = append(fields,
			field{"Transaction ID", n.TrxID},
			field{"Status", n.TransactionStatus},
			field{"Amount", joinNonEmpty(n.Amount, n.Currency)},
			field{"Transaction type", n.TransactionType},
			field{"Debit wallet", n.DebitMSISDN},
			field{"Invoice", n.MerchantInvoiceNumber},
			field{"Reference", n.TransactionReference},
			field{"Credit short code", n.CreditShortCode},
			field{"Organization", n.CreditOrganizationName},
			field{"Date/time", n.DateTime},
		)
	}
	return a.emit(v, fields)
}
