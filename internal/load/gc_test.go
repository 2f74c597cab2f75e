package load

import (
	"runtime/debug"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, 100},
		{16 << 20, 100}, // a small heap keeps Go's default
		{64 << 20, 100}, // the headroom is exactly GCHeadroom
		{128 << 20, 50}, // half
		{256 << 20, 25}, // a quarter
		{1 << 30, 25},   // never under minGCPercent
		{100 << 20, 64}, // 64 MiB over 100 MiB
	} {
		if got := gcPercentFor(tc.live); got != tc.want {
			t.Errorf("gcPercentFor(%d MiB) = %d; want %d", tc.live>>20, got, tc.want)
		}
	}
}

// Nested runs share one tuner; the last to end restores the GC percent the
// process had; GOGC set by the user turns the tuning off.
func TestTuneGCRestores(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	prev := debug.SetGCPercent(77)
	defer debug.SetGCPercent(prev)
	end1 := tuneGC()
	end2 := tuneGC()
	end1()
	end1() // idempotent: does not end the other run's tuning
	gcTuner.Lock()
	runs := gcTuner.runs
	gcTuner.Unlock()
	if runs != 1 {
		t.Fatalf("after one of two runs ended, %d runs are counted; want 1", runs)
	}
	end2()
	if got := debug.SetGCPercent(77); got != 77 {
		t.Errorf("after both runs the GC percent is %d; want the 77 set before", got)
	}
	t.Setenv("GOGC", "100")
	tuneGC()()
	gcTuner.Lock()
	runs = gcTuner.runs
	gcTuner.Unlock()
	if runs != 0 {
		t.Errorf("with GOGC set, %d runs are counted; want none (no tuning)", runs)
	}
}
