package bkash

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"
	"github.com/smartdairy/bkash-go/internal/transport"
)

// Tests of client.go, the pipeline every call goes through, in package
// bkash (harness: harness_internal_test.go): the request headers, reading
// the envelope and decoding answers (decodeInto, flexString, FuzzDecodeAnswer,
// FuzzWireValue, FuzzDecodeEnvelope), which failures are retried and which
// make a money call's outcome unknown, redirects, the default transport,
// Version, and what may reach a log line, an error or a fmt verb. The
// tests through the exported API are in client_integration_test.go and
// client_h2_test.go.

var wantUA = "bkash-go/" + Version + " go/" + strings.TrimPrefix(runtime.Version(), "go")

func TestRequestHeadersAreExactlyBkashs(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	c := m.client()
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	grant := m.requests(epGrant)[0].Header
	wantGrant := http.Header{
		"Content-Type": {"application/json"},
		"Accept":       {"application/json"},
		"User-Agent":   {wantUA},
		"Username":     {"merchantUser01"},
		"Password":     {"pw-SECRET-7d1c"},
	}
	if diff := cmp.Diff(wantGrant, grant); diff != "" {
		t.Errorf("grant headers (-want +got):\n%s", diff)
	}
	query := m.requests(epPaymentQuery)[0].Header
	wantQuery := http.Header{
		"Content-Type":  {"application/json"},
		"Accept":        {"application/json"},
		"User-Agent":    {wantUA},
		"Authorization": {"eyJ-ID1-tok"}, // bare, no "Bearer"
		"X-App-Key":     {"appkey-0f3a"},
	}
	if diff := cmp.Diff(wantQuery, query); diff != "" {
		t.Errorf("query headers (-want +got):\n%s", diff)
	}
	if got := m.requests(epPaymentQuery)[0].Body; string(got) != `{"paymentID":"TR0011abc"}` {
		t.Errorf("body = %s", got)
	}
}

func TestUserAgentCarriesTheProductFirst(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	c := m.client(WithUserAgent("milkshop/1.4"))
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := m.requests(epPaymentQuery)[0].Header.Get("User-Agent"); got != "milkshop/1.4 "+wantUA {
		t.Errorf("User-Agent = %q", got)
	}
	if !strings.HasPrefix(wantUA, "bkash-go/"+Version+" go/1.") {
		t.Errorf("UA = %q", wantUA)
	}
}

func TestErrorEnvelopesBecomeAPIErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		ep     *endpoint
		status int
		body   string
		want   *APIError
		is     error
	}{
		{
			name: "tokenized statusCode on HTTP 200", ep: epPaymentExecute, status: 200,
			body: `{"statusCode":"2023","statusMessage":"Insufficient Balance"}`,
			want: &APIError{Op: "payment.execute", HTTPStatus: 200, Code: "2023", Message: "Insufficient Balance", Attempts: 1},
			is:   CodeInsufficientBalance,
		},
		{
			name: "numeric statusCode", ep: epPaymentQuery, status: 200,
			body: `{"statusCode":2056,"statusMessage":"Invalid Payment State"}`,
			want: &APIError{Op: "payment.query", HTTPStatus: 200, Code: "2056", Message: "Invalid Payment State", Attempts: 1},
			is:   CodeInvalidPaymentState,
		},
		{
			name: "capture errorCode", ep: epPaymentCapture, status: 200,
			body: `{"errorCode":"2119","errorMessage":"The authorized payment has already been processed"}`,
			want: &APIError{Op: "payment.capture", HTTPStatus: 200, Code: "2119", Message: "The authorized payment has already been processed", Attempts: 1},
			is:   CodeAuthorizationProcessed,
		},
		{
			name: "v2 refund on HTTP 400", ep: epRefundV2, status: 400,
			body: `{"internalCode":"R-17","externalCode":"2071","errorMessageEn":"Refund after specified days not allowed","errorMessageBn":"নির্দিষ্ট দিনের পর রিফান্ড অনুমোদিত নয়"}`,
			want: &APIError{Op: "refund.create", HTTPStatus: 400, Code: "2071", Message: "Refund after specified days not allowed",
				MessageBn: "নির্দিষ্ট দিনের পর রিফান্ড অনুমোদিত নয়", Attempts: 1},
			is: CodeRefundWindowExpired,
		},
		{
			// On a read; on a money call 9999 is an unknown outcome
			// (TestTransientCodesOnMoneyCallsAreUnknown).
			name: "system error on HTTP 500 is still a definite answer", ep: epPaymentQuery, status: 500,
			body: `{"statusCode":"9999","statusMessage":"System Error"}`,
			want: &APIError{Op: "payment.query", HTTPStatus: 500, Code: "9999", Message: "System Error", Attempts: 1},
			is:   CodeSystemError,
		},
		{
			// The client's own token, granted moments ago and never
			// accepted: a configuration error, not renewed.
			name: "gateway 403 on a fresh token", ep: epPaymentQuery, status: 403,
			body: `{"message":"Forbidden"}`,
			want: &APIError{Op: "payment.query", HTTPStatus: 403, Message: "Forbidden", Attempts: 1},
			is:   ErrFreshTokenRejected,
		},
		{
			// Not the gateway's token answer: not renewed, not replayed.
			name: "401 without a body", ep: epAgreementQuery, status: 401,
			body: ``,
			want: &APIError{Op: "agreement.query", HTTPStatus: 401, Message: "Unauthorized", Attempts: 1},
		},
		{
			name: "read class 404 with a gateway message", ep: epRefundStatusV1, status: 404,
			body: `{"message":"Not Found"}`,
			want: &APIError{Op: "refund.status", HTTPStatus: 404, Message: "Not Found", Attempts: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			m.on(tc.ep, func(int, coreReq) (*http.Response, error) { return coreJSON(tc.status, tc.body), nil })
			c := m.client()
			var out coreQueryOut
			err := c.do(context.Background(), tc.ep, coreQueryIn{"TR0011abc"}, &out)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %#v, want *APIError", err)
			}
			if diff := cmp.Diff(tc.want, ae); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(err, %v) = false", tc.is)
			}
			if errors.Is(err, ErrOutcomeUnknown) {
				t.Error("a definite answer matched ErrOutcomeUnknown")
			}
		})
	}
}

func TestSuccessDecodesIntoTypesWithAndWithoutEnvelope(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	c := m.client()
	var plain struct {
		PaymentID string `json:"paymentID"`
	}
	if err := c.do(context.Background(), epPaymentQuery, []byte(`{"paymentID":"TR0011abc"}`), &plain); err != nil {
		t.Fatal(err)
	}
	if plain.PaymentID != "TR0011abc" {
		t.Errorf("plain out = %+v", plain)
	}
	if err := c.do(context.Background(), epPaymentQuery, nil, nil); err != nil {
		t.Fatal(err)
	}
	reqs := m.requests(epPaymentQuery)
	if got := string(reqs[0].Body); got != `{"paymentID":"TR0011abc"}` {
		t.Errorf("[]byte body sent as %s", got)
	}
	if got := string(reqs[1].Body); got != `{}` {
		t.Errorf("nil body sent as %s", got)
	}
	// A payload that does not fit the output type, on a success envelope:
	// the answer was definite but unreadable.
	m.on(epPaymentExecute, func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"0000","paymentID":17}`), nil
	})
	var out coreQueryOut
	err := c.do(context.Background(), epPaymentExecute, nil, &out)
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("mistyped payload: err = %v, want outcome unknown", err)
	}
	// An error envelope is reported even when the payload does not fit.
	m.on(epPaymentExecute, func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"2062","statusMessage":"The payment has already been completed","paymentID":17}`), nil
	})
	err = c.do(context.Background(), epPaymentExecute, nil, &out)
	if !errors.Is(err, CodePaymentAlreadyCompleted) {
		t.Errorf("err = %v, want 2062", err)
	}
	// Plain output types are not decoded on an error envelope.
	m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"2002","statusMessage":"Invalid Payment ID","paymentID":17}`), nil
	})
	if err := c.do(context.Background(), epPaymentQuery, nil, &plain); !errors.Is(err, CodeInvalidPaymentID) {
		t.Errorf("err = %v, want 2002", err)
	}
}

func TestRequestThatCannotBeEncodedIsNotSent(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	c := m.client()
	err := c.do(context.Background(), epPaymentQuery, map[string]any{"x": make(chan int)}, nil)
	if err == nil || !strings.Contains(err.Error(), "payment.query: encoding request") {
		t.Errorf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = c.do(ctx, epPaymentExecute, nil, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "not sent") {
		t.Errorf("cancelled before sending: err = %v", err)
	}
	if n := m.sent(epGrant) + m.sent(epPaymentExecute); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// coreFailure is a way for an answer to go wrong after the request was sent.
type coreFailure struct {
	name    string
	respond coreResponder
	why     string // in the error text
}

type coreErrReader struct {
	data []byte
	err  error
}

func (r *coreErrReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func coreFailures() []coreFailure {
	oversized := `{"statusCode":"0000"` + strings.Repeat(" ", maxResponseBody-20) + `}`
	return []coreFailure{
		{"connection dropped", func(int, coreReq) (*http.Response, error) {
			return nil, errors.New("read tcp 10.0.0.2:51234->203.0.113.7:443: read: connection reset by peer")
		}, "connection reset by peer"},
		{"HTTP 500 without a body", func(int, coreReq) (*http.Response, error) {
			return httpmock.NewStringResponse(500, ""), nil
		}, "http 500"},
		{"HTTP 502 HTML from a proxy", func(int, coreReq) (*http.Response, error) {
			return httpmock.NewStringResponse(502, "<html><body>Bad Gateway</body></html>"), nil
		}, "http 502: unreadable answer"},
		{"HTTP 503 HTML with Retry-After", func(int, coreReq) (*http.Response, error) {
			// Not the gateway's own {"message"} refusal, which is a
			// Temporary *APIError (TestGatewayRefusalIsAnAPIError).
			r := httpmock.NewStringResponse(503, "<html><body>Service Unavailable</body></html>")
			r.Header.Set("Retry-After", "0")
			return r, nil
		}, "http 503: unreadable answer"},
		{"HTTP 504 gateway message", func(int, coreReq) (*http.Response, error) {
			return coreJSON(504, `{"message":"Endpoint request timed out"}`), nil
		}, "Endpoint request timed out"},
		{"HTTP 200 gateway message", func(int, coreReq) (*http.Response, error) {
			return coreJSON(200, `{"message":"Internal server error"}`), nil
		}, "Internal server error"},
		{"malformed JSON", func(int, coreReq) (*http.Response, error) {
			return coreJSON(200, `{"statusCode":"0000","paymentID":`), nil
		}, "unreadable answer"},
		{"truncated body", func(int, coreReq) (*http.Response, error) {
			r := coreJSON(200, "")
			r.Body = io.NopCloser(&coreErrReader{data: []byte(`{"statusCode":"00`), err: io.ErrUnexpectedEOF})
			return r, nil
		}, "unexpected EOF"},
		{"oversized body", func(int, coreReq) (*http.Response, error) {
			return coreJSON(200, oversized+" "), nil
		}, "larger than 1048576 bytes"},
	}
}

func TestMoneyCallsAreSentOnceWhenTheOutcomeIsUnknown(t *testing.T) {
	t.Parallel()
	money := []*endpoint{epPaymentExecute, epPaymentCapture, epPaymentVoid, epRefundV1, epRefundV2, epAgreementExecute}
	for _, ep := range money {
		for _, f := range coreFailures() {
			t.Run(ep.op+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				m := newCoreMock(t)
				m.on(ep, f.respond)
				c := m.client()
				var out coreQueryOut
				err := c.do(context.Background(), ep, coreQueryIn{"TR0011abc"}, &out)
				var ou *OutcomeUnknownError
				if !errors.As(err, &ou) {
					t.Fatalf("err = %v, want *OutcomeUnknownError", err)
				}
				if !errors.Is(err, ErrOutcomeUnknown) {
					t.Error("errors.Is(err, ErrOutcomeUnknown) = false")
				}
				if ou.Op != ep.op || ou.Attempts != 1 {
					t.Errorf("Op, Attempts = %q, %d; want %q, 1", ou.Op, ou.Attempts, ep.op)
				}
				if !strings.Contains(err.Error(), f.why) || !strings.Contains(err.Error(), "not re-sent") {
					t.Errorf("err = %q, want it to mention %q and that it was not re-sent", err, f.why)
				}
				if got := m.sent(ep); got != 1 {
					t.Errorf("sent %d times, want exactly 1", got)
				}
			})
		}
	}
}

func TestMoneyCallCancelledInFlightIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	ctx, cancel := context.WithCancel(context.Background())
	m.on(epPaymentExecute, func(int, coreReq) (*http.Response, error) {
		cancel() // the caller gives up while bKash is processing
		time.Sleep(50 * time.Millisecond)
		return coreOK(1, coreReq{})
	})
	c := m.client()
	err := c.do(ctx, epPaymentExecute, nil, nil)
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want outcome unknown wrapping context.Canceled", err)
	}
	if got := m.sent(epPaymentExecute); got != 1 {
		t.Errorf("sent %d times", got)
	}
}

// dialFailRT fails its first fails round trips without reading the body,
// like a dial error, then passes requests on.
type dialFailRT struct {
	fails int32
	trips atomic.Int32
	next  http.RoundTripper
}

func (d *dialFailRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if d.trips.Add(1) <= d.fails {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	}
	return d.next.RoundTrip(r)
}

func TestFailureBeforeSendingIsRetriedForEveryClass(t *testing.T) {
	t.Parallel()
	for _, ep := range []*endpoint{epPaymentQuery, epPaymentCreate, epPaymentExecute, epRefundV1, epAgreementCancel} {
		t.Run(ep.op, func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			m.on(ep, coreOK)
			c := m.client()
			if _, err := c.tokens.token(context.Background()); err != nil {
				t.Fatal(err)
			}
			rt := &dialFailRT{fails: 2, next: m.mt}
			c2 := m.client(WithHTTPClient(&http.Client{Transport: rt}))
			c2.tokens = c.tokens // reuse the granted token: only ep's trips count
			var out coreQueryOut
			if err := c2.do(context.Background(), ep, nil, &out); err != nil {
				t.Fatalf("err = %v", err)
			}
			if got := rt.trips.Load(); got != 3 {
				t.Errorf("round trips = %d, want 3 (two dial failures, then success)", got)
			}
			if got := m.sent(ep); got != 1 {
				t.Errorf("requests that reached bKash = %d, want 1", got)
			}
		})
	}
}

func TestFailureBeforeSendingNeverMakesTheOutcomeUnknown(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	c := m.client()
	if _, err := c.tokens.token(context.Background()); err != nil {
		t.Fatal(err)
	}
	rt := &dialFailRT{fails: 100, next: m.mt}
	c2 := m.client(WithHTTPClient(&http.Client{Transport: rt}))
	c2.tokens = c.tokens
	err := c2.do(context.Background(), epPaymentExecute, nil, nil)
	if err == nil || errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "payment.execute: not sent after 3 attempt(s)") {
		t.Errorf("err = %v, want a definite not-sent error", err)
	}
	if rt.trips.Load() != 3 {
		t.Errorf("round trips = %d, want MaxAttempts", rt.trips.Load())
	}
}

func TestReadIsRetriedOn503UpToMaxAttempts(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) {
		return coreJSON(503, `{"message":"Service Unavailable"}`), nil
	})
	c := m.client(WithRetryPolicy(RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	_, err := coreQuery(context.Background(), c)
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 503 || ae.Attempts != 4 || ae.Message != "Service Unavailable" {
		t.Fatalf("err = %#v", err)
	}
	if got := m.sent(epPaymentQuery); got != 4 {
		t.Errorf("sent %d, want MaxAttempts (4)", got)
	}
}

func TestReadIsRetriedAfterAConnectionDrop(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(n int, r coreReq) (*http.Response, error) {
		if n < 3 {
			return nil, errors.New("connection reset by peer")
		}
		return coreOK(n, r)
	})
	c := m.client()
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) {
		return nil, errors.New("connection reset by peer")
	})
	_, err := coreQuery(context.Background(), c)
	if err == nil || errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "payment.query: 3 attempt(s)") {
		t.Errorf("err = %v", err)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	var mu sync.Mutex
	var at []time.Time
	m.on(epPaymentQuery, func(n int, r coreReq) (*http.Response, error) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		if n == 1 {
			resp := coreJSON(503, `{"message":"Slow down"}`)
			resp.Header.Set("Retry-After", "1")
			return resp, nil
		}
		return coreOK(n, r)
	})
	c := m.client() // backoff would be at most 2ms
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if len(at) != 2 {
		t.Fatalf("sent %d", len(at))
	}
	if wait := at[1].Sub(at[0]); wait < 990*time.Millisecond || wait > 1500*time.Millisecond {
		t.Errorf("waited %v between attempts, want about 1s (Retry-After: 1)", wait)
	}
}

func TestCreateIsRetriedOn503OnlyWithRetryAfter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		retryAfter string
		status     int
		wantSent   int
	}{
		{"503 with Retry-After", "0", 503, 2},
		{"429 with Retry-After", "0", 429, 2},
		{"503 without Retry-After", "", 503, 1},
		{"502 with Retry-After", "0", 502, 1},
		{"504 with Retry-After", "0", 504, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			m.on(epPaymentCreate, func(n int, r coreReq) (*http.Response, error) {
				if n == 1 {
					// Not the gateway's own {"message"} refusal, which is
					// an *APIError for every class.
					resp := httpmock.NewStringResponse(tc.status, "<html><body>busy</body></html>")
					if tc.retryAfter != "" {
						resp.Header.Set("Retry-After", tc.retryAfter)
					}
					return resp, nil
				}
				return coreOK(n, r)
			})
			c := m.client()
			var out coreQueryOut
			err := c.do(context.Background(), epPaymentCreate, nil, &out)
			if got := m.sent(epPaymentCreate); got != tc.wantSent {
				t.Errorf("sent %d, want %d", got, tc.wantSent)
			}
			if tc.wantSent == 2 && err != nil {
				t.Errorf("err = %v", err)
			}
			if tc.wantSent == 1 && !errors.Is(err, ErrOutcomeUnknown) {
				t.Errorf("err = %v, want outcome unknown (no money moved)", err)
			}
			if tc.wantSent == 1 && !strings.Contains(fmt.Sprint(err), "no money moved") {
				t.Errorf("err = %v, want the create hint", err)
			}
		})
	}
}

func TestNoRetryAfterTheContextIsCancelled(t *testing.T) {
	t.Parallel()
	t.Run("during the attempt", func(t *testing.T) {
		t.Parallel()
		m := newCoreMock(t)
		ctx, cancel := context.WithCancel(context.Background())
		m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) {
			return coreJSON(503, `{"message":"Service Unavailable"}`), nil
		})
		// Cancel once the answer is in hand, in the caller's transport: httpmock
		// itself races a cancelled context against its responder.
		cancelling := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := m.mt.RoundTrip(r)
			if r.URL.Path == epPaymentQuery.path {
				cancel()
			}
			return resp, err
		})
		// The answer arrived, so it is returned; it is not retried.
		_, err := coreQuery(ctx, m.client(WithHTTPClient(&http.Client{Transport: cancelling})))
		var ae *APIError
		if !errors.As(err, &ae) || ae.HTTPStatus != 503 || ae.Attempts != 1 {
			t.Errorf("err = %v, want the 503 of the only attempt", err)
		}
		if got := m.sent(epPaymentQuery); got != 1 {
			t.Errorf("sent %d, want 1", got)
		}
	})
	t.Run("during the backoff", func(t *testing.T) {
		t.Parallel()
		m := newCoreMock(t)
		m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) {
			r := coreJSON(503, `{"message":"Service Unavailable"}`)
			r.Header.Set("Retry-After", "20")
			return r, nil
		})
		c := m.client()
		if _, err := c.tokens.token(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := coreQuery(ctx, c)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("returned after %v: the wait ignored the context", d)
		}
		if got := m.sent(epPaymentQuery); got != 1 {
			t.Errorf("sent %d, want 1", got)
		}
	})
}

func TestResponseBodyLimit(t *testing.T) {
	t.Parallel()
	atLimit := `{"statusCode":"0000","paymentID":"TR0011abc"` + strings.Repeat(" ", maxResponseBody-45) + `}`
	if len(atLimit) != maxResponseBody {
		t.Fatalf("fixture is %d bytes", len(atLimit))
	}
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) { return coreJSON(200, atLimit), nil })
	c := m.client()
	out, err := coreQuery(context.Background(), c)
	if err != nil || out.PaymentID != "TR0011abc" {
		t.Fatalf("body of exactly the limit: %v", err)
	}
	m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) { return coreJSON(200, atLimit+" "), nil })
	_, err = coreQuery(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Errorf("body over the limit: err = %v", err)
	}
}

func TestObserverSeesEveryAttemptWithTheCodeOnTheLast(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(n int, _ coreReq) (*http.Response, error) {
		if n < 3 {
			return coreJSON(503, `{"message":"Service Unavailable"}`), nil
		}
		return coreJSON(200, `{"statusCode":"2023","statusMessage":"Insufficient Balance"}`), nil
	})
	obs := &coreObserver{}
	c := m.client(WithObserver(obs))
	if _, err := coreQuery(context.Background(), c); !errors.Is(err, CodeInsufficientBalance) {
		t.Fatalf("err = %v", err)
	}
	type ev struct {
		Op     string
		N      int
		Status int
		Code   ErrorCode
	}
	var got []ev
	for _, e := range obs.attempts {
		got = append(got, ev{e.Op, e.Attempt, e.HTTPStatus, e.Code})
		if e.Duration < 0 || e.Err != nil {
			t.Errorf("event %+v", e)
		}
	}
	want := []ev{
		{"token.grant", 1, 200, ""},
		{"payment.query", 1, 503, ""},
		{"payment.query", 2, 503, ""},
		{"payment.query", 3, 200, "2023"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attempt events (-want +got):\n%s", diff)
	}
	if len(obs.renewals) != 1 || obs.renewals[0].Kind != "grant" || obs.renewals[0].Err != nil || obs.renewals[0].Duration <= 0 {
		t.Errorf("renewal events = %+v", obs.renewals)
	}
	// A transport error is reported on its attempt.
	m.on(epPaymentExecute, func(int, coreReq) (*http.Response, error) { return nil, errors.New("connection reset") })
	_ = c.do(context.Background(), epPaymentExecute, nil, nil)
	last := obs.attempts[len(obs.attempts)-1]
	if last.Op != "payment.execute" || last.HTTPStatus != 0 || last.Err == nil {
		t.Errorf("transport failure event = %+v", last)
	}
}

func TestDebugLinesDescribeEachCall(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"2002","statusMessage":"Invalid Payment ID"}`), nil
	})
	log := &coreLog{}
	c := m.client(WithLogger(log.logger()))
	_, _ = c.Payments.Query(context.Background(), "TR0011abc")
	calls := log.lines(`"msg":"bkash call","op":"payment.query"`)
	if len(calls) != 1 {
		t.Fatalf("call lines:\n%s", log)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(calls[0]), &line); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"level": "DEBUG", "attempts": 1.0, "http_status": 200.0, "code": "2002", "paymentID": "TR0011abc"} {
		if line[k] != want {
			t.Errorf("%s = %v, want %v", k, line[k], want)
		}
	}
	if _, ok := line["request"]; ok {
		t.Error("bodies logged without WithBodyLogging")
	}
	// Silent at Info level: no Debug work at all.
	quiet := &coreLog{}
	c2 := m.client(WithLogger(slogAtInfo(quiet)))
	_, _ = c2.Payments.Query(context.Background(), "TR0011abc")
	if got := quiet.lines("bkash call"); len(got) != 0 {
		t.Errorf("debug lines at Info level: %q", got)
	}
	if got := quiet.lines("bkash token renewed"); len(got) != 1 {
		t.Errorf("renewal not logged at Info: %s", quiet)
	}
}

// TestSecretsNeverAppear drives every path that handles a secret, with a
// Debug logger and body logging, then prints everything it can reach with
// every verb and as JSON, and greps the raw bytes.
func TestSecretsNeverAppear(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(n int, r coreReq) (*http.Response, error) {
		if n == 2 {
			return coreJSON(401, `{"message":"Unauthorized"}`), nil
		}
		return coreOK(n, r)
	})
	m.on(epPaymentExecute, func(int, coreReq) (*http.Response, error) { return nil, errors.New("connection reset by peer") })
	m.on(epPaymentCapture, func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"errorCode":"2056","errorMessage":"Invalid Payment State"}`), nil
	})
	var out bytes.Buffer
	log := &coreLog{}
	obs := &coreObserver{}
	clk := newCoreClock()
	opts := []Option{WithLogger(log.logger()), WithBodyLogging(), WithObserver(obs)}
	c := m.client(opts...)
	setTokenClock(c, clk.Now)

	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	_, err := coreQuery(context.Background(), c) // grant
	keep(err)
	_, err = coreQuery(context.Background(), c) // 401, refresh, replay
	keep(err)
	keep(c.do(context.Background(), epPaymentExecute, coreQueryIn{"TR0011abc"}, nil))
	keep(c.do(context.Background(), epPaymentCapture, coreQueryIn{"TR0011abc"}, nil))
	c.tokens.reject(c.tokens.current())
	_, err = coreQuery(context.Background(), c) // budget exceeded
	keep(err)
	_, err = NewClient(Sandbox, Credentials{Username: "u", Password: coreCreds.Password})
	keep(err)
	keep(&OutcomeUnknownError{Op: "refund.create", Attempts: 1, Err: errors.New("timeout")})
	if len(errs) < 5 {
		t.Fatalf("only %d errors collected: %v", len(errs), errs)
	}
	for _, e := range obs.renewals {
		if e.Err != nil {
			errs = append(errs, e.Err)
		}
	}

	var cfg config
	for _, o := range append(opts, WithTokenStore(c.tokens.store), WithHTTPClient(&http.Client{})) {
		if err := o(&cfg); err != nil {
			t.Fatal(err)
		}
	}
	tok := c.tokens.current()
	if tok == nil {
		tok, _ = c.tokens.decode(must(c.tokens.store.Load(context.Background(), c.tokens.key)))
	}
	things := []any{coreCreds, &coreCreds, c, *c.tokens.latest, tok, &cfg, cfg, c.tokens.store, obs.renewals, obs.attempts}
	for _, e := range errs {
		things = append(things, e)
	}
	for _, x := range things {
		fmt.Fprintf(&out, "%v\n%+v\n%#v\n%s\n%q\n", x, x, x, x, x)
		if b, err := json.Marshal(x); err == nil {
			out.Write(b)
		}
	}
	slogger := log.logger()
	slogger.Info("values", "creds", coreCreds, "token", tok, "client", c, "password", coreCreds.Password)

	all := append(log.Bytes(), out.Bytes()...)
	for _, secret := range []string{"pw-SECRET-7d1c", "appsecret-SECRET-91be", "eyJ-ID", "eyJ-RF", "SECRET"} {
		if i := bytes.Index(all, []byte(secret)); i >= 0 {
			lo := max(0, i-200)
			t.Errorf("%q leaked: ...%s...", secret, all[lo:min(len(all), i+50)])
		}
	}
	if bytes.Contains(all, []byte("01770618575")) {
		t.Error("full wallet number in the logs")
	}
	if !bytes.Contains(all, []byte("017****8575")) {
		t.Error("masked wallet number missing from the body log")
	}
	if !bytes.Contains(all, []byte(`\"app_secret\":\"[REDACTED]\"`)) && !bytes.Contains(all, []byte(`"app_secret":"[REDACTED]"`)) {
		t.Errorf("grant body not logged redacted:\n%s", log)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestClientDescribesItselfWithoutSecrets(t *testing.T) {
	t.Parallel()
	c, err := NewClient(Production, coreCreds)
	if err != nil {
		t.Fatal(err)
	}
	want := `bkash.Client{env:production, root:https://tokenized.pay.bka.sh, username:"merchantUser01", app_key:"appkey-0f3a"}`
	for _, got := range []string{c.String(), c.GoString(), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if got != want {
			t.Errorf("got %s", got)
		}
	}
	if c.Environment() != Production {
		t.Error("Environment")
	}
	if c.refundAPI != RefundV1 || c.tokens.budget.limit != 2 {
		t.Errorf("defaults: refund %v budget %d", c.refundAPI, c.tokens.budget.limit)
	}
}

func TestUnreadableAnswerToAReadIsAPlainErrorAfterRetries(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(int, coreReq) (*http.Response, error) {
		return httpmock.NewStringResponse(502, "<html><body>Bad Gateway</body></html>"), nil
	})
	_, err := coreQuery(context.Background(), m.client())
	if err == nil || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want a plain error: a read has no outcome to be unsure of", err)
	}
	if want := "bkash: payment.query: 3 attempt(s): http 502: unreadable answer"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want prefix %q", err, want)
	}
	if got := m.sent(epPaymentQuery); got != 3 {
		t.Errorf("sent %d, want 3", got)
	}
}

func TestRejectedGrantIsNotReplayed(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) { return coreJSON(403, `{"message":"Forbidden"}`), nil })
	_, err := coreQuery(context.Background(), m.client())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Op != "token.grant" || ae.HTTPStatus != 403 || ae.Attempts != 1 {
		t.Fatalf("err = %v", err)
	}
	if got := m.sent(epGrant); got != 1 {
		t.Errorf("grants = %d, want 1", got)
	}
}

func TestFlexStringAcceptsStringsAndNumbers(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]flexString{`"2023"`: "2023", `2023`: "2023", `null`: "", `"0000"`: "0000", `3600`: "3600"} {
		var f flexString
		if err := json.Unmarshal([]byte(in), &f); err != nil || f != want {
			t.Errorf("%s: %q, %v", in, f, err)
		}
	}
	var f flexString
	if err := f.UnmarshalJSON([]byte(`"abc`)); err == nil {
		t.Error("broken string accepted")
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"statusCode":"0000","statusMessage":"Successful","paymentID":"TR0011abc"}`,
		`{"statusCode":"2023","statusMessage":"Insufficient Balance"}`,
		`{"errorCode":"2056","errorMessage":"Invalid Payment State"}`,
		`{"internalCode":"x","externalCode":"2071","errorMessageEn":"e","errorMessageBn":"বাংলা"}`,
		`{"message":"Unauthorized"}`, `{"statusCode":2056}`, `{"paymentID":17}`, `[]`, `null`, `"x"`,
		`{"statusCode":"0000"`, `<html></html>`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var withEnv coreQueryOut
		env, err := decodeInto(data, &withEnv)
		if !json.Valid(data) && err == nil {
			t.Fatalf("invalid JSON %q decoded without error", data)
		}
		if err == nil && env == nil {
			t.Fatalf("no envelope and no error for %q", data)
		}
		if env != nil {
			if ae := env.apiError(); ae != nil && ae.Code == "" && ae.Message == "" {
				t.Fatalf("empty APIError from %q", data)
			}
			_ = env.gatewayOnly()
		}
		var plain struct {
			PaymentID string `json:"paymentID"`
		}
		env2, err2 := decodeInto(data, &plain)
		if (err2 == nil) && env2 == nil {
			t.Fatalf("plain: no envelope and no error for %q", data)
		}
		if _, err := decodeInto(data, nil); err == nil && !json.Valid(data) {
			t.Fatalf("nil out: invalid JSON accepted")
		}
	})
}

// slogAtInfo is a JSON logger at info level that writes to w.
func slogAtInfo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// The User-Agent carries Version, and bKash's support reads it: it must name
// the release the code is, so Version and the changelog move together (see
// RELEASING.md). Between releases Version names the newest release.
func TestVersionIsTheNewestReleaseInTheChangelog(t *testing.T) {
	b, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	// "## [0.2.0] - 2026-12-06": the first dated section is the newest.
	m := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\] - (\d{4}-\d{2}-\d{2})$`).FindSubmatch(b)
	if m == nil {
		// Only before the first release is cut (RELEASING.md, step 1).
		t.Skip(`CHANGELOG.md has no released section ("## [X.Y.Z] - YYYY-MM-DD") yet`)
	}
	if got := string(m[1]); got != Version {
		t.Errorf("Version = %q, but the newest release in CHANGELOG.md is %q (released %s)", Version, got, m[2])
	}
}

// TestDefaultTransportIdleTimeout: the default client drops idle connections
// before the shortest idle timeout of the load balancers and NAT gateways in
// front of AWS-hosted APIs (ALB 60 s), so that no call is written onto a
// connection a middlebox already closed.
func TestDefaultTransportIdleTimeout(t *testing.T) {
	tr, ok := defaultTransport().(*http.Transport)
	if !ok {
		t.Skip("http.DefaultTransport replaced by the program")
	}
	if tr.IdleConnTimeout != defaultIdleConnTimeout || tr.IdleConnTimeout <= 0 || tr.IdleConnTimeout >= 60e9 {
		t.Errorf("IdleConnTimeout = %v, want %v (below an ALB's 60 s)", tr.IdleConnTimeout, defaultIdleConnTimeout)
	}
	if !tr.ForceAttemptHTTP2 {
		t.Error("the default client no longer attempts HTTP/2; TestHTTP2ResetNeverResendsMoney would not cover it")
	}
}

// A redirect is never followed. net/http would re-send a 307/308'd POST,
// body and all (go-retryablehttp gives it GetBody), which for a call that
// moves money is a second send; and it forwards custom headers such as
// Username, Password and X-App-Key to whatever host the Location names.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			var followed atomic.Int32
			m.mt.RegisterResponder(http.MethodPost, "https://elsewhere.example/execute", func(*http.Request) (*http.Response, error) {
				followed.Add(1)
				return coreJSON(200, `{"statusCode":"0000","transactionStatus":"Completed"}`), nil
			})
			m.mt.RegisterResponder(http.MethodGet, "https://elsewhere.example/execute", func(*http.Request) (*http.Response, error) {
				followed.Add(1)
				return coreJSON(200, `{}`), nil
			})
			redirect := func(int, coreReq) (*http.Response, error) {
				r := coreJSON(status, `{}`)
				r.Header.Set("Location", "https://elsewhere.example/execute")
				return r, nil
			}
			m.on(epPaymentExecute, redirect)
			c := m.client()
			_, err := c.Payments.Execute(context.Background(), "TR0011abc")
			var ou *OutcomeUnknownError
			if !errors.As(err, &ou) {
				t.Errorf("Execute answered %d: err = %v, want *OutcomeUnknownError", status, err)
			}
			if n := m.sent(epPaymentExecute); n != 1 {
				t.Errorf("execute sent %d times, want 1", n)
			}

			m.onGrant(redirect) // the credentials must not follow either
			_, err = m.client(WithTokenStore(NewMemoryTokenStore())).Token(context.Background())
			if err == nil {
				t.Errorf("grant answered %d: no error", status)
			}
			if n := followed.Load(); n != 0 {
				t.Errorf("the redirect was followed %d times", n)
			}
		})
	}
}

// call.scrub: what a call sent never reaches its error's text.

// A refresh request carries the refresh_token in its body rather than in the
// call's token: a server echoing it in its message must not put it into an
// error.
func TestScrubRemovesRefreshTokenOfRefreshCall(t *testing.T) {
	c := &Client{secrets: seal(&clientSecrets{creds: Credentials{Password: "pw-1", AppSecret: "as-1"}})}
	cl := &call{c: c, ep: epRefresh, in: newTokenRequest("", "", "ECHOED-REFRESH-77")}
	got := cl.scrub("bad refresh token ECHOED-REFRESH-77 (pw-1, as-1)")
	for _, s := range []string{"ECHOED-REFRESH-77", "pw-1", "as-1"} {
		if strings.Contains(got, s) {
			t.Fatalf("scrub left %q in %q", s, got)
		}
	}
}

// An answer that is not bKash's (a 5xx with a foreign {"message": ...}, a
// 200 carrying only an errorMessage) becomes an *OutcomeUnknownError or a
// plain error whose text quotes the message: the secrets the call sent must
// be scrubbed from it as from an *APIError's message.
func TestScrubForeignMessageInUnknownOutcome(t *testing.T) {
	c := &Client{secrets: seal(&clientSecrets{creds: Credentials{Password: "pw-2", AppSecret: "as-2"}})}
	for _, ep := range []*endpoint{epPaymentExecute, epPaymentQuery} {
		for _, status := range []int{200, 500} {
			cl := &call{c: c, ep: ep, tok: &Token{IDToken: "idt-2", RefreshToken: "rt-2"}}
			body := `{"message":"echo idt-2 rt-2 pw-2 as-2"}`
			if status == 200 {
				body = `{"errorMessage":"echo idt-2 rt-2 pw-2 as-2"}`
			}
			res := transport.Result{Resp: &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}, Attempts: 1, Sent: true}
			_, err := cl.finish(res, &struct{ envelope }{})
			cl.scrubError(err) // as run does
			if err == nil {
				t.Fatalf("%s %d: no error", ep.op, status)
			}
			for _, s := range []string{"idt-2", "rt-2", "pw-2", "as-2"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("%s %d: %q in %q", ep.op, status, s, err)
				}
			}
		}
	}
}

// fmt on a Client and on everything that holds one.

// fmtSecrets are the values no fmt verb may print, with distinctive text:
// the client's password and app secret, and the tokens the mock grants
// (eyJ-ID<n>-tok, eyJ-RF<n>-tok).
var fmtSecrets = []string{"pw-SECRET-7d1c", "appsecret-SECRET-91be", "eyJ-ID1-tok", "eyJ-RF1-tok", "eyJ-ID2-tok", "eyJ-RF2-tok"}

// secretForms returns the forms in which fmt could print s: as text, quoted
// (%q, %#v), in hex either case (%x, %X, with or without spaces) and as
// the decimal bytes of a []byte.
func secretForms(s string) []string {
	var dec []string
	for i := 0; i < len(s); i++ {
		dec = append(dec, strconv.Itoa(int(s[i])))
	}
	return []string{
		s, strconv.Quote(s), hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))),
		fmt.Sprintf("% x", s), strings.Join(dec[:8], " "),
	}
}

// fmtVerbs are the verbs tried on every shape: the ones the issue names,
// and every other verb, since an unexpected verb on a pointer makes fmt
// print the pointed-to struct (%!s(*T=&{...})).
var fmtVerbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%t", "%c", "%U", "%e", "%f", "%g", "%o", "%b", "%p", "%T", "%10.3s", "%-+#v"}

// TestNoFmtVerbPrintsASecret: fmt.Sprintf("%+v", *client) printed the
// password and app secret, and so did %s of client.Payments or of any
// struct holding a *Client in an unexported field (fmt cannot call the
// methods of unexported fields, and an unexpected verb on a pointer makes
// it print what the pointer points to). Every verb, on every shape that
// holds the client, a service or the webhook verifier, with a granted and
// a rejected token in the client, prints none of the secrets in any form.
func TestNoFmtVerbPrintsASecret(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	c := m.client()
	// The token manager holds a current token and remembers a rejected one,
	// set here rather than through a renewal: fmt reads the client's state
	// without its locks, which the renewal's goroutines (singleflight)
	// would still be releasing (a race, not a leak).
	now := time.Now()
	t1 := &Token{IDToken: "eyJ-ID1-tok", RefreshToken: "eyJ-RF1-tok", ExpiresAt: now.Add(time.Hour)}
	t2 := &Token{IDToken: "eyJ-ID2-tok", RefreshToken: "eyJ-RF2-tok", ExpiresAt: now.Add(time.Hour), refreshAt: now.Add(time.Hour)}
	c.tokens.swap(t1)
	c.tokens.reject(t1)
	c.tokens.swap(t2)
	v, err := NewWebhookVerifier(WithAllowedTopicARNs("arn:aws:sns:ap-southeast-1:123456789012:t"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &Reconciler{Payments: c.Payments, Report: func(ReconcileResult) {}}

	type (
		exported     struct{ C *Client }
		unexported   struct{ c *Client }
		value        struct{ c Client }
		embedded     struct{ *Client }
		embeddedVal  struct{ Client }
		payments     struct{ s *PaymentService }
		paymentsVal  struct{ s PaymentService }
		agreements   struct{ s *AgreementService }
		agreementVal struct{ s AgreementService }
		refunds      struct{ s *RefundService }
		refundsVal   struct{ s RefundService }
		embedPay     struct{ *PaymentService }
		embedPayVal  struct{ PaymentService }
		reconciler   struct{ r *Reconciler }
		reconcilerV  struct{ r Reconciler }
		verifier     struct{ v *WebhookVerifier }
		verifierVal  struct{ v WebhookVerifier }
		nested       struct{ inner unexported }
		nestedPtr    struct{ inner *value }
		inSlice      struct{ cs []Client }
		inMap        struct{ m map[string]*Client }
		inAny        struct{ x any }
	)
	shapes := map[string]any{
		"*Client": c, "Client": *c, "**Client": &c,
		"*PaymentService": c.Payments, "PaymentService": *c.Payments,
		"*AgreementService": c.Agreements, "AgreementService": *c.Agreements,
		"*RefundService": c.Refunds, "RefundService": *c.Refunds,
		"*Reconciler": rec, "*WebhookVerifier": v,
		"exported *Client": exported{c}, "unexported *Client": unexported{c}, "&unexported *Client": &unexported{c},
		"Client value field": value{*c}, "&Client value field": &value{*c},
		"embedded *Client": embedded{c}, "embedded Client": embeddedVal{*c}, "&embedded Client": &embeddedVal{*c},
		"*PaymentService field": payments{c.Payments}, "PaymentService field": paymentsVal{*c.Payments},
		"*AgreementService field": agreements{c.Agreements}, "AgreementService field": agreementVal{*c.Agreements},
		"*RefundService field": refunds{c.Refunds}, "RefundService field": refundsVal{*c.Refunds},
		"embedded *PaymentService": embedPay{c.Payments}, "embedded PaymentService": embedPayVal{*c.Payments},
		"*Reconciler field": reconciler{rec}, "*WebhookVerifier field": verifier{v},
		"nested": nested{unexported{c}}, "nested pointer": nestedPtr{&value{*c}},
		"slice of Client": inSlice{[]Client{*c}}, "map of *Client": inMap{map[string]*Client{"k": c}},
		"Client in interface": inAny{*c}, "*Client in interface": inAny{c},
		"PaymentService in interface": inAny{*c.Payments},
		// The grant/refresh body holds the secrets as plain strings; it
		// lives only inside one unexported call.
		"tokenRequest":              newTokenRequest("k", "appsecret-SECRET-91be", "eyJ-RF1-tok"),
		"tokenRequest in interface": inAny{newTokenRequest("k", "appsecret-SECRET-91be", "eyJ-RF1-tok")},
	}
	if rv := (reconcilerV{}); rv.r.Payments == nil {
		// Reconciler holds a mutex: a copy is built field by field.
		shapes["Reconciler field"] = reconcilerV{r: Reconciler{Payments: c.Payments}}
	}
	shapes["WebhookVerifier field"] = verifierVal{v: WebhookVerifier{certs: v.certs, client: v.client, topics: v.topics}}
	for name, x := range shapes {
		for _, verb := range fmtVerbs {
			out := fmt.Sprintf(verb, x)
			for _, s := range fmtSecrets {
				for _, form := range secretForms(s) {
					if strings.Contains(out, form) {
						t.Errorf("%s with %s prints %q (form %q of a secret): %.300s", name, verb, s, form, out)
					}
				}
			}
		}
	}
}

// Tests of the answer decoding: decodeInto and the types that read bKash's
// irregular values (Amount, Time, looseTime, flexString). Request bodies
// are pinned byte for byte by the golden tests of each service.

// TestEscapedValuesDecodeLikePlainOnes: a value written with JSON escapes
// decodes exactly like its plain spelling, for amounts, timestamps and
// status codes.
func TestEscapedValuesDecodeLikePlainOnes(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{`"1250.50"`, `"\u0031250.50"`},
		{`" 480 "`, `"\u0020480\u0020"`},
		{`"12.345"`, `"12.34\u0035"`},
		{`"2025-01-01T12:30:00:456 GMT+0600"`, `"2025-01-01T12:30:00:456\u0020GMT+0600"`},
		{`"2025-01-01T12:30:00.456+06:00"`, `"2025-01-01T12:30:00.456\u002B06:00"`},
		{`"20250101123000"`, `"2025010112300\u0030"`},
		{`"0000"`, `"\u0030000"`},
		{`"2062"`, `"\u0032062"`},
	}
	for _, p := range pairs {
		plain, escaped := []byte(p[0]), []byte(p[1])
		var a1, a2 Amount
		e1, e2 := a1.UnmarshalJSON(plain), a2.UnmarshalJSON(escaped)
		if a1 != a2 || fmt.Sprint(e1) != fmt.Sprint(e2) {
			t.Errorf("Amount: %s -> %v, %v; %s -> %v, %v", plain, a1, e1, escaped, a2, e2)
		}
		var t1, t2 Time
		e1, e2 = t1.UnmarshalJSON(plain), t2.UnmarshalJSON(escaped)
		if !t1.Time.Equal(t2.Time) || t1.Raw != t2.Raw || t1.Location().String() != t2.Location().String() || fmt.Sprint(e1) != fmt.Sprint(e2) {
			t.Errorf("Time: %s -> %v, %v; %s -> %v, %v", plain, t1, e1, escaped, t2, e2)
		}
		var f1, f2 flexString
		e1, e2 = f1.UnmarshalJSON(plain), f2.UnmarshalJSON(escaped)
		if f1 != f2 || fmt.Sprint(e1) != fmt.Sprint(e2) {
			t.Errorf("flexString: %s -> %q, %v; %s -> %q, %v", plain, f1, e1, escaped, f2, e2)
		}
	}
}

// answerSeeds are bodies at the edges of what the decoders meet: wrong
// kinds of value, spelling variants, escapes, broken JSON.
var answerSeeds = []string{
	`{}`, `null`, `[]`, `"x"`, `1`, ``, `{`, `{"a":1,}`, `{"a":1}x`,
	`{"PAYMENTID":"A"}`, `{"paymentId":"lower"}`, `{"paymentID":"exact","paymentId":"lower"}`,
	`{"bKashURL":"https://b"}`, `{"refundTrxId":"R","originalTrxId":"O"}`, `{"statuscode":2062}`,
	`{"statusCode":"0000","statusCode":"2023"}`, `{"trxID":"A","trxID":null}`, `{"amount":"1.00","amount":null}`,
	`{"amount":150.5}`, `{"amount":""}`, `{"amount":"abc"}`, `{"amount":true}`, `{"amount":{}}`,
	`{"trxID":123}`, `{"statusCode":0}`, `{"statusCode":true}`, `{"expires_in":3600}`, `{"expires_in":"3600"}`,
	`{"paymentExecuteTime":12345}`, `{"paymentExecuteTime":"01/01/2025 14:00"}`, `{"paymentExecuteTime":""}`,
	`{"statusCode":"2023","statusMessage":"Insufficient Balance","amount":"-1"}`,
	`{"errorCode":"2056","errorMessage":"Invalid Payment State","trxID":{"x":1}}`,
	`{"externalCode":"2071","errorMessageEn":"e","errorMessageBn":"রিফান্ডের সময় শেষ","refundTransactions":7}`,
	`{"message":"Unauthorized"}`, `{"Message":"User is not authorized to access this resource with an explicit deny"}`,
	`{"statusMessage":"\u0041\u00e9\ud83d\ude00"}`, "{\"statusMessage\":\"a\xffb\"}", `{"statusMessage":"a\qb"}`,
	`{"refundTransactions":[null,{}]}`, `{"refundTransactions":[{"refundTrxId":"A","refundAmount":"1.00"},{"refundTrxID":"B"}]}`,
	`{"refundTransactions":[1]}`, `{"refundTransactions":[{"refundAmount":"x"}]}`,
}

// FuzzDecodeAnswer decodes any body into every answer type. Whatever the
// body, the status is read whenever the envelope itself decodes (a payload
// that does not fit must not hide a bKash error), nothing else counts as an
// answer, an error in bKash's shape is never a success, and the conversion
// to the public types does not panic.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil && !strings.Contains(file, "golden") {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want envelope
		envErr := json.Unmarshal(data, &want)
		var (
			token       tokenResponse
			payment     paymentResponse
			transaction transactionResponse
			agreement   agreementWire
			refund      refundWire
			plain       struct {
				PaymentID string `json:"paymentID"`
			}
		)
		for _, out := range []any{&token, &payment, &transaction, &agreement, &refund, &plain, nil} {
			env, err := decodeInto(data, out)
			switch {
			case envErr != nil && (env != nil || err == nil):
				t.Fatalf("%T: %q is no envelope (%v), yet decodeInto gave %+v, %v", out, data, envErr, env, err)
			case envErr == nil && env == nil:
				t.Fatalf("%T: the envelope of %q decodes, yet decodeInto lost it (%v)", out, data, err)
			case envErr == nil && *env != want:
				t.Fatalf("%T: decodeInto read the status of %q as %+v, want %+v", out, data, *env, want)
			case err == nil && !json.Valid(data):
				t.Fatalf("%T: invalid JSON %q decoded without error", out, data)
			}
			if env != nil && env.bkashError() != nil && !env.failed() {
				t.Fatalf("%T: bKash error %v in %q, yet not failed", out, env.bkashError(), data)
			}
		}
		payment.payment()
		transaction.transaction()
		agreement.agreement()
		refund.status("T")
		refundFrom(&refund.refundFields, "", 0, "")
	})
}

// FuzzWireValue puts any string into each of bKash's irregular values, as
// encoding/json hands it to them inside an answer: an amount is "" or
// ParseAmount's decimal text, a timestamp is blank or one of ParseTime's
// forms, a cosmetic timestamp never fails its answer and keeps the text,
// and a code is the text itself. A JSON number is read as its digits.
func FuzzWireValue(f *testing.F) {
	for _, s := range []string{"1250.50", "", " ", "480", "-1", "1e3", "12.345", "2025-01-01T12:30:00:456 GMT+0600",
		"20250101123000", "2021-05-19T08:40:46.447Z", "13/02/2025 18:30", "0000", "2062", "টাকা", "a\x00b", "\xff"} {
		f.Add(s)
	}
	type values struct {
		Code   flexString `json:"code"`
		Amount Amount     `json:"amount"`
		Time   Time       `json:"time"`
		Loose  looseTime  `json:"loose"`
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, _ := json.Marshal(s)
		var text string
		_ = json.Unmarshal(q, &text) // s as a JSON string carries it (invalid UTF-8 replaced)

		var v values
		err := json.Unmarshal([]byte(`{"code":`+string(q)+`}`), &v)
		if err != nil || string(v.Code) != text {
			t.Fatalf("code %s = %q, %v; want %q", q, v.Code, err, text)
		}

		v = values{}
		err = json.Unmarshal([]byte(`{"amount":`+string(q)+`}`), &v)
		want, perr := ParseAmount(text)
		if text == "" {
			want, perr = 0, nil
		}
		if (err == nil) != (perr == nil) || err == nil && v.Amount != want {
			t.Fatalf("amount %s = %v, %v; ParseAmount gives %v, %v", q, v.Amount, err, want, perr)
		}

		v = values{}
		err = json.Unmarshal([]byte(`{"time":`+string(q)+`}`), &v)
		wantT, terr := ParseTime(text)
		if strings.TrimSpace(text) == "" {
			wantT, terr = Time{}, nil
		}
		if (err == nil) != (terr == nil) || err == nil && (v.Time.Raw != wantT.Raw || !v.Time.Time.Equal(wantT.Time)) {
			t.Fatalf("time %s = %v, %v; ParseTime gives %v, %v", q, v.Time, err, wantT, terr)
		}

		v = values{}
		if err := json.Unmarshal([]byte(`{"loose":`+string(q)+`}`), &v); err != nil {
			t.Fatalf("loose time %s failed its answer: %v", q, err)
		}
		if strings.TrimSpace(text) != "" && v.Loose.Raw != text {
			t.Fatalf("loose time %s kept %q", q, v.Loose.Raw)
		}

		// s itself as a JSON value: a number is read as its digits, and
		// nothing fails a cosmetic timestamp.
		if !json.Valid([]byte(s)) {
			return
		}
		v = values{}
		if err := json.Unmarshal([]byte(`{"loose":`+s+`}`), &v); err != nil {
			t.Fatalf("loose time %s failed its answer: %v", s, err)
		}
		num := strings.TrimSpace(s)
		if num[0] != '-' && (num[0] < '0' || num[0] > '9') {
			return // not a number
		}
		v = values{}
		if err := json.Unmarshal([]byte(`{"code":`+s+`}`), &v); err != nil || string(v.Code) != num {
			t.Fatalf("code %s = %q, %v", s, v.Code, err)
		}
		v = values{}
		err = json.Unmarshal([]byte(`{"amount":`+s+`}`), &v)
		want, perr = ParseAmount(num)
		if (err == nil) != (perr == nil) || err == nil && v.Amount != want {
			t.Fatalf("amount %s = %v, %v; ParseAmount gives %v, %v", s, v.Amount, err, want, perr)
		}
	})
}

// TestOnlyReadsAndCancelsCarryGetBody: for every endpoint, and for the
// grant and the refresh, whether the request the RoundTripper gets can be
// rewound by net/http (GetBody). A read or a cancel may be sent again
// harmlessly; a create, a money call, a grant or a refresh must never be
// sent again below the SDK (a second payment, a second refund, a request
// the renewal budget did not count).
func TestOnlyReadsAndCancelsCarryGetBody(t *testing.T) {
	t.Parallel()
	type sent struct {
		path    string
		getBody bool
	}
	var mu sync.Mutex
	var reqs []sent
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body := `{"statusCode":"0000","statusMessage":"Successful"}`
		if strings.Contains(r.URL.Path, "/token/") {
			body = `{"statusCode":"0000","statusMessage":"Successful","id_token":"eyJ-ID","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJ-RF"}`
		}
		mu.Lock()
		reqs = append(reqs, sent{r.URL.Path, r.GetBody != nil})
		mu.Unlock()
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})
	c, err := NewClient(Sandbox, coreCreds, WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	clk := newCoreClock()
	setTokenClock(c, clk.Now)
	tokens := 0
	for _, ep := range []*endpoint{epPaymentCreate, epPaymentExecute, epPaymentQuery, epPaymentSearch, epPaymentCapture, epPaymentVoid,
		epAgreementCreate, epAgreementExecute, epAgreementQuery, epAgreementCancel, epRefundV1, epRefundStatusV1, epRefundV2, epRefundStatusV2} {
		mu.Lock()
		reqs = nil
		mu.Unlock()
		var out map[string]any
		_ = c.do(context.Background(), ep, map[string]string{"paymentID": "TR1"}, &out)
		mu.Lock()
		for _, r := range reqs {
			want := ep.class == classRead || ep.class == classCancel
			if strings.Contains(r.path, "/token/") {
				want = false
				tokens++
			}
			if r.getBody != want {
				t.Errorf("%s: request to %s carries GetBody %v, want %v", ep.op, r.path, r.getBody, want)
			}
		}
		mu.Unlock()
		if ep == epPaymentQuery {
			clk.Advance(2 * time.Hour) // the next call refreshes the token
		}
	}
	if tokens != 2 {
		t.Errorf("saw %d grant/refresh requests, want 2 (a grant, then a refresh)", tokens)
	}
}
