package shop

import (
	"context"

	"github.com/smartdairy/bkash-go"
)

// onNotification receives bKash's instant payment notifications (Amazon SNS
// messages), already verified by bkash.WebhookVerifier: signature,
// certificate URL, topic, age, and duplicates (SNS delivers at least once).
//
// A notification carries no paymentID; the shop correlates it by invoice
// number. It is a signal, not the ledger: it is recorded on the order and,
// when the order is still processing, wakes the reconciler, which settles
// the order from Payments.Query like any other unknown outcome.
func (s *Shop) onNotification(ctx context.Context, n *bkash.Notification) error {
	o, ok := s.store.OrderByInvoice(n.MerchantInvoiceNumber)
	if !ok {
		// Not ours (bKash notifies every payment into the merchant wallet:
		// app, USSD, QR). Acknowledge it so that SNS does not retry.
		s.log.Info("webhook: no order for invoice", "invoice", n.MerchantInvoiceNumber, "trxID", n.TrxID)
		return nil
	}
	o, err := s.store.UpdateOrder(o.ID, func(o *Order) error {
		o.Webhook, o.WebhookAt = n.TrxID, s.now()
		return nil
	})
	if err != nil {
		return err // 500: SNS delivers it again
	}
	s.log.Info("webhook", "order", o.ID, "trxID", n.TrxID, "amount", n.Amount.String(), "status", n.TransactionStatus)
	if o.Status == OrderProcessing {
		s.wake()
	}
	return nil
}
