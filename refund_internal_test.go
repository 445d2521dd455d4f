// Tests of refund.go that reach its unexported code, in package bkash (the
// harness is harness_internal_test.go): settling a refund whose outcome is
// unknown, the request types of refund.go and agreement.go, and the refund
// answer's decoding. The tests through the exported API are in
// refund_test.go and refund_integration_test.go.

package bkash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestRefundIsNotDeclaredNotMadeWhileItMayBeInFlight: the refund docs said
// that a refund missing from Status after an unknown outcome "was not made,
// and may be sent again". A caller whose context gives up after 50 ms reads
// an empty status while bKash is still making the first refund (its gateway
// allows 29 s), and refunds twice. Now nothing reads "not made" before
// SettleAfter (the send plus SettleDelay): Settle answers RefundUndecided
// without waiting when the caller cannot wait, then RefundMade once the
// first refund shows.
func TestRefundIsNotDeclaredNotMadeWhileItMayBeInFlight(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	var made atomic.Bool
	var refunds atomic.Int32
	m.on(epRefundV1, func(_ int, r coreReq) (*http.Response, error) {
		if !bytes.Contains(r.Body, []byte(`"amount"`)) { // a status request
			if made.Load() {
				return coreJSON(200, `{"statusCode":"0000","statusMessage":"Successful","originalTrxID":"TRX1","refundTrxID":"RF-NEW","transactionStatus":"Completed","amount":"100.00","currency":"BDT","charge":"0.00","completedTime":"2025-01-03T11:20:05:678 GMT+0600"}`), nil
			}
			return coreJSON(200, `{"statusCode":"2002","statusMessage":"Invalid Payment ID"}`), nil
		}
		refunds.Add(1)
		time.Sleep(400 * time.Millisecond) // bKash still working; the caller has given up
		made.Store(true)
		return coreJSON(200, `{"statusCode":"0000","statusMessage":"Successful","originalTrxID":"TRX1","refundTrxID":"RF-NEW","transactionStatus":"Completed","amount":"100.00","currency":"BDT"}`), nil
	})
	c := m.client()
	params := &RefundParams{PaymentID: "PAY1", TrxID: "TRX1", Amount: Taka(100), SKU: "sku", Reason: "r"}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	before := time.Now()
	_, err := c.Refunds.Create(ctx, params)
	cancel()
	var ue *OutcomeUnknownError
	if !errors.As(err, &ue) {
		t.Fatalf("Create: err = %v, want *OutcomeUnknownError", err)
	}
	if ue.SentAt.Before(before) || time.Since(ue.SentAt) > time.Second {
		t.Fatalf("SentAt = %v, want the time the SDK stopped waiting (after %v)", ue.SentAt, before)
	}
	if got, want := ue.SettleAfter(), ue.SentAt.Add(SettleDelay); !got.Equal(want) || SettleDelay < 30*time.Second {
		t.Fatalf("SettleAfter = %v, want SentAt + SettleDelay (%s, at least bKash's 30 s)", got, SettleDelay)
	}
	p := NewPendingRefund(params, err, "RF-OLD")
	if p == nil || p.SentAt != ue.SentAt || p.Amount != Taka(100) || p.Known[0] != "RF-OLD" {
		t.Fatalf("NewPendingRefund = %+v", p)
	}

	// Right after: the status does not list the refund (still running).
	// Find says false; that must not mean "not made".
	st, err := c.Refunds.settleStatus(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Find(p.Amount, p.SKU); ok {
		t.Fatal("setup: the refund is already listed")
	}
	if out, r := p.Settle(st); out != RefundUndecided || r != nil {
		t.Fatalf("Settle right after the unknown outcome = %v, %v; want undecided", out, r)
	}
	// A caller that cannot wait until SettleAfter gets undecided at once.
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	start := time.Now()
	out, r, err := c.Refunds.Settle(ctx, p)
	cancel()
	if out != RefundUndecided || r != nil || err != nil || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("Settle with a 1 s context = %v, %v, %v after %s; want undecided at once", out, r, err, time.Since(start))
	}

	// The same pending refund, sent (as far as the clock knows) almost
	// SettleDelay ago: Settle waits until SettleAfter and reads again; by
	// then the first refund is listed.
	p.SentAt = time.Now().Add(-SettleDelay + 600*time.Millisecond)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, r, err = c.Refunds.Settle(ctx, p)
	if err != nil || out != RefundMade || r == nil || r.RefundTrxID != "RF-NEW" || r.Amount != Taka(100) {
		t.Fatalf("Settle after SettleAfter = %v, %+v, %v; want made, RF-NEW", out, r, err)
	}
	if n := refunds.Load(); n != 1 {
		t.Fatalf("%d refund requests reached bKash, want 1", n)
	}
}

func TestPendingRefundSettle(t *testing.T) {
	t.Parallel()
	sent := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := &PendingRefund{PaymentID: "P", TrxID: "T", Amount: Taka(50), SKU: "a", SentAt: sent, Known: []string{"RF-OLD"}}
	listed := func(askedAt time.Time, rs ...Refund) *RefundStatus {
		return &RefundStatus{Refunds: rs, AskedAt: askedAt}
	}
	early, late := sent.Add(SettleDelay-time.Millisecond), sent.Add(SettleDelay)
	for _, tc := range []struct {
		name  string
		p     *PendingRefund
		st    *RefundStatus
		want  RefundOutcome
		refID string
	}{
		{"listed before SettleAfter", p, listed(sent, Refund{RefundTrxID: "RF-NEW", Amount: Taka(50)}), RefundMade, "RF-NEW"},
		{"listed, not completed yet", p, listed(sent, Refund{RefundTrxID: "RF-NEW", Amount: Taka(50), Status: "Pending"}), RefundMade, "RF-NEW"},
		{"not listed just before SettleAfter", p, listed(early), RefundUndecided, ""},
		{"not listed at SettleAfter", p, listed(late), RefundNotMade, ""},
		{"only a known refund of that amount", p, listed(late, Refund{RefundTrxID: "RF-OLD", Amount: Taka(50)}), RefundNotMade, ""},
		{"only a known refund, early", p, listed(early, Refund{RefundTrxID: "RF-OLD", Amount: Taka(50)}), RefundUndecided, ""},
		{"another amount", p, listed(late, Refund{RefundTrxID: "RF-X", Amount: Taka(49)}), RefundNotMade, ""},
		{"another SKU", p, listed(late, Refund{RefundTrxID: "RF-X", Amount: Taka(50), SKU: "b"}), RefundNotMade, ""},
		{"status read time unknown", p, listed(time.Time{}), RefundUndecided, ""},
		{"nil status", p, nil, RefundUndecided, ""},
		{"send time unknown", &PendingRefund{Amount: Taka(50)}, listed(late.Add(time.Hour)), RefundUndecided, ""},
		{"send time unknown, listed", &PendingRefund{Amount: Taka(50)}, listed(late, Refund{RefundTrxID: "RF-NEW", Amount: Taka(50)}), RefundMade, "RF-NEW"},
	} {
		out, r := tc.p.Settle(tc.st)
		if out != tc.want || (r == nil) != (tc.refID == "") || r != nil && r.RefundTrxID != tc.refID {
			t.Errorf("%s: Settle = %v, %+v; want %v %q", tc.name, out, r, tc.want, tc.refID)
		}
	}
	if (&PendingRefund{}).SettleAfter() != (time.Time{}) || (&OutcomeUnknownError{}).SettleAfter() != (time.Time{}) {
		t.Error("zero SentAt: SettleAfter is not the zero Time")
	}
	if NewPendingRefund(&RefundParams{}, &APIError{Code: "2071"}) != nil || NewPendingRefund(nil, &OutcomeUnknownError{}) != nil {
		t.Error("NewPendingRefund of a definite answer is not nil")
	}
	for o, s := range map[RefundOutcome]string{RefundUndecided: "undecided", RefundMade: "made", RefundNotMade: "not made"} {
		if o.String() != s {
			t.Errorf("%d.String() = %q", o, o.String())
		}
	}
}

// TestRefundSettleReadsNotMadeOnlyAfterSettleAfter: a refund that never
// reached bKash settles as not made, on v1 (2002) and v2 (empty list),
// once SettleAfter has passed; a context error while waiting is returned.
func TestRefundSettleReadsNotMadeOnlyAfterSettleAfter(t *testing.T) {
	t.Parallel()
	for _, api := range []RefundAPI{RefundV1, RefundV2} {
		m := newCoreMock(t)
		status := epRefundStatusV1
		answer := `{"statusCode":"2002","statusMessage":"Invalid Payment ID"}`
		if api == RefundV2 {
			status = epRefundStatusV2
			answer = `{"originalTrxId":"T","originalTrxAmount":"500.00","refundTransactions":[]}`
		}
		m.on(status, func(int, coreReq) (*http.Response, error) { return coreJSON(200, answer), nil })
		c := m.client(WithRefundAPI(api))
		p := &PendingRefund{PaymentID: "P", TrxID: "T", Amount: Taka(50), SentAt: time.Now().Add(-SettleDelay - time.Second)}
		out, r, err := c.Refunds.Settle(context.Background(), p)
		if out != RefundNotMade || r != nil || err != nil {
			t.Errorf("%v: settled long ago = %v, %v, %v; want not made", api, out, r, err)
		}
		p.SentAt = time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		out, _, err = c.Refunds.Settle(ctx, p)
		if out != RefundUndecided || !errors.Is(err, context.Canceled) {
			t.Errorf("%v: cancelled while waiting = %v, %v; want undecided, context.Canceled", api, out, err)
		}
		if _, _, err := c.Refunds.Settle(context.Background(), &PendingRefund{PaymentID: "P", TrxID: "T"}); !errors.As(err, new(*ValidationError)) {
			t.Errorf("%v: no amount: err = %v", api, err)
		}
		if _, _, err := c.Refunds.Settle(context.Background(), nil); !errors.As(err, new(*ValidationError)) {
			t.Errorf("%v: nil: err = %v", api, err)
		}
	}
}

// The request types of agreement.go and refund.go: their exact bodies and
// what they name in logs (payment.go's are in payment_test.go).

func TestRequestBodiesAreExactBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"agreement create", agreementCreateRequest{Mode: modeCreateAgreement, PayerReference: "01929918378", CallbackURL: "https://x.example/cb?a=1&b=2"},
			`{"mode":"0000","payerReference":"01929918378","callbackURL":"https://x.example/cb?a=1&b=2"}`},
		{"agreement execute", paymentIDRequest{PaymentID: "TR0000A"}, `{"paymentID":"TR0000A"}`},
		{"agreement id", agreementIDRequest{AgreementID: "AG\"1"}, `{"agreementID":"AG\"1"}`},
		{"refund v1", refundRequestV1{PaymentID: "P", TrxID: "T", Amount: 1005, SKU: "S", Reason: "line\nঘি \"x\""},
			`{"paymentID":"P","amount":"10.05","trxID":"T","sku":"S","reason":"line\nঘি \"x\""}`},
		{"refund v2", refundRequestV2{PaymentID: "P", TrxID: "T", RefundAmount: 100, SKU: "S", Reason: "R"},
			`{"paymentId":"P","trxId":"T","refundAmount":"1.00","sku":"S","reason":"R"}`},
		{"refund status v1", refundStatusRequestV1{PaymentID: "P", TrxID: "T"}, `{"paymentID":"P","trxID":"T"}`},
		{"refund status v2", refundStatusRequestV2{PaymentID: "P", TrxID: "T"}, `{"paymentId":"P","trxId":"T"}`},
	}
	for _, tt := range tests {
		body, err := encodeBody(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := string(body); got != tt.want {
			t.Errorf("%s: body %s, want %s", tt.name, got, tt.want)
		}
		if !json.Valid(body) {
			t.Errorf("%s: body is not valid JSON", tt.name)
		}
	}
}

func TestLogRefsNameTheObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         logRefer
		key, value string
	}{
		{paymentIDRequest{PaymentID: "TR0000A"}, "paymentID", "TR0000A"},
		{agreementIDRequest{AgreementID: "AG1"}, "agreementID", "AG1"},
		{refundRequestV1{PaymentID: "P", TrxID: "T"}, "paymentID", "P"},
		{refundRequestV2{PaymentID: "P", TrxID: "T"}, "paymentID", "P"},
		{refundStatusRequestV1{PaymentID: "P", TrxID: "T"}, "paymentID", "P"},
		{refundStatusRequestV2{PaymentID: "P", TrxID: "T"}, "paymentID", "P"},
	}
	for _, tt := range tests {
		if k, v := tt.in.logRef(); k != tt.key || v != tt.value {
			t.Errorf("%T.logRef() = %s=%s, want %s=%s", tt.in, k, v, tt.key, tt.value)
		}
	}
	// payerReference is often a wallet number: the create request names nothing.
	if _, ok := any(agreementCreateRequest{}).(logRefer); ok {
		t.Error("agreementCreateRequest must not put payerReference in logs")
	}
}

func TestLooseTimeNeverFailsTheDecode(t *testing.T) {
	t.Parallel()
	var w refundWire
	err := json.Unmarshal([]byte(`{"refundTrxID":"R1","amount":"10.00","completedTime":"13/02/2025 18:30","refundTime":17}`), &w)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	r := refundFrom(&w.refundFields, "", 0, "")
	if r.RefundTrxID != "R1" || r.Amount != 1000 || r.CompletedAt.Raw != "13/02/2025 18:30" || !r.CompletedAt.IsZero() {
		t.Errorf("refund = %+v; want the refund with the unknown time kept raw", r)
	}
}
