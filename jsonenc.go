package bkash

// Object members for the hand-written request encoders (the appendJSON
// methods); string values are escaped by appendJSONString (jsonstr.go).

// appendJSONKey appends "key": to an object under construction, preceded by
// a comma unless it is the object's first member. key is a constant of the
// SDK and needs no escaping.
func appendJSONKey(b []byte, key string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendJSONStringMember appends "key":"value".
func appendJSONStringMember(b []byte, key, value string) []byte {
	return appendJSONString(appendJSONKey(b, key), value)
}

// appendJSONAmountMember appends "key":"1250.50", the string form bKash
// expects for amounts.
func appendJSONAmountMember(b []byte, key string, a Amount) []byte {
	b = append(appendJSONKey(b, key), '"')
	return append(a.AppendText(b), '"')
}
