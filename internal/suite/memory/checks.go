package memory

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
	"github.com/goldenpath-dev/goldenpath/internal/trend"
)

// cyclesOf reads the per-cycle memory back from a scenario's counters: the
// cycle (from 0), the idle memory and the seconds since the first burst of
// each cycle that has a reading. A cycle without one is left out, never
// read as 0.
func cyclesOf(sc *results.Scenario) (xs, ys, secs []float64) {
	c := sc.Metrics.Counters
	n, counted := c[counterCyclesRun]
	for i := 0; !counted || i < int(n); i++ {
		v, ok := c[counterCycleRSS+strconv.Itoa(i)]
		if !ok {
			if !counted { // results written before the cycles were counted
				return
			}
			continue
		}
		xs = append(xs, float64(i))
		ys = append(ys, float64(v))
		secs = append(secs, float64(c[counterCycleSecs+strconv.Itoa(i)])/1000)
	}
	return
}

// cyclesRun returns how many cycles of sc ran to their idle reading, with
// or without one.
func cyclesRun(sc *results.Scenario) int {
	if n, ok := sc.Metrics.Counters[counterCyclesRun]; ok {
		return int(n)
	}
	xs, _, _ := cyclesOf(sc)
	return len(xs)
}

// insufficient is the evidence of a check that has fewer idle readings
// than it needs: "insufficient evidence: memory read in 3 of 10 cycles
// (a trend needs at least 6)".
func insufficient(sc *results.Scenario, have, need int, what string) string {
	return fmt.Sprintf("insufficient evidence: memory read in %d of %d cycles (%s needs at least %d)", have, cyclesRun(sc), what, need)
}

// from says where a scenario's memory readings came from.
func from(sc *results.Scenario) string {
	if sc.Metrics.Counters[counterFromMetrics] > 0 {
		return "its /metrics " + monitor.MetricResident
	}
	return "its process"
}

func leakOf(sc *results.Scenario) monitor.Verdict {
	xs, ys, _ := cyclesOf(sc)
	ops := float64(sc.Metrics.Counters[counterOpsPerCycle])
	floor := math.Max(leakFloorMin, leakFloorPerOp*ops)
	return monitor.LeakVerdict(xs, ys, LeakAlpha, floor)
}

func memoryChecks(scs []results.Scenario, _ suite.SLA) []results.Check {
	j := suite.Find(scs, scMemJourneys)
	chk := func(name string, sc *results.Scenario, judge func(*results.Scenario, *results.Check) (string, string)) results.Check {
		c := results.Check{Suite: Name, Name: name}
		switch {
		case sc == nil:
			c.Status, c.Evidence = results.Skip, "its scenario did not run"
		case sc.Unmeasured[unmeasuredWorkload] != "":
			c.Scenario = sc.Name
			c.Status, c.Evidence = results.Skip, sc.Unmeasured[unmeasuredWorkload]
		case sc.Metrics.Counters[counterRaceBuild] > 0:
			c.Status, c.Evidence = results.Skip, "the target runs with Go's race detector (--race-detector), which multiplies its memory: memory checks never run on a race build"
		case sc.Metrics.Counters[counterNoMonitor] > 0:
			c.Status, c.Evidence = results.Skip, "the target has no memory source: it is not goldenpath's child process and has no /metrics endpoint"
		case sc.Metrics.Counters[counterNoSource] > 0:
			c.Status, c.Evidence = results.Skip, "the target has no memory source: it is not goldenpath's child process, and its /metrics has no "+monitor.MetricResident
		case interrupted(sc):
			c.Scenario = sc.Name
			c.Status, c.Evidence = results.Skip, fmt.Sprintf("not judged: the run was interrupted after %d of %d cycles", cyclesRun(sc), sc.Metrics.Counters[counterCyclesPlan])
		default:
			c.Scenario = sc.Name
			c.Status, c.Evidence = judge(sc, &c)
			if bad := workloadFailed(sc); bad != "" {
				// A pass would rest on nothing; a skip stays a skip.
				if c.Status == results.Pass {
					c.Status = results.Fail
				}
				c.Evidence = bad + "; " + c.Evidence
			}
		}
		return c
	}
	leak := func(what string) func(*results.Scenario, *results.Check) (string, string) {
		return func(sc *results.Scenario, c *results.Check) (string, string) {
			v := leakOf(sc)
			figures(c, &results.Rule{Metric: metricRSS, Stat: statSlopeLo, Op: "<=", Limit: v.Floor, Unit: unitPerCycle}, v.Lo, v.N)
			ev := fmt.Sprintf("%s, %d per cycle: %s", what, sc.Metrics.Counters[counterOpsPerCycle], v.Reason)
			if n := sc.Metrics.Counters[counterCountsOff]; n > 0 {
				return results.Fail, ev + fmt.Sprintf("; in %d cycles goroutines, connections or file descriptors did not come back to baseline: %s", n, suite.FirstSample(sc, "counts_not_back"))
			}
			if v.N < minTrendReadings || math.IsInf(v.Lo, 0) || math.IsNaN(v.Lo) {
				return results.Fail, insufficient(sc, v.N, minTrendReadings, "a trend") + "; " + ev
			}
			return suite.Verdict(!v.Leak), ev
		}
	}
	return []results.Check{
		chk("memory_usage_bounded_under_load", j, judgePeak),
		chk("startup_memory_baseline", j, func(sc *results.Scenario, c *results.Check) (string, string) {
			rule := &results.Rule{Metric: metricRSS, Stat: "startup", Op: "<", Limit: StartupBound, Unit: results.UnitBytes}
			v, ok := sc.Metrics.Counters[counterStartupRSS]
			if !ok {
				figures(c, rule, math.NaN(), 0)
				return results.Fail, "insufficient evidence: no reading of the target's memory was taken before the load"
			}
			s := float64(v)
			figures(c, rule, s, 1)
			return suite.Verdict(s < StartupBound), fmt.Sprintf("RSS of the target at the start of the run %s, from %s (limit %s)", suite.FormatMiB(s), from(sc), suite.FormatMiB(StartupBound))
		}),
		chk("memory_growth_under_10_percent", j, judgeGrowth),
		chk("memory_leak_detection", j, leak("full golden-path journeys")),
		chk("garbage_collection_efficiency", j, judgeReturn),
		chk("websocket_connection_memory_cleanup", suite.Find(scs, scMemConns), leak("WebSocket connections opened and closed")),
		chk("agent_execution_memory_isolation", suite.Find(scs, scMemRuns), leak("agent runs")),
		chk("configuration_cache_memory_bounds", suite.Find(scs, scMemConfig), leak("config reads and admin updates")),
		chk("database_connection_memory_management", suite.Find(scs, scMemDB), leak("thread writes and reads")),
	}
}

// The figures of the memory checks' rules: the target's resident memory,
// and the statistics of it they judge.
const (
	metricRSS = "rss"
	// statSlopeLo is the lower confidence bound (at 1-LeakAlpha) of the
	// Theil-Sen slope of the idle memory over cycles, in unitPerCycle.
	statSlopeLo = "slope_lo"
	// statGrowthLo is the growth of the idle memory from the first cycle
	// to the last that the lower confidence bound (at 1-LeakAlpha) of its
	// Theil-Sen slope in time gives, as a share of the first cycle's.
	statGrowthLo = "growth_lo"
	// statIdleRise is how far the idle memory after the last cycle is
	// above that after the first, in bytes.
	statIdleRise = "idle_rise"
	unitPerCycle = "bytes/cycle"
)

// figures sets a check's rule, its observed figure (left 0 when it is not
// a finite number: too few cycles to bound a slope) and the count of
// cycles (or readings) it is of.
func figures(c *results.Check, rule *results.Rule, observed float64, n int) {
	c.Rule, c.Unit, c.Samples = rule, rule.Unit, int64(n)
	if !math.IsInf(observed, 0) && !math.IsNaN(observed) {
		c.Observed = observed
	}
}

// interrupted reports whether sc's cycles were cut short: fewer ran than
// were planned.
func interrupted(sc *results.Scenario) bool {
	plan, ok := sc.Metrics.Counters[counterCyclesPlan]
	return ok && int64(cyclesRun(sc)) < plan
}

// judgePeak: the highest of the readings taken while the bursts ran (the
// monitor's and the suite's own, every burstSampleEvery) stays under
// suite.MemoryBound; it needs minLoadReadings of them.
func judgePeak(sc *results.Scenario, c *results.Check) (string, string) {
	rule := &results.Rule{Metric: metricRSS, Stat: "peak", Op: "<", Limit: suite.MemoryBound, Unit: results.UnitBytes}
	cs := sc.Metrics.Counters
	p, hasPeak := cs[counterPeakRSS]
	n, counted := cs[counterLoadRSS]
	if !counted && hasPeak {
		n = minLoadReadings // results written before the readings were counted
	}
	if !hasPeak || n < minLoadReadings {
		figures(c, rule, math.NaN(), int(n))
		return results.Fail, fmt.Sprintf("insufficient evidence: %d readings of the target's memory while the bursts ran (a peak needs at least %d)", n, minLoadReadings)
	}
	figures(c, rule, float64(p), int(n))
	return suite.Verdict(float64(p) < suite.MemoryBound), fmt.Sprintf("peak RSS of the target under load %s, the highest of %d readings from %s while the bursts ran (limit %s)",
		suite.FormatMiB(float64(p)), n, from(sc), suite.FormatMiB(suite.MemoryBound))
}

// workloadFailed says how a memory scenario's workload failed when more
// than maxFailedShare of its operations failed, or none ran: memory
// measured under a load that did not happen proves nothing, and must not
// pass. It returns "" when the workload ran.
func workloadFailed(sc *results.Scenario) string {
	c := sc.Metrics.Counters
	done, failed := c[counterOpsDone], c[counterOpsFailed]
	switch {
	case done == 0:
		return "the workload did not run: no operation was attempted, so the memory under it proves nothing"
	case float64(failed) > maxFailedShare*float64(done):
		return fmt.Sprintf("the workload failed: %d of %d operations failed (more than %.0f%%; e.g. %s), so the memory under it proves nothing",
			failed, done, maxFailedShare*100, suite.FirstSample(sc, "workload_failed"))
	}
	return ""
}

// judgeGrowth judges how much the idle memory grew over the cycles
// measured, from the first cycle to the last: the Theil-Sen slope of the
// idle readings in time, times the span they cover, as a share of the
// first cycle's memory. Its own statistic, whatever the leak test says,
// and never projected past the span measured. The verdict rests on the
// slope's lower confidence bound, so noise and settling in a short soak
// do not cry wolf; the evidence gives the estimate and its interval.
func judgeGrowth(sc *results.Scenario, c *results.Check) (string, string) {
	_, ys, secs := cyclesOf(sc)
	rule := &results.Rule{Metric: metricRSS, Stat: statGrowthLo, Op: "<", Limit: GrowthBound, Unit: results.UnitRatio}
	if len(ys) < minTrendReadings || secs[len(secs)-1] <= secs[0] {
		figures(c, rule, math.NaN(), len(ys))
		return results.Fail, insufficient(sc, len(ys), minTrendReadings, "a growth figure")
	}
	slope, _, lo, hi := trend.TheilSen(secs, ys, 1-LeakAlpha)
	span := secs[len(secs)-1] - secs[0]
	base := ys[0]
	growth, growthLo, growthHi := slope*span/base, lo*span/base, hi*span/base
	figures(c, rule, growthLo, len(ys))
	ev := fmt.Sprintf("idle memory grew %+.1f%% [%.0f%% CI %+.1f%%, %+.1f%%] over the %s from cycle 1 to cycle %d, of the %s of cycle 1 "+
		"(limit %.0f%%, judged on the interval's lower bound; Theil-Sen slope %s/min over %d idle readings)",
		growth*100, (1-LeakAlpha)*100, growthLo*100, growthHi*100, time.Duration(span*float64(time.Second)).Round(time.Second), len(ys),
		suite.FormatMiB(base), GrowthBound*100, suite.FormatMiB(slope*60), len(ys))
	return suite.Verdict(growthLo < GrowthBound), ev
}

// judgeReturn: after each burst the idle memory comes back to the level of
// the first cycle (allowing returnSlack or 10%); Go and most runtimes keep
// freed pages for reuse, so "back near baseline" is judged against the
// first cycle's idle memory, not the process start.
func judgeReturn(sc *results.Scenario, c *results.Check) (string, string) {
	xs, ys, _ := cyclesOf(sc)
	rule := &results.Rule{Metric: metricRSS, Stat: statIdleRise, Op: "<=", Limit: returnSlack, Unit: results.UnitBytes}
	if len(ys) < 2 {
		figures(c, rule, math.NaN(), len(ys))
		return results.Fail, insufficient(sc, len(ys), 2, "a return to baseline")
	}
	first, last := ys[0], ys[len(ys)-1]
	rule.Limit = math.Max(returnSlack, 0.1*first)
	figures(c, rule, last-first, len(ys))
	underLoad := ""
	if p, ok := sc.Metrics.Counters[counterPeakRSS]; ok {
		underLoad = "; peak under load " + suite.FormatMiB(float64(p))
	}
	ev := fmt.Sprintf("idle memory after cycle %d %s, after cycle %d %s (from %s%s; allowed above the first: %s)",
		int(xs[0])+1, suite.FormatMiB(first), int(xs[len(xs)-1])+1, suite.FormatMiB(last), from(sc), underLoad, suite.FormatMiB(rule.Limit))
	return suite.Verdict(last-first <= rule.Limit), ev
}
