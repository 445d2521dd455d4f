package bkash_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// Integration tests of refund.go: RefundService against the fake bKash of
// package bkashtest (harness: harness_test.go).

// refundAPIs are the two refund APIs; every test runs against each.
var refundAPIs = []bkash.RefundAPI{bkash.RefundV1, bkash.RefundV2}

func TestTwoPartialRefundsThenStatusAgainstFake(t *testing.T) {
	t.Parallel()
	for _, api := range refundAPIs {
		t.Run(api.String(), func(t *testing.T) {
			t.Parallel()
			srv, client := newIntegration(t, nil, bkash.WithRefundAPI(api))
			ctx := context.Background()
			p := paidPayment(t, srv, client, bkash.Taka(1250)+50)

			amounts := []bkash.Amount{bkash.Taka(200), bkash.Taka(50) + 50}
			var made []*bkash.Refund
			for i, a := range amounts {
				rf, err := client.Refunds.Create(ctx, &bkash.RefundParams{
					PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: a, SKU: "SKU-" + string(rune('A'+i)), Reason: "partial",
				})
				if err != nil {
					t.Fatalf("refund %v: %v", a, err)
				}
				if rf.Amount != a || rf.Status != bkash.StatusCompleted || rf.OriginalTrxID != p.TrxID || rf.RefundTrxID == "" {
					t.Fatalf("refund = %+v; want %v completed of %s", rf, a, p.TrxID)
				}
				made = append(made, rf)
			}
			if got := srv.RefundsOf(p.TrxID); len(got) != 2 || got[0].API != api.String() {
				t.Fatalf("fake holds %+v; want 2 %s refunds", got, api)
			}

			st, err := client.Refunds.Status(ctx, p.PaymentID, p.TrxID)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			if st.OriginalTrxID != p.TrxID {
				t.Errorf("OriginalTrxID = %q, want %q", st.OriginalTrxID, p.TrxID)
			}
			switch api {
			case bkash.RefundV2: // every refund, with the payment's amount
				if len(st.Refunds) != 2 || st.Refunds[0].RefundTrxID != made[0].RefundTrxID || st.Refunds[1].RefundTrxID != made[1].RefundTrxID {
					t.Fatalf("v2 status lists %+v; want both refunds in order", st.Refunds)
				}
				if st.Refunded() != bkash.Taka(250)+50 || st.OriginalAmount != bkash.Taka(1250)+50 || st.OriginalCompletedAt.IsZero() {
					t.Errorf("v2 status: refunded %v of %v (completed %v)", st.Refunded(), st.OriginalAmount, st.OriginalCompletedAt)
				}
				if rf, ok := st.Find(amounts[0], "SKU-A"); !ok || rf.RefundTrxID != made[0].RefundTrxID {
					t.Errorf("Find(first) = %+v, %v", rf, ok)
				}
			case bkash.RefundV1: // one refund: the latest
				if len(st.Refunds) != 1 || st.Refunds[0].RefundTrxID != made[1].RefundTrxID {
					t.Fatalf("v1 status shows %+v; want the latest refund %s", st.Refunds, made[1].RefundTrxID)
				}
			}
			if rf, ok := st.Find(amounts[1], "SKU-B"); !ok || rf.RefundTrxID != made[1].RefundTrxID || rf.CompletedAt.IsZero() {
				t.Errorf("Find(latest) = %+v, %v", rf, ok)
			}
		})
	}
}

func TestRefundExceedingWhatIsLeftIsATypedRefusal(t *testing.T) {
	t.Parallel()
	want := map[bkash.RefundAPI]bkash.ErrorCode{
		bkash.RefundV1: bkash.CodeRefundExceedsOriginal, // 2026
		bkash.RefundV2: bkash.CodeRefundAmountInvalid,   // 2072
	}
	for _, api := range refundAPIs {
		t.Run(api.String(), func(t *testing.T) {
			t.Parallel()
			srv, client := newIntegration(t, nil, bkash.WithRefundAPI(api))
			ctx := context.Background()
			p := paidPayment(t, srv, client, bkash.Taka(100))
			if _, err := client.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: bkash.Taka(60), SKU: "S1", Reason: "r"}); err != nil {
				t.Fatal(err)
			}
			_, err := client.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: bkash.Taka(40) + 1, SKU: "S2", Reason: "r"})
			var ae *bkash.APIError
			if !errors.As(err, &ae) || !errors.Is(err, want[api]) || ae.Class() != bkash.ClassRefund || ae.Temporary() {
				t.Fatalf("err = %v; want %s, class refund", err, string(want[api]))
			}
			if api == bkash.RefundV2 && ae.MessageBn == "" {
				t.Error("v2 refusal without the Bangla message")
			}
			if got := srv.RefundsOf(p.TrxID); len(got) != 1 {
				t.Errorf("fake holds %d refunds, want 1", len(got))
			}
		})
	}
}

func TestRefundWithLostAnswerIsSentOnceAndFoundByStatus(t *testing.T) {
	t.Parallel()
	for _, api := range refundAPIs {
		t.Run(api.String(), func(t *testing.T) {
			t.Parallel()
			srv, client := newIntegration(t, nil, bkash.WithRefundAPI(api))
			ctx := context.Background()
			p := paidPayment(t, srv, client, bkash.Taka(500))
			params := &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: bkash.Taka(120), SKU: "GHEE-250G", Reason: "damaged jar"}

			srv.Inject("refund.create", bkashtest.Fault{Drop: true, AfterApply: true})
			_, err := client.Refunds.Create(ctx, params)
			if !errors.Is(err, bkash.ErrOutcomeUnknown) {
				t.Fatalf("err = %v, want an unknown outcome", err)
			}
			if r, a := srv.Received("refund.create"), srv.Applied("refund.create"); r != 1 || a != 1 {
				t.Fatalf("refund.create received %d, applied %d; want 1 and 1", r, a)
			}
			st, err := client.Refunds.Status(ctx, p.PaymentID, p.TrxID)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			rf, ok := st.Find(params.Amount, params.SKU)
			if !ok || rf.Status != bkash.StatusCompleted || rf.RefundTrxID != srv.RefundsOf(p.TrxID)[0].RefundTrxID {
				t.Fatalf("Find = %+v, %v; want the refund the fake made", rf, ok)
			}
		})
	}
}

func TestRefundDroppedBeforeProcessingIsNotFoundAndMayBeSentAgain(t *testing.T) {
	t.Parallel()
	for _, api := range refundAPIs {
		t.Run(api.String(), func(t *testing.T) {
			t.Parallel()
			srv, client := newIntegration(t, nil, bkash.WithRefundAPI(api))
			ctx := context.Background()
			p := paidPayment(t, srv, client, bkash.Taka(500))
			params := &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: p.TrxID, Amount: bkash.Taka(120), SKU: "GHEE-250G", Reason: "damaged jar"}

			srv.Inject("refund.create", bkashtest.Fault{Drop: true})
			if _, err := client.Refunds.Create(ctx, params); !errors.Is(err, bkash.ErrOutcomeUnknown) {
				t.Fatalf("err = %v, want an unknown outcome", err)
			}
			st, err := client.Refunds.Status(ctx, p.PaymentID, p.TrxID)
			switch api {
			case bkash.RefundV1: // v1 answers 2002 for a payment without refunds
				if !errors.Is(err, bkash.CodeInvalidPaymentID) {
					t.Fatalf("v1 Status = %+v, %v; want 2002", st, err)
				}
			case bkash.RefundV2:
				if err != nil {
					t.Fatal(err)
				}
				if rf, ok := st.Find(params.Amount, params.SKU); ok || st.Refunded() != 0 {
					t.Fatalf("Find = %+v, %v, refunded %v; want nothing", rf, ok, st.Refunded())
				}
			}
			if _, err := client.Refunds.Create(ctx, params); err != nil {
				t.Fatalf("refund again: %v", err)
			}
			if got := srv.RefundsOf(p.TrxID); len(got) != 1 || got[0].Amount != params.Amount {
				t.Errorf("fake holds %+v; want one refund of %v", got, params.Amount)
			}
		})
	}
}

func TestIntegrationRefunds(t *testing.T) {
	t.Parallel()
	for _, api := range []bkash.RefundAPI{bkash.RefundV1, bkash.RefundV2} {
		t.Run(api.String(), func(t *testing.T) {
			t.Parallel()
			srv, client := newIntegration(t, nil, bkash.WithRefundAPI(api))
			ctx := context.Background()
			p := approved(t, srv, client, saleParams(bkash.Taka(150)+bkash.Poisha(50), bkash.IntentSale))
			e, err := client.Payments.Execute(ctx, p.PaymentID)
			if err != nil {
				t.Fatal(err)
			}
			r1, err := client.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: e.TrxID, Amount: bkash.Taka(50), SKU: "SKU-1", Reason: "damaged"})
			if err != nil || r1.RefundTrxID == "" || r1.Amount != bkash.Taka(50) || r1.OriginalTrxID != e.TrxID || r1.Status != bkash.StatusCompleted || r1.CompletedAt.IsZero() {
				t.Fatalf("Create: %+v, %v", r1, err)
			}
			r2, err := client.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: e.TrxID, Amount: bkash.Taka(100), SKU: "SKU-2", Reason: "damaged"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: e.TrxID, Amount: bkash.Poisha(51), SKU: "SKU-3", Reason: "damaged"})
			want := bkash.CodeRefundExceedsOriginal
			if api == bkash.RefundV2 {
				want = bkash.CodeRefundAmountInvalid
			}
			if ae := wantAPIError(t, "refund past the balance", err, want); ae != nil && api == bkash.RefundV2 && (ae.HTTPStatus != http.StatusBadRequest || ae.MessageBn == "") {
				t.Errorf("v2 error: %+v", ae)
			}

			st, err := client.Refunds.Status(ctx, p.PaymentID, e.TrxID)
			if err != nil {
				t.Fatal(err)
			}
			if api == bkash.RefundV2 {
				if len(st.Refunds) != 2 || st.Refunded() != bkash.Taka(150) || st.OriginalAmount != p.Amount {
					t.Errorf("v2 Status: %+v", st)
				}
			} else if len(st.Refunds) != 1 || st.Refunds[0].RefundTrxID != r2.RefundTrxID {
				t.Errorf("v1 Status (the latest refund): %+v", st)
			}
			if got := srv.RefundsOf(e.TrxID); len(got) != 2 {
				t.Errorf("the fake holds %d refunds", len(got))
			}
			if tx, err := client.Payments.Search(ctx, r1.RefundTrxID); err != nil || tx.Amount != bkash.Taka(50) || tx.OriginalTrxAmount != p.Amount {
				t.Errorf("Search of a refund: %+v, %v", tx, err)
			}
		})
	}
}

func TestIntegrationRefundOutcomeUnknown(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()
	p := approved(t, srv, client, saleParams(bkash.Taka(100), bkash.IntentSale))
	e, err := client.Payments.Execute(ctx, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject("refund.create", bkashtest.Fault{Drop: true, AfterApply: true})
	params := &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: e.TrxID, Amount: bkash.Taka(40), SKU: "SKU-9", Reason: "late"}
	_, err = client.Refunds.Create(ctx, params)
	wantUnknown(t, "refund with a lost answer", err)
	if srv.Received("refund.create") != 1 {
		t.Errorf("refund sent %d times", srv.Received("refund.create"))
	}
	st, err := client.Refunds.Status(ctx, p.PaymentID, e.TrxID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Find(bkash.Taka(40), "SKU-9"); !ok {
		t.Errorf("Status does not show the refund that went through: %+v", st)
	}
}

// TestRefundStatusThatListsNothingDoesNotSettleAsNotMade: a refund whose
// outcome is unknown is settled from the refund status. A status answer
// that names neither the payment's transaction (with v2's list of refunds,
// [] when there is none) nor a refund (v1's refundTrxID; v1 answers 2002
// when there is none), such as an empty object, a bare success envelope or
// an error shape bKash does not use, says nothing about the refund. Read
// as "no refunds" after SettleAfter it was RefundNotMade, and the shop
// refunded a second time.
func TestRefundStatusThatListsNothingDoesNotSettleAsNotMade(t *testing.T) {
	t.Parallel()
	for _, api := range []bkash.RefundAPI{bkash.RefundV1, bkash.RefundV2} {
		for _, body := range []string{
			`{}`,
			`null`,
			`{"statusCode":"0000","statusMessage":"Successful"}`,
			`{"refundTransactions":null}`,
			`{"internalCode":"REFUND_STATUS_FAILED","errorMessageEn":"Could not read the refund status"}`,
		} {
			m := newMockBkash(t, bkash.WithRefundAPI(api))
			path := pathRefundV1
			if api == bkash.RefundV2 {
				path = pathRefundStatusV2
			}
			m.replies(path, http.StatusOK, body)
			p := &bkash.PendingRefund{PaymentID: refPaymentID, TrxID: refTrxID, Amount: bkash.Taka(200),
				SentAt: time.Now().Add(-2 * bkash.SettleDelay)}
			out, _, err := m.client.Refunds.Settle(context.Background(), p)
			if out != bkash.RefundUndecided || err == nil {
				t.Errorf("%v, status %s: Settle = %v, %v; want undecided with an error", api, body, out, err)
			}
		}
	}
}

// TestRefund503AfterApplySettlesAsMade: a refund that bKash made and
// answered 503 (v1 and v2) is pending, never "not made": the status read
// that follows may itself be answered 503 (Settle then returns an error and
// undecided), and once it answers, Settle finds the refund. Create is never
// sent a second time.
func TestRefund503AfterApplySettlesAsMade(t *testing.T) {
	t.Parallel()
	for _, api := range []bkash.RefundAPI{bkash.RefundV1, bkash.RefundV2} {
		t.Run(api.String(), func(t *testing.T) {
			t.Parallel()
			srv, c := newIntegration(t, nil, bkash.WithRefundAPI(api))
			p := createPayment(t, c, "INV-RF503-"+api.String())
			if err := srv.Approve(p.PaymentID, fakeWallet); err != nil {
				t.Fatal(err)
			}
			ex, err := c.Payments.Execute(context.Background(), p.PaymentID)
			if err != nil {
				t.Fatal(err)
			}
			params := &bkash.RefundParams{PaymentID: p.PaymentID, TrxID: ex.TrxID, Amount: bkash.Taka(50), SKU: "SKU-1", Reason: "damaged"}
			srv.Inject("refund.create", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, AfterApply: true})
			_, err = c.Refunds.Create(context.Background(), params)
			pending := bkash.NewPendingRefund(params, err)
			if pending == nil || pending.SentAt.IsZero() {
				t.Fatalf("Create err = %v: want an unknown outcome with SentAt (pending %+v)", err, pending)
			}
			var ae *bkash.APIError
			if errors.As(err, &ae) && ae.Temporary() {
				t.Fatalf("Create err = %v is Temporary: callers re-send on that", err)
			}
			// Every status read of the first Settle (3 attempts) is a 503.
			srv.Inject("refund.status", bkashtest.Fault{HTTPStatus: http.StatusServiceUnavailable, Times: 3})
			out, _, err := c.Refunds.Settle(context.Background(), pending)
			if out != bkash.RefundUndecided || err == nil {
				t.Fatalf("Settle while status answers 503 = %v, %v; want undecided with an error", out, err)
			}
			out, rf, err := c.Refunds.Settle(context.Background(), pending)
			if err != nil || out != bkash.RefundMade || rf == nil || rf.Amount != bkash.Taka(50) {
				t.Fatalf("Settle = %v, %+v, %v; want made, Tk 50", out, rf, err)
			}
			if n := srv.Received("refund.create"); n != 1 {
				t.Fatalf("refund.create received %d times, want 1", n)
			}
			if n := len(srv.RefundsOf(ex.TrxID)); n != 1 {
				t.Fatalf("%d refunds made, want 1", n)
			}
		})
	}
}

// TestAttackRetryPolicyZeroBaseDelayWithSmallMaxDelay: "a zero field takes
// its default" (257da28). A caller who only caps the wait,
// RetryPolicy{MaxDelay: 50ms}, gets NewClient's error "BaseDelay is larger
// than MaxDelay" for a BaseDelay they never set: the default 200ms is
// filled in without regard to the MaxDelay they gave. A zero BaseDelay must
// fit under the given MaxDelay (min(200ms, MaxDelay)).
