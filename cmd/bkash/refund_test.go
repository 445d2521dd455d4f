package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go/bkashtest"
)

var sentAtFlag = regexp.MustCompile(`--sent-at (\S+)`)

// TestRefundSettleDecidesOnlyWhenTheRefundCannotBeInFlight: the advice of
// an uncertain refund said to check "bkash refund status" and refund again
// if it showed nothing, which a refund still running at bKash does not
// show. The advice now names the time until which the refund may still be
// in flight and the settle command, which reports "made" when the refund
// is listed and "not made" only from a status read after that time.
func TestRefundSettleDecidesOnlyWhenTheRefundCannotBeInFlight(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	id, trx := f.paidPayment("60")

	// The answer is lost after the refund was made.
	f.srv.Inject("refund.create", bkashtest.Fault{Drop: true, AfterApply: true})
	r := f.run("refund", "create", "--payment-id", id, "--trx-id", trx, "--amount", "20", "--sku", "S", "--reason", "r")
	if r.code != exitUnknown || !strings.Contains(r.stderr, "Do NOT refund again") || !strings.Contains(r.stderr, "bkash refund settle --payment-id "+id+" --trx-id "+trx+" --amount 20.00") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	m := sentAtFlag.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no --sent-at in the advice:\n%s", r.stderr)
	}
	sent, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil || time.Since(sent) > time.Minute {
		t.Fatalf("--sent-at %q: %v", m[1], err)
	}
	if !strings.Contains(r.stderr, "may still be making it until "+sent.Add(time.Minute).UTC().Format(time.RFC3339)) {
		t.Errorf("advice does not name the settle time:\n%s", r.stderr)
	}
	got := f.ok("refund", "settle", "--payment-id", id, "--trx-id", trx, "--amount", "20", "--sent-at", m[1])
	rf, _ := got["refund"].(map[string]any)
	if got["outcome"] != "made" || rf == nil || rf["amount"] != "20.00" {
		t.Errorf("settle of a made refund: %v", got)
	}

	// The request never reached bKash, and was sent long enough ago.
	id2, trx2 := f.paidPayment("70")
	f.srv.Inject("refund.create", bkashtest.Fault{Drop: true})
	if r := f.run("refund", "create", "--payment-id", id2, "--trx-id", trx2, "--amount", "20", "--sku", "S", "--reason", "r"); r.code != exitUnknown {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	long := time.Now().Add(-2 * time.Minute).UTC().Format(time.RFC3339)
	if got := f.ok("refund", "settle", "--payment-id", id2, "--trx-id", trx2, "--amount", "20", "--sent-at", long); got["outcome"] != "not made" || got["refund"] != nil {
		t.Errorf("settle of a refund never made: %v", got)
	}
	// A refund already recorded (--known) is not taken for the uncertain one.
	if got := f.ok("refund", "settle", "--payment-id", id, "--trx-id", trx, "--amount", "20", "--sent-at", long, "--known", rf["refund_trx_id"].(string)); got["outcome"] != "not made" {
		t.Errorf("settle with the only refund known: %v", got)
	}
	if r := f.run("refund", "settle", "--payment-id", id, "--trx-id", trx, "--amount", "20", "--sent-at", "yesterday"); r.code != exitUsage {
		t.Errorf("bad --sent-at: exit %d", r.code)
	}
	if n := f.srv.Received("refund.create"); n != 2 {
		t.Errorf("refunds received %d, want 2 (one per create)", n)
	}
}
