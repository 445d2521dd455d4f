package bkash_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jarcoal/httpmock"
	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/internal/sns"
)

// The test clock: every message is published at pubTime and verified a
// second later.
var (
	pubTime = time.Date(2025, 1, 1, 6, 31, 11, 512_000_000, time.UTC)
	nowTime = pubTime.Add(time.Second)
	clock   = func() time.Time { return nowTime }
)

// signers are made once per test binary: RSA key generation is slow.
var signers = sync.OnceValue(func() [2]*bkashtest.SNSSigner {
	var s [2]*bkashtest.SNSSigner
	for i := range s {
		var err error
		if s[i], err = bkashtest.NewSNSSigner(); err != nil {
			panic(err)
		}
	}
	return s
})

func mainSigner() *bkashtest.SNSSigner  { return signers()[0] }
func otherSigner() *bkashtest.SNSSigner { return signers()[1] }

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhook", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countingFetcher wraps the main signer's fetcher and counts its calls.
type countingFetcher struct{ n atomic.Int32 }

func (c *countingFetcher) fetch(ctx context.Context, u string) (*x509.Certificate, error) {
	c.n.Add(1)
	return mainSigner().CertFetcher()(ctx, u)
}

// newVerifier returns a verifier that trusts the main signer's topic and
// certificate, runs on the test clock, and counts certificate fetches.
func newVerifier(t testing.TB, opts ...bkash.WebhookOption) (*bkash.WebhookVerifier, *countingFetcher) {
	t.Helper()
	f := new(countingFetcher)
	base := []bkash.WebhookOption{
		bkash.WithAllowedTopicARNs(mainSigner().TopicARN()),
		bkash.WithCertFetcher(f.fetch),
		bkash.WithClock(clock),
	}
	v, err := bkash.NewWebhookVerifier(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v, f
}

// signed builds a signed notification carrying the regular fixture, lets
// edit change it before signing, and returns the message.
func signed(t testing.TB, version string, edit func(*bkashtest.SNSMessage)) *bkashtest.SNSMessage {
	t.Helper()
	s := mainSigner()
	m := s.NewNotification(readFixture(t, "notification_regular.json"), pubTime)
	m.SignatureVersion = version
	if edit != nil {
		edit(m)
	}
	if err := s.Sign(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVerifyAcceptsSignedNotifications(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"1", "2"} {
		v, fetches := newVerifier(t)
		m := signed(t, version, nil)
		got, err := v.Verify(context.Background(), m.JSON())
		if err != nil {
			t.Fatalf("version %s: %v", version, err)
		}
		inner := readFixture(t, "notification_regular.json")
		want := &bkash.WebhookMessage{
			Type:           bkash.WebhookNotification,
			MessageID:      m.MessageID,
			TopicARN:       mainSigner().TopicARN(),
			Timestamp:      pubTime,
			UnsubscribeURL: m.UnsubscribeURL,
			Message:        string(inner),
			Notification: &bkash.Notification{
				MessageID:              m.MessageID,
				TrxID:                  "CLA7K2M9QZ",
				Amount:                 bkash.Taka(150) + bkash.Poisha(50),
				Currency:               "BDT",
				TransactionStatus:      "Completed",
				TransactionType:        "10002294",
				DebitMSISDN:            "8801770618575",
				MerchantInvoiceNumber:  "A-1001-1",
				TransactionReference:   "order-1001",
				CreditShortCode:        "50022",
				CreditOrganizationName: "Smart Dairy Ltd",
				DateTime:               mustTime(t, "20250101123110"),
				Raw:                    json.RawMessage(inner),
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("version %s (-want +got):\n%s", version, diff)
		}
		if !got.Notification.DateTime.Equal(time.Date(2025, 1, 1, 6, 31, 10, 0, time.UTC)) {
			t.Errorf("DateTime %s is not 12:31:10 in Dhaka", got.Notification.DateTime)
		}
		if fetches.n.Load() != 1 {
			t.Errorf("version %s: %d fetches", version, fetches.n.Load())
		}
	}
}

func mustTime(t testing.TB, s string) bkash.Time {
	t.Helper()
	tm, err := bkash.ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestVerifyAcceptsConfirmations(t *testing.T) {
	t.Parallel()
	s := mainSigner()
	for _, m := range []*bkashtest.SNSMessage{s.NewSubscriptionConfirmation(pubTime), s.NewUnsubscribeConfirmation(pubTime)} {
		m.SignatureVersion = "2"
		if err := s.Sign(m); err != nil {
			t.Fatal(err)
		}
		v, _ := newVerifier(t)
		got, err := v.Verify(context.Background(), m.JSON())
		if err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		want := &bkash.WebhookMessage{
			Type: bkash.WebhookMessageType(m.Type), MessageID: m.MessageID, TopicARN: s.TopicARN(),
			Timestamp: pubTime, SubscribeURL: m.SubscribeURL, Token: m.Token, Message: m.Message,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", m.Type, diff)
		}
	}
}

// SNS signs SubscribeURL and Token only in confirmations, and Subject only
// in notifications. Anyone may add the unsigned ones to a genuine message:
// the verified message must not carry them.
func TestVerifyReturnsNoUnsignedField(t *testing.T) {
	t.Parallel()
	addUnsigned := func(body []byte, members string) []byte {
		b := bytes.TrimRight(body, " \n")
		return append(b[:len(b)-1:len(b)-1], ","+members+"}"...)
	}
	v, _ := newVerifier(t)
	n := signed(t, "2", nil)
	got, err := v.Verify(context.Background(),
		addUnsigned(n.JSON(), `"SubscribeURL":"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x","Token":"forged"`))
	if err != nil {
		t.Fatal(err)
	}
	if got.SubscribeURL != "" || got.Token != "" {
		t.Errorf("notification: SubscribeURL %q, Token %q were not signed", got.SubscribeURL, got.Token)
	}
	s := mainSigner()
	c := s.NewSubscriptionConfirmation(pubTime)
	c.SignatureVersion = "2"
	if err := s.Sign(c); err != nil {
		t.Fatal(err)
	}
	got, err = v.Verify(context.Background(), addUnsigned(c.JSON(), `"Subject":"forged"`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "" {
		t.Errorf("confirmation: Subject %q was not signed", got.Subject)
	}
}

// allWebhookErrors lists the sentinels; each rejection must match exactly
// the one(s) it names.
var allWebhookErrors = map[string]error{
	"BadJSON": bkash.ErrWebhookBadJSON, "TooLarge": bkash.ErrWebhookTooLarge,
	"MissingField": bkash.ErrWebhookMissingField, "MessageType": bkash.ErrWebhookMessageType,
	"SignatureVersion": bkash.ErrWebhookSignatureVersion, "CertURL": bkash.ErrWebhookCertURL,
	"SubscribeURL": bkash.ErrWebhookSubscribeURL, "CertFetch": bkash.ErrWebhookCertFetch,
	"BadSignature": bkash.ErrWebhookBadSignature, "TopicNotAllowed": bkash.ErrWebhookTopicNotAllowed,
	"BadTimestamp": bkash.ErrWebhookBadTimestamp, "Stale": bkash.ErrWebhookStale,
	"Future": bkash.ErrWebhookFuture, "BadNotification": bkash.ErrWebhookBadNotification,
}

func matchedErrors(err error) []string {
	var names []string
	for name, target := range allWebhookErrors {
		if errors.Is(err, target) {
			names = append(names, name)
		}
	}
	return names
}

func TestVerifyRejectsEachFaultWithItsOwnError(t *testing.T) {
	t.Parallel()
	s := mainSigner()
	resign := func(edit func(*bkashtest.SNSMessage)) []byte { return signed(t, "1", edit).JSON() }
	// tamper signs a message, then changes it.
	tamper := func(version string, edit func(*bkashtest.SNSMessage)) []byte {
		m := signed(t, version, nil)
		edit(m)
		return m.JSON()
	}
	confirmation := func(edit func(*bkashtest.SNSMessage)) []byte {
		m := s.NewSubscriptionConfirmation(pubTime)
		if err := s.Sign(m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		return m.JSON()
	}
	certURL := func(u string) []byte { return tamper("1", func(m *bkashtest.SNSMessage) { m.SigningCertURL = u }) }
	otherTopic := "arn:aws:sns:ap-southeast-1:999999999999:someone-else"

	for _, tc := range []struct {
		name    string
		body    []byte
		want    []string // sentinel names
		fetches int32
	}{
		{"not JSON", []byte("Type=Notification&MessageId=1"), []string{"BadJSON"}, 0},
		{"JSON array", []byte(`[{"Type":"Notification"}]`), []string{"BadJSON"}, 0},
		{"Message is an object", []byte(`{"Type":"Notification","Message":{"trxID":"X"}}`), []string{"BadJSON"}, 0},
		{"Message twice", bytes.Replace(signed(t, "1", nil).JSON(), []byte(`"Type": "Notification",`),
			[]byte(`"Type": "Notification", "Message": "{}",`), 1), []string{"BadJSON"}, 0},
		{"oversized body", append(signed(t, "1", nil).JSON(), bytes.Repeat([]byte(" "), bkash.MaxWebhookBodySize)...), []string{"TooLarge"}, 0},
		{"no Signature", tamper("1", func(m *bkashtest.SNSMessage) { m.Signature = "" }), []string{"MissingField"}, 0},
		{"no MessageId", tamper("1", func(m *bkashtest.SNSMessage) { m.MessageID = "" }), []string{"MissingField"}, 0},
		{"unknown Type", tamper("1", func(m *bkashtest.SNSMessage) { m.Type = "Notice" }), []string{"MessageType"}, 0},
		{"SignatureVersion 3", tamper("1", func(m *bkashtest.SNSMessage) { m.SignatureVersion = "3" }), []string{"SignatureVersion"}, 0},
		{"SignatureVersion 0", tamper("1", func(m *bkashtest.SNSMessage) { m.SignatureVersion = "0" }), []string{"SignatureVersion"}, 0},
		{"cert URL over http", certURL(strings.Replace(s.CertURL(), "https:", "http:", 1)), []string{"CertURL"}, 0},
		{"cert URL on sns.evil.com", certURL("https://sns.evil.com/SimpleNotificationService-1.pem"), []string{"CertURL"}, 0},
		{"cert URL on amazonaws.com.evil.com", certURL("https://sns.ap-southeast-1.amazonaws.com.evil.com/SimpleNotificationService-1.pem"), []string{"CertURL"}, 0},
		{"cert URL without .pem", certURL(strings.TrimSuffix(s.CertURL(), ".pem")), []string{"CertURL"}, 0},
		{"cert URL with user info", certURL("https://sns.ap-southeast-1.amazonaws.com@evil.com/x.pem"), []string{"CertURL"}, 0},
		{"cert URL on port 8443", certURL("https://sns.ap-southeast-1.amazonaws.com:8443/x.pem"), []string{"CertURL"}, 0},
		{"topic not allowed", resign(func(m *bkashtest.SNSMessage) { m.TopicARN = otherTopic }), []string{"TopicNotAllowed"}, 0},
		{"Timestamp not RFC 3339", resign(func(m *bkashtest.SNSMessage) { m.Timestamp = "2025-01-01 06:31:11" }), []string{"BadTimestamp"}, 0},
		{"stale", resign(func(m *bkashtest.SNSMessage) { m.Timestamp = pubTime.Add(-time.Hour).Format(time.RFC3339Nano) }), []string{"Stale"}, 0},
		{"future", resign(func(m *bkashtest.SNSMessage) { m.Timestamp = nowTime.Add(6 * time.Minute).Format(time.RFC3339Nano) }), []string{"Future"}, 0},
		{"confirmation with foreign SubscribeURL", confirmation(func(m *bkashtest.SNSMessage) {
			m.SubscribeURL = "https://sns.evil.com/?Action=ConfirmSubscription"
		}), []string{"SubscribeURL"}, 0},
		{"confirmation with another action", confirmation(func(m *bkashtest.SNSMessage) {
			m.SubscribeURL = "https://sns.ap-southeast-1.amazonaws.com/?Action=DeleteTopic&TopicArn=" + m.TopicARN
		}), []string{"SubscribeURL"}, 0},
		{"certificate not found", certURL("https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-00000000000000000000000000000000.pem"), []string{"CertFetch"}, 1},
		{"cert URL with another file name", certURL("https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-unknown.pem"), []string{"CertURL"}, 0},
		{"cert URL on an S3 bucket named sns", certURL("https://sns.s3-accelerate.amazonaws.com" + strings.TrimPrefix(s.CertURL(), "https://sns.ap-southeast-1.amazonaws.com")), []string{"CertURL"}, 0},
		{"cert URL on a legacy S3 endpoint", certURL("https://sns.s3-us-west-2.amazonaws.com" + strings.TrimPrefix(s.CertURL(), "https://sns.ap-southeast-1.amazonaws.com")), []string{"CertURL"}, 0},
		{"cert URL on s3-external-1", certURL("https://sns.s3-external-1.amazonaws.com" + strings.TrimPrefix(s.CertURL(), "https://sns.ap-southeast-1.amazonaws.com")), []string{"CertURL"}, 0},

		{"tampered Message", tamper("1", func(m *bkashtest.SNSMessage) { m.Message = strings.Replace(m.Message, "150.50", "15000.50", 1) }), []string{"BadSignature"}, 1},
		{"tampered Message v2", tamper("2", func(m *bkashtest.SNSMessage) { m.Message = strings.Replace(m.Message, "CLA7K2M9QZ", "CLA7K2M9QY", 1) }), []string{"BadSignature"}, 1},
		{"tampered MessageId", tamper("1", func(m *bkashtest.SNSMessage) { m.MessageID = "00000000-0000-4000-8000-000000000000" }), []string{"BadSignature"}, 1},
		{"tampered Timestamp", tamper("1", func(m *bkashtest.SNSMessage) { m.Timestamp = pubTime.Add(-time.Minute).Format(time.RFC3339Nano) }), []string{"BadSignature"}, 1},
		{"tampered TopicArn", tamper("1", func(m *bkashtest.SNSMessage) { m.TopicARN = s.TopicARN() + "-2" }), []string{"TopicNotAllowed"}, 0},
		{"added Subject", tamper("1", func(m *bkashtest.SNSMessage) { m.Subject = "Payment" }), []string{"BadSignature"}, 1},
		{"removed Subject", func() []byte {
			m := signed(t, "1", func(m *bkashtest.SNSMessage) { m.Subject = "Payment" })
			m.Subject = ""
			return m.JSON()
		}(), []string{"BadSignature"}, 1},
		{"Type changed to a confirmation", tamper("1", func(m *bkashtest.SNSMessage) {
			m.Type = "UnsubscribeConfirmation"
			m.Token = "tok"
			m.SubscribeURL = "https://sns.ap-southeast-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok"
		}), []string{"BadSignature"}, 1},
		{"tampered Token", confirmation(func(m *bkashtest.SNSMessage) { m.Token += "0" }), []string{"BadSignature"}, 1},
		{"tampered SubscribeURL", confirmation(func(m *bkashtest.SNSMessage) { m.SubscribeURL += "&x=1" }), []string{"BadSignature"}, 1},
		{"v1 signature labelled v2", tamper("1", func(m *bkashtest.SNSMessage) { m.SignatureVersion = "2" }), []string{"BadSignature"}, 1},
		{"signature not base64", tamper("1", func(m *bkashtest.SNSMessage) { m.Signature = "not*base64" }), []string{"BadSignature"}, 1},
		{"signed with another key", func() []byte {
			m := s.NewNotification(readFixture(t, "notification_regular.json"), pubTime)
			if err := otherSigner().Sign(m); err != nil {
				t.Fatal(err)
			}
			return m.JSON()
		}(), []string{"BadSignature"}, 1},

		{"inner Message not JSON", resign(func(m *bkashtest.SNSMessage) {
			m.Message = "{'trxID': '7EG6OA53IG', 'amount': '2.0'}"
		}), []string{"BadNotification"}, 1},
		{"inner Message without trxID", resign(func(m *bkashtest.SNSMessage) {
			m.Message = `{"amount":"10","transactionStatus":"Completed"}`
		}), []string{"BadNotification", "MissingField"}, 1},
	} {
		v, fetches := newVerifier(t)
		msg, err := v.Verify(context.Background(), tc.body)
		if msg != nil || err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		got := matchedErrors(err)
		if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("%s: err %q matches %v, want %v", tc.name, err, got, tc.want)
		}
		if n := fetches.n.Load(); n != tc.fetches {
			t.Errorf("%s: %d certificate fetches, want %d", tc.name, n, tc.fetches)
		}
		if !strings.HasPrefix(err.Error(), "bkash: webhook: ") {
			t.Errorf("%s: error text %q", tc.name, err)
		}
	}
}

// TestVerifyForgedFloodCostsFewDownloads: forged posts (unsigned bodies
// that name a well-formed certificate URL) each made the verifier download
// a certificate, and failures were not remembered: 100 posts, 100
// downloads of up to 5 s. Now one URL costs one download per FailureTTL,
// and distinct URLs draw on one small bucket; a message signed with a
// cached certificate still verifies during the flood.
func TestVerifyForgedFloodCostsFewDownloads(t *testing.T) {
	t.Parallel()
	good := signed(t, "1", nil).JSON()
	for _, tc := range []struct {
		name     string
		url      func(i int) string
		maxFetch int32
	}{
		{"one URL", func(int) string {
			return "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
		}, 1},
		{"a new URL each time", func(i int) string {
			return fmt.Sprintf("https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-%032x.pem", i)
		}, 5},
	} {
		v, fetches := newVerifier(t)
		if _, err := v.Verify(context.Background(), good); err != nil { // caches the genuine certificate
			t.Fatal(err)
		}
		fetches.n.Store(0)
		for i := range 100 {
			m := signed(t, "1", nil)
			m.SigningCertURL = tc.url(i)
			m.Signature = "Zm9yZ2Vk"
			if _, err := v.Verify(context.Background(), m.JSON()); !errors.Is(err, bkash.ErrWebhookCertFetch) {
				t.Fatalf("%s: forged post %d: err = %v, want ErrWebhookCertFetch", tc.name, i, err)
			}
		}
		if n := fetches.n.Load(); n > tc.maxFetch {
			t.Errorf("%s: 100 forged posts made %d certificate downloads, want at most %d", tc.name, n, tc.maxFetch)
		}
		if _, err := v.Verify(context.Background(), good); err != nil {
			t.Errorf("%s: a genuine message during the flood: %v", tc.name, err)
		}
	}
}

func TestVerifyAgeLimitsAreConfigurable(t *testing.T) {
	t.Parallel()
	old := signed(t, "1", func(m *bkashtest.SNSMessage) { m.Timestamp = nowTime.Add(-90 * time.Minute).Format(time.RFC3339Nano) }).JSON()
	ahead := signed(t, "1", func(m *bkashtest.SNSMessage) { m.Timestamp = nowTime.Add(30 * time.Second).Format(time.RFC3339Nano) }).JSON()
	for _, tc := range []struct {
		name string
		opts []bkash.WebhookOption
		body []byte
		want error
	}{
		{"90 minutes old, default 1 hour", nil, old, bkash.ErrWebhookStale},
		{"90 minutes old, 2 hours allowed", []bkash.WebhookOption{bkash.WithMaxMessageAge(2 * time.Hour)}, old, nil},
		{"30 s ahead, default skew", nil, ahead, nil},
		{"30 s ahead, no skew", []bkash.WebhookOption{bkash.WithMaxClockSkew(0)}, ahead, bkash.ErrWebhookFuture},
	} {
		v, _ := newVerifier(t, tc.opts...)
		_, err := v.Verify(context.Background(), tc.body)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestVerifyFetchesACertificateOnceForConcurrentMessages(t *testing.T) {
	t.Parallel()
	v, fetches := newVerifier(t)
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = signed(t, "1", nil).JSON()
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for _, b := range bodies {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), b); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || fetches.n.Load() != 1 {
		t.Fatalf("failures %d, fetches %d; want 0 and 1", failed.Load(), fetches.n.Load())
	}
}

// With no CertFetcher, the verifier downloads the certificate itself over
// the given client, once, and refuses redirects.
func TestVerifyDownloadsTheCertificate(t *testing.T) {
	t.Parallel()
	s := mainSigner()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, s.CertURL(), httpmock.NewBytesResponder(200, s.CertificatePEM()))
	v, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(s.TopicARN()), bkash.WithClock(clock),
		bkash.WithWebhookHTTPClient(&http.Client{Transport: mt}))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := v.Verify(context.Background(), signed(t, "2", nil).JSON()); err != nil {
			t.Fatal(err)
		}
	}
	if n := mt.GetTotalCallCount(); n != 1 {
		t.Fatalf("%d downloads, want 1", n)
	}

	// A certificate URL that redirects elsewhere is a fetch failure.
	other := otherSigner()
	mt.RegisterResponder(http.MethodGet, other.CertURL(), func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(http.StatusFound, "")
		r.Header.Set("Location", "https://attacker.example/cert.pem")
		return r, nil
	})
	mt.RegisterResponder(http.MethodGet, "https://attacker.example/cert.pem", httpmock.NewBytesResponder(200, other.CertificatePEM()))
	v2, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(other.TopicARN()), bkash.WithClock(clock),
		bkash.WithWebhookHTTPClient(&http.Client{Transport: mt}))
	if err != nil {
		t.Fatal(err)
	}
	m := other.NewNotification(readFixture(t, "notification_regular.json"), pubTime)
	if err := other.Sign(m); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify(context.Background(), m.JSON()); !errors.Is(err, bkash.ErrWebhookCertFetch) {
		t.Fatalf("redirected certificate: err = %v", err)
	}
	if n := mt.GetCallCountInfo()["GET https://attacker.example/cert.pem"]; n != 0 {
		t.Fatal("the redirect was followed")
	}
}

func TestNewWebhookVerifierValidatesOptions(t *testing.T) {
	t.Parallel()
	topic := bkash.WithAllowedTopicARNs("arn:aws:sns:ap-southeast-1:123456789012:t")
	for name, opts := range map[string][]bkash.WebhookOption{
		"no topic":             nil,
		"empty topic list":     {bkash.WithAllowedTopicARNs()},
		"topic is not an ARN":  {bkash.WithAllowedTopicARNs("bkash-merchant-ipn")},
		"zero max age":         {topic, bkash.WithMaxMessageAge(0)},
		"negative clock skew":  {topic, bkash.WithMaxClockSkew(-time.Second)},
		"nil cert fetcher":     {topic, bkash.WithCertFetcher(nil)},
		"nil clock":            {topic, bkash.WithClock(nil)},
		"nil dedupe store":     {topic, bkash.WithDedupeStore(nil)},
		"nil HTTP client":      {topic, bkash.WithWebhookHTTPClient(nil)},
		"nil logger":           {topic, bkash.WithWebhookLogger(nil)},
		"bad ARN among others": {bkash.WithAllowedTopicARNs("arn:aws:sns:r:1:t", "arn:aws:sqs:r:1:q")},
		"nil option":           {topic, nil, bkash.WithSubscriptionConfirmation(false)},
		"only a nil option":    {nil},
	} {
		v, err := bkash.NewWebhookVerifier(opts...)
		var verr *bkash.ValidationError
		if v != nil || !errors.As(err, &verr) {
			t.Errorf("%s: verifier %v, err %v; want a *ValidationError", name, v != nil, err)
		}
	}
	// A nil option is refused as NewClient refuses one, with an error that
	// names it.
	_, err := bkash.NewWebhookVerifier(topic, nil)
	if err == nil || err.Error() != "bkash: invalid NewWebhookVerifier: nil WebhookOption" {
		t.Errorf("nil option: err = %v, want the nil WebhookOption named", err)
	}
	if _, err := bkash.NewWebhookVerifier(topic, bkash.WithSubscriptionConfirmation(false)); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

// post sends body to h and returns the status.
func post(h http.Handler, body []byte) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/bkash/webhook", bytes.NewReader(body)))
	return rec.Code
}

func TestHandlerStatusCodes(t *testing.T) {
	t.Parallel()
	v, _ := newVerifier(t)
	var calls atomic.Int32
	h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
		calls.Add(1)
		if n.TrxID != "CLA7K2M9QZ" || n.Amount != bkash.Taka(150)+bkash.Poisha(50) {
			return fmt.Errorf("unexpected notification %+v", n)
		}
		return nil
	})
	good := signed(t, "1", nil).JSON()
	if code := post(h, good); code != http.StatusOK {
		t.Fatalf("valid: %d", code)
	}
	if code := post(h, good); code != http.StatusOK || calls.Load() != 1 {
		t.Fatalf("duplicate: %d, callback calls %d", code, calls.Load())
	}
	for name, body := range map[string][]byte{
		"not JSON":       []byte("hello"),
		"tampered":       bytes.Replace(signed(t, "1", nil).JSON(), []byte("150.50"), []byte("950.50"), 1),
		"too large":      bytes.Repeat([]byte("x"), bkash.MaxWebhookBodySize+1),
		"bad cert URL":   signed(t, "1", func(m *bkashtest.SNSMessage) { m.SigningCertURL = "https://sns.evil.com/x.pem" }).JSON(),
		"stale":          signed(t, "1", func(m *bkashtest.SNSMessage) { m.Timestamp = "2024-01-01T00:00:00.000Z" }).JSON(),
		"bad inner JSON": signed(t, "1", func(m *bkashtest.SNSMessage) { m.Message = "[]" }).JSON(),
	} {
		if code := post(h, body); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, code)
		}
	}
	missing := signed(t, "1", func(m *bkashtest.SNSMessage) {
		// A well-formed SNS certificate URL the fetcher does not know.
		m.SigningCertURL = "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-ffffffffffffffffffffffffffffffff.pem"
	})
	if code := post(h, missing.JSON()); code != http.StatusServiceUnavailable {
		t.Errorf("certificate unavailable: %d, want 503", code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/bkash/webhook", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	if calls.Load() != 1 {
		t.Errorf("callback called %d times, want 1", calls.Load())
	}
}

func TestHandlerReleasesTheClaimWhenTheCallbackFails(t *testing.T) {
	t.Parallel()
	v, _ := newVerifier(t)
	var calls atomic.Int32
	h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
		switch calls.Add(1) {
		case 1:
			return errors.New("database down")
		case 2:
			panic("callback bug")
		}
		return nil
	})
	body := signed(t, "1", nil).JSON()
	if code := post(h, body); code != http.StatusInternalServerError {
		t.Fatalf("failing callback: %d, want 500", code)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the callback's panic was swallowed")
			}
		}()
		post(h, body)
	}()
	if code := post(h, body); code != http.StatusOK {
		t.Fatalf("SNS retry: %d, want 200", code)
	}
	if code := post(h, body); code != http.StatusOK || calls.Load() != 3 {
		t.Fatalf("after success: %d, calls %d (want 200, 3)", code, calls.Load())
	}
}

func TestHandlerProcessesConcurrentDuplicatesOnce(t *testing.T) {
	t.Parallel()
	v, _ := newVerifier(t)
	var calls atomic.Int32
	release := make(chan struct{})
	h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
		calls.Add(1)
		<-release
		return nil
	})
	body := signed(t, "1", nil).JSON()
	codes := make([]int, 4)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i] = post(h, body) })
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	slices.Sort(codes)
	// One delivery runs the callback; the others come while it runs and
	// are asked to come again (503), which they do: by then it is done.
	if diff := cmp.Diff([]int{200, 503, 503, 503}, codes); diff != "" || calls.Load() != 1 {
		t.Fatalf("codes %v, callback calls %d; want one 200, three 503 and 1 call", codes, calls.Load())
	}
	if code := post(h, body); code != http.StatusOK || calls.Load() != 1 {
		t.Fatalf("redelivery after success: %d, calls %d (want 200, 1)", code, calls.Load())
	}
}

// TestHandlerAsksForARedeliveryWhileTheFirstIsStillRunning: SNS gives up
// waiting for a slow delivery and delivers the message again while the
// first is still running. A 200 to that redelivery would end SNS's
// retries, and a first delivery that then fails would lose the
// notification for good. The redelivery gets 503; once the first has
// failed, the next one is processed. Before, the redelivery got 200 and
// the callback ran once, failing.
func TestHandlerAsksForARedeliveryWhileTheFirstIsStillRunning(t *testing.T) {
	t.Parallel()
	v, _ := newVerifier(t)
	var calls atomic.Int32
	running, fail := make(chan struct{}), make(chan struct{})
	h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
		if calls.Add(1) == 1 {
			close(running)
			<-fail
			return errors.New("database timeout")
		}
		return nil
	})
	body := signed(t, "1", nil).JSON()
	first := make(chan int)
	go func() { first <- post(h, body) }()
	<-running
	if code := post(h, body); code != http.StatusServiceUnavailable {
		t.Errorf("redelivery while the first runs: %d, want 503", code)
	}
	close(fail)
	if code := <-first; code != http.StatusInternalServerError {
		t.Errorf("first delivery: %d, want 500", code)
	}
	if code := post(h, body); code != http.StatusOK || calls.Load() != 2 {
		t.Errorf("SNS's next redelivery: %d, callback calls %d; want 200, 2", code, calls.Load())
	}
}

// releaseFails is the default store whose Release fails, as a shared
// store does when it is unreachable just as a callback failed.
type releaseFails struct{ *bkash.MemoryDedupeStore }

func (releaseFails) Release(context.Context, string) error {
	return errors.New("redis: connection refused")
}

// TestHandlerLetsARedeliveryInOnceTheLeaseEnds: a claim that is neither
// completed nor released (the callback failed and Release failed too; or
// the process died) counts as "being processed" only for the lease. Within
// it a redelivery gets 503; after it, the redelivery is processed. Without
// the lease it got 503 for the claim's whole TTL (an hour and five
// minutes), after which Verify refuses the message as stale: lost.
func TestHandlerLetsARedeliveryInOnceTheLeaseEnds(t *testing.T) {
	t.Parallel()
	const lease = 150 * time.Millisecond
	v, _ := newVerifier(t, bkash.WithDedupeStore(releaseFails{bkash.NewMemoryDedupeStore(0)}), bkash.WithDedupeLease(lease))
	var calls atomic.Int32
	h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
		if calls.Add(1) == 1 {
			return errors.New("database timeout")
		}
		return nil
	})
	body := signed(t, "1", nil).JSON()
	if code := post(h, body); code != http.StatusInternalServerError {
		t.Fatalf("failing callback: %d, want 500", code)
	}
	if code := post(h, body); code != http.StatusServiceUnavailable || calls.Load() != 1 {
		t.Fatalf("redelivery within the lease: %d, calls %d; want 503, 1", code, calls.Load())
	}
	time.Sleep(lease + 50*time.Millisecond)
	if code := post(h, body); code != http.StatusOK || calls.Load() != 2 {
		t.Fatalf("redelivery after the lease: %d, calls %d; want 200, 2", code, calls.Load())
	}
	if code := post(h, body); code != http.StatusOK || calls.Load() != 2 {
		t.Fatalf("a duplicate after success: %d, calls %d; want 200, 2", code, calls.Load())
	}
}

func TestWithDedupeLeaseIsChecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts []bkash.WebhookOption
		want string
	}{
		{[]bkash.WebhookOption{bkash.WithDedupeLease(0)}, "WithDedupeLease: must be at least 1ms"},
		{[]bkash.WebhookOption{bkash.WithDedupeLease(2 * time.Hour)}, "longer than the message age limit"},
	} {
		opts := append([]bkash.WebhookOption{bkash.WithAllowedTopicARNs("arn:aws:sns:ap-southeast-1:123456789012:bkash")}, tc.opts...)
		if _, err := bkash.NewWebhookVerifier(opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewWebhookVerifier: %v, want %q", err, tc.want)
		}
	}
}

// claimOnly is a DedupeStore that is only a DedupeStore.
type claimOnly struct{ s *bkash.MemoryDedupeStore }

func (c claimOnly) Claim(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	return c.s.Claim(ctx, id, ttl)
}
func (c claimOnly) Release(ctx context.Context, id string) error { return c.s.Release(ctx, id) }

// TestHandlerWithAStoreThatCannotTellInProgress: a DedupeStore that does
// not implement DedupeCompleter cannot tell a message being processed from
// one processed: every redelivery of a claimed message gets 200, as
// documented.
func TestHandlerWithAStoreThatCannotTellInProgress(t *testing.T) {
	t.Parallel()
	v, _ := newVerifier(t, bkash.WithDedupeStore(claimOnly{bkash.NewMemoryDedupeStore(0)}))
	release := make(chan struct{})
	var calls atomic.Int32
	h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
		if calls.Add(1) == 1 {
			<-release
		}
		return nil
	})
	body := signed(t, "1", nil).JSON()
	first := make(chan int)
	go func() { first <- post(h, body) }()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if code := post(h, body); code != http.StatusOK {
		t.Errorf("redelivery while the first runs: %d, want 200", code)
	}
	close(release)
	if code := <-first; code != http.StatusOK || calls.Load() != 1 {
		t.Errorf("first: %d, calls %d; want 200, 1", code, calls.Load())
	}
}

type failingStore struct{ claimErr, releaseErr error }

func (f failingStore) Claim(context.Context, string, time.Duration) (bool, error) {
	return f.claimErr == nil, f.claimErr
}
func (f failingStore) Release(context.Context, string) error { return f.releaseErr }

func TestHandlerDedupeStoreFailures(t *testing.T) {
	t.Parallel()
	body := signed(t, "1", nil).JSON()
	v, _ := newVerifier(t, bkash.WithDedupeStore(failingStore{claimErr: errors.New("redis down")}))
	called := false
	if code := post(v.Handler(func(context.Context, *bkash.Notification) error { called = true; return nil }), body); code != http.StatusInternalServerError || called {
		t.Fatalf("claim error: %d, called %v", code, called)
	}
	var logs bytes.Buffer
	v, _ = newVerifier(t, bkash.WithDedupeStore(failingStore{releaseErr: errors.New("redis gone")}),
		bkash.WithWebhookLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if code := post(v.Handler(func(context.Context, *bkash.Notification) error { return errors.New("db down") }), body); code != http.StatusInternalServerError {
		t.Fatalf("callback and release errors: %d", code)
	}
	if !strings.Contains(logs.String(), "db down") || !strings.Contains(logs.String(), "redis gone") {
		t.Fatalf("log lacks the causes: %s", logs.String())
	}
}

func TestHandlerLogsRejectionsWithoutTheBody(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	v, _ := newVerifier(t, bkash.WithWebhookLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	h := v.Handler(func(context.Context, *bkash.Notification) error { return nil })
	body := bytes.Replace(signed(t, "1", nil).JSON(), []byte("8801770618575"), []byte("8801770618576"), 1)
	if code := post(h, body); code != http.StatusBadRequest {
		t.Fatalf("tampered: %d", code)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "signature does not verify") || !strings.Contains(out, "status=400") {
		t.Fatalf("log: %s", out)
	}
	if strings.Contains(out, "8801770618576") || strings.Contains(out, "CLA7K2M9QZ") {
		t.Fatalf("log holds message content: %s", out)
	}
}

func TestHandlerConfirmsSubscriptionsOnlyWhenAskedAndVerified(t *testing.T) {
	t.Parallel()
	s := mainSigner()
	for _, tc := range []struct {
		name    string
		confirm bool
		status  int // of the SubscribeURL
		edit    func(*bkashtest.SNSMessage)
		want    int
		visits  int
	}{
		{"enabled", true, 200, nil, 200, 1},
		{"disabled", false, 200, nil, 200, 0},
		{"enabled, SNS refuses", true, 403, nil, 500, 1},
		{"enabled, tampered token", true, 200, func(m *bkashtest.SNSMessage) { m.Token = "x" + m.Token[1:] }, 400, 0},
		{"enabled, foreign topic", true, 200, func(m *bkashtest.SNSMessage) { m.TopicARN = "arn:aws:sns:ap-southeast-1:1:x" }, 400, 0},
	} {
		m := s.NewSubscriptionConfirmation(pubTime)
		if err := s.Sign(m); err != nil {
			t.Fatal(err)
		}
		if tc.edit != nil {
			tc.edit(m)
		}
		mt := httpmock.NewMockTransport()
		mt.RegisterNoResponder(httpmock.NewStringResponder(599, "unexpected request"))
		mt.RegisterResponder(http.MethodGet, m.SubscribeURL, httpmock.NewStringResponder(tc.status, "<ConfirmSubscriptionResponse/>"))
		v, _ := newVerifier(t, bkash.WithSubscriptionConfirmation(tc.confirm), bkash.WithWebhookHTTPClient(&http.Client{Transport: mt}))
		h := v.Handler(func(context.Context, *bkash.Notification) error {
			t.Error("callback called for a confirmation")
			return nil
		})
		if code := post(h, m.JSON()); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
		if n := mt.GetTotalCallCount(); n != tc.visits {
			t.Errorf("%s: %d requests, want %d", tc.name, n, tc.visits)
		}
	}
	m := s.NewUnsubscribeConfirmation(pubTime)
	if err := s.Sign(m); err != nil {
		t.Fatal(err)
	}
	v, _ := newVerifier(t, bkash.WithSubscriptionConfirmation(true), bkash.WithWebhookHTTPClient(&http.Client{Transport: httpmock.NewMockTransport()}))
	if code := post(v.Handler(func(context.Context, *bkash.Notification) error { return nil }), m.JSON()); code != http.StatusOK {
		t.Errorf("unsubscribe confirmation: %d", code)
	}
}

func TestHandlerNeedsACallback(t *testing.T) {
	t.Parallel()
	v, _ := newVerifier(t)
	defer func() {
		if recover() == nil {
			t.Fatal("Handler(nil) did not panic")
		}
	}()
	v.Handler(nil)
}

func TestMemoryDedupeStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := bkash.NewMemoryDedupeStore(3)
	bkash.SetDedupeClock(s, func() time.Time { return now })
	claim := func(id string, ttl time.Duration) bool {
		ok, err := s.Claim(ctx, id, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("a", time.Minute) || claim("a", time.Minute) {
		t.Fatal("first claim must win, the second lose")
	}
	if err := s.Release(ctx, "a"); err != nil || !claim("a", time.Minute) {
		t.Fatal("a released ID must be claimable again")
	}
	if err := s.Release(ctx, "never-claimed"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if !claim("a", time.Minute) {
		t.Fatal("an expired claim must be claimable again")
	}
	// Bounded: the oldest claim goes first.
	claim("b", time.Hour)
	claim("c", time.Hour)
	claim("d", time.Hour)
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
	if !claim("a", time.Hour) {
		t.Fatal("the oldest entry (a) was not dropped")
	}
	if claim("d", time.Hour) {
		t.Fatal("a recent entry was dropped")
	}
	// Expired entries are swept before anything live is dropped.
	now = now.Add(2 * time.Hour)
	claim("e", time.Minute)
	if s.Len() != 1 {
		t.Fatalf("after expiry Len = %d, want 1", s.Len())
	}
	if d := bkash.NewMemoryDedupeStore(0); d == nil {
		t.Fatal("default store")
	}
}

// TestMemoryDedupeStoreTellsInProgressFromDone: a claim is in progress
// until Complete; Complete keeps the message claimed (processed) for its
// ttl, also when the claim had gone (expired, or pushed out by the bound);
// Release of a processed message is not needed and Completed of an unknown
// one is false.
func TestMemoryDedupeStoreTellsInProgressFromDone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := bkash.NewMemoryDedupeStore(2)
	bkash.SetDedupeClock(s, func() time.Time { return now })
	var _ bkash.DedupeCompleter = s
	completed := func(id string) bool {
		done, err := s.Completed(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return done
	}
	if ok, _ := s.Claim(ctx, "a", time.Minute); !ok || completed("a") {
		t.Fatal("a fresh claim must be in progress")
	}
	if err := s.Complete(ctx, "a", time.Hour); err != nil || !completed("a") {
		t.Fatalf("after Complete: %v, completed %v", err, completed("a"))
	}
	if ok, _ := s.Claim(ctx, "a", time.Minute); ok {
		t.Fatal("a processed message was claimed again")
	}
	now = now.Add(30 * time.Minute) // past the claim's minute, within Complete's hour
	if ok, _ := s.Claim(ctx, "a", time.Minute); ok || !completed("a") {
		t.Fatal("Complete's ttl did not replace the claim's")
	}
	// A claim pushed out by the bound is recorded again by Complete.
	s.Claim(ctx, "b", time.Hour)
	s.Claim(ctx, "c", time.Hour) // drops a
	if err := s.Complete(ctx, "b", time.Hour); err != nil || !completed("b") || s.Len() != 2 {
		t.Fatalf("Complete of b: %v, completed %v, Len %d", err, completed("b"), s.Len())
	}
	if completed("never") || completed("c") {
		t.Fatal("an unknown or in-progress message reads as processed")
	}
	now = now.Add(2 * time.Hour)
	if completed("b") {
		t.Fatal("an expired mark reads as processed")
	}
}

func TestMemoryDedupeStoreIsAtomic(t *testing.T) {
	t.Parallel()
	s := bkash.NewMemoryDedupeStore(0)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if ok, _ := s.Claim(context.Background(), "same", time.Minute); ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d winners", wins.Load())
	}
}

func TestParseNotification(t *testing.T) {
	t.Parallel()
	qr := readFixture(t, "notification_qr_numeric.json")
	coupon := readFixture(t, "notification_coupon.json")
	for _, tc := range []struct {
		name string
		in   []byte
		want *bkash.Notification
	}{
		{"coupon payment keeps unknown fields in Raw", coupon, &bkash.Notification{
			TrxID: "CBE3H5J7KL", Amount: bkash.Taka(500), Currency: "BDT", TransactionStatus: "Completed",
			TransactionType: "10002294", DebitMSISDN: "8801929918378", MerchantInvoiceNumber: "A-2002-7",
			TransactionReference: "milk-subscription", CreditShortCode: "50022", CreditOrganizationName: "Smart Dairy Ltd",
			DateTime: mustTime(t, "20250214093005"), CouponAmount: bkash.Taka(50), MerchantShareAmount: bkash.Taka(450),
			SaleAmount: bkash.Taka(450), Raw: coupon,
		}},
		{"numbers and nulls", qr, &bkash.Notification{
			TrxID: "CC11QR22ZZ", Amount: bkash.Taka(1200) + bkash.Poisha(50), Currency: "BDT", TransactionStatus: "Completed",
			TransactionType: "10003126", DebitMSISDN: "8801619777282", CreditShortCode: "50022",
			CreditOrganizationName: "Smart Dairy Ltd", DateTime: mustTime(t, "20250301000001"), Raw: qr,
		}},
		{"minimal, empty optional fields", []byte(`{"trxID":"T1","amount":"2.0","transactionStatus":"Completed","dateTime":"","couponAmount":""}`),
			&bkash.Notification{TrxID: "T1", Amount: bkash.Taka(2), TransactionStatus: "Completed",
				Raw: json.RawMessage(`{"trxID":"T1","amount":"2.0","transactionStatus":"Completed","dateTime":"","couponAmount":""}`)}},
	} {
		got, err := bkash.ParseNotification(string(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	var extra map[string]any
	if err := json.Unmarshal(coupon, &extra); err != nil || extra["campaignCode"] != "EID25" {
		t.Fatal("the coupon fixture must carry an unknown field")
	}
	for _, tc := range []struct {
		name, in string
		missing  bool
	}{
		{"Python dict", `{'trxID': '7EG6OA53IG', 'amount': '2.0'}`, false},
		{"array", `[]`, false},
		{"no trxID", `{"amount":"1","transactionStatus":"Completed"}`, true},
		{"blank trxID", `{"trxID":" ","amount":"1","transactionStatus":"Completed"}`, true},
		{"no amount", `{"trxID":"T","transactionStatus":"Completed"}`, true},
		{"empty amount", `{"trxID":"T","amount":"","transactionStatus":"Completed"}`, true},
		{"null amount", `{"trxID":"T","amount":null,"transactionStatus":"Completed"}`, true},
		{"no status", `{"trxID":"T","amount":"1"}`, true},
		{"empty status", `{"trxID":"T","amount":"1","transactionStatus":" "}`, true},
		{"amount with three decimals", `{"trxID":"T","amount":"1.234","transactionStatus":"Completed"}`, false},
		{"amount in exponent form", `{"trxID":"T","amount":1e3,"transactionStatus":"Completed"}`, false},
		{"amount not a number", `{"trxID":"T","amount":"ten","transactionStatus":"Completed"}`, false},
		{"bad coupon amount", `{"trxID":"T","amount":"1","transactionStatus":"Completed","couponAmount":"x"}`, false},
		{"bad dateTime", `{"trxID":"T","amount":"1","transactionStatus":"Completed","dateTime":"yesterday"}`, false},
		{"trxID twice", `{"trxID":"T","trxID":"U","amount":"1","transactionStatus":"Completed"}`, false},
		{"amount null, then given", `{"trxID":"T","amount":null,"amount":"1","transactionStatus":"Completed"}`, false},
		{"dateTime null, then given", `{"trxID":"T","amount":"1","transactionStatus":"Completed","dateTime":null,"dateTime":"20250101000000"}`, false},
		{"trxID is an object", `{"trxID":{"id":"T"},"amount":"1","transactionStatus":"Completed"}`, false},
		{"trxID is a bool", `{"trxID":true,"amount":"1","transactionStatus":"Completed"}`, false},
	} {
		_, err := bkash.ParseNotification(tc.in)
		if !errors.Is(err, bkash.ErrWebhookBadNotification) || errors.Is(err, bkash.ErrWebhookMissingField) != tc.missing {
			t.Errorf("%s: err = %v (missing field: %v)", tc.name, err, tc.missing)
		}
	}
}

// peerFixtures returns a directory of third-party vectors kept beside the
// repository on the team's machines (never copied into it), or skips.
func peerFixtures(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("BKASH_PEER_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "shared", "peer-fixtures")
	}
	dir = filepath.Join(dir, name)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("peer fixtures not available: %v", err)
	}
	return dir
}

// The vubon/bkash-webhook vectors are genuinely signed (SHA1) but name
// http://localhost:8000 as their certificate URL: Verify must refuse them
// on the URL alone, without calling the fetcher. (internal/sns verifies
// their signatures through the lower-level functions.)
func TestPeerVectorsAreRefusedOnTheirCertURL(t *testing.T) {
	t.Parallel()
	dir := peerFixtures(t, "vubon-bkash-webhook")
	for _, name := range []string{"dummy_notification.json", "dummy_subscribe.json"} {
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := sns.Parse(string(body))
		if err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		ts, _ := time.Parse(time.RFC3339Nano, m.Timestamp())
		v, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(m.TopicARN()),
			bkash.WithClock(func() time.Time { return ts }),
			bkash.WithCertFetcher(func(context.Context, string) (*x509.Certificate, error) {
				calls.Add(1)
				return nil, errors.New("must not be called")
			}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), body); !errors.Is(err, bkash.ErrWebhookCertURL) || calls.Load() != 0 {
			t.Errorf("%s: err = %v, fetches %d", name, err, calls.Load())
		}
	}
	notification, err := os.ReadFile(filepath.Join(dir, "dummy_notification.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := sns.Parse(string(notification))
	if _, err := bkash.ParseNotification(m.Message()); !errors.Is(err, bkash.ErrWebhookBadNotification) {
		t.Errorf("its single-quoted inner Message: err = %v", err)
	}
}

// bkash-rs's sanitised envelopes carry realistic inner messages.
func TestPeerInnerMessagesDecode(t *testing.T) {
	t.Parallel()
	dir := peerFixtures(t, "bkash-rs")
	for name, want := range map[string][3]string{
		"webhook_notification_regular.json": {"TESTWHTRX0001", "100.00", "0.00"},
		"webhook_notification_coupon.json":  {"TESTWHTRX0002", "100.00", "10.00"},
	} {
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := sns.Parse(string(body))
		if err != nil {
			t.Fatal(err)
		}
		n, err := bkash.ParseNotification(m.Message())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := [3]string{n.TrxID, n.Amount.String(), n.CouponAmount.String()}
		if got != want || n.DebitMSISDN != "8801700000001" || n.DateTime.Raw != "20180419122247" {
			t.Errorf("%s: %v %+v", name, got, n)
		}
	}
}

func FuzzParseNotification(f *testing.F) {
	for _, name := range []string{"notification_regular.json", "notification_coupon.json", "notification_qr_numeric.json"} {
		f.Add(string(readFixture(f, name)))
	}
	f.Add(`{'trxID': 'X'}`)
	f.Add(`{"trxID":"T","amount":"1.5","transactionStatus":"Completed","dateTime":"20250101000000"}`)
	f.Fuzz(func(t *testing.T, in string) {
		n, err := bkash.ParseNotification(in)
		if err != nil {
			if !errors.Is(err, bkash.ErrWebhookBadNotification) {
				t.Fatalf("error outside ErrWebhookBadNotification: %v", err)
			}
			return
		}
		if !json.Valid([]byte(in)) || string(n.Raw) != in {
			t.Fatalf("accepted %q with Raw %q", in, n.Raw)
		}
		if strings.TrimSpace(n.TrxID) == "" || strings.TrimSpace(n.TransactionStatus) == "" {
			t.Fatalf("accepted without trxID or status: %q", in)
		}
		// What encoding/json reads for the string fields must agree.
		var m map[string]any
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Fatal(err)
		}
		if s, ok := m["trxID"].(string); ok && s != n.TrxID {
			t.Fatalf("trxID %q, encoding/json %q", n.TrxID, s)
		}
		if s, ok := m["amount"].(string); ok {
			if a, err := bkash.ParseAmount(strings.TrimSpace(s)); err == nil && a != n.Amount {
				t.Fatalf("amount %s, text %q", n.Amount, s)
			}
		}
	})
}

// FuzzVerify feeds arbitrary bodies, seeded with genuinely signed ones, to
// Verify. Whatever it accepts must carry exactly a string to sign that the
// signer signed; whatever it rejects must be rejected with one of the
// documented errors.
func FuzzVerify(f *testing.F) {
	signedTexts := map[string]bool{}
	add := func(m *bkashtest.SNSMessage) {
		text, err := m.StringToSign()
		if err != nil {
			f.Fatal(err)
		}
		signedTexts[text] = true
		f.Add(m.JSON())
	}
	s := mainSigner()
	for _, v := range []string{"1", "2"} {
		add(signed(f, v, nil))
		add(signed(f, v, func(m *bkashtest.SNSMessage) { m.Subject = "Payment received" }))
		c := s.NewSubscriptionConfirmation(pubTime)
		c.SignatureVersion = v
		if err := s.Sign(c); err != nil {
			f.Fatal(err)
		}
		add(c)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`not json`))
	v, _ := newVerifier(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, err := v.Verify(context.Background(), body)
		if err != nil {
			if len(matchedErrors(err)) == 0 {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		m, perr := sns.Parse(string(body))
		if perr != nil {
			t.Fatalf("accepted a body sns.Parse rejects: %v", perr)
		}
		text, _ := sns.AppendStringToSign(nil, m, false)
		withEmpty, _ := sns.AppendStringToSign(nil, m, true)
		if !signedTexts[string(text)] && !signedTexts[string(withEmpty)] {
			t.Fatalf("accepted content that was never signed: %q", text)
		}
		if msg.Type == bkash.WebhookNotification && msg.Notification == nil {
			t.Fatal("notification without a Notification")
		}
	})
}

// benchmarkBody is a signed version-1 notification and the pieces a bare
// RSA verification of the same string needs.
func benchmarkBody(b *testing.B) (body []byte, pub *rsa.PublicKey, text []byte, sig []byte) {
	m := signed(b, "1", nil)
	text0, err := m.StringToSign()
	if err != nil {
		b.Fatal(err)
	}
	sig, err = base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		b.Fatal(err)
	}
	return m.JSON(), mainSigner().Certificate().PublicKey.(*rsa.PublicKey), []byte(text0), sig
}

// BenchmarkVerifyCachedCert is the whole Verify of a notification whose
// certificate is cached: compare with BenchmarkBareRSAVerify.
func BenchmarkVerifyCachedCert(b *testing.B) {
	body, _, _, _ := benchmarkBody(b)
	v, _ := newVerifier(b)
	ctx := context.Background()
	if _, err := v.Verify(ctx, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := v.Verify(ctx, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareRSAVerify hashes the same string to sign and checks the same
// signature with rsa.VerifyPKCS1v15: the floor for any verifier.
func BenchmarkBareRSAVerify(b *testing.B) {
	body, pub, text, sig := benchmarkBody(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		h := sha1.Sum(text)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandler is a whole HTTP delivery, dedupe included.
func BenchmarkHandler(b *testing.B) {
	v, _ := newVerifier(b)
	h := v.Handler(func(context.Context, *bkash.Notification) error { return nil })
	body, _, _, _ := benchmarkBody(b)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", io.NopCloser(bytes.NewReader(body))))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkParseNotification is the inner-message decoding alone.
func BenchmarkParseNotification(b *testing.B) {
	in := string(readFixture(b, "notification_regular.json"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bkash.ParseNotification(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseEnvelope is the SNS envelope decoding alone.
func BenchmarkParseEnvelope(b *testing.B) {
	body, _, _, _ := benchmarkBody(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sns.Parse(string(body)); err != nil {
			b.Fatal(err)
		}
	}
}

// What a WebhookObserver sees (eventLog and obsKey are in harness_test.go).

func TestWebhookObserverSeesEveryVerification(t *testing.T) {
	t.Parallel()
	var log eventLog
	v, _ := newVerifier(t, bkash.WithWebhookObserver(&log))
	ctx := context.WithValue(context.Background(), obsKey{}, "req-7")

	good := signed(t, "2", nil)
	if _, err := v.Verify(ctx, good.JSON()); err != nil {
		t.Fatal(err)
	}
	forged := signed(t, "2", nil)
	forged.Message = strings.Replace(forged.Message, "150.50", "15000.50", 1)
	if _, err := v.Verify(ctx, forged.JSON()); !errors.Is(err, bkash.ErrWebhookBadSignature) {
		t.Fatalf("forged: err = %v", err)
	}
	// Through the Handler: the request's context reaches the event.
	h := v.Handler(func(context.Context, *bkash.Notification) error { return nil })
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/bkash/webhook", bytes.NewReader(signed(t, "1", nil).JSON()))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("handler status %d", rec.Code)
	}

	if len(log.webhooks) != 3 {
		t.Fatalf("%d events, want 3", len(log.webhooks))
	}
	ok, bad := log.webhooks[0], log.webhooks[1]
	if ok.Err != nil || ok.Type != bkash.WebhookNotification || ok.MessageID != good.MessageID ||
		ok.TopicARN != mainSigner().TopicARN() || ok.TrxID != "CLA7K2M9QZ" || ok.Duration <= 0 {
		t.Errorf("verified event = %+v", ok)
	}
	if !errors.Is(bad.Err, bkash.ErrWebhookBadSignature) || bad.Type != "" || bad.MessageID != "" || bad.TopicARN != "" || bad.TrxID != "" {
		t.Errorf("rejected event = %+v, want only the error (a forged message's claims are not repeated)", bad)
	}
	for i, e := range log.webhooks {
		if e.Context().Value(obsKey{}) != "req-7" {
			t.Errorf("event %d lost the caller's context", i)
		}
	}
	if fmt.Sprint(log.webhooks) == "" || strings.Contains(fmt.Sprintf("%+v", log.webhooks), "8801770618575") {
		t.Errorf("the payer's wallet number reached an event: %+v", log.webhooks)
	}
	if _, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(mainSigner().TopicARN()), bkash.WithWebhookObserver(nil)); err == nil {
		t.Error("WithWebhookObserver(nil) accepted")
	}
}

// TestHandlerConcurrentRedeliveriesWithFailingCallbacks: eight SNS
// deliveries of one message race, each coming again after any non-2xx
// answer; the callback is slow and fails its first five runs. Whatever the
// interleaving: the callback never runs twice at once, it succeeds exactly
// once, no delivery gets 200 before that success, and every delivery ends
// with 200.
func TestHandlerConcurrentRedeliveriesWithFailingCallbacks(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		v, _ := newVerifier(t)
		var runs, running, overlap, successes atomic.Int32
		var succeeded atomic.Bool
		h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
			if running.Add(1) > 1 {
				overlap.Add(1)
			}
			defer running.Add(-1)
			time.Sleep(time.Duration(round%3) * time.Millisecond)
			if runs.Add(1) <= 5 {
				return errors.New("database timeout")
			}
			successes.Add(1)
			succeeded.Store(true)
			return nil
		})
		body := signed(t, "1", nil).JSON()
		var wg sync.WaitGroup
		var early, unfinished atomic.Int32
		for range 8 {
			wg.Go(func() {
				for range 500 {
					code := post(h, body)
					if code == http.StatusOK {
						if !succeeded.Load() {
							early.Add(1)
						}
						return
					}
					if code != http.StatusInternalServerError && code != http.StatusServiceUnavailable {
						t.Errorf("unexpected status %d", code)
						return
					}
					time.Sleep(100 * time.Microsecond)
				}
				unfinished.Add(1)
			})
		}
		wg.Wait()
		if successes.Load() != 1 || overlap.Load() != 0 || early.Load() != 0 || unfinished.Load() != 0 {
			t.Fatalf("round %d: successes %d (want 1), overlapping runs %d, 200s before the success %d, deliveries never answered 200 %d (want 0)",
				round, successes.Load(), overlap.Load(), early.Load(), unfinished.Load())
		}
	}
}

// TestHandlerPanickingCallbackIsDeliveredAgain: through a real server
// (which recovers the panic and drops the connection), a callback that
// panics leaves no claim behind: the redelivery runs the callback, and a
// duplicate after its success gets 200 without a third run.
func TestHandlerPanickingCallbackIsDeliveredAgain(t *testing.T) {
	t.Parallel()
	v, _ := newVerifier(t)
	var calls atomic.Int32
	h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
		if calls.Add(1) == 1 {
			panic("nil map in the order service")
		}
		return nil
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the recovered panic
	srv.Start()
	defer srv.Close()
	body := signed(t, "1", nil).JSON()
	send := func() (int, error) {
		res, err := srv.Client().Post(srv.URL, "text/plain", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	if code, err := send(); err == nil {
		t.Fatalf("panicking callback: HTTP %d, want a dropped connection", code)
	}
	if code, err := send(); err != nil || code != http.StatusOK || calls.Load() != 2 {
		t.Fatalf("redelivery: %d %v, calls %d; want 200, 2", code, err, calls.Load())
	}
	if code, err := send(); err != nil || code != http.StatusOK || calls.Load() != 2 {
		t.Fatalf("duplicate: %d %v, calls %d; want 200, 2", code, err, calls.Load())
	}
}

// TestHandlerSNSGivesUpMidCallback: SNS closes the connection (its
// delivery timeout) while the callback runs. A callback that gives up with
// the context lets the redelivery through; one that finishes anyway
// (ignoring the context) marks the message processed, so the redelivery
// gets 200 without a second run.
func TestHandlerSNSGivesUpMidCallback(t *testing.T) {
	t.Parallel()
	for _, honours := range []bool{true, false} {
		v, _ := newVerifier(t)
		var calls atomic.Int32
		entered := make(chan struct{})
		h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
			if calls.Add(1) > 1 {
				return nil
			}
			close(entered)
			<-ctx.Done()
			if honours {
				return ctx.Err()
			}
			time.Sleep(20 * time.Millisecond) // the write to the database completes
			return nil
		})
		// The first delivery's Handler must have finished (released the
		// claim, or marked the message processed) before SNS redelivers:
		// the callback returning is not enough, the mark comes after it.
		finished := make(chan struct{}, 2)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() { finished <- struct{}{} }()
			h.ServeHTTP(w, r)
		}))
		body := signed(t, "1", nil).JSON()
		// SNS gives up once the callback is running, however slow the
		// machine is to get there.
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, bytes.NewReader(body))
		first := make(chan error, 1)
		go func() {
			res, err := srv.Client().Do(req)
			if err == nil {
				res.Body.Close()
				err = fmt.Errorf("answered %d", res.StatusCode)
			}
			first <- err
		}()
		wait := func(what string, ch <-chan struct{}) {
			select {
			case <-ch:
			case <-time.After(10 * time.Second):
				t.Fatalf("honours=%v: %s: not after 10 s", honours, what)
			}
		}
		wait("the callback to start", entered)
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("honours=%v: first delivery: %v; want SNS to give up before an answer", honours, err)
		}
		wait("the first delivery's Handler to return", finished)
		res, err := srv.Client().Post(srv.URL, "text/plain", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := map[bool]int32{true: 2, false: 1}[honours]
		if res.StatusCode != http.StatusOK || calls.Load() != want {
			t.Errorf("honours=%v: redelivery %d, calls %d; want 200, %d", honours, res.StatusCode, calls.Load(), want)
		}
		srv.Close()
	}
}

// TestDefaultLeaseFollowsAShortMessageAge: a verifier with a short
// age limit and no clock skew was valid before WithDedupeLease existed. It
// is now refused, blaming WithDedupeLease, which the caller never passed:
// the default lease (30 s) is checked as if the caller had asked for it.
// The explicit checks must not depend on the order of the options.
func TestDefaultLeaseFollowsAShortMessageAge(t *testing.T) {
	t.Parallel()
	arn := bkash.WithAllowedTopicARNs("arn:aws:sns:ap-southeast-1:123456789012:bkash")
	age, skew := bkash.WithMaxMessageAge(20*time.Second), bkash.WithMaxClockSkew(0)
	if _, err := bkash.NewWebhookVerifier(arn, age, skew); err != nil {
		t.Errorf("WithMaxMessageAge(20s), WithMaxClockSkew(0), no WithDedupeLease: %v; want accepted (the default lease should fit the age limit)", err)
	}
	for _, lease := range []struct {
		d  time.Duration
		ok bool
	}{{10 * time.Second, true}, {20 * time.Second, true}, {21 * time.Second, false}} {
		for _, opts := range [][]bkash.WebhookOption{
			{arn, bkash.WithDedupeLease(lease.d), age, skew},
			{arn, age, skew, bkash.WithDedupeLease(lease.d)},
			{arn, age, bkash.WithDedupeLease(lease.d), skew},
		} {
			if _, err := bkash.NewWebhookVerifier(opts...); (err == nil) != lease.ok {
				t.Errorf("lease %v with age 20s, skew 0: %v, want ok=%v", lease.d, err, lease.ok)
			}
		}
	}
}

// TestMemoryStoreSweepsExpiredClaimsBeforeDroppingAProcessedMessage:
// with leases and long "processed" marks in one list, the front is no
// longer the entry that expires first. A full store must drop an expired
// claim before a live processed mark, else a duplicate is processed twice.
func TestMemoryStoreSweepsExpiredClaimsBeforeDroppingAProcessedMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := bkash.NewMemoryDedupeStore(2)
	bkash.SetDedupeClock(s, func() time.Time { return now })
	s.Claim(ctx, "done", 30*time.Second)
	s.Complete(ctx, "done", time.Hour) // front of the list, live for an hour
	s.Claim(ctx, "stale", 30*time.Second)
	now = now.Add(time.Minute) // "stale"'s lease is over
	if ok, _ := s.Claim(ctx, "new", 30*time.Second); !ok {
		t.Fatal("claim of a new message failed")
	}
	if ok, _ := s.Claim(ctx, "done", 30*time.Second); ok {
		t.Error("a processed message (live for an hour) was dropped while an expired claim was kept: its duplicate is claimed again")
	}
}

// TestHandlerKeepsAProcessedMessageWhileAStaleClaimFillsTheStore:
// the same through the Handler. A bounded MemoryDedupeStore holds one
// processed message and one claim whose callback outlived the lease (a slow
// database). A new message must push out the expired claim, not the
// processed message: SNS's duplicate of that one must get 200 without
// running the callback again.
func TestHandlerKeepsAProcessedMessageWhileAStaleClaimFillsTheStore(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Unix(1_700_000_000, 0).UnixNano())
	store := bkash.NewMemoryDedupeStore(2)
	bkash.SetDedupeClock(store, func() time.Time { return time.Unix(0, now.Load()) })
	v, _ := newVerifier(t, bkash.WithDedupeStore(store), bkash.WithDedupeLease(time.Second))
	calls := map[string]*atomic.Int32{"m1": {}, "m2": {}, "m3": {}}
	release, entered := make(chan struct{}), make(chan struct{})
	msg := func(id string) []byte {
		return signed(t, "1", func(m *bkashtest.SNSMessage) { m.MessageID = id }).JSON()
	}
	counting := func(id string) http.Handler {
		return v.Handler(func(ctx context.Context, n *bkash.Notification) error {
			calls[id].Add(1)
			if id == "m2" {
				close(entered)
				<-release
			}
			return nil
		})
	}
	if code := post(counting("m1"), msg("m1")); code != http.StatusOK {
		t.Fatalf("m1: %d", code)
	}
	done := make(chan int)
	go func() { done <- post(counting("m2"), msg("m2")) }()
	<-entered
	now.Add(int64(2 * time.Second)) // m2's callback outlives its lease
	if code := post(counting("m3"), msg("m3")); code != http.StatusOK {
		t.Fatalf("m3: %d", code)
	}
	code := post(counting("m1"), msg("m1"))
	close(release)
	<-done
	if code != http.StatusOK || calls["m1"].Load() != 1 {
		t.Errorf("SNS's duplicate of the processed m1: HTTP %d, callback ran %d times; want 200, once (the full store dropped m1's processed mark, not m2's expired claim)", code, calls["m1"].Load())
	}
}

// TestOverrunningFailureDoesNotEraseAProcessedMark: delivery A's
// callback outlives the lease; SNS's redelivery B runs and succeeds (the
// message is processed, marked done); then A fails and the Handler releases
// "its" claim. MemoryDedupeStore.Release deletes whatever is there, the
// processed mark included, so SNS's retry of A's 500 runs the callback a
// third time, after the message was processed and with nothing else
// running. (redisstore never releases a processed mark: the stores differ.)
func TestOverrunningFailureDoesNotEraseAProcessedMark(t *testing.T) {
	t.Parallel()
	const lease = 100 * time.Millisecond
	v, _ := newVerifier(t, bkash.WithDedupeLease(lease))
	var calls atomic.Int32
	aRunning, aFail := make(chan struct{}), make(chan struct{})
	h := v.Handler(func(ctx context.Context, n *bkash.Notification) error {
		if calls.Add(1) == 1 { // A: slow, then fails
			close(aRunning)
			<-aFail
			return errors.New("database timeout")
		}
		return nil
	})
	body := signed(t, "1", nil).JSON()
	aCode := make(chan int)
	go func() { aCode <- post(h, body) }()
	<-aRunning
	time.Sleep(lease + 50*time.Millisecond)
	if code := post(h, body); code != http.StatusOK || calls.Load() != 2 {
		t.Fatalf("B after A's lease: %d, calls %d; want 200, 2", code, calls.Load())
	}
	close(aFail)
	if code := <-aCode; code != http.StatusInternalServerError {
		t.Fatalf("A: %d, want 500", code)
	}
	if code := post(h, body); code != http.StatusOK || calls.Load() != 2 {
		t.Errorf("SNS's retry of A's 500, after B processed the message: HTTP %d, callback ran %d times; want 200, 2 (A's release erased B's processed mark)", code, calls.Load())
	}
}

// TestLateFailureNeverReleasesTheRedeliverysClaimInMemory: as the
// redisstore test of that name, with the default MemoryDedupeStore, whose
// Release deletes any claim of the ID: A (outlived its lease) fails while
// B runs within its own lease; C must get 503, not run beside B.
func TestLateFailureNeverReleasesTheRedeliverysClaimInMemory(t *testing.T) {
	t.Parallel()
	const lease = 100 * time.Millisecond
	v, _ := newVerifier(t, bkash.WithDedupeLease(lease))
	var calls atomic.Int32
	aIn, aFail, bIn, bGo := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	h := v.Handler(func(context.Context, *bkash.Notification) error {
		switch calls.Add(1) {
		case 1:
			close(aIn)
			<-aFail
			return errors.New("database timeout")
		case 2:
			close(bIn)
			<-bGo
		}
		return nil
	})
	body := signed(t, "1", nil).JSON()
	aCode, bCode := make(chan int), make(chan int)
	go func() { aCode <- post(h, body) }()
	<-aIn
	time.Sleep(lease + 50*time.Millisecond)
	go func() { bCode <- post(h, body) }()
	<-bIn
	close(aFail)
	<-aCode
	cCode := post(h, body)
	close(bGo)
	<-bCode
	if cCode != http.StatusServiceUnavailable || calls.Load() != 2 {
		t.Errorf("C while B runs within its lease: HTTP %d, callback ran %d times; want 503, 2 (A's late Release deleted B's claim)", cCode, calls.Load())
	}
}
