package bkash_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/smartdairy/bkash-go"
)

// Unit tests of refund.go through the exported API, on the httpmock harness
// of harness_test.go: the exact request bodies, how each answer decodes,
// and what an odd answer becomes. The flows against the fake bKash are in
// refund_integration_test.go; the tests of unexported code (settling a
// refund, the request types) are in refund_internal_test.go.

// The payment the refund tests refund (see testdata/refund).
const (
	refPaymentID = "TR0011Rf2Dm8Q1739181900044"
	refTrxID     = "CMF3H5J7KA"
)

// milkRefund is a refund of 200.00 of the refund tests' payment.
func milkRefund() *bkash.RefundParams {
	return &bkash.RefundParams{PaymentID: refPaymentID, TrxID: refTrxID, Amount: bkash.Taka(200), SKU: "MILK-1L", Reason: "leaking carton"}
}

func TestRefundRequestBodiesMatchGolden(t *testing.T) {
	t.Parallel()
	ghee := &bkash.RefundParams{PaymentID: refPaymentID, TrxID: refTrxID, Amount: bkash.Taka(300) + bkash.Poisha(25),
		SKU: "GHEE-250G", Reason: "customer changed mind: \"too oily\" — ঘি ফেরত"}
	tests := []struct {
		name    string
		api     bkash.RefundAPI
		path    string
		fixture string
		call    func(context.Context, *bkash.Client) error
		golden  string
	}{
		{"v1 create", bkash.RefundV1, pathRefundV1, "refund/v1_create_ok.json", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Refunds.Create(ctx, milkRefund())
			return err
		}, "refund_v1_create.json"},
		{"v1 status", bkash.RefundV1, pathRefundV1, "refund/v1_status_ok.json", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Refunds.Status(ctx, refPaymentID, refTrxID)
			return err
		}, "refund_v1_status.json"},
		{"v2 create", bkash.RefundV2, pathRefundV2, "refund/v2_create_ok.json", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Refunds.Create(ctx, ghee)
			return err
		}, "refund_v2_create.json"},
		{"v2 status", bkash.RefundV2, pathRefundStatusV2, "refund/v2_status_partials.json", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Refunds.Status(ctx, refPaymentID, refTrxID)
			return err
		}, "refund_v2_status.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMockBkash(t, bkash.WithRefundAPI(tt.api))
			m.reply(tt.path, http.StatusOK, tt.fixture)
			if err := tt.call(context.Background(), m.client); err != nil {
				t.Fatalf("call: %v", err)
			}
			sent := m.sent(tt.path)
			if len(sent) != 1 {
				t.Fatalf("%d requests to %s, want 1", len(sent), tt.path)
			}
			checkGoldenBody(t, sent[0], tt.golden)
		})
	}
}

func TestRefundCreateDecodesEveryField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		api     bkash.RefundAPI
		path    string
		fixture string
		params  *bkash.RefundParams
		want    *bkash.Refund
	}{{
		name: "v1 with statusCode", api: bkash.RefundV1, path: pathRefundV1, fixture: "refund/v1_create_ok.json",
		params: milkRefund(),
		want: &bkash.Refund{
			RefundTrxID: "CMG4J6L8MB", OriginalTrxID: "CMF3H5J7KA", Amount: bkash.Taka(200), Charge: 0, Currency: "BDT",
			Status:      bkash.StatusCompleted,
			CompletedAt: bkTime("2025-02-10T16:05:41:318 GMT+0600", 2025, 2, 10, 16, 5, 41, 318, 6),
			// v1 echoes neither: they are what was sent.
			SKU: "MILK-1L", Reason: "leaking carton",
		},
	}, {
		name: "v1 2021 shape without statusCode", api: bkash.RefundV1, path: pathRefundV1, fixture: "refund/v1_create_no_status.json",
		params: &bkash.RefundParams{PaymentID: "TR0011Old1614849300000", TrxID: "8C4D5E6F7G", Amount: bkash.Taka(5), SKU: "s", Reason: "r"},
		want: &bkash.Refund{
			RefundTrxID: "8C4D5E9H1J", OriginalTrxID: "8C4D5E6F7G", Amount: bkash.Taka(5), Charge: bkash.Poisha(50), Currency: "BDT",
			Status:      bkash.StatusCompleted,
			CompletedAt: bkTime("2021-03-04T09:15:07:902 GMT+0000", 2021, 3, 4, 9, 15, 7, 902, 0),
			SKU:         "s", Reason: "r",
		},
	}, {
		name: "minimal answer", api: bkash.RefundV1, path: pathRefundV1, fixture: "refund/v1_create_minimal.json",
		params: milkRefund(),
		want: &bkash.Refund{
			// What bKash left out and the SDK knows comes from the request;
			// the amount never does.
			RefundTrxID: "CMG4J6L8MB", OriginalTrxID: refTrxID, Amount: 0,
			Status: bkash.StatusCompleted, SKU: "MILK-1L", Reason: "leaking carton",
		},
	}, {
		name: "v2, completedTime without offset", api: bkash.RefundV2, path: pathRefundV2, fixture: "refund/v2_create_ok.json",
		params: &bkash.RefundParams{PaymentID: refPaymentID, TrxID: refTrxID, Amount: bkash.Taka(300) + 25, SKU: "sent-sku", Reason: "sent reason"},
		want: &bkash.Refund{
			RefundTrxID: "CMJ6L8N0PD", OriginalTrxID: "CMF3H5J7KA", Amount: bkash.Taka(300) + 25, Currency: "BDT",
			Status: bkash.StatusCompleted,
			// No offset on the wire: Bangladesh time.
			CompletedAt: bkTime("2025-02-12T18:30:59:000", 2025, 2, 12, 18, 30, 59, 0, 6),
			SKU:         "GHEE-250G", Reason: "customer changed mind", // bKash's echo wins
			OriginalAmount: bkash.Taka(1250) + 50,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMockBkash(t, bkash.WithRefundAPI(tt.api))
			m.reply(tt.path, http.StatusOK, tt.fixture)
			got, err := m.client.Refunds.Create(context.Background(), tt.params)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpTime); diff != "" {
				t.Errorf("Refund (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefundStatusDecodesEveryField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		api     bkash.RefundAPI
		path    string
		fixture string
		want    *bkash.RefundStatus
	}{{
		name: "v1 answers one refund", api: bkash.RefundV1, path: pathRefundV1, fixture: "refund/v1_status_ok.json",
		want: &bkash.RefundStatus{
			OriginalTrxID: "CMF3H5J7KA",
			Refunds: []bkash.Refund{{
				RefundTrxID: "CMG4J6L8MB", OriginalTrxID: "CMF3H5J7KA", Amount: bkash.Taka(200), Currency: "BDT",
				Status:      bkash.StatusCompleted,
				CompletedAt: bkTime("2025-02-10T16:05:41:318 GMT+0600", 2025, 2, 10, 16, 5, 41, 318, 6),
			}},
		},
	}, {
		name: "v1 answer listing refunds", api: bkash.RefundV1, path: pathRefundV1, fixture: "refund/v1_status_list.json",
		want: &bkash.RefundStatus{
			OriginalTrxID: "CMF3H5J7KA", OriginalAmount: bkash.Taka(1250) + 50,
			Refunds: []bkash.Refund{{
				RefundTrxID: "CMG4J6L8MB", OriginalTrxID: "CMF3H5J7KA", Amount: bkash.Taka(200), Currency: "BDT",
				Status:      bkash.StatusCompleted,
				CompletedAt: bkTime("2025-02-10T16:05:41:318 GMT+0600", 2025, 2, 10, 16, 5, 41, 318, 6),
				SKU:         "MILK-1L", Reason: "leaking carton", OriginalAmount: bkash.Taka(1250) + 50,
			}, {
				RefundTrxID: "CMH5K7M9NC", OriginalTrxID: "CMF3H5J7KA", Amount: bkash.Taka(50) + 50, Currency: "BDT",
				Status:      bkash.StatusCompleted,
				CompletedAt: bkTime("2025-02-11T10:00:02:001 GMT+0600", 2025, 2, 11, 10, 0, 2, 1, 6),
				SKU:         "CURD-500G", Reason: "expired on delivery", OriginalAmount: bkash.Taka(1250) + 50,
			}},
		},
	}, {
		name: "v2 with several partial refunds", api: bkash.RefundV2, path: pathRefundStatusV2, fixture: "refund/v2_status_partials.json",
		want: &bkash.RefundStatus{
			OriginalTrxID: "CMF3H5J7KA", OriginalAmount: bkash.Taka(1250) + 50,
			OriginalCompletedAt: bkTime("2025-02-10T11:25:07:660 GMT+0600", 2025, 2, 10, 11, 25, 7, 660, 6),
			Refunds: []bkash.Refund{{
				RefundTrxID: "CMG4J6L8MB", OriginalTrxID: "CMF3H5J7KA", Amount: bkash.Taka(200),
				Status:         bkash.StatusCompleted,
				CompletedAt:    bkTime("2025-02-10T16:05:41:000", 2025, 2, 10, 16, 5, 41, 0, 6),
				OriginalAmount: bkash.Taka(1250) + 50,
			}, {
				RefundTrxID: "CMJ6L8N0PD", OriginalTrxID: "CMF3H5J7KA", Amount: bkash.Taka(300) + 25,
				Status:         bkash.StatusCompleted,
				CompletedAt:    bkTime("2025-02-12T18:30:59:000", 2025, 2, 12, 18, 30, 59, 0, 6),
				OriginalAmount: bkash.Taka(1250) + 50,
			}, {
				RefundTrxID: "CMK7M9P1QE", OriginalTrxID: "CMF3H5J7KA", Amount: bkash.Taka(20),
				Status:         "Pending", // passed through verbatim
				OriginalAmount: bkash.Taka(1250) + 50,
			}},
		},
	}, {
		name: "v2 without refunds", api: bkash.RefundV2, path: pathRefundStatusV2, fixture: "refund/v2_status_empty.json",
		want: &bkash.RefundStatus{
			OriginalTrxID: "CMF3H5J7KA", OriginalAmount: bkash.Taka(1250) + 50,
			OriginalCompletedAt: bkTime("2025-02-10T11:25:07:660 GMT+0600", 2025, 2, 10, 11, 25, 7, 660, 6),
			Refunds:             []bkash.Refund{},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMockBkash(t, bkash.WithRefundAPI(tt.api))
			m.reply(tt.path, http.StatusOK, tt.fixture)
			before := time.Now()
			got, err := m.client.Refunds.Status(context.Background(), refPaymentID, refTrxID)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			if got.AskedAt.Before(before) || got.AskedAt.After(time.Now()) {
				t.Errorf("AskedAt = %v, want the time of the request", got.AskedAt)
			}
			got.AskedAt = time.Time{}
			if diff := cmp.Diff(tt.want, got, cmpTime); diff != "" {
				t.Errorf("RefundStatus (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefundV2ErrorEnvelopeIsAPIErrorWithBanglaMessage(t *testing.T) {
	t.Parallel()
	m := newMockBkash(t, bkash.WithRefundAPI(bkash.RefundV2))
	m.reply(pathRefundV2, http.StatusBadRequest, "refund/v2_error_2071.json")
	_, err := m.client.Refunds.Create(context.Background(), milkRefund())
	var ae *bkash.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %T %v, want *APIError", err, err)
	}
	want := &bkash.APIError{
		Op: "refund.create", HTTPStatus: http.StatusBadRequest, Code: bkash.CodeRefundWindowExpired,
		Message: "Refund after specified days not allowed", MessageBn: "নির্ধারিত দিনের পর রিফান্ড করা যাবে না", Attempts: 1,
	}
	if diff := cmp.Diff(want, ae); diff != "" {
		t.Errorf("APIError (-want +got):\n%s", diff)
	}
	if !errors.Is(err, bkash.CodeRefundWindowExpired) || ae.Class() != bkash.ClassRefund {
		t.Errorf("errors.Is(2071) = %v, class %v; want true, refund", errors.Is(err, bkash.CodeRefundWindowExpired), ae.Class())
	}
	if len(m.sent(pathRefundV2)) != 1 {
		t.Errorf("sent %d times, want 1", len(m.sent(pathRefundV2)))
	}
}

func TestRefundIsNeverResentWhenTheOutcomeIsUnknown(t *testing.T) {
	t.Parallel()
	failures := []struct {
		name   string
		answer func() (*http.Response, error)
	}{
		{"connection reset after sending", func() (*http.Response, error) {
			return nil, errors.New("read tcp 10.0.0.1:443: connection reset by peer")
		}},
		{"timeout after sending", func() (*http.Response, error) {
			return nil, fmt.Errorf("awaiting headers: %w", context.DeadlineExceeded)
		}},
		{"502 from a proxy", func() (*http.Response, error) {
			return httpmock.NewStringResponse(http.StatusBadGateway, "<html><body>502 Bad Gateway</body></html>"), nil
		}},
		{"truncated JSON", func() (*http.Response, error) {
			return httpmock.NewStringResponse(http.StatusOK, `{"statusCode":"0000","refundTrxID":"CMG4`), nil
		}},
		{"empty v2-style object", func() (*http.Response, error) {
			return httpmock.NewStringResponse(http.StatusOK, `{}`), nil
		}},
	}
	for _, api := range []struct {
		api  bkash.RefundAPI
		path string
	}{{bkash.RefundV1, pathRefundV1}, {bkash.RefundV2, pathRefundV2}} {
		for _, f := range failures {
			t.Run(api.api.String()+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				m := newMockBkash(t, bkash.WithRefundAPI(api.api))
				m.on(api.path, func([]byte) (*http.Response, error) { return f.answer() })
				rf, err := m.client.Refunds.Create(context.Background(), milkRefund())
				if rf != nil {
					t.Errorf("Create returned a refund %+v with an unknown outcome", rf)
				}
				var ou *bkash.OutcomeUnknownError
				if !errors.As(err, &ou) || !errors.Is(err, bkash.ErrOutcomeUnknown) {
					t.Fatalf("err = %T %v, want *OutcomeUnknownError", err, err)
				}
				if ou.Op != "refund.create" {
					t.Errorf("Op = %q, want refund.create", ou.Op)
				}
				if !strings.Contains(err.Error(), "call Refunds.Settle before refunding again") {
					t.Errorf("error %q does not tell the caller to call Refunds.Settle", err)
				}
				if ou.SentAt.IsZero() || !ou.SettleAfter().Equal(ou.SentAt.Add(bkash.SettleDelay)) {
					t.Errorf("SentAt %v, SettleAfter %v", ou.SentAt, ou.SettleAfter())
				}
				if n := len(m.sent(api.path)); n != 1 {
					t.Errorf("refund sent %d times, want exactly 1", n)
				}
			})
		}
	}
}

func TestRefundCancelledContextAfterSendingIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	m := newMockBkash(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	m.on(pathRefundV1, func([]byte) (*http.Response, error) {
		select { // bKash is slow: the caller's deadline passes first
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Second):
			return nil, errors.New("test deadline did not fire")
		}
	})
	_, err := m.client.Refunds.Create(ctx, milkRefund())
	if !errors.Is(err, bkash.ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want an outcome-unknown error wrapping context.DeadlineExceeded", err)
	}
	if n := len(m.sent(pathRefundV1)); n != 1 {
		t.Errorf("refund sent %d times, want exactly 1", n)
	}
}

func TestRefundStatusIsRetriedAsARead(t *testing.T) {
	t.Parallel()
	m := newMockBkash(t, bkash.WithRefundAPI(bkash.RefundV2))
	var mu sync.Mutex
	n := 0
	m.on(pathRefundStatusV2, func([]byte) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		if n++; n == 1 {
			return nil, errors.New("connection reset by peer")
		}
		return httpmock.NewBytesResponse(http.StatusOK, readTestdata(t, "refund/v2_status_empty.json")), nil
	})
	st, err := m.client.Refunds.Status(context.Background(), refPaymentID, refTrxID)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if len(m.sent(pathRefundStatusV2)) != 2 || st.OriginalTrxID != refTrxID {
		t.Errorf("sent %d times (want 2), status %+v", len(m.sent(pathRefundStatusV2)), st)
	}
}

func TestRefundInputIsValidatedBeforeSending(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 256)
	tests := []struct {
		name   string
		mutate func(*bkash.RefundParams)
		field  string
	}{
		{"empty paymentID", func(p *bkash.RefundParams) { p.PaymentID = "" }, "RefundParams.PaymentID"},
		{"blank paymentID", func(p *bkash.RefundParams) { p.PaymentID = "  " }, "RefundParams.PaymentID"},
		{"empty trxID", func(p *bkash.RefundParams) { p.TrxID = "" }, "RefundParams.TrxID"},
		{"zero amount", func(p *bkash.RefundParams) { p.Amount = 0 }, "RefundParams.Amount"},
		{"negative amount", func(p *bkash.RefundParams) { p.Amount = -bkash.Taka(1) }, "RefundParams.Amount"},
		{"empty SKU", func(p *bkash.RefundParams) { p.SKU = "" }, "RefundParams.SKU"},
		{"SKU over 255", func(p *bkash.RefundParams) { p.SKU = long }, "RefundParams.SKU"},
		{"SKU with <", func(p *bkash.RefundParams) { p.SKU = "<b>" }, "RefundParams.SKU"},
		{"SKU with &", func(p *bkash.RefundParams) { p.SKU = "milk&curd" }, "RefundParams.SKU"},
		{"empty reason", func(p *bkash.RefundParams) { p.Reason = "" }, "RefundParams.Reason"},
		{"reason over 255", func(p *bkash.RefundParams) { p.Reason = long }, "RefundParams.Reason"},
		{"reason with >", func(p *bkash.RefundParams) { p.Reason = "a > b" }, "RefundParams.Reason"},
	}
	for _, api := range []bkash.RefundAPI{bkash.RefundV1, bkash.RefundV2} {
		for _, tt := range tests {
			t.Run(api.String()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				m := newMockBkash(t, bkash.WithRefundAPI(api))
				p := milkRefund()
				tt.mutate(p)
				_, err := m.client.Refunds.Create(context.Background(), p)
				var ve *bkash.ValidationError
				if !errors.As(err, &ve) || ve.Field != tt.field {
					t.Fatalf("err = %v, want *ValidationError on %s", err, tt.field)
				}
				if n := m.calls(); n != 0 {
					t.Errorf("%d requests reached the transport, want 0", n)
				}
			})
		}
	}
	t.Run("255 characters of Bangla are accepted", func(t *testing.T) {
		t.Parallel()
		m := newMockBkash(t)
		m.reply(pathRefundV1, http.StatusOK, "refund/v1_create_ok.json")
		p := milkRefund()
		p.Reason = strings.Repeat("ঘ", 255)
		if _, err := m.client.Refunds.Create(context.Background(), p); err != nil {
			t.Fatalf("Create: %v", err)
		}
	})
	t.Run("nil params", func(t *testing.T) {
		t.Parallel()
		m := newMockBkash(t)
		_, err := m.client.Refunds.Create(context.Background(), nil)
		var ve *bkash.ValidationError
		if !errors.As(err, &ve) || m.calls() != 0 {
			t.Fatalf("err = %v after %d calls, want *ValidationError and no call", err, m.calls())
		}
	})
	for _, ids := range [][2]string{{"", refTrxID}, {refPaymentID, ""}} {
		t.Run(fmt.Sprintf("status %q %q", ids[0], ids[1]), func(t *testing.T) {
			t.Parallel()
			m := newMockBkash(t)
			_, err := m.client.Refunds.Status(context.Background(), ids[0], ids[1])
			var ve *bkash.ValidationError
			if !errors.As(err, &ve) || m.calls() != 0 {
				t.Fatalf("err = %v after %d calls, want *ValidationError and no call", err, m.calls())
			}
		})
	}
}

// refundLedger plays bKash's refund endpoints for one payment of 1250.50:
// it keeps the refunds made and answers status the way each API does.
type refundLedger struct {
	mu      sync.Mutex
	refunds []ledgerRefund
}

// ledgerRefund is one refund the ledger made.
type ledgerRefund struct{ trxID, amount, sku, reason string }

// serve registers the ledger as m's answer to the v1 and v2 refund paths.
func (l *refundLedger) serve(m *mockBkash) {
	refund := func(amount, sku, reason string) ledgerRefund {
		l.mu.Lock()
		defer l.mu.Unlock()
		r := ledgerRefund{fmt.Sprintf("CRF%07d", len(l.refunds)+1), amount, sku, reason}
		l.refunds = append(l.refunds, r)
		return r
	}
	snapshot := func() []ledgerRefund {
		l.mu.Lock()
		defer l.mu.Unlock()
		return append([]ledgerRefund(nil), l.refunds...)
	}
	decode := func(body []byte) map[string]string {
		var v map[string]string
		if err := json.Unmarshal(body, &v); err != nil {
			m.t.Errorf("request body %s: %v", body, err)
		}
		return v
	}
	ok := func(s string) (*http.Response, error) { return httpmock.NewStringResponse(http.StatusOK, s), nil }
	// v1: one path; a body without amount asks for the status, which shows
	// one refund, the latest.
	m.on(pathRefundV1, func(body []byte) (*http.Response, error) {
		v := decode(body)
		if v["amount"] != "" {
			r := refund(v["amount"], v["sku"], v["reason"])
			return ok(fmt.Sprintf(`{"statusCode":"0000","statusMessage":"Successful","originalTrxID":%q,"refundTrxID":%q,"transactionStatus":"Completed","amount":%q,"currency":"BDT","charge":"0.00","completedTime":"2025-02-10T16:05:41:318 GMT+0600"}`,
				v["trxID"], r.trxID, r.amount))
		}
		rs := snapshot()
		if len(rs) == 0 {
			return ok(`{"statusCode":"2002","statusMessage":"Invalid Payment ID"}`)
		}
		r := rs[len(rs)-1]
		return ok(fmt.Sprintf(`{"statusCode":"0000","statusMessage":"Successful","originalTrxID":%q,"refundTrxID":%q,"transactionStatus":"Completed","amount":%q,"currency":"BDT","charge":"0.00","completedTime":"2025-02-10T16:05:41:318 GMT+0600"}`,
			v["trxID"], r.trxID, r.amount))
	})
	m.on(pathRefundV2, func(body []byte) (*http.Response, error) {
		v := decode(body)
		r := refund(v["refundAmount"], v["sku"], v["reason"])
		return ok(fmt.Sprintf(`{"originalTrxId":%q,"refundTrxId":%q,"refundTransactionStatus":"Completed","originalTrxAmount":"1250.50","refundAmount":%q,"currency":"BDT","completedTime":"2025-02-12T18:30:59:000","sku":%q,"reason":%q}`,
			v["trxId"], r.trxID, r.amount, r.sku, r.reason))
	})
	m.on(pathRefundStatusV2, func(body []byte) (*http.Response, error) {
		v := decode(body)
		var list []string
		for _, r := range snapshot() {
			list = append(list, fmt.Sprintf(`{"refundTrxId":%q,"refundTransactionStatus":"Completed","refundAmount":%q,"completedTime":"2025-02-12T18:30:59:000"}`, r.trxID, r.amount))
		}
		return ok(fmt.Sprintf(`{"originalTrxId":%q,"originalTrxAmount":"1250.50","originalTrxCompletedTime":"2025-02-10T11:25:07:660 GMT+0600","refundTransactions":[%s]}`,
			v["trxId"], strings.Join(list, ",")))
	})
}

func TestTwoPartialRefundsThenStatus(t *testing.T) {
	t.Parallel()
	first := &bkash.RefundParams{PaymentID: refPaymentID, TrxID: refTrxID, Amount: bkash.Taka(200), SKU: "MILK-1L", Reason: "leaking carton"}
	second := &bkash.RefundParams{PaymentID: refPaymentID, TrxID: refTrxID, Amount: bkash.Taka(50) + 50, SKU: "CURD-500G", Reason: "expired"}

	t.Run("v2 lists both", func(t *testing.T) {
		t.Parallel()
		m := newMockBkash(t, bkash.WithRefundAPI(bkash.RefundV2))
		(&refundLedger{}).serve(m)
		ctx := context.Background()
		r1, err := m.client.Refunds.Create(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := m.client.Refunds.Create(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		st, err := m.client.Refunds.Status(ctx, refPaymentID, refTrxID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range st.Refunds {
			ids = append(ids, r.RefundTrxID)
		}
		if diff := cmp.Diff([]string{r1.RefundTrxID, r2.RefundTrxID}, ids); diff != "" {
			t.Errorf("refunds listed (-want +got):\n%s", diff)
		}
		if got, want := st.Refunded(), bkash.Taka(250)+50; got != want {
			t.Errorf("Refunded() = %v, want %v", got, want)
		}
		if got, ok := st.Find(first.Amount, first.SKU); !ok || got.RefundTrxID != r1.RefundTrxID {
			t.Errorf("Find(200.00) = %+v, %v; want %s", got, ok, r1.RefundTrxID)
		}
		if got, ok := st.Find(second.Amount, second.SKU); !ok || got.RefundTrxID != r2.RefundTrxID {
			t.Errorf("Find(50.50) = %+v, %v; want %s", got, ok, r2.RefundTrxID)
		}
		if got, ok := st.Find(bkash.Taka(75), ""); ok {
			t.Errorf("Find(75.00) = %+v, want no refund", got)
		}
	})

	t.Run("v1 shows the latest", func(t *testing.T) {
		t.Parallel()
		m := newMockBkash(t)
		(&refundLedger{}).serve(m)
		ctx := context.Background()
		if _, err := m.client.Refunds.Status(ctx, refPaymentID, refTrxID); !errors.Is(err, bkash.CodeInvalidPaymentID) {
			t.Fatalf("status before any refund: err = %v, want 2002 (v1's answer for no refund)", err)
		}
		if _, err := m.client.Refunds.Create(ctx, first); err != nil {
			t.Fatal(err)
		}
		r2, err := m.client.Refunds.Create(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		st, err := m.client.Refunds.Status(ctx, refPaymentID, refTrxID)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Refunds) != 1 || st.Refunds[0].RefundTrxID != r2.RefundTrxID {
			t.Fatalf("v1 status = %+v, want the latest refund %s only", st.Refunds, r2.RefundTrxID)
		}
		if got, ok := st.Find(second.Amount, second.SKU); !ok || got.RefundTrxID != r2.RefundTrxID {
			t.Errorf("Find(50.50) = %+v, %v; want %s", got, ok, r2.RefundTrxID)
		}
		if st.Refunded() != second.Amount {
			t.Errorf("Refunded() = %v, want %v (v1 lists one refund)", st.Refunded(), second.Amount)
		}
		// The v1 body without amount is the status request.
		sent := m.sent(pathRefundV1)
		checkGoldenBody(t, sent[len(sent)-1], "refund_v1_status.json")
	})
}

func TestRefundStatusFind(t *testing.T) {
	t.Parallel()
	st := &bkash.RefundStatus{Refunds: []bkash.Refund{
		{RefundTrxID: "A", Amount: bkash.Taka(10), Status: bkash.StatusCompleted, SKU: "S1"},
		{RefundTrxID: "B", Amount: bkash.Taka(10), Status: bkash.StatusCompleted}, // status answers carry no SKU
		{RefundTrxID: "C", Amount: bkash.Taka(25), Status: "Pending", SKU: "S3"},
		{RefundTrxID: "D", Amount: bkash.Taka(7), Status: bkash.StatusCompleted, SKU: "S4"},
	}}
	tests := []struct {
		name   string
		amount bkash.Amount
		sku    string
		want   string // RefundTrxID, "" for no match
	}{
		{"latest refund of the amount", bkash.Taka(10), "", "B"},
		{"unknown SKU in the answer matches any SKU", bkash.Taka(10), "S9", "B"},
		{"pending refunds are found too", bkash.Taka(25), "S3", "C"},
		{"known SKUs must agree", bkash.Taka(7), "S9", ""},
		{"known SKUs that agree", bkash.Taka(7), "S4", "D"},
		{"amount must agree", bkash.Taka(11), "S1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := st.Find(tt.amount, tt.sku)
			switch {
			case tt.want == "" && ok:
				t.Errorf("Find = %+v, want no match", got)
			case tt.want != "" && (!ok || got.RefundTrxID != tt.want):
				t.Errorf("Find = %+v, %v; want %s", got, ok, tt.want)
			}
		})
	}
	if got, want := st.Refunded(), bkash.Taka(27); got != want {
		t.Errorf("Refunded() = %v, want %v (completed refunds only)", got, want)
	}
	if got := (&bkash.RefundStatus{}).Refunded(); got != 0 {
		t.Errorf("Refunded() of no refunds = %v", got)
	}
	// Find returns a pointer into Refunds, not a copy.
	if r, _ := st.Find(bkash.Taka(7), ""); r != &st.Refunds[3] {
		t.Error("Find does not point into Refunds")
	}
}

// refundCodes are the refund refusals bKash documents, with the class the
// SDK gives each (what a caller should do about it).
var refundCodes = []struct {
	code  bkash.ErrorCode
	msg   string
	class bkash.ErrorClass
}{
	{bkash.CodeRefundWindowExpired, "Refund after specified days not allowed", bkash.ClassRefund},
	{bkash.CodeRefundAmountInvalid, "Refund amount not valid", bkash.ClassRefund},
	{bkash.CodeInvalidSKU, "Invalid SKU", bkash.ClassRefund},
	{bkash.CodeNotReversible, "The transaction cannot be reversed", bkash.ClassRefund},
	{bkash.CodeSKUTooLong, "SKU Character Limit Exceeded", bkash.ClassRefund},
	{bkash.CodeReasonTooLong, "Reason Character Limit Exceeded", bkash.ClassRefund},
	{bkash.CodeInvalidTrxID, "Invalid TrxID", bkash.ClassRefund},
	{bkash.CodeInvalidReason, "Invalid Reason", bkash.ClassRefund},
	{bkash.CodeIdentityNotPermitted, "The identity is not permitted to initiate this transaction", bkash.ClassPermission},
	{bkash.CodePartyStateProhibits, "The identity of the debit or credit party is in a state which prohibits the execution of this transaction", bkash.ClassPermission},
	{bkash.CodeMerchantNotPermitted, "The merchant is not permitted to initiate this transaction", bkash.ClassPermission},
	{bkash.CodeTransactionNotCompleted, "Transaction not yet completed", bkash.ClassRefund},
	{bkash.CodeRefundExceedsOriginal, "The reversal amount cannot be greater than the original transaction amount", bkash.ClassRefund},
}

func TestRefundRefusalsAreTypedErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range refundCodes {
		for _, api := range []bkash.RefundAPI{bkash.RefundV1, bkash.RefundV2} {
			t.Run(string(tc.code)+"/"+api.String(), func(t *testing.T) {
				t.Parallel()
				m := newMockBkash(t, bkash.WithRefundAPI(api))
				if api == bkash.RefundV1 {
					m.replies(pathRefundV1, http.StatusOK, fmt.Sprintf(`{"statusCode":%q,"statusMessage":%q}`, string(tc.code), tc.msg))
				} else {
					m.replies(pathRefundV2, http.StatusBadRequest, fmt.Sprintf(`{"internalCode":"X","externalCode":%q,"errorMessageEn":%q,"errorMessageBn":null}`, string(tc.code), tc.msg))
				}
				_, err := m.client.Refunds.Create(context.Background(), milkRefund())
				var ae *bkash.APIError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %T %v, want *APIError", err, err)
				}
				if !errors.Is(err, tc.code) || ae.Class() != tc.class || ae.Message != tc.msg || ae.Temporary() {
					t.Errorf("got code %s class %v message %q temporary %v; want %s, %v, %q, false",
						ae.Code, ae.Class(), ae.Message, ae.Temporary(), tc.code, tc.class, tc.msg)
				}
				if tc.code.Message() != tc.msg {
					t.Errorf("%s.Message() = %q, want bKash's %q", tc.code, tc.code.Message(), tc.msg)
				}
				if errors.Is(err, bkash.ErrOutcomeUnknown) {
					t.Error("a refusal must not be an unknown outcome")
				}
			})
		}
	}
}

func TestRefundDebugLogNamesThePayment(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := newMockBkash(t, bkash.WithLogger(logger))
	m.reply(pathRefundV1, http.StatusOK, "refund/v1_create_ok.json")
	if _, err := m.client.Refunds.Create(context.Background(), milkRefund()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "op=refund.create") || !strings.Contains(out, "paymentID="+refPaymentID) {
		t.Errorf("debug log lacks the operation or payment:\n%s", out)
	}
	if strings.Contains(out, "leaking carton") {
		t.Errorf("debug log shows the request body without WithBodyLogging:\n%s", out)
	}
}

// lockedWriter guards w with mu, so the test can read the buffer a logger
// writes to without a data race.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
