// Package redact copies JSON documents with chosen members replaced, for
// the SDK's debug logs and the command's validation reports, which must
// never show a password, an app secret or a token.
package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Redacted is what a secret value becomes.
const Redacted = "[REDACTED]"

// Rules say what becomes of a member's value, by its key compared as
// encoding/json compares member names with struct fields: after unescaping,
// without regard to Unicode simple case folding (see Fold). A body with
// "refre\u017fh_token" (ſ, the long s) fills a field tagged refresh_token,
// so it is a refresh token here too.
type Rules struct {
	// Secret lists folded keys (see Fold; for ASCII names, the lower-case
	// name) whose values are replaced: every string, number and boolean
	// below such a member becomes "[REDACTED]"; null stays null.
	Secret map[string]bool
	// Mask, when set, may rewrite the string value of any other member (for
	// example to mask a wallet number); key is folded.
	Mask func(key, value string) (string, bool)
}

// Fold returns the form of key that every key encoding/json would match
// with it shares: each rune becomes the smallest rune of its Unicode simple
// folding orbit, ASCII letters then in lower case. So "REFRESH_TOKEN",
// "refre\u017fh_token" (ſ) and "id_to\u212aen" (the Kelvin sign K) fold to
// "refresh_token" and "id_token", as strings.EqualFold and encoding/json
// see them, while "ıd_token" (dotless ı), which encoding/json does not
// match with id_token, keeps its ı.
func Fold(key string) string {
	ascii := true
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(key)
	}
	var b strings.Builder
	b.Grow(len(key))
	for _, r := range key {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		if 'A' <= m && m <= 'Z' {
			m += 'a' - 'A'
		}
		b.WriteRune(m)
	}
	return b.String()
}

// JSON returns b, which must be exactly one JSON value, with the rules
// applied: members in their original order, numbers exactly as written,
// no insignificant white space, no HTML escaping. It reports false, and
// returns nothing, when b is not one JSON value.
func JSON(b []byte, r Rules) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var buf bytes.Buffer
	if r.value(dec, &buf, "", false) != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return buf.Bytes(), true
}

// value copies one JSON value from dec to buf. key is the folded key of
// the member it belongs to ("" in an array or at the top); secret says
// whether a member above it is secret.
func (r *Rules) value(dec *json.Decoder, buf *bytes.Buffer, key string, secret bool) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		closing := byte('}')
		if t == '[' {
			closing = ']'
		}
		buf.WriteByte(byte(t))
		for i := 0; dec.More(); i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			k := key // array elements are judged by the array's key
			if t == '{' {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				name, _ := kt.(string)
				writeString(buf, name)
				buf.WriteByte(':')
				k = Fold(name)
			}
			if err := r.value(dec, buf, k, secret || r.Secret[k]); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return err
		}
		buf.WriteByte(closing)
	case nil:
		buf.WriteString("null")
	default:
		if secret {
			writeString(buf, Redacted)
			return nil
		}
		switch t := t.(type) {
		case string:
			if r.Mask != nil {
				if m, ok := r.Mask(key, t); ok {
					t = m
				}
			}
			writeString(buf, t)
		case json.Number:
			buf.WriteString(t.String())
		case bool:
			if t {
				buf.WriteString("true")
			} else {
				buf.WriteString("false")
			}
		}
	}
	return nil
}

// writeString writes s as a JSON string, without HTML escaping.
func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	buf.Truncate(buf.Len() - 1) // Encode's newline
}
