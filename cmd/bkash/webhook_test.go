package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go/bkashtest"
)

const ipnMessage = `{"dateTime":"20250101123110","debitMSISDN":"8801770618575","creditOrganizationName":"Smart Dairy","creditShortCode":"50022","trxID":"CLA7K2M9QZ","transactionStatus":"Completed","transactionType":"10002294","amount":"150.50","currency":"BDT","transactionReference":"A-1001","merchantInvoiceNumber":"A-1001-1"}`

// webhookFixture writes a signed notification, published 50 minutes ago (a
// saved message; the test signer's certificate is valid from an hour ago),
// and the signer's certificate into a temporary directory.
func webhookFixture(t *testing.T) (s *bkashtest.SNSSigner, msgPath, certPath string) {
	t.Helper()
	s, err := bkashtest.NewSNSSigner()
	if err != nil {
		t.Fatal(err)
	}
	body, err := s.NotificationAt([]byte(ipnMessage), time.Now().Add(-50*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	msgPath = filepath.Join(dir, "message.json")
	certPath = filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(msgPath, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, s.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, msgPath, certPath
}

func TestWebhookVerifyWithCertificate(t *testing.T) {
	t.Parallel()
	s, msg, cert := webhookFixture(t)
	r := runCLI(t, nil, "webhook", "verify", msg, "--cert", cert, "--topic", s.TopicARN(), "--json")
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	got := decodeJSON(t, r.stdout)
	want := map[string]any{
		"trx_id": "CLA7K2M9QZ", "amount": "150.50", "currency": "BDT", "transaction_status": "Completed",
		"transaction_type": "10002294", "debit_msisdn": "8801770618575", "merchant_invoice_number": "A-1001-1",
		"transaction_reference": "A-1001", "credit_short_code": "50022", "credit_organization_name": "Smart Dairy",
		"date_time": "2025-01-01T12:31:10+06:00",
	}
	if diff := cmp.Diff(want, got["notification"]); diff != "" {
		t.Errorf("notification (-want +got):\n%s", diff)
	}
	if got["verified"] != true || got["topic_checked"] != true || got["type"] != "Notification" || got["topic_arn"] != s.TopicARN() {
		t.Errorf("envelope fields: %v", got)
	}

	// The human form says the same.
	r = runCLI(t, nil, "webhook", "verify", "--cert", cert, msg)
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Signature          valid", "CLA7K2M9QZ", "150.50 BDT", "(not checked: pass --topic to require it)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestWebhookVerifyRejects(t *testing.T) {
	t.Parallel()
	s, msg, cert := webhookFixture(t)
	body, err := os.ReadFile(msg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tampered := filepath.Join(dir, "tampered.json")
	if err := os.WriteFile(tampered, bytes.Replace(body, []byte(`150.50`), []byte(`950.50`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	other, err := bkashtest.NewSNSSigner()
	if err != nil {
		t.Fatal(err)
	}
	otherCert := filepath.Join(dir, "other.pem")
	if err := os.WriteFile(otherCert, other.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(dir, "page.html")
	if err := os.WriteFile(notJSON, []byte("<html>hello</html>"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"tampered amount", []string{tampered, "--cert", cert}, exitBkash, "signature"},
		{"another signer's certificate", []string{msg, "--cert", otherCert}, exitBkash, "signature"},
		{"wrong topic", []string{msg, "--cert", cert, "--topic", "arn:aws:sns:ap-southeast-1:123456789012:someone-else"}, exitBkash, "topic not allowed"},
		{"too old for --max-age", []string{msg, "--cert", cert, "--max-age", "10m"}, exitBkash, "too old"},
		{"not an SNS message", []string{notJSON, "--cert", cert}, exitBkash, "rejected"},
		{"missing file", []string{filepath.Join(dir, "nope.json"), "--cert", cert}, exitOther, "no such file"},
		{"not a topic ARN", []string{msg, "--cert", cert, "--topic", "bkash"}, exitUsage, "--topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, append([]string{"webhook", "verify"}, tt.args...)...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, r.stderr)
			}
			if strings.Contains(r.stdout, "valid") {
				t.Errorf("a rejected message printed as valid:\n%s", r.stdout)
			}
		})
	}
	_ = s
}
