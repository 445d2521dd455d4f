package bkashtest

import (
	"bytes"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/smartdairy/bkash-go"
)

// dhaka is Bangladesh Standard Time (no daylight saving time since 2009).
// bKash renders every timestamp in it.
var dhaka = time.FixedZone("Asia/Dhaka", 6*3600)

// wireTime formats t as bKash does: "2025-01-01T12:30:00:456 GMT+0600".
func wireTime(t time.Time) string { return bkash.FormatTime(t.In(dhaka)) }

// wireTimeNoOffset is the variant the v2 refund status list uses:
// "2025-01-04T10:15:00:000", without a GMT offset.
func wireTimeNoOffset(t time.Time) string {
	t = t.In(dhaka)
	ms := t.Nanosecond() / int(time.Millisecond)
	return t.Format("2006-01-02T15:04:05") + ":" + pad3(ms)
}

// ipnTime is the webhook form: yyyyMMddHHmmss, Dhaka local time.
func ipnTime(t time.Time) string { return t.In(dhaka).Format("20060102150405") }

func pad3(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

// object builds a JSON object with its keys in the order they are added, so
// the fake's answers keep the key order of bKash's own replies.
type object struct{ b []byte }

func newObject() *object {
	o := &object{b: make([]byte, 0, 512)}
	o.b = append(o.b, '{')
	return o
}

func (o *object) key(k string) {
	if len(o.b) > 1 {
		o.b = append(o.b, ',')
	}
	o.b = appendJSONString(o.b, k)
	o.b = append(o.b, ':')
}

// str adds a string member.
func (o *object) str(k, v string) *object {
	o.key(k)
	o.b = appendJSONString(o.b, v)
	return o
}

// opt adds a string member only when v is not empty.
func (o *object) opt(k, v string) *object {
	if v != "" {
		o.str(k, v)
	}
	return o
}

// num adds a number member.
func (o *object) num(k string, v int64) *object {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
	return o
}

// raw adds a member whose value is already encoded JSON.
func (o *object) raw(k string, v []byte) *object {
	o.key(k)
	o.b = append(o.b, v...)
	return o
}

func (o *object) bytes() []byte { return append(o.b, '}') }

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Input comes from decoded JSON
// or from the fake itself, so it is valid UTF-8 apart from rare cases that
// are replaced like encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// fields is a decoded request body.
type fields map[string]json.RawMessage

var errBadBody = errors.New("bkashtest: invalid request body")

// decodeFields decodes a JSON object body. An empty body is an empty object.
func decodeFields(body []byte) (fields, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return fields{}, nil
	}
	var f fields
	if err := json.Unmarshal(body, &f); err != nil || f == nil {
		return nil, errBadBody
	}
	return f, nil
}

// str returns the member k as text. A JSON string is returned as is, a JSON
// number as its literal text (bKash tolerates numeric amounts); null and an
// absent key give "". Any other JSON type is an error.
func (f fields) str(k string) (string, error) {
	raw, ok := f[k]
	if !ok {
		return "", nil
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errBadBody
		}
		return s, nil
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		return string(raw), nil
	}
	return "", errBadBody
}

// strings reads several members at once; the first type error wins.
func (f fields) strings(keys ...string) ([]string, error) {
	out := make([]string, len(keys))
	for i, k := range keys {
		v, err := f.str(k)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	mixedAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	// hashChars is the alphabet of the hash in bkashURL: bKash's carries
	// characters a careless client would re-encode.
	hashChars = mixedAlnum + "!().-_*"
)

// randIntN is the source of randomString; a test replaces it with a
// repeatable one to show that IDs never clash with those loaded from a state
// file.
var randIntN = rand.IntN

// randomString returns n characters of alphabet. IDs need to be unique and
// look like bKash's, not to be unguessable: the callers check for clashes.
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randIntN(len(alphabet))]
	}
	return string(b)
}

// epochMillis is the 13-digit suffix of bKash's paymentIDs and agreementIDs.
func epochMillis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// secretToken returns an opaque, unguessable token shaped like the JWTs of
// bKash's identity provider (three base64url segments).
func secretToken(header string) string {
	var buf [48]byte
	_, _ = crand.Read(buf[:]) // crypto/rand.Read never fails on supported platforms
	enc := base64.RawURLEncoding
	return header + "." + enc.EncodeToString(buf[:24]) + "." + enc.EncodeToString(buf[24:])
}
