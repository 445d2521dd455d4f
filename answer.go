package bkash

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The answers of bKash's API gateway (Amazon API Gateway) itself, which
// refuses a request before it reaches bKash. Its body is a JSON object whose
// only key is "message" (docs/wire.md, "Gateway answers"), and it names its
// error type in the x-amzn-ErrorType header, such as
// "MissingAuthenticationTokenException" or
// "ForbiddenException:http://internal.amazon.com/coral/...".

// wrongRouteMessage is API Gateway's answer, with 403, to a path it has no
// route for (docs/wire.md, "Gateway answers"): the client is pointed at the
// wrong URL.
const wrongRouteMessage = "Missing Authentication Token"

// gatewayRefusalStatus lists the statuses at which a {"message": ...} body is
// the gateway's refusal of a request it did not pass on: a body it would not
// take (400), a refused key or route (403), an unknown resource (404), a
// body too large (413) and throttling (429), the default statuses of API
// Gateway's responses given before the integration is called. 401 is the
// gateway's answer to a token (tokenMessages). No status of 500 or above is
// a refusal: API Gateway's 5xx answers include those it gives after calling
// bKash, and an HTTP API answers 503 {"message":"Service Unavailable"}, the
// shape of a refusal, when bKash takes too long (docs/wire.md, "Gateway
// answers").
var gatewayRefusalStatus = map[int]bool{
	http.StatusBadRequest:            true,
	http.StatusForbidden:             true,
	http.StatusNotFound:              true,
	http.StatusRequestEntityTooLarge: true,
	http.StatusTooManyRequests:       true,
}

// gatewayRefusalTypes are the x-amzn-ErrorType values of API Gateway's
// answers given before the request is passed on to the integration
// (bKash). Any other type that the header names (an integration failure or
// timeout, an internal error) may come after bKash received the request.
var gatewayRefusalTypes = map[string]bool{
	"MissingAuthenticationTokenException": true,
	"UnauthorizedException":               true,
	"AccessDeniedException":               true,
	"ForbiddenException":                  true,
	"ExpiredTokenException":               true,
	"IncompleteSignatureException":        true,
	"InvalidSignatureException":           true,
	"BadRequestException":                 true,
	"NotFoundException":                   true,
	"ResourceNotFoundException":           true,
	"RequestTooLargeException":            true,
	"TooManyRequestsException":            true,
	"ThrottlingException":                 true,
	"LimitExceededException":              true,
	"UnsupportedMediaTypeException":       true,
	"WAFFilteredException":                true,
}

// tokenMessages are the gateway's answers to a missing, invalid or expired
// id_token or a refused app key, with 401 or 403 (docs/wire.md, "Tokens" and
// "Gateway answers"; bkashtest/testdata/gateway_401_*.json,
// gateway_403_forbidden.json). Only these make the client renew its token
// and replay the call.
var tokenMessages = map[string]bool{
	"Unauthorized":                   true,
	"The incoming token has expired": true,
	"Forbidden":                      true,
	"User is not authorized to access this resource":                       true,
	"User is not authorized to access this resource with an explicit deny": true,
}

// gatewayRefusal reports whether an error answer (status >= 400) is API
// Gateway's own refusal, and returns its message. When the gateway names
// the error type in x-amzn-ErrorType, that decides; otherwise the answer
// must be exactly the gateway's shape, a JSON object whose only key is
// "message", at a status the gateway refuses with (or 401 with one of the
// token messages).
func gatewayRefusal(status int, h http.Header, body []byte) (string, bool) {
	msg, shaped := gatewayMessage(body)
	if t := amznErrorType(h); t != "" {
		if !gatewayRefusalTypes[t] || status < 400 || status >= 500 {
			return "", false
		}
		if !shaped || msg == "" {
			msg = http.StatusText(status)
		}
		return msg, true
	}
	if !shaped {
		return "", false
	}
	if status == http.StatusUnauthorized {
		return msg, tokenMessages[msg]
	}
	return msg, gatewayRefusalStatus[status]
}

// tokenTypes are the x-amzn-ErrorType values with which API Gateway refuses
// a token or an app key (docs/wire.md, "Tokens").
var tokenTypes = map[string]bool{
	"UnauthorizedException": true,
	"AccessDeniedException": true,
	"ForbiddenException":    true,
	"ExpiredTokenException": true,
}

// tokenRejection reports whether the gateway's refusal (msg, from
// gatewayRefusal) rejects the token: one of the token answers, under a
// token error type when the gateway names one. A firewall's block
// (WAFFilteredException) saying "Forbidden", or a refusal of another type
// whose stand-in message is the status text, says nothing about the token,
// and renewing it would spend the renewal budget for nothing.
func tokenRejection(status int, h http.Header, msg string) bool {
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		return false
	}
	if t := amznErrorType(h); t != "" && !tokenTypes[t] {
		return false
	}
	return tokenMessages[msg]
}

// amznErrorType returns the error type API Gateway names in
// x-amzn-ErrorType, without the ":http://..." suffix it may carry.
func amznErrorType(h http.Header) string {
	t := h.Get("X-Amzn-Errortype")
	if i := strings.IndexByte(t, ':'); i >= 0 {
		t = t[:i]
	}
	return strings.TrimSpace(t)
}

// gatewayMessage reports whether body is a JSON object whose only key is
// "message" (matched as encoding/json matches keys, so API Gateway's
// "Message" of an explicit deny counts) with a string value, and returns it.
func gatewayMessage(body []byte) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || len(m) != 1 {
		return "", false
	}
	for k, v := range m {
		if !strings.EqualFold(k, "message") {
			return "", false
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	}
	return "", false
}
