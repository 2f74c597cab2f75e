package auth

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// limiter counts failed logins per key (a client and an email, or a client
// alone) in a fixed window that opens at the first failure. Attempts in
// progress count against the limit too, so that concurrent guesses cannot
// slip past it; an attempt that would exceed the limit only because of
// others in progress waits, in arrival order, for one of them to end.
//
// Memory is bounded: a key is remembered only while it has failures in an
// open window or attempts in progress or waiting. Expired windows are
// dropped as the clock passes them, and at most max keys with failures are
// kept; at that bound the key whose window opened first is forgotten.
type limiter struct {
	limit  int
	window time.Duration
	max    int
	now    func() time.Time
	what   string // whose failures: "for this email from your address", "from your address"

	mu    sync.Mutex
	byKey map[string]*attempts
	order list.List // of *attempts with failures, oldest window first
}

// attempts is one key's state. It is in byKey while it is busy (failures,
// inflight, waiters or woken), and in order exactly while failures is
// positive.
type attempts struct {
	key      string
	failures int
	opened   time.Time       // when the first of failures happened
	inflight int             // attempts between begin and end
	waiters  []chan struct{} // attempts waiting for room, first come first
	woken    int             // waiters let go that have not yet come back for their turn
	elem     *list.Element   // in order
}

func (a *attempts) busy() bool {
	return a.failures > 0 || a.inflight > 0 || len(a.waiters) > 0 || a.woken > 0
}

func newLimiter(limit int, window time.Duration, max int, now func() time.Time, what string) *limiter {
	return &limiter{limit: limit, window: window, max: max, now: now, what: what, byKey: make(map[string]*attempts)}
}

// Throttled is the cause of an [backend.ERATELIMITED] login error: the
// client may try again after RetryAfter.
type Throttled struct {
	RetryAfter time.Duration // whole seconds, at least one
}

// Error implements the error interface.
func (t *Throttled) Error() string { return fmt.Sprintf("auth: throttled for %v", t.RetryAfter) }

// begin waits until an attempt for key may go ahead and returns it, to be
// passed to end. It fails with ERATELIMITED, caused by a [*Throttled], when
// the key has used up its failures, or with ctx's error when ctx ends
// first.
func (l *limiter) begin(ctx context.Context, key string) (*attempts, error) {
	l.mu.Lock()
	woken := false
	for {
		now := l.now()
		l.expire(now)
		a := l.byKey[key]
		if a == nil {
			a = &attempts{key: key}
			l.byKey[key] = a
		} else if a.failures > 0 && !now.Before(a.opened.Add(l.window)) {
			l.forget(a) // the clock went back past the order: expire one by one
			l.byKey[key] = a
		}
		if woken {
			a.woken--
			woken = false
		}
		switch {
		case a.failures >= l.limit:
			retry := max((a.opened.Add(l.window).Sub(now) + time.Second - 1).Truncate(time.Second), time.Second)
			l.release(a)
			l.mu.Unlock()
			return nil, &backend.Error{Code: backend.ERATELIMITED,
				Message: fmt.Sprintf("too many failed logins %s; try again in %v", l.what, retry),
				Err:     &Throttled{RetryAfter: retry}}
		case a.failures+a.inflight+a.woken < l.limit:
			a.inflight++
			l.mu.Unlock()
			return a, nil
		}
		turn := make(chan struct{})
		a.waiters = append(a.waiters, turn)
		l.mu.Unlock()
		select {
		case <-turn:
		case <-ctx.Done():
			l.mu.Lock()
			if i := slices.Index(a.waiters, turn); i >= 0 {
				a.waiters = slices.Delete(a.waiters, i, i+1)
			} else {
				a.woken-- // let go meanwhile: pass the turn on
				l.wake(a)
			}
			l.release(a)
			l.mu.Unlock()
			return nil, fmt.Errorf("auth: login: %w", ctx.Err())
		}
		l.mu.Lock()
		woken = true
	}
}

// end records the outcome of an attempt from begin; failed counts it.
func (l *limiter) end(a *attempts, failed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a.inflight--
	now := l.now()
	l.expire(now)
	if failed {
		if a.failures > 0 && !now.Before(a.opened.Add(l.window)) {
			l.forget(a)
		}
		if a.failures == 0 {
			for l.order.Len() >= l.max {
				l.forget(l.order.Front().Value.(*attempts))
			}
			a.opened = now
			a.elem = l.order.PushBack(a)
			l.byKey[a.key] = a // forget may have dropped it
		}
		a.failures++
	}
	l.wake(a)
	l.release(a)
}

// wake lets as many waiters go as there is room for.
func (l *limiter) wake(a *attempts) {
	for len(a.waiters) > 0 && a.failures+a.inflight+a.woken < l.limit {
		close(a.waiters[0])
		a.waiters = a.waiters[1:]
		a.woken++
	}
	if len(a.waiters) > 0 && a.failures >= l.limit {
		// Out of failures: every waiter is refused, which it learns itself.
		for _, w := range a.waiters {
			close(w)
		}
		a.woken += len(a.waiters)
		a.waiters = nil
	}
}

// release forgets a key that is no longer busy.
func (l *limiter) release(a *attempts) {
	if !a.busy() && l.byKey[a.key] == a {
		delete(l.byKey, a.key)
	}
}

// expire forgets the failures of windows that have closed by now.
func (l *limiter) expire(now time.Time) {
	for e := l.order.Front(); e != nil; e = l.order.Front() {
		a := e.Value.(*attempts)
		if now.Before(a.opened.Add(l.window)) {
			return
		}
		l.forget(a)
	}
}

// forget drops a key's failures, and the key itself unless it is busy
// otherwise.
func (l *limiter) forget(a *attempts) {
	if a.elem != nil {
		l.order.Remove(a.elem)
		a.elem = nil
	}
	a.failures = 0
	l.wake(a)
	l.release(a)
}

// size returns how many keys are remembered and how many have failures.
func (l *limiter) size() (keys, failing int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byKey), l.order.Len()
}
