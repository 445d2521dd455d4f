package sns_test

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/internal/sns"
)

var signer = sync.OnceValue(func() *bkashtest.SNSSigner {
	s, err := bkashtest.NewSNSSigner()
	if err != nil {
		panic(err)
	}
	return s
})

func pub(s *bkashtest.SNSSigner) *rsa.PublicKey { return s.Certificate().PublicKey.(*rsa.PublicKey) }

func TestParseReadsTheEnvelope(t *testing.T) {
	t.Parallel()
	body := `{
  "Type" : "Notification",
  "MessageId" : "m-1",
  "TopicArn" : "arn:aws:sns:ap-southeast-1:123456789012:t",
  "Subject" : null,
  "Message" : "{\"trxID\":\"X\"}",
  "Timestamp" : "2025-01-01T06:31:11.512Z",
  "SignatureVersion" : "2",
  "Signature" : "c2ln",
  "SigningCertURL" : "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-1.pem",
  "UnsubscribeURL" : "https://sns.ap-southeast-1.amazonaws.com/?Action=Unsubscribe",
  "MessageAttributes" : {"a": {"Type": "String", "Value": "b"}},
  "Extra": [1, 2.5, true]
}`
	m, err := sns.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for f := sns.FieldType; f <= sns.FieldToken; f++ {
		if m.Has(f) {
			got[f.String()] = m.Get(f)
		}
	}
	want := map[string]string{
		"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:ap-southeast-1:123456789012:t",
		"Message": `{"trxID":"X"}`, "Timestamp": "2025-01-01T06:31:11.512Z", "SignatureVersion": "2",
		"Signature": "c2ln", "SigningCertURL": "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-1.pem",
		"UnsubscribeURL": "https://sns.ap-southeast-1.amazonaws.com/?Action=Unsubscribe",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("fields (-want +got):\n%s", diff)
	}
	if m.Has(sns.FieldSubject) {
		t.Error("a null Subject counts as present")
	}
	accessors := []string{m.Type(), m.MessageID(), m.TopicARN(), m.Subject(), m.Message(), m.Timestamp(),
		m.SignatureVersion(), m.Signature(), m.SigningCertURL(), m.SubscribeURL(), m.UnsubscribeURL(), m.Token()}
	for f, v := range accessors {
		if v != m.Get(sns.Field(f)) {
			t.Errorf("accessor for %s = %q, Get = %q", sns.Field(f), v, m.Get(sns.Field(f)))
		}
	}
}

func TestParseRejectsAmbiguousEnvelopes(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"duplicate signed key": `{"Message":"a","Message":"b"}`,
		"number for a string":  `{"Timestamp":12}`,
		"object for a string":  `{"Message":{"trxID":"X"}}`,
		"not an object":        `["Message"]`,
		"trailing data":        `{"Type":"Notification"} {}`,
		"empty":                ``,
	} {
		if _, err := sns.Parse(body); !errors.Is(err, sns.ErrBadJSON) {
			t.Errorf("%s: err = %v, want ErrBadJSON", name, err)
		}
	}
	// Unknown keys may repeat: they are not read.
	if _, err := sns.Parse(`{"X":1,"X":2}`); err != nil {
		t.Errorf("repeated unknown key: %v", err)
	}
}

// FuzzParse holds Parse to what makes a signature check mean something:
// every JSON reader sees the values it returns. For each known key, a
// reader that keeps the first of repeated keys and one that keeps the last
// (as json.Unmarshal does) must both find exactly the string Parse found,
// under exactly that key ("message" is another key), or both find null or
// nothing where Parse found nothing.
func FuzzParse(f *testing.F) {
	signed := signer().NewNotification([]byte(`{"trxID":"X"}`), time.Now())
	if err := signer().Sign(signed); err != nil {
		f.Fatal(err)
	}
	f.Add(string(signed.JSON()))
	for _, s := range []string{
		`{"Message":"a","Message":"b"}`, `{"Message":"a","Message":null}`, `{"Message":null,"Message":"b"}`,
		`{"message":"a"}`, `{"Subject":null}`, `{"Message":"a","MESSAGE":"b"}`, `{"Token":1}`, `{"X":1e999,"X":[{}]}`,
		`{"Subject":"\ud800","Type":"\u004eotification"}`, "{\"Type\":\"\xff\"}",
		`{"X":{"Message":"inner"},"Message":"outer"}`, `{"Message":"a"} x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m, err := sns.Parse(body)
		if err != nil {
			if !errors.Is(err, sns.ErrBadJSON) {
				t.Fatalf("error outside ErrBadJSON: %v", err)
			}
			return
		}
		if !json.Valid([]byte(body)) {
			t.Fatalf("accepted what encoding/json refuses: %q", body)
		}
		first, last := map[string]json.RawMessage{}, map[string]json.RawMessage{}
		dec := json.NewDecoder(strings.NewReader(body))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("accepted a body that is not an object: %q", body)
		}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
			if _, seen := first[key.(string)]; !seen {
				first[key.(string)] = raw
			}
			last[key.(string)] = raw
		}
		for f := sns.FieldType; f <= sns.FieldToken; f++ {
			for _, raw := range []json.RawMessage{first[f.String()], last[f.String()]} {
				var s *string // nil for null or absent
				if raw != nil && json.Unmarshal(raw, &s) != nil {
					t.Fatalf("accepted %s holding %s", f, raw)
				}
				if m.Has(f) != (s != nil) || (s != nil && *s != m.Get(f)) {
					t.Fatalf("%s: Parse read %q (present %v), another reader %s", f, m.Get(f), m.Has(f), raw)
				}
			}
		}
	})
}

func validEnvelope(typ string) *sns.Message {
	m := new(sns.Message)
	for f, v := range map[sns.Field]string{
		sns.FieldType: typ, sns.FieldMessageID: "id", sns.FieldTopicARN: "arn:aws:sns:r:1:t", sns.FieldMessage: "m",
		sns.FieldTimestamp: "2025-01-01T00:00:00Z", sns.FieldSignatureVersion: "1", sns.FieldSignature: "s",
		sns.FieldSigningCertURL: "https://sns.ap-southeast-1.amazonaws.com/x.pem",
	} {
		m.Set(f, v)
	}
	if typ != sns.TypeNotification {
		m.Set(sns.FieldSubscribeURL, "https://sns.ap-southeast-1.amazonaws.com/?Action=ConfirmSubscription")
		m.Set(sns.FieldToken, "tok")
	}
	return m
}

func TestCheckNamesTheMissingField(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{sns.TypeNotification, sns.TypeSubscriptionConfirmation, sns.TypeUnsubscribeConfirmation} {
		if err := validEnvelope(typ).Check(); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	required := map[string][]sns.Field{
		sns.TypeNotification: {sns.FieldMessageID, sns.FieldTopicARN, sns.FieldMessage, sns.FieldTimestamp,
			sns.FieldSignatureVersion, sns.FieldSignature, sns.FieldSigningCertURL},
		sns.TypeSubscriptionConfirmation: {sns.FieldSubscribeURL, sns.FieldToken},
		sns.TypeUnsubscribeConfirmation:  {sns.FieldSubscribeURL, sns.FieldToken},
	}
	for typ, fields := range required {
		for _, f := range fields {
			m := validEnvelope(typ)
			m.Set(f, "")
			err := m.Check()
			if !errors.Is(err, sns.ErrMissingField) || !strings.Contains(err.Error(), f.String()) {
				t.Errorf("%s without %s: err = %v", typ, f, err)
			}
		}
	}
	m := validEnvelope("Notification")
	m.Set(sns.FieldType, "")
	if err := m.Check(); !errors.Is(err, sns.ErrMissingField) {
		t.Errorf("no Type: %v", err)
	}
	m.Set(sns.FieldType, "Notice")
	if err := m.Check(); !errors.Is(err, sns.ErrMessageType) {
		t.Errorf("Type Notice: %v", err)
	}
	for _, ver := range []string{"0", "3", "1 ", "v1", "SHA256"} {
		m := validEnvelope("Notification")
		m.Set(sns.FieldSignatureVersion, ver)
		if err := m.Check(); !errors.Is(err, sns.ErrSignatureVersion) {
			t.Errorf("SignatureVersion %q: %v", ver, err)
		}
	}
}

func TestStringToSign(t *testing.T) {
	t.Parallel()
	body := func(extra string) string {
		return `{"Type":"Notification","MessageId":"id-1","TopicArn":"arn:aws:sns:r:1:t","Message":"line1\nline2",` +
			`"Timestamp":"2025-01-01T00:00:00.000Z","SignatureVersion":"1","Signature":"x","SigningCertURL":"u",` +
			`"UnsubscribeURL":"https://unsub","Token":"","SubscribeURL":""` + extra + `}`
	}
	const plain = "Message\nline1\nline2\nMessageId\nid-1\nTimestamp\n2025-01-01T00:00:00.000Z\nTopicArn\narn:aws:sns:r:1:t\nType\nNotification\n"
	const withSubject = "Message\nline1\nline2\nMessageId\nid-1\nSubject\nHi\nTimestamp\n2025-01-01T00:00:00.000Z\nTopicArn\narn:aws:sns:r:1:t\nType\nNotification\n"
	const withEmptySubject = "Message\nline1\nline2\nMessageId\nid-1\nSubject\n\nTimestamp\n2025-01-01T00:00:00.000Z\nTopicArn\narn:aws:sns:r:1:t\nType\nNotification\n"
	confirmation := `{"Type":"SubscriptionConfirmation","MessageId":"id-2","Token":"tok","TopicArn":"arn:aws:sns:r:1:t",` +
		`"Message":"hello","SubscribeURL":"https://sub","Timestamp":"2025-01-01T00:00:00.000Z","Subject":"ignored"}`
	const confirmationWant = "Message\nhello\nMessageId\nid-2\nSubscribeURL\nhttps://sub\nTimestamp\n2025-01-01T00:00:00.000Z\nToken\ntok\nTopicArn\narn:aws:sns:r:1:t\nType\nSubscriptionConfirmation\n"
	for _, tc := range []struct {
		name, body   string
		emptySubject bool
		want         string
	}{
		{"notification: UnsubscribeURL and empty Token are not signed", body(""), false, plain},
		{"notification with Subject", body(`,"Subject":"Hi"`), false, withSubject},
		{"empty Subject skipped", body(`,"Subject":""`), false, plain},
		{"empty Subject kept on request", body(`,"Subject":""`), true, withEmptySubject},
		{"null Subject is absent", body(`,"Subject":null`), true, plain},
		{"subscription confirmation", confirmation, false, confirmationWant},
		{"unsubscribe confirmation", strings.Replace(confirmation, `"SubscriptionConfirmation"`, `"UnsubscribeConfirmation"`, 1), false,
			strings.Replace(confirmationWant, "SubscriptionConfirmation", "UnsubscribeConfirmation", 1)},
	} {
		m, err := sns.Parse(tc.body)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := sns.AppendStringToSign(nil, m, tc.emptySubject)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	m, _ := sns.Parse(`{"Type":"Other"}`)
	if _, err := sns.AppendStringToSign(nil, m, false); !errors.Is(err, sns.ErrMessageType) {
		t.Errorf("unknown type: %v", err)
	}
}

// The SDK's string to sign must equal the one bkashtest builds on its own.
func TestStringToSignMatchesTheTestSigner(t *testing.T) {
	t.Parallel()
	s := signer()
	now := time.Now()
	msgs := []*bkashtest.SNSMessage{
		s.NewNotification([]byte(`{"trxID":"A<&>\u2028"}`), now),
		s.NewSubscriptionConfirmation(now),
		s.NewUnsubscribeConfirmation(now),
	}
	withSubject := s.NewNotification([]byte(`{}`), now)
	withSubject.Subject = "Payment received"
	msgs = append(msgs, withSubject)
	for _, want := range msgs {
		m, err := sns.Parse(string(want.JSON()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := sns.AppendStringToSign(nil, m, false)
		if err != nil {
			t.Fatal(err)
		}
		wantText, _ := want.StringToSign()
		if string(got) != wantText {
			t.Errorf("%s: SDK %q, signer %q", want.Type, got, wantText)
		}
	}
}

func TestVerifyMessage(t *testing.T) {
	t.Parallel()
	s := signer()
	other, err := bkashtest.NewSNSSigner()
	if err != nil {
		t.Fatal(err)
	}
	sign := func(version string, edit func(*bkashtest.SNSMessage)) *sns.Message {
		m := s.NewNotification([]byte(`{"trxID":"X"}`), time.Now())
		m.SignatureVersion = version
		if err := s.Sign(m); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(m)
		}
		pm, err := sns.Parse(string(m.JSON()))
		if err != nil {
			t.Fatal(err)
		}
		return pm
	}
	for _, v := range []string{"1", "2"} {
		if err := sns.VerifyMessage(sign(v, nil), pub(s)); err != nil {
			t.Errorf("version %s: %v", v, err)
		}
		if err := sns.VerifyMessage(sign(v, nil), pub(other)); !errors.Is(err, sns.ErrBadSignature) {
			t.Errorf("version %s, wrong key: %v", v, err)
		}
	}
	// A version-1 signature presented as version 2 (and back) fails.
	if err := sns.VerifyMessage(sign("1", func(m *bkashtest.SNSMessage) { m.SignatureVersion = "2" }), pub(s)); !errors.Is(err, sns.ErrBadSignature) {
		t.Errorf("v1 signature as v2: %v", err)
	}
	for name, sig := range map[string]string{
		"not base64": "!!!", "empty after decode": "", "truncated": "QUJD",
		"too long": strings.Repeat("A", 2000),
		// The longest accepted text, unpadded: it decodes to 1026 bytes.
		"longest, unpadded": strings.Repeat("A", 1368),
		"longest, padded":   strings.Repeat("A", 1364) + "AA==",
	} {
		m := sign("1", func(m *bkashtest.SNSMessage) { m.Signature = sig })
		if err := sns.VerifyMessage(m, pub(s)); !errors.Is(err, sns.ErrBadSignature) {
			t.Errorf("signature %s: %v", name, err)
		}
	}
	m := sign("1", nil)
	m.Set(sns.FieldSignatureVersion, "3")
	if err := sns.VerifyMessage(m, pub(s)); !errors.Is(err, sns.ErrSignatureVersion) {
		t.Errorf("version 3: %v", err)
	}
	m.Set(sns.FieldSignatureVersion, "1")
	m.Set(sns.FieldType, "Other")
	if err := sns.VerifyMessage(m, pub(s)); !errors.Is(err, sns.ErrMessageType) {
		t.Errorf("type Other: %v", err)
	}
	if err := sns.VerifySignature(pub(s), "1", []byte("x"), "%%%"); !errors.Is(err, sns.ErrBadSignature) {
		t.Errorf("VerifySignature with bad base64: %v", err)
	}
}

// A relay that re-encodes SNS messages may add "Subject": "" to a message
// signed without one; AWS's own SDKs sign a present empty Subject. Both
// verify, and nothing else changes.
func TestVerifyMessageEmptySubjectBothForms(t *testing.T) {
	t.Parallel()
	s := signer()
	for _, signEmpty := range []bool{false, true} {
		m := s.NewNotification([]byte(`{"trxID":"X"}`), time.Now())
		text, _ := m.StringToSign()
		if signEmpty {
			text = strings.Replace(text, "\nTimestamp\n", "\nSubject\n\nTimestamp\n", 1)
		}
		sig, err := s.SignString("1", text)
		if err != nil {
			t.Fatal(err)
		}
		m.Signature = sig
		body := strings.Replace(string(m.JSON()), `"Type"`, `"Subject": "", "Type"`, 1)
		pm, err := sns.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		if err := sns.VerifyMessage(pm, pub(s)); err != nil {
			t.Errorf("signed with empty Subject %v: %v", signEmpty, err)
		}
		pm.Set(sns.FieldMessage, "tampered")
		if err := sns.VerifyMessage(pm, pub(s)); !errors.Is(err, sns.ErrBadSignature) {
			t.Errorf("tampered, signed with empty Subject %v: %v", signEmpty, err)
		}
	}
}

// peerFixtures returns the directory of the third-party vectors that sit
// beside the repository on the team's machines (never copied into it), or
// skips the test.
func peerFixtures(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("BKASH_PEER_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "peer-fixtures")
	}
	dir = filepath.Join(dir, name)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("peer fixtures not available: %v", err)
	}
	return dir
}

// vubon/bkash-webhook published two SNS messages signed with SHA1 and
// their self-signed certificates. Their SigningCertURL is
// http://localhost:8000/..., which the URL rules reject before any fetch,
// so the verifier can never reach them through Verify; this test feeds the
// parsed message and the certificate to the signature primitives directly.
func TestPeerVectorsVerify(t *testing.T) {
	t.Parallel()
	dir := peerFixtures(t, "vubon-bkash-webhook")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type vector struct{ msg, pem string }
	notification := vector{"dummy_notification.json", "SimpleNotificationService-0d3805b6d188487ea00966f991ca85ec.pem"}
	subscribe := vector{"dummy_subscribe.json", "SimpleNotificationService-9b8b327a734e4b5db66e525c2ac6ac6f.pem"}
	keyOf := func(pemFile string) *rsa.PublicKey {
		cert, err := sns.ParseCertificatePEM(read(pemFile))
		if err != nil {
			t.Fatal(err)
		}
		return cert.PublicKey.(*rsa.PublicKey)
	}
	for _, tc := range []struct {
		v       vector
		key     string
		wantErr error
	}{
		{notification, notification.pem, nil},
		{subscribe, subscribe.pem, nil},
		{notification, subscribe.pem, sns.ErrBadSignature},
		{subscribe, notification.pem, sns.ErrBadSignature},
	} {
		m, err := sns.Parse(string(read(tc.v.msg)))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Check(); err != nil {
			t.Fatalf("%s: %v", tc.v.msg, err)
		}
		if err := sns.CheckCertURL(m.SigningCertURL()); !errors.Is(err, sns.ErrCertURL) {
			t.Errorf("%s: SigningCertURL %q passed the rules: %v", tc.v.msg, m.SigningCertURL(), err)
		}
		err = sns.VerifyMessage(m, keyOf(tc.key))
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Errorf("%s with %s: err = %v, want %v", tc.v.msg, tc.key, err, tc.wantErr)
		}
		text, _ := sns.AppendStringToSign(nil, m, false)
		err = sns.VerifySignature(keyOf(tc.key), "1", text, m.Signature())
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Errorf("VerifySignature %s with %s: err = %v, want %v", tc.v.msg, tc.key, err, tc.wantErr)
		}
	}
}
