// Tests of the promises RELIABILITY.md makes for the whole package: the
// fault matrix, Finalize under every execute fault, and no goroutine per
// request. The file is named for that document, which cites it, because
// no one source file keeps these promises.

package bkash_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// The fault matrix: every call that moves money, under every fault the
// network or bKash can produce. For each cell it asserts that
//   - bKash applied the operation at most once and the SDK sent it at most
//     once (twice only when the gateway refused the token: the refusal is
//     not processing);
//   - the SDK answered with success, an *APIError or an *OutcomeUnknownError,
//     never anything else;
//   - after the caller reconciles with a read, its view equals the server's.
// RELIABILITY.md lists the matrix and the guarantee behind each cell.

// subject is what one money operation acts on.
type subject struct {
	paymentID string
	trxID     string
}

type moneyOp struct {
	op string // the fake's operation name
	// prepare brings a payment (or agreement request) to the state the
	// operation needs.
	prepare func(t *testing.T, srv *bkashtest.Server, c *bkash.Client) subject
	call    func(ctx context.Context, c *bkash.Client, s subject) error
	// view is the caller's view after reconciling with a read; truth is the
	// server's. They must be equal.
	view  func(ctx context.Context, c *bkash.Client, s subject) (string, error)
	truth func(srv *bkashtest.Server, s subject) string
	// doneCode is bKash's "already done" answer for this operation.
	doneCode string
}

func approvedPayment(t *testing.T, srv *bkashtest.Server, c *bkash.Client, intent bkash.Intent) subject {
	t.Helper()
	p, err := c.Payments.Create(context.Background(), &bkash.CreatePaymentParams{
		Amount: bkash.Taka(500), InvoiceNumber: "INV-" + strings.ReplaceAll(t.Name(), "/", "-"),
		PayerReference: "01770618575", CallbackURL: "https://shop.example/cb", Intent: intent,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	return subject{paymentID: p.PaymentID}
}

func executedPayment(t *testing.T, srv *bkashtest.Server, c *bkash.Client, intent bkash.Intent) subject {
	t.Helper()
	s := approvedPayment(t, srv, c, intent)
	p, err := c.Payments.Execute(context.Background(), s.paymentID)
	if err != nil {
		t.Fatal(err)
	}
	s.trxID = p.TrxID
	return s
}

func paymentView(ctx context.Context, c *bkash.Client, s subject) (string, error) {
	p, err := c.Payments.Query(ctx, s.paymentID)
	if err != nil {
		return "", err
	}
	return string(p.Status) + " " + p.TrxID, nil
}

func paymentTruth(srv *bkashtest.Server, s subject) string {
	st, _ := srv.Payment(s.paymentID)
	return st.Status + " " + st.TrxID
}

// paymentOp is a money operation on a payment, reconciled by Payments.Query.
func paymentOp(op, doneCode string, intent bkash.Intent, executed bool,
	do func(*bkash.PaymentService, context.Context, string) (*bkash.Payment, error)) moneyOp {
	return moneyOp{
		op: op, doneCode: doneCode, view: paymentView, truth: paymentTruth,
		prepare: func(t *testing.T, srv *bkashtest.Server, c *bkash.Client) subject {
			if executed {
				return executedPayment(t, srv, c, intent)
			}
			return approvedPayment(t, srv, c, intent)
		},
		call: func(ctx context.Context, c *bkash.Client, s subject) error {
			_, err := do(c.Payments, ctx, s.paymentID)
			return err
		},
	}
}

var moneyOps = []moneyOp{
	paymentOp("payment.execute", "2117", bkash.IntentSale, false, (*bkash.PaymentService).Execute),
	paymentOp("payment.capture", "2119", bkash.IntentAuthorization, true, (*bkash.PaymentService).Capture),
	paymentOp("payment.void", "2119", bkash.IntentAuthorization, true, (*bkash.PaymentService).Void),
	{
		op: "refund.create", doneCode: "2034",
		prepare: func(t *testing.T, srv *bkashtest.Server, c *bkash.Client) subject {
			return executedPayment(t, srv, c, bkash.IntentSale)
		},
		call: func(ctx context.Context, c *bkash.Client, s subject) error {
			_, err := c.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: s.paymentID, TrxID: s.trxID,
				Amount: bkash.Taka(120), SKU: "SKU-1", Reason: "damaged"})
			return err
		},
		view: func(ctx context.Context, c *bkash.Client, s subject) (string, error) {
			st, err := c.Refunds.Status(ctx, s.paymentID, s.trxID)
			if errors.Is(err, bkash.CodeInvalidPaymentID) {
				return "", nil // v1 answers 2002 for a payment that has no refund
			}
			if err != nil {
				return "", err
			}
			var out []string
			for _, r := range st.Refunds {
				out = append(out, r.RefundTrxID+" "+r.Amount.String())
			}
			sort.Strings(out)
			return strings.Join(out, ","), nil
		},
		truth: func(srv *bkashtest.Server, s subject) string {
			var out []string
			for _, r := range srv.RefundsOf(s.trxID) {
				out = append(out, r.RefundTrxID+" "+r.Amount.String())
			}
			sort.Strings(out)
			return strings.Join(out, ",")
		},
	},
	{
		op: "agreement.execute", doneCode: "2116",
		prepare: func(t *testing.T, srv *bkashtest.Server, c *bkash.Client) subject {
			t.Helper()
			ag, err := c.Agreements.Create(context.Background(), &bkash.CreateAgreementParams{
				PayerReference: "01770618575", CallbackURL: "https://shop.example/agreement"})
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Approve(ag.PaymentID, "01770618575"); err != nil {
				t.Fatal(err)
			}
			return subject{paymentID: ag.PaymentID}
		},
		call: func(ctx context.Context, c *bkash.Client, s subject) error {
			_, err := c.Agreements.Execute(ctx, s.paymentID)
			return err
		},
		view: func(ctx context.Context, c *bkash.Client, s subject) (string, error) {
			p, err := c.Payments.Query(ctx, s.paymentID)
			if err != nil {
				return "", err
			}
			return p.AgreementStatus + " " + p.AgreementID, nil
		},
		truth: func(srv *bkashtest.Server, s subject) string {
			st, _ := srv.Payment(s.paymentID)
			return st.Status + " " + st.AgreementID
		},
	},
}

type fault struct {
	name    string
	fault   bkashtest.Fault
	timeout time.Duration // the caller's deadline, when the fault is a slow answer
	expire  bool          // expire every token first instead of injecting
	refuse  bool          // the first connection attempt fails before any byte is sent
	done    bool          // answer the operation's "already done" code
	// want, when set, is the answer the cell must get: "unknown" (an
	// *OutcomeUnknownError), "refusal" (the gateway's *APIError without a
	// code, nothing applied), "temporary" (a refusal that is Temporary) or
	// "wrong route" (a *ConfigError matching ErrWrongRoute).
	want string
}

var oversized = `{"statusCode":"0000","statusMessage":"Successful","padding":"` + strings.Repeat("x", 2<<20) + `"}`

var faults = []fault{
	{name: "connection refused before sending", refuse: true},
	{name: "connection dropped before processing", fault: bkashtest.Fault{Drop: true}},
	{name: "connection dropped after apply", fault: bkashtest.Fault{Drop: true, AfterApply: true}},
	{name: "timeout after apply", fault: bkashtest.Fault{Delay: 400 * time.Millisecond, AfterApply: true}, timeout: 100 * time.Millisecond},
	{name: "500 after apply", fault: bkashtest.Fault{HTTPStatus: http.StatusInternalServerError, AfterApply: true}},
	{name: "503 with Retry-After", fault: bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, RetryAfter: time.Second}, want: "unknown"},
	{name: "expired token", expire: true},
	{name: "already done", done: true},
	{name: "malformed JSON after apply", fault: bkashtest.Fault{Body: `{"statusCode":"0000","trxID":"CL`, AfterApply: true}},
	{name: "HTML error page from a proxy", fault: bkashtest.Fault{HTTPStatus: http.StatusBadGateway, Body: "<html><body><h1>502 Bad Gateway</h1></body></html>", AfterApply: true}},
	{name: "oversized body after apply", fault: bkashtest.Fault{Body: oversized, AfterApply: true}},

	// Foreign bodies: not bKash's shape, so not bKash's answer.
	{name: "Lambda timeout body (504) after apply", fault: bkashtest.Fault{HTTPStatus: http.StatusGatewayTimeout, Body: `{"errorMessage":"Task timed out after 30.03 seconds"}`, AfterApply: true}, want: "unknown"},
	{name: "framework error object (500) after apply", fault: bkashtest.Fault{HTTPStatus: http.StatusInternalServerError, Body: `{"statusCode":500,"message":"Internal server error"}`, AfterApply: true}, want: "unknown"},
	{name: "Spring error object (400) after apply", fault: bkashtest.Fault{HTTPStatus: http.StatusBadRequest, Body: `{"timestamp":"2025-05-18T14:49:12.377+00:00","status":400,"error":"Bad Request","path":"/execute"}`, AfterApply: true}, want: "unknown"},
	// API Gateway answers 503 {"message":"Service Unavailable"} when bKash,
	// behind it, fails or takes too long: after bKash got the request.
	{name: "503 gateway-shaped after apply", fault: bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, AfterApply: true}, want: "unknown"},
	{name: "409 gateway-shaped after apply", fault: bkashtest.Fault{HTTPStatus: http.StatusConflict, Body: `{"message":"Conflict"}`, AfterApply: true}, want: "unknown"},
	{name: "401 HTML after apply (not a token answer)", fault: bkashtest.Fault{HTTPStatus: http.StatusUnauthorized, Body: "<html><body>401 Authorization Required</body></html>", AfterApply: true}, want: "unknown"},

	// The gateway's own refusals: nothing reached bKash.
	{name: "gateway 400 refusal", fault: bkashtest.Fault{HTTPStatus: http.StatusBadRequest, Body: `{"message":"Invalid request body"}`}, want: "refusal"},
	{name: "gateway 429 throttled", fault: bkashtest.Fault{HTTPStatus: http.StatusTooManyRequests}, want: "temporary"},
	{name: "gateway 403 Missing Authentication Token", fault: bkashtest.Fault{HTTPStatus: http.StatusForbidden, Body: `{"message":"Missing Authentication Token"}`}, want: "wrong route"},

	// bKash's transient codes and codes outside its table (docs/wire.md,
	// "Outcomes of money calls").
	{name: "code 9999 after apply", fault: bkashtest.Fault{Code: "9999", AfterApply: true}, want: "unknown"},
	{name: "code 503 after apply", fault: bkashtest.Fault{Code: "503", AfterApply: true}, want: "unknown"},
	{name: "code 2020 after apply", fault: bkashtest.Fault{Code: "2020", AfterApply: true}, want: "unknown"},
	{name: "code 2003 not applied", fault: bkashtest.Fault{Code: "2003"}, want: "unknown"},
	{name: "code 2024 not applied", fault: bkashtest.Fault{Code: "2024"}, want: "unknown"},
	{name: "code outside the table after apply", fault: bkashtest.Fault{Code: "2999", Message: "Unexpected failure", AfterApply: true}, want: "unknown"},
}

// checkWant asserts a fault's expected answer.
func checkWant(t *testing.T, f fault, err error, applied int) {
	t.Helper()
	var ae *bkash.APIError
	unknown := errors.Is(err, bkash.ErrOutcomeUnknown)
	switch f.want {
	case "":
	case "unknown":
		if !unknown {
			t.Fatalf("err = %v, want an unknown outcome", err)
		}
		if f.fault.Code != "" && (!errors.As(err, &ae) || string(ae.Code) != f.fault.Code) {
			t.Fatalf("err = %v, want it to carry bKash's code %s", err, f.fault.Code)
		}
	case "refusal", "temporary":
		if unknown || !errors.As(err, &ae) || ae.Code != "" || ae.Temporary() != (f.want == "temporary") {
			t.Fatalf("err = %v, want the gateway's refusal (%s)", err, f.want)
		}
	case "wrong route":
		if unknown || !errors.Is(err, bkash.ErrWrongRoute) {
			t.Fatalf("err = %v, want ErrWrongRoute", err)
		}
	default:
		t.Fatalf("unknown want %q", f.want)
	}
	if (f.want == "refusal" || f.want == "temporary" || f.want == "wrong route") && applied != 0 {
		t.Fatalf("refused at the gateway, but applied %d times", applied)
	}
}

// outcomeOf classifies an SDK answer; anything else fails the test.
func outcomeOf(t *testing.T, err error) string {
	t.Helper()
	var ae *bkash.APIError
	var ou *bkash.OutcomeUnknownError
	switch {
	case err == nil:
		return "success"
	case errors.As(err, &ou):
		if !errors.Is(err, bkash.ErrOutcomeUnknown) {
			t.Errorf("OutcomeUnknownError does not match ErrOutcomeUnknown: %v", err)
		}
		return "outcome unknown"
	case errors.As(err, &ae):
		return "APIError " + string(ae.Code)
	}
	t.Errorf("unexpected error type %T: %v", err, err)
	return "unexpected"
}

func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	for _, op := range moneyOps {
		for _, f := range faults {
			t.Run(op.op+"/"+strings.ReplaceAll(f.name, " ", "_"), func(t *testing.T) {
				t.Parallel()
				srv, c := newIntegration(t, nil)
				s := op.prepare(t, srv, c)
				if f.refuse {
					c = refusingClient(t, srv)
				}
				receivedBefore := srv.Received(op.op)
				switch {
				case f.expire:
					srv.ExpireTokens()
				case f.done:
					srv.Inject(op.op, bkashtest.Fault{Code: op.doneCode})
				default:
					srv.Inject(op.op, f.fault)
				}
				ctx := context.Background()
				if f.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, f.timeout)
					defer cancel()
				}
				err := op.call(ctx, c, s)
				outcome := outcomeOf(t, err)

				applied := srv.Applied(op.op)
				sent := srv.Received(op.op) - receivedBefore
				if applied > 1 {
					t.Fatalf("%s applied %d times", op.op, applied)
				}
				wantSent := 1
				if f.expire {
					wantSent = 2 // refused at the gateway, then replayed once
				}
				if sent != wantSent {
					t.Fatalf("%s sent %d times, want %d", op.op, sent, wantSent)
				}
				if err == nil && applied != 1 {
					t.Fatalf("success reported but the server applied %d times", applied)
				}
				checkWant(t, f, err, applied)

				// Reconcile with a read, as the error tells the caller to.
				view, verr := op.view(context.Background(), c, s)
				if verr != nil {
					t.Fatalf("reconciling read: %v", verr)
				}
				if diff := cmp.Diff(op.truth(srv, s), view); diff != "" {
					t.Fatalf("caller's view differs from the server's truth (-server +caller):\n%s", diff)
				}
				t.Logf("matrix: %-17s | %-38s | %-16s | applied %d | sent %d", op.op, f.name, outcome, applied, sent)
			})
		}
	}
}

// TestFinalizeReconcilesEveryExecuteFault checks the one-call path a
// checkout uses: whatever the fault, Finalize returns bKash's truth or an
// error that says the outcome is still open, and never executes twice.
func TestFinalizeReconcilesEveryExecuteFault(t *testing.T) {
	t.Parallel()
	for _, f := range faults {
		t.Run(strings.ReplaceAll(f.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			srv, c := newIntegration(t, nil)
			s := approvedPayment(t, srv, c, bkash.IntentSale)
			if f.refuse {
				c = refusingClient(t, srv)
			}
			switch {
			case f.expire:
				srv.ExpireTokens()
			case f.done:
				srv.Inject("payment.execute", bkashtest.Fault{Code: "2117"})
			default:
				srv.Inject("payment.execute", f.fault)
			}
			p, err := c.Payments.Finalize(context.Background(), s.paymentID)
			truth, _ := srv.Payment(s.paymentID)
			if n := srv.Applied("payment.execute"); n > 1 {
				t.Fatalf("executed %d times", n)
			}
			if err != nil {
				outcomeOf(t, err)
				// Finalize could not settle it: the truth must not be a
				// completed payment that the caller was told nothing about.
				if truth.Status == string(bkash.StatusCompleted) && !errors.Is(err, bkash.ErrOutcomeUnknown) {
					t.Fatalf("Finalize = %v, but the payment completed", err)
				}
				return
			}
			if got := fmt.Sprintf("%s %s", p.Status, p.TrxID); got != truth.Status+" "+truth.TrxID {
				t.Fatalf("Finalize = %q, server truth %q %q", got, truth.Status, truth.TrxID)
			}
		})
	}
}

// refuseOnce fails its first round trip the way a refused connection does:
// before reading the request body, so nothing can have reached the server.
type refuseOnce struct {
	mu      sync.Mutex
	refused bool
	rt      http.RoundTripper
}

func (r *refuseOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	first := !r.refused
	r.refused = true
	r.mu.Unlock()
	if first {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return r.rt.RoundTrip(req)
}

// refusingClient is a client whose first connection attempt is refused.
func refusingClient(t *testing.T, srv *bkashtest.Server) *bkash.Client {
	t.Helper()
	store := bkash.NewMemoryTokenStore()
	c, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL), bkash.WithTokenStore(store),
		bkash.WithHTTPClient(&http.Client{Transport: &refuseOnce{rt: http.DefaultTransport}}),
		bkash.WithRetryPolicy(bkash.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNoGoroutinePerRequest: the SDK starts no goroutine of its own per
// request. A sampler dumps every goroutine's stack while 200 calls run and
// looks for any created by the SDK's package or by singleflight (token
// renewals); net/http's own connection goroutines are not the SDK's doing.
func TestNoGoroutinePerRequest(t *testing.T) {
	srv, c := newIntegration(t, nil)
	p := createPayment(t, c, "INV-GOROUTINES")
	ctx := context.Background()
	if _, err := c.Payments.Query(ctx, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	found := make(chan string, 1)
	var samples atomic.Int32
	go func() {
		defer close(found)
		for {
			select {
			case <-done:
				return
			default:
			}
			samples.Add(1)
			for _, prefix := range []string{"github.com/smartdairy/bkash-go.", "golang.org/x/sync/singleflight"} {
				if left := goroutinesCreatedBy(prefix); len(left) > 0 {
					found <- left[0]
					return
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	// At least 200 calls, and more while the sampler, which shares the CPU
	// with the other tests, has not yet looked 10 times.
	calls := 0
	for ; calls < 200 || (samples.Load() < 10 && calls < 20000); calls++ {
		if _, err := c.Payments.Query(ctx, p.PaymentID); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if line, ok := <-found; ok {
		t.Fatalf("a goroutine started by the SDK during plain calls: %s", line)
	}
	if n := samples.Load(); n < 10 {
		t.Fatalf("only %d stack samples taken in %d calls", n, calls)
	}
	if n := srv.Received("payment.query"); n != calls+1 {
		t.Fatalf("server received %d queries, want %d", n, calls+1)
	}
}
