package bkash

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
)

// These tests read answers for what they are (docs/wire.md, "Envelope and
// HTTP status" and "Gateway answers"): bKash's shape, the gateway's own
// refusal, or nothing anyone can trust after a money call was sent.

var moneyEndpoints = []*endpoint{epPaymentExecute, epPaymentCapture, epPaymentVoid, epRefundV1, epRefundV2, epAgreementExecute}

// warm makes one successful read, so that the client's token has been
// accepted before an endpoint answers with a token rejection.
func warm(t *testing.T, m *coreMock, c *Client) {
	t.Helper()
	m.on(epPaymentQuery, coreOK)
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

func withHeader(r *http.Response, k, v string) *http.Response {
	r.Header.Set(k, v)
	return r
}

// TestForeignAnswersToMoneyCallsAreUnknown: after a money call was sent, a
// body that is neither bKash's nor the gateway's refusal says nothing about
// the money. Before, a Lambda timeout and a framework's error object became
// a definite *APIError (Finalize reported failure for a completed payment; a
// refund caller refunded again), and a 401/403 without the gateway's token
// body was taken for a token rejection and replayed.
func TestForeignAnswersToMoneyCallsAreUnknown(t *testing.T) {
	t.Parallel()
	foreign := []struct {
		name string
		resp func() *http.Response
	}{
		{"AWS Lambda timeout at 504", func() *http.Response {
			return coreJSON(504, `{"errorMessage":"Task timed out after 30.03 seconds"}`)
		}},
		{"Lambda error object at 200", func() *http.Response {
			return coreJSON(200, `{"errorMessage":"Task timed out after 30.03 seconds","errorType":"Runtime.ExitError"}`)
		}},
		{"framework error with a numeric statusCode", func() *http.Response {
			return coreJSON(500, `{"statusCode":500,"message":"Internal server error"}`)
		}},
		{"numeric statusCode at 200", func() *http.Response {
			return coreJSON(200, `{"statusCode":500,"message":"Internal server error"}`)
		}},
		{"Spring error object at 400", func() *http.Response {
			return coreJSON(400, `{"timestamp":"2025-05-18T14:49:12.377+00:00","status":400,"error":"Bad Request","path":"/execute"}`)
		}},
		{"408 gateway-shaped", func() *http.Response { return coreJSON(408, `{"message":"Request Timeout"}`) }},
		{"409 gateway-shaped", func() *http.Response { return coreJSON(409, `{"message":"Conflict"}`) }},
		{"422 gateway-shaped", func() *http.Response { return coreJSON(422, `{"message":"Unprocessable Entity"}`) }},
		{"499 gateway-shaped", func() *http.Response { return coreJSON(499, `{"message":"Client Closed Request"}`) }},
		{"400 message with other keys", func() *http.Response {
			return coreJSON(400, `{"message":"Invalid request body","requestId":"c6a1d40c"}`)
		}},
		{"400 message typed as an integration failure", func() *http.Response {
			return withHeader(coreJSON(400, `{"message":"Bad Request"}`), "x-amzn-ErrorType", "InternalServerErrorException")
		}},
		{"statusCode without statusMessage", func() *http.Response {
			return coreJSON(200, `{"statusCode":"2023"}`)
		}},
		{"401 HTML", func() *http.Response {
			return httpmock.NewStringResponse(401, "<html><body>401 Authorization Required</body></html>")
		}},
		{"401 empty", func() *http.Response { return httpmock.NewStringResponse(401, "") }},
		{"403 HTML from a firewall", func() *http.Response {
			return httpmock.NewStringResponse(403, "<html><head><title>403 Forbidden</title></head><body>Request blocked.</body></html>")
		}},
		{"403 empty", func() *http.Response { return httpmock.NewStringResponse(403, "") }},
	}
	for _, ep := range moneyEndpoints {
		for _, f := range foreign {
			t.Run(ep.op+" "+ep.path+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				m := newCoreMock(t)
				c := m.client()
				warm(t, m, c)
				m.on(ep, func(int, coreReq) (*http.Response, error) { return f.resp(), nil })
				var out coreQueryOut
				err := c.do(context.Background(), ep, coreQueryIn{"TR0011abc"}, &out)
				var ou *OutcomeUnknownError
				if !errors.As(err, &ou) {
					t.Fatalf("err = %v (%T), want *OutcomeUnknownError", err, err)
				}
				if got := m.sent(ep); got != 1 {
					t.Errorf("sent %d times, want exactly 1", got)
				}
				if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != 0 {
					t.Errorf("grants, refreshes = %d, %d; want 1, 0 (no renewal)", g, r)
				}
			})
		}
	}
}

// TestGatewayRefusalIsAnAPIError: API Gateway's own refusal reached nobody
// behind it, whatever the class: a definite *APIError, sent once; 429 is
// Temporary ("not sent, retry later"). Before, every one of them after a
// money call or a create was an *OutcomeUnknownError.
func TestGatewayRefusalIsAnAPIError(t *testing.T) {
	t.Parallel()
	refusals := []struct {
		name      string
		resp      func() *http.Response
		status    int
		msg       string
		temporary bool
	}{
		{"400 invalid request body", func() *http.Response { return coreJSON(400, `{"message":"Invalid request body"}`) }, 400, "Invalid request body", false},
		{"403 resource policy", func() *http.Response {
			return coreJSON(403, `{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke"}`)
		}, 403, "User: anonymous is not authorized to perform: execute-api:Invoke", false},
		{"404", func() *http.Response { return coreJSON(404, `{"message":"Not Found"}`) }, 404, "Not Found", false},
		{"413", func() *http.Response { return coreJSON(413, `{"message":"Request Too Long"}`) }, 413, "Request Too Long", false},
		{"429 throttled", func() *http.Response { return coreJSON(429, `{"message":"Too Many Requests"}`) }, 429, "Too Many Requests", true},
		{"429 named by x-amzn-ErrorType", func() *http.Response {
			return withHeader(coreJSON(429, `{"message":"Limit Exceeded","code":"Q1"}`), "x-amzn-ErrorType", "LimitExceededException:http://internal.amazon.com/coral/com.amazon.coral.service/")
		}, 429, "Too Many Requests", true},
	}
	eps := append([]*endpoint{epPaymentCreate, epAgreementCancel}, moneyEndpoints...)
	for _, ep := range eps {
		for _, rf := range refusals {
			t.Run(ep.op+" "+ep.path+"/"+rf.name, func(t *testing.T) {
				t.Parallel()
				m := newCoreMock(t)
				c := m.client()
				warm(t, m, c)
				m.on(ep, func(int, coreReq) (*http.Response, error) { return rf.resp(), nil })
				var out coreQueryOut
				err := c.do(context.Background(), ep, coreQueryIn{"TR0011abc"}, &out)
				if errors.Is(err, ErrOutcomeUnknown) {
					t.Fatalf("err = %v: the gateway's refusal is not an unknown outcome", err)
				}
				var ae *APIError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v (%T), want *APIError", err, err)
				}
				if ae.HTTPStatus != rf.status || ae.Message != rf.msg || ae.Code != "" || ae.Op != ep.op {
					t.Errorf("APIError = %+v, want http %d %q", ae, rf.status, rf.msg)
				}
				if ae.Temporary() != rf.temporary {
					t.Errorf("Temporary() = %v, want %v", ae.Temporary(), rf.temporary)
				}
				if ep.class == classMoney {
					if got := m.sent(ep); got != 1 {
						t.Errorf("sent %d times, want exactly 1", got)
					}
				}
				if r := m.sent(epRefresh); r != 0 {
					t.Errorf("refreshes = %d, want 0", r)
				}
			})
		}
	}
}

// TestGateway503IsNotARefusal: a 503 {"message": ...} is not proof that
// nothing reached bKash. API Gateway has no refusal at 503; it answers 503
// "Service Unavailable" when bKash, behind it, fails or takes too long, and
// a load balancer or proxy can too. On a money call it is an unknown
// outcome, sent once, even when x-amzn-ErrorType names a refusal type (which
// the gateway never sends at 503); a read still gets a Temporary *APIError.
// Before, every money call took it as "not sent, retry later": a refund
// retried on that word was paid out twice.
func TestGateway503IsNotARefusal(t *testing.T) {
	t.Parallel()
	answers := map[string]func() *http.Response{
		"bare": func() *http.Response { return coreJSON(503, `{"message":"Service Unavailable"}`) },
		"x-amzn-ErrorType": func() *http.Response {
			return withHeader(coreJSON(503, `{"message":"Service Unavailable"}`), "x-amzn-ErrorType", "ThrottlingException")
		},
	}
	for name, answer := range answers {
		for _, ep := range append([]*endpoint{epPaymentCreate}, moneyEndpoints...) {
			t.Run(name+"/"+ep.op+" "+ep.path, func(t *testing.T) {
				t.Parallel()
				m := newCoreMock(t)
				c := m.client()
				warm(t, m, c)
				m.on(ep, func(int, coreReq) (*http.Response, error) { return answer(), nil })
				var out coreQueryOut
				err := c.do(context.Background(), ep, coreQueryIn{"TR0011abc"}, &out)
				if !errors.Is(err, ErrOutcomeUnknown) {
					t.Fatalf("err = %v (%T), want an unknown outcome", err, err)
				}
				if OutcomeOf(err) != OutcomeUnknown {
					t.Errorf("OutcomeOf = %v, want unknown", OutcomeOf(err))
				}
				if got := m.sent(ep); got != 1 {
					t.Errorf("sent %d times, want exactly 1", got)
				}
			})
		}
		t.Run(name+"/read", func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			c := m.client()
			warm(t, m, c)
			m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) { return answer(), nil })
			_, err := c.Payments.Query(context.Background(), "TR0011abc")
			var ae *APIError
			if !errors.As(err, &ae) || !ae.Temporary() || ae.HTTPStatus != 503 {
				t.Fatalf("err = %v (%T), want a Temporary *APIError at 503", err, err)
			}
		})
	}
}

// TestTransientCodesOnMoneyCallsAreUnknown: bKash's transient codes and
// codes outside its table do not say whether the money moved (docs/wire.md,
// "Outcomes of money calls").
// On every money call they are an *OutcomeUnknownError that still carries
// the *APIError (errors.As, errors.Is on the code). Before, only Finalize
// treated them so; Capture, Void, Refunds.Create and Agreements.Execute
// returned a definite failure.
func TestTransientCodesOnMoneyCallsAreUnknown(t *testing.T) {
	t.Parallel()
	codes := []ErrorCode{CodeSystemError, CodeProcessFailed, CodeExceptionOccurred, CodeExceptionOccurred2, CodeMaintenance, "7777"}
	bodies := map[string]func(ErrorCode) string{
		"statusCode": func(c ErrorCode) string { return `{"statusCode":"` + string(c) + `","statusMessage":"System Error"}` },
		"errorCode":  func(c ErrorCode) string { return `{"errorCode":"` + string(c) + `","errorMessage":"System Error"}` },
		"v2": func(c ErrorCode) string {
			return `{"internalCode":"R-99","externalCode":"` + string(c) + `","errorMessageEn":"System Error","errorMessageBn":"সিস্টেম ত্রুটি"}`
		},
	}
	for _, ep := range moneyEndpoints {
		for _, code := range codes {
			for shape, body := range bodies {
				t.Run(ep.op+" "+ep.path+"/"+string(code)+"/"+shape, func(t *testing.T) {
					t.Parallel()
					m := newCoreMock(t)
					status := 200
					if shape == "v2" {
						status = 400
					}
					m.on(ep, func(int, coreReq) (*http.Response, error) { return coreJSON(status, body(code)), nil })
					c := m.client()
					var out coreQueryOut
					err := c.do(context.Background(), ep, coreQueryIn{"TR0011abc"}, &out)
					var ou *OutcomeUnknownError
					if !errors.As(err, &ou) {
						t.Fatalf("err = %v (%T), want *OutcomeUnknownError", err, err)
					}
					var ae *APIError
					if !errors.As(err, &ae) || ae.Code != code || ae.HTTPStatus != status {
						t.Errorf("wrapped APIError = %+v, want code %s", ae, code)
					}
					if !errors.Is(err, code) {
						t.Errorf("errors.Is(err, %s) = false", code)
					}
					if !strings.Contains(err.Error(), string(code)) || !strings.Contains(err.Error(), "not re-sent") {
						t.Errorf("err = %q, want the code and the reconcile hint", err)
					}
					if got := m.sent(ep); got != 1 {
						t.Errorf("sent %d times", got)
					}
				})
			}
		}
	}
	// A definite refusal stays an *APIError; a read's transient code too.
	for _, tc := range []struct {
		ep   *endpoint
		code ErrorCode
	}{{epPaymentExecute, CodeInsufficientBalance}, {epPaymentExecute, CodeExecutionAlreadyCompleted}, {epRefundV1, CodeRefundExceedsOriginal}, {epPaymentQuery, CodeSystemError}} {
		m := newCoreMock(t)
		m.on(tc.ep, func(int, coreReq) (*http.Response, error) {
			return coreJSON(200, `{"statusCode":"`+string(tc.code)+`","statusMessage":"x"}`), nil
		})
		var out coreQueryOut
		err := m.client().do(context.Background(), tc.ep, coreQueryIn{"TR0011abc"}, &out)
		var ae *APIError
		if errors.Is(err, ErrOutcomeUnknown) || !errors.As(err, &ae) || ae.Code != tc.code {
			t.Errorf("%s %s: err = %v, want a definite *APIError", tc.ep.op, tc.code, err)
		}
	}
}

// TestWrongRouteIsAConfigurationError: 403 "Missing Authentication Token"
// is API Gateway's answer to a path it has no route for. Before, it was
// taken for a token rejection: one call spent a renewal and a replay, and a
// misconfigured client emptied the hour's budget.
func TestWrongRouteIsAConfigurationError(t *testing.T) {
	t.Parallel()
	answers := map[string]func() *http.Response{
		"body": func() *http.Response { return coreJSON(403, `{"message":"Missing Authentication Token"}`) },
		"x-amzn-ErrorType only": func() *http.Response {
			return withHeader(httpmock.NewStringResponse(403, ""), "x-amzn-ErrorType", "MissingAuthenticationTokenException")
		},
		"body and x-amzn-ErrorType": func() *http.Response {
			return withHeader(coreJSON(403, `{"message":"Missing Authentication Token"}`), "X-Amzn-ErrorType", "MissingAuthenticationTokenException")
		},
	}
	for name, answer := range answers {
		for _, ep := range []*endpoint{epPaymentExecute, epPaymentQuery, epRefundV2} {
			t.Run(name+"/"+ep.op+" "+ep.path, func(t *testing.T) {
				t.Parallel()
				m := newCoreMock(t)
				c := m.client()
				warm(t, m, c)
				m.on(ep, func(int, coreReq) (*http.Response, error) { return answer(), nil })
				var out coreQueryOut
				for range 2 {
					err := c.do(context.Background(), ep, coreQueryIn{"TR0011abc"}, &out)
					if !errors.Is(err, ErrWrongRoute) {
						t.Fatalf("err = %v, want ErrWrongRoute", err)
					}
					var ce *ConfigError
					if !errors.As(err, &ce) || ce.URL != coreRoot+ep.path || ce.Op != ep.op {
						t.Fatalf("ConfigError = %+v", ce)
					}
					var ae *APIError
					if !errors.As(err, &ae) || ae.HTTPStatus != 403 {
						t.Errorf("the gateway's answer is not in the error: %+v", ae)
					}
					if errors.Is(err, ErrOutcomeUnknown) {
						t.Error("a wrong route reached nobody: not an unknown outcome")
					}
					if !strings.Contains(err.Error(), coreRoot+ep.path) || !strings.Contains(err.Error(), "WithBaseURL") {
						t.Errorf("err = %q, want the URL and what to change", err)
					}
				}
				want := 2
				if ep == epPaymentQuery {
					want++ // warm's query
				}
				if got := m.sent(ep); got != want {
					t.Errorf("sent %d, want %d (one per call, no replay)", got, want)
				}
				if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != 0 {
					t.Errorf("grants, refreshes = %d, %d; want 1, 0", g, r)
				}
			})
		}
	}
}

// TestFreshTokenRejectedIsAConfigurationError: a token this client granted
// moments ago, rejected on its first use (a wrong app key, a firewall), is
// not renewed: a new one would be rejected the same way. Before, every call
// renewed and replayed, and two calls spent the hour's budget.
func TestFreshTokenRejectedIsAConfigurationError(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"message":"Unauthorized"}`, `{"message":"Forbidden"}`} {
		m := newCoreMock(t)
		m.on(epPaymentExecute, func(int, coreReq) (*http.Response, error) {
			if strings.Contains(body, "Forbidden") {
				return coreJSON(403, body), nil
			}
			return coreJSON(401, body), nil
		})
		c := m.client()
		for i := range 3 {
			var out coreQueryOut
			err := c.do(context.Background(), epPaymentExecute, coreQueryIn{"TR0011abc"}, &out)
			if !errors.Is(err, ErrFreshTokenRejected) {
				t.Fatalf("%s call %d: err = %v, want ErrFreshTokenRejected", body, i+1, err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Answer == nil || ce.Answer.Class() != ClassAuth {
				t.Errorf("ConfigError = %+v", ce)
			}
			if errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrTokenBudgetExceeded) {
				t.Errorf("err = %v", err)
			}
		}
		if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != 0 {
			t.Errorf("%s: grants, refreshes = %d, %d; want 1, 0 (no renewal)", body, g, r)
		}
		if got := m.sent(epPaymentExecute); got != 3 {
			t.Errorf("%s: executes = %d, want 3 (one per call)", body, got)
		}
	}
}

// TestOnlyTheGatewaysTokenAnswersRenew: with a token that worked, the
// gateway's token answers renew and replay; a 401/403 that is not one
// (HTML, empty) on a read is an *APIError and nothing is renewed.
func TestOnlyTheGatewaysTokenAnswersRenew(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		resp  func() *http.Response
		renew bool
	}{
		{"401 Unauthorized", func() *http.Response { return coreJSON(401, `{"message":"Unauthorized"}`) }, true},
		{"401 expired", func() *http.Response { return coreJSON(401, `{"message":"The incoming token has expired"}`) }, true},
		{"403 Forbidden", func() *http.Response { return coreJSON(403, `{"message":"Forbidden"}`) }, true},
		{"403 typed AccessDenied", func() *http.Response {
			return withHeader(coreJSON(403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`), "x-amzn-ErrorType", "AccessDeniedException")
		}, true},
		{"2079", func() *http.Response {
			return coreJSON(200, `{"statusCode":"2079","statusMessage":"Invalid app Token"}`)
		}, true},
		{"401 HTML", func() *http.Response { return httpmock.NewStringResponse(401, "<html>401</html>") }, false},
		{"403 empty", func() *http.Response { return httpmock.NewStringResponse(403, "") }, false},
		{"403 other gateway message", func() *http.Response { return coreJSON(403, `{"message":"Request forbidden by administrative rules"}`) }, false},
		// A firewall's block names its type; the status text standing in
		// for a missing message is not the gateway's token answer.
		{"403 HTML typed WAFFiltered", func() *http.Response {
			return withHeader(httpmock.NewStringResponse(403, "<html>Request blocked</html>"), "x-amzn-ErrorType", "WAFFilteredException")
		}, false},
		{"403 Forbidden typed WAFFiltered", func() *http.Response {
			return withHeader(coreJSON(403, `{"message":"Forbidden"}`), "x-amzn-ErrorType", "WAFFilteredException")
		}, false},
		{"403 typed Forbidden, other message", func() *http.Response {
			return withHeader(coreJSON(403, `{"message":"Request forbidden by administrative rules"}`), "x-amzn-ErrorType", "ForbiddenException")
		}, false},
		{"401 empty typed Unauthorized", func() *http.Response {
			return withHeader(httpmock.NewStringResponse(401, ""), "x-amzn-ErrorType", "UnauthorizedException")
		}, true},
		{"401 empty typed NotFound", func() *http.Response {
			return withHeader(httpmock.NewStringResponse(401, ""), "x-amzn-ErrorType", "NotFoundException")
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			m.on(epPaymentQuery, func(n int, r coreReq) (*http.Response, error) {
				if n == 2 {
					return tc.resp(), nil
				}
				return coreOK(n, r)
			})
			c := m.client()
			if _, err := coreQuery(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			_, err := coreQuery(context.Background(), c)
			renewed := m.sent(epRefresh) == 1
			if renewed != tc.renew {
				t.Fatalf("renewed = %v, want %v (err %v)", renewed, tc.renew, err)
			}
			if tc.renew && err != nil {
				t.Errorf("replay: %v", err)
			}
			var ae *APIError
			if !tc.renew && !errors.As(err, &ae) {
				t.Errorf("err = %v, want *APIError", err)
			}
		})
	}
}

// TestGatewayRefusalDoesNotVouchForAToken: an answer from the gateway
// itself (here throttling) says nothing about the token, so a rejection
// right after it still finds a token never accepted; an answer with a bKash
// code does vouch for it.
func TestGatewayRefusalDoesNotVouchForAToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		first      string
		firstCode  int
		wantConfig bool
	}{
		{`{"message":"Too Many Requests"}`, 429, true},
		{`{"statusCode":"2056","statusMessage":"Invalid Payment State"}`, 200, false},
	} {
		m := newCoreMock(t)
		m.on(epPaymentExecute, func(n int, r coreReq) (*http.Response, error) {
			switch n {
			case 1:
				return coreJSON(tc.firstCode, tc.first), nil
			case 2:
				return coreJSON(401, `{"message":"Unauthorized"}`), nil
			}
			return coreOK(n, r)
		})
		c := m.client()
		// A fresh out per call: one decoded before would keep its
		// statusCode and hide the 401 that follows.
		first := c.do(context.Background(), epPaymentExecute, coreQueryIn{"TR0011abc"}, new(coreQueryOut))
		if ae := (*APIError)(nil); !errors.As(first, &ae) || ae.HTTPStatus != tc.firstCode {
			t.Fatalf("first call after %s: err = %v, want its *APIError", tc.first, first)
		}
		err := c.do(context.Background(), epPaymentExecute, coreQueryIn{"TR0011abc"}, new(coreQueryOut))
		if got := errors.Is(err, ErrFreshTokenRejected); got != tc.wantConfig {
			t.Errorf("after %s: ErrFreshTokenRejected = %v, want %v (err %v)", tc.first, got, tc.wantConfig, err)
		}
		// A vouched-for token is renewed and the call replayed; a token
		// never vouched for is not renewed.
		wantRenewals, wantSent := 1, 3
		if tc.wantConfig {
			wantRenewals, wantSent = 0, 2
		} else if err != nil {
			t.Errorf("after %s: the renewed replay failed: %v", tc.first, err)
		}
		if g, r := m.sent(epGrant), m.sent(epRefresh); g != 1 || r != wantRenewals {
			t.Errorf("after %s: grants, refreshes = %d, %d; want 1, %d", tc.first, g, r, wantRenewals)
		}
		if got := m.sent(epPaymentExecute); got != wantSent {
			t.Errorf("after %s: executes = %d, want %d", tc.first, got, wantSent)
		}
	}
}

// TestErrorTypeVariantsOnMoneyCallsAreUnknown: x-amzn-ErrorType as a middlebox
// or a differently configured gateway may spell it. Only an exact refusal
// type below 500 is a refusal; a type in other casing, a refusal type on
// any 5xx, or an integration type are unknown outcomes on every money call,
// sent once.
func TestErrorTypeVariantsOnMoneyCallsAreUnknown(t *testing.T) {
	t.Parallel()
	unknown := []struct {
		name, typ string
		status    int
	}{
		{"lower-case type at 429", "throttlingexception", 429},
		{"refusal type at 500", "AccessDeniedException", 500},
		{"refusal type at 502", "ThrottlingException", 502},
		{"refusal type at 504", "TooManyRequestsException:http://internal.amazon.com/coral/", 504},
		{"integration timeout at 429", "IntegrationTimeoutException", 429},
		{"two types joined", "TooManyRequestsException,IntegrationFailureException", 429},
	}
	for _, ep := range moneyEndpoints {
		for _, u := range unknown {
			t.Run(ep.op+" "+ep.path+"/"+u.name, func(t *testing.T) {
				t.Parallel()
				m := newCoreMock(t)
				c := m.client()
				warm(t, m, c)
				m.on(ep, func(int, coreReq) (*http.Response, error) {
					return withHeader(coreJSON(u.status, `{"message":"Too Many Requests"}`), "x-amzn-ErrorType", u.typ), nil
				})
				var out coreQueryOut
				err := c.do(context.Background(), ep, coreQueryIn{"TR0011abc"}, &out)
				if !errors.Is(err, ErrOutcomeUnknown) {
					t.Fatalf("err = %v (%T), want an unknown outcome", err, err)
				}
				if n := m.sent(ep); n != 1 {
					t.Fatalf("sent %d times, want 1", n)
				}
			})
		}
	}
}
