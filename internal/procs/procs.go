// Package procs fits the number of threads that run Go code at once
// (GOMAXPROCS) to the CPU the process uses.
//
// A load generator spends most of a light run waiting for its target.
// Each reply then wakes a thread, and with a P idle Go's scheduler also
// wakes another to look for work that is not there: on two cores about
// 3 context switches and 16-20 us of CPU a minimal journey, a sixth of
// goldenpath's cost per journey (docs/benchmarks.md). Fit watches the
// process's CPU and, while it uses well under the Ps it has, gives Go
// fewer; at the first sign of need it gives them all back. The phases do
// not depend on it: the epoll loops time every reply and frame to its
// arrival as the kernel noted it, and how late a loop read them is the
// run's read_lag.
package procs

import (
	"math"
	"runtime"
	"time"
)

// Every is how often Fit looks at the process's CPU.
const Every = 250 * time.Millisecond

// Busy is the share of its Ps the process may use before Fit gives it
// more: at 2 Ps and 1.1 cores used, the fit is 3.
const Busy = 0.5

// Patience is how many looks in a row must want fewer Ps before Fit takes
// any away: 1 s at Every.
const Patience = 4

// Next is the rule: the Ps to have after a look that found used cores
// (CPU seconds per second) at cur Ps, at most top; low is how many looks
// in a row before this one wanted fewer, and is returned updated. More
// are given at once, all of them; fewer only after Patience looks, down
// to what the last look wanted.
func Next(cur, top int, used float64, low int) (next, lowAfter int) {
	want := int(math.Ceil(used / Busy))
	want = min(max(want, 1), top)
	switch {
	case want > cur:
		return top, 0
	case want == cur:
		return cur, 0
	case low+1 < Patience:
		return cur, low + 1
	}
	return want, 0
}

// Fit starts fitting GOMAXPROCS between 1 and its value now, as Next
// says, every Every, until stop is called; stop puts the value back and
// returns when the watcher has ended. cpu reads the process's CPU time so
// far; Fit does nothing where it returns false, or when there is one P.
func Fit(cpu func() (time.Duration, bool)) (stop func()) {
	top := runtime.GOMAXPROCS(0)
	c0, ok := cpu()
	if top < 2 || !ok {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer runtime.GOMAXPROCS(top)
		t := time.NewTicker(Every)
		defer t.Stop()
		cur, low, t0 := top, 0, time.Now()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				c1, ok := cpu()
				if !ok {
					return
				}
				used := float64(c1-c0) / float64(now.Sub(t0))
				c0, t0 = c1, now
				next, l := Next(cur, top, used, low)
				low = l
				if next != cur {
					runtime.GOMAXPROCS(next)
					cur = next
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
