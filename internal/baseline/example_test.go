package baseline_test

import (
	"fmt"

	"github.com/goldenpath-dev/goldenpath/internal/baseline"
)

// Six rounds a side: the database operations got 30% slower (3 ms), the
// journey did not change, the server's own database time rose by 60% but
// by 0.15 ms only (under the 1 ms floor), and throughput rose by 5%
// (significant, but within its threshold).
func ExampleCompareSamples() {
	old := map[string][]float64{
		"db_operation.p50": {10.0, 10.2, 9.8, 10.1, 9.9, 10.0},
		"server_db.p50":    {0.25, 0.26, 0.24, 0.25, 0.25, 0.25},
		"journey.p50":      {210, 212, 208, 211, 209, 210},
		"throughput":       {40, 40.2, 39.8, 40.1, 39.9, 40},
	}
	new := map[string][]float64{
		"db_operation.p50": {13.0, 13.1, 12.9, 13.2, 12.8, 13.0},
		"server_db.p50":    {0.40, 0.41, 0.39, 0.40, 0.40, 0.40},
		"journey.p50":      {211, 209, 210, 212, 208, 210},
		"throughput":       {42, 42.2, 41.8, 42.1, 41.9, 42},
	}
	for _, r := range baseline.CompareSamples(old, new, baseline.DefaultThresholds) {
		fmt.Printf("%-16s %-7s %s\n", r.Name, r.DeltaString(), r.Verdict)
	}
	// Output:
	// journey.p50      ~       ~
	// db_operation.p50 +30.0%  REGRESSION
	// server_db.p50    +60.0%  ~
	// throughput       +5.0%   ~
}
