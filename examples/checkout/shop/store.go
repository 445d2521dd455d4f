package shop

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/smartdairy/bkash-go"
)

// OrderStatus is where an order stands. The shop only ever moves an order to
// OrderPaid on a definite answer from bKash (execute or query), never on the
// browser's say-so.
type OrderStatus string

// Order statuses.
const (
	// OrderNew: created from the cart, no payment started yet.
	OrderNew OrderStatus = "new"
	// OrderAwaitingPayment: a bKash payment was created and its paymentID
	// stored; the customer is on bKash's page.
	OrderAwaitingPayment OrderStatus = "awaiting payment"
	// OrderProcessing: execute was sent and no definite answer came back.
	// The reconciler settles it with Payments.Query; nobody re-sends execute.
	OrderProcessing OrderStatus = "processing"
	// OrderPaid: bKash confirmed the payment and it matched the order.
	OrderPaid OrderStatus = "paid"
	// OrderUnpaid: the customer cancelled or failed on bKash's page, or bKash
	// refused the execution. The customer may try again (a new attempt).
	OrderUnpaid OrderStatus = "unpaid"
	// OrderReview: bKash took money that does not match the order (amount or
	// invoice). It is not treated as paid; an operator decides (refund).
	OrderReview OrderStatus = "needs review"
)

// AttemptState is the state of one payment attempt of an order.
type AttemptState string

// Attempt states.
const (
	AttemptCreated   AttemptState = "created"   // paymentID stored, customer on bKash's page
	AttemptExecuting AttemptState = "executing" // execute sent (or about to be): outcome pending
	AttemptPaid      AttemptState = "paid"
	AttemptCancelled AttemptState = "cancelled"
	AttemptFailed    AttemptState = "failed"
	AttemptMismatch  AttemptState = "mismatch"
	// AttemptNotTaken: the customer approved it on bKash's page, but another
	// attempt of the order was executing, unknown or paid, so the shop never
	// executed it. bKash takes no money for a payment that is not executed.
	AttemptNotTaken AttemptState = "not taken"
)

// Item is one line of an order.
type Item struct {
	SKU       string       `json:"sku"`
	Name      string       `json:"name"`
	Qty       int          `json:"qty"`
	UnitPrice bkash.Amount `json:"unitPrice"`
}

// LineTotal is UnitPrice × Qty.
func (it Item) LineTotal() bkash.Amount { return it.UnitPrice * bkash.Amount(it.Qty) }

// Attempt is one bKash payment created for an order. Every attempt has its
// own invoice number (bKash wants merchantInvoiceNumber unique per payment).
type Attempt struct {
	PaymentID   string       `json:"paymentID"`
	Invoice     string       `json:"invoice"`
	Mode        string       `json:"mode"` // "0011" checkout, "0001" saved wallet
	AgreementID string       `json:"agreementID,omitempty"`
	State       AttemptState `json:"state"`
	Note        string       `json:"note,omitempty"`
	CreatedAt   time.Time    `json:"createdAt"`
	// KeyHash is the hex SHA-256 of the attempt's callback key (the secret
	// in its callback URL). The key itself is never stored.
	KeyHash string `json:"-"`
}

// RefundRecord is one refund bKash confirmed.
type RefundRecord struct {
	RefundTrxID string       `json:"refundTrxID"`
	Amount      bkash.Amount `json:"amount"`
	Charge      bkash.Amount `json:"charge"`
	Status      string       `json:"status"`
	Reason      string       `json:"reason"`
	At          time.Time    `json:"at"`
}

// PendingRefund is a refund that was sent (or was about to be) and whose
// outcome is not known yet. While it exists no other refund of the order is
// sent: it is settled by reading Refunds.Status, never by sending it again.
type PendingRefund struct {
	Amount bkash.Amount `json:"amount"`
	Reason string       `json:"reason"`
	At     time.Time    `json:"at"`
	Note   string       `json:"note,omitempty"`
}

// Order is a customer's order and everything bKash told us about its payment.
type Order struct {
	ID        string       `json:"id"`
	Customer  string       `json:"customer"`
	Items     []Item       `json:"items"`
	Total     bkash.Amount `json:"total"`
	Status    OrderStatus  `json:"status"`
	Note      string       `json:"note,omitempty"` // why it is unpaid, processing or in review
	Attempts  []Attempt    `json:"attempts,omitempty"`
	NextTry   int          `json:"nextTry"` // attempt counter: invoice numbers never repeat
	CreatedAt time.Time    `json:"createdAt"`
	UpdatedAt time.Time    `json:"updatedAt"`

	// Set when paid.
	PaymentID string       `json:"paymentID,omitempty"`
	TrxID     string       `json:"trxID,omitempty"`
	Paid      bkash.Amount `json:"paid,omitempty"`
	Payer     string       `json:"payer,omitempty"` // masked wallet number
	PaidAt    time.Time    `json:"paidAt,omitzero"`

	Refunds       []RefundRecord `json:"refunds,omitempty"`
	RefundPending *PendingRefund `json:"refundPending,omitempty"`

	// Webhook is the trxID of a verified bKash notification for this order.
	Webhook   string    `json:"webhook,omitempty"`
	WebhookAt time.Time `json:"webhookAt,omitzero"`
}

// Refunded is the sum of the confirmed refunds.
func (o Order) Refunded() bkash.Amount {
	var sum bkash.Amount
	for _, r := range o.Refunds {
		sum += r.Amount
	}
	return sum
}

// FullyRefunded reports whether refunds returned everything that was paid.
func (o Order) FullyRefunded() bool {
	return o.Paid > 0 && o.Refunded() >= o.Paid
}

// PartlyRefunded reports whether some, not all, of the payment was refunded.
func (o Order) PartlyRefunded() bool {
	r := o.Refunded()
	return r > 0 && r < o.Paid
}

// NotTaken lists the attempts approved by the customer but never executed
// because another attempt of the order was executing or had paid it.
func (o Order) NotTaken() []Attempt {
	var out []Attempt
	for _, a := range o.Attempts {
		if a.State == AttemptNotTaken {
			out = append(out, a)
		}
	}
	return out
}

// Label is the order's status as the customer reads it: "refunded" or
// "partly refunded" for a paid order that was, else the status.
func (o Order) Label() string {
	if o.Status == OrderPaid {
		switch {
		case o.FullyRefunded():
			return "refunded"
		case o.PartlyRefunded():
			return "partly refunded"
		}
	}
	return string(o.Status)
}

// Refundable is what can still be refunded.
func (o Order) Refundable() bkash.Amount {
	if o.Status != OrderPaid && o.Status != OrderReview {
		return 0
	}
	return o.Paid - o.Refunded()
}

// Attempt returns the attempt with paymentID.
func (o *Order) Attempt(paymentID string) (*Attempt, bool) {
	for i := range o.Attempts {
		if o.Attempts[i].PaymentID == paymentID {
			return &o.Attempts[i], true
		}
	}
	return nil, false
}

// WalletState is the state of a saved wallet (a bKash agreement).
type WalletState string

// Wallet states.
const (
	WalletPending   WalletState = "pending"   // agreement created, customer on bKash's page
	WalletLinking   WalletState = "linking"   // agreement execute sent, outcome pending
	WalletActive    WalletState = "active"    // agreementID stored: one-click payments work
	WalletRemoved   WalletState = "removed"   // agreement cancelled
	WalletCancelled WalletState = "cancelled" // customer cancelled or failed on bKash's page
)

// Wallet is a customer's saved bKash wallet: an agreement between the
// customer's wallet and the merchant.
type Wallet struct {
	PaymentID   string      `json:"paymentID"` // the agreement-creation paymentID (mode 0000)
	AgreementID string      `json:"agreementID,omitempty"`
	Customer    string      `json:"customer"`
	MSISDN      string      `json:"msisdn,omitempty"` // masked
	State       WalletState `json:"state"`
	Note        string      `json:"note,omitempty"`
	CreatedAt   time.Time   `json:"createdAt"`
	UpdatedAt   time.Time   `json:"updatedAt"`
	// KeyHash is the hex SHA-256 of the link's callback key (the secret in
	// the agreement's callback URL). The key itself is never stored.
	KeyHash string `json:"-"`
}

func (o *Order) clone() Order {
	c := *o
	c.Items = slices.Clone(o.Items)
	c.Attempts = slices.Clone(o.Attempts)
	c.Refunds = slices.Clone(o.Refunds)
	if o.RefundPending != nil {
		p := *o.RefundPending
		c.RefundPending = &p
	}
	return c
}

// ErrNotFound is returned for an unknown order or wallet.
var ErrNotFound = errors.New("not found")

// Store keeps orders, payment attempts, refunds, saved wallets and the audit
// logs in SQL: SQLite (embedded, the default) or PostgreSQL. Every change of
// an order is one transaction holding the order's row lock (PostgreSQL:
// SELECT ... FOR UPDATE; SQLite: the database's write lock), so shops
// running as several processes on one database see each other's changes
// and never both claim one attempt. Uniqueness that protects money is in
// the schema: a paymentID belongs to one attempt, an invoice number to one
// attempt, a trxID to one order, a refund trxID to one refund.
type Store struct {
	db   *sql.DB
	d    dialect
	now  func() time.Time
	name string
}

// The columns of an order row, in the order scanOrder reads them.
const orderColumns = `id, customer, total, status, note, next_try, created_at, updated_at,
	payment_id, trx_id, paid, payer, paid_at,
	refund_pending_amount, refund_pending_reason, refund_pending_at, refund_pending_note,
	webhook_trx_id, webhook_at`

type scanner interface{ Scan(dest ...any) error }

func scanOrder(sc scanner) (Order, error) {
	var (
		o                       Order
		created, updated        int64
		paymentID, trxID        sql.NullString
		paidAt, pendAt, whAt    int64
		pendAmount              sql.NullInt64
		pendReason, pendNote    string
		status                  string
		total, paid             int64
		webhookTrx, payer, note string
	)
	err := sc.Scan(&o.ID, &o.Customer, &total, &status, &note, &o.NextTry, &created, &updated,
		&paymentID, &trxID, &paid, &payer, &paidAt,
		&pendAmount, &pendReason, &pendAt, &pendNote, &webhookTrx, &whAt)
	if err != nil {
		return Order{}, err
	}
	o.Total, o.Status, o.Note = bkash.Amount(total), OrderStatus(status), note
	o.CreatedAt, o.UpdatedAt = fromNanos(created), fromNanos(updated)
	o.PaymentID, o.TrxID, o.Paid, o.Payer, o.PaidAt = paymentID.String, trxID.String, bkash.Amount(paid), payer, fromNanos(paidAt)
	if pendAmount.Valid {
		o.RefundPending = &PendingRefund{Amount: bkash.Amount(pendAmount.Int64), Reason: pendReason, At: fromNanos(pendAt), Note: pendNote}
	}
	o.Webhook, o.WebhookAt = webhookTrx, fromNanos(whAt)
	return o, nil
}

// loadOrder reads order id with its items, attempts and refunds. lock takes
// the order's row lock (inside a transaction).
func (s *Store) loadOrder(ctx context.Context, q querier, id string, lock bool) (Order, error) {
	query := `SELECT ` + orderColumns + ` FROM orders WHERE id = ?`
	if lock {
		query += s.d.lockOrder
	}
	o, err := scanOrder(q.QueryRowContext(ctx, s.d.rebind(query), id))
	if isNoRows(err) {
		return Order{}, fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Order{}, fmt.Errorf("store: order %s: %w", id, err)
	}
	if err := s.loadChildren(ctx, q, &o); err != nil {
		return Order{}, err
	}
	return o, nil
}

func (s *Store) loadChildren(ctx context.Context, q querier, o *Order) error {
	rows, err := q.QueryContext(ctx, s.d.rebind(`SELECT sku, name, qty, unit_price FROM order_items WHERE order_id = ? ORDER BY line`), o.ID)
	if err != nil {
		return fmt.Errorf("store: items of %s: %w", o.ID, err)
	}
	for rows.Next() {
		var it Item
		var price int64
		if err := rows.Scan(&it.SKU, &it.Name, &it.Qty, &price); err != nil {
			rows.Close()
			return err
		}
		it.UnitPrice = bkash.Amount(price)
		o.Items = append(o.Items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, s.d.rebind(`SELECT payment_id, invoice, mode, agreement_id, state, note, callback_key_hash, created_at
	FROM attempts WHERE order_id = ? ORDER BY created_at, invoice`), o.ID)
	if err != nil {
		return fmt.Errorf("store: attempts of %s: %w", o.ID, err)
	}
	for rows.Next() {
		var a Attempt
		var state string
		var created int64
		if err := rows.Scan(&a.PaymentID, &a.Invoice, &a.Mode, &a.AgreementID, &state, &a.Note, &a.KeyHash, &created); err != nil {
			rows.Close()
			return err
		}
		a.State, a.CreatedAt = AttemptState(state), fromNanos(created)
		o.Attempts = append(o.Attempts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, s.d.rebind(`SELECT refund_trx_id, amount, charge, status, reason, at
	FROM refunds WHERE order_id = ? ORDER BY at, refund_trx_id`), o.ID)
	if err != nil {
		return fmt.Errorf("store: refunds of %s: %w", o.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r RefundRecord
		var amount, charge, at int64
		if err := rows.Scan(&r.RefundTrxID, &amount, &charge, &r.Status, &r.Reason, &at); err != nil {
			return err
		}
		r.Amount, r.Charge, r.At = bkash.Amount(amount), bkash.Amount(charge), fromNanos(at)
		o.Refunds = append(o.Refunds, r)
	}
	return rows.Err()
}

// CreateOrder stores a new order for customer. Order IDs are A1001, A1002...
// from a counter row, so that replicas never hand out the same ID.
func (s *Store) CreateOrder(customer string, items []Item) (Order, error) {
	ctx := context.Background()
	var id string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int64
		if err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'order' RETURNING value`).Scan(&n); err != nil {
			return fmt.Errorf("store: order number: %w", err)
		}
		id = "A" + strconv.FormatInt(n, 10)
		now := nanos(s.now())
		var total bkash.Amount
		for _, it := range items {
			total += it.LineTotal()
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO orders (id, customer, total, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`),
			id, customer, int64(total), string(OrderNew), now, now); err != nil {
			return fmt.Errorf("store: create order: %w", err)
		}
		for i, it := range items {
			if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO order_items (order_id, line, sku, name, qty, unit_price) VALUES (?, ?, ?, ?, ?, ?)`),
				id, i+1, it.SKU, it.Name, it.Qty, int64(it.UnitPrice)); err != nil {
				return fmt.Errorf("store: create order: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return Order{}, err
	}
	return s.Order(id)
}

// Order returns order id (ErrNotFound when there is none).
func (s *Store) Order(id string) (Order, error) {
	return s.loadOrder(context.Background(), s.db, id, false)
}

// orderBy returns the order whose id the query (with one argument) finds.
func (s *Store) orderBy(query, arg string) (Order, error) {
	ctx := context.Background()
	var id string
	err := s.db.QueryRowContext(ctx, s.d.rebind(query), arg).Scan(&id)
	if isNoRows(err) {
		return Order{}, fmt.Errorf("%s: %w", arg, ErrNotFound)
	}
	if err != nil {
		return Order{}, fmt.Errorf("store: %w", err)
	}
	return s.Order(id)
}

// OrderByPaymentID returns the order one of whose attempts has paymentID.
func (s *Store) OrderByPaymentID(paymentID string) (Order, error) {
	return s.orderBy(`SELECT order_id FROM attempts WHERE payment_id = ?`, paymentID)
}

// OrderByInvoice returns the order one of whose attempts has invoice.
func (s *Store) OrderByInvoice(invoice string) (Order, error) {
	return s.orderBy(`SELECT order_id FROM attempts WHERE invoice = ?`, invoice)
}

// listOrders loads the orders whose IDs the query returns, in its order.
func (s *Store) listOrders(query string, args ...any) ([]Order, error) {
	ctx := context.Background()
	rows, err := s.db.QueryContext(ctx, s.d.rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Order, 0, len(ids))
	for _, id := range ids {
		o, err := s.Order(id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// CustomerOrders returns customer's orders, newest first.
func (s *Store) CustomerOrders(customer string) ([]Order, error) {
	return s.listOrders(`SELECT id FROM orders WHERE customer = ? ORDER BY created_at DESC, LENGTH(id) DESC, id DESC LIMIT 200`, customer)
}

// RecentOrders returns the newest orders that have gone to bKash at least
// once (status other than "new"), at most limit of them.
func (s *Store) RecentOrders(limit int) ([]Order, error) {
	return s.listOrders(`SELECT id FROM orders WHERE status <> ? ORDER BY created_at DESC, LENGTH(id) DESC, id DESC LIMIT ?`, string(OrderNew), limit)
}

// OrdersToReconcile returns the orders with an attempt whose execute outcome
// is unknown or a refund whose outcome is unknown.
func (s *Store) OrdersToReconcile() ([]Order, error) {
	return s.listOrders(`SELECT id FROM orders WHERE refund_pending_amount IS NOT NULL
	OR id IN (SELECT order_id FROM attempts WHERE state = ?) ORDER BY created_at`, string(AttemptExecuting))
}

// UpdateOrder applies fn to order id in one transaction holding the order's
// row lock, and writes what fn changed. When fn returns an error or changes
// nothing, nothing is written (updated_at included: a replayed callback or
// a late reconciler pass leaves a settled order as it was). It returns the
// order as stored.
func (s *Store) UpdateOrder(id string, fn func(o *Order) error) (Order, error) {
	ctx := context.Background()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		before, err := s.loadOrder(ctx, tx, id, true)
		if err != nil {
			return err
		}
		o := before.clone() // fn changes a copy; before is what is stored
		if err := fn(&o); err != nil {
			return err
		}
		if reflect.DeepEqual(before, o) {
			return nil
		}
		return s.writeOrder(ctx, tx, &before, &o)
	})
	if err != nil {
		return Order{}, err
	}
	return s.Order(id)
}

// writeOrder stores o, whose state in the database is before.
func (s *Store) writeOrder(ctx context.Context, tx *sql.Tx, before, o *Order) error {
	now := nanos(s.now())
	var pendAmount any
	var pendReason, pendNote string
	var pendAt int64
	if p := o.RefundPending; p != nil {
		pendAmount, pendReason, pendAt, pendNote = int64(p.Amount), p.Reason, nanos(p.At), p.Note
	}
	_, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE orders SET total = ?, status = ?, note = ?, next_try = ?, updated_at = ?,
	payment_id = ?, trx_id = ?, paid = ?, payer = ?, paid_at = ?,
	refund_pending_amount = ?, refund_pending_reason = ?, refund_pending_at = ?, refund_pending_note = ?,
	webhook_trx_id = ?, webhook_at = ? WHERE id = ?`),
		int64(o.Total), string(o.Status), o.Note, o.NextTry, now,
		nullString(o.PaymentID), nullString(o.TrxID), int64(o.Paid), o.Payer, nanos(o.PaidAt),
		pendAmount, pendReason, pendAt, pendNote,
		o.Webhook, nanos(o.WebhookAt), o.ID)
	if err != nil {
		return fmt.Errorf("store: update order %s: %w", o.ID, err)
	}
	for _, a := range o.Attempts {
		old, existed := before.Attempt(a.PaymentID)
		if existed && *old == a {
			continue
		}
		if existed {
			// Only state and note of an attempt ever change.
			_, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE attempts SET state = ?, note = ?, updated_at = ? WHERE payment_id = ? AND order_id = ?`),
				string(a.State), a.Note, now, a.PaymentID, o.ID)
			if err != nil {
				return fmt.Errorf("store: attempt %s of %s: %w", a.PaymentID, o.ID, err)
			}
			continue
		}
		created := a.CreatedAt
		if created.IsZero() {
			created = s.now()
		}
		// A plain INSERT: a paymentID or invoice number that is already
		// another attempt's (of any order) is refused by the primary key
		// and the UNIQUE constraint, never merged.
		_, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO attempts
	(payment_id, order_id, invoice, mode, agreement_id, state, note, callback_key_hash, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.PaymentID, o.ID, a.Invoice, a.Mode, a.AgreementID, string(a.State), a.Note, a.KeyHash, nanos(created), now)
		if err != nil {
			return fmt.Errorf("store: attempt %s of %s: %w", a.PaymentID, o.ID, err)
		}
	}
	for _, r := range o.Refunds {
		if containsRefund(before.Refunds, r) {
			continue
		}
		var err error
		if slices.ContainsFunc(before.Refunds, func(x RefundRecord) bool { return x.RefundTrxID == r.RefundTrxID }) {
			_, err = tx.ExecContext(ctx, s.d.rebind(`UPDATE refunds SET status = ? WHERE refund_trx_id = ? AND order_id = ?`), r.Status, r.RefundTrxID, o.ID)
		} else {
			_, err = tx.ExecContext(ctx, s.d.rebind(`INSERT INTO refunds (refund_trx_id, order_id, amount, charge, status, reason, at)
	VALUES (?, ?, ?, ?, ?, ?, ?)`),
				r.RefundTrxID, o.ID, int64(r.Amount), int64(r.Charge), r.Status, r.Reason, nanos(r.At))
		}
		if err != nil {
			return fmt.Errorf("store: refund %s of %s: %w", r.RefundTrxID, o.ID, err)
		}
	}
	return nil
}

func containsRefund(rs []RefundRecord, r RefundRecord) bool {
	for _, x := range rs {
		if x.RefundTrxID == r.RefundTrxID && x.Status == r.Status {
			return true
		}
	}
	return false
}

// TrxIDUsed reports whether an order other than orderID already recorded
// trxID: bKash's transaction can settle one order only (the schema enforces
// it too: orders.trx_id is UNIQUE).
func (s *Store) TrxIDUsed(trxID, orderID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(context.Background(), s.d.rebind(`SELECT COUNT(*) FROM orders WHERE trx_id = ? AND id <> ?`), trxID, orderID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	return n > 0, nil
}

const walletColumns = `payment_id, agreement_id, customer, msisdn, state, note, created_at, updated_at, callback_key_hash`

func scanWallet(sc scanner) (Wallet, error) {
	var w Wallet
	var ag sql.NullString
	var state string
	var created, updated int64
	if err := sc.Scan(&w.PaymentID, &ag, &w.Customer, &w.MSISDN, &state, &w.Note, &created, &updated, &w.KeyHash); err != nil {
		return Wallet{}, err
	}
	w.AgreementID, w.State, w.CreatedAt, w.UpdatedAt = ag.String, WalletState(state), fromNanos(created), fromNanos(updated)
	return w, nil
}

// PutWallet stores a new wallet w (keyed by its agreement-creation paymentID).
func (s *Store) PutWallet(w Wallet) error {
	now := s.now()
	if w.CreatedAt.IsZero() {
		w.CreatedAt = now
	}
	_, err := s.db.ExecContext(context.Background(), s.d.rebind(`INSERT INTO wallets (`+walletColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		w.PaymentID, nullString(w.AgreementID), w.Customer, w.MSISDN, string(w.State), w.Note, nanos(w.CreatedAt), nanos(now), w.KeyHash)
	if err != nil {
		return fmt.Errorf("store: wallet %s: %w", w.PaymentID, err)
	}
	return nil
}

func (s *Store) walletBy(query, arg string) (Wallet, error) {
	w, err := scanWallet(s.db.QueryRowContext(context.Background(), s.d.rebind(`SELECT `+walletColumns+` FROM wallets WHERE `+query), arg))
	if isNoRows(err) {
		return Wallet{}, fmt.Errorf("wallet %s: %w", arg, ErrNotFound)
	}
	if err != nil {
		return Wallet{}, fmt.Errorf("store: %w", err)
	}
	return w, nil
}

// Wallet returns the wallet created with paymentID.
func (s *Store) Wallet(paymentID string) (Wallet, error) {
	return s.walletBy(`payment_id = ?`, paymentID)
}

// WalletByAgreement returns the wallet holding agreementID.
func (s *Store) WalletByAgreement(agreementID string) (Wallet, error) {
	if agreementID == "" {
		return Wallet{}, ErrNotFound
	}
	return s.walletBy(`agreement_id = ?`, agreementID)
}

func (s *Store) listWallets(where string, args ...any) ([]Wallet, error) {
	rows, err := s.db.QueryContext(context.Background(), s.d.rebind(`SELECT `+walletColumns+` FROM wallets WHERE `+where+` ORDER BY created_at, payment_id`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Wallet
	for rows.Next() {
		w, err := scanWallet(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// CustomerWallets returns customer's wallets in the given states (all when
// none is given), oldest first.
func (s *Store) CustomerWallets(customer string, states ...WalletState) ([]Wallet, error) {
	where, args := `customer = ?`, []any{customer}
	if len(states) > 0 {
		where += ` AND state IN (?` + repeat(", ?", len(states)-1) + `)`
		for _, st := range states {
			args = append(args, string(st))
		}
	}
	return s.listWallets(where, args...)
}

// WalletsInState returns every wallet in state, oldest first.
func (s *Store) WalletsInState(state WalletState) ([]Wallet, error) {
	return s.listWallets(`state = ?`, string(state))
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// UpdateWallet applies fn to the wallet created with paymentID in one
// transaction holding its row lock.
func (s *Store) UpdateWallet(paymentID string, fn func(w *Wallet) error) (Wallet, error) {
	ctx := context.Background()
	var out Wallet
	err := s.tx(ctx, func(tx *sql.Tx) error {
		q := `SELECT ` + walletColumns + ` FROM wallets WHERE payment_id = ?` + s.d.lockOrder
		w, err := scanWallet(tx.QueryRowContext(ctx, s.d.rebind(q), paymentID))
		if isNoRows(err) {
			return fmt.Errorf("wallet %s: %w", paymentID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if err := fn(&w); err != nil {
			return err
		}
		w.UpdatedAt = s.now()
		_, err = tx.ExecContext(ctx, s.d.rebind(`UPDATE wallets SET agreement_id = ?, msisdn = ?, state = ?, note = ?, updated_at = ? WHERE payment_id = ?`),
			nullString(w.AgreementID), w.MSISDN, string(w.State), w.Note, nanos(w.UpdatedAt), paymentID)
		if err != nil {
			return fmt.Errorf("store: wallet %s: %w", paymentID, err)
		}
		out = w
		return nil
	})
	return out, err
}
