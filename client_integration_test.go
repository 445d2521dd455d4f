package bkash_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// Integration tests of client.go, the pipeline every call goes through: the
// token a call carries and its renewal, which calls are retried or replayed,
// and what may reach an error or a log line (harness: harness_test.go).

func TestIntegrationTokenExpiryAndRenewal(t *testing.T) {
	t.Parallel()
	clock := bkashtest.NewClock(time.Now())
	srv, client := newIntegration(t, []bkashtest.Option{bkashtest.WithClock(clock.Now)})
	ctx := context.Background()
	p, err := client.Payments.Create(ctx, saleParams(bkash.Taka(10), bkash.IntentSale))
	if err != nil {
		t.Fatal(err)
	}
	// The fake's hour passes; the client still believes in its token.
	clock.Advance(61 * time.Minute)
	if _, err := client.Payments.Query(ctx, p.PaymentID); err != nil {
		t.Fatalf("Query after the token expired: %v (the client must renew and replay)", err)
	}
	renewals := srv.Applied("token.grant") + srv.Applied("token.refresh")
	if renewals != 2 || srv.Received("payment.query") != 2 || srv.Applied("payment.query") != 1 {
		t.Errorf("grants %d, refreshes %d, queries received %d applied %d",
			srv.Grants(), srv.Applied("token.refresh"), srv.Received("payment.query"), srv.Applied("payment.query"))
	}

	// A third renewal within the hour is refused by the client, not sent.
	srv.ExpireTokens()
	_, err = client.Payments.Query(ctx, p.PaymentID)
	if !errors.Is(err, bkash.ErrTokenBudgetExceeded) {
		t.Errorf("a third renewal: %v, want ErrTokenBudgetExceeded", err)
	}
	if got := srv.Applied("token.grant") + srv.Applied("token.refresh"); got != 2 {
		t.Errorf("%d renewals reached the server, want 2", got)
	}
}

func TestIntegrationGatewayRejectionIsReplayedOnce(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()
	p := approved(t, srv, client, saleParams(bkash.Taka(10), bkash.IntentSale))
	// A money call rejected at the gateway was never processed: the client
	// renews its token and replays it once.
	srv.Inject("payment.execute", bkashtest.Fault{HTTPStatus: http.StatusUnauthorized})
	if e, err := client.Payments.Execute(ctx, p.PaymentID); err != nil || e.Status != bkash.StatusCompleted {
		t.Errorf("Execute after a 401: %+v, %v", e, err)
	}
	if srv.Received("payment.execute") != 2 || srv.Applied("payment.execute") != 1 {
		t.Errorf("execute received %d, applied %d", srv.Received("payment.execute"), srv.Applied("payment.execute"))
	}
}

func TestIntegrationWrongCredentials(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	creds := srv.Credentials()
	creds.Password = "wrong"
	client, err := bkash.NewClient(bkash.Sandbox, creds, bkash.WithBaseURL(srv.URL), bkash.WithRetryPolicy(fastRetries))
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Payments.Query(context.Background(), "TR0011x")
	if !errors.Is(err, bkash.CodeSystemError) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: %v", err)
	}
	if srv.Grants() != 0 || srv.Received("payment.query") != 0 {
		t.Errorf("grants %d, queries %d", srv.Grants(), srv.Received("payment.query"))
	}
}

func TestIntegrationReadsAndCreatesRetry(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()
	p := approved(t, srv, client, saleParams(bkash.Taka(10), bkash.IntentSale))

	srv.Inject("payment.query", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, Times: 2})
	if _, err := client.Payments.Query(ctx, p.PaymentID); err != nil {
		t.Errorf("Query through two 503s: %v", err)
	}
	if srv.Received("payment.query") != 3 {
		t.Errorf("query received %d times, want 3", srv.Received("payment.query"))
	}

	srv.Inject("payment.query", bkashtest.Fault{Drop: true})
	if _, err := client.Payments.Query(ctx, p.PaymentID); err != nil {
		t.Errorf("Query through a dropped connection: %v", err)
	}

	srv.Inject("payment.query", bkashtest.Fault{Code: "2003"})
	_, err := client.Payments.Query(ctx, p.PaymentID)
	wantAPIError(t, "query answered 2003", err, bkash.CodeProcessFailed)

	// create: a 503 without Retry-After is not retried; with it, it is.
	before := srv.Received("payment.create")
	srv.Inject("payment.create", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable})
	if _, err := client.Payments.Create(ctx, saleParams(bkash.Taka(10), bkash.IntentSale)); err == nil {
		t.Error("Create through a 503 without Retry-After succeeded")
	}
	srv.Inject("payment.create", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, RetryAfter: time.Second})
	if _, err := client.Payments.Create(ctx, saleParams(bkash.Taka(10), bkash.IntentSale)); err != nil {
		t.Errorf("Create through a 503 with Retry-After: %v", err)
	}
	if got := srv.Received("payment.create") - before; got != 3 {
		t.Errorf("creates received %d, want 1 + 2", got)
	}

	// An agreement cancel is retried like a read.
	ag, err := client.Agreements.Create(ctx, &bkash.CreateAgreementParams{PayerReference: fakeWallet, CallbackURL: shopCallback})
	if err != nil {
		t.Fatal(err)
	}
	_ = srv.Approve(ag.PaymentID, fakeWallet)
	done, err := client.Agreements.Execute(ctx, ag.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject("agreement.cancel", bkashtest.Fault{HTTPStatus: http.StatusBadGateway})
	if c, err := client.Agreements.Cancel(ctx, done.AgreementID); err != nil || c.Status != bkash.AgreementCancelled {
		t.Errorf("Cancel through a 502: %+v, %v", c, err)
	}
}

func TestIntegrationConcurrentCheckoutsShareOneToken(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			ctx := context.Background()
			p, err := client.Payments.Create(ctx, saleParams(bkash.Taka(5), bkash.IntentSale))
			if err == nil {
				err = srv.Approve(p.PaymentID, fakeWallet)
			}
			if err == nil {
				_, err = client.Payments.Finalize(ctx, p.PaymentID)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if srv.Grants() != 1 || srv.Applied("payment.execute") != n {
		t.Errorf("grants %d, executes %d", srv.Grants(), srv.Applied("payment.execute"))
	}
}

// TestEchoedSecretsReachNoErrorOrLog: a server (or a proxy in front of it)
// that echoes the id_token or the app secret inside a message must not put
// them into the error string, the debug log or the observer's bodies: the
// key-based body redaction cannot see a secret inside statusMessage.
func TestEchoedSecretsReachNoErrorOrLog(t *testing.T) {
	t.Parallel()
	const (
		idToken   = "eyJ-ECHOED-ID-TOKEN-7f3a"
		refresh   = "ECHOED-REFRESH-9c1d"
		appSecret = "ECHOED-APP-SECRET-42ab"
		password  = "ECHOED-PASSWORD-55e0"
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/token/grant") {
			fmt.Fprintf(w, `{"statusCode":"0000","statusMessage":"Successful","id_token":%q,"token_type":"Bearer","expires_in":3600,"refresh_token":%q}`, idToken, refresh)
			return
		}
		fmt.Fprintf(w, `{"statusCode":"2079","statusMessage":"Invalid Token %s for app_secret %s password %s refresh %s"}`, idToken, appSecret, password, refresh)
	}))
	defer srv.Close()

	var logs bytes.Buffer
	var bodies []string
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
		Username: "echo-user", Password: password, AppKey: "echo-key", AppSecret: appSecret,
	},
		bkash.WithBaseURL(srv.URL),
		bkash.WithHTTPClient(srv.Client()),
		bkash.WithBodyLogging(),
		bkash.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		bkash.WithObserver(observerFunc(func(ev bkash.AttemptEvent) { bodies = append(bodies, ev.Request, ev.Response) })),
	)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Payments.Query(context.Background(), "TR0011echo")
	if err == nil {
		t.Fatal("query answered 2079 succeeded")
	}
	seen := err.Error() + fmt.Sprintf(" %+v %#v ", err, err) + logs.String() + strings.Join(bodies, " ")
	for _, s := range []string{idToken, refresh, appSecret, password} {
		if strings.Contains(seen, s) {
			t.Errorf("%s reached the error, the log or the observer:\nerror: %v\nlog: %s", s, err, logs.String())
		}
	}
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("error %q does not show where the secret was", err)
	}
}

// observerFunc adapts a function to bkash.Observer: the function sees every
// attempt; token renewals are ignored.
type observerFunc func(bkash.AttemptEvent)

func (f observerFunc) ObserveAttempt(ev bkash.AttemptEvent) { f(ev) }

func (f observerFunc) ObserveTokenRenewal(bkash.TokenRenewalEvent) {}

// HTTP/1.1: a connection closed after the request was read. The HTTP/2
// resets, with the server they need, are in client_h2_test.go.

// TestHTTP1ClosedAfterBodyNeverResendsMoney: a server (or a NAT, a load
// balancer) that reads a whole money request on a reused keep-alive
// connection and then closes it without answering. net/http re-sends a
// request by itself on a reused connection when it thinks the request was
// not processed; a money call must reach the server once, and its outcome
// is unknown. Both the SDK's default client and a user's *http.Transport.
func TestHTTP1ClosedAfterBodyNeverResendsMoney(t *testing.T) {
	t.Parallel()
	ops := []struct {
		name string
		path string
		call func(context.Context, *bkash.Client) error
	}{
		{"execute", "/execute", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Payments.Execute(ctx, loopbackPaymentID)
			return err
		}},
		{"capture", "/capture", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Payments.Capture(ctx, loopbackPaymentID)
			return err
		}},
		{"void", "/void", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Payments.Void(ctx, loopbackPaymentID)
			return err
		}},
		{"agreement execute", "/execute", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Agreements.Execute(ctx, loopbackPaymentID)
			return err
		}},
	}
	for _, op := range ops {
		for _, userTransport := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/userTransport=%v", op.name, userTransport), func(t *testing.T) {
				t.Parallel()
				var mu sync.Mutex
				money := 0
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					switch {
					case strings.HasSuffix(r.URL.Path, "/token/grant"):
						_, _ = fmt.Fprint(w, loopbackGrantAnswer)
					case strings.HasSuffix(r.URL.Path, op.path):
						_, _ = io.ReadAll(r.Body)
						mu.Lock()
						money++
						mu.Unlock()
						conn, _, err := http.NewResponseController(w).Hijack()
						if err != nil {
							t.Error(err)
							return
						}
						conn.Close()
					default:
						_, _ = fmt.Fprint(w, loopbackQueryAnswer)
					}
				}))
				t.Cleanup(srv.Close)
				opts := []bkash.Option{bkash.WithBaseURL(srv.URL)}
				if userTransport {
					opts = append(opts, bkash.WithHTTPClient(&http.Client{Transport: &http.Transport{}}))
				}
				c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
					Username: "h1", Password: "pw", AppKey: "app-key", AppSecret: "app-secret",
				}, opts...)
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				// Warm the connection so the money call goes out on a reused one.
				if _, err := c.Payments.Query(ctx, loopbackPaymentID); err != nil {
					t.Fatal(err)
				}
				err = op.call(ctx, c)
				if !errors.Is(err, bkash.ErrOutcomeUnknown) {
					t.Errorf("err = %v, want an unknown outcome", err)
				}
				mu.Lock()
				defer mu.Unlock()
				if money != 1 {
					t.Errorf("%s reached the server %d times, want 1", op.name, money)
				}
			})
		}
	}
}

// The loopback server's answers and the payment the calls name.
const (
	loopbackPaymentID   = "TR0011Hk2Lm9P1735713000456"
	loopbackGrantAnswer = `{"statusCode":"0000","statusMessage":"Successful","id_token":"eyJraWQiOiJFWEFNUExFIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.ZXhhbXBsZQ.aXY.Y2lwaGVy.dGFn"}`
	loopbackQueryAnswer = `{"paymentID":"TR0011Hk2Lm9P1735713000456","mode":"0011","paymentCreateTime":"2025-01-01T12:30:00:456 GMT+0600","paymentExecuteTime":"2025-01-01T12:31:10:222 GMT+0600","amount":"150.50","currency":"BDT","intent":"sale","merchantInvoice":"A-1001-1","trxID":"CLA7K2M9QZ","transactionStatus":"Completed","verificationStatus":"Complete","statusCode":"0000","statusMessage":"Successful","payerReference":"01770618575"}`
)

// abandoningTimeout is a timeout a user might wrap around a transport: it
// runs the request on a goroutine and gives up on it after d. The request
// it gave up on is not cancelled: the inner transport goes on dialing and
// sends it when the connection is up. The RoundTripper contract allows
// this (RoundTrip may close the body "in a separate goroutine even after
// RoundTrip returns").
type abandoningTimeout struct {
	rt http.RoundTripper
	d  time.Duration
}

func (a abandoningTimeout) RoundTrip(r *http.Request) (*http.Response, error) {
	type result struct {
		resp *http.Response
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		resp, err := a.rt.RoundTrip(r)
		ch <- result{resp, err}
	}()
	select {
	case res := <-ch:
		return res.resp, res.err
	case <-time.After(a.d):
		return nil, errors.New("timeout wrapper: gave up waiting")
	}
}

// TestRoundTripperThatReturnsBeforeItIsDoneWithTheBodyNeverResendsMoney:
// behind a slow dial, a wrapper returns an error while its request is still
// on its way. That request was not sent yet, but it would be once the dial
// completes: the retry must be the only request that can reach the server,
// and "not sent" must be true. Before, the abandoned requests went out
// after the call had retried: three executes reached the server and the
// call reported "not sent after 3 attempt(s)".
func TestRoundTripperThatReturnsBeforeItIsDoneWithTheBodyNeverResendsMoney(t *testing.T) {
	t.Parallel()
	var money atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // headers without a whole body: nothing to execute
		}
		if strings.HasSuffix(r.URL.Path, "/token/grant") {
			_, _ = fmt.Fprint(w, loopbackGrantAnswer)
			return
		}
		if !strings.Contains(string(body), loopbackPaymentID) {
			t.Errorf("execute body = %q", body)
		}
		money.Add(1)
		_, _ = fmt.Fprint(w, loopbackQueryAnswer)
	}))
	t.Cleanup(srv.Close)
	var dialSlowly atomic.Bool
	slow := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dialSlowly.Load() {
			time.Sleep(100 * time.Millisecond)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(slow.CloseIdleConnections)
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
		Username: "u", Password: "pw", AppKey: "app-key", AppSecret: "app-secret",
	}, bkash.WithBaseURL(srv.URL), bkash.WithRetryPolicy(fastRetries),
		bkash.WithHTTPClient(&http.Client{Transport: abandoningTimeout{slow, 30 * time.Millisecond}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	slow.CloseIdleConnections() // the execute dials anew, slowly
	dialSlowly.Store(true)
	_, err = c.Payments.Execute(context.Background(), loopbackPaymentID)
	time.Sleep(300 * time.Millisecond) // let every abandoned request land
	n := money.Load()
	switch {
	case err == nil && n != 1:
		t.Errorf("execute succeeded and reached the server %d times, want 1", n)
	case errors.Is(err, bkash.ErrOutcomeUnknown) && n > 1:
		t.Errorf("execute reached the server %d times, want at most 1 (err = %v)", n, err)
	case err != nil && !errors.Is(err, bkash.ErrOutcomeUnknown) && n != 0:
		t.Errorf("err = %v, which says nothing was sent, but execute reached the server %d times", err, n)
	}
}

// bodyObserver keeps the bodies of every call's last event.
type bodyObserver struct {
	mu     sync.Mutex
	bodies []string
}

func (o *bodyObserver) ObserveAttempt(e bkash.AttemptEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bodies = append(o.bodies, e.Request, e.Response)
}

func (o *bodyObserver) ObserveTokenRenewal(bkash.TokenRenewalEvent) {}

// attrRecorder is a slog handler that keeps every attribute's value as
// text, unquoted, so that the test sees what a handler is given.
type attrRecorder struct {
	mu     *sync.Mutex
	values *[]string
}

func (h attrRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h attrRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.values = append(*h.values, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		*h.values = append(*h.values, a.Value.String())
		return true
	})
	return nil
}
func (h attrRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h attrRecorder) WithGroup(string) slog.Handler      { return h }

// TestSecretEchoedWithJSONEscapesIsScrubbedFromLoggedBodies: a server that
// echoes the password in an answer sends it JSON-escaped when it holds a
// quote, a backslash or a control character. The logged body is rendered
// as JSON again, so the secret appears there escaped, and a scrub that
// looks only for its raw text leaves it in the log line and the observer's
// Response for anyone to unescape.
func TestSecretEchoedWithJSONEscapesIsScrubbedFromLoggedBodies(t *testing.T) {
	t.Parallel()
	for _, password := range []string{`pa"ss\w0rd`, "pa\tss-w0rd", "pa\u2028ss-w0rd"} {
		escaped, _ := json.Marshal(password)
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder(http.MethodPost, mockRoot+pathGrant, httpmock.NewStringResponder(http.StatusOK,
			`{"statusCode":"0000","statusMessage":"Successful","id_token":"mock-id-token","token_type":"Bearer","expires_in":3600,"refresh_token":"mock-refresh-token"}`))
		mt.RegisterResponder(http.MethodPost, mockRoot+pathExecute, func(r *http.Request) (*http.Response, error) {
			_, _ = r.Body.Read(make([]byte, 1))
			return httpmock.NewStringResponse(http.StatusInternalServerError,
				`{"message":"login failed","detail":"user mock-user password `+string(escaped[1:len(escaped)-1])+`"}`), nil
		})
		obs := &bodyObserver{}
		var mu sync.Mutex
		var logged []string
		c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
			Username: "mock-user", Password: bkash.Secret(password), AppKey: "mock-app-key", AppSecret: "mock-app-secret",
		}, bkash.WithHTTPClient(&http.Client{Transport: mt}), bkash.WithRetryPolicy(fastRetries),
			bkash.WithObserver(obs), bkash.WithBodyLogging(), bkash.WithLogger(slog.New(attrRecorder{&mu, &logged})))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Payments.Execute(context.Background(), loopbackPaymentID)
		if err == nil {
			t.Fatal("execute succeeded")
		}
		seen := append(append([]string{err.Error()}, obs.bodies...), logged...)
		if !strings.Contains(strings.Join(seen, "\n"), "login failed") {
			t.Fatalf("the answer was not logged: %q", seen)
		}
		for _, s := range seen {
			if strings.Contains(s, password) || strings.Contains(s, string(escaped[1:len(escaped)-1])) {
				t.Errorf("password %q leaked: %s", password, s)
			}
		}
	}
}

// The secrets of newMockBkash's client and of its grant answer.
var echoedSecrets = []string{"mock-password", "mock-app-secret", "mock-id-token", "mock-refresh-token"}

// leaks returns the secrets found in s.
func secretLeaks(s string, secrets ...string) []string {
	var found []string
	for _, v := range secrets {
		if strings.Contains(s, v) {
			found = append(found, v)
		}
	}
	return found
}

// lockedBuffer is a goroutine-safe buffer for a slog handler.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventTextObserver records every AttemptEvent and TokenRenewalEvent, rendered
// with %+v and with their bodies.
type eventTextObserver struct {
	mu   sync.Mutex
	text strings.Builder
	evs  []bkash.AttemptEvent
}

func (o *eventTextObserver) ObserveAttempt(e bkash.AttemptEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.evs = append(o.evs, e)
	fmt.Fprintf(&o.text, "%+v|%v|%#v|%s|%s\n", e, e.CallErr, e.Err, e.Request, e.Response)
	if e.CallErr != nil {
		o.text.WriteString(e.CallErr.Error())
	}
}

func (o *eventTextObserver) ObserveTokenRenewal(e bkash.TokenRenewalEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(&o.text, "%+v|%v\n", e, e.Err)
}

func (o *eventTextObserver) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.text.String()
}

func (o *eventTextObserver) events() []bkash.AttemptEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]bkash.AttemptEvent(nil), o.evs...)
}

// everyVerbText renders v with every fmt verb the brief names, plus a few more.
func everyVerbText(v any) string {
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%t", "%g", "%08.3v", "%-20s", "%U", "%c", "%b", "%o", "%e"} {
		fmt.Fprintf(&b, verb+"\n", v)
	}
	fmt.Fprintln(&b, v)
	fmt.Fprint(&b, v)
	return b.String()
}

func TestSecretTypesUnderEveryVerbJSONAndSlog(t *testing.T) {
	t.Parallel()
	creds := bkash.Credentials{Username: "u", Password: "mock-password", AppKey: "k", AppSecret: "mock-app-secret"}
	m := newMockBkash(t)
	tok, err := m.client.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type Wrap struct {
		C  bkash.Credentials
		P  *bkash.Credentials
		S  bkash.Secret
		T  *bkash.Token
		TV bkash.Token
		CL *bkash.Client
		M  map[string]bkash.Secret
		L  []bkash.Secret
		A  any
	}
	w := Wrap{C: creds, P: &creds, S: creds.Password, T: tok, TV: *tok, CL: m.client,
		M: map[string]bkash.Secret{"pw": creds.Password}, L: []bkash.Secret{creds.AppSecret}, A: tok}
	values := []any{creds, &creds, creds.Password, &creds.Password, tok, *tok, m.client, w, &w,
		struct {
			C bkash.Credentials
			T bkash.Token
		}{creds, *tok},
		[]any{creds, tok}, map[string]any{"c": creds, "t": tok}, []*bkash.Token{tok}, [1]bkash.Credentials{creds}}
	for i, v := range values {
		out := everyVerbText(v)
		if l := secretLeaks(out, echoedSecrets...); len(l) > 0 {
			t.Errorf("value %d (%T): fmt leaks %v:\n%s", i, v, l, out)
		}
		if j, err := json.Marshal(v); err == nil {
			if l := secretLeaks(string(j), echoedSecrets...); len(l) > 0 {
				t.Errorf("value %d (%T): json leaks %v: %s", i, v, l, j)
			}
		}
		// Some values cannot be gob-encoded (a *Client, an any); whatever
		// the encoder wrote must not leak either.
		var gb bytes.Buffer
		_ = gob.NewEncoder(&gb).Encode(v)
		if l := secretLeaks(gb.String(), echoedSecrets...); len(l) > 0 {
			t.Errorf("value %d (%T): gob leaks %v", i, v, l)
		}
		var buf bytes.Buffer
		for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
			slog.New(h).Info("x", "v", v, slog.Any("any", v), slog.Group("g", "v", v))
		}
		if l := secretLeaks(buf.String(), echoedSecrets...); len(l) > 0 {
			t.Errorf("value %d (%T): slog leaks %v: %s", i, v, l, buf.String())
		}
	}
}

// The grant and refresh request bodies, as the Debug log and the observer
// see them with WithBodyLogging, carry no app secret, password or token.
func TestGrantRequestBodyInLogsAndObserverIsRedacted(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	obs := &eventTextObserver{}
	m := newMockBkash(t, bkash.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		bkash.WithBodyLogging(), bkash.WithObserver(obs))
	if _, err := m.client.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	sawGrant := false
	for _, e := range obs.events() {
		if e.Op == "token.grant" && e.Outcome != 0 {
			sawGrant = true
			if !strings.Contains(e.Request, `"app_key"`) || !strings.Contains(e.Request, "[REDACTED]") {
				t.Errorf("grant request as observed = %s; want app_key and app_secret [REDACTED]", e.Request)
			}
		}
	}
	if !sawGrant {
		t.Error("observer saw no last event of token.grant")
	}
	all := logs.String() + obs.String()
	if l := secretLeaks(all, echoedSecrets...); len(l) > 0 {
		t.Errorf("logs/observer leak %v:\n%s", l, all)
	}
}

// echoRT answers the grant with a token whose values the test chooses, and
// every other request with fn.
func echoingClient(t *testing.T, grant string, fn func(r *http.Request) *http.Response, opts ...bkash.Option) (*bkash.Client, *lockedBuffer, *eventTextObserver) {
	t.Helper()
	logs := &lockedBuffer{}
	obs := &eventTextObserver{}
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodPost, mockRoot+pathGrant, func(r *http.Request) (*http.Response, error) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		return httpmock.NewStringResponse(http.StatusOK, grant), nil
	})
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		return fn(r), nil
	})
	base := []bkash.Option{
		bkash.WithHTTPClient(&http.Client{Transport: mt}), bkash.WithRetryPolicy(fastRetries),
		bkash.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		bkash.WithBodyLogging(), bkash.WithObserver(obs),
	}
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
		Username: "mock-user", Password: "mock-password", AppKey: "mock-app-key", AppSecret: "mock-app-secret",
	}, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, logs, obs
}

const okGrantAnswer = `{"statusCode":"0000","statusMessage":"Successful","id_token":"mock-id-token","token_type":"Bearer","expires_in":3600,"refresh_token":"mock-refresh-token"}`

// A server or proxy echoes the password, the app secret and the tokens in
// bKash's messages, JSON-escaped and \u-escaped, in an error answer of a
// call: the error string, the log lines and the observer show none of them.
func TestEchoedSecretsInMessagesAreScrubbed(t *testing.T) {
	t.Parallel()
	bodies := map[string]string{
		"plain":          `{"statusCode":"2023","statusMessage":"pw mock-password secret mock-app-secret tok mock-id-token rt mock-refresh-token"}`,
		"u-escaped":      `{"statusCode":"2023","statusMessage":"\u006dock-\u0070assword \u006dock-app-secret \u006dock-id-token \u006dock-refresh-token"}`,
		"errorMessage":   `{"errorCode":"2119","errorMessage":"mock-password/mock-id-token"}`,
		"gateway 403":    `{"message":"mock-id-token is not mock-app-secret"}`,
		"foreign json":   `{"error":"x","message":"upstream said mock-password mock-id-token"}`,
		"v2 externalMsg": `{"internalCode":"x","externalCode":"2071","errorMessageEn":"mock-password","errorMessageBn":"mock-id-token"}`,
		"nested":         `{"statusCode":"9999","statusMessage":"x","detail":{"a":["mock-password",{"b":"mock-id-token"}]}}`,
		"in a key":       `{"statusCode":"2023","statusMessage":"x","mock-password":"mock-id-token"}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			status := http.StatusOK
			if strings.HasPrefix(name, "gateway") {
				status = http.StatusForbidden
			}
			c, logs, obs := echoingClient(t, okGrantAnswer, func(*http.Request) *http.Response {
				resp := httpmock.NewStringResponse(status, body)
				resp.Header.Set("X-Echo", "mock-password mock-id-token")
				return resp
			})
			// A read first, so the token is accepted and a 403 is not a
			// fresh token's ConfigError.
			_, err := c.Payments.Execute(context.Background(), "TR0011X")
			if err == nil {
				t.Fatal("Execute succeeded")
			}
			all := err.Error() + fmt.Sprintf("%+v %#v", err, err) + logs.String() + obs.String()
			var ae *bkash.APIError
			if errors.As(err, &ae) {
				all += ae.Message + ae.MessageBn
			}
			if l := secretLeaks(all, echoedSecrets...); len(l) > 0 {
				t.Errorf("leaks %v:\n%s", l, all)
			}
		})
	}
}

// TestEchoedSecretInAnUnreadableAnswerIsScrubbed: an amount (or a time) the
// SDK cannot read is quoted in the reason of the error; an answer that puts
// a token or the password there must not bring it into the error string,
// the Debug log or the observer.
func TestEchoedSecretInAnUnreadableAnswerIsScrubbed(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"amount", "maxRefundableAmount"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			c, logs, obs := echoingClient(t, okGrantAnswer, func(*http.Request) *http.Response {
				return httpmock.NewStringResponse(http.StatusOK, `{"statusCode":"0000","statusMessage":"Successful","paymentID":"TR0011X","trxID":"T1","transactionStatus":"Completed","`+field+`":"mock-id-token mock-password"}`)
			})
			_, err := c.Payments.Execute(context.Background(), "TR0011X")
			wantUnknown(t, "execute", err)
			if err == nil {
				return
			}
			if l := secretLeaks(err.Error(), echoedSecrets...); len(l) > 0 {
				t.Errorf("error string leaks %v: %s", l, err)
			}
			if l := secretLeaks(logs.String()+obs.String(), echoedSecrets...); len(l) > 0 {
				t.Errorf("log/observer leak %v", l)
			}
		})
	}
}

// TestGrantAnswerEchoingItsTokensIsScrubbed: a grant answer that repeats
// the id_token and refresh_token it issues in its statusMessage does not
// bring them into the Debug log or the observer's bodies.
func TestGrantAnswerEchoingItsTokensIsScrubbed(t *testing.T) {
	t.Parallel()
	grant := `{"statusCode":"0000","statusMessage":"issued mock-id-token, refresh with mock-refresh-token","id_token":"mock-id-token","token_type":"Bearer","expires_in":3600,"refresh_token":"mock-refresh-token"}`
	c, logs, obs := echoingClient(t, grant, func(*http.Request) *http.Response {
		return httpmock.NewStringResponse(http.StatusOK, "{}")
	})
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l := secretLeaks(logs.String(), echoedSecrets...); len(l) > 0 {
		t.Errorf("Debug log leaks %v:\n%s", l, logs.String())
	}
	if l := secretLeaks(obs.String(), echoedSecrets...); len(l) > 0 {
		t.Errorf("observer leaks %v:\n%s", l, obs.String())
	}
}

// TestGrantExpiresInEchoingATokenIsScrubbed: a token in an unusable
// expires_in reaches neither the logged body nor the warning about it.
func TestGrantExpiresInEchoingATokenIsScrubbed(t *testing.T) {
	t.Parallel()
	grant := `{"statusCode":"0000","statusMessage":"Successful","id_token":"mock-id-token","token_type":"Bearer","expires_in":"mock-id-token","refresh_token":"mock-refresh-token"}`
	c, logs, obs := echoingClient(t, grant, func(*http.Request) *http.Response {
		return httpmock.NewStringResponse(http.StatusOK, "{}")
	})
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l := secretLeaks(logs.String()+obs.String(), echoedSecrets...); len(l) > 0 {
		t.Errorf("log leaks %v:\n%s", l, logs.String())
	}
}
