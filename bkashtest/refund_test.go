package bkashtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartdairy/bkash-go"
)

func v1Refund(id, trx, amount string) map[string]string {
	return map[string]string{"paymentID": id, "trxID": trx, "amount": amount, "sku": "SKU-1", "reason": "damaged"}
}

func v2Refund(id, trx, amount string) map[string]string {
	return map[string]string{"paymentId": id, "trxId": trx, "refundAmount": amount, "sku": "SKU-1", "reason": "damaged"}
}

func TestRefundsDrawOnOneBalanceAcrossBothAPIs(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := newAPI(t, WithClock(clock.Now), WithTokenLifetime(30*24*time.Hour))
	id, trx := c.paid("150.50", "sale")
	balance, _ := c.srv.WalletBalance(walletOK)

	wantCode(t, "v1 status before any refund", c.call(refundPath, map[string]string{"paymentID": id, "trxID": trx}), http.StatusOK, "2002")

	clock.Advance(48 * time.Hour)
	r1 := mustOK(t, "v1 refund", c.call(refundPath, v1Refund(id, trx, "50.00")))
	want := map[string]any{
		"statusCode": "0000", "statusMessage": "Successful",
		"originalTrxID": trx, "refundTrxID": r1.str("refundTrxID"), "transactionStatus": "Completed",
		"amount": "50.00", "currency": "BDT", "charge": "0.00",
		"completedTime": "2025-01-03T12:30:00:456 GMT+0600",
	}
	if diff := cmp.Diff(want, r1.m); diff != "" {
		t.Errorf("v1 refund (-want +got):\n%s", diff)
	}
	if !reTrxID.MatchString(r1.str("refundTrxID")) || r1.str("refundTrxID") == trx {
		t.Errorf("refundTrxID %q", r1.str("refundTrxID"))
	}
	if got := c.srv.Applied("refund.create"); got != 1 {
		t.Errorf("Applied(refund.create) = %d", got)
	}

	clock.Advance(time.Hour)
	r2 := c.call(v2RefundPath, v2Refund(id, trx, "25"))
	if r2.status != http.StatusOK {
		t.Fatalf("v2 refund: %d %s", r2.status, r2.raw)
	}
	want2 := map[string]any{
		"originalTrxId": trx, "refundTrxId": r2.str("refundTrxId"), "refundTransactionStatus": "Completed",
		"originalTrxAmount": "150.50", "refundAmount": "25", "currency": "BDT",
		"completedTime": "2025-01-03T13:30:00:456 GMT+0600", "sku": "SKU-1", "reason": "damaged",
	}
	if diff := cmp.Diff(want2, r2.m); diff != "" {
		t.Errorf("v2 refund (-want +got):\n%s", diff)
	}

	// 75.50 is left: 75.51 is refused by both APIs, 75.50 passes.
	wantCode(t, "v1 past the balance", c.call(refundPath, v1Refund(id, trx, "75.51")), http.StatusOK, "2026")
	over := c.call(v2RefundPath, v2Refund(id, trx, "75.51"))
	wantCode(t, "v2 past the balance", over, http.StatusBadRequest, "2072")
	if diff := cmp.Diff([]string{"errorMessageBn", "errorMessageEn", "externalCode", "internalCode"}, keys(over.m)); diff != "" {
		t.Errorf("v2 error keys (-want +got):\n%s", diff)
	}
	mustOK(t, "v1 the rest", c.call(refundPath, v1Refund(id, trx, "75.50")))
	wantCode(t, "v1 anything more", c.call(refundPath, v1Refund(id, trx, "1")), http.StatusOK, "2026")

	st := mustOK(t, "v1 status", c.call(refundPath, map[string]string{"paymentID": id, "trxID": trx}))
	if st.str("amount") != "75.50" || st.str("originalTrxID") != trx || st.m["charge"] != "0.00" {
		t.Errorf("v1 status returns the latest refund: %s", st.raw)
	}
	if got := c.srv.Applied("refund.status"); got != 1 {
		t.Errorf("Applied(refund.status) = %d, want 1", got)
	}

	v2s := c.call(v2StatusPath, map[string]string{"paymentId": id, "trxId": trx})
	if v2s.status != http.StatusOK || v2s.str("originalTrxId") != trx || v2s.str("originalTrxAmount") != "150.50" ||
		v2s.str("originalTrxCompletedTime") != "2025-01-01T12:30:00:456 GMT+0600" {
		t.Errorf("v2 status: %d %s", v2s.status, v2s.raw)
	}
	list, _ := v2s.m["refundTransactions"].([]any)
	var amounts []string
	for _, e := range list {
		m := e.(map[string]any)
		amounts = append(amounts, m["refundAmount"].(string))
		if !reTimeNoOff.MatchString(m["completedTime"].(string)) || m["refundTransactionStatus"] != "Completed" || !reTrxID.MatchString(m["refundTrxId"].(string)) {
			t.Errorf("v2 status entry: %v", m)
		}
	}
	if diff := cmp.Diff([]string{"50.00", "25", "75.50"}, amounts); diff != "" {
		t.Errorf("v2 status lists every refund in order (-want +got):\n%s", diff)
	}

	refunds := c.srv.RefundsOf(trx)
	var apis []string
	var total bkash.Amount
	for _, rf := range refunds {
		apis = append(apis, rf.API)
		total += rf.Amount
		if rf.OriginalTrxID != trx || rf.PaymentID != id || rf.SKU != "SKU-1" || rf.Reason != "damaged" {
			t.Errorf("RefundsOf: %+v", rf)
		}
	}
	if diff := cmp.Diff([]string{"v1", "v2", "v1"}, apis); diff != "" || total != bkash.Amount(15050) {
		t.Errorf("RefundsOf: apis %v total %v", apis, total)
	}
	if after, _ := c.srv.WalletBalance(walletOK); after-balance != bkash.Amount(15050) {
		t.Errorf("wallet credited %v, want 150.50", after-balance)
	}
	if st, _ := c.srv.Payment(id); st.Refunded != bkash.Amount(15050) {
		t.Errorf("Payment().Refunded = %v", st.Refunded)
	}

	s := mustOK(t, "search a refund", c.call(searchPath, map[string]string{"trxID": r1.str("refundTrxID")}))
	if s.str("amount") != "50.00" || s.str("originalTrxAmount") != "150.50" || s.m["maxRefundableAmount"] != nil || !reTime.MatchString(s.str("completedTime")) {
		t.Errorf("search of a refund trxID: %s", s.raw)
	}
	if p := mustOK(t, "search the payment", c.call(searchPath, map[string]string{"trxID": trx})); p.str("maxRefundableAmount") != "0.00" {
		t.Errorf("maxRefundableAmount after full refund: %s", p.raw)
	}
}

func TestRefundRefusals(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := newAPI(t, WithClock(clock.Now), WithTokenLifetime(90*24*time.Hour))
	id, trx := c.paid("100", "sale")
	authID, authTrx := c.paid("100", "authorization")
	with := func(k, v string) map[string]string {
		b := v1Refund(id, trx, "10")
		b[k] = v
		return b
	}
	tests := []struct {
		name string
		body map[string]string
		v1   string // v1 code (HTTP 200)
		v2   string // v2 externalCode (HTTP 400)
	}{
		{"unknown payment", with("paymentID", "TR0011nope"), "2002", "2002"},
		{"another trxID", with("trxID", "AAAAAAAAAA"), "2028", "2077"},
		{"three decimals", with("amount", "1.001"), "2006", "2072"},
		{"zero", with("amount", "0"), "2006", "2072"},
		{"no sku", with("sku", ""), "2073", "2073"},
		{"sku too long", with("sku", strings.Repeat("s", 256)), "2075", "2075"},
		{"no reason", with("reason", ""), "2078", "2078"},
		{"reason too long", with("reason", strings.Repeat("r", 256)), "2076", "2076"},
		{"authorized, not captured", v1Refund(authID, authTrx, "10"), "2127", "2127"},
		{"more than paid", with("amount", "100.01"), "2026", "2072"},
	}
	for _, tt := range tests {
		wantCode(t, "v1 "+tt.name, c.call(refundPath, tt.body), http.StatusOK, tt.v1)
		b := tt.body
		v2 := map[string]string{"paymentId": b["paymentID"], "trxId": b["trxID"], "refundAmount": b["amount"], "sku": b["sku"], "reason": b["reason"]}
		wantCode(t, "v2 "+tt.name, c.call(v2RefundPath, v2), http.StatusBadRequest, tt.v2)
	}
	wantCode(t, "v1 without trxID", c.call(refundPath, map[string]string{"paymentID": id, "amount": "1"}), http.StatusOK, "2065")
	wantCode(t, "v2 status of another trx", c.call(v2StatusPath, map[string]string{"paymentId": id, "trxId": "AAAAAAAAAA"}), http.StatusBadRequest, "2077")
	wantCode(t, "v2 status of an unknown payment", c.call(v2StatusPath, map[string]string{"paymentId": "x", "trxId": trx}), http.StatusBadRequest, "2002")
	if got := c.srv.Applied("refund.create"); got != 0 {
		t.Fatalf("Applied(refund.create) = %d after refusals", got)
	}

	for range 10 {
		mustOK(t, "partial refund", c.call(refundPath, v1Refund(id, trx, "1")))
	}
	wantCode(t, "eleventh partial refund", c.call(v2RefundPath, v2Refund(id, trx, "1")), http.StatusBadRequest, "2074")

	other, otherTrx := c.paid("100", "sale")
	clock.Advance(60 * 24 * time.Hour)
	wantCode(t, "refund after 60 days", c.call(refundPath, v1Refund(other, otherTrx, "1")), http.StatusOK, "2071")
}
