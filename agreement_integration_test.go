package bkash_test

import (
	"context"
	"errors"
	"testing"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// Integration tests of agreement.go: AgreementService against the fake bKash
// of package bkashtest (harness: harness_test.go).

func TestAgreementLifecycleAgainstFake(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()

	created, err := client.Agreements.Create(ctx, &bkash.CreateAgreementParams{PayerReference: fakeWallet, CallbackURL: "https://dairy.example.com/bkash/agreement"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created.PaymentID == "" || created.BkashURL == "" || created.Status != bkash.AgreementInitiated || created.CreatedAt.IsZero() {
		t.Fatalf("Create = %+v; want a paymentID, a bkashURL, Initiated and a creation time", created)
	}
	if st, _ := srv.Payment(created.PaymentID); st.Mode != "0000" {
		t.Errorf("agreement request mode = %q, want 0000", st.Mode)
	}

	// Executing before the customer approved is a typed refusal.
	if _, err := client.Agreements.Execute(ctx, created.PaymentID); !errors.Is(err, bkash.CodeAgreementNotReady) {
		t.Fatalf("Execute before approval: err = %v, want 2054", err)
	}

	if err := srv.Approve(created.PaymentID, fakeWallet); err != nil {
		t.Fatal(err)
	}
	ag, err := client.Agreements.Execute(ctx, created.PaymentID)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if ag.AgreementID == "" || ag.Status != bkash.AgreementCompleted || ag.CustomerMSISDN != fakeWallet || ag.ExecutedAt.IsZero() {
		t.Fatalf("Execute = %+v; want a completed agreement of %s", ag, fakeWallet)
	}

	// Pay with the agreement: mode 0001, the customer only enters the PIN.
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: bkash.Taka(480), InvoiceNumber: "INV-AG-1", PayerReference: fakeWallet,
		CallbackURL: "https://dairy.example.com/bkash/callback", AgreementID: ag.AgreementID,
	})
	if err != nil {
		t.Fatalf("Payments.Create with agreement: %v", err)
	}
	if st, _ := srv.Payment(p.PaymentID); st.Mode != "0001" || st.AgreementID != ag.AgreementID {
		t.Fatalf("payment on the fake = mode %q agreement %q; want 0001 with %s", st.Mode, st.AgreementID, ag.AgreementID)
	}
	if err := srv.Approve(p.PaymentID, ""); err != nil {
		t.Fatal(err)
	}
	paid, err := client.Payments.Execute(ctx, p.PaymentID)
	if err != nil || paid.Status != bkash.StatusCompleted || paid.Amount != bkash.Taka(480) {
		t.Fatalf("Payments.Execute = %+v, %v; want 480.00 completed", paid, err)
	}

	q, err := client.Agreements.Query(ctx, ag.AgreementID)
	if err != nil || q.Status != bkash.AgreementCompleted || q.PaymentID != created.PaymentID {
		t.Fatalf("Query = %+v, %v; want the completed agreement of %s", q, err, created.PaymentID)
	}

	// Cancel twice: the second answer is 2053, which Cancel turns into the
	// agreement's state after one status call.
	for i := range 2 {
		c, err := client.Agreements.Cancel(ctx, ag.AgreementID)
		if err != nil || c.Status != bkash.AgreementCancelled || c.CancelledAt.IsZero() {
			t.Fatalf("Cancel #%d = %+v, %v; want the cancelled agreement, nil", i+1, c, err)
		}
	}
	if got := srv.Received("agreement.cancel"); got != 2 {
		t.Errorf("agreement.cancel received %d times, want 2", got)
	}
	if got := srv.Received("agreement.query"); got != 2 { // the Query above and the re-query after 2053
		t.Errorf("agreement.query received %d times, want 2", got)
	}
	if st, _ := srv.Agreement(ag.AgreementID); st.Status != "Cancelled" {
		t.Errorf("fake agreement status = %q, want Cancelled", st.Status)
	}

	// A cancelled agreement can no longer pay.
	_, err = client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: bkash.Taka(10), InvoiceNumber: "INV-AG-2", PayerReference: fakeWallet,
		CallbackURL: "https://dairy.example.com/bkash/callback", AgreementID: ag.AgreementID,
	})
	var ae *bkash.APIError
	if !errors.As(err, &ae) || ae.Code != bkash.CodeInvalidAgreementState || ae.Class() != bkash.ClassState {
		t.Errorf("paying with a cancelled agreement: err = %v, want 2055 (state)", err)
	}
}

func TestAgreementExecuteWithLostAnswerIsReconciledByPaymentQuery(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()

	created, err := client.Agreements.Create(ctx, &bkash.CreateAgreementParams{PayerReference: fakeWallet, CallbackURL: "https://dairy.example.com/bkash/agreement"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Approve(created.PaymentID, fakeWallet); err != nil {
		t.Fatal(err)
	}
	srv.Inject("agreement.execute", bkashtest.Fault{Drop: true, AfterApply: true})
	_, err = client.Agreements.Execute(ctx, created.PaymentID)
	var ou *bkash.OutcomeUnknownError
	if !errors.As(err, &ou) || ou.Op != "agreement.execute" {
		t.Fatalf("Execute with a dropped answer: err = %v, want *OutcomeUnknownError", err)
	}
	if got := srv.Received("agreement.execute"); got != 1 {
		t.Errorf("agreement.execute received %d times, want exactly 1", got)
	}
	// The reconciliation the error text names.
	p, err := client.Payments.Query(ctx, created.PaymentID)
	if err != nil {
		t.Fatalf("Payments.Query: %v", err)
	}
	if p.AgreementID == "" || p.AgreementStatus != string(bkash.AgreementCompleted) {
		t.Fatalf("Payments.Query = agreement %q status %q; want the executed agreement", p.AgreementID, p.AgreementStatus)
	}
	ag, err := client.Agreements.Query(ctx, p.AgreementID)
	if err != nil || ag.Status != bkash.AgreementCompleted || ag.CustomerMSISDN != fakeWallet {
		t.Errorf("Agreements.Query = %+v, %v", ag, err)
	}
}

func TestIntegrationAgreements(t *testing.T) {
	t.Parallel()
	srv, client := newIntegration(t, nil)
	ctx := context.Background()

	ag, err := client.Agreements.Create(ctx, &bkash.CreateAgreementParams{PayerReference: fakeWallet, CallbackURL: shopCallback})
	if err != nil {
		t.Fatal(err)
	}
	if ag.Status != bkash.AgreementInitiated || ag.PaymentID == "" || ag.BkashURL == "" {
		t.Errorf("Create: %+v", ag)
	}
	_, err = client.Agreements.Execute(ctx, ag.PaymentID)
	wantAPIError(t, "execute before approval", err, bkash.CodeAgreementNotReady)
	if err := srv.Approve(ag.PaymentID, fakeWallet); err != nil {
		t.Fatal(err)
	}
	done, err := client.Agreements.Execute(ctx, ag.PaymentID)
	if err != nil || done.AgreementID == "" || done.Status != bkash.AgreementCompleted || done.CustomerMSISDN != fakeWallet {
		t.Fatalf("Execute: %+v, %v", done, err)
	}
	if srv.Applied("agreement.execute") != 1 || srv.Received("payment.execute") != 0 {
		t.Errorf("agreement execute counted as %d agreement / %d payment executes", srv.Applied("agreement.execute"), srv.Received("payment.execute"))
	}
	q, err := client.Agreements.Query(ctx, done.AgreementID)
	if err != nil || q.Status != bkash.AgreementCompleted || q.PaymentID != ag.PaymentID || q.ExecutedAt.IsZero() {
		t.Errorf("Query: %+v, %v", q, err)
	}

	params := saleParams(bkash.Taka(99), bkash.IntentSale)
	params.AgreementID = done.AgreementID
	p, err := client.Payments.Create(ctx, params)
	if err != nil || p.Mode != "0001" || p.AgreementID != done.AgreementID {
		t.Fatalf("Create with agreement: %+v, %v", p, err)
	}
	if err := srv.Approve(p.PaymentID, ""); err != nil {
		t.Fatal(err)
	}
	if e, err := client.Payments.Execute(ctx, p.PaymentID); err != nil || e.Status != bkash.StatusCompleted || e.AgreementID != done.AgreementID {
		t.Errorf("Execute with agreement: %+v, %v", e, err)
	}

	c, err := client.Agreements.Cancel(ctx, done.AgreementID)
	if err != nil || c.Status != bkash.AgreementCancelled || c.CancelledAt.IsZero() {
		t.Errorf("Cancel: %+v, %v", c, err)
	}
	again, err := client.Agreements.Cancel(ctx, done.AgreementID)
	if err != nil || again == nil || again.Status != bkash.AgreementCancelled {
		t.Errorf("second Cancel (2053 is success): %+v, %v", again, err)
	}
	if srv.Received("agreement.cancel") != 2 || srv.Applied("agreement.query") != 2 {
		t.Errorf("second cancel: %d cancels, %d queries", srv.Received("agreement.cancel"), srv.Applied("agreement.query"))
	}
	_, err = client.Payments.Create(ctx, params)
	wantAPIError(t, "pay with a cancelled agreement", err, bkash.CodeInvalidAgreementState)
}
