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

// maxMembers bounds the members of the object ReadObject reads. An SNS
// envelope has about a dozen and a bKash notification about twenty; each
// member costs a dozen small allocations, which a forged body of thousands
// of tiny members would multiply into megabytes before its signature is
// looked at.
const maxMembers = 100

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
//
// Each value is read whole as a json.RawMessage: one pass of encoding/json's
// scanner, however large. Walking a value token by token instead allocates
// for every number and string in it, which lets a forged 64 KiB body of
// ignored members cost megabytes and milliseconds before its signature is
// even looked at.
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
		if len(members) == maxMembers {
			return nil, fmt.Errorf("JSON object has more than %d members", maxMembers)
		}
		key, err := dec.Token() // inside an object, Token returns keys as strings
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		value, err := memberValue(raw)
		if err != nil {
			return nil, err
		}
		members = append(members, Member{Key: key.(string), Value: value})
	}
	_, err = dec.Token() // the closing brace
	return members, err
}

// memberValue turns one valid JSON value into what Member.Value holds.
func memberValue(raw json.RawMessage) (any, error) {
	switch raw[0] {
	case '{', '[':
		if err := checkDepth(raw); err != nil {
			return nil, err
		}
		return json.Delim(raw[0]), nil
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 't', 'f':
		return raw[0] == 't', nil
	case 'n':
		return nil, nil
	default:
		return json.Number(raw), nil
	}
}

// checkDepth refuses an object or array (valid JSON) that holds a value
// inside more than maxDepth open objects and arrays.
func checkDepth(raw json.RawMessage) error {
	open, inString := 0, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString && c == '\\':
			i++ // the escaped character cannot end the string
		case inString:
			inString = c != '"'
		case c == '}' || c == ']':
			open--
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':':
		case open > maxDepth:
			return fmt.Errorf("JSON nested more than %d levels deep", maxDepth)
		case c == '{' || c == '[':
			open++
		case c == '"':
			inString = true
		}
	}
	return nil
}
