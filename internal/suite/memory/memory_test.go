package memory

import (
	"strconv"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// cyclesScenario is a memory scenario of ten cycles whose idle RSS is
// base plus growth per cycle (and a little noise), after done operations
// of which failed failed.
func cyclesScenario(base, growth float64, done, failed int64) results.Scenario {
	c := map[string]int64{
		counterOpsPerCycle: 200, counterOpsDone: done, counterOpsFailed: failed,
		counterStartupRSS: int64(base), counterPeakRSS: int64(base + 11*growth + 8<<20), counterLoadRSS: 40,
		counterCyclesPlan: 10, counterCyclesRun: 10,
	}
	noise := []float64{0, 300e3, -200e3, 100e3, -400e3, 250e3, -150e3, 50e3, -300e3, 200e3}
	for i := range 10 {
		c[counterCycleRSS+strconv.Itoa(i)] = int64(base + float64(i)*growth + noise[i])
		c[counterCycleSecs+strconv.Itoa(i)] = int64((i + 1) * 6000)
	}
	var samples []results.Sample
	if failed > 0 {
		samples = append(samples, results.Sample{Kind: "workload_failed", Detail: "ws: close 1011"})
	}
	return results.Scenario{Name: scMemJourneys, Suite: Name, Samples: samples, Metrics: metrics.Snapshot{Counters: c}}
}

// The leak check judges memory only under a workload that ran: flat memory
// passes when the load succeeded, and fails, saying why, when it did not.
func TestMemoryChecksWorkload(t *testing.T) {
	for _, tc := range []struct {
		name         string
		growth       float64
		done, failed int64
		want         string
		evidence     string
	}{
		{"flat, load ran", 0, 2400, 0, results.Pass, "no leak"},
		{"flat, 1% failed", 0, 2400, 24, results.Pass, "no leak"},
		{"flat, load failed", 0, 2400, 300, results.Fail, "the workload failed: 300 of 2400 operations failed (more than 1%; e.g. workload_failed: ws: close 1011)"},
		{"flat, nothing ran", 0, 0, 0, results.Fail, "the workload did not run"},
		{"leaking, load ran", 4 << 20, 2400, 0, results.Fail, "memory grows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := cyclesScenario(60<<20, tc.growth, tc.done, tc.failed)
			var leak *results.Check
			for _, c := range memoryChecks([]results.Scenario{sc}, nil) {
				if c.Name == "memory_leak_detection" {
					leak = &c
				}
			}
			if leak == nil {
				t.Fatal("memoryChecks returned no memory_leak_detection")
			}
			if leak.Status != tc.want || !strings.Contains(leak.Evidence, tc.evidence) {
				t.Errorf("memory_leak_detection = %s (%s); want %s with %q", leak.Status, leak.Evidence, tc.want, tc.evidence)
			}
		})
	}
}

// Every memory check that judges a figure carries it, with its rule and
// the cycles it is of: none writes observed 0 against threshold 0.
func TestMemoryChecksFigures(t *testing.T) {
	sc := cyclesScenario(60<<20, 4<<20, 2400, 0) // 4 MiB a cycle: a leak
	want := map[string]struct {
		stat, op, unit string
		samples        int64
	}{
		"memory_usage_bounded_under_load": {"peak", "<", "bytes", 40},
		"startup_memory_baseline":         {"startup", "<", "bytes", 1},
		"memory_growth_under_10_percent":  {"growth_lo", "<", "ratio", 10},
		"memory_leak_detection":           {"slope_lo", "<=", "bytes/cycle", 10},
		"garbage_collection_efficiency":   {"idle_rise", "<=", "bytes", 10},
	}
	for _, c := range memoryChecks([]results.Scenario{sc}, nil) {
		w, ok := want[c.Name]
		if !ok {
			if c.Status != results.Skip {
				t.Errorf("%s = %s; want a skip (its scenario did not run)", c.Name, c.Status)
			}
			continue
		}
		if c.Rule == nil || c.Rule.Metric != "rss" || c.Rule.Stat != w.stat || c.Rule.Op != w.op || c.Rule.Unit != w.unit ||
			c.Unit != w.unit || c.Samples != w.samples || c.Observed == 0 || c.Rule.Limit == 0 {
			t.Errorf("%s: rule %+v, observed %g %s over %d; want rss %s %s a limit in %s, a figure, over %d",
				c.Name, c.Rule, c.Observed, c.Unit, c.Samples, w.stat, w.op, w.unit, w.samples)
			continue
		}
		// The figure decides as the rule says.
		if holds := c.Rule.Holds(c.Observed); holds != (c.Status == results.Pass) {
			t.Errorf("%s = %s, but its rule %s on %g says %t", c.Name, c.Status, c.Rule, c.Observed, holds)
		}
	}
}
