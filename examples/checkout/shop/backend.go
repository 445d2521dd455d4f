package shop

import (
	"errors"
	"fmt"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// Backend is the bKash the shop talks to: a client, a webhook verifier, and
// the words for the banner.
type Backend struct {
	// Name is "fake" or "sandbox"; the store file is named after it so that
	// orders of the two never mix.
	Name string
	// Client is the SDK client.
	Client *bkash.Client
	// Verifier checks webhook messages; nil when the shop cannot verify them
	// (the sandbox without BKASH_WEBHOOK_TOPIC_ARN).
	Verifier *bkash.WebhookVerifier
	// Banner says which bKash this is, on every page.
	Banner string
	// Sandbox is true for the real sandbox.
	Sandbox bool
	// Fake is the in-process fake bKash (nil for the sandbox). Its hosted
	// payment page is Fake.URL + "/checkout": payments' bkashURL points there.
	Fake *bkashtest.Server
}

// FakeBanner is the banner of a shop running against the in-process fake.
const FakeBanner = "Test mode: a fake bKash runs inside this program (no credentials, no network, no money). " +
	"Pay with wallet 01770618575, verification code 123456, PIN 12121."

// SandboxBanner is the banner of a shop running against bKash's sandbox.
const SandboxBanner = "bKash sandbox (tokenized.sandbox.bka.sh): test money only. " +
	"Sandbox wallet 01770618575, verification code 123456, PIN 12121."

// NewFakeBackend starts an in-process fake bKash (package bkashtest) and a
// client for it. The fake posts signed webhook notifications to
// publicURL + "/bkash/webhook", signed by a test SNS signer whose
// certificate the verifier is given directly (no download). Close it with
// Backend.Close.
func NewFakeBackend(publicURL string, opts ...bkash.Option) (*Backend, error) {
	return NewFakeBackendWith(publicURL, nil, opts...)
}

// NewFakeBackendWith is NewFakeBackend with options for the fake itself
// (its credentials, clock, state file...).
func NewFakeBackendWith(publicURL string, fakeOpts []bkashtest.Option, opts ...bkash.Option) (*Backend, error) {
	signer, err := bkashtest.NewSNSSigner()
	if err != nil {
		return nil, fmt.Errorf("fake bKash: %w", err)
	}
	fake, err := bkashtest.Open(append([]bkashtest.Option{
		bkashtest.WithMerchant("Smart Dairy", "50022"),
		bkashtest.WithWebhook(publicURL+"/bkash/webhook", signer),
	}, fakeOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("fake bKash: %w", err)
	}
	client, err := bkash.NewClient(bkash.Sandbox, fake.Credentials(),
		append([]bkash.Option{bkash.WithBaseURL(fake.URL)}, opts...)...)
	if err != nil {
		fake.Close()
		return nil, err
	}
	verifier, err := bkash.NewWebhookVerifier(
		bkash.WithAllowedTopicARNs(signer.TopicARN()),
		bkash.WithCertFetcher(signer.CertFetcher()),
	)
	if err != nil {
		fake.Close()
		return nil, err
	}
	return &Backend{Name: "fake", Client: client, Verifier: verifier, Banner: FakeBanner, Fake: fake}, nil
}

// RemoteBanner is the banner of a shop running against BKASH_BASE_URL.
const RemoteBanner = "bKash at %s (BKASH_BASE_URL). For a `bkash fake`: wallet 01770618575, verification code 123456, PIN 12121."

// NewRemoteBackend returns a client for the bKash at baseURL (a root such as
// http://127.0.0.1:9090: a `bkash fake`, a recorded test server or a proxy)
// with creds. Webhooks are verified only when topicARN is set.
func NewRemoteBackend(baseURL string, creds bkash.Credentials, topicARN string, opts ...bkash.Option) (*Backend, error) {
	b, err := NewSandboxBackend(creds, topicARN, append([]bkash.Option{bkash.WithBaseURL(baseURL)}, opts...)...)
	if err != nil {
		return nil, err
	}
	b.Name, b.Banner, b.Sandbox = "remote", fmt.Sprintf(RemoteBanner, baseURL), false
	return b, nil
}

// NewSandboxBackend returns a client for bKash's sandbox. Webhooks are
// verified only when topicARN (the SNS topic bKash gives the merchant) is set.
func NewSandboxBackend(creds bkash.Credentials, topicARN string, opts ...bkash.Option) (*Backend, error) {
	client, err := bkash.NewClient(bkash.Sandbox, creds, opts...)
	if err != nil {
		return nil, err
	}
	b := &Backend{Name: "sandbox", Client: client, Banner: SandboxBanner, Sandbox: true}
	if topicARN != "" {
		v, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(topicARN))
		if err != nil {
			return nil, errors.Join(errors.New("BKASH_WEBHOOK_TOPIC_ARN"), err)
		}
		b.Verifier = v
	}
	return b, nil
}

// Close stops the fake bKash, if any.
func (b *Backend) Close() {
	if b.Fake != nil {
		b.Fake.Close()
	}
}
