package bkash

import (
	"strconv"

	"github.com/smartdairy/bkash-go/internal/redact"
)

// secretKeys are body fields that never reach a log line.
var secretKeys = map[string]bool{
	"id_token": true, "refresh_token": true, "app_secret": true, "password": true,
	"token": true, "authorization": true, "signature": true,
}

// msisdnKeys are body fields that hold a wallet number; they are masked.
var msisdnKeys = map[string]bool{
	"customermsisdn": true, "payerreference": true, "debitmsisdn": true,
	"payeraccount": true, "msisdn": true, "receivermsisdn": true, "wallet": true,
}

// logRules redact the bodies of debug logs: secrets become [REDACTED],
// wallet numbers are masked.
var logRules = redact.Rules{
	Secret: secretKeys,
	Mask: func(key, v string) (string, bool) {
		if msisdnKeys[key] {
			return MaskMSISDN(v), true
		}
		return "", false
	},
}

// redactBody renders a JSON body for a log line, in its own key order, with
// everything below a secret key replaced by [REDACTED] and wallet numbers
// masked. A body that is not JSON is not shown.
func redactBody(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	out, ok := redact.JSON(b, logRules)
	if !ok {
		return "[" + strconv.Itoa(len(b)) + " bytes, not JSON]"
	}
	return string(out)
}

// MaskMSISDN masks the middle of a wallet number for logs: "01770618575"
// becomes "017****8575". Values too short to mask become "****".
func MaskMSISDN(s string) string {
	if len(s) < 8 {
		return "****"
	}
	return s[:3] + "****" + s[len(s)-4:]
}
