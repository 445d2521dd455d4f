package shop

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
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
	AttemptAbandoned AttemptState = "abandoned" // another attempt paid the order; never executed
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
func (o *Order) Refunded() bkash.Amount {
	var sum bkash.Amount
	for _, r := range o.Refunds {
		sum += r.Amount
	}
	return sum
}

// Refundable is what can still be refunded.
func (o *Order) Refundable() bkash.Amount {
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
}

// storeFile is the JSON document on disk.
type storeFile struct {
	Version   int                `json:"version"`
	NextOrder int                `json:"nextOrder"`
	Orders    map[string]*Order  `json:"orders"`
	Wallets   map[string]*Wallet `json:"wallets"` // by agreement-creation paymentID
}

// ErrNotFound is returned for an unknown order or wallet.
var ErrNotFound = errors.New("not found")

// Store keeps orders and saved wallets in one JSON file. Every change is
// written atomically (temporary file, fsync, rename, fsync of the directory),
// so a crash leaves either the old or the new file, never half of one. It is
// small and simple on purpose: a real shop would use its database, with the
// same rule that the paymentID is committed before the customer is sent to
// bKash.
type Store struct {
	path string
	now  func() time.Time

	mu    sync.Mutex
	data  storeFile
	saved []byte // the file's current content, to roll back a failed write
}

// OpenStore opens (or creates) the store file at path. The directory is
// created if needed.
func OpenStore(path string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{path: path, now: now}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.data = storeFile{Version: 1, NextOrder: 1001}
	case err != nil:
		return nil, fmt.Errorf("store: %w", err)
	default:
		if err := json.Unmarshal(b, &s.data); err != nil {
			return nil, fmt.Errorf("store: %s: %w", path, err)
		}
		s.saved = b
	}
	if s.data.Orders == nil {
		s.data.Orders = map[string]*Order{}
	}
	if s.data.Wallets == nil {
		s.data.Wallets = map[string]*Wallet{}
	}
	return s, nil
}

// Path is the file the store writes.
func (s *Store) Path() string { return s.path }

// update runs fn under the lock and writes the file. If fn fails nothing
// changes; if the write fails the in-memory state is rolled back to the file.
func (s *Store) update(fn func(d *storeFile) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := fn(&s.data); err != nil {
		s.rollbackLocked()
		return err
	}
	b, err := json.MarshalIndent(&s.data, "", "  ")
	if err == nil {
		err = writeFileAtomic(s.path, b)
	}
	if err != nil {
		s.rollbackLocked()
		return fmt.Errorf("store: %w", err)
	}
	s.saved = b
	return nil
}

// rollbackLocked restores the last saved state (fn may have mutated data
// before failing).
func (s *Store) rollbackLocked() {
	d := storeFile{Version: 1, NextOrder: 1001}
	if s.saved != nil {
		_ = json.Unmarshal(s.saved, &d) // it was written by us from the same type
	}
	if d.Orders == nil {
		d.Orders = map[string]*Order{}
	}
	if d.Wallets == nil {
		d.Wallets = map[string]*Wallet{}
	}
	s.data = d
}

// writeFileAtomic replaces path with b: write a temporary file in the same
// directory, fsync it, rename it over path, fsync the directory.
func writeFileAtomic(path string, b []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// CreateOrder stores a new order for customer.
func (s *Store) CreateOrder(customer string, items []Item) (Order, error) {
	var out Order
	err := s.update(func(d *storeFile) error {
		now := s.now()
		o := &Order{
			ID:        "A" + strconv.Itoa(d.NextOrder),
			Customer:  customer,
			Items:     slices.Clone(items),
			Status:    OrderNew,
			CreatedAt: now,
			UpdatedAt: now,
		}
		for _, it := range items {
			o.Total += it.LineTotal()
		}
		d.NextOrder++
		d.Orders[o.ID] = o
		out = o.clone()
		return nil
	})
	return out, err
}

// Order returns a copy of the order id.
func (s *Store) Order(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.data.Orders[id]
	if !ok {
		return Order{}, false
	}
	return o.clone(), true
}

// OrderByPaymentID returns the order one of whose attempts has paymentID.
func (s *Store) OrderByPaymentID(paymentID string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.data.Orders {
		if _, ok := o.Attempt(paymentID); ok {
			return o.clone(), true
		}
	}
	return Order{}, false
}

// OrderByInvoice returns the order one of whose attempts has invoice.
func (s *Store) OrderByInvoice(invoice string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.data.Orders {
		for _, a := range o.Attempts {
			if a.Invoice == invoice {
				return o.clone(), true
			}
		}
	}
	return Order{}, false
}

// Orders returns the orders matching keep (all when keep is nil), newest first.
func (s *Store) Orders(keep func(*Order) bool) []Order {
	s.mu.Lock()
	var out []Order
	for _, o := range s.data.Orders {
		if keep == nil || keep(o) {
			out = append(out, o.clone())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Order) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return compareIDs(b.ID, a.ID)
	})
	return out
}

// compareIDs orders "A999" before "A1000".
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// UpdateOrder applies fn to order id and writes the store. When fn returns an
// error nothing is written. It returns the order as stored.
func (s *Store) UpdateOrder(id string, fn func(o *Order) error) (Order, error) {
	var out Order
	err := s.update(func(d *storeFile) error {
		o, ok := d.Orders[id]
		if !ok {
			return fmt.Errorf("order %s: %w", id, ErrNotFound)
		}
		if err := fn(o); err != nil {
			return err
		}
		o.UpdatedAt = s.now()
		out = o.clone()
		return nil
	})
	return out, err
}

// TrxIDUsed reports whether an order other than orderID already recorded
// trxID: bKash's transaction can settle one order only.
func (s *Store) TrxIDUsed(trxID, orderID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.data.Orders {
		if o.ID != orderID && o.TrxID == trxID {
			return true
		}
	}
	return false
}

// PutWallet stores w (keyed by its agreement-creation paymentID).
func (s *Store) PutWallet(w Wallet) error {
	return s.update(func(d *storeFile) error {
		now := s.now()
		if w.CreatedAt.IsZero() {
			w.CreatedAt = now
		}
		w.UpdatedAt = now
		d.Wallets[w.PaymentID] = &w
		return nil
	})
}

// Wallet returns the wallet created with paymentID.
func (s *Store) Wallet(paymentID string) (Wallet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.data.Wallets[paymentID]
	if !ok {
		return Wallet{}, false
	}
	return *w, true
}

// WalletByAgreement returns the wallet holding agreementID.
func (s *Store) WalletByAgreement(agreementID string) (Wallet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.data.Wallets {
		if w.AgreementID == agreementID && agreementID != "" {
			return *w, true
		}
	}
	return Wallet{}, false
}

// Wallets returns the wallets matching keep, oldest first.
func (s *Store) Wallets(keep func(*Wallet) bool) []Wallet {
	s.mu.Lock()
	var out []Wallet
	for _, w := range s.data.Wallets {
		if keep == nil || keep(w) {
			out = append(out, *w)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Wallet) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return compareIDs(a.PaymentID, b.PaymentID)
	})
	return out
}

// UpdateWallet applies fn to the wallet created with paymentID.
func (s *Store) UpdateWallet(paymentID string, fn func(w *Wallet) error) (Wallet, error) {
	var out Wallet
	err := s.update(func(d *storeFile) error {
		w, ok := d.Wallets[paymentID]
		if !ok {
			return fmt.Errorf("wallet %s: %w", paymentID, ErrNotFound)
		}
		if err := fn(w); err != nil {
			return err
		}
		w.UpdatedAt = s.now()
		out = *w
		return nil
	})
	return out, err
}
