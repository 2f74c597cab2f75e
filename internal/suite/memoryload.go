package suite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// MemoryBound is the most the target's peak resident memory may reach
// under load (the seed's): the load suite's memory_usage_under_load and the
// memory suite's memory_usage_bounded_under_load judge it.
const MemoryBound = 2 << 30

// Counters of the target's memory kept per scenario, beside
// [CounterTargetPeakRSS].
const (
	// CounterTargetMemoryWatched is 1 when the target has a memory source —
	// its process by PID, or process_resident_memory_bytes on its /metrics
	// ([monitor.FieldResident]) — whether or not a reading fell within the
	// scenario.
	CounterTargetMemoryWatched = "target_memory_watched"
	// CounterTargetRSSReadings counts the readings of the target's resident
	// memory taken while the scenario ran, of which CounterTargetPeakRSS is
	// the highest.
	CounterTargetRSSReadings = "target_rss_readings"
	// CounterTargetRSSFromMetrics is 1 when those readings came from the
	// target's /metrics rather than its process (a target reached by URL).
	CounterTargetRSSFromMetrics = "target_rss_from_metrics"
)

// minLoadRSSReadings is the evidence memory_usage_under_load needs: a
// reading of the target's memory for each load scenario, taken while it ran
// (the monitor reads once a second) or as its load ended.
const minLoadRSSReadings = 1

// recordTargetMemory records into set the target's resident memory as m
// read it from from to to, and in one more sample taken now, as the load
// ends (a scenario shorter than the monitor's interval, such as a burst,
// may hold no sample of the loop): how many readings, the highest, and
// where they came from. It records nothing when the target has no memory
// source (m has never read its resident memory), so that the check can
// tell "not watched" from "watched, but not read".
func recordTargetMemory(ctx context.Context, m *monitor.Monitor, set *metrics.Set, from, to time.Time) {
	end := m.SampleNow(ctx)
	if _, ok := m.Peak(monitor.FieldResident); !ok {
		return
	}
	set.Add(CounterTargetMemoryWatched, 1)
	var n int64
	var peak float64
	fromMetrics := false
	for _, s := range append(m.Window(from, to), end) {
		v, src, ok := s.Resident()
		if !ok {
			continue
		}
		n++
		peak = max(peak, v)
		fromMetrics = fromMetrics || src == monitor.ResidentFromMetrics
	}
	set.Add(CounterTargetRSSReadings, n)
	if n > 0 {
		set.Add(CounterTargetPeakRSS, int64(peak))
	}
	if fromMetrics {
		set.Add(CounterTargetRSSFromMetrics, 1)
	}
}

// memoryUnderLoad reports the target's peak memory at each step of users
// and how it grows with them. A step whose scenario ran with the target
// watched but without a reading of its memory fails for want of evidence;
// a target with no memory source skips the check, saying so.
func memoryUnderLoad(scs []results.Scenario) results.Check {
	c := results.Check{Suite: Load, Name: "memory_usage_under_load", Status: results.Pass}
	rule := &results.Rule{Metric: "rss", Stat: "peak", Op: "<", Limit: MemoryBound, Unit: results.UnitBytes}
	var parts, unread, ran []string
	var firstU, lastU int
	var firstM, lastM float64
	fromMetrics := false
	for _, name := range []string{scenarioUsers5, scenarioUsers10, scenarioUsers15, scenarioBurst} {
		sc := Find(scs, name)
		if sc == nil {
			continue
		}
		ran = append(ran, name)
		cs := sc.Metrics.Counters
		v, hasPeak := cs[CounterTargetPeakRSS]
		n, counted := cs[CounterTargetRSSReadings]
		if !counted && hasPeak {
			n = 1 // results written before the readings were counted
		}
		if cs[CounterTargetMemoryWatched] == 0 && !hasPeak {
			continue // the target has no memory source
		}
		if !hasPeak || n < minLoadRSSReadings {
			unread = append(unread, name)
			continue
		}
		fromMetrics = fromMetrics || cs[CounterTargetRSSFromMetrics] > 0
		m := float64(v)
		parts = append(parts, fmt.Sprintf("%d users: %s", sc.Users, FormatMiB(m)))
		if firstU == 0 {
			firstU, firstM = sc.Users, m
		}
		lastU, lastM = sc.Users, m
		c.Observed, c.Samples = max(c.Observed, m), c.Samples+n
		if m >= MemoryBound {
			c.Status = results.Fail
		}
	}
	switch {
	case len(ran) == 0:
		c.Status, c.Evidence = results.Skip, "its scenarios did not run"
		return c
	case len(parts) == 0 && len(unread) == 0:
		c.Status = results.Skip
		c.Evidence = "the target has no memory source: it is not goldenpath's child process, and its /metrics is missing or has no " + monitor.MetricResident
		return c
	}
	c.Rule, c.Unit = rule, rule.Unit
	if len(unread) > 0 {
		c.Status = results.Fail
		c.Evidence = fmt.Sprintf("insufficient evidence: no reading of the target's memory while %s ran or as its load ended (%d of %d load scenarios read; at least %d reading each needed)",
			strings.Join(unread, ", "), len(parts), len(parts)+len(unread), minLoadRSSReadings)
		if len(parts) > 0 {
			c.Evidence += "; peak RSS of the others: " + strings.Join(parts, ", ")
		}
		return c
	}
	from := "its process"
	if fromMetrics {
		from = "its /metrics " + monitor.MetricResident
	}
	c.Evidence = fmt.Sprintf("peak RSS of the target (from %s, %d readings): %s (limit %s)", from, c.Samples, strings.Join(parts, ", "), FormatMiB(MemoryBound))
	if lastU > firstU {
		c.Evidence += fmt.Sprintf("; about %s more per added user", FormatMiB((lastM-firstM)/float64(lastU-firstU)))
	}
	return c
}
