package bkashtest

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
)

// Token headers shaped like those of bKash's identity provider (AWS Cognito):
// an id_token starts "eyJraWQiOi", a refresh token "eyJjdHkiOi".
const (
	idTokenHeader      = "eyJraWQiOiJia2FzaHRlc3QiLCJhbGciOiJSUzI1NiJ9"
	refreshTokenHeader = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ"
)

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// checkCredentials applies bKash's grant/refresh authentication: headers
// username and password, body app_key and app_secret. A refusal is an HTTP
// 200 with a bKash code, as bKash answers an unknown username.
func (s *Server) checkCredentials(c *call) (reply, bool) {
	v, err := c.f.strings("app_key", "app_secret")
	if err != nil {
		return c.fail(bkash.CodeInvalidRequestBody), false
	}
	creds := s.cfg.creds
	switch {
	case !equal(c.r.Header.Get("username"), creds.Username):
		return errorReply(envStatus, string(bkash.CodeSystemError), "Username does not exist"), false
	case !equal(c.r.Header.Get("password"), string(creds.Password)):
		return errorReply(envStatus, string(bkash.CodeSystemError), "Incorrect username or password"), false
	case !equal(v[0], creds.AppKey) || !equal(v[1], string(creds.AppSecret)):
		return c.fail(bkash.CodeInvalidAppKey), false
	}
	return reply{}, true
}

// grant serves token/grant.
func (s *Server) grant(c *call) reply {
	if rep, ok := s.checkCredentials(c); !ok {
		return rep
	}
	id, refresh := secretToken(idTokenHeader), secretToken(refreshTokenHeader)
	idKey, refreshKey := tokenKey(id), tokenKey(refresh)
	idExp, refreshExp := c.now.Add(s.cfg.tokenLifetime), c.now.Add(s.cfg.refreshLifetime)
	s.mu.Lock()
	s.idTokens[idKey] = idExp
	s.refreshTokens[refreshKey] = refreshExp
	s.saveTokensLocked(tokenRecord{Kind: "id", SHA256: idKey, Expires: idExp},
		tokenRecord{Kind: "refresh", SHA256: refreshKey, Expires: refreshExp})
	s.mu.Unlock()
	return s.tokenReply(id, refresh)
}

// refresh serves token/refresh: a new id_token for a valid refresh_token.
// The refresh token itself is returned unchanged and keeps its expiry.
func (s *Server) refresh(c *call) reply {
	if rep, ok := s.checkCredentials(c); !ok {
		return rep
	}
	rt, err := c.f.str("refresh_token")
	if err != nil {
		return c.fail(bkash.CodeInvalidRequestBody)
	}
	s.mu.Lock()
	exp, known := s.refreshTokens[tokenKey(rt)]
	if !known || !c.now.Before(exp) {
		s.mu.Unlock()
		return errorReply(envStatus, string(bkash.CodeSystemError), "Invalid Refresh Token")
	}
	id := secretToken(idTokenHeader)
	idKey, idExp := tokenKey(id), c.now.Add(s.cfg.tokenLifetime)
	s.idTokens[idKey] = idExp
	s.saveTokensLocked(tokenRecord{Kind: "id", SHA256: idKey, Expires: idExp})
	s.mu.Unlock()
	return s.tokenReply(id, rt)
}

func (s *Server) tokenReply(id, refresh string) reply {
	o := newObject().
		str("statusCode", "0000").
		str("statusMessage", "Successful").
		str("id_token", id).
		str("token_type", "Bearer").
		num("expires_in", int64(s.cfg.tokenLifetime/time.Second)).
		str("refresh_token", refresh)
	return okReply(o)
}

// authenticate checks Authorization (the bare id_token, or "Bearer <token>")
// and X-APP-Key the way bKash's API gateway does.
func (s *Server) authenticate(r *http.Request, now time.Time) (reply, bool) {
	tok := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(tok) > 7 && strings.EqualFold(tok[:7], "Bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	if tok == "" {
		return gatewayError(http.StatusUnauthorized, "Unauthorized"), false
	}
	key := tokenKey(tok)
	s.mu.Lock()
	exp, known := s.idTokens[key]
	s.mu.Unlock()
	switch {
	case !known:
		return gatewayError(http.StatusUnauthorized, "Unauthorized"), false
	case !now.Before(exp):
		return gatewayError(http.StatusUnauthorized, "The incoming token has expired"), false
	case !equal(r.Header.Get("X-APP-Key"), s.cfg.creds.AppKey):
		return gatewayError(http.StatusForbidden, "Forbidden"), false
	}
	return reply{}, true
}

// ExpireTokens makes every id_token issued so far expired, as if its hour had
// passed, so the next call answers 401 "The incoming token has expired".
// Refresh tokens stay valid.
//
// To test renewal, let a call succeed with the token first: a bkash.Client
// takes a token refused within a minute of its own grant, before any call
// was answered with it, for a configuration error (bkash.ErrFreshTokenRejected)
// and does not renew it, since a new grant would be refused the same way.
func (s *Server) ExpireTokens() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.idTokens {
		s.idTokens[t] = now
	}
	s.saveTokenExpiryLocked(now)
}
