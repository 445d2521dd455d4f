package bkashtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
)

// SNSSigner plays Amazon SNS for webhook tests: it holds a fresh RSA key and
// a self-signed certificate, and signs SNS messages the way SNS does, so a
// bkash.WebhookVerifier configured with its CertFetcher and TopicARN accepts
// them. Its canonical-string code is written independently of the SDK's, so
// that tests compare two implementations.
type SNSSigner struct {
	key      *rsa.PrivateKey
	cert     *x509.Certificate
	certPEM  []byte
	certURL  string
	topicARN string
}

// NewSNSSigner returns a signer with a new 2048-bit RSA key, a self-signed
// certificate valid from 2000 to 2099 (so tests with any fake clock can use
// the verifier's own downloader), a random certificate URL
// on sns.ap-southeast-1.amazonaws.com and a random topic ARN.
func NewSNSSigner() (*SNSSigner, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	serial := new(big.Int).SetBytes(id[:])
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		DNSNames:     []string{"sns.amazonaws.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	var account strings.Builder
	for _, b := range id[:12] {
		account.WriteByte('0' + b%10)
	}
	return &SNSSigner{
		key:      key,
		cert:     cert,
		certPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		certURL:  "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-" + hex.EncodeToString(id[:]) + ".pem",
		topicARN: "arn:aws:sns:ap-southeast-1:" + account.String() + ":bkashtest",
	}, nil
}

// CertURL returns the SigningCertURL the signer puts in its messages.
func (s *SNSSigner) CertURL() string { return s.certURL }

// TopicARN returns the topic the signer's messages come from.
func (s *SNSSigner) TopicARN() string { return s.topicARN }

// Certificate returns the signer's certificate.
func (s *SNSSigner) Certificate() *x509.Certificate { return s.cert }

// CertificatePEM returns the certificate in PEM form, as SNS serves it (for
// tests that serve it over HTTP to the verifier's own fetcher).
func (s *SNSSigner) CertificatePEM() []byte { return bytes.Clone(s.certPEM) }

// CertFetcher returns a bkash.CertFetcher that knows only this signer's
// certificate URL; any other URL is an error, as a 404 would be.
func (s *SNSSigner) CertFetcher() bkash.CertFetcher {
	return func(_ context.Context, certURL string) (*x509.Certificate, error) {
		if certURL != s.certURL {
			return nil, fmt.Errorf("bkashtest: no certificate at %s", certURL)
		}
		return s.cert, nil
	}
}

// SNSMessage is an SNS HTTP message. Empty fields are left out of the JSON
// (and of the string to sign), as SNS leaves out absent keys.
type SNSMessage struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	Token            string `json:"Token,omitempty"`
	TopicARN         string `json:"TopicArn"`
	Subject          string `json:"Subject,omitempty"`
	Message          string `json:"Message"`
	SubscribeURL     string `json:"SubscribeURL,omitempty"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	UnsubscribeURL   string `json:"UnsubscribeURL,omitempty"`
}

// JSON encodes the message as SNS does (no HTML escaping).
func (m *SNSMessage) JSON() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		panic(err) // only strings: cannot fail
	}
	return buf.Bytes()
}

// StringToSign returns the text SNS signs for m: "key\nvalue\n" for each
// key of its type, in order, skipping empty ones (Notification: Message,
// MessageId, Subject, Timestamp, TopicArn, Type; the confirmations:
// Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type).
func (m *SNSMessage) StringToSign() (string, error) {
	var pairs [][2]string
	switch m.Type {
	case "Notification":
		pairs = [][2]string{{"Message", m.Message}, {"MessageId", m.MessageID}, {"Subject", m.Subject},
			{"Timestamp", m.Timestamp}, {"TopicArn", m.TopicARN}, {"Type", m.Type}}
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		pairs = [][2]string{{"Message", m.Message}, {"MessageId", m.MessageID}, {"SubscribeURL", m.SubscribeURL},
			{"Timestamp", m.Timestamp}, {"Token", m.Token}, {"TopicArn", m.TopicARN}, {"Type", m.Type}}
	default:
		return "", fmt.Errorf("bkashtest: cannot sign SNS message type %q", m.Type)
	}
	var b strings.Builder
	for _, p := range pairs {
		if p[1] == "" {
			continue
		}
		b.WriteString(p[0] + "\n" + p[1] + "\n")
	}
	return b.String(), nil
}

// SignString signs text with the signer's key: version "1" is SHA1withRSA,
// "2" SHA256withRSA. It returns base64, the form of the Signature field.
// Tests use it to sign strings no well-formed message would produce.
func (s *SNSSigner) SignString(version, text string) (string, error) {
	var (
		h   crypto.Hash
		sum []byte
	)
	switch version {
	case "1":
		d := sha1.Sum([]byte(text))
		h, sum = crypto.SHA1, d[:]
	case "2":
		d := sha256.Sum256([]byte(text))
		h, sum = crypto.SHA256, d[:]
	default:
		return "", fmt.Errorf("bkashtest: unknown SignatureVersion %q", version)
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, h, sum)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Sign sets m.Signature for m's current fields, with m.SignatureVersion
// ("1" when empty). SigningCertURL is not signed and is left as it is.
func (s *SNSSigner) Sign(m *SNSMessage) error {
	if m.SignatureVersion == "" {
		m.SignatureVersion = "1"
	}
	text, err := m.StringToSign()
	if err != nil {
		return err
	}
	m.Signature, err = s.SignString(m.SignatureVersion, text)
	return err
}

// NewNotification returns an unsigned Notification carrying message (the
// inner bKash JSON), published at t, with SignatureVersion "1".
func (s *SNSSigner) NewNotification(message []byte, t time.Time) *SNSMessage {
	id := newUUID()
	return &SNSMessage{
		Type:             "Notification",
		MessageID:        id,
		TopicARN:         s.topicARN,
		Message:          string(message),
		Timestamp:        snsTime(t),
		SignatureVersion: "1",
		SigningCertURL:   s.certURL,
		UnsubscribeURL: "https://sns.ap-southeast-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" +
			s.topicARN + ":" + newUUID(),
	}
}

// NewSubscriptionConfirmation returns an unsigned SubscriptionConfirmation
// published at t, with a random Token and a ConfirmSubscription link.
func (s *SNSSigner) NewSubscriptionConfirmation(t time.Time) *SNSMessage {
	return s.newConfirmation("SubscriptionConfirmation", t,
		"You have chosen to subscribe to the topic "+s.topicARN+
			".\nTo confirm the subscription, visit the SubscribeURL included in this message.")
}

// NewUnsubscribeConfirmation returns an unsigned UnsubscribeConfirmation
// published at t.
func (s *SNSSigner) NewUnsubscribeConfirmation(t time.Time) *SNSMessage {
	return s.newConfirmation("UnsubscribeConfirmation", t,
		"You have chosen to deactivate subscription "+s.topicARN+
			".\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.")
}

func (s *SNSSigner) newConfirmation(typ string, t time.Time, text string) *SNSMessage {
	var tok [64]byte
	_, _ = rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	return &SNSMessage{
		Type:             typ,
		MessageID:        newUUID(),
		Token:            token,
		TopicARN:         s.topicARN,
		Message:          text,
		SubscribeURL:     "https://sns.ap-southeast-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + s.topicARN + "&Token=" + token,
		Timestamp:        snsTime(t),
		SignatureVersion: "1",
		SigningCertURL:   s.certURL,
	}
}

// Notification returns a whole signed SNS Notification body (SignatureVersion
// "1", published now) whose Message is message.
func (s *SNSSigner) Notification(message []byte) ([]byte, error) {
	return s.NotificationAt(message, time.Now())
}

// NotificationAt is Notification published at t, for servers and tests with
// their own clock.
func (s *SNSSigner) NotificationAt(message []byte, t time.Time) ([]byte, error) {
	if !json.Valid(message) {
		return nil, errors.New("bkashtest: notification message is not JSON")
	}
	m := s.NewNotification(message, t)
	if err := s.Sign(m); err != nil {
		return nil, err
	}
	return m.JSON(), nil
}

// SubscriptionConfirmation returns a whole signed SubscriptionConfirmation
// body published now.
func (s *SNSSigner) SubscriptionConfirmation() ([]byte, error) {
	m := s.NewSubscriptionConfirmation(time.Now())
	if err := s.Sign(m); err != nil {
		return nil, err
	}
	return m.JSON(), nil
}

// snsTime formats t as SNS does: UTC, milliseconds, "Z".
func snsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
