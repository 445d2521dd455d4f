// Package bkash is a Go client for bKash Tokenized Checkout (API v1.2.0-beta),
// the payment API of Bangladesh's largest mobile wallet.
//
// # Getting started
//
// Create one [Client] per set of merchant credentials and share it: it is
// immutable and safe for concurrent use.
//
//	client, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
//		Username:  "sandboxTokenizedUser02",
//		Password:  bkash.Secret(os.Getenv("BKASH_PASSWORD")),
//		AppKey:    os.Getenv("BKASH_APP_KEY"),
//		AppSecret: bkash.Secret(os.Getenv("BKASH_APP_SECRET")),
//	})
//
// # Money
//
// Amounts are [Amount] values: an integer count of poisha (1/100 taka). No
// floating point value is ever used for money. [Amount.String] formats the
// value the way bKash expects it on the wire ("1250.50").
//
// # Ambiguous outcomes
//
// A call that moves money (execute, capture, void, refund, agreement execute)
// is sent at most once. When the SDK cannot know whether bKash processed it
// (a timeout, a dropped connection, a cancelled context, an unreadable answer,
// an error body that is not bKash's, or one of bKash's transient codes),
// it returns an [*OutcomeUnknownError]. Reconcile with a read: [PaymentService.Query]
// for payments (or use [PaymentService.Finalize], which does it for you) and
// [RefundService.Status] for refunds. Nothing below the SDK can re-send such
// a call either: its request carries no Request.GetBody, so net/http's
// HTTP/2 client cannot replay it after a stream reset. A RoundTripper that
// re-sends requests by itself is beyond any SDK's reach (see
// [WithHTTPClient]). The gateway's own refusal reached nobody and is an
// [*APIError] without a code; see [APIError.Temporary] and [ConfigError].
//
// # Tokens
//
// bKash blocks an application that grants or refreshes tokens more than twice
// an hour. The client caches its token, renews it once for all goroutines
// (with the refresh_token while it is valid) and never sends a third grant or
// refresh request, retries included, within an hour: it returns
// [ErrTokenBudgetExceeded] instead. Through a [TokenStore] (see
// [WithTokenStore]) several processes share one token; a store that is also a
// [TokenLocker] serialises their renewals (the others wait for the holder's
// token), a [TokenLockExtender] keeps a short lock alive while its holder
// works, a [TokenBudgetStore] keeps the budget for the whole fleet and across
// restarts, and [WithTokenEncryption] keeps the stored token encrypted.
//
// # Webhooks
//
// bKash's instant payment notifications are Amazon SNS messages. Verify them
// with a [WebhookVerifier] before trusting any field.
//
// # Testing
//
// Package bkashtest provides a fake bKash server that speaks the same wire
// format, for tests that need no credentials and no network.
package bkash

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Environment selects the bKash deployment a Client talks to. There is no
// default: every Client names one explicitly.
type Environment struct {
	name string
	root string // scheme://host, without the version segment
}

// Sandbox is bKash's public test environment (tokenized.sandbox.bka.sh).
var Sandbox Environment

// Production is bKash's live environment (tokenized.pay.bka.sh).
var Production Environment

// The environments are set here, not in their declarations, so that go doc
// shows them without Environment's unexported fields. Nothing reads them
// during package initialisation.
func init() {
	Sandbox = Environment{name: "sandbox", root: "https://tokenized.sandbox.bka.sh"}
	Production = Environment{name: "production", root: "https://tokenized.pay.bka.sh"}
}

// String returns "sandbox" or "production".
func (e Environment) String() string {
	if e.name == "" {
		return "unset"
	}
	return e.name
}

// BaseURL returns the host root of the environment, for example
// "https://tokenized.sandbox.bka.sh". The SDK appends the API paths itself.
func (e Environment) BaseURL() string { return e.root }

// Amount is an amount of money in poisha, the hundredth part of a taka.
// It is never a floating point number.
type Amount int64

// Taka returns n taka as an Amount.
//
// An n whose poisha do not fit in an Amount (more than
// 92,233,720,368,547,758 taka either way) gives an amount that every call
// refuses with a *ValidationError before sending, rather than the small
// value n*100 would wrap to: Taka(184467440737095517) is not 84 poisha.
func Taka(n int64) Amount {
	if n > math.MaxInt64/100 || n < math.MinInt64/100 {
		return overflowAmount
	}
	return Amount(n * 100)
}

// MaxAmount is the largest amount the SDK sends: one trillion taka, far
// above any payment bKash takes (bKash's own limits are much lower and are
// its to enforce). It is a sanity bound, so that an amount that overflowed
// in the caller's arithmetic is refused rather than sent: Amount is an
// int64, and a sum that wraps past its range becomes a huge positive or a
// negative number, never a plausible one.
const MaxAmount Amount = 1_000_000_000_000 * 100

// overflowAmount is what Taka returns for an n out of range: the most
// negative Amount, so that it stays invalid (negative, or above MaxAmount
// after wrapping) under any addition or subtraction of a valid amount.
const overflowAmount = Amount(math.MinInt64)

// Poisha returns n poisha as an Amount.
func Poisha(n int64) Amount { return Amount(n) }

// Taka returns the whole-taka part of a.
func (a Amount) Taka() int64 { return int64(a) / 100 }

// Poisha returns the poisha part of a (0-99, negative for negative amounts).
func (a Amount) Poisha() int64 { return int64(a) % 100 }

// String formats a as bKash expects it: "1250.50", "0.05", "-3.00".
func (a Amount) String() string {
	var buf [24]byte
	return string(a.AppendText(buf[:0]))
}

// AppendText appends the wire form of a to b. It implements
// encoding.TextAppender.
func (a Amount) AppendText(b []byte) []byte {
	u := uint64(a)
	if a < 0 {
		b = append(b, '-')
		u = uint64(-a) // wraps correctly for math.MinInt64
	}
	b = strconv.AppendUint(b, u/100, 10)
	frac := u % 100
	return append(b, '.', byte('0'+frac/10), byte('0'+frac%10))
}

// MarshalText implements encoding.TextMarshaler.
func (a Amount) MarshalText() ([]byte, error) { return a.AppendText(nil), nil }

// MarshalJSON encodes a as a JSON string, "1250.50", as bKash sends amounts.
func (a Amount) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 24)
	b = append(b, '"')
	b = a.AppendText(b)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a JSON string ("1250.50", "480") or a JSON number
// (1250.5), since bKash's echoes are not always strings. Both are parsed as
// decimal text with the rules of ParseAmount (no sign, no exponent, no
// spaces, at most two decimals); no floating point value is involved. null
// leaves a unchanged and "" (bKash's absent amount) gives 0
// (docs/wire.md, "Amounts").
func (a *Amount) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	text := b // a number: its digits as written
	if len(b) > 0 && b[0] == '"' {
		s, err := jsonString(b)
		if err != nil {
			return fmt.Errorf("bkash: amount: %w", err)
		}
		if s == "" { // bKash sends "" for absent amounts in some replies
			*a = 0
			return nil
		}
		text = []byte(s)
	}
	v, err := parseAmount(text)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// jsonString returns the text of the JSON string literal b, for the
// UnmarshalJSON methods of the wire's values (Amount, Time, looseTime,
// flexString), which read strings and numbers alike. bKash's strings carry
// no escapes, so a literal without a backslash is taken as it stands
// (encoding/json does the same inside its own decoder); any other literal
// is decoded by encoding/json.
func jsonString(b []byte) (string, error) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// UnmarshalText implements encoding.TextUnmarshaler with the strict rules of
// ParseAmount.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := parseAmount(b)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseAmount parses a decimal taka amount such as "1250.50", "480" or "0.5".
// It accepts exactly ^[0-9]+(\.[0-9]{1,2})?$: no sign, no exponent, no
// spaces, at most two decimals.
func ParseAmount(s string) (Amount, error) {
	return parseAmount([]byte(s))
}

// parseAmount parses decimal text into poisha with the rules of
// ParseAmount. Answers from bKash are read with the same rules: every amount
// in the answers recorded from bKash and public integrations ("500",
// "500.00", 500, "1250.5") passes them, and an amount that does not (a sign,
// three decimals) is not one to trust.
func parseAmount(s []byte) (Amount, error) {
	bad := func(why string) (Amount, error) {
		return 0, &amountError{text: string(s), why: why}
	}
	if len(s) == 0 {
		return bad("empty")
	}
	i := 0
	var whole uint64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if whole > (math.MaxInt64/100-9)/10 {
			return bad("too large")
		}
		whole = whole*10 + uint64(s[i]-'0')
	}
	if i == 0 {
		return bad("not a decimal number")
	}
	var frac uint64
	if i < len(s) {
		if s[i] != '.' {
			return bad("not a decimal number")
		}
		i++
		digits := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			d := uint64(s[i] - '0')
			if digits == 2 {
				return bad("more than two decimals")
			}
			frac = frac*10 + d
			digits++
		}
		if digits == 0 {
			return bad("no digits after the decimal point")
		}
		if i != len(s) {
			return bad("not a decimal number")
		}
		if digits == 1 {
			frac *= 10
		}
	}
	return Amount(whole*100 + frac), nil
}

type amountError struct{ text, why string }

func (e *amountError) Error() string {
	return fmt.Sprintf("bkash: invalid amount %q: %s", e.text, e.why)
}

// Secret is a string that never prints: fmt's verbs, slog, JSON, text and
// binary marshalling (encoding/gob, and stores that take an
// encoding.BinaryMarshaler) all render it as [REDACTED]. Convert it with
// string(s) where the raw value is really needed. (One exception is fmt's
// %p, which is not a verb for strings: fmt then prints the value without
// asking it, as "%!p(bkash.Secret=...)". No code should format a Secret
// with %p.)
type Secret string

const redacted = "[REDACTED]"

// String returns "[REDACTED]".
func (Secret) String() string { return redacted }

// GoString returns "[REDACTED]", so %#v does not print the value either.
func (Secret) GoString() string { return redacted }

// Format renders the secret as [REDACTED] for every fmt verb.
func (Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes the secret as "[REDACTED]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes the secret as [REDACTED].
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalBinary encodes the secret as [REDACTED]: encoding/gob (which does
// not use MarshalText) and stores that take an encoding.BinaryMarshaler
// never see the value.
func (Secret) MarshalBinary() ([]byte, error) { return []byte(redacted), nil }

// Credentials are the four values bKash issues to a merchant. Password and
// AppSecret are Secrets; the whole struct also redacts itself when printed.
type Credentials struct {
	Username  string
	Password  Secret
	AppKey    string
	AppSecret Secret
}

// String describes the credentials without their secrets.
func (c Credentials) String() string {
	return fmt.Sprintf("bkash.Credentials{Username:%q, Password:%s, AppKey:%q, AppSecret:%s}",
		c.Username, redacted, c.AppKey, redacted)
}

// GoString is String, so %#v prints no secret.
func (c Credentials) GoString() string { return c.String() }

// Format prints String for every verb.
func (c Credentials) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue implements slog.LogValuer: username and app key, secrets redacted.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("username", c.Username),
		slog.String("password", redacted),
		slog.String("app_key", c.AppKey),
		slog.String("app_secret", redacted),
	)
}

// MarshalJSON encodes the credentials with their secrets redacted.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Username  string `json:"username"`
		Password  string `json:"password"`
		AppKey    string `json:"app_key"`
		AppSecret string `json:"app_secret"`
	}{c.Username, redacted, c.AppKey, redacted})
}

// Validate reports the first field that cannot be sent as a
// *ValidationError: an empty one, one with a control character (a newline
// left by a secret file or an environment variable, say), or a username,
// password or app key with spaces or tabs at either end, which bKash would
// not get (they go in HTTP headers, whose values lose them). The
// reason never quotes a secret.
func (c Credentials) Validate() error {
	fields := []struct {
		name   string
		value  string
		header bool
	}{
		{"Credentials.Username", c.Username, true},
		{"Credentials.Password", string(c.Password), true},
		{"Credentials.AppKey", c.AppKey, true},
		{"Credentials.AppSecret", string(c.AppSecret), false},
	}
	for _, f := range fields {
		switch {
		case strings.TrimSpace(f.value) == "":
			return &ValidationError{Field: f.name, Reason: "is empty"}
		case strings.ContainsFunc(f.value, isControl):
			return &ValidationError{Field: f.name, Reason: "contains a control character (a trailing newline?)"}
		case f.header && strings.Trim(f.value, " \t") != f.value:
			return &ValidationError{Field: f.name, Reason: "begins or ends with a space"}
		}
	}
	return nil
}

// isControl reports whether r is an ASCII control character other than a
// tab (which an HTTP header value may hold), or DEL.
func isControl(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

// Time is a timestamp as bKash sends it. It parses every variant seen on the
// wire: "2025-05-18T20:49:12:377 GMT+0600" (colon before the milliseconds),
// without milliseconds, with "GMT+06:00", without any offset (taken as
// Asia/Dhaka, +06:00), and the webhook form "20250518204912". Raw keeps the
// text exactly as received; the zero Time has an empty Raw.
type Time struct {
	time.Time
	Raw string
}

// dhaka is Bangladesh Standard Time. Bangladesh has no daylight saving time
// since 2009, so a fixed zone is exact and needs no tzdata.
var dhaka = time.FixedZone("Asia/Dhaka", 6*3600)

// ParseTime parses one of bKash's timestamp formats.
func ParseTime(s string) (Time, error) {
	t, err := parseBkashTime(s)
	if err != nil {
		return Time{}, err
	}
	return Time{Time: t, Raw: s}, nil
}

func parseBkashTime(s string) (time.Time, error) {
	in := strings.TrimSpace(s)
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("bkash: unrecognised time %q", s) }
	// Webhook form: yyyyMMddHHmmss, Bangladesh local time.
	if len(in) == 14 && isDigits(in) {
		t, err := time.ParseInLocation("20060102150405", in, dhaka)
		if err != nil {
			return bad()
		}
		return t, nil
	}
	if len(in) < 19 || in[10] != 'T' {
		// A plain RFC 3339 value is accepted too (SNS timestamps).
		if t, err := time.Parse(time.RFC3339Nano, in); err == nil {
			return t, nil
		}
		return bad()
	}
	if maybeRFC3339(in[19:]) {
		if t, err := time.Parse(time.RFC3339Nano, in); err == nil {
			return t, nil
		}
	}
	// Date and clock: 2006-01-02T15:04:05
	clock, rest := in[:19], strings.TrimSpace(in[19:])
	loc := dhaka
	base, err := time.ParseInLocation("2006-01-02T15:04:05", clock, time.UTC)
	if err != nil {
		return bad()
	}
	nanos := 0
	// Milliseconds: ":377" (bKash) or ".377".
	if len(rest) > 0 && (rest[0] == ':' || rest[0] == '.') {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		digits := rest[1:j]
		if len(digits) == 0 || len(digits) > 9 {
			return bad()
		}
		n, _ := strconv.Atoi(digits)
		for k := len(digits); k < 9; k++ {
			n *= 10
		}
		nanos = n
		rest = strings.TrimSpace(rest[j:])
	}
	if rest != "" {
		off, ok := parseOffset(rest)
		if !ok {
			return bad()
		}
		switch off {
		case 0:
			loc = time.UTC
		case gmtPlus6Offset:
			loc = gmtPlus6
		default:
			loc = time.FixedZone("", off)
		}
	}
	y, mo, d := base.Date()
	h, mi, sec := base.Clock()
	return time.Date(y, mo, d, h, mi, sec, nanos, loc), nil
}

// gmtPlus6 is the zone of bKash's "GMT+0600" suffix, made once: it is what
// time.FixedZone("", gmtPlus6Offset) would return for every timestamp.
const gmtPlus6Offset = 6 * 3600

var gmtPlus6 = time.FixedZone("", gmtPlus6Offset)

// maybeRFC3339 reports whether tail, the text after a timestamp's seconds,
// could be accepted by time.Parse(time.RFC3339Nano): a fraction after '.'
// or ',', then 'Z' or a numeric offset. bKash's own forms (":377",
// " GMT+0600", no offset at all) cannot, and skipping the attempt saves
// building the error time.Parse would return.
func maybeRFC3339(tail string) bool {
	if tail == "" || tail[0] == ':' {
		return false
	}
	for i := 0; i < len(tail); i++ {
		switch c := tail[i]; {
		case c >= '0' && c <= '9', c == '.', c == ',', c == ':', c == '+', c == '-', c == 'Z', c == 'z':
		default:
			return false
		}
	}
	return true
}

// parseOffset reads "GMT+0600", "GMT+06:00", "GMT-0530", "+0600", "UTC", "Z".
func parseOffset(s string) (int, bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "GMT"), "UTC")
	if s == "" || s == "Z" {
		return 0, true
	}
	sign := 1
	switch s[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	s = strings.Replace(s[1:], ":", "", 1)
	if len(s) != 4 || !isDigits(s) {
		return 0, false
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[2]-'0')*10 + int(s[3]-'0')
	if h > 14 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// String returns Raw when the time came from bKash, else bKash's format.
func (t Time) String() string {
	if t.Raw != "" {
		return t.Raw
	}
	if t.Time.IsZero() {
		return ""
	}
	return FormatTime(t.Time)
}

// FormatTime formats t the way bKash does: "2025-05-18T20:49:12:377 GMT+0600".
func FormatTime(t time.Time) string {
	var buf [40]byte
	return string(appendBkashTime(buf[:0], t))
}

func appendBkashTime(b []byte, t time.Time) []byte {
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	ms := t.Nanosecond() / 1e6
	b = append(b, ':', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return t.AppendFormat(append(b, ' '), "GMT-0700")
}

// MarshalJSON writes Raw when set, otherwise bKash's format; the zero Time is "".
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.String())
}

// UnmarshalJSON parses any of bKash's formats (docs/wire.md, "Times"). An
// empty string or null gives the zero Time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	s, err := jsonString(b)
	if err != nil {
		return fmt.Errorf("bkash: time: %w", err)
	}
	if strings.TrimSpace(s) == "" {
		*t = Time{}
		return nil
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}
