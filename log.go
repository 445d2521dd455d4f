package bkash

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
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

// redactBody renders a JSON body for a log line with secrets replaced by
// [REDACTED] and wallet numbers masked. A body that is not JSON is not shown.
func redactBody(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "[" + strconv.Itoa(len(b)) + " bytes, not JSON]"
	}
	out, err := json.Marshal(redactValue("", v))
	if err != nil {
		return "[" + strconv.Itoa(len(b)) + " bytes]"
	}
	return string(out)
}

func redactValue(key string, v any) any {
	k := strings.ToLower(key)
	switch x := v.(type) {
	case map[string]any:
		for kk, vv := range x {
			x[kk] = redactValue(kk, vv)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactValue(key, x[i])
		}
		return x
	case string:
		if secretKeys[k] {
			return redacted
		}
		if msisdnKeys[k] {
			return MaskMSISDN(x)
		}
		return x
	}
	if secretKeys[k] {
		return redacted
	}
	return v
}

// MaskMSISDN masks the middle of a wallet number for logs: "01770618575"
// becomes "017****8575". Values too short to mask become "****".
func MaskMSISDN(s string) string {
	if len(s) < 8 {
		return "****"
	}
	return s[:3] + "****" + s[len(s)-4:]
}
