package procs

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	for _, c := range []struct {
		name          string
		cur, top      int
		used          float64
		low           int
		want, wantLow int
	}{
		{"light at 2: wait", 2, 2, 0.26, 0, 2, 1},
		{"light at 2, the last look of patience: 1", 2, 2, 0.26, Patience - 1, 1, 0},
		{"half of 2 is busy enough: stay", 2, 2, 1.0, 3, 2, 0},
		{"busy at 1: all of them at once", 1, 8, 0.6, 0, 8, 0},
		{"saturated at 1: all", 1, 2, 1.0, 0, 2, 0},
		{"under half of 1: stay", 1, 2, 0.49, 2, 1, 0},
		{"idle: down to 1, never 0", 4, 4, 0, Patience - 1, 1, 0},
		{"2.6 cores of 8: down to 6 after patience", 8, 8, 2.6, Patience - 1, 6, 0},
		{"a busy look resets patience", 8, 8, 3.9, 2, 8, 0},
		{"never above top", 3, 4, 9, 0, 4, 0},
	} {
		next, low := Next(c.cur, c.top, c.used, c.low)
		if next != c.want || low != c.wantLow {
			t.Errorf("%s: Next(%d, %d, %.2f, %d) = %d, %d; want %d, %d", c.name, c.cur, c.top, c.used, c.low, next, low, c.want, c.wantLow)
		}
	}
}

// TestFitFollowsTheCPU drives Fit with a CPU clock of the test's own: an
// idle process comes down to one P after Patience looks, a busy one gets
// them all back at the next look, and stop puts the starting value back.
func TestFitFollowsTheCPU(t *testing.T) {
	top := runtime.GOMAXPROCS(0)
	if top < 2 {
		runtime.GOMAXPROCS(2)
		defer runtime.GOMAXPROCS(top)
		top = 2
	}
	var busy atomic.Bool
	var used time.Duration
	start := time.Now()
	cpu := func() (time.Duration, bool) {
		if busy.Load() {
			used = time.Since(start) * time.Duration(top) // every P busy since the start
		}
		return used, true
	}
	stop := Fit(cpu)
	waitFor := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for runtime.GOMAXPROCS(0) != want {
			if time.Now().After(deadline) {
				t.Fatalf("GOMAXPROCS = %d after 10 s; want %d", runtime.GOMAXPROCS(0), want)
			}
			time.Sleep(Every / 5)
		}
	}
	waitFor(1)
	busy.Store(true)
	waitFor(top)
	busy.Store(false)
	waitFor(1)
	stop()
	if got := runtime.GOMAXPROCS(0); got != top {
		t.Fatalf("GOMAXPROCS = %d after stop; want %d back", got, top)
	}
}

func TestFitLeavesOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	calls := 0
	stop := Fit(func() (time.Duration, bool) { calls++; return 0, true })
	time.Sleep(2 * Every)
	stop()
	if calls > 1 || runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("with one P, Fit read the CPU %d times and left GOMAXPROCS %d; want at most once and 1", calls, runtime.GOMAXPROCS(0))
	}
}
