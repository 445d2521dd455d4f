package bkash

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"
)

// The payment tests run the real pipeline on the harness of package bkash
// (coreMock, harness_internal_test.go); their answers are the fixtures of
// testdata/payment and their request bodies are compared with
// testdata/golden. Names here carry a "pay" prefix so that they cannot
// collide with the other files' test helpers in package bkash.

// payIDToken is the id_token every payment test's grant issues.
const payIDToken = "eyJraWQiOiJwYXltZW50LXRlc3QifQ.payment-test-id-token.sig"

// payGrantBody is the grant answer that issues payIDToken.
const payGrantBody = `{"statusCode":"0000","statusMessage":"Successful","id_token":"` + payIDToken +
	`","token_type":"Bearer","expires_in":3600,"refresh_token":"payment-test-refresh-token"}`

// newPayMock returns a coreMock whose grant issues payIDToken, so that
// payCheckHeaders can check the token a call carries, and a client on it.
func newPayMock(t *testing.T) (*coreMock, *Client) {
	t.Helper()
	m := newCoreMock(t)
	m.onGrant(func(int, coreReq) (*http.Response, error) { return coreJSON(http.StatusOK, payGrantBody), nil })
	return m, m.client()
}

// payInTurn answers the requests with the responders in turn; the last one
// answers every further request.
func payInTurn(rs ...coreResponder) coreResponder {
	return func(n int, r coreReq) (*http.Response, error) { return rs[min(n, len(rs))-1](n, r) }
}

// payFile returns testdata/name, failing the test if it cannot be read.
func payFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// payFixture answers HTTP 200 with testdata/payment/name.
func payFixture(t *testing.T, name string) coreResponder {
	body := payFile(t, filepath.Join("payment", name))
	return func(int, coreReq) (*http.Response, error) {
		return httpmock.NewBytesResponse(http.StatusOK, body), nil
	}
}

// payBody answers HTTP 200 with body.
func payBody(body string) coreResponder {
	return func(int, coreReq) (*http.Response, error) {
		return httpmock.NewStringResponse(http.StatusOK, body), nil
	}
}

// payDrop fails as a connection reset by bKash would. The harness has read
// the whole request before it answers, so the request has certainly been
// sent.
func payDrop(int, coreReq) (*http.Response, error) {
	return nil, errors.New("read tcp: connection reset by peer")
}

// payTime builds an expected Time: the instant in +06:00 and its raw text.
func payTime(raw string, y int, mo time.Month, d, hh, mm, ss, ms int) Time {
	return Time{Time: time.Date(y, mo, d, hh, mm, ss, ms*1e6, dhaka), Raw: raw}
}

// payJSONDiff compares a request body with testdata/golden/goldenName as
// JSON values and returns their differences (-golden +sent).
func payJSONDiff(t *testing.T, got []byte, goldenName string) string {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(payFile(t, filepath.Join("golden", goldenName)), &w); err != nil {
		t.Fatalf("golden %s: %v", goldenName, err)
	}
	return cmp.Diff(w, g)
}

// payCheckHeaders asserts the headers of an authenticated tokenized call.
func payCheckHeaders(t *testing.T, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Authorization": payIDToken, // the bare id_token, no "Bearer"
		"X-App-Key":     coreCreds.AppKey,
		"Content-Type":  "application/json",
		"Accept":        "application/json",
	}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want [%q]", k, got, v)
		}
	}
	for _, k := range []string{"username", "password", "Idempotency-Key"} {
		if v := h.Values(k); len(v) != 0 {
			t.Errorf("header %s = %q, want none", k, v)
		}
	}
	if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "bkash-go/") {
		t.Errorf("User-Agent = %q, want bkash-go/...", ua)
	}
}

func TestCreatePaymentSendsGoldenRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params CreatePaymentParams
		golden string
	}{
		{
			name: "mode 0011 sale, amount with poisha",
			params: CreatePaymentParams{
				Amount: Taka(1250) + Poisha(50), InvoiceNumber: "A-1001-1", PayerReference: "01770618575",
				CallbackURL: "https://shop.example.com/bkash/callback?order=A-1001",
			},
			golden: "payment_create_0011.json",
		},
		{
			name: "mode 0001 with agreement and a space as payer reference",
			params: CreatePaymentParams{
				Amount: Taka(99), InvoiceNumber: "A-1002-1", PayerReference: " ",
				CallbackURL: "https://shop.example.com/bkash/callback",
				AgreementID: "TokenizedMerchant02K7PZQ4W1735711290456", Intent: IntentSale,
			},
			golden: "payment_create_0001.json",
		},
		{
			name: "intent authorization with merchantAssociationInfo",
			params: CreatePaymentParams{
				Amount: Taka(480), InvoiceNumber: "A-1003-1", PayerReference: "01929918378",
				CallbackURL: "https://shop.example.com/bkash/callback", Intent: IntentAuthorization,
				MerchantAssociationInfo: "MI05MID54RF09123456One",
			},
			golden: "payment_create_authorization.json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, c := newPayMock(t)
			m.on(epPaymentCreate, payFixture(t, "create_0011_ok.json"))
			if _, err := c.Payments.Create(context.Background(), &tt.params); err != nil {
				t.Fatalf("Create: %v", err)
			}
			reqs := m.requests(epPaymentCreate)
			if len(reqs) != 1 {
				t.Fatalf("create requests = %d, want 1", len(reqs))
			}
			if reqs[0].Path != "/v1.2.0-beta/tokenized/checkout/create" {
				t.Errorf("path = %s", reqs[0].Path)
			}
			payCheckHeaders(t, reqs[0].Header)
			if d := payJSONDiff(t, reqs[0].Body, tt.golden); d != "" {
				t.Errorf("body (-golden +sent):\n%s", d)
			}
		})
	}
}

func TestMode0011RequestCarriesNoAgreementIDKey(t *testing.T) {
	t.Parallel()
	req, err := (&CreatePaymentParams{Amount: Taka(1), InvoiceNumber: "i", PayerReference: "p",
		CallbackURL: "https://a.example/cb"}).request()
	if err != nil {
		t.Fatal(err)
	}
	b, err := encodeBody(req)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	if strings.Contains(body, "agreementID") {
		t.Errorf("mode 0011 body %s has an agreementID key", body)
	}
	if strings.Contains(body, "merchantAssociationInfo") {
		t.Errorf("body %s has an empty merchantAssociationInfo key", body)
	}
}

func TestPaymentIDCallsSendGoldenRequests(t *testing.T) {
	t.Parallel()
	type call func(ctx context.Context, s *PaymentService) error
	tests := []struct {
		name    string
		ep      *endpoint
		path    string
		fixture string
		golden  string
		call    call
	}{
		{"execute", epPaymentExecute, "/v1.2.0-beta/tokenized/checkout/execute", "execute_completed.json", "payment_execute.json",
			func(ctx context.Context, s *PaymentService) error {
				_, err := s.Execute(ctx, "TR0011Hk2Lm9P1735713000456")
				return err
			}},
		{"query", epPaymentQuery, "/v1.2.0-beta/tokenized/checkout/payment/status", "query_completed.json", "payment_query.json",
			func(ctx context.Context, s *PaymentService) error {
				_, err := s.Query(ctx, "TR0011Hk2Lm9P1735713000456")
				return err
			}},
		{"search", epPaymentSearch, "/v1.2.0-beta/tokenized/checkout/general/searchTransaction", "search_ok.json", "payment_search.json",
			func(ctx context.Context, s *PaymentService) error {
				_, err := s.Search(ctx, "CLA7K2M9QZ")
				return err
			}},
		{"capture", epPaymentCapture, "/v1.2.0-beta/tokenized/checkout/payment/confirm/capture", "capture_ok.json", "payment_capture.json",
			func(ctx context.Context, s *PaymentService) error {
				_, err := s.Capture(ctx, "TR0001Pa5Sd6F1735715000111")
				return err
			}},
		{"void", epPaymentVoid, "/v1.2.0-beta/tokenized/checkout/payment/confirm/void", "void_ok.json", "payment_void.json",
			func(ctx context.Context, s *PaymentService) error {
				_, err := s.Void(ctx, "TR0001Pa5Sd6F1735715000111")
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, c := newPayMock(t)
			m.on(tt.ep, payFixture(t, tt.fixture))
			if err := tt.call(context.Background(), c.Payments); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			reqs := m.requests(tt.ep)
			if len(reqs) != 1 {
				t.Fatalf("requests = %d, want 1", len(reqs))
			}
			if reqs[0].Path != tt.path {
				t.Errorf("path = %s, want %s", reqs[0].Path, tt.path)
			}
			payCheckHeaders(t, reqs[0].Header)
			if d := payJSONDiff(t, reqs[0].Body, tt.golden); d != "" {
				t.Errorf("body (-golden +sent):\n%s", d)
			}
		})
	}
}

func TestCreatePaymentDecodesEveryField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fixture string
		params  CreatePaymentParams
		want    Payment
	}{
		{
			name:    "mode 0011",
			fixture: "create_0011_ok.json",
			params: CreatePaymentParams{Amount: Taka(1250) + Poisha(50), InvoiceNumber: "A-1001-1",
				PayerReference: "01770618575", CallbackURL: "https://shop.example.com/bkash/callback?order=A-1001"},
			want: Payment{
				PaymentID:            "TR0011Hk2Lm9P1735713000456",
				BkashURL:             "https://sandbox.payment.bkash.com/?paymentId=TR0011Hk2Lm9P1735713000456&hash=Ab!Cd2Ef.Gh3Ij_Kl4Mn(Op5Qr6St7Uv8Wx9Yz)1735713000456&mode=0011&apiVersion=v1.2.0-beta/",
				CallbackURL:          "https://shop.example.com/bkash/callback?order=A-1001",
				SuccessCallbackURL:   "https://shop.example.com/bkash/callback?order=A-1001&paymentID=TR0011Hk2Lm9P1735713000456&status=success&signature=Qw3Er5Ty7U",
				FailureCallbackURL:   "https://shop.example.com/bkash/callback?order=A-1001&paymentID=TR0011Hk2Lm9P1735713000456&status=failure&signature=Qw3Er5Ty7U",
				CancelledCallbackURL: "https://shop.example.com/bkash/callback?order=A-1001&paymentID=TR0011Hk2Lm9P1735713000456&status=cancel&signature=Qw3Er5Ty7U",
				Mode:                 "0011",
				Amount:               125050,
				Currency:             "BDT",
				Intent:               IntentSale,
				Status:               StatusInitiated,
				InvoiceNumber:        "A-1001-1",
				PayerReference:       "01770618575", // not echoed by bKash: filled from params
				CreatedAt:            payTime("2025-01-01T12:30:00:456 GMT+0600", 2025, 1, 1, 12, 30, 0, 456),
				StatusMessage:        "Successful",
			},
		},
		{
			name:    "mode 0001",
			fixture: "create_0001_ok.json",
			params: CreatePaymentParams{Amount: Taka(99), InvoiceNumber: "A-1002-1", PayerReference: " ",
				CallbackURL: "https://shop.example.com/bkash/callback", AgreementID: "TokenizedMerchant02K7PZQ4W1735711290456"},
			want: Payment{
				PaymentID:            "TR0001Zx8Cv7B1735714000789",
				AgreementID:          "TokenizedMerchant02K7PZQ4W1735711290456",
				BkashURL:             "https://sandbox.payment.bkash.com/?paymentId=TR0001Zx8Cv7B1735714000789&hash=Mn!Bv3Cx.Zl4Kj_Hg5Fd(Sa6Po7Iu8Yt9Re)1735714000789&mode=0001&apiVersion=v1.2.0-beta/",
				CallbackURL:          "https://shop.example.com/bkash/callback",
				SuccessCallbackURL:   "https://shop.example.com/bkash/callback?paymentID=TR0001Zx8Cv7B1735714000789&status=success&signature=Lk9Jh7Gf5D",
				FailureCallbackURL:   "https://shop.example.com/bkash/callback?paymentID=TR0001Zx8Cv7B1735714000789&status=failure&signature=Lk9Jh7Gf5D",
				CancelledCallbackURL: "https://shop.example.com/bkash/callback?paymentID=TR0001Zx8Cv7B1735714000789&status=cancel&signature=Lk9Jh7Gf5D",
				Mode:                 "0001",
				Amount:               9900,
				Currency:             "BDT",
				Intent:               IntentSale,
				Status:               StatusInitiated,
				InvoiceNumber:        "A-1002-1",
				PayerReference:       " ",
				CreatedAt:            payTime("2025-01-01T12:46:40:789 GMT+0600", 2025, 1, 1, 12, 46, 40, 789),
				StatusMessage:        "Successful",
			},
		},
		{
			name:    "sparse answer: what bKash does not echo comes from params",
			fixture: "create_sparse_ok.json",
			params: CreatePaymentParams{Amount: Taka(480), InvoiceNumber: "A-1003-1", PayerReference: "01929918378",
				CallbackURL: "https://shop.example.com/bkash/callback", Intent: IntentAuthorization},
			want: Payment{
				PaymentID:      "TR0011Sp4Rs3E1735716000222",
				BkashURL:       "https://sandbox.payment.bkash.com/?paymentId=TR0011Sp4Rs3E1735716000222&hash=Qz!Xw2Ec.Rv3Tb_Yn4Um(Ik5Ol6Pa7Sd8Fg)1735716000222&mode=0011&apiVersion=v1.2.0-beta/",
				CallbackURL:    "https://shop.example.com/bkash/callback",
				Mode:           "0011",
				Amount:         48000,
				Currency:       "BDT",
				Intent:         IntentAuthorization,
				Status:         StatusInitiated,
				InvoiceNumber:  "A-1003-1",
				PayerReference: "01929918378",
				CreatedAt:      payTime("2025-01-01T13:20:00:222 GMT+0600", 2025, 1, 1, 13, 20, 0, 222),
				StatusMessage:  "Successful",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, c := newPayMock(t)
			m.on(epPaymentCreate, payFixture(t, tt.fixture))
			got, err := c.Payments.Create(context.Background(), &tt.params)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if d := cmp.Diff(&tt.want, got); d != "" {
				t.Errorf("Payment (-want +got):\n%s", d)
			}
		})
	}
}

func TestPaymentAnswersDecodeEveryField(t *testing.T) {
	// capture_ok.json and capture_lower_d.json (paymentId spelled with a
	// lower-case d) must decode to the same payment.
	captured := Payment{
		PaymentID: "TR0001Pa5Sd6F1735715000111", TrxID: "CLB2N4P6RS", Status: StatusCompleted,
		CreatedAt:     payTime("2025-01-01T13:03:20:111 GMT+0600", 2025, 1, 1, 13, 3, 20, 111),
		UpdatedAt:     payTime("2025-01-02T10:00:05:333 GMT+0600", 2025, 1, 2, 10, 0, 5, 333),
		StatusMessage: "Successful",
	}
	t.Parallel()
	execTime := payTime("2025-01-01T12:31:10:222 GMT+0600", 2025, 1, 1, 12, 31, 10, 222)
	tests := []struct {
		name    string
		ep      *endpoint
		fixture string
		call    func(*PaymentService, context.Context, string) (*Payment, error)
		want    Payment
	}{
		{
			name: "execute, sale completed", ep: epPaymentExecute, fixture: "execute_completed.json",
			call: (*PaymentService).Execute,
			want: Payment{
				PaymentID: "TR0011Hk2Lm9P1735713000456", TrxID: "CLA7K2M9QZ", Amount: 125050, Currency: "BDT",
				Intent: IntentSale, Status: StatusCompleted, InvoiceNumber: "A-1001-1",
				PayerReference: "01770618575", CustomerMSISDN: "01770618575", ExecutedAt: execTime,
				StatusMessage: "Successful",
			},
		},
		{
			name: "execute, authorization held", ep: epPaymentExecute, fixture: "execute_authorized.json",
			call: (*PaymentService).Execute,
			want: Payment{
				PaymentID: "TR0001Pa5Sd6F1735715000111", TrxID: "CLB2N4P6RS",
				AgreementID: "TokenizedMerchant02K7PZQ4W1735711290456", Amount: 48000, Currency: "BDT",
				Intent: IntentAuthorization, Status: StatusAuthorized, InvoiceNumber: "A-1003-1",
				PayerReference: "01929918378", CustomerMSISDN: "01929918378",
				ExecutedAt:    payTime("2025-01-01T13:04:02:010 GMT+0600", 2025, 1, 1, 13, 4, 2, 10),
				StatusMessage: "Successful",
			},
		},
		{
			name: "execute, success answer still Initiated is returned as it is", ep: epPaymentExecute, fixture: "execute_initiated.json",
			call: (*PaymentService).Execute,
			want: Payment{
				PaymentID: "TR0011Hk2Lm9P1735713000456", Amount: 125050, Currency: "BDT", Intent: IntentSale,
				Status: StatusInitiated, InvoiceNumber: "A-1001-1", StatusMessage: "Successful",
			},
		},
		{
			name: "query, completed, merchantInvoice spelling", ep: epPaymentQuery, fixture: "query_completed.json",
			call: (*PaymentService).Query,
			want: Payment{
				PaymentID: "TR0011Hk2Lm9P1735713000456", TrxID: "CLA7K2M9QZ", Mode: "0011", Amount: 125050,
				Currency: "BDT", Intent: IntentSale, Status: StatusCompleted, InvoiceNumber: "A-1001-1",
				PayerReference: "01770618575", VerificationStatus: "Complete",
				CreatedAt:     payTime("2025-01-01T12:30:00:456 GMT+0600", 2025, 1, 1, 12, 30, 0, 456),
				ExecutedAt:    execTime,
				StatusMessage: "Successful",
			},
		},
		{
			name: "query, initiated", ep: epPaymentQuery, fixture: "query_initiated.json",
			call: (*PaymentService).Query,
			want: Payment{
				PaymentID: "TR0011Hk2Lm9P1735713000456", Mode: "0011", Amount: 125050,
				Currency: "BDT", Intent: IntentSale, Status: StatusInitiated, InvoiceNumber: "A-1001-1",
				PayerReference: "01770618575", VerificationStatus: "Incomplete",
				CreatedAt:     payTime("2025-01-01T12:30:00:456 GMT+0600", 2025, 1, 1, 12, 30, 0, 456),
				StatusMessage: "Successful",
			},
		},
		{
			name: "query, mode 0001 with merchantInvoiceNumber, userVerificationStatus and agreement fields",
			ep:   epPaymentQuery, fixture: "query_agreement.json",
			call: (*PaymentService).Query,
			want: Payment{
				PaymentID: "TR0001Pa5Sd6F1735715000111", TrxID: "CLB2N4P6RS",
				AgreementID: "TokenizedMerchant02K7PZQ4W1735711290456", Mode: "0001", Amount: 48000,
				Currency: "BDT", Intent: IntentAuthorization, Status: StatusAuthorized, InvoiceNumber: "A-1003-1",
				PayerReference: "01929918378", CustomerMSISDN: "01929918378", VerificationStatus: "Complete",
				CreatedAt:             payTime("2025-01-01T13:03:20:111 GMT+0600", 2025, 1, 1, 13, 3, 20, 111),
				ExecutedAt:            payTime("2025-01-01T13:04:02:010 GMT+0600", 2025, 1, 1, 13, 4, 2, 10),
				AgreementStatus:       "Completed",
				AgreementCreatedAt:    payTime("2024-12-30T09:15:11:004 GMT+0600", 2024, 12, 30, 9, 15, 11, 4),
				AgreementExecutedAt:   payTime("2024-12-30T09:16:02:950 GMT+0600", 2024, 12, 30, 9, 16, 2, 950),
				PayerAccount:          "01929918378",
				PayerType:             "Customer",
				MaxRefundableAmount:   48000,
				OrganizationShortCode: "50022",
				StatusMessage:         "Successful",
			},
		},
		{
			name: "capture", ep: epPaymentCapture, fixture: "capture_ok.json",
			call: (*PaymentService).Capture,
			want: captured,
		},
		{
			name: "capture answer spelling paymentId", ep: epPaymentCapture, fixture: "capture_lower_d.json",
			call: (*PaymentService).Capture,
			want: captured,
		},
		{
			name: "void", ep: epPaymentVoid, fixture: "void_ok.json",
			call: (*PaymentService).Void,
			want: Payment{
				PaymentID: "TR0001Pa5Sd6F1735715000111", TrxID: "CLB2N4P6RS", Status: StatusCancelled,
				CreatedAt:     payTime("2025-01-01T13:03:20:111 GMT+0600", 2025, 1, 1, 13, 3, 20, 111),
				UpdatedAt:     payTime("2025-01-01T15:10:44:900 GMT+0600", 2025, 1, 1, 15, 10, 44, 900),
				StatusMessage: "Successful",
			},
		},
		{
			name: "lenient: amount as a number, times without ms or offset, unknown time format and status kept",
			ep:   epPaymentQuery, fixture: "query_lenient.json",
			call: (*PaymentService).Query,
			want: Payment{
				PaymentID: "TR0011Ln7Ty2K1735717000333", TrxID: "CLC3P5R7TV", Mode: "0011", Amount: 15050,
				Currency: "BDT", Intent: IntentSale, Status: TransactionStatus("Expired"), InvoiceNumber: "A-1004-1",
				PayerReference: " ", VerificationStatus: "Complete",
				CreatedAt:          payTime("2025-01-01T14:00:00 GMT+0600", 2025, 1, 1, 14, 0, 0, 0),
				ExecutedAt:         payTime("2025-01-01T14:01:30:5", 2025, 1, 1, 14, 1, 30, 500),
				AgreementCreatedAt: Time{Raw: "01/01/2025 14:00"},
				StatusMessage:      "Successful",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, c := newPayMock(t)
			m.on(tt.ep, payFixture(t, tt.fixture))
			got, err := tt.call(c.Payments, context.Background(), tt.want.PaymentID)
			if err != nil {
				t.Fatalf("%v", err)
			}
			if d := cmp.Diff(&tt.want, got); d != "" {
				t.Errorf("Payment (-want +got):\n%s", d)
			}
		})
	}
}

func TestSearchDecodesEveryField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fixture string
		want    Transaction
	}{
		{
			name: "payment", fixture: "search_ok.json",
			want: Transaction{
				TrxID: "CLA7K2M9QZ", Amount: 125050, Currency: "BDT", Status: StatusCompleted,
				TransactionType: "bKash Tokenized Checkout via API", CustomerMSISDN: "01770618575",
				InitiatedAt:           payTime("2025-01-01T12:31:10:000 GMT+0600", 2025, 1, 1, 12, 31, 10, 0),
				CompletedAt:           payTime("2025-01-01T12:31:10:000 GMT+0600", 2025, 1, 1, 12, 31, 10, 0),
				OrganizationShortCode: "50022", PayerAccount: "01770618575", PayerType: "Customer",
				ServiceFee: 0, CreditedAmount: 123174, MaxRefundableAmount: 125050,
				StatusMessage: "Successful",
			},
		},
		{
			name: "refund transaction", fixture: "search_refund.json",
			want: Transaction{
				TrxID: "CLD4Q6S8UW", Amount: 20000, Currency: "BDT", Status: StatusCompleted,
				TransactionType: "Refund", CustomerMSISDN: "01770618575",
				InitiatedAt:           payTime("2025-01-03T10:00:00:000 GMT+0600", 2025, 1, 3, 10, 0, 0, 0),
				CompletedAt:           payTime("2025-01-03T10:00:01:000 GMT+0600", 2025, 1, 3, 10, 0, 1, 0),
				OrganizationShortCode: "50022", TransactionReference: "A-1001-1", PayerAccount: "01770618575",
				OriginalTrxAmount: 125050, StatusMessage: "Successful",
			},
		},
		{
			name: "coupon payment", fixture: "search_coupon.json",
			want: Transaction{
				TrxID: "CLE5R7T9VX", Amount: 50000, Currency: "BDT", Status: StatusCompleted,
				TransactionType: "bKash Tokenized Checkout via API", CustomerMSISDN: "01877722345",
				InitiatedAt:           payTime("2025-01-04T18:20:00:000 GMT+0600", 2025, 1, 4, 18, 20, 0, 0),
				CompletedAt:           payTime("2025-01-04T18:20:03:000 GMT+0600", 2025, 1, 4, 18, 20, 3, 0),
				OrganizationShortCode: "50022", PayerAccount: "01877722345", PayerType: "Customer",
				CreditedAmount: 49000, MaxRefundableAmount: 45000, SaleAmount: 45000, CouponAmount: 5000,
				MerchantShareAmount: 4000, StatusMessage: "Successful",
			},
		},
		{
			name: "lenient: numbers, no offset, empty completedTime", fixture: "search_lenient.json",
			want: Transaction{
				TrxID: "CLF6S8U0WY", Amount: 7500, Currency: "BDT", Status: StatusAuthorized,
				TransactionType: "bKash Tokenized Checkout via API", CustomerMSISDN: "01619777282",
				InitiatedAt:           payTime("2025-01-05T09:00:00", 2025, 1, 5, 9, 0, 0, 0),
				OrganizationShortCode: "50022", CreditedAmount: 7500, StatusMessage: "Successful",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, c := newPayMock(t)
			m.on(epPaymentSearch, payFixture(t, tt.fixture))
			got, err := c.Payments.Search(context.Background(), tt.want.TrxID)
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if d := cmp.Diff(&tt.want, got); d != "" {
				t.Errorf("Transaction (-want +got):\n%s", d)
			}
		})
	}
}

func TestPaymentCallsReturnBkashErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ep      *endpoint
		fixture string
		call    func(context.Context, *PaymentService) error
		want    APIError
	}{
		{"execute 2056", epPaymentExecute, "execute_2056.json",
			func(ctx context.Context, s *PaymentService) error { _, err := s.Execute(ctx, "TR0011x"); return err },
			APIError{Op: "payment.execute", HTTPStatus: 200, Code: CodeInvalidPaymentState, Message: "Invalid Payment State", Attempts: 1}},
		{"execute 2023", epPaymentExecute, "execute_2023.json",
			func(ctx context.Context, s *PaymentService) error { _, err := s.Execute(ctx, "TR0011x"); return err },
			APIError{Op: "payment.execute", HTTPStatus: 200, Code: CodeInsufficientBalance, Message: "Insufficient Balance", Attempts: 1}},
		{"query 2002", epPaymentQuery, "query_2002.json",
			func(ctx context.Context, s *PaymentService) error { _, err := s.Query(ctx, "TR0011x"); return err },
			APIError{Op: "payment.query", HTTPStatus: 200, Code: CodeInvalidPaymentID, Message: "Invalid Payment ID", Attempts: 1}},
		{"search 2033", epPaymentSearch, "search_2033.json",
			func(ctx context.Context, s *PaymentService) error { _, err := s.Search(ctx, "NOPE000000"); return err },
			APIError{Op: "payment.search", HTTPStatus: 200, Code: CodeTransactionNotFound, Message: "Transaction not found", Attempts: 1}},
		{"repeated capture 2119", epPaymentCapture, "capture_2119.json",
			func(ctx context.Context, s *PaymentService) error { _, err := s.Capture(ctx, "TR0001x"); return err },
			APIError{Op: "payment.capture", HTTPStatus: 200, Code: CodeAuthorizationProcessed, Message: "The authorized payment has already been processed", Attempts: 1}},
		{"repeated void 2119", epPaymentVoid, "capture_2119.json",
			func(ctx context.Context, s *PaymentService) error { _, err := s.Void(ctx, "TR0001x"); return err },
			APIError{Op: "payment.void", HTTPStatus: 200, Code: CodeAuthorizationProcessed, Message: "The authorized payment has already been processed", Attempts: 1}},
		{"void errorCode envelope", epPaymentVoid, "void_errorcode.json",
			func(ctx context.Context, s *PaymentService) error { _, err := s.Void(ctx, "TR0001x"); return err },
			APIError{Op: "payment.void", HTTPStatus: 200, Code: CodeInvalidPaymentState, Message: "Invalid Payment State", Attempts: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, c := newPayMock(t)
			m.on(tt.ep, payFixture(t, tt.fixture))
			err := tt.call(context.Background(), c.Payments)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if d := cmp.Diff(tt.want, *ae); d != "" {
				t.Errorf("APIError (-want +got):\n%s", d)
			}
			if !errors.Is(err, tt.want.Code) {
				t.Errorf("errors.Is(err, %s) = false", tt.want.Code)
			}
			if n := m.sent(tt.ep); n != 1 {
				t.Errorf("requests = %d, want 1 (a bKash answer is never retried)", n)
			}
		})
	}
}

func TestMoneyCallsAreSentOnceWhenTheConnectionDrops(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ep   *endpoint
		call func(*PaymentService, context.Context, string) (*Payment, error)
	}{
		{"execute", epPaymentExecute, (*PaymentService).Execute},
		{"capture", epPaymentCapture, (*PaymentService).Capture},
		{"void", epPaymentVoid, (*PaymentService).Void},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, c := newPayMock(t)
			m.on(tt.ep, payDrop)
			p, err := tt.call(c.Payments, context.Background(), "TR0011Hk2Lm9P1735713000456")
			if p != nil {
				t.Errorf("Payment = %+v, want nil", p)
			}
			var ou *OutcomeUnknownError
			if !errors.As(err, &ou) {
				t.Fatalf("err = %v (%T), want *OutcomeUnknownError", err, err)
			}
			if ou.Op != tt.ep.op || ou.Attempts != 1 {
				t.Errorf("OutcomeUnknownError{Op:%q Attempts:%d}, want {%q 1}", ou.Op, ou.Attempts, tt.ep.op)
			}
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Error("errors.Is(err, ErrOutcomeUnknown) = false")
			}
			if n := m.sent(tt.ep); n != 1 {
				t.Errorf("%s sent %d times, want exactly 1", tt.name, n)
			}
		})
	}
}

func TestFinalize(t *testing.T) {
	t.Parallel()
	const id = "TR0011Hk2Lm9P1735713000456"
	tests := []struct {
		name        string
		execute     []coreResponder
		query       []coreResponder
		wantStatus  TransactionStatus // of the returned Payment; "" for nil
		wantErr     func(error) bool
		wantQueries int
	}{
		{
			name:        "execute succeeds: its answer, no query",
			execute:     []coreResponder{payFixture(t, "execute_completed.json")},
			wantStatus:  StatusCompleted,
			wantQueries: 0,
		},
		{
			name:        "2117 already executed: query says Completed",
			execute:     []coreResponder{payFixture(t, "execute_2117.json")},
			query:       []coreResponder{payFixture(t, "query_completed.json")},
			wantStatus:  StatusCompleted,
			wantQueries: 1,
		},
		{
			name:        "2062 already completed: query says Authorized",
			execute:     []coreResponder{payFixture(t, "execute_2062.json")},
			query:       []coreResponder{payFixture(t, "query_agreement.json")},
			wantStatus:  StatusAuthorized,
			wantQueries: 1,
		},
		{
			name:        "transient 9999: query says Completed",
			execute:     []coreResponder{payFixture(t, "execute_9999.json")},
			query:       []coreResponder{payFixture(t, "query_completed.json")},
			wantStatus:  StatusCompleted,
			wantQueries: 1,
		},
		{
			name:        "connection dropped after sending: query gives the truth",
			execute:     []coreResponder{payDrop},
			query:       []coreResponder{payFixture(t, "query_completed.json")},
			wantStatus:  StatusCompleted,
			wantQueries: 1,
		},
		{
			name:    "connection dropped, execute lands late: second query sees Completed",
			execute: []coreResponder{payDrop},
			query: []coreResponder{payFixture(t, "query_initiated.json"),
				payFixture(t, "query_completed.json")},
			wantStatus:  StatusCompleted,
			wantQueries: 2,
		},
		{
			name:    "connection dropped, query answers 9999 then Completed",
			execute: []coreResponder{payDrop},
			query: []coreResponder{payBody(`{"statusCode":"9999","statusMessage":"System Error."}`),
				payFixture(t, "query_completed.json")},
			wantStatus:  StatusCompleted,
			wantQueries: 2,
		},
		{
			name:    "connection dropped, payment still Initiated: the original OutcomeUnknownError",
			execute: []coreResponder{payDrop},
			query:   []coreResponder{payFixture(t, "query_initiated.json")},
			wantErr: func(err error) bool {
				var ou *OutcomeUnknownError
				return errors.As(err, &ou) && ou.Op == "payment.execute" && err == error(ou)
			},
			wantQueries: 3,
		},
		{
			name:    "2117 but the query says Cancelled: the original 2117",
			execute: []coreResponder{payFixture(t, "execute_2117.json")},
			query:   []coreResponder{payFixture(t, "void_ok.json")},
			wantErr: func(err error) bool {
				var ae *APIError
				return errors.As(err, &ae) && ae.Code == CodeExecutionAlreadyCompleted && err == error(ae)
			},
			wantQueries: 1,
		},
		{
			name:    "connection dropped, query fails for good: original error, query failure in the text",
			execute: []coreResponder{payDrop},
			query:   []coreResponder{payFixture(t, "query_2002.json")},
			wantErr: func(err error) bool {
				var ou *OutcomeUnknownError
				var ae *APIError
				return errors.As(err, &ou) && !errors.As(err, &ae) &&
					strings.Contains(err.Error(), "reconciling query failed") && strings.Contains(err.Error(), "2002")
			},
			wantQueries: 1,
		},
		{
			name:    "2117 and the query fails for good: outcome unknown, wrapping the 2117",
			execute: []coreResponder{payFixture(t, "execute_2117.json")},
			query:   []coreResponder{payFixture(t, "query_2002.json")},
			wantErr: func(err error) bool {
				var ou *OutcomeUnknownError
				return errors.As(err, &ou) && ou.Op == "payment.execute" &&
					errors.Is(err, ErrOutcomeUnknown) && errors.Is(err, CodeExecutionAlreadyCompleted) &&
					strings.Contains(err.Error(), "reconciling query failed")
			},
			wantQueries: 1,
		},
		{
			name:    "2023 insufficient balance: returned, nothing queried",
			execute: []coreResponder{payFixture(t, "execute_2023.json")},
			wantErr: func(err error) bool {
				var ae *APIError
				return errors.As(err, &ae) && ae.Code == CodeInsufficientBalance
			},
			wantQueries: 0,
		},
		{
			name:    "2056 customer did not approve: returned, nothing queried",
			execute: []coreResponder{payFixture(t, "execute_2056.json")},
			wantErr: func(err error) bool {
				return errors.Is(err, CodeInvalidPaymentState)
			},
			wantQueries: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, c := newPayMock(t)
			m.on(epPaymentExecute, payInTurn(tt.execute...))
			if tt.query != nil {
				m.on(epPaymentQuery, payInTurn(tt.query...))
			}
			p, err := c.Payments.Finalize(context.Background(), id)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Finalize: %v", err)
				}
				if p == nil || p.Status != tt.wantStatus || p.PaymentID == "" {
					t.Errorf("Payment = %+v, want Status %q", p, tt.wantStatus)
				}
			} else {
				if !tt.wantErr(err) {
					t.Errorf("err = %v (%T): not the expected error", err, err)
				}
				if p != nil {
					t.Errorf("Payment = %+v with an error, want nil", p)
				}
			}
			if n := m.sent(epPaymentExecute); n != 1 {
				t.Errorf("execute sent %d times, want exactly 1", n)
			}
			if n := m.sent(epPaymentQuery); n != tt.wantQueries {
				t.Errorf("queries = %d, want %d", n, tt.wantQueries)
			}
		})
	}
}

func TestFinalizeStopsWaitingWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	m, c := newPayMock(t)
	m.on(epPaymentExecute, payDrop)
	m.on(epPaymentQuery, payFixture(t, "query_initiated.json"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Payments.Finalize(ctx, "TR0011Hk2Lm9P1735713000456")
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want the original OutcomeUnknownError", err)
	}
	if d := time.Since(start); d > finalizeQueryWaits[0]+finalizeQueryWaits[1] {
		t.Errorf("Finalize took %v after its context ended", d)
	}
	if n := m.sent(epPaymentExecute); n != 1 {
		t.Errorf("execute sent %d times, want 1", n)
	}
}

func TestCreatePaymentValidatesBeforeSending(t *testing.T) {
	t.Parallel()
	valid := func() CreatePaymentParams {
		return CreatePaymentParams{Amount: Taka(10), InvoiceNumber: "INV-1", PayerReference: "01770618575",
			CallbackURL: "https://shop.example.com/cb"}
	}
	long := strings.Repeat("x", 256)
	tests := []struct {
		name   string
		mutate func(*CreatePaymentParams)
		field  string
	}{
		{"zero amount", func(p *CreatePaymentParams) { p.Amount = 0 }, "CreatePaymentParams.Amount"},
		{"negative amount", func(p *CreatePaymentParams) { p.Amount = -Poisha(1) }, "CreatePaymentParams.Amount"},
		{"empty invoice", func(p *CreatePaymentParams) { p.InvoiceNumber = "" }, "CreatePaymentParams.InvoiceNumber"},
		{"invoice of 256 characters", func(p *CreatePaymentParams) { p.InvoiceNumber = long }, "CreatePaymentParams.InvoiceNumber"},
		{"invoice with <", func(p *CreatePaymentParams) { p.InvoiceNumber = "INV<1" }, "CreatePaymentParams.InvoiceNumber"},
		{"invoice with >", func(p *CreatePaymentParams) { p.InvoiceNumber = "INV>1" }, "CreatePaymentParams.InvoiceNumber"},
		{"invoice with &", func(p *CreatePaymentParams) { p.InvoiceNumber = "INV&1" }, "CreatePaymentParams.InvoiceNumber"},
		{"empty payer reference", func(p *CreatePaymentParams) { p.PayerReference = "" }, "CreatePaymentParams.PayerReference"},
		{"payer reference of 256 characters", func(p *CreatePaymentParams) { p.PayerReference = long }, "CreatePaymentParams.PayerReference"},
		{"payer reference with &", func(p *CreatePaymentParams) { p.PayerReference = "a&b" }, "CreatePaymentParams.PayerReference"},
		{"empty callback URL", func(p *CreatePaymentParams) { p.CallbackURL = "" }, "CreatePaymentParams.CallbackURL"},
		{"relative callback URL", func(p *CreatePaymentParams) { p.CallbackURL = "/bkash/callback" }, "CreatePaymentParams.CallbackURL"},
		{"ftp callback URL", func(p *CreatePaymentParams) { p.CallbackURL = "ftp://shop.example.com/cb" }, "CreatePaymentParams.CallbackURL"},
		{"callback URL without host", func(p *CreatePaymentParams) { p.CallbackURL = "https:///cb" }, "CreatePaymentParams.CallbackURL"},
		{"merchantAssociationInfo of 256 characters", func(p *CreatePaymentParams) { p.MerchantAssociationInfo = long }, "CreatePaymentParams.MerchantAssociationInfo"},
		{"merchantAssociationInfo with <", func(p *CreatePaymentParams) { p.MerchantAssociationInfo = "<MI>" }, "CreatePaymentParams.MerchantAssociationInfo"},
		{"blank agreement ID", func(p *CreatePaymentParams) { p.AgreementID = "  " }, "CreatePaymentParams.AgreementID"},
		{"unknown intent", func(p *CreatePaymentParams) { p.Intent = "Sale" }, "CreatePaymentParams.Intent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, c := newPayMock(t)
			m.on(epPaymentCreate, payFixture(t, "create_0011_ok.json"))
			p := valid()
			tt.mutate(&p)
			got, err := c.Payments.Create(context.Background(), &p)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v (%T), want *ValidationError", err, err)
			}
			if ve.Field != tt.field {
				t.Errorf("Field = %q, want %q (reason %q)", ve.Field, tt.field, ve.Reason)
			}
			if got != nil {
				t.Errorf("Payment = %+v, want nil", got)
			}
			if n := m.mt.GetTotalCallCount(); n != 0 {
				t.Errorf("%d request(s) reached the transport, want 0", n)
			}
		})
	}
	t.Run("nil params", func(t *testing.T) {
		t.Parallel()
		m, c := newPayMock(t)
		_, err := c.Payments.Create(context.Background(), nil)
		var ve *ValidationError
		if !errors.As(err, &ve) || m.mt.GetTotalCallCount() != 0 {
			t.Errorf("err = %v, requests = %d; want *ValidationError and 0", err, m.mt.GetTotalCallCount())
		}
	})
	t.Run("limits are inclusive: 255 characters, a single space", func(t *testing.T) {
		t.Parallel()
		m, c := newPayMock(t)
		m.on(epPaymentCreate, payFixture(t, "create_0011_ok.json"))
		p := valid()
		p.InvoiceNumber = strings.Repeat("é", 255)
		p.PayerReference = " "
		p.MerchantAssociationInfo = long[:255]
		if _, err := c.Payments.Create(context.Background(), &p); err != nil {
			t.Errorf("Create: %v", err)
		}
	})
}

func TestPaymentIDsAreValidatedBeforeSending(t *testing.T) {
	t.Parallel()
	calls := map[string]func(context.Context, *PaymentService, string) error{
		"Execute": func(ctx context.Context, s *PaymentService, id string) error {
			_, err := s.Execute(ctx, id)
			return err
		},
		"Finalize": func(ctx context.Context, s *PaymentService, id string) error {
			_, err := s.Finalize(ctx, id)
			return err
		},
		"Query": func(ctx context.Context, s *PaymentService, id string) error { _, err := s.Query(ctx, id); return err },
		"Capture": func(ctx context.Context, s *PaymentService, id string) error {
			_, err := s.Capture(ctx, id)
			return err
		},
		"Void":   func(ctx context.Context, s *PaymentService, id string) error { _, err := s.Void(ctx, id); return err },
		"Search": func(ctx context.Context, s *PaymentService, id string) error { _, err := s.Search(ctx, id); return err },
	}
	for name, call := range calls {
		for _, id := range []string{"", " \t"} {
			t.Run(name+"/"+strings.ReplaceAll(id, "\t", `\t`), func(t *testing.T) {
				t.Parallel()
				m, c := newPayMock(t)
				err := call(context.Background(), c.Payments, id)
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v (%T), want *ValidationError", err, err)
				}
				want := "paymentID"
				if name == "Search" {
					want = "trxID"
				}
				if ve.Field != want {
					t.Errorf("Field = %q, want %q", ve.Field, want)
				}
				if n := m.mt.GetTotalCallCount(); n != 0 {
					t.Errorf("%d request(s) reached the transport, want 0", n)
				}
			})
		}
	}
}

// TestRequestStringEscapes: a request's strings are escaped as JSON needs
// and no further: '<', '>' and '&' (a callback URL's query) go out as they
// are, U+2028 and U+2029 are escaped, invalid UTF-8 becomes U+FFFD.
func TestRequestStringEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{``, `""`},
		{`plain ASCII 123`, `"plain ASCII 123"`},
		{`say "hi"`, `"say \"hi\""`},
		{`C:\path\to`, `"C:\\path\\to"`},
		{"line\nbreak\r\ttab", `"line\nbreak\r\ttab"`},
		{"nul\x00bell\x07esc\x1bus\x1f", `"nul\u0000bell\u0007esc\u001bus\u001f"`},
		{"del\x7f stays", "\"del\x7f stays\""},
		{"বিকাশ ৳১২৫০", `"বিকাশ ৳১২৫০"`},
		{"emoji 🧾", `"emoji 🧾"`},
		{"a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		// Invalid UTF-8 never reaches a body (validation refuses it before
		// sending). encoding/json replaces it with U+FFFD, written as
		// \ufffd up to Go 1.26 and as the character itself from Go 1.27;
		// both read back the same.
		{"bad \xff utf8 \xc3", `"bad \ufffd utf8 \ufffd"`},
		{"<tag>&amp;", `"<tag>&amp;"`},
		{`/slash/`, `"/slash/"`},
	}
	// Another spelling of the same string that some Go release writes.
	alt := map[string]string{"bad \xff utf8 \xc3": "\"bad \uFFFD utf8 \uFFFD\""}
	for _, tt := range tests {
		body, err := encodeBody(struct {
			S string `json:"s"`
		}{tt.in})
		if err != nil {
			t.Fatal(err)
		}
		got := string(body)
		if a, ok := alt[tt.in]; got != `{"s":`+tt.want+`}` && (!ok || got != `{"s":`+a+`}`) {
			t.Errorf("encodeBody(%q) = %s, want {\"s\":%s}", tt.in, got, tt.want)
			continue
		}
		// The body reads back as the input does through json.Marshal
		// (invalid UTF-8 included).
		var ours, std string
		stdJSON, _ := json.Marshal(tt.in)
		if err := json.Unmarshal([]byte(tt.want), &ours); err != nil {
			t.Errorf("%s is not a JSON string: %v", tt.want, err)
		}
		_ = json.Unmarshal(stdJSON, &std)
		if ours != std {
			t.Errorf("encodeBody(%q) decodes to %q, json.Marshal's to %q", tt.in, ours, std)
		}
	}
}

func TestRequestBodiesAreValidJSONWhateverTheInput(t *testing.T) {
	t.Parallel()
	nasty := "q\"b\\c\nd\x01e\u2028ক"
	req := &createPaymentRequest{
		Mode: modeWithAgreement, PayerReference: nasty, CallbackURL: "https://a.example/cb?x=1&y=\"2\"",
		AgreementID: nasty, Amount: Poisha(5), Currency: "BDT", Intent: IntentSale, MerchantInvoiceNumber: nasty,
		MerchantAssociationInfo: nasty,
	}
	var got map[string]string
	if err := json.Unmarshal(mustEncode(t, req), &got); err != nil {
		t.Fatalf("create body is not JSON: %v", err)
	}
	want := map[string]string{
		"mode": "0001", "payerReference": nasty, "callbackURL": "https://a.example/cb?x=1&y=\"2\"",
		"agreementID": nasty, "amount": "0.05", "currency": "BDT", "intent": "sale",
		"merchantInvoiceNumber": nasty, "merchantAssociationInfo": nasty,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("create body (-want +got):\n%s", d)
	}
	for _, r := range []any{paymentIDRequest{nasty}, trxIDRequest{nasty}} {
		var m map[string]string
		if err := json.Unmarshal(mustEncode(t, r), &m); err != nil {
			t.Fatalf("%T body is not JSON: %v", r, err)
		}
		for _, v := range m {
			if v != nasty {
				t.Errorf("%T round trip = %q, want %q", r, v, nasty)
			}
		}
	}
}

func mustEncode(t *testing.T, in any) []byte {
	t.Helper()
	b, err := encodeBody(in)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPaymentRequestsNameTheirObjectForLogs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r          logRefer
		key, value string
	}{
		{paymentIDRequest{"TR0011A"}, "paymentID", "TR0011A"},
		{trxIDRequest{"CLA7K2M9QZ"}, "trxID", "CLA7K2M9QZ"},
		{&createPaymentRequest{MerchantInvoiceNumber: "A-1001-1"}, "merchantInvoiceNumber", "A-1001-1"},
	}
	for _, tt := range tests {
		if k, v := tt.r.logRef(); k != tt.key || v != tt.value {
			t.Errorf("%T.logRef() = %q, %q; want %q, %q", tt.r, k, v, tt.key, tt.value)
		}
	}
}

func TestCreateIsNotResentWhenTheConnectionDrops(t *testing.T) {
	t.Parallel()
	m, c := newPayMock(t)
	m.on(epPaymentCreate, payDrop)
	_, err := c.Payments.Create(context.Background(), &CreatePaymentParams{Amount: Taka(10),
		InvoiceNumber: "INV-1", PayerReference: "01770618575", CallbackURL: "https://shop.example.com/cb"})
	var ou *OutcomeUnknownError
	if !errors.As(err, &ou) || ou.Op != "payment.create" {
		t.Fatalf("err = %v (%T), want *OutcomeUnknownError for payment.create", err, err)
	}
	if n := m.sent(epPaymentCreate); n != 1 {
		t.Errorf("create sent %d times, want 1", n)
	}
}

// An answer that passes the envelope checks but does not say what happened
// (an empty or foreign JSON object, null, a bare status) is not a success: a
// money call's outcome is then unknown, and so is a create's.
func TestAnswersThatDoNotSayWhatHappenedAreUnknownOutcomes(t *testing.T) {
	t.Parallel()
	bodies := []string{`{}`, `null`, `{"foo":1}`, `{"statusCode":"0000","statusMessage":"Successful"}`,
		`{"statusCode":"0000","statusMessage":"Successful","paymentID":"TR0011A"}`}
	calls := []struct {
		ep   *endpoint
		call func(*PaymentService, context.Context, string) (*Payment, error)
	}{
		{epPaymentExecute, (*PaymentService).Execute},
		{epPaymentCapture, (*PaymentService).Capture},
		{epPaymentVoid, (*PaymentService).Void},
	}
	for _, body := range bodies {
		for _, c := range calls {
			t.Run(c.ep.op+" "+body, func(t *testing.T) {
				t.Parallel()
				m, client := newPayMock(t)
				m.on(c.ep, payBody(body))
				p, err := c.call(client.Payments, context.Background(), "TR0011A")
				var ou *OutcomeUnknownError
				if p != nil || !errors.As(err, &ou) || ou.Op != c.ep.op || !strings.Contains(err.Error(), "transactionStatus") {
					t.Fatalf("= %+v, %v; want an *OutcomeUnknownError for %s naming the missing transactionStatus", p, err, c.ep.op)
				}
				if n := m.sent(c.ep); n != 1 {
					t.Errorf("sent %d times, want 1", n)
				}
			})
		}
	}
	for _, body := range bodies[:4] {
		t.Run("payment.create "+body, func(t *testing.T) {
			t.Parallel()
			m, c := newPayMock(t)
			m.on(epPaymentCreate, payBody(body))
			p, err := c.Payments.Create(context.Background(), &CreatePaymentParams{Amount: Taka(10),
				InvoiceNumber: "INV-1", PayerReference: "01770618575", CallbackURL: "https://shop.example.com/cb"})
			if p != nil || !errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "create a new one") {
				t.Fatalf("Create = %+v, %v; want an unknown outcome telling to create a new one", p, err)
			}
		})
	}
	t.Run("query reports what it got", func(t *testing.T) {
		t.Parallel()
		// A read moves nothing: an agreement-creation paymentID, for one,
		// is answered without a transactionStatus.
		m, c := newPayMock(t)
		m.on(epPaymentQuery, payBody(`{"statusCode":"0000","paymentID":"TR0000A","mode":"0000","agreementStatus":"Completed"}`))
		p, err := c.Payments.Query(context.Background(), "TR0000A")
		if err != nil || p.PaymentID != "TR0000A" || p.AgreementStatus != "Completed" {
			t.Fatalf("Query = %+v, %v; want the agreement fields", p, err)
		}
	})
}

func TestFinalizeQueriesAfterAnAnswerWithoutTransactionStatus(t *testing.T) {
	t.Parallel()
	m, c := newPayMock(t)
	m.on(epPaymentExecute, payBody(`{"statusCode":"0000","statusMessage":"Successful"}`))
	m.on(epPaymentQuery, payBody(`{"statusCode":"0000","paymentID":"TR0011A","trxID":"CLA7K2M9QZ","transactionStatus":"Completed","amount":"10.00"}`))
	p, err := c.Payments.Finalize(context.Background(), "TR0011A")
	if err != nil || p.Status != StatusCompleted || p.TrxID != "CLA7K2M9QZ" {
		t.Fatalf("Finalize = %+v, %v; want the queried, completed payment", p, err)
	}
	if n := m.sent(epPaymentExecute); n != 1 {
		t.Errorf("execute sent %d times, want 1", n)
	}
}

func TestCreateReturnsBkashErrors(t *testing.T) {
	t.Parallel()
	m, c := newPayMock(t)
	m.on(epPaymentCreate, payBody(`{"statusCode":"2049","statusMessage":"Invalid Merchant Callback URL"}`))
	p, err := c.Payments.Create(context.Background(), &CreatePaymentParams{Amount: Taka(10),
		InvoiceNumber: "INV-1", PayerReference: "01770618575", CallbackURL: "https://shop.example.com/cb"})
	if p != nil || !errors.Is(err, CodeInvalidCallbackURL) {
		t.Errorf("Create = %+v, %v; want nil, 2049", p, err)
	}
}

func TestLooseTimeNeverFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Time
	}{
		{`"2025-01-01T12:30:00:456 GMT+0600"`, payTime("2025-01-01T12:30:00:456 GMT+0600", 2025, 1, 1, 12, 30, 0, 456)},
		{`""`, Time{}},
		{`null`, Time{}},
		{`"yesterday"`, Time{Raw: "yesterday"}},
		{`1735713000456`, Time{Raw: "1735713000456"}},
		{`{"t":1}`, Time{Raw: `{"t":1}`}},
	}
	for _, tt := range tests {
		var lt looseTime
		if err := json.Unmarshal([]byte(tt.in), &lt); err != nil {
			t.Errorf("Unmarshal(%s): %v", tt.in, err)
			continue
		}
		if d := cmp.Diff(tt.want, Time(lt)); d != "" {
			t.Errorf("Unmarshal(%s) (-want +got):\n%s", tt.in, d)
		}
	}
}

func TestFinalizeRetriesOnlyQueriesThatMaySucceed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{&APIError{Code: CodeSystemError}, true},
		{&APIError{Code: CodeMaintenance}, true},
		{&APIError{Code: CodeInvalidPaymentID}, false},
		{&APIError{HTTPStatus: 401, Message: "Unauthorized"}, false},
		{&OutcomeUnknownError{Op: "payment.query", Err: errors.New("http 200: unreadable answer")}, true},
		{errors.New("bkash: payment.query: 3 attempt(s): connection refused"), true},
		{&OutcomeUnknownError{Op: "payment.query", Err: context.DeadlineExceeded}, false},
		{errors.Join(errors.New("not sent"), context.Canceled), false},
	}
	for _, tt := range tests {
		if got := queryRetryable(tt.err); got != tt.want {
			t.Errorf("queryRetryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
