package bkash_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/smartdairy/bkash-go"
)

// Unit tests of agreement.go through the exported API, on the httpmock
// harness of harness_test.go. The flows against the fake bKash are in
// agreement_integration_test.go; its unexported request types are tested
// with the refund ones in refund_internal_test.go
// (TestRequestBodiesAreExactBytes, TestLogRefsNameTheObject).

// The agreement of testdata/agreement.
const (
	agPaymentID   = "TR0000Ag7Kp2X1736921400250"
	agAgreementID = "TokenizedMerchant02R5TY8W1736921485731"
	agPayer       = "01929918378"
	agCallback    = "https://dairy.example.com/bkash/agreement?customer=42"
)

var (
	agCreated   = bkTime("2025-01-15T12:10:00:250 GMT+0600", 2025, 1, 15, 12, 10, 0, 250, 6)
	agExecuted  = bkTime("2025-01-15T12:11:25:731 GMT+0600", 2025, 1, 15, 12, 11, 25, 731, 6)
	agCancelled = bkTime("2025-03-02T08:45:10:005 GMT+0600", 2025, 3, 2, 8, 45, 10, 5, 6)
)

// cancelledAgreement is what status and cancel answer for the cancelled agreement.
func cancelledAgreement() *bkash.Agreement {
	return &bkash.Agreement{
		AgreementID: agAgreementID, PaymentID: agPaymentID, PayerReference: agPayer, CustomerMSISDN: agPayer,
		Status: bkash.AgreementCancelled, CreatedAt: agCreated, ExecutedAt: agExecuted, CancelledAt: agCancelled,
		StatusMessage: "Successful",
	}
}

func TestAgreementCallsSendGoldenBodiesAndDecodeEveryField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    string
		fixture string
		call    func(context.Context, *bkash.AgreementService) (*bkash.Agreement, error)
		golden  string
		want    *bkash.Agreement
	}{{
		name: "create", path: pathCreate, fixture: "agreement/create_ok.json", golden: "agreement_create.json",
		call: func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			return s.Create(ctx, &bkash.CreateAgreementParams{PayerReference: agPayer, CallbackURL: agCallback})
		},
		want: &bkash.Agreement{
			PaymentID:            agPaymentID,
			BkashURL:             "https://sandbox.payment.bkash.com/?paymentId=TR0000Ag7Kp2X1736921400250&hash=Pq8.Rs_Tu(Vw)1736921400250&mode=0000&apiVersion=v1.2.0-beta/",
			PayerReference:       agPayer,
			Status:               bkash.AgreementInitiated,
			CreatedAt:            agCreated,
			CallbackURL:          agCallback,
			SuccessCallbackURL:   agCallback + "&paymentID=TR0000Ag7Kp2X1736921400250&status=success&signature=Mn4Bv6Cx8Z",
			FailureCallbackURL:   agCallback + "&paymentID=TR0000Ag7Kp2X1736921400250&status=failure&signature=Mn4Bv6Cx8Z",
			CancelledCallbackURL: agCallback + "&paymentID=TR0000Ag7Kp2X1736921400250&status=cancel&signature=Mn4Bv6Cx8Z",
			StatusMessage:        "Successful",
		},
	}, {
		name: "execute", path: pathExecute, fixture: "agreement/execute_ok.json", golden: "agreement_execute.json",
		call: func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			return s.Execute(ctx, agPaymentID)
		},
		want: &bkash.Agreement{
			AgreementID: agAgreementID, PaymentID: agPaymentID, PayerReference: agPayer, CustomerMSISDN: agPayer,
			Status: bkash.AgreementCompleted, ExecutedAt: agExecuted, StatusMessage: "Successful",
		},
	}, {
		name: "query", path: pathAgreementStatus, fixture: "agreement/status_ok.json", golden: "agreement_query.json",
		call: func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			return s.Query(ctx, agAgreementID)
		},
		want: &bkash.Agreement{
			AgreementID: agAgreementID, PaymentID: agPaymentID, PayerReference: agPayer, CustomerMSISDN: agPayer,
			Status: bkash.AgreementCompleted, CreatedAt: agCreated, ExecutedAt: agExecuted, StatusMessage: "Successful",
		},
	}, {
		name: "query cancelled", path: pathAgreementStatus, fixture: "agreement/status_cancelled.json", golden: "agreement_query.json",
		call: func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			return s.Query(ctx, agAgreementID)
		},
		want: cancelledAgreement(),
	}, {
		name: "cancel", path: pathAgreementCancel, fixture: "agreement/cancel_ok.json", golden: "agreement_cancel.json",
		call: func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			return s.Cancel(ctx, agAgreementID)
		},
		want: cancelledAgreement(),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMockBkash(t)
			m.reply(tt.path, http.StatusOK, tt.fixture)
			got, err := tt.call(context.Background(), m.client.Agreements)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpTime); diff != "" {
				t.Errorf("Agreement (-want +got):\n%s", diff)
			}
			sent := m.sent(tt.path)
			if len(sent) != 1 {
				t.Fatalf("%d requests to %s, want 1", len(sent), tt.path)
			}
			checkGoldenBody(t, sent[0], tt.golden)
		})
	}
}

func TestAgreementCancelTreatsAlreadyCancelledAsSuccess(t *testing.T) {
	t.Parallel()
	m := newMockBkash(t)
	m.reply(pathAgreementCancel, http.StatusOK, "agreement/cancel_2053.json")
	m.reply(pathAgreementStatus, http.StatusOK, "agreement/status_cancelled.json")
	got, err := m.client.Agreements.Cancel(context.Background(), agAgreementID)
	if err != nil {
		t.Fatalf("Cancel: %v, want nil after 2053", err)
	}
	if diff := cmp.Diff(cancelledAgreement(), got, cmpTime); diff != "" {
		t.Errorf("Agreement (-want +got):\n%s", diff)
	}
	cancels, queries := m.sent(pathAgreementCancel), m.sent(pathAgreementStatus)
	if len(cancels) != 1 || len(queries) != 1 {
		t.Fatalf("cancel sent %d times, status %d times; want 1 and 1", len(cancels), len(queries))
	}
	checkGoldenBody(t, queries[0], "agreement_query.json")
}

func TestAgreementCancelAfter2053ReportsAFailedQuery(t *testing.T) {
	t.Parallel()
	m := newMockBkash(t)
	m.reply(pathAgreementCancel, http.StatusOK, "agreement/cancel_2053.json")
	m.replies(pathAgreementStatus, http.StatusOK, `{"statusCode":"9999","statusMessage":"System Error"}`)
	got, err := m.client.Agreements.Cancel(context.Background(), agAgreementID)
	if got != nil || !errors.Is(err, bkash.CodeSystemError) {
		t.Fatalf("Cancel = %+v, %v; want nil and the query's 9999", got, err)
	}
}

func TestAgreementCancelIsRetriedAfterATransportFailure(t *testing.T) {
	t.Parallel()
	// The first cancel reached bKash but its answer was lost: the retry
	// answers 2053, which Cancel turns into success.
	m := newMockBkash(t)
	var mu sync.Mutex
	n := 0
	m.on(pathAgreementCancel, func([]byte) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		if n++; n == 1 {
			return nil, errors.New("connection reset by peer")
		}
		return httpmock.NewBytesResponse(http.StatusOK, readTestdata(t, "agreement/cancel_2053.json")), nil
	})
	m.reply(pathAgreementStatus, http.StatusOK, "agreement/status_cancelled.json")
	got, err := m.client.Agreements.Cancel(context.Background(), agAgreementID)
	if err != nil || got.Status != bkash.AgreementCancelled {
		t.Fatalf("Cancel = %+v, %v; want the cancelled agreement", got, err)
	}
	if len(m.sent(pathAgreementCancel)) != 2 {
		t.Errorf("cancel sent %d times, want 2 (retried like a read)", len(m.sent(pathAgreementCancel)))
	}
}

func TestAgreementExecuteIsNeverResentAfterTimeout(t *testing.T) {
	t.Parallel()
	m := newMockBkash(t)
	m.on(pathExecute, func([]byte) (*http.Response, error) {
		return nil, fmt.Errorf("awaiting headers: %w", context.DeadlineExceeded)
	})
	got, err := m.client.Agreements.Execute(context.Background(), agPaymentID)
	var ou *bkash.OutcomeUnknownError
	if got != nil || !errors.As(err, &ou) || ou.Op != "agreement.execute" {
		t.Fatalf("Execute = %+v, %v; want *OutcomeUnknownError for agreement.execute", got, err)
	}
	if !strings.Contains(err.Error(), "Payments.Query") {
		t.Errorf("error %q does not say how to reconcile", err)
	}
	if n := len(m.sent(pathExecute)); n != 1 {
		t.Errorf("execute sent %d times, want exactly 1", n)
	}
}

func TestAgreementAnswersMissingTheirIDAreNotSuccesses(t *testing.T) {
	t.Parallel()
	t.Run("execute without agreementID", func(t *testing.T) {
		t.Parallel()
		m := newMockBkash(t)
		m.replies(pathExecute, http.StatusOK, `{"statusCode":"0000","statusMessage":"Successful","paymentID":"`+agPaymentID+`"}`)
		got, err := m.client.Agreements.Execute(context.Background(), agPaymentID)
		if got != nil || !errors.Is(err, bkash.ErrOutcomeUnknown) {
			t.Fatalf("Execute = %+v, %v; want an unknown outcome", got, err)
		}
	})
	t.Run("create without paymentID", func(t *testing.T) {
		t.Parallel()
		m := newMockBkash(t)
		m.replies(pathCreate, http.StatusOK, `{"statusCode":"0000","statusMessage":"Successful"}`)
		got, err := m.client.Agreements.Create(context.Background(), &bkash.CreateAgreementParams{PayerReference: agPayer, CallbackURL: agCallback})
		if got != nil || !errors.Is(err, bkash.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "create a new one") {
			t.Fatalf("Create = %+v, %v; want an unknown outcome telling to create a new one", got, err)
		}
	})
}

func TestAgreementInputIsValidatedBeforeSending(t *testing.T) {
	t.Parallel()
	valid := bkash.CreateAgreementParams{PayerReference: agPayer, CallbackURL: agCallback}
	tests := []struct {
		name  string
		call  func(context.Context, *bkash.AgreementService) (*bkash.Agreement, error)
		field string
	}{
		{"nil params", func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			return s.Create(ctx, nil)
		}, "CreateAgreementParams"},
		{"empty payer reference", func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			p := valid
			p.PayerReference = ""
			return s.Create(ctx, &p)
		}, "CreateAgreementParams.PayerReference"},
		{"payer reference over 255", func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			p := valid
			p.PayerReference = strings.Repeat("9", 256)
			return s.Create(ctx, &p)
		}, "CreateAgreementParams.PayerReference"},
		{"payer reference with &", func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			p := valid
			p.PayerReference = "a&b"
			return s.Create(ctx, &p)
		}, "CreateAgreementParams.PayerReference"},
		{"empty callback", func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			p := valid
			p.CallbackURL = ""
			return s.Create(ctx, &p)
		}, "CreateAgreementParams.CallbackURL"},
		{"relative callback", func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			p := valid
			p.CallbackURL = "/bkash/agreement"
			return s.Create(ctx, &p)
		}, "CreateAgreementParams.CallbackURL"},
		{"ftp callback", func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			p := valid
			p.CallbackURL = "ftp://dairy.example.com/cb"
			return s.Create(ctx, &p)
		}, "CreateAgreementParams.CallbackURL"},
		{"execute without paymentID", func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			return s.Execute(ctx, " ")
		}, "paymentID"},
		{"query without agreementID", func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			return s.Query(ctx, "")
		}, "agreementID"},
		{"cancel without agreementID", func(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
			return s.Cancel(ctx, "")
		}, "agreementID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMockBkash(t)
			got, err := tt.call(context.Background(), m.client.Agreements)
			var ve *bkash.ValidationError
			if got != nil || !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("got %+v, %v; want *ValidationError on %s", got, err, tt.field)
			}
			if n := m.calls(); n != 0 {
				t.Errorf("%d requests reached the transport, want 0", n)
			}
		})
	}
}

// agreementCodes are the agreement refusals bKash documents, with the class
// the SDK gives each and an operation that can meet it.
var agreementCodes = []struct {
	code  bkash.ErrorCode
	msg   string
	class bkash.ErrorClass
	path  string
	call  func(context.Context, *bkash.AgreementService) (*bkash.Agreement, error)
}{
	{bkash.CodeAgreementAlreadyExists, "Agreement already exists between payer and merchant", bkash.ClassState, pathCreate, createAgreement},
	{bkash.CodeInvalidAgreementID, "Invalid Agreement ID", bkash.ClassNotFound, pathAgreementStatus, queryAgreement},
	{bkash.CodeAgreementIncomplete, "Agreement is in incomplete state", bkash.ClassState, pathAgreementCancel, cancelAgreement},
	{bkash.CodeAgreementNotReady, "Agreement execution pre-requisite hasn't been met", bkash.ClassState, pathExecute, executeAgreement},
	{bkash.CodeInvalidAgreementState, "Invalid Agreement State", bkash.ClassState, pathExecute, executeAgreement},
	{bkash.CodeAgreementAlreadyExecuted, "The agreement execution has already been completed", bkash.ClassAlreadyDone, pathExecute, executeAgreement},
}

func createAgreement(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
	return s.Create(ctx, &bkash.CreateAgreementParams{PayerReference: agPayer, CallbackURL: agCallback})
}
func executeAgreement(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
	return s.Execute(ctx, agPaymentID)
}
func queryAgreement(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
	return s.Query(ctx, agAgreementID)
}
func cancelAgreement(ctx context.Context, s *bkash.AgreementService) (*bkash.Agreement, error) {
	return s.Cancel(ctx, agAgreementID)
}

func TestAgreementRefusalsAreTypedErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range agreementCodes {
		t.Run(string(tc.code), func(t *testing.T) {
			t.Parallel()
			m := newMockBkash(t)
			m.replies(tc.path, http.StatusOK, fmt.Sprintf(`{"statusCode":%q,"statusMessage":%q}`, string(tc.code), tc.msg))
			got, err := tc.call(context.Background(), m.client.Agreements)
			var ae *bkash.APIError
			if got != nil || !errors.As(err, &ae) {
				t.Fatalf("got %+v, %T %v; want *APIError", got, err, err)
			}
			if !errors.Is(err, tc.code) || ae.Class() != tc.class || ae.Message != tc.msg || tc.code.Message() != tc.msg {
				t.Errorf("got code %s class %v message %q; want %s, %v, %q (documented %q)",
					string(ae.Code), ae.Class(), ae.Message, string(tc.code), tc.class, tc.msg, tc.code.Message())
			}
			if n := len(m.sent(tc.path)); n != 1 {
				t.Errorf("sent %d times, want 1: a definite refusal is not retried", n)
			}
		})
	}
	// 2053 never reaches the caller from Cancel (see above); its class says
	// why: the work is already done.
	if c := bkash.CodeAgreementAlreadyCancelled.Class(); c != bkash.ClassAlreadyDone {
		t.Errorf("2053 class = %v, want already-done", c)
	}
}
