package bkash

import "github.com/smartdairy/bkash-go/internal/sns"

// The checks of internal/sns return its Err... sentinels, and Verify passes
// them on. The sentinels are this package's (declared in webhook.go with
// their own text, so go doc shows them as they are): set sns's to the same
// values before anything runs, so that errors.Is(err, ErrWebhookBadJSON)
// holds for an error sns made. internal/sns cannot import this package.
func init() {
	sns.ErrBadJSON = ErrWebhookBadJSON
	sns.ErrMissingField = ErrWebhookMissingField
	sns.ErrMessageType = ErrWebhookMessageType
	sns.ErrSignatureVersion = ErrWebhookSignatureVersion
	sns.ErrBadSignature = ErrWebhookBadSignature
	sns.ErrCertURL = ErrWebhookCertURL
	sns.ErrSubscribeURL = ErrWebhookSubscribeURL
	sns.ErrCertFetch = ErrWebhookCertFetch
}
