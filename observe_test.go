package bkash

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ctxKey marks contexts in the observer tests.
type ctxKey string

// startObserver records events and starts a "span" (a context value naming
// the call or renewal) for every call and renewal, like a tracing adapter.
type startObserver struct {
	coreObserver
	mu     sync.Mutex
	starts []string
}

func (o *startObserver) StartCall(ctx context.Context, ci CallInfo) context.Context {
	o.mu.Lock()
	o.starts = append(o.starts, "call "+ci.Op+" "+ci.Class+" "+ci.RefKind+"="+ci.Ref+" "+ci.URL)
	o.mu.Unlock()
	return context.WithValue(ctx, ctxKey("span"), path(ctx)+"/"+ci.Op)
}

func (o *startObserver) StartTokenRenewal(ctx context.Context, kind string) context.Context {
	o.mu.Lock()
	o.starts = append(o.starts, "renewal "+kind)
	o.mu.Unlock()
	return context.WithValue(ctx, ctxKey("span"), path(ctx)+"/renew-"+kind)
}

// path is the chain of "spans" in ctx, after the caller's own marker.
func path(ctx context.Context) string {
	s, _ := ctx.Value(ctxKey("span")).(string)
	return s
}

func TestAttemptEventsNameTheCallAndEndWithItsOutcome(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(n int, r coreReq) (*http.Response, error) {
		if n == 1 {
			return coreJSON(503, `{"message":"Service Unavailable"}`), nil
		}
		return coreOK(n, r)
	})
	obs := &coreObserver{}
	c := m.client(WithObserver(obs))
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey("caller"), "checkout-42"), time.Hour)
	defer cancel()
	start := time.Now()
	if _, err := c.Payments.Query(ctx, "TR0011abc"); err != nil {
		t.Fatal(err)
	}
	type ev struct {
		Op, Class, RefKind, Ref, URL string
		Attempt, HTTPStatus          int
		Outcome                      Outcome
		Caller                       any
	}
	var got []ev
	for _, e := range obs.attempts {
		got = append(got, ev{e.Op, e.Class, e.RefKind, e.Ref, e.URL, e.Attempt, e.HTTPStatus, e.Outcome, e.Context().Value(ctxKey("caller"))})
	}
	want := []ev{
		{"token.grant", "read", "", "", coreRoot + epGrant.path, 1, 200, OutcomeOK, "checkout-42"},
		{"payment.query", "read", "paymentID", "TR0011abc", coreRoot + epPaymentQuery.path, 1, 503, 0, "checkout-42"},
		{"payment.query", "read", "paymentID", "TR0011abc", coreRoot + epPaymentQuery.path, 2, 200, OutcomeOK, "checkout-42"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	last, first := obs.attempts[2], obs.attempts[1]
	if last.Attempts != 2 || first.Attempts != 0 {
		t.Errorf("Attempts = %d on the last event, %d on the first; want 2, 0", last.Attempts, first.Attempts)
	}
	if last.CallErr != nil || last.CallDuration < last.Duration+first.Duration || last.CallDuration <= 0 {
		t.Errorf("last event: CallErr %v, CallDuration %v (attempts %v + %v)", last.CallErr, last.CallDuration, first.Duration, last.Duration)
	}
	if !first.Start.After(start) || !last.Start.After(first.Start) || last.Start.Add(last.Duration).After(time.Now()) {
		t.Errorf("attempt starts %v (+%v) and %v (+%v) are not ordered within the call begun at %v", first.Start, first.Duration, last.Start, last.Duration, start)
	}
	if first.CallDuration != 0 || first.CallErr != nil || first.Request != "" {
		t.Errorf("an attempt that is not the last carries the call's summary: %+v", first)
	}
	if last.Request != "" || last.Response != "" {
		t.Errorf("bodies without WithBodyLogging: %q, %q", last.Request, last.Response)
	}
	renewal := obs.renewals[0]
	if renewal.Context().Value(ctxKey("caller")) != "checkout-42" {
		t.Errorf("the renewal's context lost the caller's values")
	}
	// Detached from the caller's deadline: it has its own, shorter one.
	if d, ok := renewal.Context().Deadline(); !ok || time.Until(d) > renewTimeout {
		t.Errorf("the renewal's deadline is %v (set %t), want its own %v", time.Until(d), ok, renewTimeout)
	}
}

func TestLastEventCarriesTheOutcomeOfTheCallsError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ep      *endpoint
		answer  coreResponder
		outcome Outcome
		code    ErrorCode
		status  int
	}{
		{"ok", epPaymentQuery, coreOK, OutcomeOK, "", 200},
		{"bKash refuses", epPaymentExecute, func(int, coreReq) (*http.Response, error) {
			return coreJSON(200, `{"statusCode":"2023","statusMessage":"Insufficient Balance"}`), nil
		}, OutcomeRefused, "2023", 200},
		{"money call dropped after sending", epPaymentExecute, func(int, coreReq) (*http.Response, error) {
			return nil, errors.New("connection reset by peer")
		}, OutcomeUnknown, "", 0},
		{"read runs out of attempts", epPaymentQuery, func(int, coreReq) (*http.Response, error) {
			return nil, errors.New("connection reset by peer")
		}, OutcomeFailed, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newCoreMock(t)
			m.on(tt.ep, tt.answer)
			obs := &coreObserver{}
			c := m.client(WithObserver(obs))
			err := c.do(context.Background(), tt.ep, paymentIDRequest{"TR0011abc"}, &coreQueryOut{})
			if got := OutcomeOf(err); got != tt.outcome {
				t.Fatalf("OutcomeOf(%v) = %v, want %v", err, got, tt.outcome)
			}
			last := obs.attempts[len(obs.attempts)-1]
			if last.Op != tt.ep.op || last.Outcome != tt.outcome || last.Code != tt.code || last.HTTPStatus != tt.status || !errors.Is(last.CallErr, err) {
				t.Errorf("last event = %+v; want op %s, outcome %v, code %q, status %d, CallErr %v", last, tt.ep.op, tt.outcome, tt.code, tt.status, err)
			}
			if (last.Err != nil) != (tt.status == 0) {
				t.Errorf("transport error %v on an attempt with status %d", last.Err, tt.status)
			}
			for _, e := range obs.attempts[1 : len(obs.attempts)-1] {
				if e.Outcome != 0 {
					t.Errorf("attempt %d is not the last but has outcome %v", e.Attempt, e.Outcome)
				}
			}
		})
	}
}

func TestOutcomeOf(t *testing.T) {
	t.Parallel()
	unknown := &OutcomeUnknownError{Op: "payment.execute", Attempts: 1, Err: errors.New("timeout")}
	tests := []struct {
		err  error
		want Outcome
	}{
		{nil, OutcomeOK},
		{&APIError{Code: CodeInsufficientBalance}, OutcomeRefused},
		{fmt.Errorf("wrapped: %w", &APIError{Code: CodeInvalidPaymentID}), OutcomeRefused},
		{&ValidationError{Field: "Amount", Reason: "must be positive"}, OutcomeRefused},
		{unknown, OutcomeUnknown},
		// An unknown outcome that also carries bKash's transient code is
		// unknown, not refused.
		{&OutcomeUnknownError{Op: "payment.execute", Err: &APIError{Code: "9999"}}, OutcomeUnknown},
		{ErrTokenBudgetExceeded, OutcomeFailed},
		{context.Canceled, OutcomeFailed},
	}
	for _, tt := range tests {
		if got := OutcomeOf(tt.err); got != tt.want {
			t.Errorf("OutcomeOf(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	names := map[Outcome]string{0: "none", OutcomeOK: "ok", OutcomeRefused: "refused", OutcomeUnknown: "unknown", OutcomeFailed: "failed", 9: "Outcome(9)"}
	for o, want := range names {
		if o.String() != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", uint8(o), o.String(), want)
		}
	}
	b, err := json.Marshal(struct{ O Outcome }{OutcomeUnknown})
	if err != nil || string(b) != `{"O":"unknown"}` {
		t.Errorf("JSON = %s, %v", b, err)
	}
}

func TestStartObserverNestsRenewalAndGrantUnderTheCall(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentExecute, func(int, coreReq) (*http.Response, error) {
		return coreJSON(200, `{"statusCode":"0000","statusMessage":"Successful","paymentID":"TR0011abc","trxID":"CE30X4","transactionStatus":"Completed"}`), nil
	})
	obs := &startObserver{}
	c := m.client(WithObserver(obs))
	ctx := context.WithValue(context.Background(), ctxKey("span"), "caller")
	if _, err := c.Payments.Execute(ctx, "TR0011abc"); err != nil {
		t.Fatal(err)
	}
	wantStarts := []string{
		"call payment.execute money paymentID=TR0011abc " + coreRoot + epPaymentExecute.path,
		"renewal grant",
		"call token.grant read = " + coreRoot + epGrant.path,
	}
	if diff := cmp.Diff(wantStarts, obs.starts); diff != "" {
		t.Errorf("starts (-want +got):\n%s", diff)
	}
	var got []string
	for _, e := range obs.attempts {
		got = append(got, e.Op+" in "+path(e.Context()))
	}
	for _, e := range obs.renewals {
		got = append(got, "renewal "+e.Kind+" in "+path(e.Context()))
	}
	want := []string{
		"token.grant in caller/payment.execute/renew-grant/token.grant",
		"payment.execute in caller/payment.execute",
		"renewal grant in caller/payment.execute/renew-grant",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event contexts (-want +got):\n%s", diff)
	}
}

func TestACallWithoutAnAttemptStillEndsWithAnEvent(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	obs := &startObserver{}
	clk := newCoreClock()
	c := m.client(WithObserver(obs), WithTokenRenewalBudget(1))
	c.tokens.now = clk.Now
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	c.tokens.reject(c.tokens.current()) // the next call must renew: budget spent
	_, err := coreQuery(context.Background(), c)
	if !errors.Is(err, ErrTokenBudgetExceeded) {
		t.Fatalf("err = %v, want the budget refusal", err)
	}
	last := obs.attempts[len(obs.attempts)-1]
	if last.Op != "payment.query" || last.Attempt != 0 || last.HTTPStatus != 0 || last.Outcome != OutcomeFailed || !errors.Is(last.CallErr, ErrTokenBudgetExceeded) {
		t.Errorf("last event = %+v, want payment.query, attempt 0, failed with the budget error", last)
	}
	refusal := obs.renewals[len(obs.renewals)-1]
	if refusal.Kind != "refresh" || !errors.Is(refusal.Err, ErrTokenBudgetExceeded) || refusal.Duration != 0 {
		t.Errorf("renewal event = %+v, want a refresh refused by the budget", refusal)
	}
	if got := obs.starts[len(obs.starts)-1]; got != "renewal refresh" {
		t.Errorf("last start = %q: the refused renewal was not started (its span would never end)", got)
	}
	if m.sent(epRefresh) != 0 {
		t.Errorf("a refresh was sent")
	}
	// A plain Observer gets the same event.
	plain := &coreObserver{}
	c2 := m.client(WithObserver(plain), WithTokenRenewalBudget(1))
	c2.tokens.now = clk.Now
	_, _ = coreQuery(context.Background(), c2)
	c2.tokens.reject(c2.tokens.current())
	_, _ = coreQuery(context.Background(), c2)
	if last := plain.attempts[len(plain.attempts)-1]; last.Attempt != 0 || last.Outcome != OutcomeFailed {
		t.Errorf("plain observer's last event = %+v", last)
	}
}

func TestEventBodiesOnlyWithBodyLoggingAndRedacted(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	obs := &coreObserver{}
	c := m.client(WithObserver(obs), WithBodyLogging())
	if _, err := c.Payments.Query(context.Background(), "TR0011abc"); err != nil {
		t.Fatal(err)
	}
	grant, query := obs.attempts[0], obs.attempts[1]
	if grant.Op != "token.grant" || query.Op != "payment.query" {
		t.Fatalf("events: %+v", obs.attempts)
	}
	if want := `{"app_key":"appkey-0f3a","app_secret":"[REDACTED]"}`; grant.Request != want {
		t.Errorf("grant request = %s, want %s", grant.Request, want)
	}
	for _, s := range []string{`"id_token":"[REDACTED]"`, `"refresh_token":"[REDACTED]"`, `"statusCode":"0000"`} {
		if !strings.Contains(grant.Response, s) {
			t.Errorf("grant response %s lacks %s", grant.Response, s)
		}
	}
	if want := `{"paymentID":"TR0011abc"}`; query.Request != want {
		t.Errorf("query request = %s, want %s", query.Request, want)
	}
	if !strings.Contains(query.Response, `"customerMsisdn":"017****8575"`) || !strings.Contains(query.Response, `"paymentID":"TR0011abc"`) {
		t.Errorf("query response = %s, want the masked wallet and the paymentID", query.Response)
	}
	all := fmt.Sprintf("%+v %+v", obs.attempts, obs.renewals)
	for _, secret := range []string{string(coreCreds.AppSecret), string(coreCreds.Password), "eyJ-ID1-tok", "eyJ-RF1-tok", "01770618575"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q appears in the events", secret)
		}
	}
}

func TestLegacyObserverStillSeesEveryAttempt(t *testing.T) {
	t.Parallel()
	// A pre-context Observer compiles and gets its events unchanged; the
	// context is there when it asks.
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	var obs Observer = &coreObserver{}
	c := m.client(WithObserver(obs))
	_, _ = coreQuery(context.Background(), c)
	got := obs.(*coreObserver)
	if len(got.attempts) != 2 || got.attempts[1].Attempt != 1 || got.attempts[1].Context() == nil || (AttemptEvent{}).Context() == nil || (TokenRenewalEvent{}).Context() == nil {
		t.Errorf("events = %+v", got.attempts)
	}
}

func TestTheLastEventCountsTheAttemptsBeforeAFailedReplay(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, func(n int, r coreReq) (*http.Response, error) {
		if n == 2 {
			return coreJSON(401, `{"message":"Unauthorized"}`), nil
		}
		return coreOK(n, r)
	})
	obs := &coreObserver{}
	clk := newCoreClock()
	c := m.client(WithObserver(obs), WithTokenRenewalBudget(1))
	c.tokens.now = clk.Now
	if _, err := coreQuery(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	// The token is refused; renewing it is over budget, so the replay
	// never happens.
	if _, err := coreQuery(context.Background(), c); !errors.Is(err, ErrTokenBudgetExceeded) {
		t.Fatalf("err = %v, want the budget refusal", err)
	}
	n := len(obs.attempts)
	refused, last := obs.attempts[n-2], obs.attempts[n-1]
	if refused.Attempt != 1 || refused.HTTPStatus != 401 || refused.Outcome != 0 {
		t.Errorf("the refused attempt = %+v", refused)
	}
	if last.Attempt != 0 || last.Attempts != 1 || last.HTTPStatus != 0 || last.Outcome != OutcomeFailed {
		t.Errorf("last event = %+v, want no attempt of its own, 1 attempt made, failed", last)
	}
}

func TestSeveralObserversEachSeeEveryEvent(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	m.on(epPaymentQuery, coreOK)
	audit, tracer, third := &coreObserver{}, &startObserver{}, &coreObserver{}
	c := m.client(WithObserver(audit), WithObserver(tracer), WithObserver(third))
	ctx := context.WithValue(context.Background(), ctxKey("span"), "caller")
	if _, err := c.Payments.Query(ctx, "TR0011abc"); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]*coreObserver{"first": audit, "second": &tracer.coreObserver, "third": third} {
		var got []string
		for _, e := range o.attempts {
			got = append(got, e.Op+" in "+path(e.Context()))
		}
		for _, e := range o.renewals {
			got = append(got, "renewal "+e.Kind+" in "+path(e.Context()))
		}
		// Every observer sees the contexts the StartObserver among them made.
		want := []string{
			"token.grant in caller/payment.query/renew-grant/token.grant",
			"payment.query in caller/payment.query",
			"renewal grant in caller/payment.query/renew-grant",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s observer (-want +got):\n%s", name, diff)
		}
	}
	if len(tracer.starts) != 3 {
		t.Errorf("starts = %q", tracer.starts)
	}
}
