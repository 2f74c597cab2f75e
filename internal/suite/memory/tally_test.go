package memory

import (
	"errors"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// TestTallyCounts checks that a workload's operations are counted in its
// scenario as they end: journeys (ok or failed) for a journey workload,
// operations for the others.
func TestTallyCounts(t *testing.T) {
	for _, journeys := range []bool{true, false} {
		set := metrics.NewSet()
		w := tally{set: set, journeys: journeys}
		w.add(nil)
		w.add(nil)
		w.add(errors.New("refused"))
		c := set.Snapshot().Counters
		want := map[string]int64{suite.CounterJourneys: 3, suite.CounterSucceeded: 2, suite.CounterFailed: 1}
		if !journeys {
			want = map[string]int64{results.CounterOperations: 3}
		}
		for k, v := range want {
			if c[k] != v {
				t.Errorf("journeys %t: counter %s = %d; want %d (all: %v)", journeys, k, c[k], v, c)
			}
		}
		if len(c) != len(want) || w.done != 3 || w.failed != 1 {
			t.Errorf("journeys %t: counters %v, done %d, failed %d; want only %v, 3 done, 1 failed", journeys, c, w.done, w.failed, want)
		}
	}
}
