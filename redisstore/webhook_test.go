package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// newSigner returns an SNS signer for the tests' notifications.
func newSigner(t *testing.T) *bkashtest.SNSSigner {
	t.Helper()
	signer, err := bkashtest.NewSNSSigner()
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// webhookOn is a webhook endpoint that verifies signer's messages and
// deduplicates them in store.
func webhookOn(t *testing.T, signer *bkashtest.SNSSigner, store bkash.DedupeStore, fn func(context.Context, *bkash.Notification) error, opts ...bkash.WebhookOption) http.Handler {
	t.Helper()
	v, err := bkash.NewWebhookVerifier(append([]bkash.WebhookOption{
		bkash.WithAllowedTopicARNs(signer.TopicARN()),
		bkash.WithCertFetcher(signer.CertFetcher()),
		bkash.WithDedupeStore(store)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v.Handler(fn)
}

// webhookReplica is one replica's webhook endpoint: a WebhookVerifier on its
// own Store (own Redis connections) under the shared prefix.
func webhookReplica(t *testing.T, signer *bkashtest.SNSSigner, prefix string, fn func(context.Context, *bkash.Notification) error) http.Handler {
	t.Helper()
	return webhookOn(t, signer, replica(t, prefix), fn)
}

// redeliver posts body to h as SNS's retries would, up to tries times,
// until the callback has run more than ran times; it returns the statuses.
func redeliver(h http.Handler, body []byte, calls *atomic.Int32, ran int32, tries int) []int {
	var codes []int
	for range tries {
		codes = append(codes, post(h, body))
		if calls.Load() > ran {
			break
		}
	}
	return codes
}

func notification(t *testing.T, signer *bkashtest.SNSSigner, trxID string) []byte {
	t.Helper()
	body, err := signer.Notification([]byte(fmt.Sprintf(
		`{"trxID":%q,"amount":"1250.50","currency":"BDT","transactionStatus":"Completed","transactionType":"1003"}`, trxID)))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func post(h http.Handler, body []byte) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/bkash/webhook", bytes.NewReader(body)))
	return rec.Code
}

func TestSameNotificationOnFourReplicasIsHandledOnce(t *testing.T) {
	t.Parallel()
	_, _, prefix := newTestStore(t)
	signer := newSigner(t)
	var mu sync.Mutex
	handled := map[string]int{}
	fn := func(_ context.Context, n *bkash.Notification) error {
		mu.Lock()
		handled[n.TrxID]++
		mu.Unlock()
		return nil
	}
	replicas := make([]http.Handler, 4)
	for i := range replicas {
		replicas[i] = webhookReplica(t, signer, prefix, fn)
	}

	const messages = 20
	for i := range messages {
		trxID := fmt.Sprintf("TRX%07d", i)
		body := notification(t, signer, trxID) // one MessageId, delivered to every replica
		var wg sync.WaitGroup
		codes := make([]int, len(replicas))
		start := make(chan struct{})
		for r, h := range replicas {
			wg.Go(func() {
				<-start
				codes[r] = post(h, body)
			})
		}
		close(start)
		wg.Wait()
		for r, code := range codes {
			// 503: the delivery came while another replica was still
			// handling the message; SNS delivers it again, and by then
			// it has been handled.
			if code == http.StatusServiceUnavailable {
				code = post(replicas[r], body)
			}
			if code != http.StatusOK {
				t.Errorf("%s on replica %d: HTTP %d, want 200 (handled or duplicate)", trxID, r, code)
			}
		}
	}
	for i := range messages {
		trxID := fmt.Sprintf("TRX%07d", i)
		if handled[trxID] != 1 {
			t.Errorf("%s handled %d times across 4 replicas, want exactly once", trxID, handled[trxID])
		}
	}
}

func TestFailedCallbackLetsAnotherReplicaHandleTheRedelivery(t *testing.T) {
	t.Parallel()
	_, _, prefix := newTestStore(t)
	signer := newSigner(t)
	var calls atomic.Int32
	failing := webhookReplica(t, signer, prefix, func(context.Context, *bkash.Notification) error {
		calls.Add(1)
		return errors.New("database unavailable")
	})
	healthy := webhookReplica(t, signer, prefix, func(context.Context, *bkash.Notification) error {
		calls.Add(1)
		return nil
	})
	body := notification(t, signer, "TRX0000042")

	if code := post(failing, body); code != http.StatusInternalServerError {
		t.Fatalf("failing callback: HTTP %d, want 500 so that SNS redelivers", code)
	}
	if code := post(healthy, body); code != http.StatusOK {
		t.Fatalf("redelivery to another replica: HTTP %d, want 200", code)
	}
	if code := post(failing, body); code != http.StatusOK {
		t.Errorf("third delivery after success: HTTP %d, want 200 (duplicate)", code)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("callback ran %d times, want 2 (the failure, then the redelivery; not the duplicate)", n)
	}
}

// TestRedeliveryWhileAnotherReplicaIsStillHandlingGets503: SNS gave up on
// a slow delivery to replica A and delivers the message to replica B while
// A's callback still runs. B answers 503 (not 200, which would end SNS's
// retries) and, once A has failed, SNS's next delivery is handled.
func TestRedeliveryWhileAnotherReplicaIsStillHandlingGets503(t *testing.T) {
	t.Parallel()
	_, _, prefix := newTestStore(t)
	signer := newSigner(t)
	running, fail := make(chan struct{}), make(chan struct{})
	slow := webhookReplica(t, signer, prefix, func(context.Context, *bkash.Notification) error {
		close(running)
		<-fail
		return errors.New("database timeout")
	})
	var handled atomic.Int32
	healthy := webhookReplica(t, signer, prefix, func(context.Context, *bkash.Notification) error {
		handled.Add(1)
		return nil
	})
	body := notification(t, signer, "TRX0000077")
	first := make(chan int)
	go func() { first <- post(slow, body) }()
	<-running
	if code := post(healthy, body); code != http.StatusServiceUnavailable {
		t.Errorf("redelivery while replica A still runs: HTTP %d, want 503", code)
	}
	close(fail)
	if code := <-first; code != http.StatusInternalServerError {
		t.Errorf("replica A: HTTP %d, want 500", code)
	}
	if code := post(healthy, body); code != http.StatusOK || handled.Load() != 1 {
		t.Errorf("next redelivery: HTTP %d, handled %d; want 200, 1", code, handled.Load())
	}
	if code := post(slow, body); code != http.StatusOK {
		t.Errorf("a duplicate after success: HTTP %d, want 200", code)
	}
}
