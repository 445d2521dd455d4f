package bkash_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
)

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
