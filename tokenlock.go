// This file holds the renewal lock that makes one process of a fleet renew
// the token while the others wait for its result: lock takes the
// TokenLocker's lock or waits for the holder's token, and lockKeeper
// extends a TokenLockExtender's short lease while its holder works.

package bkash

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Timing of the renewal lock.
const (
	lockWaitLimit = time.Minute                   // how long a renewal waits for another process's
	lockTTL       = renewTimeout + 10*time.Second // a TokenLocker that cannot extend: covers a whole renewal
	lockLease     = 10 * time.Second              // a TokenLockExtender's lock, extended while the holder works
)

// defaultLockWaits are the pauses between polls of the store while another
// process holds the renewal lock; the last one repeats until that process's
// token appears, its lock is free, or lockWaitLimit passes.
var defaultLockWaits = []time.Duration{
	100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
	800 * time.Millisecond, time.Second,
}

// lock takes the renewal lock. While a live holder elsewhere has it, lock
// waits for that holder's token: it polls the store and tries the lock
// again (a holder that died frees it when its TTL runs out), for at most
// waitMax. It returns the token when one appeared in the store (t), or
// unlock once the lock is ours, or neither when the store cannot lock (it
// failed: the renewal goes on without the lock, as without a locker).
// *stored is updated with the newest token loaded.
func (m *tokenManager) lock(ctx context.Context, stored **Token, warned *bool) (unlock func(context.Context) error, t *Token, err error) {
	wctx, cancel := context.WithTimeout(ctx, m.waitMax)
	defer cancel()
	ttl := m.lockTTL
	if m.extender != nil {
		ttl = m.lease
	}
	start := time.Now()
	for i := 0; ; i++ {
		unlock, err := m.locker.Lock(wctx, m.key, ttl)
		if err == nil {
			// The previous holder may have saved a token just before we
			// got the lock.
			if s := m.load(ctx, warned); s != nil {
				*stored = s
				if m.usable(s, m.clock()) {
					if err := unlock(ctx); err != nil {
						m.warn(ctx, "bkash token unlock failed", err)
					}
					return nil, m.adopt(ctx, s), nil
				}
			}
			return unlock, nil, nil
		}
		if wctx.Err() != nil {
			t, err := m.fallback(ctx, fmt.Errorf("bkash: token renewal: waited %s for the renewal lock: %w", time.Since(start).Round(time.Millisecond), wctx.Err()))
			return nil, t, err
		}
		if !errors.Is(err, ErrLockNotAcquired) {
			m.warn(ctx, "bkash token lock failed; renewing without it", err)
			return nil, nil, nil
		}
		// Another process is renewing. A token that is still valid serves
		// the callers meanwhile (for a second, so that they do not all
		// come back at once); the next renewal looks in the store again.
		if cur := m.keepCurrent(time.Second, time.Second); cur != nil {
			return nil, cur, nil
		}
		if err := sleepCtx(wctx, m.lockWait(i)); err != nil {
			t, err := m.fallback(ctx, fmt.Errorf("bkash: token renewal: waited %s for the renewal running in another process: %w", time.Since(start).Round(time.Millisecond), err))
			return nil, t, err
		}
		if s := m.load(wctx, warned); s != nil {
			*stored = s
			if m.usable(s, m.clock()) {
				return nil, m.adopt(ctx, s), nil
			}
		}
	}
}

// lockWait is the pause before the i-th (0-based) poll of the store.
func (m *tokenManager) lockWait(i int) time.Duration {
	if i < len(m.lockWaits) {
		return m.lockWaits[i]
	}
	return m.lockWaits[len(m.lockWaits)-1]
}

// errLockLost stops a renewal whose lock expired while it worked: another
// process may be renewing now, and a further request would be a second
// renewal.
var errLockLost = errors.New("bkash: token renewal lost its lock (the store did not see it extended in time); no further request sent")

// lockKeeper extends the renewal lock while its holder works.
type lockKeeper struct {
	lost atomic.Bool
	done chan struct{}
	wg   sync.WaitGroup
}

// keepLock extends the lock every third of its lease until stop or ctx ends.
func (m *tokenManager) keepLock(ctx context.Context) *lockKeeper {
	k := &lockKeeper{done: make(chan struct{})}
	k.wg.Go(func() {
		tick := time.NewTicker(m.lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-k.done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := m.extender.ExtendLock(ctx, m.key, m.lease)
			switch {
			case err == nil:
			case errors.Is(err, ErrLockNotAcquired):
				k.lost.Store(true)
				m.warn(ctx, "bkash token lock lost while renewing", err)
				return
			case ctx.Err() == nil:
				m.warn(ctx, "bkash token lock extension failed", err)
			}
		}
	})
	return k
}

// stop ends the extensions and waits until none is in progress, so that
// none runs after the holder unlocks.
func (k *lockKeeper) stop() {
	close(k.done)
	k.wg.Wait()
}

// check returns errLockLost once the lock was lost.
func (k *lockKeeper) check() error {
	if k != nil && k.lost.Load() {
		return errLockLost
	}
	return nil
}
