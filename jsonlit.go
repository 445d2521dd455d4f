package bkash

import "unicode/utf8"

// plainJSONString returns the value of the JSON string literal b when that
// value is b's inner bytes as they stand: no escape, no control character,
// valid UTF-8. That is what bKash sends for codes, amounts and timestamps,
// and it lets their decoders skip a round trip through encoding/json. Any
// other input reports false and is decoded the long way.
func plainJSONString(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return nil, false
	}
	s := b[1 : len(b)-1]
	ascii := true
	for _, c := range s {
		switch {
		case c < 0x20, c == '"', c == '\\':
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(s) {
		return nil, false // encoding/json would replace the invalid bytes
	}
	return s, true
}
