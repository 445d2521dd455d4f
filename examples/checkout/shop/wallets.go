package shop

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/smartdairy/bkash-go"
)

// Saved wallets are bKash agreements (mode 0000): the customer links a wallet
// once (wallet number, OTP, PIN on bKash's page); the shop keeps the
// agreementID and later creates payments with it (mode 0001), for which the
// customer only enters the PIN. The flow mirrors a payment:
//
//  1. POST /wallets: Agreements.Create with a callback URL carrying a
//     per-link key; the agreement-creation paymentID and the key's hash are
//     stored before the redirect to bKash.
//  2. GET /bkash/agreement/callback/{key}: a callback whose key is not the
//     link's changes nothing; on success, Agreements.Execute (detached
//     context) returns the agreementID, which is stored.
//  3. POST /wallets/{pid}/remove: Agreements.Cancel.

func (s *Shop) activeWallets(cust string) []Wallet {
	ws, err := s.store.CustomerWallets(cust, WalletActive)
	if err != nil {
		s.log.Error("list wallets", "err", err)
	}
	return ws
}

type walletsPage struct {
	Wallets []Wallet
}

func (s *Shop) handleWallets(w http.ResponseWriter, r *http.Request) {
	s.renderWallets(w, r, http.StatusOK, "", "")
}

func (s *Shop) renderWallets(w http.ResponseWriter, r *http.Request, status int, flash, errMsg string) {
	cust := s.customer(w, r)
	ws, err := s.store.CustomerWallets(cust, WalletPending, WalletLinking, WalletActive)
	if err != nil {
		s.log.Error("list wallets", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "The wallets could not be read.")
		return
	}
	s.render(w, r, status, "wallets", view{Title: "Saved bKash wallets", Nav: "wallets", Flash: flash, Error: errMsg, Page: walletsPage{Wallets: ws}})
}

func (s *Shop) handleAddWallet(w http.ResponseWriter, r *http.Request) {
	cust := s.customer(w, r)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	// payerReference: a wallet number pre-fills bKash's page; without one the
	// customer ID is the merchant's reference for the payer.
	ref := strings.TrimSpace(r.PostForm.Get("msisdn"))
	if ref == "" {
		ref = cust
	}
	// The callback URL carries a per-link secret, as a payment attempt's
	// does: whoever only knows the paymentID cannot cancel the link (nor
	// make the shop execute it) with a callback of their own.
	key, keyHash := newCallbackKey()
	ag, err := s.client.Agreements.Create(r.Context(), &bkash.CreateAgreementParams{
		PayerReference: ref,
		CallbackURL:    s.public + "/bkash/agreement/callback/" + key,
	})
	if err != nil {
		var ve *bkash.ValidationError
		status := http.StatusBadGateway
		if errors.As(err, &ve) {
			status = http.StatusBadRequest
		}
		s.renderWallets(w, r, status, "", "bKash could not start linking the wallet: "+err.Error())
		return
	}
	if err := s.store.PutWallet(Wallet{PaymentID: ag.PaymentID, Customer: cust, State: WalletPending, KeyHash: keyHash}); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "The wallet could not be recorded. Please try again.")
		return
	}
	s.log.Info("agreement created", "paymentID", ag.PaymentID)
	http.Redirect(w, r, ag.BkashURL, http.StatusSeeOther)
}

// handleKeylessAgreementCallback answers an agreement callback without its
// link key: it changes nothing (the shop never gives bKash such a URL).
func (s *Shop) handleKeylessAgreementCallback(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("agreement callback without the link key", "paymentID", r.URL.Query().Get("paymentID"), "remote", r.RemoteAddr)
	s.fail(w, r, http.StatusForbidden, "This callback link is not valid for any wallet.")
}

// handleAgreementCallback is where bKash sends the browser back after the
// wallet-link page: GET /bkash/agreement/callback/{key}?paymentID=...&status=...
func (s *Shop) handleAgreementCallback(w http.ResponseWriter, r *http.Request) {
	cb, err := bkash.ParseCallback(r.URL.Query())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "This is not a valid bKash callback.")
		return
	}
	wl, err := s.store.Wallet(cb.PaymentID)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "Unknown agreement.")
		return
	}
	if !keyMatches(wl.KeyHash, r.PathValue("key")) {
		// A forged callback, or another link's URL: change nothing.
		s.log.Warn("agreement callback with a wrong link key", "paymentID", cb.PaymentID, "remote", r.RemoteAddr)
		s.fail(w, r, http.StatusForbidden, "This callback link is not valid for this wallet.")
		return
	}
	if wl.State != WalletPending {
		http.Redirect(w, r, "/wallets", http.StatusSeeOther) // replayed callback
		return
	}
	if cb.Status != bkash.CallbackSuccess {
		_, err := s.store.UpdateWallet(cb.PaymentID, func(w *Wallet) error {
			if w.State == WalletPending {
				w.State, w.Note = WalletCancelled, "not linked: "+string(cb.Status)+" on bKash's page"
			}
			return nil
		})
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "The wallet could not be saved.")
			return
		}
		s.renderWallets(w, r, http.StatusOK, "", "The wallet was not linked (you left bKash's page).")
		return
	}
	_, err = s.store.UpdateWallet(cb.PaymentID, func(w *Wallet) error {
		if w.State != WalletPending {
			return errClaimed
		}
		w.State = WalletLinking
		return nil
	})
	if errors.Is(err, errClaimed) {
		http.Redirect(w, r, "/wallets", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "The wallet could not be saved.")
		return
	}
	s.inflight.Store(cb.PaymentID, struct{}{})
	defer s.inflight.Delete(cb.PaymentID)
	ctx, cancel := s.detached(r)
	defer cancel()
	ag, err := s.client.Agreements.Execute(ctx, cb.PaymentID)
	apiErr, refused := definiteRefusal(err)
	switch {
	case err == nil:
		err = s.linkWallet(cb.PaymentID, ag)
	case refused:
		_, err = s.store.UpdateWallet(cb.PaymentID, func(w *Wallet) error {
			if w.State == WalletLinking {
				w.State, w.Note = WalletCancelled, "bKash refused: "+apiErr.Message
			}
			return nil
		})
	default:
		s.log.Warn("agreement execute outcome unknown", "paymentID", cb.PaymentID, "err", err)
		s.wake()
		err = nil
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "The wallet could not be saved.")
		return
	}
	http.Redirect(w, r, "/wallets", http.StatusSeeOther)
}

// linkWallet records an executed agreement.
func (s *Shop) linkWallet(paymentID string, ag *bkash.Agreement) error {
	_, err := s.store.UpdateWallet(paymentID, func(w *Wallet) error {
		if w.State != WalletLinking {
			return nil
		}
		switch ag.Status {
		case bkash.AgreementCompleted:
			w.State, w.Note = WalletActive, ""
			w.AgreementID = ag.AgreementID
			w.MSISDN = bkash.MaskMSISDN(ag.CustomerMSISDN)
		case bkash.AgreementInitiated:
			// not executed yet: keep asking
		default:
			w.State, w.Note = WalletCancelled, "bKash reports the agreement as "+string(ag.Status)
		}
		return nil
	})
	if err == nil && ag.Status == bkash.AgreementCompleted {
		s.log.Info("wallet linked", "paymentID", paymentID, "agreementID", ag.AgreementID)
	}
	return err
}

// reconcileWallet settles an agreement whose execute got no answer. The
// shop has no agreementID yet, so it first reads the creation paymentID.
func (s *Shop) reconcileWallet(ctx context.Context, paymentID string) {
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	p, err := s.client.Payments.Query(qctx, paymentID)
	if err != nil {
		s.log.Warn("reconcile wallet: query", "paymentID", paymentID, "err", err)
		return
	}
	if p.AgreementID == "" {
		return // not executed (yet)
	}
	ag, err := s.client.Agreements.Query(qctx, p.AgreementID)
	if err != nil {
		s.log.Warn("reconcile wallet: agreement status", "paymentID", paymentID, "err", err)
		return
	}
	if err := s.linkWallet(paymentID, ag); err != nil {
		s.log.Error("reconcile wallet: record", "paymentID", paymentID, "err", err)
	}
}

func (s *Shop) handleRemoveWallet(w http.ResponseWriter, r *http.Request) {
	cust := s.customer(w, r)
	wl, err := s.store.Wallet(r.PathValue("pid"))
	if err != nil || wl.Customer != cust || wl.State != WalletActive {
		s.fail(w, r, http.StatusNotFound, "No such wallet.")
		return
	}
	ctx, cancel := s.detached(r)
	defer cancel()
	// Cancel is safe to retry (the SDK does): "already cancelled" is success.
	if _, err := s.client.Agreements.Cancel(ctx, wl.AgreementID); err != nil {
		s.renderWallets(w, r, http.StatusBadGateway, "", "bKash could not remove the wallet: "+err.Error())
		return
	}
	if _, err := s.store.UpdateWallet(wl.PaymentID, func(w *Wallet) error {
		w.State, w.Note = WalletRemoved, ""
		return nil
	}); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "The wallet could not be saved.")
		return
	}
	s.renderWallets(w, r, http.StatusOK, "Wallet "+wl.MSISDN+" removed.", "")
}
