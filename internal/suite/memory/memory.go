package suite

import (
	"context"
	"fmt"
	"maps"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
	"github.com/goldenpath-dev/goldenpath/internal/report"
)

// Memory is the memory suite: the target's memory (never goldenpath's),
// bounded, returning after load, and not leaking, judged over cycles of
// burst -> drain -> idle -> sample with statistics that do not cry wolf.
const Memory = "memory"

// Memory thresholds (the seed's).
const (
	MemoryBound        = 2 << 30   // peak RSS under load
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

func memorySuite() Suite { return Suite{Name: Memory, Run: runMemory, Checks: memoryChecks} }

// rss is a sample's resident memory: from /proc when the target is our
// child, else from its /metrics.
func rss(s monitor.Sample) float64 {
	if s.HasProc {
		return float64(s.RSS)
	}
	if v, ok := s.Metrics["process_resident_memory_bytes"]; ok {
		return v
	}
	return math.NaN()
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

func runMemory(ctx context.Context, e *Env, add func(report.Scenario)) (bool, error) {
	if e.Monitor == nil || e.RaceBuild {
		set := metrics.NewSet()
		if e.RaceBuild {
			set.Add(counterRaceBuild, 1)
		} else {
			set.Add(counterNoMonitor, 1)
		}
		for _, n := range []string{scMemJourneys, scMemRuns, scMemConns, scMemConfig, scMemDB} {
			add(report.Scenario{Name: n, Suite: Memory, Model: "cycles", Metrics: set.Snapshot()})
		}
		return false, nil
	}
	rt := raceTimeout(e)
	users := max(10, min(e.Users*2, 20))
	workloads := []struct {
		name   string
		cycles int
		ops    int
		run    func(context.Context, *tally) error
	}{
		{scMemJourneys, memoryCycles, 200, func(ctx context.Context, t *tally) error {
			return e.quiet(ctx, t, load.Plan{Model: load.Closed, Users: users, Iterations: 200}, journey.Options{RunTimeout: rt, ConfigAccess: true, DBOps: true})
		}},
		{scMemRuns, memoryMinorCycles, 200, func(ctx context.Context, t *tally) error {
			return e.quiet(ctx, t, load.Plan{Model: load.Closed, Users: users, Iterations: 50}, journey.Options{RunTimeout: rt, Messages: 4})
		}},
		{scMemConns, memoryMinorCycles, 200, func(ctx context.Context, t *tally) error { return connectionBurst(ctx, e, t, users, 200) }},
		{scMemConfig, memoryMinorCycles, 400, func(ctx context.Context, t *tally) error { return configBurst(ctx, e, t, 400) }},
		{scMemDB, memoryMinorCycles, 300, func(ctx context.Context, t *tally) error { return dbBurst(ctx, e, t, users, 100) }},
	}
	for _, w := range workloads {
		sc, err := e.memoryCycles(ctx, w.name, w.cycles, w.ops, w.run)
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

// tally counts the operations of a memory workload and keeps the first
// failure: memory measured under a load that failed proves nothing.
type tally struct {
	mu           sync.Mutex
	done, failed int64
	first        string
}

// add counts one operation, failed when err is not nil.
func (t *tally) add(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done++
	if err != nil {
		t.failed++
		if t.first == "" {
			t.first = journey.Redact(err.Error())
		}
	}
}

// quiet runs a plan without progress output or recording, counting each
// journey in t.
func (e *Env) quiet(ctx context.Context, t *tally, plan load.Plan, jo journey.Options) error {
	plan.Segment = e.Segment
	_, err := load.Run(ctx, plan, load.ExecutorFunc(func(ctx context.Context, it load.Iteration) {
		res := journey.Run(ctx, e.Target, e.account(it.VU), jo)
		switch {
		case ctx.Err() != nil: // interrupted: neither done nor failed
		case res.Err != nil:
			t.add(res.Err)
		case len(res.Violations) > 0:
			t.add(fmt.Errorf("protocol violation: %s", res.Violations[0].Detail))
		case !res.OK():
			t.add(fmt.Errorf("journey not completed"))
		default:
			t.add(nil)
		}
	}))
	return err
}

// settle closes our idle connections, waits memoryIdle, and samples; then,
// while the counts differ from want, samples again until settleWait.
func (e *Env) settle(ctx context.Context, want *counts) monitor.Sample {
	e.Target.HTTP.CloseIdleConnections()
	sleep(ctx, memoryIdle)
	s := e.quietSample(ctx)
	deadline := time.Now().Add(settleWait)
	for want != nil && countsOf(s).above(*want) && time.Now().Before(deadline) && ctx.Err() == nil {
		sleep(ctx, 100*time.Millisecond)
		s = e.quietSample(ctx)
	}
	return s
}

// quietSample takes three samples 100 ms apart and keeps, for each count,
// the least: a goroutine or descriptor of a request in flight (the scrape
// itself, a connection still closing) only ever adds.
func (e *Env) quietSample(ctx context.Context) monitor.Sample {
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

// memoryCycles runs one warm-up cycle, takes the baseline counts, then
// runs n cycles of burst -> drain -> idle -> sample.
func (e *Env) memoryCycles(ctx context.Context, name string, n, ops int, run func(context.Context, *tally) error) (report.Scenario, error) {
	start := time.Now()
	set := metrics.NewSet()
	var samples []report.Sample
	var work tally
	burst := func(ctx context.Context) error { return run(ctx, &work) }
	if series := e.Monitor.Series(); len(series) > 0 {
		set.Add(counterStartupRSS, int64(rss(series[0]))) // the first sample: taken before any load
	}
	for range warmupCycles { // pools, caches and lazily started goroutines settle first
		if err := burst(ctx); err != nil {
			return report.Scenario{}, err
		}
	}
	// The baseline is the highest count of a few quiet samples: a single
	// low reading (a keep-alive just closed) would make later cycles,
	// which are judged on their lowest reading, look like leaks.
	base := e.settle(ctx, nil)
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
			return report.Scenario{}, err
		}
		// Once the counts have stayed up in two cycles the check has failed;
		// later cycles need not wait the settle time for them again (a
		// target that never gives connections back would pay it each cycle).
		want := &bc
		if offCycles >= 2 {
			want = nil
		}
		drained := time.Now()
		s := e.settle(ctx, want)
		set.Add(counterCycleRSS+strconv.Itoa(i), int64(rss(s)))
		set.Add(counterCycleSecs+strconv.Itoa(i), int64(s.T.Sub(t0)/time.Millisecond))
		if c := countsOf(s); c.above(bc) {
			offCycles++
			set.Add(counterCountsOff, 1)
			if len(samples) < maxSamples {
				samples = append(samples, report.Sample{Kind: "counts_not_back", Detail: fmt.Sprintf("cycle %d, %s after the burst: goroutines %g (baseline %g), connections %g (%g), fds %g (%g)",
					i+1, s.T.Sub(drained).Round(100*time.Millisecond), c.goroutines, bc.goroutines, c.conns, bc.conns, c.fds, bc.fds)})
			}
		}
	}
	if p, ok := monitor.PeakOf(e.Monitor.Window(start, time.Now()), monitor.FieldRSS); ok && p.HasProc {
		set.Add(counterPeakRSS, p.RSS)
	} else if v := rss(p); ok && !math.IsNaN(v) {
		set.Add(counterPeakRSS, int64(v))
	}
	set.Add(counterOpsDone, work.done)
	set.Add(counterOpsFailed, work.failed)
	if work.first != "" {
		samples = append(samples, report.Sample{Kind: "workload_failed", Detail: work.first})
	}
	sc := report.Scenario{Name: name, Suite: Memory, Model: "cycles", DurationS: time.Since(start).Seconds(), Samples: samples, Metrics: set.Snapshot()}
	Summarise(&sc)
	return sc, nil
}

// cyclesOf reads the per-cycle memory back from a scenario's counters.
func cyclesOf(sc *report.Scenario) (xs, ys, secs []float64) {
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

func leakOf(sc *report.Scenario) monitor.Verdict {
	xs, ys, _ := cyclesOf(sc)
	ops := float64(sc.Metrics.Counters[counterOpsPerCycle])
	floor := math.Max(leakFloorMin, leakFloorPerOp*ops)
	return monitor.LeakVerdict(xs, ys, LeakAlpha, floor)
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

func memoryChecks(scs []report.Scenario, _ SLA) []report.Check {
	j := find(scs, scMemJourneys)
	chk := func(name string, sc *report.Scenario, judge func(*report.Scenario) (string, string)) report.Check {
		c := report.Check{Suite: Memory, Name: name}
		switch {
		case sc == nil:
			c.Status, c.Evidence = report.Skip, "its scenario did not run"
		case sc.Metrics.Counters[counterRaceBuild] > 0:
			c.Status, c.Evidence = report.Skip, "the target runs with Go's race detector (--race-detector), which multiplies its memory: memory checks never run on a race build"
		case sc.Metrics.Counters[counterNoMonitor] > 0:
			c.Status, c.Evidence = report.Skip, "the target's memory cannot be watched: it is not goldenpath's child process and has no /metrics endpoint"
		default:
			c.Scenario = sc.Name
			c.Status, c.Evidence = judge(sc)
			if bad := workloadFailed(sc); bad != "" {
				// A pass would rest on nothing; a skip stays a skip.
				if c.Status == report.Pass {
					c.Status = report.Fail
				}
				c.Evidence = bad + "; " + c.Evidence
			}
		}
		return c
	}
	leak := func(what string) func(*report.Scenario) (string, string) {
		return func(sc *report.Scenario) (string, string) {
			v := leakOf(sc)
			ev := fmt.Sprintf("%s, %d per cycle: %s", what, sc.Metrics.Counters[counterOpsPerCycle], v.Reason)
			if v.N < 6 {
				return report.Skip, ev + " (fewer than 6 cycles cannot be judged)"
			}
			if n := sc.Metrics.Counters[counterCountsOff]; n > 0 {
				return report.Fail, ev + fmt.Sprintf("; in %d cycles goroutines, connections or file descriptors did not come back to baseline: %s", n, firstSample(sc, "counts_not_back"))
			}
			return verdict(!v.Leak), ev
		}
	}
	return []report.Check{
		chk("memory_usage_bounded_under_load", j, func(sc *report.Scenario) (string, string) {
			p := float64(sc.Metrics.Counters[counterPeakRSS])
			return verdict(p > 0 && p < MemoryBound), fmt.Sprintf("peak RSS of the target under load %s (limit %s)", mib(p), mib(MemoryBound))
		}),
		chk("startup_memory_baseline", j, func(sc *report.Scenario) (string, string) {
			s := float64(sc.Metrics.Counters[counterStartupRSS])
			return verdict(s > 0 && s < StartupBound), fmt.Sprintf("RSS of the target at the start of the run %s (limit %s)", mib(s), mib(StartupBound))
		}),
		chk("memory_growth_under_10_percent", j, judgeGrowth),
		chk("memory_leak_detection", j, leak("full golden-path journeys")),
		chk("garbage_collection_efficiency", j, judgeReturn),
		chk("websocket_connection_memory_cleanup", find(scs, scMemConns), leak("WebSocket connections opened and closed")),
		chk("agent_execution_memory_isolation", find(scs, scMemRuns), leak("agent runs")),
		chk("configuration_cache_memory_bounds", find(scs, scMemConfig), leak("config reads and admin updates")),
		chk("database_connection_memory_management", find(scs, scMemDB), leak("thread writes and reads")),
	}
}

// workloadFailed says how a memory scenario's workload failed when more
// than maxFailedShare of its operations failed, or none ran: memory
// measured under a load that did not happen proves nothing, and must not
// pass. It returns "" when the workload ran.
func workloadFailed(sc *report.Scenario) string {
	c := sc.Metrics.Counters
	done, failed := c[counterOpsDone], c[counterOpsFailed]
	switch {
	case done == 0:
		return "the workload did not run: no operation was attempted, so the memory under it proves nothing"
	case float64(failed) > maxFailedShare*float64(done):
		return fmt.Sprintf("the workload failed: %d of %d operations failed (more than %.0f%%; e.g. %s), so the memory under it proves nothing",
			failed, done, maxFailedShare*100, firstSample(sc, "workload_failed"))
	}
	return ""
}

// judgeGrowth projects the memory slope over cycles to GrowthHorizon.
func judgeGrowth(sc *report.Scenario) (string, string) {
	_, ys, secs := cyclesOf(sc)
	if len(ys) < 3 || secs[len(secs)-1] <= 0 {
		return report.Skip, "too few cycles to project growth"
	}
	slope, _, lo, hi := monitor.TheilSen(secs, ys, 1-LeakAlpha)
	base := ys[0]
	proj := monitor.Projected(slope, GrowthHorizon)
	frac := proj / base
	ev := fmt.Sprintf("memory slope %s/min [%.0f%% CI %s, %s] over %d cycles in %.0fs, projected to %s: %+.1f%% of the %s baseline (limit %.0f%%)",
		mib(slope*60), (1-LeakAlpha)*100, mib(lo*60), mib(hi*60), len(ys), secs[len(secs)-1], GrowthHorizon, frac*100, mib(base), GrowthBound*100)
	// A short soak cannot tell settling (caches filling, pools warming)
	// from a leak by its slope alone: growth fails only when the leak test
	// finds a trend beyond its floor AND even the slope's lower bound
	// projects past the limit. Noise and settling must not cry wolf.
	if v := leakOf(sc); !v.Leak {
		return report.Pass, ev + "; the trend is within the settling floor of the leak test (" + v.Reason + ")"
	}
	return verdict(monitor.Projected(lo, GrowthHorizon)/base < GrowthBound), ev
}

// judgeReturn: after each burst the idle memory comes back to the level of
// the first cycle (allowing returnSlack or 10%); Go and most runtimes keep
// freed pages for reuse, so "back near baseline" is judged against the
// first cycle's idle memory, not the process start.
func judgeReturn(sc *report.Scenario) (string, string) {
	_, ys, _ := cyclesOf(sc)
	if len(ys) < 2 {
		return report.Skip, "too few cycles"
	}
	first, last := ys[0], ys[len(ys)-1]
	peak := float64(sc.Metrics.Counters[counterPeakRSS])
	slack := math.Max(returnSlack, 0.1*first)
	ev := fmt.Sprintf("idle memory after the first cycle %s, after the last %s (peak under load %s; allowed above the first: %s)", mib(first), mib(last), mib(peak), mib(slack))
	return verdict(last-first <= slack), ev
}

// connectionBurst opens and closes n WebSocket connections, c at a time.
func connectionBurst(ctx context.Context, e *Env, t *tally, c, n int) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, c)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := journey.Dial(ctx, e.Target, e.account(i))
			if err == nil {
				s.Close()
			}
			if ctx.Err() == nil {
				t.add(err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// configBurst reads the config n times (and updates it a few times when
// there is an admin token).
func configBurst(ctx context.Context, e *Env, t *tally, n int) error {
	us, err := journey.Login(ctx, e.Target, e.account(0))
	if err != nil {
		if ctx.Err() == nil {
			t.add(err)
		}
		return nil
	}
	var snap protocol.ConfigSnapshot
	for i := range n {
		if ctx.Err() != nil {
			return nil
		}
		_, _, err := e.Target.JSON(ctx, "GET", protocol.PathConfig, us.Token, nil, &snap)
		t.add(err)
		if e.AdminToken != "" && i%100 == 0 && len(snap.Values) > 0 {
			_, _, err := e.Target.JSON(ctx, "PUT", protocol.PathAdminConfig, e.AdminToken, map[string]any{"values": snap.Values}, nil)
			t.add(err)
		}
	}
	return nil
}

// dbBurst creates, lists and reads threads: n operations of each kind over
// c users.
func dbBurst(ctx context.Context, e *Env, t *tally, c, n int) error {
	var wg sync.WaitGroup
	per := max(1, n/c)
	for u := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			us, err := journey.Login(ctx, e.Target, e.account(u))
			if err != nil {
				if ctx.Err() == nil {
					t.add(err)
				}
				return
			}
			for range per {
				if ctx.Err() != nil {
					return
				}
				var th protocol.Thread
				_, _, err := e.Target.JSON(ctx, "POST", protocol.PathThreads, us.Token, protocol.NewThread{Title: "memory"}, &th)
				t.add(err)
				if err != nil {
					continue
				}
				_, _, err = e.Target.JSON(ctx, "GET", protocol.PathThreads, us.Token, nil, nil)
				t.add(err)
				_, _, err = e.Target.JSON(ctx, "GET", protocol.PathThreads+"/"+th.ID+"/messages", us.Token, nil, nil)
				t.add(err)
			}
		}()
	}
	wg.Wait()
	return nil
}
