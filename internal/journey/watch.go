package journey

import (
	"context"
	"os"
	"time"
)

// A built-in journey has one timer and one context watch, armed at its
// first exchange (or at its socket, on the usual path) and stopped when it
// ends. Before its socket is read they end the raw path's exchange under
// way, the login's or the upgrade's (rawnet_linux.go); from then on the
// wait its socket's state is in (auser.timedOut, auser.cancelled). An
// exchange so makes neither a timer nor a watch of its own: each is an
// allocation and a registration with the run's context, which every user
// shares (docs/benchmarks.md, issue 11).

// track makes ref the exchange the journey's timer and context watch end,
// its deadline until; untrack forgets it once it is over.
func (u *auser) track(ref exchangeRef, until time.Time) {
	u.xmu.Lock()
	u.xcur = ref
	u.xmu.Unlock()
	u.arm(time.Until(until))
}

func (u *auser) untrack(ref exchangeRef) {
	u.xmu.Lock()
	if u.xcur == ref {
		u.xcur = exchangeRef{}
	}
	u.xmu.Unlock()
}

// arm (re)starts the journey's timer for d, and its context watch once.
func (u *auser) arm(d time.Duration) {
	u.xmu.Lock()
	defer u.xmu.Unlock()
	if u.timer == nil {
		u.timer = time.AfterFunc(d, u.fired)
		u.unwatch = context.AfterFunc(u.ctx, u.ctxDone)
		return
	}
	u.timer.Reset(d)
}

// disarm stops the journey's timer and context watch, if armed.
func (u *auser) disarm() {
	u.xmu.Lock()
	t, unwatch := u.timer, u.unwatch
	u.xmu.Unlock()
	if t != nil {
		t.Stop()
		unwatch()
	}
}

// current is the exchange under way, the journey's timer, and whether
// its socket is read (the timer and the watch are then its wait's).
func (u *auser) current() (exchangeRef, *time.Timer, bool) {
	u.xmu.Lock()
	defer u.xmu.Unlock()
	return u.xcur, u.timer, u.socket
}

// fired is the journey's timer: the deadline of the exchange under way,
// or of the wait the socket's state is in.
func (u *auser) fired() {
	ref, t, socket := u.current()
	switch {
	case socket:
		u.timedOut()
	case !ref.live():
	default:
		if left := time.Until(ref.until()); left > 0 {
			t.Reset(left) // the timer was an earlier exchange's
			return
		}
		ref.fail(os.ErrDeadlineExceeded)
	}
}

// ctxDone is the end of the journey's context: it ends the exchange under
// way, or the socket's wait.
func (u *auser) ctxDone() {
	ref, _, socket := u.current()
	switch {
	case socket:
		u.cancelled()
	case ref.live():
		ref.fail(u.ctx.Err())
	}
}
