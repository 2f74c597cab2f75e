package memory

import (
	"fmt"
	"math"
	"strconv"

	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
	"github.com/goldenpath-dev/goldenpath/internal/trend"
)

// cyclesOf reads the per-cycle memory back from a scenario's counters.
func cyclesOf(sc *results.Scenario) (xs, ys, secs []float64) {
	for i := 0; ; i++ {
		v, ok := sc.Metrics.Counters[counterCycleRSS+strconv.Itoa(i)]
		if !ok {
			return
		}
		xs = append(xs, float64(i))
		ys = append(ys, float64(v))
		secs = append(secs, float64(sc.Metrics.Counters[counterCycleSecs+strconv.Itoa(i)])/1000)
	}
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
		case sc.Metrics.Counters[counterRaceBuild] > 0:
			c.Status, c.Evidence = results.Skip, "the target runs with Go's race detector (--race-detector), which multiplies its memory: memory checks never run on a race build"
		case sc.Metrics.Counters[counterNoMonitor] > 0:
			c.Status, c.Evidence = results.Skip, "the target's memory cannot be watched: it is not goldenpath's child process and has no /metrics endpoint"
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
			if v.N < 6 {
				return results.Skip, ev + " (fewer than 6 cycles cannot be judged)"
			}
			if n := sc.Metrics.Counters[counterCountsOff]; n > 0 {
				return results.Fail, ev + fmt.Sprintf("; in %d cycles goroutines, connections or file descriptors did not come back to baseline: %s", n, suite.FirstSample(sc, "counts_not_back"))
			}
			return suite.Verdict(!v.Leak), ev
		}
	}
	return []results.Check{
		chk("memory_usage_bounded_under_load", j, func(sc *results.Scenario, c *results.Check) (string, string) {
			p := float64(sc.Metrics.Counters[counterPeakRSS])
			figures(c, &results.Rule{Metric: metricRSS, Stat: "peak", Op: "<", Limit: suite.MemoryBound, Unit: results.UnitBytes}, p, 0)
			return suite.Verdict(p > 0 && p < suite.MemoryBound), fmt.Sprintf("peak RSS of the target under load %s (limit %s)", suite.FormatMiB(p), suite.FormatMiB(suite.MemoryBound))
		}),
		chk("startup_memory_baseline", j, func(sc *results.Scenario, c *results.Check) (string, string) {
			s := float64(sc.Metrics.Counters[counterStartupRSS])
			figures(c, &results.Rule{Metric: metricRSS, Stat: "startup", Op: "<", Limit: StartupBound, Unit: results.UnitBytes}, s, 0)
			return suite.Verdict(s > 0 && s < StartupBound), fmt.Sprintf("RSS of the target at the start of the run %s (limit %s)", suite.FormatMiB(s), suite.FormatMiB(StartupBound))
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
	// statProjectedGrowth is the growth over GrowthHorizon that the lower
	// bound of the memory's slope in time projects, as a share of the
	// first cycle's memory.
	statProjectedGrowth = "projected_growth"
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

// judgeGrowth projects the memory slope over cycles to GrowthHorizon.
func judgeGrowth(sc *results.Scenario, c *results.Check) (string, string) {
	_, ys, secs := cyclesOf(sc)
	rule := &results.Rule{Metric: metricRSS, Stat: statProjectedGrowth, Op: "<", Limit: GrowthBound, Unit: results.UnitRatio}
	if len(ys) < 3 || secs[len(secs)-1] <= 0 {
		figures(c, rule, math.NaN(), len(ys))
		return results.Skip, "too few cycles to project growth"
	}
	slope, _, lo, hi := trend.TheilSen(secs, ys, 1-LeakAlpha)
	base := ys[0]
	figures(c, rule, monitor.Projected(lo, GrowthHorizon)/base, len(ys))
	proj := monitor.Projected(slope, GrowthHorizon)
	frac := proj / base
	ev := fmt.Sprintf("memory slope %s/min [%.0f%% CI %s, %s] over %d cycles in %.0fs, projected to %s: %+.1f%% of the %s baseline (limit %.0f%%)",
		suite.FormatMiB(slope*60), (1-LeakAlpha)*100, suite.FormatMiB(lo*60), suite.FormatMiB(hi*60), len(ys), secs[len(secs)-1], GrowthHorizon, frac*100, suite.FormatMiB(base), GrowthBound*100)
	// A short soak cannot tell settling (caches filling, pools warming)
	// from a leak by its slope alone: growth fails only when the leak test
	// finds a trend beyond its floor AND even the slope's lower bound
	// projects past the limit. Noise and settling must not cry wolf.
	if v := leakOf(sc); !v.Leak {
		return results.Pass, ev + "; the trend is within the settling floor of the leak test (" + v.Reason + ")"
	}
	return suite.Verdict(monitor.Projected(lo, GrowthHorizon)/base < GrowthBound), ev
}

// judgeReturn: after each burst the idle memory comes back to the level of
// the first cycle (allowing returnSlack or 10%); Go and most runtimes keep
// freed pages for reuse, so "back near baseline" is judged against the
// first cycle's idle memory, not the process start.
func judgeReturn(sc *results.Scenario, c *results.Check) (string, string) {
	_, ys, _ := cyclesOf(sc)
	if len(ys) < 2 {
		return results.Skip, "too few cycles"
	}
	first, last := ys[0], ys[len(ys)-1]
	peak := float64(sc.Metrics.Counters[counterPeakRSS])
	slack := math.Max(returnSlack, 0.1*first)
	figures(c, &results.Rule{Metric: metricRSS, Stat: statIdleRise, Op: "<=", Limit: slack, Unit: results.UnitBytes}, last-first, len(ys))
	ev := fmt.Sprintf("idle memory after the first cycle %s, after the last %s (peak under load %s; allowed above the first: %s)", suite.FormatMiB(first), suite.FormatMiB(last), suite.FormatMiB(peak), suite.FormatMiB(slack))
	return suite.Verdict(last-first <= slack), ev
}
