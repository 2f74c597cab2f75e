// Package memory is the memory suite: the target's memory (never
// goldenpath's), bounded, returning after load, and not leaking, judged
// over cycles of burst -> drain -> idle -> sample with statistics that do
// not cry wolf (Mann-Kendall and Theil-Sen, [monitor.LeakVerdict]). Each
// workload — full journeys, agent runs, WebSocket connections, config
// reads and writes, thread writes and reads — has a scenario of its own.
//
// The suite needs the target watched ([suite.Env].Monitor) and skips
// every check on a race-built target, whose memory is not its own.
package memory

import (
	"context"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// Name is the memory suite's name.
const Name = "memory"

// Memory thresholds (the seed's); the bound of the peak under load is
// [suite.MemoryBound].
const (
	StartupBound       = 512 << 20 // RSS at startup
	GrowthBound        = 0.10      // projected growth over GrowthHorizon, of the baseline
	GrowthHorizon      = 30 * time.Minute
	LeakAlpha          = 0.01
	leakFloorPerOp     = 8 << 10   // bytes per operation per cycle: half the smallest leak worth catching (16 KiB)
	leakFloorMin       = 512 << 10 // bytes per cycle
	returnSlack        = 32 << 20  // how far idle memory may sit above the first cycle's
	settleWait         = 5 * time.Second
	memoryCycles       = 10
	memoryMinorCycles  = 6
	memoryIdle         = 500 * time.Millisecond
	warmupCycles       = 2
	counterCycleRSS    = "cycle_rss_"
	counterCycleSecs   = "cycle_seconds_"
	counterOpsPerCycle = "ops_per_cycle"
	counterBaseGor     = "baseline_goroutines"
	counterBaseConns   = "baseline_connections"
	counterBaseFDs     = "baseline_fds"
	counterCountsOff   = "counts_not_back"
	counterPeakRSS     = "peak_rss"
	counterStartupRSS  = "startup_rss"
	counterNoMonitor   = "no_monitor"
	counterRaceBuild   = "race_build"
	counterOpsDone     = "workload_ops"        // operations of the cycles' workload, warm-up included
	counterOpsFailed   = "workload_ops_failed" // of which failed
	maxFailedShare     = 0.01                  // beyond this share of failed operations the memory proves nothing
)

// Memory scenarios, one per workload.
const (
	scMemJourneys = "memory_cycles_journeys"
	scMemRuns     = "memory_cycles_agent_runs"
	scMemConns    = "memory_cycles_connections"
	scMemConfig   = "memory_cycles_config"
	scMemDB       = "memory_cycles_database"
)

// Suite is the memory suite.
func Suite() suite.Suite { return suite.Suite{Name: Name, Run: runMemory, Checks: memoryChecks} }

// counts are the resources that must come back to baseline exactly.
type counts struct{ goroutines, conns, fds float64 }

// above reports whether any count exceeds the baseline's: a resource not
// given back. Fewer than at baseline is fine (an idle keep-alive closed).
func (c counts) above(base counts) bool {
	return c.goroutines > base.goroutines || c.conns > base.conns || c.fds > base.fds
}

func countsOf(s monitor.Sample) counts {
	c := counts{goroutines: s.Metrics["go_goroutines"], conns: s.Metrics[protocol.MetricActiveConnections], fds: s.Metrics["process_open_fds"]}
	if s.HasProc {
		c.fds = float64(s.FDs)
	}
	return c
}

func runMemory(ctx context.Context, e *suite.Env, add func(results.Scenario)) (bool, error) {
	if e.Monitor == nil || e.RaceBuild {
		set := metrics.NewSet()
		if e.RaceBuild {
			set.Add(counterRaceBuild, 1)
		} else {
			set.Add(counterNoMonitor, 1)
		}
		for _, n := range []string{scMemJourneys, scMemRuns, scMemConns, scMemConfig, scMemDB} {
			add(results.Scenario{Name: n, Suite: Name, Model: "cycles", Metrics: set.Snapshot()})
		}
		return false, nil
	}
	rt := e.ShortRunTimeout()
	users := max(10, min(e.Users*2, 20))
	workloads := []struct {
		name   string
		cycles int
		ops    int
		run    func(context.Context, *tally) error
	}{
		{scMemJourneys, memoryCycles, 200, func(ctx context.Context, t *tally) error {
			return e.Quiet(ctx, load.Plan{Model: load.Closed, Users: users, Iterations: 200}, journey.Options{RunTimeout: rt, ConfigAccess: true, DBOps: true}, t.add)
		}},
		{scMemRuns, memoryMinorCycles, 200, func(ctx context.Context, t *tally) error {
			return e.Quiet(ctx, load.Plan{Model: load.Closed, Users: users, Iterations: 50}, journey.Options{RunTimeout: rt, Messages: 4}, t.add)
		}},
		{scMemConns, memoryMinorCycles, 200, func(ctx context.Context, t *tally) error { return connectionBurst(ctx, e, t, users, 200) }},
		{scMemConfig, memoryMinorCycles, 400, func(ctx context.Context, t *tally) error { return configBurst(ctx, e, t, 400) }},
		{scMemDB, memoryMinorCycles, 300, func(ctx context.Context, t *tally) error { return dbBurst(ctx, e, t, users, 100) }},
	}
	for _, w := range workloads {
		sc, err := runCycles(ctx, e, w.name, w.cycles, w.ops, w.run)
		if err != nil {
			return false, err
		}
		add(sc)
		if ctx.Err() != nil {
			return true, nil
		}
	}
	return false, nil
}

// settle closes our idle connections, waits memoryIdle, and samples; then,
// while the counts differ from want, samples again until settleWait.
func settle(ctx context.Context, e *suite.Env, want *counts) monitor.Sample {
	e.Target.HTTP.CloseIdleConnections()
	sleep(ctx, memoryIdle)
	s := quietSample(ctx, e)
	deadline := time.Now().Add(settleWait)
	for want != nil && countsOf(s).above(*want) && time.Now().Before(deadline) && ctx.Err() == nil {
		sleep(ctx, 100*time.Millisecond)
		s = quietSample(ctx, e)
	}
	return s
}

// quietSample takes three samples 100 ms apart and keeps, for each count,
// the least: a goroutine or descriptor of a request in flight (the scrape
// itself, a connection still closing) only ever adds.
func quietSample(ctx context.Context, e *suite.Env) monitor.Sample {
	s := e.Monitor.SampleNow(ctx)
	s.Metrics = maps.Clone(s.Metrics) // the series keeps the original
	for range 2 {
		sleep(ctx, 100*time.Millisecond)
		t := e.Monitor.SampleNow(ctx)
		for _, k := range []string{"go_goroutines", protocol.MetricActiveConnections, "process_open_fds"} {
			if v, ok := t.Metrics[k]; ok && v < s.Metrics[k] {
				s.Metrics[k] = v
			}
		}
		if t.HasProc && t.FDs < s.FDs {
			s.FDs = t.FDs
		}
		s.RSS, s.T = t.RSS, t.T
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// runCycles runs the warm-up cycles, takes the baseline counts, then
// runs n cycles of burst -> drain -> idle -> sample.
func runCycles(ctx context.Context, e *suite.Env, name string, n, ops int, run func(context.Context, *tally) error) (results.Scenario, error) {
	start := time.Now()
	set := metrics.NewSet()
	var samples []results.Sample
	var work tally
	burst := func(ctx context.Context) error { return run(ctx, &work) }
	if series := e.Monitor.Series(); len(series) > 0 {
		set.Add(counterStartupRSS, int64(suite.RSS(series[0]))) // the first sample: taken before any load
	}
	for range warmupCycles { // pools, caches and lazily started goroutines settle first
		if err := burst(ctx); err != nil {
			return results.Scenario{}, err
		}
	}
	// The baseline is the highest count of a few quiet samples: a single
	// low reading (a keep-alive just closed) would make later cycles,
	// which are judged on their lowest reading, look like leaks.
	base := settle(ctx, e, nil)
	bc := countsOf(base)
	for range 2 {
		sleep(ctx, 200*time.Millisecond)
		c := countsOf(e.Monitor.SampleNow(ctx))
		bc = counts{goroutines: max(bc.goroutines, c.goroutines), conns: max(bc.conns, c.conns), fds: max(bc.fds, c.fds)}
	}
	set.Add(counterBaseGor, int64(bc.goroutines))
	set.Add(counterBaseConns, int64(bc.conns))
	set.Add(counterBaseFDs, int64(bc.fds))
	set.Add(counterOpsPerCycle, int64(ops))
	t0 := time.Now()
	offCycles := 0 // cycles whose counts did not come back
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		if err := burst(ctx); err != nil {
			return results.Scenario{}, err
		}
		// Once the counts have stayed up in two cycles the check has failed;
		// later cycles need not wait the settle time for them again (a
		// target that never gives connections back would pay it each cycle).
		want := &bc
		if offCycles >= 2 {
			want = nil
		}
		drained := time.Now()
		s := settle(ctx, e, want)
		set.Add(counterCycleRSS+strconv.Itoa(i), int64(suite.RSS(s)))
		set.Add(counterCycleSecs+strconv.Itoa(i), int64(s.T.Sub(t0)/time.Millisecond))
		if c := countsOf(s); c.above(bc) {
			offCycles++
			set.Add(counterCountsOff, 1)
			if len(samples) < suite.MaxSamples {
				samples = append(samples, results.Sample{Kind: "counts_not_back", Detail: fmt.Sprintf("cycle %d, %s after the burst: goroutines %g (baseline %g), connections %g (%g), fds %g (%g)",
					i+1, s.T.Sub(drained).Round(100*time.Millisecond), c.goroutines, bc.goroutines, c.conns, bc.conns, c.fds, bc.fds)})
			}
		}
	}
	if p, ok := monitor.PeakOf(e.Monitor.Window(start, time.Now()), monitor.FieldRSS); ok && p.HasProc {
		set.Add(counterPeakRSS, p.RSS)
	} else if v := suite.RSS(p); ok && !math.IsNaN(v) {
		set.Add(counterPeakRSS, int64(v))
	}
	set.Add(counterOpsDone, work.done)
	set.Add(counterOpsFailed, work.failed)
	if work.first != "" {
		samples = append(samples, results.Sample{Kind: "workload_failed", Detail: work.first})
	}
	sc := results.Scenario{Name: name, Suite: Name, Model: "cycles", DurationS: time.Since(start).Seconds(), Samples: samples, Metrics: set.Snapshot()}
	suite.Summarise(&sc)
	return sc, nil
}
