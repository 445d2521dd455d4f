package sns

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxDepth bounds how deeply a member's value may nest. SNS envelopes and
// bKash messages are flat; anything deeper is not a real message.
const maxDepth = 32

// Member is one member of a JSON object. Value is what json.Decoder.Token
// returns for the start of the member's value, read with UseNumber: a
// string, a json.Number (the number's text as received), a bool, nil for
// null, or json.Delim('{') or json.Delim('[') for an object or an array,
// whose contents are checked and skipped.
type Member struct {
	Key   string
	Value any
}

// ReadObject decodes text, which must be exactly one JSON object, into its
// members in the order they appear. json.Unmarshal would not do for a
// message whose signature is checked: decoding into a struct matches keys
// without regard to case and keeps the last of two equal keys, so the value
// a signature covers and the value a program uses could differ. ReadObject
// keeps every member as written and leaves the decision to its caller.
//
// Strings are decoded by encoding/json itself, so invalid UTF-8 and lone
// surrogates become U+FFFD exactly as json.Unmarshal makes them.
func ReadObject(text string) ([]Member, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	members, err := readObject(dec)
	if err == io.EOF {
		return nil, io.ErrUnexpectedEOF // the text ended inside the object
	}
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return members, nil
}

// readObject reads one object, up to and including its closing brace.
func readObject(dec *json.Decoder) ([]Member, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var members []Member
	for dec.More() {
		key, err := dec.Token() // inside an object, Token returns keys as strings
		if err != nil {
			return nil, err
		}
		value, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if value == json.Delim('{') || value == json.Delim('[') {
			if err := skipNested(dec); err != nil {
				return nil, err
			}
		}
		members = append(members, Member{Key: key.(string), Value: value})
	}
	_, err = dec.Token() // the closing brace
	return members, err
}

// skipNested reads the rest of an object or array whose opening delimiter
// Token has just returned. A value inside more than maxDepth open objects
// and arrays is refused.
func skipNested(dec *json.Decoder) error {
	for open := 1; open > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch {
		case tok == json.Delim('}') || tok == json.Delim(']'):
			open--
		case open > maxDepth:
			return fmt.Errorf("JSON nested more than %d levels deep", maxDepth)
		case tok == json.Delim('{') || tok == json.Delim('['):
			open++
		}
	}
	return nil
}
