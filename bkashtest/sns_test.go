package bkashtest_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/internal/sns"
)

func newSigner(t *testing.T) *bkashtest.SNSSigner {
	t.Helper()
	s, err := bkashtest.NewSNSSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSNSSignerIdentity(t *testing.T) {
	t.Parallel()
	a, b := newSigner(t), newSigner(t)
	if err := sns.CheckCertURL(a.CertURL()); err != nil {
		t.Errorf("CertURL %q breaks the SNS rules: %v", a.CertURL(), err)
	}
	if !sns.IsTopicARN(a.TopicARN()) || !strings.HasPrefix(a.TopicARN(), "arn:aws:sns:ap-southeast-1:") {
		t.Errorf("TopicARN %q", a.TopicARN())
	}
	if a.CertURL() == b.CertURL() || a.TopicARN() == b.TopicARN() {
		t.Error("two signers share a certificate URL or topic")
	}
	cert, err := sns.ParseCertificatePEM(a.CertificatePEM())
	if err != nil || !cert.Equal(a.Certificate()) {
		t.Fatalf("CertificatePEM does not hold Certificate: %v", err)
	}
	got, err := a.CertFetcher()(context.Background(), a.CertURL())
	if err != nil || !got.Equal(a.Certificate()) {
		t.Fatalf("CertFetcher(CertURL): %v", err)
	}
	if _, err := a.CertFetcher()(context.Background(), b.CertURL()); err == nil {
		t.Error("CertFetcher serves another signer's URL")
	}
}

// The signature over StringToSign verifies with the certificate's key, with
// SHA-1 for version 1 and SHA-256 for version 2.
func TestSNSSignerSignsLikeSNS(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	pub := s.Certificate().PublicKey.(*rsa.PublicKey)
	for _, version := range []string{"1", "2"} {
		m := s.NewNotification([]byte(`{"trxID":"T"}`), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		m.SignatureVersion = version
		m.Subject = "Hello"
		if err := s.Sign(m); err != nil {
			t.Fatal(err)
		}
		text, err := m.StringToSign()
		if err != nil {
			t.Fatal(err)
		}
		want := "Message\n{\"trxID\":\"T\"}\nMessageId\n" + m.MessageID + "\nSubject\nHello\nTimestamp\n2025-01-01T00:00:00.000Z\nTopicArn\n" +
			s.TopicARN() + "\nType\nNotification\n"
		if text != want {
			t.Errorf("StringToSign:\n%q\nwant\n%q", text, want)
		}
		sig, err := base64.StdEncoding.DecodeString(m.Signature)
		if err != nil {
			t.Fatal(err)
		}
		if version == "1" {
			h := sha1.Sum([]byte(text))
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA1, h[:], sig)
		} else {
			h := sha256.Sum256([]byte(text))
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
		}
		if err != nil {
			t.Errorf("version %s: %v", version, err)
		}
	}
}

func TestSNSSignerBodies(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	v, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(s.TopicARN()), bkash.WithCertFetcher(s.CertFetcher()))
	if err != nil {
		t.Fatal(err)
	}
	note, err := s.Notification([]byte(`{"trxID":"TX1","amount":"10","transactionStatus":"Completed"}`))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := v.Verify(context.Background(), note)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Notification.TrxID != "TX1" || msg.Notification.Amount != bkash.Taka(10) {
		t.Errorf("notification %+v", msg.Notification)
	}
	var fields map[string]any
	if err := json.Unmarshal(note, &fields); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"Subject", "Token", "SubscribeURL"} {
		if _, ok := fields[absent]; ok {
			t.Errorf("notification carries %s", absent)
		}
	}
	conf, err := s.SubscriptionConfirmation()
	if err != nil {
		t.Fatal(err)
	}
	msg, err = v.Verify(context.Background(), conf)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Type != bkash.WebhookSubscriptionConfirmation || !strings.Contains(msg.SubscribeURL, "Token="+msg.Token) {
		t.Errorf("confirmation %+v", msg)
	}
	un := s.NewUnsubscribeConfirmation(time.Now())
	if err := s.Sign(un); err != nil {
		t.Fatal(err)
	}
	if msg, err := v.Verify(context.Background(), un.JSON()); err != nil || msg.Type != bkash.WebhookUnsubscribeConfirmation {
		t.Errorf("unsubscribe confirmation: %v", err)
	}
	at := time.Date(2024, 2, 29, 23, 59, 59, 123_456_789, time.FixedZone("BST", 6*3600))
	b, err := s.NotificationAt([]byte(`{}`), at)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fields); err != nil || fields["Timestamp"] != "2024-02-29T17:59:59.123Z" {
		t.Errorf("Timestamp %v", fields["Timestamp"])
	}
}

func TestSNSSignerErrors(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	if _, err := s.Notification([]byte("{'python': 'dict'}")); err == nil {
		t.Error("Notification accepted a non-JSON message")
	}
	if _, err := s.SignString("3", "x"); err == nil {
		t.Error("SignString accepted version 3")
	}
	m := &bkashtest.SNSMessage{Type: "Other"}
	if err := s.Sign(m); err == nil {
		t.Error("Sign accepted type Other")
	}
	m = s.NewNotification([]byte(`{}`), time.Now())
	m.SignatureVersion = ""
	if err := s.Sign(m); err != nil || m.SignatureVersion != "1" {
		t.Errorf("empty SignatureVersion: %v, %q", err, m.SignatureVersion)
	}
	m.SignatureVersion = "9"
	if err := s.Sign(m); err == nil {
		t.Error("Sign accepted version 9")
	}
}

func TestSNSMessageJSONIsVerbatim(t *testing.T) {
	t.Parallel()
	m := &bkashtest.SNSMessage{Type: "Notification", Message: `{"a":"<&>"}`}
	var back bkashtest.SNSMessage
	if err := json.Unmarshal(m.JSON(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*m, back); diff != "" {
		t.Fatal(diff)
	}
	if strings.Contains(string(m.JSON()), `\u003c`) {
		t.Error("HTML-escaped output; SNS does not escape")
	}
}
