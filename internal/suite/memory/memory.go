// Package memory is the memory suite: the target's memory (never
// goldenpath's), bounded, returning after load, and not leaking, judged
// over cycles of burst -> drain -> idle -> sample with statistics that do
// not cry wolf (Mann-Kendall and Theil-Sen, [monitor.LeakVerdict]). Each
// workload — full journeys, agent runs, WebSocket connections, config
// reads and writes, thread writes and reads — has a scenario of its own.
//
// The suite needs a source of the target's memory ([suite.Env].Monitor
// reading its process, or process_resident_memory_bytes on its /metrics:
// [monitor.FieldResident]); without one every check skips, saying so, as
// on a race-built target, whose memory is not its own. A reading that
// could not be taken is missing, never 0: a check with fewer readings than
// it needs fails for insufficient evidence.
package memory

import (
	"context"
	"fmt"
	"maps"
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
	GrowthBound        = 0.10      // growth of the idle memory over the cycles measured, of the first cycle's
	LeakAlpha          = 0.01
	leakFloorPerOp     = 8 << 10   // bytes per operation per cycle: half the smallest leak worth catching (16 KiB)
	leakFloorMin       = 512 << 10 // bytes per cycle
	returnSlack        = 32 << 20  // how far idle memory may sit above the first cycle's
	settleWait         = 5 * time.Second
	memoryCycles       = 10
	memoryMinorCycles  = 6
	memoryIdle         = 500 * time.Millisecond
	warmupCycles       = 2
	burstSampleEvery   = 250 * time.Millisecond // the suite's own readings while a burst runs, beside the monitor's loop
	minTrendReadings   = 6                      // idle readings a trend needs: fewer can never be judged at LeakAlpha
	minLoadReadings    = 5                      // readings under load a peak needs
	counterCycleRSS    = "cycle_rss_"
	counterCycleSecs   = "cycle_seconds_"
	counterOpsPerCycle = "ops_per_cycle"
	counterBaseGor     = "baseline_goroutines"
	counterBaseConns   = "baseline_connections"
	counterBaseFDs     = "baseline_fds"
	counterCountsOff   = "counts_not_back"
	counterPeakRSS     = "peak_rss"
	counterLoadRSS     = "load_rss_readings" // readings of which peak_rss is the highest, taken while the bursts ran
	counterFromMetrics = "rss_from_metrics"  // 1: the readings came from the target's /metrics, not its process
	counterStartupRSS  = "startup_rss"
	counterCyclesPlan  = "cycles_planned"
	counterCyclesRun   = "cycles_run" // cycles that ran to their idle reading (or lack of one)
	counterNoMonitor   = "no_monitor"
	counterNoSource    = "no_memory_source" // watched, but no reading of the target's resident memory
	counterRaceBuild   = "race_build"
	unmeasuredWorkload = "workload"            // Scenario.Unmeasured: why the workload did not run on this profile
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
func Suite() suite.Suite {
	return suite.Suite{Name: Name, Run: runMemory, Checks: memoryChecks, FirstSegment: true}
}

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
	var why string
	switch {
	case e.RaceBuild:
		why = counterRaceBuild
	case e.Monitor == nil:
		why = counterNoMonitor
	case !hasMemorySource(ctx, e.Monitor):
		why = counterNoSource
	}
	if why != "" {
		set := metrics.NewSet()
		set.Add(why, 1)
		for _, n := range []string{scMemJourneys, scMemRuns, scMemConns, scMemConfig, scMemDB} {
			add(results.Scenario{Name: n, Suite: Name, Model: "cycles", Metrics: set.Snapshot()})
		}
		return false, nil
	}
	rt := e.ShortRunTimeout()
	users := max(10, min(e.Users*2, 20))
	// Each workload: its users (at once), and whether its operations are
	// journeys (counted as a scenario's journeys) or requests of its own
	// (counted as operations).
	workloads := []struct {
		name     string
		cycles   int
		ops      int
		users    int
		journeys bool
		run      func(context.Context, *tally) error
	}{
		{scMemJourneys, memoryCycles, 200, users, true, func(ctx context.Context, t *tally) error {
			return e.Quiet(ctx, load.Plan{Model: load.Closed, Users: users, Iterations: 200}, journey.Options{RunTimeout: rt, ConfigAccess: true, DBOps: true}, t.add)
		}},
		{scMemRuns, memoryMinorCycles, 200, users, true, func(ctx context.Context, t *tally) error {
			return e.Quiet(ctx, load.Plan{Model: load.Closed, Users: users, Iterations: 50}, journey.Options{RunTimeout: rt, Messages: 4}, t.add)
		}},
		{scMemConns, memoryMinorCycles, 200, users, false, func(ctx context.Context, t *tally) error { return connectionBurst(ctx, e, t, users, 200) }},
		{scMemConfig, memoryMinorCycles, 400, 1, false, func(ctx context.Context, t *tally) error { return configBurst(ctx, e, t, 400) }},
		{scMemDB, memoryMinorCycles, 300, users, false, func(ctx context.Context, t *tally) error { return dbBurst(ctx, e, t, users, 100) }},
	}
	v1Only := map[string]string{
		scMemConns:  "opens raw PROTOCOL v1 sockets",
		scMemConfig: "reads and writes PROTOCOL v1's /api/v1/config",
		scMemDB:     "writes threads through PROTOCOL v1's REST API",
	}
	for _, w := range workloads {
		if what, ok := v1Only[w.name]; ok && e.Profile != nil {
			add(results.Scenario{Name: w.name, Suite: Name, Model: "cycles", Users: w.users, Profile: e.ProfileName(),
				Unmeasured: map[string]string{unmeasuredWorkload: "not run on profile " + e.ProfileName() + ": this workload " + what}})
			continue
		}
		sc, err := runCycles(ctx, e, w.name, w.users, w.journeys, w.cycles, w.ops, w.run)
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

// hasMemorySource reports whether the monitor reads the target's resident
// memory ([monitor.FieldResident]): it has read it before, or a sample
// taken now has it.
func hasMemorySource(ctx context.Context, m *monitor.Monitor) bool {
	if _, ok := m.Peak(monitor.FieldResident); ok {
		return true
	}
	_, _, ok := m.SampleNow(ctx).Resident()
	return ok
}

// A quiet reading is what settle found once a burst had drained: the counts
// of the quietest of a few samples, and the target's resident memory.
type quiet struct {
	monitor.Sample // counts: the least of each over the samples
	// resident is the target's resident memory at the last of the samples
	// that had it, read at residentT; hasResident is false when none did.
	resident    float64
	residentT   time.Time
	hasResident bool
}

// settle closes our idle connections, waits memoryIdle, and samples; then,
// while the counts differ from want, samples again until settleWait.
func settle(ctx context.Context, e *suite.Env, want *counts) quiet {
	e.Target.HTTP.CloseIdleConnections()
	sleep(ctx, memoryIdle)
	q := quietSample(ctx, e)
	deadline := time.Now().Add(settleWait)
	for want != nil && countsOf(q.Sample).above(*want) && time.Now().Before(deadline) && ctx.Err() == nil {
		sleep(ctx, 100*time.Millisecond)
		q = quietSample(ctx, e)
	}
	return q
}

// quietSample takes three samples 100 ms apart and keeps, for each count,
// the least: a goroutine or descriptor of a request in flight (the scrape
// itself, a connection still closing) only ever adds. The resident memory
// is the last sample's that has it: one failed scrape costs no reading.
func quietSample(ctx context.Context, e *suite.Env) quiet {
	var q quiet
	note := func(t monitor.Sample) {
		if v, _, ok := t.Resident(); ok {
			q.resident, q.residentT, q.hasResident = v, t.T, true
		}
	}
	s := e.Monitor.SampleNow(ctx)
	note(s)
	s.Metrics = maps.Clone(s.Metrics) // the series keeps the original
	for range 2 {
		sleep(ctx, 100*time.Millisecond)
		t := e.Monitor.SampleNow(ctx)
		note(t)
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
	q.Sample = s
	return q
}

// sampleWhile takes a sample every burstSampleEvery until stop is closed or
// ctx ends, so that the memory under load is read in every burst, however
// short, at the same moments from every source.
func sampleWhile(ctx context.Context, m *monitor.Monitor, stop <-chan struct{}) {
	t := time.NewTicker(burstSampleEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			m.SampleNow(ctx)
		}
	}
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
// runs n cycles of burst -> drain -> idle -> sample, with users at once;
// the workload's operations are counted as they end, as journeys when
// journeys is set, else as operations.
func runCycles(ctx context.Context, e *suite.Env, name string, users int, journeys bool, n, ops int, run func(context.Context, *tally) error) (results.Scenario, error) {
	start := time.Now()
	set := metrics.NewSet()
	var samples []results.Sample
	work := tally{set: set, journeys: journeys}
	var bursts [][2]time.Time // when each burst ran
	burst := func(ctx context.Context) error {
		from := time.Now()
		stop, done := make(chan struct{}), make(chan struct{})
		go func() { defer close(done); sampleWhile(ctx, e.Monitor, stop) }()
		err := run(ctx, &work)
		close(stop)
		<-done
		bursts = append(bursts, [2]time.Time{from, time.Now()})
		return err
	}
	if series := e.Monitor.Series(); len(series) > 0 {
		if v, _, ok := series[0].Resident(); ok { // the first sample: taken before any load
			set.Add(counterStartupRSS, int64(v))
		}
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
	bc := countsOf(base.Sample)
	for range 2 {
		sleep(ctx, 200*time.Millisecond)
		c := countsOf(e.Monitor.SampleNow(ctx))
		bc = counts{goroutines: max(bc.goroutines, c.goroutines), conns: max(bc.conns, c.conns), fds: max(bc.fds, c.fds)}
	}
	set.Add(counterBaseGor, int64(bc.goroutines))
	set.Add(counterBaseConns, int64(bc.conns))
	set.Add(counterBaseFDs, int64(bc.fds))
	set.Add(counterOpsPerCycle, int64(ops))
	set.Add(counterCyclesPlan, int64(n))
	t0 := time.Now()
	offCycles := 0 // cycles whose counts did not come back
	ran := 0       // cycles that ran to their idle reading
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
		if ctx.Err() != nil {
			break // cut short: neither a reading nor a missing one
		}
		ran++
		if s.hasResident { // a cycle without a reading has no counter: missing, not 0
			set.Add(counterCycleRSS+strconv.Itoa(i), int64(s.resident))
			set.Add(counterCycleSecs+strconv.Itoa(i), int64(s.residentT.Sub(t0)/time.Millisecond))
		}
		if c := countsOf(s.Sample); c.above(bc) {
			offCycles++
			set.Add(counterCountsOff, 1)
			if len(samples) < suite.MaxSamples {
				samples = append(samples, results.Sample{Kind: "counts_not_back", Detail: fmt.Sprintf("cycle %d, %s after the burst: goroutines %g (baseline %g), connections %g (%g), fds %g (%g)",
					i+1, s.T.Sub(drained).Round(100*time.Millisecond), c.goroutines, bc.goroutines, c.conns, bc.conns, c.fds, bc.fds)})
			}
		}
	}
	set.Add(counterCyclesRun, int64(ran))
	recordLoadMemory(set, e.Monitor.Window(start, time.Now()), bursts)
	set.Add(counterOpsDone, work.done)
	set.Add(counterOpsFailed, work.failed)
	if work.first != "" {
		samples = append(samples, results.Sample{Kind: "workload_failed", Detail: work.first})
	}
	sc := results.Scenario{Name: name, Suite: Name, Model: "cycles", Users: users, DurationS: time.Since(start).Seconds(), Samples: samples, Metrics: set.Snapshot()}
	suite.Summarise(&sc)
	return sc, nil
}

// recordLoadMemory records the target's memory under load: of the samples,
// those taken while a burst ran, how many had the resident memory, the
// highest, and whether it came from /metrics.
func recordLoadMemory(set *metrics.Set, samples []monitor.Sample, bursts [][2]time.Time) {
	var n int64
	var peak float64
	fromMetrics := false
	for _, s := range samples {
		v, src, ok := s.Resident()
		if !ok || !during(s.T, bursts) {
			continue
		}
		n++
		peak = max(peak, v)
		fromMetrics = fromMetrics || src == monitor.ResidentFromMetrics
	}
	set.Add(counterLoadRSS, n)
	if n > 0 {
		set.Add(counterPeakRSS, int64(peak))
	}
	if fromMetrics {
		set.Add(counterFromMetrics, 1)
	}
}

// during reports whether t falls within one of the spans.
func during(t time.Time, spans [][2]time.Time) bool {
	for _, sp := range spans {
		if !t.Before(sp[0]) && !t.After(sp[1]) {
			return true
		}
	}
	return false
}
