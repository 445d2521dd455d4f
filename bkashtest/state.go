package bkashtest

import (
	"slices"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go"
)

// PaymentState is a snapshot of one paymentID the server issued, for
// assertions in tests.
type PaymentState struct {
	PaymentID      string
	Mode           string // "0011", "0001", or "0000" for an agreement creation
	Intent         string // "sale" or "authorization" ("" for mode 0000)
	Amount         bkash.Amount
	Currency       string
	InvoiceNumber  string
	PayerReference string
	CallbackURL    string
	AgreementID    string // the agreement paid with (0001) or created (0000, once executed)
	// Status is the transactionStatus: Initiated, Completed, Authorized,
	// Cancelled (voided), or Expired (not executed within 24 hours). For mode
	// 0000 it is the agreementStatus.
	Status string
	// CustomerStatus is what the customer did on the checkout page, as the
	// callback's status parameter says it: "" (nothing yet), "success",
	// "failure" or "cancel".
	CustomerStatus string
	Wallet         string // the wallet that approved
	TrxID          string
	Signature      string // the callback's signature parameter
	BkashURL       string
	Refunded       bkash.Amount // sum of the refunds made
	CreatedAt      time.Time
	ExecutedAt     time.Time
	UpdatedAt      time.Time

	amountText string
}

// RefundState is a snapshot of one refund.
type RefundState struct {
	RefundTrxID   string
	OriginalTrxID string
	PaymentID     string
	Amount        bkash.Amount
	SKU           string
	Reason        string
	API           string // "v1" (payment/refund) or "v2"
	CompletedAt   time.Time
}

// AgreementState is a snapshot of one agreement.
type AgreementState struct {
	AgreementID    string
	PaymentID      string // the agreement-creation paymentID
	PayerReference string
	Wallet         string
	Status         string // Completed or Cancelled
	CreatedAt      time.Time
	ExecutedAt     time.Time
	CancelledAt    time.Time
}

func (p *payment) snapshot(now time.Time) PaymentState {
	st := PaymentState{
		PaymentID: p.id, Mode: p.mode, Intent: p.intent,
		Amount: p.amount, Currency: p.currency,
		InvoiceNumber: p.invoice, PayerReference: p.payerRef, CallbackURL: p.callbackURL,
		Status: p.txStatus(now), CustomerStatus: p.customer, Wallet: p.wallet,
		TrxID: p.trxID, Signature: p.signature, Refunded: p.refunded,
		CreatedAt: p.created, ExecutedAt: p.executed, UpdatedAt: p.updated,
		amountText: p.amountText,
	}
	if p.agreement != nil {
		st.AgreementID = p.agreement.id
		if p.mode == modeAgreement {
			st.Status = p.agreement.status
			if p.expired(now) {
				st.Status = statusExpired
			}
		}
	}
	return st
}

// Payment returns the state of paymentID (any mode), and whether the server
// issued it.
func (s *Server) Payment(paymentID string) (PaymentState, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[paymentID]
	if p == nil {
		return PaymentState{}, false
	}
	st := p.snapshot(now)
	st.BkashURL = s.checkoutURL(p)
	return st, true
}

// RefundsOf returns the refunds of the payment whose trxID is trxID, oldest
// first; nil when there are none.
func (s *Server) RefundsOf(trxID string) []RefundState {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.trx[trxID]
	if p == nil || len(p.refunds) == 0 {
		return nil
	}
	out := make([]RefundState, len(p.refunds))
	for i, rf := range p.refunds {
		out[i] = RefundState{
			RefundTrxID: rf.trxID, OriginalTrxID: p.trxID, PaymentID: p.id,
			Amount: rf.amount, SKU: rf.sku, Reason: rf.reason, API: rf.api,
			CompletedAt: rf.completed,
		}
	}
	return out
}

// Agreement returns the state of agreementID, and whether it exists.
func (s *Server) Agreement(agreementID string) (AgreementState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ag := s.agreements[agreementID]
	if ag == nil {
		return AgreementState{}, false
	}
	return AgreementState{
		AgreementID: ag.id, PaymentID: ag.paymentID, PayerReference: ag.payerRef,
		Wallet: ag.wallet, Status: ag.status,
		CreatedAt: ag.created, ExecutedAt: ag.executed, CancelledAt: ag.cancelled,
	}, true
}

// WalletBalance returns the balance of a customer wallet, and whether the
// wallet exists.
func (s *Server) WalletBalance(msisdn string) (bkash.Amount, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.wallets[msisdn]
	if w == nil {
		return 0, false
	}
	return w.balance, true
}

// wallet is a customer's bKash account.
type wallet struct {
	balance bkash.Amount
	blocked bool // debit block: execute answers 2037
}

// Sandbox wallets (bKash's published test numbers).
const (
	// WalletInsufficientBalance approves on the checkout page, but execute
	// answers 2023 Insufficient Balance.
	WalletInsufficientBalance = "01823074817"
	// WalletDebitBlocked approves on the checkout page, but execute answers
	// 2037 (the debit party's account prohibits the transaction).
	WalletDebitBlocked = "01823074818"
	// OTP is the one-time password the checkout page accepts.
	OTP = "123456"
	// PIN is the wallet PIN the checkout page accepts.
	PIN = "12121"
)

// PayingWallets are the sandbox wallets that pay successfully. Changing the
// slice does not change the servers: see WithWallet.
var PayingWallets = []string{
	"01770618575", "01929918378", "01770618576", "01877722345", "01619777282", "01619777283",
}

// payingWallets is the servers' copy, taken before any user code runs.
var payingWallets = slices.Clone(PayingWallets)

// sandboxBalance is the starting balance of a paying sandbox wallet: ten
// crore taka, more than any test spends.
const sandboxBalance = bkash.Amount(100_000_000 * 100)

func sandboxWallets() map[string]*wallet {
	m := make(map[string]*wallet, len(payingWallets)+2)
	for _, n := range payingWallets {
		m[n] = &wallet{balance: sandboxBalance}
	}
	m[WalletInsufficientBalance] = &wallet{}
	m[WalletDebitBlocked] = &wallet{balance: sandboxBalance, blocked: true}
	return m
}

// isWalletNumber reports whether s looks like a Bangladeshi mobile wallet
// number in local format, 01XXXXXXXXX.
func isWalletNumber(s string) bool {
	if len(s) != 11 || s[0] != '0' || s[1] != '1' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Clock is an adjustable clock for WithClock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads start until moved.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time. Pass clock.Now to WithClock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}
