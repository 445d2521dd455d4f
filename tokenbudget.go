// This file holds tokenBudget, which keeps grant and refresh requests
// within bKash's limit (docs/wire.md, "Tokens"): every request, retries
// included, is taken from the budget before it is sent, in this process and,
// when the TokenStore is a TokenBudgetStore, in the store that every process
// with the same credentials shares.

package bkash

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// budgetWindow is bKash's rolling window for grant and refresh requests.
const budgetWindow = time.Hour

// tokenBudget counts the grant and refresh requests of one set of
// credentials. Failed requests count too, since bKash counts them; a
// request that provably never left the process is given back.
type tokenBudget struct {
	limit int              // requests allowed in any budgetWindow (WithTokenRenewalBudget)
	store TokenBudgetStore // the count shared with other processes; nil when the store keeps none
	key   string           // the token's store key, under which the store keeps the count
	// warn logs a failure of the store; the budget then counts this
	// process's requests only.
	warn func(ctx context.Context, msg string, err error)

	mu   sync.Mutex
	sent []time.Time // this process's requests within the window, oldest first
}

// budgetSlot is one request taken from the budget.
type budgetSlot struct {
	at time.Time // the in-process record
	id string    // the store's record; "" when the store keeps none
}

// budgetError is the budget's refusal of a request. It matches
// ErrTokenBudgetExceeded and says when the next request is allowed, or,
// when the store refused because it cannot count the request, why.
type budgetError struct {
	limit int
	where string    // whose requests used the budget up
	free  time.Time // when the next request is allowed
	now   time.Time // when it was refused
	store error     // the store's own refusal (it matches ErrTokenBudgetExceeded); nil for a spent budget
}

func (e *budgetError) Error() string {
	if e.store != nil {
		return e.store.Error() + "; nothing was sent"
	}
	return fmt.Sprintf("%v: %d grant/refresh requests %s in the last hour already; the next is allowed at %s (in %s); nothing was sent",
		ErrTokenBudgetExceeded, e.limit, e.where, e.free.UTC().Format(time.RFC3339), e.free.Sub(e.now).Round(time.Second))
}

func (e *budgetError) Unwrap() error {
	if e.store != nil {
		return e.store
	}
	return ErrTokenBudgetExceeded
}

// spend takes one request from the budget at now, first from this
// process's count, then from the store's. When either has none left it
// takes nothing and returns the refusal.
func (b *tokenBudget) spend(ctx context.Context, now time.Time) (budgetSlot, *budgetError) {
	b.mu.Lock()
	b.sent = slices.DeleteFunc(b.sent, func(at time.Time) bool { return now.Sub(at) >= budgetWindow })
	if len(b.sent) >= b.limit {
		free := b.sent[0].Add(budgetWindow)
		b.mu.Unlock()
		return budgetSlot{}, &budgetError{limit: b.limit, where: "in this process", free: free, now: now}
	}
	b.sent = append(b.sent, now)
	b.mu.Unlock()

	slot := budgetSlot{at: now}
	if b.store == nil {
		return slot, nil
	}
	id, retryAt, err := b.store.TakeRenewal(ctx, b.key, b.limit, budgetWindow)
	switch {
	case errors.Is(err, ErrTokenBudgetExceeded):
		// The store cannot count the request and refuses it rather than
		// let this process count alone (see TokenBudgetStore).
		b.forget(now)
		return budgetSlot{}, &budgetError{limit: b.limit, free: now, now: now, store: err}
	case err != nil:
		b.warn(ctx, "bkash token budget store failed; counting this process's requests only", err)
	case id == "":
		b.forget(now)
		return budgetSlot{}, &budgetError{limit: b.limit, where: "across the processes sharing the token store", free: retryAt, now: now}
	default:
		slot.id = id
	}
	return slot, nil
}

// giveBack returns slot to the budget: its request never left the process.
func (b *tokenBudget) giveBack(ctx context.Context, slot budgetSlot) {
	b.forget(slot.at)
	if slot.id == "" {
		return
	}
	if err := b.store.ReturnRenewal(ctx, b.key, slot.id); err != nil {
		b.warn(ctx, "bkash token budget store failed to take back an unsent request", err)
	}
}

// forget deletes this process's record of the request taken at at.
func (b *tokenBudget) forget(at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := slices.IndexFunc(b.sent, at.Equal); i >= 0 {
		b.sent = slices.Delete(b.sent, i, i+1)
	}
}
