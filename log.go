package bkash

import (
	"net/url"
	"strconv"
	"strings"

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
// wallet numbers are masked, and URLs (callbackURL, the success, failure
// and cancelled callback URLs, bkashURL) lose their query, fragment and
// user info. Keys are matched as encoding/json matches them (see
// redact.Fold): "refre\u017fh_token" is a refresh_token.
var logRules = redact.Rules{
	Secret: secretKeys,
	Mask: func(key, v string) (string, bool) {
		switch {
		case msisdnKeys[key]:
			return MaskMSISDN(v), true
		case strings.HasSuffix(key, "url"):
			return maskURL(v), true
		}
		return "", false
	},
}

// maskURL keeps a URL's scheme, host and path for a log line and replaces
// its query, fragment and user info with [REDACTED]. A merchant may put a
// secret in its callback URL's query (an order token, a signature key),
// and bKash echoes the callback URLs in its answers; bkashURL's query
// holds the payment page's session.
func maskURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return maskRawURL(v)
	}
	out := u.Scheme + "://"
	if u.User != nil {
		out += redact.Redacted + "@"
	}
	out += u.Host + u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + redact.Redacted
	}
	if u.Fragment != "" || u.RawFragment != "" {
		out += "#" + redact.Redacted
	}
	return out
}

// maskRawURL masks a URL that net/url cannot parse as an absolute one
// ("https://shop:pw@shop.example/%zz", "shop:pw@shop.example/cb"): its
// query and fragment go, and so does everything before the last '@' of
// what remains (after a "scheme://" or "//"), which is where user info and
// its password sit. Keeping the text before the first '@' would keep
// exactly the password.
func maskRawURL(v string) string {
	rest, tail := v, ""
	if i := strings.IndexAny(v, "?#"); i >= 0 {
		rest, tail = v[:i], v[i:i+1]+redact.Redacted
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		start := 0
		if i := strings.Index(rest[:at], "//"); i >= 0 {
			start = i + 2
		}
		rest = rest[:start] + redact.Redacted + rest[at:]
	}
	return rest + tail
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
