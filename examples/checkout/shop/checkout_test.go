package shop

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/smartdairy/bkash-go"
)

func TestNotSent(t *testing.T) {
	gateway := &bkash.APIError{Op: "payment.execute", HTTPStatus: 429, Message: "Too Many Requests"}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"never sent", fmt.Errorf("bkash: payment.execute: not sent: %w", context.Canceled), true},
		{"the gateway's refusal", gateway, true},
		{"bKash's refusal", &bkash.APIError{Op: "payment.execute", HTTPStatus: 200, Code: "2023"}, false},
		{"unknown outcome", &bkash.OutcomeUnknownError{Op: "payment.execute", Err: errors.New("EOF")}, false},
		{"unknown outcome wrapping the gateway's answer", &bkash.OutcomeUnknownError{Op: "payment.execute", Err: gateway}, false},
		{"invalid input", &bkash.ValidationError{Field: "paymentID", Reason: "is empty"}, true},
	}
	for _, tt := range tests {
		if got := notSent(tt.err); got != tt.want {
			t.Errorf("%s: notSent(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
