package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestWebhookSendRefusesAnUntrustedCertificate: `bkash webhook send` to an
// https URL whose certificate does not verify fails, and no byte of the
// signed notification is delivered (no silent InsecureSkipVerify).
func TestWebhookSendRefusesAnUntrustedCertificate(t *testing.T) {
	t.Parallel()
	var got atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	r := runCLI(t, nil, "webhook", "send", "--trx-id", "TRX0000003", "--amount", "10", "--to", srv.URL, "--timeout", "5s")
	if r.code == exitOK {
		t.Fatalf("sent to an untrusted certificate: exit 0\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "certificate") || !strings.Contains(r.stderr, srv.URL) {
		t.Errorf("stderr does not name the certificate problem and the URL: %q", r.stderr)
	}
	if n := got.Load(); n != 0 {
		t.Errorf("the receiver got %d requests, want 0", n)
	}
}
