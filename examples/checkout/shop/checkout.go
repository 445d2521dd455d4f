package shop

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/smartdairy/bkash-go"
)

// The payment flow, in four steps:
//
//  1. POST /checkout turns the cart into an order and creates a bKash payment
//     (Payments.Create) with a fresh invoice number. The paymentID is written
//     to the store BEFORE the customer is redirected to bKash: whatever comes
//     back must be matched against it.
//  2. The customer approves (or cancels) on bKash's page; bKash sends the
//     browser to GET /bkash/callback?paymentID=...&status=....
//  3. The callback is only a hint (anyone can forge or replay it). For
//     status=success the shop executes the payment server-to-server
//     (Payments.Finalize: execute once, then query if the answer is lost),
//     with a context detached from the browser's.
//  4. Only a definite answer from bKash whose amount and invoice match the
//     order marks it paid. An unknown outcome leaves the order "processing";
//     the reconciler (reconcile.go) settles it with Payments.Query.

type indexPage struct {
	Products []Product
	Cart     Cart
	Wallets  []Wallet
}

func (s *Shop) handleIndex(w http.ResponseWriter, r *http.Request) {
	cust := s.customer(w, r)
	s.render(w, r, http.StatusOK, "index", view{
		Title: "Shop", Nav: "shop",
		Page: indexPage{Products: s.catalog, Cart: s.readCart(r), Wallets: s.activeWallets(cust)},
	})
}

// handleCart changes the cart cookie: form fields sku and delta (+1 / -1).
func (s *Shop) handleCart(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	delta, err := strconv.Atoi(r.PostForm.Get("delta"))
	if err != nil || delta < -maxQty || delta > maxQty {
		delta = 1
	}
	writeCart(w, s.add(s.readCart(r), r.PostForm.Get("sku"), delta))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// handleCartLink restores a cart from a link: GET /cart?items=milk-1l:2,ghee-200:1
// (the "link to this cart" of the cart panel). It only sets the cart cookie.
func (s *Shop) handleCartLink(w http.ResponseWriter, r *http.Request) {
	if items := r.URL.Query().Get("items"); items != "" {
		writeCart(w, s.parseCart(items))
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// handleCheckout starts a payment: for the cart (a new order) or, with form
// field "order", another attempt at an unpaid order. Form field "wallet"
// (an agreementID of the customer's saved wallet) pays with mode 0001.
func (s *Shop) handleCheckout(w http.ResponseWriter, r *http.Request) {
	cust := s.customer(w, r)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	var wallet Wallet
	if ag := r.PostForm.Get("wallet"); ag != "" {
		wl, err := s.store.WalletByAgreement(ag)
		if err != nil || wl.Customer != cust || wl.State != WalletActive {
			s.fail(w, r, http.StatusBadRequest, "That saved wallet is not available.")
			return
		}
		wallet = wl
	}
	var order Order
	if id := r.PostForm.Get("order"); id != "" {
		o, err := s.store.Order(id)
		if err != nil || o.Customer != cust {
			s.fail(w, r, http.StatusNotFound, "No such order.")
			return
		}
		switch o.Status {
		case OrderNew, OrderUnpaid, OrderAwaitingPayment:
		default:
			http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
			return
		}
		order = o
	} else {
		cart := s.readCart(r)
		if cart.Empty() {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		o, err := s.store.CreateOrder(cust, cart.Lines)
		if err != nil {
			s.log.Error("create order", "err", err)
			s.fail(w, r, http.StatusInternalServerError, "The order could not be saved.")
			return
		}
		clearCart(w)
		order = o
	}
	s.startPayment(w, r, order, wallet)
}

// startPayment creates a bKash payment for order and redirects the customer
// to bKash's page.
func (s *Shop) startPayment(w http.ResponseWriter, r *http.Request, order Order, wallet Wallet) {
	// Reserve the attempt number first: an invoice number is never reused,
	// even when the create below fails or its answer is lost.
	order, err := s.store.UpdateOrder(order.ID, func(o *Order) error { o.NextTry++; return nil })
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "The order could not be saved.")
		return
	}
	invoice := order.ID + "-" + strconv.Itoa(order.NextTry)
	// The callback URL carries a secret of this attempt: only a browser
	// that bKash sent back (it has the URL) can move the attempt. Anyone who
	// merely knows the paymentID cannot cancel or execute it.
	key, keyHash := newCallbackKey()
	p, err := s.client.Payments.Create(auditContext(r.Context(), order.ID), &bkash.CreatePaymentParams{
		Amount:         order.Total,
		InvoiceNumber:  invoice,
		PayerReference: order.Customer,
		CallbackURL:    s.public + "/bkash/callback/" + key,
		AgreementID:    wallet.AgreementID, // empty: mode 0011 (wallet, OTP, PIN); set: mode 0001 (PIN only)
	})
	if err != nil {
		// A create that failed or whose answer was lost moved no money; the
		// customer can simply try again (with a new invoice number).
		s.log.Warn("create payment", "order", order.ID, "invoice", invoice, "err", err)
		s.renderOrder(w, r, http.StatusBadGateway, order, "bKash could not start the payment: "+err.Error())
		return
	}
	mode := "0011"
	if wallet.AgreementID != "" {
		mode = "0001"
	}
	// Persist the paymentID before the redirect. If this write fails the
	// customer is not sent to bKash: an approval we could not match later
	// would be money we cannot account for.
	order, err = s.store.UpdateOrder(order.ID, func(o *Order) error {
		o.Attempts = append(o.Attempts, Attempt{
			PaymentID: p.PaymentID, Invoice: invoice, Mode: mode,
			AgreementID: wallet.AgreementID, State: AttemptCreated, CreatedAt: s.now(),
			KeyHash: keyHash,
		})
		if o.Status != OrderPaid {
			o.Status, o.Note = OrderAwaitingPayment, ""
		}
		return nil
	})
	if err != nil {
		s.log.Error("store paymentID", "order", order.ID, "paymentID", p.PaymentID, "err", err)
		s.fail(w, r, http.StatusInternalServerError, "The payment could not be recorded; nothing was charged. Please try again.")
		return
	}
	s.log.Info("payment created", "order", order.ID, "invoice", invoice, "paymentID", p.PaymentID, "mode", mode)
	http.Redirect(w, r, p.BkashURL, http.StatusSeeOther)
}

// newCallbackKey returns a random 128-bit key for an attempt's callback URL
// and the hex SHA-256 the store keeps of it.
func newCallbackKey() (key, hash string) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	key = base64.RawURLEncoding.EncodeToString(b[:])
	return key, hashCallbackKey(key)
}

func hashCallbackKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// callbackKeyMatches compares key with the attempt's stored hash in constant
// time.
func callbackKeyMatches(a *Attempt, key string) bool {
	return keyMatches(a.KeyHash, key)
}

// keyMatches compares a callback key with a stored hash in constant time;
// an empty hash (nothing was given out) matches nothing.
func keyMatches(hash, key string) bool {
	if hash == "" || key == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashCallbackKey(key)), []byte(hash)) == 1
}

// handleKeylessCallback answers a callback without its attempt key: it
// changes nothing (the shop never gives bKash such a URL).
func (s *Shop) handleKeylessCallback(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("callback without the attempt key", "paymentID", r.URL.Query().Get("paymentID"), "remote", r.RemoteAddr)
	s.fail(w, r, http.StatusForbidden, "This callback link is not valid for any payment.")
}

// handleCallback is where bKash sends the browser back:
// GET /bkash/callback/{key}?paymentID=...&status=...
func (s *Shop) handleCallback(w http.ResponseWriter, r *http.Request) {
	cb, err := bkash.ParseCallback(r.URL.Query())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "This is not a valid bKash callback.")
		return
	}
	order, err := s.store.OrderByPaymentID(cb.PaymentID)
	if errors.Is(err, ErrNotFound) {
		// Not a payment this shop created: never execute it.
		s.log.Warn("callback for unknown paymentID", "paymentID", cb.PaymentID)
		s.fail(w, r, http.StatusNotFound, "Unknown payment.")
		return
	}
	if err != nil {
		s.log.Error("callback: load order", "paymentID", cb.PaymentID, "err", err)
		s.fail(w, r, http.StatusInternalServerError, "The order could not be read; nothing was changed.")
		return
	}
	att, _ := order.Attempt(cb.PaymentID)
	if !callbackKeyMatches(att, r.PathValue("key")) {
		// A forged callback, or another attempt's link: change nothing.
		s.log.Warn("callback with a wrong attempt key", "order", order.ID, "paymentID", cb.PaymentID, "remote", r.RemoteAddr)
		s.fail(w, r, http.StatusForbidden, "This callback link is not valid for this payment.")
		return
	}
	if att.State != AttemptCreated {
		// A replayed or repeated callback: the attempt was already handled
		// (or is being handled). Do nothing twice; show where it stands.
		s.redirectToOrder(w, r, order)
		return
	}
	if cb.Status != bkash.CallbackSuccess {
		// Cancel or failure on bKash's page: no money moved, nothing to execute.
		order, err = s.store.UpdateOrder(order.ID, func(o *Order) error {
			a, _ := o.Attempt(cb.PaymentID)
			if a.State != AttemptCreated {
				return nil
			}
			a.State = AttemptCancelled
			a.Note = "cancelled on bKash's page"
			if cb.Status == bkash.CallbackFailure {
				a.State, a.Note = AttemptFailed, "the payment failed on bKash's page"
			}
			if o.Status == OrderAwaitingPayment || o.Status == OrderNew {
				o.Status, o.Note = OrderUnpaid, a.Note
			}
			return nil
		})
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "The order could not be saved.")
			return
		}
		s.redirectToOrder(w, r, order)
		return
	}
	s.execute(w, r, order.ID, cb.PaymentID)
}

// errClaimed means another request already took the attempt.
var errClaimed = errors.New("attempt already handled")

// execute claims the attempt, executes it and records bKash's answer.
func (s *Shop) execute(w http.ResponseWriter, r *http.Request, orderID, paymentID string) {
	// Claim the attempt (created -> executing) in one transaction holding
	// the order's row lock, before sending anything. Every replica of the
	// shop claims through the same lock, so:
	//   - two callbacks of one attempt cannot both execute it;
	//   - an attempt is executed only if no other attempt of its order is
	//     executing (or unknown: still "executing" until reconciled) or paid.
	//     A second approved attempt is left unexecuted: bKash takes no money
	//     for a payment that is never executed, and it expires.
	// A crash after the claim leaves the order "processing" for the
	// reconciler instead of "awaiting payment".
	order, err := s.store.UpdateOrder(orderID, func(o *Order) error {
		a, _ := o.Attempt(paymentID)
		if a.State != AttemptCreated {
			return errClaimed
		}
		if other, busy := blockingAttempt(o, paymentID); busy {
			a.State = AttemptNotTaken
			a.Note = "approved on bKash's page but not executed: payment " + other.PaymentID + " (" + other.Invoice + ") is " + string(other.State) + ", and an order is charged once. bKash takes no money for this one."
			return nil
		}
		a.State = AttemptExecuting
		o.Status, o.Note = OrderProcessing, "confirming the payment with bKash"
		return nil
	})
	if errors.Is(err, errClaimed) {
		o, err := s.store.Order(orderID)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "The order could not be read.")
			return
		}
		s.redirectToOrder(w, r, o)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "The order could not be saved; the payment was not executed.")
		return
	}
	if a, _ := order.Attempt(paymentID); a.State != AttemptExecuting {
		if a.State == AttemptNotTaken {
			s.log.Warn("second approved attempt not executed", "order", orderID, "paymentID", paymentID)
		}
		http.Redirect(w, r, "/orders/"+order.ID, http.StatusSeeOther)
		return
	}

	s.inflight.Store(paymentID, struct{}{})
	defer s.inflight.Delete(paymentID)
	ctx, cancel := s.detached(r)
	ctx = auditContext(ctx, orderID)
	defer cancel()
	p, err := s.client.Payments.Finalize(ctx, paymentID)
	apiErr, refused := definiteRefusal(err)
	switch {
	case err == nil:
		if p.Status == bkash.StatusCompleted && p.InvoiceNumber == "" {
			// Execute's answer does not always echo the invoice; query reads it.
			if q, qerr := s.client.Payments.Query(ctx, paymentID); qerr == nil {
				p = q
			}
		}
		order, err = s.settle(orderID, paymentID, p)
	case refused:
		// A definite refusal (insufficient balance, payment state...): no
		// money moved.
		s.log.Info("execute refused", "order", orderID, "paymentID", paymentID, "code", apiErr.Code)
		order, err = s.store.UpdateOrder(orderID, func(o *Order) error {
			a, _ := o.Attempt(paymentID)
			if a.State != AttemptExecuting {
				return nil
			}
			a.State, a.Note = AttemptFailed, "bKash refused: "+apiErr.Message
			if o.Status == OrderProcessing {
				o.Status, o.Note = OrderUnpaid, a.Note
			}
			return nil
		})
	default:
		// Outcome unknown (a lost answer, a bKash-side failure, an
		// "already executed" that the query could not confirm): the attempt
		// stays "executing" and the reconciler asks bKash. Nothing is re-sent.
		s.log.Warn("execute outcome unknown", "order", orderID, "paymentID", paymentID, "err", err)
		order, err = s.store.UpdateOrder(orderID, func(o *Order) error {
			if o.Status == OrderProcessing {
				o.Note = "bKash has not confirmed the payment yet; we are checking"
			}
			return nil
		})
		s.wake()
	}
	if err != nil {
		s.log.Error("record execute result", "order", orderID, "paymentID", paymentID, "err", err)
		o, lerr := s.store.Order(orderID)
		if lerr != nil {
			s.fail(w, r, http.StatusInternalServerError, "The payment result could not be saved; we will check with bKash.")
			return
		}
		s.renderOrder(w, r, http.StatusInternalServerError, o, "The payment result could not be saved; we will check with bKash.")
		return
	}
	s.redirectToOrder(w, r, order)
}

// settle records bKash's definite view of attempt paymentID. It is
// idempotent: only an attempt that is still executing changes, so a replayed
// callback, the reconciler and a webhook can all call it.
func (s *Shop) settle(orderID, paymentID string, p *bkash.Payment) (Order, error) {
	used := false
	if p.Status == bkash.StatusCompleted && p.TrxID != "" {
		var err error
		if used, err = s.store.TrxIDUsed(p.TrxID, orderID); err != nil {
			return Order{}, err
		}
	}
	if used {
		// The same bKash transaction cannot pay two orders.
		return s.store.UpdateOrder(orderID, func(o *Order) error {
			a, _ := o.Attempt(paymentID)
			if a.State == AttemptExecuting {
				a.State, a.Note = AttemptMismatch, "trxID "+p.TrxID+" already paid another order"
				o.Status, o.Note = OrderReview, a.Note
			}
			return nil
		})
	}
	return s.store.UpdateOrder(orderID, func(o *Order) error {
		a, _ := o.Attempt(paymentID)
		if a.State != AttemptExecuting {
			return nil
		}
		switch p.Status {
		case bkash.StatusCompleted:
			if p.TrxID == "" {
				return nil // not settled yet; keep asking
			}
			var problems []string
			if p.Amount != o.Total {
				problems = append(problems, fmt.Sprintf("bKash charged Tk %s, the order total is Tk %s", p.Amount, o.Total))
			}
			if p.InvoiceNumber != a.Invoice {
				problems = append(problems, fmt.Sprintf("bKash's invoice is %q, expected %q", p.InvoiceNumber, a.Invoice))
			}
			if o.Status == OrderPaid {
				problems = append(problems, "the order was already paid by "+o.PaymentID+": refund this one")
			}
			if len(problems) > 0 {
				a.State, a.Note = AttemptMismatch, joinProblems(problems)
				if o.Status != OrderPaid {
					o.Status, o.Note = OrderReview, a.Note
					o.PaymentID, o.TrxID, o.Paid = paymentID, p.TrxID, p.Amount
				}
				s.log.Warn("payment does not match order", "order", o.ID, "paymentID", paymentID, "trxID", p.TrxID, "why", a.Note)
				return nil
			}
			a.State, a.Note = AttemptPaid, ""
			o.Status, o.Note = OrderPaid, ""
			o.PaymentID, o.TrxID, o.Paid = paymentID, p.TrxID, p.Amount
			o.Payer = bkash.MaskMSISDN(p.CustomerMSISDN)
			o.PaidAt = s.now()
			if !p.ExecutedAt.IsZero() {
				o.PaidAt = p.ExecutedAt.Time
			}
			s.log.Info("order paid", "order", o.ID, "paymentID", paymentID, "trxID", p.TrxID, "amount", p.Amount.String())
		case bkash.StatusInitiated, "":
			// Not executed (yet): keep the order processing.
		default:
			// Cancelled, Expired, Failed, or anything we did not ask for
			// (Authorized: this shop only sells with intent sale).
			if p.Status == bkash.StatusAuthorized {
				a.State, a.Note = AttemptMismatch, "bKash reports an authorization, not a sale"
				o.Status, o.Note = OrderReview, a.Note
				return nil
			}
			a.State, a.Note = AttemptFailed, "bKash reports the payment as "+string(p.Status)
			if o.Status == OrderProcessing {
				o.Status, o.Note = OrderUnpaid, a.Note
			}
		}
		if o.Status == OrderProcessing && !hasExecuting(o) {
			o.Status = OrderUnpaid
		}
		return nil
	})
}

// blockingAttempt returns an attempt of o other than paymentID that forbids
// executing paymentID: one executing (its outcome may still be unknown),
// paid, or in review (bKash took money that did not match).
func blockingAttempt(o *Order, paymentID string) (Attempt, bool) {
	for _, a := range o.Attempts {
		if a.PaymentID == paymentID {
			continue
		}
		switch a.State {
		case AttemptExecuting, AttemptPaid, AttemptMismatch:
			return a, true
		}
	}
	return Attempt{}, false
}

func hasExecuting(o *Order) bool {
	for _, a := range o.Attempts {
		if a.State == AttemptExecuting {
			return true
		}
	}
	return false
}

func joinProblems(p []string) string {
	out := p[0]
	for _, s := range p[1:] {
		out += "; " + s
	}
	return out
}

// redirectToOrder sends the browser to the receipt when the order is paid,
// else to the order page.
func (s *Shop) redirectToOrder(w http.ResponseWriter, r *http.Request, o Order) {
	target := "/orders/" + o.ID
	if o.Status == OrderPaid {
		target += "/receipt"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

type orderPage struct {
	Order    Order
	CanPay   bool
	Wallets  []Wallet
	Refunded bkash.Amount
	NotTaken []Attempt
}

func (s *Shop) renderOrder(w http.ResponseWriter, r *http.Request, status int, o Order, errMsg string) {
	cust := s.customer(w, r)
	pg := orderPage{
		Order:    o,
		CanPay:   o.Status == OrderNew || o.Status == OrderUnpaid || o.Status == OrderAwaitingPayment,
		Refunded: o.Refunded(),
		NotTaken: o.NotTaken(),
	}
	if pg.CanPay {
		pg.Wallets = s.activeWallets(cust)
	}
	s.render(w, r, status, "order", view{Title: "Order " + o.ID, Nav: "orders", Error: errMsg, Refresh: o.Status == OrderProcessing, Page: pg})
}

// ownOrder loads the order in the path if it belongs to the browser's customer.
func (s *Shop) ownOrder(w http.ResponseWriter, r *http.Request) (Order, bool) {
	cust := s.customer(w, r)
	o, err := s.store.Order(r.PathValue("id"))
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error("load order", "order", r.PathValue("id"), "err", err)
		s.fail(w, r, http.StatusInternalServerError, "The order could not be read.")
		return Order{}, false
	}
	if err != nil || o.Customer != cust {
		s.fail(w, r, http.StatusNotFound, "No such order.")
		return Order{}, false
	}
	return o, true
}

func (s *Shop) handleOrder(w http.ResponseWriter, r *http.Request) {
	if o, ok := s.ownOrder(w, r); ok {
		s.renderOrder(w, r, http.StatusOK, o, "")
	}
}

func (s *Shop) handleReceipt(w http.ResponseWriter, r *http.Request) {
	o, ok := s.ownOrder(w, r)
	if !ok {
		return
	}
	if o.Status != OrderPaid {
		http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "receipt", view{Title: "Receipt " + o.ID, Nav: "orders", Page: o})
}

func (s *Shop) handleOrders(w http.ResponseWriter, r *http.Request) {
	cust := s.customer(w, r)
	orders, err := s.store.CustomerOrders(cust)
	if err != nil {
		s.log.Error("list orders", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "The orders could not be read.")
		return
	}
	s.render(w, r, http.StatusOK, "orders", view{Title: "Your orders", Nav: "orders", Page: orders})
}

// definiteRefusal reports whether err is a bKash answer that settles the
// call as not done: the customer's wallet, the payment's state, a bad
// request, an unknown ID. Transient and "already done" codes do not: the
// outcome must be read back.
func definiteRefusal(err error) (*bkash.APIError, bool) {
	var ae *bkash.APIError
	if err == nil || !errors.As(err, &ae) {
		return nil, false
	}
	switch ae.Class() {
	case bkash.ClassCustomer, bkash.ClassState, bkash.ClassValidation, bkash.ClassNotFound,
		bkash.ClassPermission, bkash.ClassRefund:
		return ae, true
	}
	return ae, false
}
