package memory

import (
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// memory_growth_under_10_percent judges the growth of the idle memory over
// the cycles measured — its own statistic, whatever the leak test says —
// and states the span it rests on; it never projects a short run to a
// horizon it did not measure.
func TestMemoryGrowth(t *testing.T) {
	for _, tc := range []struct {
		name         string
		base, growth float64 // bytes, bytes a cycle
		want         string
		evidence     []string
	}{
		{"flat", 60 << 20, 0, results.Pass, []string{"idle memory grew -0.2%", "over the 54s from cycle 1 to cycle 10", "limit 10%"}},
		// 1 MiB a cycle is under the leak test's floor (1.6 MiB), so the leak
		// check passes; but 9 MiB on a 20 MiB baseline is 45%.
		{"growth under the leak floor, large for the baseline", 20 << 20, 1 << 20, results.Fail, []string{"grew +44.", "of the 20.0 MiB of cycle 1"}},
		{"growth under 10%", 60 << 20, 512 << 10, results.Pass, []string{"grew +7.", "limit 10%"}},
		{"a leak", 60 << 20, 4 << 20, results.Fail, []string{"grew +59."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := cyclesScenario(tc.base, tc.growth, 2400, 0)
			cs := memoryChecks([]results.Scenario{sc}, nil)
			var growth, leak results.Check
			for _, c := range cs {
				switch c.Name {
				case "memory_growth_under_10_percent":
					growth = c
				case "memory_leak_detection":
					leak = c
				}
			}
			if growth.Status != tc.want {
				t.Errorf("memory_growth_under_10_percent = %s (%s); want %s (the leak check: %s)", growth.Status, growth.Evidence, tc.want, leak.Status)
			}
			for _, w := range tc.evidence {
				if !strings.Contains(growth.Evidence, w) {
					t.Errorf("memory_growth_under_10_percent evidence %q; want it to contain %q", growth.Evidence, w)
				}
			}
			if strings.Contains(growth.Evidence, "30m") || strings.Contains(growth.Evidence, "projected to") {
				t.Errorf("memory_growth_under_10_percent evidence %q projects beyond the 54 s measured", growth.Evidence)
			}
			if growth.Rule == nil || growth.Rule.Holds(growth.Observed) != (growth.Status == results.Pass) {
				t.Errorf("memory_growth_under_10_percent = %s with rule %v on %g: status and figure disagree", growth.Status, growth.Rule, growth.Observed)
			}
		})
	}
}
