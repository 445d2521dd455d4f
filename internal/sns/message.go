// Package sns verifies Amazon SNS HTTP messages: it decodes the envelope,
// builds the string that SNS signs, checks certificate and subscribe URLs
// against AWS's host rules, and fetches and caches signing certificates.
//
// It knows nothing about bKash; package bkash builds its WebhookVerifier on
// top of it.
package sns

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// The errors of this package, worded for a webhook user. Package bkash
// declares its own ErrWebhook... values and sets these to them at init, so
// errors.Is works with the names users see; tests of this package alone see
// the values below.
var (
	ErrBadJSON          = errors.New("bkash: webhook: body is not a valid SNS JSON message")
	ErrMissingField     = errors.New("bkash: webhook: required field missing")
	ErrMessageType      = errors.New("bkash: webhook: unsupported SNS message type")
	ErrSignatureVersion = errors.New("bkash: webhook: unsupported SignatureVersion")
	ErrBadSignature     = errors.New("bkash: webhook: signature does not verify")
	ErrCertURL          = errors.New("bkash: webhook: SigningCertURL is not an SNS certificate URL")
	ErrSubscribeURL     = errors.New("bkash: webhook: SubscribeURL is not an SNS confirmation URL")
	ErrCertFetch        = errors.New("bkash: webhook: signing certificate unavailable")
)

// The SNS message types.
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// Field names one envelope key.
type Field uint8

// The envelope keys the verifier reads.
const (
	FieldType Field = iota
	FieldMessageID
	FieldTopicARN
	FieldSubject
	FieldMessage
	FieldTimestamp
	FieldSignatureVersion
	FieldSignature
	FieldSigningCertURL
	FieldSubscribeURL
	FieldUnsubscribeURL
	FieldToken
	numFields
)

var fieldNames = [numFields]string{
	"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
	"SignatureVersion", "Signature", "SigningCertURL", "SubscribeURL",
	"UnsubscribeURL", "Token",
}

// String returns the JSON key, e.g. "MessageId".
func (f Field) String() string { return fieldNames[f] }

func fieldOf(key string) (Field, bool) {
	for f, name := range fieldNames {
		if name == key { // exactly: "message" is not "Message"
			return Field(f), true
		}
	}
	return 0, false
}

// Message is a decoded SNS envelope. Every value is the decoded JSON string
// exactly as received; nothing is re-serialised.
type Message struct {
	values  [numFields]string
	present [numFields]bool // key f was present with a string value
}

// Get returns the value of f ("" when absent).
func (m *Message) Get(f Field) string { return m.values[f] }

// Has reports whether key f was present with a string value (possibly "").
// A key whose value is null counts as absent, as in AWS's own validators.
func (m *Message) Has(f Field) bool { return m.present[f] }

// Set stores v for f and marks it present (for tests and tools).
func (m *Message) Set(f Field, v string) {
	m.values[f] = v
	m.present[f] = true
}

// Type returns the message type.
func (m *Message) Type() string { return m.values[FieldType] }

// MessageID returns the SNS MessageId.
func (m *Message) MessageID() string { return m.values[FieldMessageID] }

// TopicARN returns the topic ARN.
func (m *Message) TopicARN() string { return m.values[FieldTopicARN] }

// Subject returns the subject, if any.
func (m *Message) Subject() string { return m.values[FieldSubject] }

// Message returns the Message string as received.
func (m *Message) Message() string { return m.values[FieldMessage] }

// Timestamp returns the Timestamp text.
func (m *Message) Timestamp() string { return m.values[FieldTimestamp] }

// SignatureVersion returns the SignatureVersion.
func (m *Message) SignatureVersion() string { return m.values[FieldSignatureVersion] }

// Signature returns the base64 Signature.
func (m *Message) Signature() string { return m.values[FieldSignature] }

// SigningCertURL returns the SigningCertURL.
func (m *Message) SigningCertURL() string { return m.values[FieldSigningCertURL] }

// SubscribeURL returns the SubscribeURL.
func (m *Message) SubscribeURL() string { return m.values[FieldSubscribeURL] }

// UnsubscribeURL returns the UnsubscribeURL.
func (m *Message) UnsubscribeURL() string { return m.values[FieldUnsubscribeURL] }

// Token returns the confirmation Token.
func (m *Message) Token() string { return m.values[FieldToken] }

// Parse decodes an SNS envelope. body must be one JSON object. Keys other
// than the ones listed in Field (MessageAttributes, ...) are skipped. A known
// key must hold a string or null and must not appear twice: two values for a
// signed field would let two parsers disagree about what was verified.
func Parse(body string) (*Message, error) {
	members, err := ReadObject(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadJSON, err)
	}
	m := new(Message)
	var seen [numFields]bool
	for _, member := range members {
		f, known := fieldOf(member.Key)
		if !known {
			continue
		}
		if seen[f] {
			return nil, fmt.Errorf("%w: duplicate key %q", ErrBadJSON, member.Key)
		}
		seen[f] = true
		switch v := member.Value.(type) {
		case string:
			m.Set(f, v)
		case nil:
			// null counts as absent
		default:
			return nil, fmt.Errorf("%w: %s is not a string", ErrBadJSON, member.Key)
		}
	}
	return m, nil
}

// Check verifies that the keys the message type signs, and the keys needed
// to verify it, are present and non-empty.
func (m *Message) Check() error {
	required := []Field{FieldType, FieldMessageID, FieldTopicARN, FieldMessage,
		FieldTimestamp, FieldSignatureVersion, FieldSignature, FieldSigningCertURL}
	for _, f := range required {
		if m.values[f] == "" {
			return fmt.Errorf("%w: %s", ErrMissingField, f)
		}
	}
	switch m.Type() {
	case TypeNotification:
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		for _, f := range []Field{FieldSubscribeURL, FieldToken} {
			if m.values[f] == "" {
				return fmt.Errorf("%w: %s", ErrMissingField, f)
			}
		}
	default:
		return fmt.Errorf("%w: %.40q", ErrMessageType, m.Type())
	}
	switch m.SignatureVersion() {
	case "1", "2":
	default:
		return fmt.Errorf("%w: %.10q (want \"1\" or \"2\")", ErrSignatureVersion, m.SignatureVersion())
	}
	return nil
}

var (
	notificationKeys = []Field{FieldMessage, FieldMessageID, FieldSubject, FieldTimestamp, FieldTopicARN, FieldType}
	confirmationKeys = []Field{FieldMessage, FieldMessageID, FieldSubscribeURL, FieldTimestamp, FieldToken, FieldTopicARN, FieldType}
)

// AppendStringToSign appends the string SNS signs for m to dst: for each key
// of the message type, in this order, "key\nvalue\n"; a Notification signs
// Message, MessageId, Subject, Timestamp, TopicArn, Type, and the two
// confirmation types sign Message, MessageId, SubscribeURL, Timestamp,
// Token, TopicArn, Type. Absent keys are skipped.
//
// Subject is signed only when the notification has one. SNS never publishes
// an empty subject (Publish requires one to start with a letter, digit or
// punctuation), yet relays that re-encode SNS messages add "Subject": "";
// such a key is skipped unless emptySubject is true. VerifySignature tries
// both forms for that case only.
func AppendStringToSign(dst []byte, m *Message, emptySubject bool) ([]byte, error) {
	var keys []Field
	switch m.Type() {
	case TypeNotification:
		keys = notificationKeys
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		keys = confirmationKeys
	default:
		return dst, fmt.Errorf("%w: %.40q", ErrMessageType, m.Type())
	}
	for _, f := range keys {
		if !m.Has(f) {
			continue
		}
		v := m.values[f]
		if f == FieldSubject && v == "" && !emptySubject {
			continue
		}
		dst = append(dst, fieldNames[f]...)
		dst = append(dst, '\n')
		dst = append(dst, v...)
		dst = append(dst, '\n')
	}
	return dst, nil
}

// VerifyMessage checks m's signature with the certificate's RSA key. m must
// have passed Check.
func VerifyMessage(m *Message, pub *rsa.PublicKey) error {
	text, err := AppendStringToSign(nil, m, false)
	if err != nil {
		return err
	}
	err = VerifySignature(pub, m.SignatureVersion(), text, m.Signature())
	if err != nil && m.Has(FieldSubject) && m.Subject() == "" && m.Type() == TypeNotification {
		// Signed with the empty Subject a relay's copy still carries (see
		// AppendStringToSign).
		text, _ = AppendStringToSign(nil, m, true)
		err = VerifySignature(pub, m.SignatureVersion(), text, m.Signature())
	}
	return err
}

// VerifySignature checks a base64 signature over stringToSign with the
// algorithm of SignatureVersion version ("1": SHA1withRSA, "2":
// SHA256withRSA). It is the primitive VerifyMessage uses, exposed for
// tests that hold a string to sign and a certificate but no verifiable URL.
func VerifySignature(pub *rsa.PublicKey, version string, stringToSign []byte, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrBadSignature)
	}
	return verify(pub, version, stringToSign, sig)
}

func verify(pub *rsa.PublicKey, version string, msg, sig []byte) error {
	var err error
	switch version {
	case "1":
		h := sha1.Sum(msg)
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA1, h[:], sig)
	case "2":
		h := sha256.Sum256(msg)
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
	default:
		return fmt.Errorf("%w: %.10q", ErrSignatureVersion, version)
	}
	if err != nil {
		return ErrBadSignature
	}
	return nil
}
