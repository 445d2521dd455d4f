package shop

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/smartdairy/bkash-go"
)

// handleWebhook receives bKash's instant payment notifications (Amazon SNS
// messages). Every message is written to webhook_log, verified or not, with
// how its processing ended. The checks are bkash.WebhookVerifier's:
// signature, certificate URL, topic, age. Duplicates (SNS delivers at least
// once, possibly to another replica) are recognized from webhook_log.
//
// A notification carries no paymentID; the shop correlates it by invoice
// number. It is a signal, not the ledger: it is recorded on the order and,
// when the order is still processing, wakes the reconciler, which settles
// the order from Payments.Query like any other unknown outcome.
func (s *Shop) handleWebhook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	entry := WebhookLogEntry{At: s.now(), RemoteAddr: r.RemoteAddr}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bkash.MaxWebhookBodySize))
	if err != nil {
		entry.Status, entry.VerifyError = "rejected", "reading the body: "+err.Error()
		s.logWebhook(ctx, entry)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	msg, err := s.verifier.Verify(ctx, body)
	if err != nil {
		// Kept for the record, masked and bounded: an unverified body is
		// whatever anyone sent.
		entry.Status, entry.VerifyError = "rejected", maskText(err.Error())
		entry.Payload = logExcerpt(body, 4096)
		s.logWebhook(ctx, entry)
		status := http.StatusBadRequest
		if errors.Is(err, bkash.ErrWebhookCertFetch) {
			status = http.StatusServiceUnavailable // SNS retries
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	entry.Verified, entry.MessageID, entry.Type = true, msg.MessageID, string(msg.Type)
	entry.Payload = maskText(msg.Message)
	if msg.Type != bkash.WebhookNotification {
		// Subscription confirmations are confirmed by hand in this demo.
		entry.Status = "ignored"
		s.logWebhook(ctx, entry)
		w.WriteHeader(http.StatusOK)
		return
	}
	n := msg.Notification
	entry.TrxID = n.TrxID
	done, err := s.store.WebhookProcessed(ctx, msg.MessageID)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if done {
		entry.Status = "duplicate"
		s.logWebhook(ctx, entry)
		w.WriteHeader(http.StatusOK)
		return
	}
	entry.Status = "processing"
	id, err := s.store.InsertWebhookLog(ctx, entry)
	if err != nil {
		s.log.Error("webhook log", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError) // SNS delivers it again
		return
	}
	orderID, err := s.onNotification(ctx, n)
	status, errText := "processed", ""
	if err != nil {
		status, errText = "failed", err.Error()
	}
	if ferr := s.store.FinishWebhookLog(context.WithoutCancel(ctx), id, status, errText, orderID); ferr != nil {
		s.log.Error("webhook log", "err", ferr)
	}
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError) // SNS delivers it again
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Shop) logWebhook(ctx context.Context, e WebhookLogEntry) {
	if _, err := s.store.InsertWebhookLog(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("webhook log", "err", err)
	}
}

// onNotification records a verified notification on its order and returns
// the order's ID ("" when the notification is not for one of the shop's
// orders).
func (s *Shop) onNotification(_ context.Context, n *bkash.Notification) (string, error) {
	o, err := s.store.OrderByInvoice(n.MerchantInvoiceNumber)
	if errors.Is(err, ErrNotFound) {
		// Not ours (bKash notifies every payment into the merchant wallet:
		// app, USSD, QR). Acknowledge it so that SNS does not retry.
		s.log.Info("webhook: no order for invoice", "invoice", n.MerchantInvoiceNumber, "trxID", n.TrxID)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	o, err = s.store.UpdateOrder(o.ID, func(o *Order) error {
		// The same notification again (SNS redelivers; a replica died before
		// logging it processed) keeps the first one's time: the order is not
		// written again.
		if o.Webhook != n.TrxID {
			o.Webhook, o.WebhookAt = n.TrxID, s.now()
		}
		return nil
	})
	if err != nil {
		return o.ID, err // 500: SNS delivers it again
	}
	s.log.Info("webhook", "order", o.ID, "trxID", n.TrxID, "amount", n.Amount.String(), "status", n.TransactionStatus)
	if o.Status == OrderProcessing {
		s.wake()
	}
	return o.ID, nil
}
