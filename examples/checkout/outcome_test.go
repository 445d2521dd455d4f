package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/examples/checkout/shop"
)

// An execute whose answer is replaced, after bKash carried it out, by
// something the SDK reads as the gateway's refusal ({"message": ...} at a
// 4xx, a refusal type in x-amzn-ErrorType) or by a 503. The SDK takes the
// gateway's 4xx refusals as "never reached bKash", which holds for API
// Gateway itself; a proxy or a load balancer in front can still answer so
// after passing the request on. The shop does not stake a customer's money
// on that: only bKash's own refusal (definiteRefusal) fails an attempt, and
// anything else stays "processing" until the reconciler has read bKash.
// Each fault below comes AFTER the fake executed the payment
// (Fault.AfterApply): the customer's money moved, and the shop must not
// tell them "nothing was charged; please pay again".

// executedBehindGatewayAnswer checks that an execute bKash carried out,
// whose answer is then replaced by something the SDK reads as the gateway's
// refusal, never leaves the order unpaid: it ends paid (once the
// reconciler has read bKash), and no page ever says nothing was charged.
func executedBehindGatewayAnswer(t *testing.T, ts *testShop) {
	t.Helper()
	notUnpaid(t, ts)
	// The reconciler (or the webhook bKash sends for the payment) must
	// eventually record what bKash did.
	waitFor(t, "the charged order to be recorded paid", func() bool {
		return ts.order("A1001").Status == shop.OrderPaid
	})
}

// notUnpaid checks that order A1001, whose payment bKash executed, is not
// shown unpaid, failed or "nothing was charged", on the order or its page.
func notUnpaid(t *testing.T, ts *testShop) {
	t.Helper()
	o := ts.order("A1001")
	fp, _ := ts.fake.Payment(o.Attempts[0].PaymentID)
	if fp.Status != string(bkash.StatusCompleted) {
		t.Fatalf("precondition: bKash's payment is %s, want Completed (the fault comes after the execute)", fp.Status)
	}
	if o.Status == shop.OrderUnpaid || o.Attempts[0].State == shop.AttemptFailed || strings.Contains(o.Note, "nothing was charged") {
		t.Errorf("bKash charged the customer (trxID %s), but the shop says: order %s, attempt %s, note %q",
			fp.TrxID, o.Status, o.Attempts[0].State, o.Note)
	}
	if p := ts.get("/orders/A1001"); p.has("nothing was charged") || p.has(`id="pay-again"`) {
		t.Errorf("the order page of a charged order says nothing was charged (%v) / offers to pay again (%v)", p.has("nothing was charged"), p.has(`id="pay-again"`))
	}
}

func TestExecuteChargedBehindAGatewayShapedAnswerIsNeverUnpaid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		f    bkashtest.Fault
	}{
		{"503 Service Unavailable", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable}},
		{"429 Too Many Requests", bkashtest.Fault{HTTPStatus: http.StatusTooManyRequests}},
		{"400 Bad Request", bkashtest.Fault{HTTPStatus: http.StatusBadRequest}},
		{"404 Not Found", bkashtest.Fault{HTTPStatus: http.StatusNotFound}},
		{"413 Request Entity Too Large", bkashtest.Fault{HTTPStatus: http.StatusRequestEntityTooLarge}},
		{"403 not a token answer", bkashtest.Fault{HTTPStatus: http.StatusForbidden, Body: `{"message":"Request blocked"}`}},
		{"403 Missing Authentication Token", bkashtest.Fault{HTTPStatus: http.StatusForbidden, Body: `{"message":"Missing Authentication Token"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startShop(t, "")
			ts.addToCart("milk-1l", 1)
			bkashPage := ts.payCart(nil)
			f := tc.f
			f.AfterApply = true
			ts.fake.Inject("payment.execute", f)
			ts.submitBkashPage(bkashPage, customer, "confirm")
			executedBehindGatewayAnswer(t, ts)
		})
	}
}

// amznProxy is the SDK's transport with a middlebox in front of bKash: it
// passes the execute on (bKash executes it) and answers 429 naming
// API Gateway's throttling type, with the middlebox's own HTML page.
type amznProxy struct {
	next     http.RoundTripper
	executes atomic.Int32
}

func (p *amznProxy) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/tokenized/checkout/execute") || p.executes.Add(1) != 1 {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	body := "<html><body>Too many requests</body></html>"
	h := http.Header{}
	h.Set("Content-Type", "text/html")
	h.Set("X-Amzn-ErrorType", "TooManyRequestsException")
	return &http.Response{
		Status: "429 Too Many Requests", StatusCode: http.StatusTooManyRequests,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body)),
		Request: r,
	}, nil
}

func TestExecuteChargedBehindAnAmznErrorTypeHeaderIsNeverUnpaid(t *testing.T) {
	t.Parallel()
	ts := startShopWith(t, options{transport: &amznProxy{next: ownTransport()}})
	ts.addToCart("milk-1l", 1)
	ts.submitBkashPage(ts.payCart(nil), customer, "confirm")
	executedBehindGatewayAnswer(t, ts)
}

// The gateway's 401 "Unauthorized" makes the SDK renew its token and send
// the execute again. When that 401 came after bKash executed the payment
// and the renewal then fails (here bKash's token endpoints are
// unavailable), the error the shop sees is the renewal's: it says nothing
// about the execute, which was sent and did take the money.
func TestExecuteChargedThen401AndTheTokenRenewalFailsIsNeverUnpaid(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	ts.addToCart("milk-1l", 1)
	bkashPage := ts.payCart(nil)
	ts.fake.Inject("payment.execute", bkashtest.Fault{HTTPStatus: http.StatusUnauthorized, Body: `{"message":"Unauthorized"}`, AfterApply: true})
	ts.fake.Inject("token.refresh", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, Times: 10})
	ts.fake.Inject("token.grant", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, Times: 10})
	ts.submitBkashPage(bkashPage, customer, "confirm")
	// The renewal budget may now be spent for the hour, so the reconciler
	// cannot be asked to settle it within the test: the attempt must at
	// least stay executing, for it to settle later, unless the reconciler,
	// woken by the webhook bKash sends for the payment, has settled it as
	// paid already.
	notUnpaid(t, ts)
	if got := ts.order("A1001").Attempts[0].State; got != shop.AttemptExecuting && got != shop.AttemptPaid {
		t.Errorf("attempt state = %s, want executing (outcome unknown until reconciled) or paid (reconciled)", got)
	}
}

func TestOrderIsChargedOnceWhenAGatewayShapedAnswerFollowsTheExecute(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	ts.addToCart("milk-1l", 1)
	before, _ := ts.fake.WalletBalance(customer["wallet"])
	bkashPage := ts.payCart(nil)
	ts.fake.Inject("payment.execute", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, AfterApply: true})
	first := ts.submitBkashPage(bkashPage, customer, "confirm")

	// A careful customer pays again only when the shop offers it.
	if first.has(`id="pay-again"`) {
		again := ts.post("/checkout", url.Values{"order": {"A1001"}})
		if strings.HasPrefix(again.url.String(), ts.fake.URL+"/checkout") {
			ts.submitBkashPage(again, customer, "confirm")
		}
	}
	waitFor(t, "the order to settle", func() bool { return ts.order("A1001").Status != shop.OrderProcessing })

	o := ts.order("A1001")
	var charged []string
	for _, a := range o.Attempts {
		if fp, _ := ts.fake.Payment(a.PaymentID); fp.Status == string(bkash.StatusCompleted) {
			charged = append(charged, a.PaymentID+" ("+string(a.State)+")")
		}
	}
	after, _ := ts.fake.WalletBalance(customer["wallet"])
	if len(charged) != 1 || before-after != o.Total {
		t.Errorf("order %s of Tk %s: bKash executed %d payments %v, the wallet paid Tk %s; want one charge",
			o.Status, o.Total, len(charged), charged, before-after)
	}
}

// Agreement execute: the link bKash made must not be recorded as cancelled
// ("try again"), leaving an active agreement the shop does not know of.
func TestAgreementExecutedBehindAGatewayShapedAnswerIsNotCancelled(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	agreementPage := ts.post("/wallets", url.Values{"msisdn": {"01619777283"}})
	ts.fake.Inject("agreement.execute", bkashtest.Fault{HTTPStatus: http.StatusTooManyRequests, AfterApply: true})
	ts.submitBkashPage(agreementPage, map[string]string{"wallet": "01619777283", "otp": bkashtest.OTP, "pin": bkashtest.PIN}, "confirm")
	ws := ts.wallets()
	if len(ws) != 1 {
		t.Fatalf("wallets = %+v", ws)
	}
	fp, _ := ts.fake.Payment(ws[0].PaymentID)
	ag, ok := ts.fake.Agreement(fp.AgreementID)
	if !ok || ag.Status != "Completed" {
		t.Fatalf("precondition: bKash's agreement is %+v, want Completed", ag)
	}
	if ws[0].State == shop.WalletCancelled {
		t.Errorf("bKash linked the wallet (agreement %s), but the shop cancelled it: %q", ag.AgreementID, ws[0].Note)
	}
	waitFor(t, "the linked wallet to be active", func() bool {
		ws := ts.wallets()
		return len(ws) == 1 && ws[0].State == shop.WalletActive
	})
}
