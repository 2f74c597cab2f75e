package load

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// GCHeadroom is the most heap beyond what is live that the collector is
// let leave while a run lasts (see [Run]): with Go's default GOGC=100 the
// heap grows to twice its live part before a collection, and a run of
// thousands of connected users is mostly live state (a socket, its oracle,
// a parked goroutine's records), so doubling it doubles the generator's
// memory for little saved CPU. While a run lasts, the GC percent is
// 100 * GCHeadroom / live, between [minGCPercent] and 100: a small heap
// keeps Go's default, 15,000 streaming users' (about 300 MiB live) get
// 25%; never above the percent the process had. Nothing is tuned when
// GOGC or GOMEMLIMIT is set: the user decided.
const GCHeadroom = 64 << 20

const (
	minGCPercent = 25                     // CPU bound: a collection at most every quarter of the live heap allocated
	gcTuneEvery  = 200 * time.Millisecond // how often the live heap is read
	gcTuneStep   = 5                      // percent points: smaller changes are not made
)

// gcTuner is the process's one tuner, shared by every run in flight:
// the first starts it, the last stops it and restores the GC percent.
var gcTuner struct {
	sync.Mutex
	runs int
	stop chan struct{}
	done chan struct{}
}

// tuneGC starts bounding the GC headroom for a run, unless the user set
// GOGC or GOMEMLIMIT; the function returned ends it.
func tuneGC() (end func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	gcTuner.Lock()
	defer gcTuner.Unlock()
	gcTuner.runs++
	if gcTuner.runs == 1 {
		gcTuner.stop, gcTuner.done = make(chan struct{}), make(chan struct{})
		go tuneLoop(gcTuner.stop, gcTuner.done)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			gcTuner.Lock()
			defer gcTuner.Unlock()
			if gcTuner.runs--; gcTuner.runs == 0 {
				close(gcTuner.stop)
				<-gcTuner.done
			}
		})
	}
}

func tuneLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	orig := debug.SetGCPercent(100) // only way to read it
	debug.SetGCPercent(orig)
	if orig <= 0 {
		return // collection is off (or tuned) by the program: leave it
	}
	defer debug.SetGCPercent(orig)
	cur := orig
	tick := time.NewTicker(gcTuneEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return // a runtime without the metric: leave the default
		}
		if p := min(orig, gcPercentFor(sample[0].Value.Uint64())); p-cur >= gcTuneStep || cur-p >= gcTuneStep {
			debug.SetGCPercent(p)
			cur = p
		}
	}
}

// gcPercentFor is the GC percent that leaves at most [GCHeadroom] beyond
// live bytes, between [minGCPercent] and 100.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return 100
	}
	return int(min(100, max(minGCPercent, 100*uint64(GCHeadroom)/live)))
}
