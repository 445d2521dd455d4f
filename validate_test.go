package bkash

import (
	"context"
	"errors"
	"testing"
)

// Validate reports exactly what Create would refuse, without a client.
func TestParamsValidateMatchesCreate(t *testing.T) {
	t.Parallel()
	c, err := NewClient(Sandbox, Credentials{Username: "u", Password: "p", AppKey: "k", AppSecret: "s"}, WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := CreatePaymentParams{Amount: Taka(10), InvoiceNumber: "INV-1", PayerReference: "017", CallbackURL: "https://x.example/cb"}
	pay := []*CreatePaymentParams{nil, {}, {Amount: Taka(10), InvoiceNumber: "INV<", PayerReference: "017", CallbackURL: "https://x.example/cb"}}
	for _, p := range pay {
		_, createErr := c.Payments.Create(ctx, p)
		if err := p.Validate(); err == nil || createErr == nil || err.Error() != createErr.Error() {
			t.Errorf("CreatePaymentParams %+v: Validate = %v, Create = %v", p, err, createErr)
		}
		var ve *ValidationError
		if !errors.As(p.Validate(), &ve) {
			t.Errorf("Validate = %T, want *ValidationError", p.Validate())
		}
	}
	if err := good.Validate(); err != nil {
		t.Errorf("valid params: %v", err)
	}
	for _, p := range []*CreateAgreementParams{nil, {PayerReference: "017", CallbackURL: "cb"}} {
		_, createErr := c.Agreements.Create(ctx, p)
		if err := p.Validate(); err == nil || createErr == nil || err.Error() != createErr.Error() {
			t.Errorf("CreateAgreementParams %+v: Validate = %v, Create = %v", p, err, createErr)
		}
	}
	if err := (&CreateAgreementParams{PayerReference: "017", CallbackURL: "https://x.example/cb"}).Validate(); err != nil {
		t.Errorf("valid agreement params: %v", err)
	}
	for _, p := range []*RefundParams{nil, {PaymentID: "P", TrxID: "T", Amount: Taka(1), SKU: "s"}} {
		_, createErr := c.Refunds.Create(ctx, p)
		if err := p.Validate(); err == nil || createErr == nil || err.Error() != createErr.Error() {
			t.Errorf("RefundParams %+v: Validate = %v, Create = %v", p, err, createErr)
		}
	}
	if err := (&RefundParams{PaymentID: "P", TrxID: "T", Amount: Taka(1), SKU: "s", Reason: "r"}).Validate(); err != nil {
		t.Errorf("valid refund params: %v", err)
	}
}
