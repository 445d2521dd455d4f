package sns

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds nesting inside skipped values. SNS envelopes and bKash
// messages are flat; anything deeper is not a real message.
const maxDepth = 32

// ErrTooDeep is returned (wrapped in ErrSyntax) for values nested deeper
// than the decoder accepts.
var ErrTooDeep = errors.New("nesting too deep")

// Kind is the JSON type of a member value.
type Kind uint8

// The JSON value kinds.
const (
	KindString Kind = iota + 1
	KindNumber
	KindBool
	KindNull
	KindObject
	KindArray
)

// Value is one member value of an object. Raw is its JSON text; Str is the
// decoded text when Kind is KindString.
type Value struct {
	Kind Kind
	Raw  string
	Str  string
}

// ObjectReader walks the members of one JSON object held in a string. It
// exists because decoding a whole SNS envelope with encoding/json costs
// more than the RSA verification it guards; this reader allocates only for
// strings that contain escapes. Its string decoding matches encoding/json's
// exactly, including U+FFFD for invalid UTF-8 and lone surrogates.
type ObjectReader struct {
	s     string
	i     int
	state uint8 // 0 before '{', 1 first member, 2 later members, 3 done
}

// NewObjectReader returns a reader over the JSON object text s.
func NewObjectReader(s string) *ObjectReader { return &ObjectReader{s: s} }

func (r *ObjectReader) fail(why string) error {
	r.state = 3
	return &SyntaxError{Offset: r.i, Reason: why}
}

// SyntaxError reports malformed JSON and where it was found.
type SyntaxError struct {
	Offset int
	Reason string
	deep   bool
}

// Error gives the offset and what was wrong there.
func (e *SyntaxError) Error() string {
	return "invalid JSON at offset " + itoa(e.Offset) + ": " + e.Reason
}

// Unwrap lets errors.Is(err, ErrTooDeep) single out the depth limit.
func (e *SyntaxError) Unwrap() error {
	if e.deep {
		return ErrTooDeep
	}
	return nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// Next returns the next member. ok is false once the closing brace and the
// end of the input (only whitespace may follow) have been read.
func (r *ObjectReader) Next() (key string, v Value, ok bool, err error) {
	switch r.state {
	case 0:
		r.ws()
		if r.i >= len(r.s) || r.s[r.i] != '{' {
			return "", Value{}, false, r.fail("expected an object")
		}
		r.i++
		r.ws()
		if r.i < len(r.s) && r.s[r.i] == '}' {
			r.i++
			return "", Value{}, false, r.end()
		}
		r.state = 1
	case 1:
		r.ws()
		if r.i >= len(r.s) {
			return "", Value{}, false, r.fail("unterminated object")
		}
		switch r.s[r.i] {
		case ',':
			r.i++
			r.ws()
		case '}':
			r.i++
			return "", Value{}, false, r.end()
		default:
			return "", Value{}, false, r.fail("expected ',' or '}'")
		}
	default:
		return "", Value{}, false, nil
	}
	if r.i >= len(r.s) || r.s[r.i] != '"' {
		return "", Value{}, false, r.fail("expected a member name")
	}
	if key, err = r.str(); err != nil {
		return "", Value{}, false, err
	}
	r.ws()
	if r.i >= len(r.s) || r.s[r.i] != ':' {
		return "", Value{}, false, r.fail("expected ':'")
	}
	r.i++
	r.ws()
	if v, err = r.value(0); err != nil {
		return "", Value{}, false, err
	}
	return key, v, true, nil
}

func (r *ObjectReader) end() error {
	r.state = 3
	r.ws()
	if r.i != len(r.s) {
		return r.fail("data after the object")
	}
	return nil
}

func (r *ObjectReader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *ObjectReader) value(depth int) (Value, error) {
	if depth > maxDepth {
		err := r.fail(ErrTooDeep.Error())
		err.(*SyntaxError).deep = true
		return Value{}, err
	}
	if r.i >= len(r.s) {
		return Value{}, r.fail("expected a value")
	}
	start := r.i
	switch c := r.s[r.i]; {
	case c == '"':
		s, err := r.str()
		return Value{Kind: KindString, Raw: r.s[start:r.i], Str: s}, err
	case c == '{' || c == '[':
		kind, closer := KindObject, byte('}')
		if c == '[' {
			kind, closer = KindArray, ']'
		}
		r.i++
		r.ws()
		if r.i < len(r.s) && r.s[r.i] == closer {
			r.i++
			return Value{Kind: kind, Raw: r.s[start:r.i]}, nil
		}
		for {
			if kind == KindObject {
				if r.i >= len(r.s) || r.s[r.i] != '"' {
					return Value{}, r.fail("expected a member name")
				}
				if _, err := r.str(); err != nil {
					return Value{}, err
				}
				r.ws()
				if r.i >= len(r.s) || r.s[r.i] != ':' {
					return Value{}, r.fail("expected ':'")
				}
				r.i++
				r.ws()
			}
			if _, err := r.value(depth + 1); err != nil {
				return Value{}, err
			}
			r.ws()
			if r.i >= len(r.s) {
				return Value{}, r.fail("unterminated value")
			}
			if r.s[r.i] == closer {
				r.i++
				return Value{Kind: kind, Raw: r.s[start:r.i]}, nil
			}
			if r.s[r.i] != ',' {
				return Value{}, r.fail("expected ',' or a closing bracket")
			}
			r.i++
			r.ws()
		}
	case c == 't':
		return r.literal("true", KindBool)
	case c == 'f':
		return r.literal("false", KindBool)
	case c == 'n':
		return r.literal("null", KindNull)
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	}
	return Value{}, r.fail("unexpected character")
}

func (r *ObjectReader) literal(word string, kind Kind) (Value, error) {
	if len(r.s)-r.i < len(word) || r.s[r.i:r.i+len(word)] != word {
		return Value{}, r.fail("invalid literal")
	}
	start := r.i
	r.i += len(word)
	return Value{Kind: kind, Raw: r.s[start:r.i]}, nil
}

func (r *ObjectReader) digits() int {
	n := 0
	for r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9' {
		r.i++
		n++
	}
	return n
}

func (r *ObjectReader) number() (Value, error) {
	start := r.i
	if r.s[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.s) && r.s[r.i] == '0':
		r.i++
	case r.digits() == 0:
		return Value{}, r.fail("invalid number")
	}
	if r.i < len(r.s) && r.s[r.i] == '.' {
		r.i++
		if r.digits() == 0 {
			return Value{}, r.fail("invalid number")
		}
	}
	if r.i < len(r.s) && (r.s[r.i] == 'e' || r.s[r.i] == 'E') {
		r.i++
		if r.i < len(r.s) && (r.s[r.i] == '+' || r.s[r.i] == '-') {
			r.i++
		}
		if r.digits() == 0 {
			return Value{}, r.fail("invalid number")
		}
	}
	return Value{Kind: KindNumber, Raw: r.s[start:r.i]}, nil
}

// str reads the string that starts at r.s[r.i] == '"'. Without escapes or
// invalid UTF-8 the result shares memory with the input.
func (r *ObjectReader) str() (string, error) {
	start := r.i + 1
	for j := start; j < len(r.s); j++ {
		if plain[r.s[j]] {
			continue
		}
		switch c := r.s[j]; {
		case c == '"':
			r.i = j + 1
			return r.s[start:j], nil
		case c == '\\' || c >= utf8.RuneSelf:
			return r.strSlow(start, j)
		case c < 0x20:
			r.i = j
			return "", r.fail("control character in string")
		}
	}
	r.i = len(r.s)
	return "", r.fail("unterminated string")
}

func (r *ObjectReader) strSlow(start, j int) (string, error) {
	s := r.s
	var b strings.Builder // used only once the text must change
	flushed := start
	grow := func() {
		if b.Cap() == 0 {
			b.Grow(len(s) - start)
		}
		b.WriteString(s[flushed:j])
	}
	for j < len(s) {
		c := s[j]
		if plain[c] {
			j++
			continue
		}
		switch {
		case c == '"':
			r.i = j + 1
			if b.Cap() == 0 {
				return s[start:j], nil
			}
			grow()
			return b.String(), nil
		case c == '\\':
			grow()
			if j+1 >= len(s) {
				r.i = j
				return "", r.fail("unterminated escape")
			}
			switch e := s[j+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
				j += 2
			case 'b':
				b.WriteByte('\b')
				j += 2
			case 'f':
				b.WriteByte('\f')
				j += 2
			case 'n':
				b.WriteByte('\n')
				j += 2
			case 'r':
				b.WriteByte('\r')
				j += 2
			case 't':
				b.WriteByte('\t')
				j += 2
			case 'u':
				rr, ok := hex4(s, j+2)
				if !ok {
					r.i = j
					return "", r.fail("invalid \\u escape")
				}
				j += 6
				if utf16.IsSurrogate(rr) {
					// A surrogate needs its pair; without one it becomes
					// U+FFFD, as encoding/json does.
					if j+6 <= len(s) && s[j] == '\\' && s[j+1] == 'u' {
						if lo, ok := hex4(s, j+2); ok {
							if dec := utf16.DecodeRune(rr, lo); dec != utf8.RuneError {
								b.WriteRune(dec)
								j += 6
								break
							}
						}
					}
					rr = utf8.RuneError
				}
				b.WriteRune(rr)
			default:
				r.i = j
				return "", r.fail("invalid escape")
			}
			flushed = j
		case c < 0x20:
			r.i = j
			return "", r.fail("control character in string")
		case c < utf8.RuneSelf:
			j++
		default:
			rr, size := utf8.DecodeRuneInString(s[j:])
			if rr == utf8.RuneError && size == 1 {
				grow()
				b.WriteString("\uFFFD")
				j++
				flushed = j
				continue
			}
			j += size
		}
	}
	r.i = len(s)
	return "", r.fail("unterminated string")
}

// plain marks the bytes a string can hold as they are: printable ASCII
// other than the quote and the backslash. One table look-up per byte keeps
// the scan of a 1 KiB Message near a nanosecond a byte.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var v rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}
