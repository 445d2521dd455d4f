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
		case key == "merchantinvoicenumber" || key == "merchantinvoice":
			return maskWallets(v), true
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

// maskWallets masks every run of digits in free text (an invoice number)
// that has the shape of a Bangladeshi wallet number, 01[3-9] and eight
// digits, or the same after 880 (13 digits): merchants build invoice
// numbers from the customer's phone number ("ORD-01770618575-3"), and a
// full wallet number must not reach a log line, an observer's Ref or a
// span. The run is masked as MaskMSISDN masks it ("017****8575"); other
// digits (dates, counters, Unix times, which do not start with 0 or 880)
// are kept, so the reference still finds the order.
func maskWallets(s string) string {
	var b strings.Builder
	kept := 0 // s[:kept] is in b, once b is in use
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if run := s[i:j]; isWallet(run) {
			b.WriteString(s[kept:i])
			b.WriteString(MaskMSISDN(run))
			kept = j
		}
		i = j
	}
	if kept == 0 {
		return s
	}
	b.WriteString(s[kept:])
	return b.String()
}

// isWallet reports whether a run of digits is 01[3-9]xxxxxxxx or
// 8801[3-9]xxxxxxxx.
func isWallet(run string) bool {
	switch {
	case len(run) == 11 && run[:2] == "01":
	case len(run) == 13 && run[:4] == "8801":
		run = run[2:]
	default:
		return false
	}
	return run[2] >= '3' && run[2] <= '9'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
