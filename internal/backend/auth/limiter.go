package auth

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// limiter counts failed logins per email in a fixed window that opens at the
// first failure. Attempts in progress count against the limit too, so that
// concurrent guesses cannot slip past it; an attempt that would exceed the
// limit only because of others in progress waits for them.
//
// Memory is bounded: an email is remembered only while it has failures in
// an open window or attempts in progress. Expired windows are dropped as
// the clock passes them, and at most max emails with failures are kept; at
// that bound the email whose window opened first is forgotten.
type limiter struct {
	limit  int
	window time.Duration
	max    int
	now    func() time.Time

	mu      sync.Mutex
	byEmail map[string]*attempts
	order   list.List // of *attempts with failures, oldest window first
}

// attempts is one email's state. It is in byEmail exactly while failures or
// inflight is positive, and in order exactly while failures is positive.
type attempts struct {
	email    string
	failures int
	opened   time.Time     // when the first of failures happened
	inflight int           // attempts between begin and end
	wake     chan struct{} // closed when an attempt ends, if anyone waits
	elem     *list.Element // in order
}

func newLimiter(limit int, window time.Duration, max int, now func() time.Time) *limiter {
	return &limiter{limit: limit, window: window, max: max, now: now, byEmail: make(map[string]*attempts)}
}

// begin waits until an attempt for email may go ahead and returns it, to be
// passed to end. It fails with ERATELIMITED when the email has used up its
// failures, or with ctx's error when ctx ends first.
func (l *limiter) begin(ctx context.Context, email string) (*attempts, error) {
	l.mu.Lock()
	for {
		now := l.now()
		l.expire(now)
		a := l.byEmail[email]
		if a == nil {
			a = &attempts{email: email}
			l.byEmail[email] = a
		} else if a.failures > 0 && !now.Before(a.opened.Add(l.window)) {
			l.forget(a) // the clock went back past the order: expire one by one
		}
		switch {
		case a.failures >= l.limit:
			retry := (a.opened.Add(l.window).Sub(now) + time.Second - 1).Truncate(time.Second)
			l.mu.Unlock()
			return nil, backend.Errorf(backend.ERATELIMITED,
				"too many failed logins for this email; try again in %v", retry)
		case a.failures+a.inflight < l.limit:
			a.inflight++
			l.mu.Unlock()
			return a, nil
		}
		if a.wake == nil {
			a.wake = make(chan struct{})
		}
		wake := a.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, fmt.Errorf("auth: login: %w", ctx.Err())
		}
		l.mu.Lock()
	}
}

// end records the outcome of an attempt from begin; failed counts it.
func (l *limiter) end(a *attempts, failed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a.inflight--
	if a.wake != nil {
		close(a.wake)
		a.wake = nil
	}
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
			l.byEmail[a.email] = a // forget may have dropped it
		}
		a.failures++
	}
	if a.failures == 0 && a.inflight == 0 {
		delete(l.byEmail, a.email)
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

// forget drops an email's failures, and the email itself unless attempts
// are in progress.
func (l *limiter) forget(a *attempts) {
	if a.elem != nil {
		l.order.Remove(a.elem)
		a.elem = nil
	}
	a.failures = 0
	if a.inflight == 0 {
		delete(l.byEmail, a.email)
	}
}

// size returns how many emails are remembered and how many have failures.
func (l *limiter) size() (emails, failing int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byEmail), l.order.Len()
}
