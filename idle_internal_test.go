package bkash

import (
	"net/http"
	"testing"
)

// TestDefaultTransportIdleTimeout: the default client drops idle connections
// before the shortest idle timeout of the load balancers and NAT gateways in
// front of AWS-hosted APIs (ALB 60 s), so that no call is written onto a
// connection a middlebox already closed.
func TestDefaultTransportIdleTimeout(t *testing.T) {
	tr, ok := defaultTransport().(*http.Transport)
	if !ok {
		t.Skip("http.DefaultTransport replaced by the program")
	}
	if tr.IdleConnTimeout != defaultIdleConnTimeout || tr.IdleConnTimeout <= 0 || tr.IdleConnTimeout >= 60e9 {
		t.Errorf("IdleConnTimeout = %v, want %v (below an ALB's 60 s)", tr.IdleConnTimeout, defaultIdleConnTimeout)
	}
	if !tr.ForceAttemptHTTP2 {
		t.Error("the default client no longer attempts HTTP/2; TestHTTP2ResetNeverResendsMoney would not cover it")
	}
}
