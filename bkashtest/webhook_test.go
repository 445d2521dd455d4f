package bkashtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/smartdairy/bkash-go"
)

// receiver is a merchant's webhook endpoint built on the SDK's verifier.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []*bkash.Notification
	fail atomic.Int32 // answer 500 to this many deliveries first
}

func newReceiver(t *testing.T, signer *SNSSigner) *receiver {
	t.Helper()
	v, err := bkash.NewWebhookVerifier(
		bkash.WithAllowedTopicARNs(signer.TopicARN()),
		bkash.WithCertFetcher(signer.CertFetcher()))
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	verified := v.Handler(func(_ context.Context, n *bkash.Notification) error {
		rc.mu.Lock()
		rc.got = append(rc.got, n)
		rc.mu.Unlock()
		return nil
	})
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc.fail.Add(-1) >= 0 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		verified.ServeHTTP(w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) notifications() []*bkash.Notification {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*bkash.Notification(nil), rc.got...)
}

func newSigner(t *testing.T) *SNSSigner {
	t.Helper()
	signer, err := NewSNSSigner()
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func TestWebhookNotifiesCompletedPayments(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	rc := newReceiver(t, signer)
	c := newAPI(t, WithWebhook(rc.srv.URL+"/bkash/webhook", signer), WithMerchant("Smart Dairy", "50022"))

	sale, saleTrx := c.paid("150.50", "sale")
	held, heldTrx := c.paid("80", "authorization")
	voided, _ := c.paid("20", "authorization")
	waitFor(t, func() bool { return len(c.srv.WebhookDeliveries()) == 1 })
	mustOK(t, "capture", c.call(capturePath, map[string]string{"paymentID": held}))
	mustOK(t, "void", c.call(voidPath, map[string]string{"paymentID": voided}))
	waitFor(t, func() bool { return len(c.srv.WebhookDeliveries()) == 2 })

	got := rc.notifications()
	if len(got) != 2 {
		t.Fatalf("receiver got %d notifications, want 2 (the sale and the capture)", len(got))
	}
	st, _ := c.srv.Payment(sale)
	want := &bkash.Notification{
		TrxID: saleTrx, Amount: bkash.Poisha(15050), Currency: "BDT", TransactionStatus: "Completed",
		TransactionType: "10002294", DebitMSISDN: "88" + walletOK, MerchantInvoiceNumber: "INV-1",
		CreditShortCode: "50022", CreditOrganizationName: "Smart Dairy",
	}
	opts := cmp.Options{cmpopts.IgnoreFields(bkash.Notification{}, "MessageID", "DateTime", "Raw")}
	if diff := cmp.Diff(want, got[0], opts); diff != "" {
		t.Errorf("sale notification (-want +got):\n%s", diff)
	}
	if !got[0].DateTime.Equal(st.ExecutedAt.Truncate(time.Second)) || got[0].DateTime.Raw != st.ExecutedAt.In(dhaka).Format("20060102150405") {
		t.Errorf("dateTime %v (%q), want the execute time %v in Dhaka", got[0].DateTime.Time, got[0].DateTime.Raw, st.ExecutedAt)
	}
	if got[1].TrxID != heldTrx || got[1].Amount != bkash.Taka(80) {
		t.Errorf("capture notification: %+v", got[1])
	}
	for _, d := range c.srv.WebhookDeliveries() {
		if d.Err != nil || d.StatusCode != http.StatusOK || d.Attempts != 1 || d.MessageID == "" {
			t.Errorf("delivery %+v", d)
		}
	}
	if got[0].MessageID == got[1].MessageID {
		t.Error("two notifications share a MessageId")
	}
}

func TestWebhookRetriesAndCloseWaits(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	rc := newReceiver(t, signer)
	rc.fail.Store(1)
	srv := NewServer(WithWebhook(rc.srv.URL, signer))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &api{t: t, srv: srv, hc: &http.Client{Transport: tr}}
	_, trx := c.paid("10", "sale")
	srv.Close() // waits for the delivery and its retry

	ds := srv.WebhookDeliveries()
	if len(ds) != 1 || ds[0].Attempts != 2 || ds[0].Err != nil || ds[0].TrxID != trx {
		t.Fatalf("deliveries after Close: %+v", ds)
	}
	if n := rc.notifications(); len(n) != 1 || n[0].TrxID != trx {
		t.Errorf("receiver got %+v", n)
	}
}

func TestWebhookGivesUpOnAnUnreachableReceiver(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	srv := NewServer(WithWebhook(dead.URL, signer))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &api{t: t, srv: srv, hc: &http.Client{Transport: tr}}
	c.paid("10", "sale")
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	ds := srv.WebhookDeliveries()
	if len(ds) != 1 || ds[0].Err == nil || ds[0].Attempts < 1 {
		t.Errorf("deliveries: %+v", ds)
	}
}

func TestWithWebhookRejectsNonsense(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	for name, fn := range map[string]func(){
		"nil signer":   func() { WithWebhook("http://127.0.0.1/hook", nil) },
		"relative URL": func() { WithWebhook("/hook", signer) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			fn()
		}()
	}
}
