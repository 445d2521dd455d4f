package bkash

import (
	"errors"
	"testing"

	"github.com/smartdairy/bkash-go/internal/sns"
)

// The webhook errors are package bkash's own values and sns returns them.
func TestWebhookErrorsAreSNSErrors(t *testing.T) {
	t.Parallel()
	pairs := []struct{ ours, theirs error }{
		{ErrWebhookBadJSON, sns.ErrBadJSON},
		{ErrWebhookMissingField, sns.ErrMissingField},
		{ErrWebhookMessageType, sns.ErrMessageType},
		{ErrWebhookSignatureVersion, sns.ErrSignatureVersion},
		{ErrWebhookBadSignature, sns.ErrBadSignature},
		{ErrWebhookCertURL, sns.ErrCertURL},
		{ErrWebhookSubscribeURL, sns.ErrSubscribeURL},
		{ErrWebhookCertFetch, sns.ErrCertFetch},
	}
	for _, p := range pairs {
		if p.ours != p.theirs {
			t.Errorf("%v is not the error sns returns (%v)", p.ours, p.theirs)
		}
	}
	// An error made by sns matches through Verify's errors.Is.
	if err := sns.CheckCertURL("http://example.com/cert.pem"); !errors.Is(err, ErrWebhookCertURL) {
		t.Errorf("sns.CheckCertURL error %v does not match ErrWebhookCertURL", err)
	}
	for ours, theirs := range map[WebhookMessageType]string{
		WebhookNotification:             sns.TypeNotification,
		WebhookSubscriptionConfirmation: sns.TypeSubscriptionConfirmation,
		WebhookUnsubscribeConfirmation:  sns.TypeUnsubscribeConfirmation,
	} {
		if string(ours) != theirs {
			t.Errorf("WebhookMessageType %q, sns says %q", ours, theirs)
		}
	}
}
