package metrics_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
)

// Two load generators record into their own sets; a coordinator merges their
// snapshots, which travel as JSON, and reports the whole.
func Example() {
	start := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	clock := func() time.Time { return start } // a fake clock: everything in second 0
	newSet := func() *metrics.Set {
		return metrics.NewSet(metrics.WithNow(clock), metrics.WithSeries(start), metrics.WithSeriesHistograms("journey"))
	}

	a, b := newSet(), newSet()
	for i := 1; i <= 100; i++ {
		a.Record("journey", time.Duration(i)*time.Millisecond)
		b.Record("journey", time.Duration(100+i)*time.Millisecond)
	}
	a.Add("errors", 1)
	b.Add("errors", 2)

	total := metrics.NewSet(metrics.WithNow(clock), metrics.WithSeries(start))
	for _, s := range []*metrics.Set{a, b} {
		data, err := json.Marshal(s.Snapshot())
		if err != nil {
			panic(err)
		}
		var snap metrics.Snapshot
		if err := json.Unmarshal(data, &snap); err != nil {
			panic(err)
		}
		if err := total.Merge(snap); err != nil {
			panic(err)
		}
	}

	snap := total.Snapshot()
	sum := snap.Summaries()["journey"]
	fmt.Printf("journeys %d: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", sum.Count, sum.P50, sum.P99, sum.Max)
	fmt.Printf("errors %d\n", snap.Counters["errors"])
	pt := snap.Series[0]
	fmt.Printf("second %d from %s: %d journeys, p95 %.0f ms\n",
		pt.Second, snap.SeriesStart.Format(time.TimeOnly), pt.Latency["journey"].Count, pt.Latency["journey"].P95)
	// Output:
	// journeys 200: p50 100.0 ms, p99 198.0 ms, max 200.0 ms
	// errors 3
	// second 0 from 15:04:05: 200 journeys, p95 191 ms
}
