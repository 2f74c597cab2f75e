package memory

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// metricsTarget is a fake target reached by URL: what its /metrics would
// give, with no process to read. Its resident memory is idle bytes, and
// busy bytes while a burst runs; from the moment down is set its scrapes
// fail.
type metricsTarget struct {
	idle, busy float64
	running    atomic.Bool
	down       atomic.Bool
	noRSS      bool // a /metrics without process_resident_memory_bytes
}

func (m *metricsTarget) Read(_ context.Context, s *monitor.Sample) error {
	if m.down.Load() {
		return errors.New("monitor: scrape http://target/metrics: status 503 Service Unavailable")
	}
	s.Metrics = map[string]float64{"go_goroutines": 12, "process_open_fds": 9}
	if !m.noRSS {
		s.Metrics["process_resident_memory_bytes"] = m.idle
		if m.running.Load() {
			s.Metrics["process_resident_memory_bytes"] = m.busy
		}
	}
	return nil
}

func urlEnv(t *testing.T, src monitor.Source) *suite.Env {
	t.Helper()
	tgt, err := journey.NewTarget("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	mon, err := monitor.New([]monitor.Source{src})
	if err != nil {
		t.Fatal(err)
	}
	return &suite.Env{Target: tgt, Accounts: []journey.Account{{Email: "a@example.test", Password: "pw"}}, Monitor: mon, RunTimeout: 10 * time.Second}
}

// burstOf returns a workload that keeps the fake target busy for d and
// counts ops operations, each a success; after cycle downAfter (counting
// the warm-up bursts, from 1) it takes the target's /metrics down.
func burstOf(m *metricsTarget, d time.Duration, ops, downAfter int) func(context.Context, *tally) error {
	var n int
	return func(ctx context.Context, t *tally) error {
		m.running.Store(true)
		sleep(ctx, d)
		m.running.Store(false)
		for range ops {
			t.add(nil)
		}
		n++
		if downAfter > 0 && n >= downAfter {
			m.down.Store(true)
		}
		return nil
	}
}

// runWatched runs the cycles of a memory scenario on a fake clock, with the
// monitor's loop sampling once a second as testbed starts it.
func runWatched(t *testing.T, e *suite.Env, name string, cycles int, run func(context.Context, *tally) error) results.Scenario {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	e.Monitor.SampleNow(ctx) // the startup sample
	go func() { defer close(done); _ = e.Monitor.Run(ctx) }()
	sc, err := runCycles(ctx, e, name, 20, name == scMemJourneys, cycles, 200, run)
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func checkOf(t *testing.T, cs []results.Check, name string) results.Check {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s", name)
	return results.Check{}
}

// A target reached by URL: its memory under load is what its /metrics
// reported while the bursts ran, not 0.
func TestCyclesMemoryFromMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &metricsTarget{idle: 40 << 20, busy: 90 << 20}
		e := urlEnv(t, m)
		sc := runWatched(t, e, scMemJourneys, memoryCycles, burstOf(m, 2*time.Second, 200, 0))
		if got := sc.Metrics.Counters[counterPeakRSS]; got != 90<<20 {
			t.Errorf("peak RSS under load = %d; want %d, the target's process_resident_memory_bytes during the bursts", got, 90<<20)
		}
		if got := sc.Metrics.Counters[counterStartupRSS]; got != 40<<20 {
			t.Errorf("startup RSS = %d; want %d", got, 40<<20)
		}
		// The journeys the cycles drove are the scenario's, as they ended
		// (warm-up included), with the users that ran them.
		want := int64((memoryCycles + warmupCycles) * 200)
		if sc.Users != 20 || sc.Journeys != want || sc.Succeeded != want || sc.Failed != 0 || len(seconds(sc, suite.CounterJourneys)) < memoryCycles {
			t.Errorf("scenario: %d users, %d journeys (%d ok, %d failed) over %d seconds; want 20 users and %d journeys, counted in the seconds they ended",
				sc.Users, sc.Journeys, sc.Succeeded, sc.Failed, len(seconds(sc, suite.CounterJourneys)), want)
		}
		cs := memoryChecks([]results.Scenario{sc}, nil)
		c := checkOf(t, cs, "memory_usage_bounded_under_load")
		if c.Status != results.Pass || c.Observed != 90<<20 || c.Samples < 5 || !strings.Contains(c.Evidence, "90.0 MiB") || !strings.Contains(c.Evidence, "/metrics") {
			t.Errorf("memory_usage_bounded_under_load = %s (%s), observed %g over %d; want a pass on 90 MiB read from /metrics while the bursts ran",
				c.Status, c.Evidence, c.Observed, c.Samples)
		}
		for _, name := range []string{"startup_memory_baseline", "memory_growth_under_10_percent", "memory_leak_detection", "garbage_collection_efficiency"} {
			if c := checkOf(t, cs, name); c.Status != results.Pass {
				t.Errorf("%s = %s (%s); want a pass on flat memory", name, c.Status, c.Evidence)
			}
		}
	})
}

// A reading that could not be taken is missing, never a figure of 0: with
// too few readings left, the checks fail for want of evidence.
func TestCyclesMissingReadings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &metricsTarget{idle: 40 << 20, busy: 60 << 20}
		e := urlEnv(t, m)
		// Down from the end of the 4th measured burst (after the 2 warm-up
		// bursts): 3 of 10 cycles have a reading.
		sc := runWatched(t, e, scMemJourneys, memoryCycles, burstOf(m, 2*time.Second, 200, warmupCycles+4))
		for k, v := range sc.Metrics.Counters {
			if strings.HasPrefix(k, counterCycleRSS) && v <= 0 {
				t.Errorf("counter %s = %d: a missing reading recorded as a figure", k, v)
			}
		}
		cs := memoryChecks([]results.Scenario{sc}, nil)
		for _, name := range []string{"memory_leak_detection", "memory_growth_under_10_percent"} {
			c := checkOf(t, cs, name)
			if c.Status != results.Fail || !strings.Contains(c.Evidence, "insufficient evidence") || !strings.Contains(c.Evidence, "3 of 10 cycles") {
				t.Errorf("%s = %s (%s); want a failure for insufficient evidence: 3 of 10 cycles read", name, c.Status, c.Evidence)
			}
		}
	})
}

// A scenario with no reading of the memory under load fails for want of
// evidence; it never reports a peak of 0 MiB.
func TestBoundedUnderLoadWithoutReadings(t *testing.T) {
	sc := cyclesScenario(60<<20, 0, 2400, 0)
	delete(sc.Metrics.Counters, counterPeakRSS)
	c := checkOf(t, memoryChecks([]results.Scenario{sc}, nil), "memory_usage_bounded_under_load")
	if c.Status != results.Fail || !strings.Contains(c.Evidence, "insufficient evidence") || strings.Contains(c.Evidence, "0.0 MiB") {
		t.Errorf("memory_usage_bounded_under_load with no reading under load = %s (%s); want a failure for insufficient evidence, no 0.0 MiB", c.Status, c.Evidence)
	}
}

// A target whose /metrics has no process_resident_memory_bytes, and which
// is not our child, has no memory source: every memory check skips, saying
// so, without running the workloads.
func TestNoMemorySource(t *testing.T) {
	e := urlEnv(t, &metricsTarget{noRSS: true})
	e.Monitor.SampleNow(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	var scs []results.Scenario
	if _, err := Suite().Run(ctx, e, func(sc results.Scenario) { scs = append(scs, sc) }); err != nil {
		t.Fatal(err)
	}
	for _, c := range memoryChecks(scs, nil) {
		if c.Status != results.Skip || !strings.Contains(c.Evidence, "process_resident_memory_bytes") {
			t.Errorf("%s = %s (%s); want a skip naming the missing memory source", c.Name, c.Status, c.Evidence)
		}
	}
}

// A scenario whose cycles the run cut short is not judged: its checks skip,
// saying after how many cycles.
func TestInterruptedCycles(t *testing.T) {
	sc := cyclesScenario(60<<20, 0, 2400, 0)
	sc.Metrics.Counters[counterCyclesRun] = 4
	for _, c := range memoryChecks([]results.Scenario{sc}, nil) {
		if c.Scenario == "" {
			continue // another workload's, which did not run
		}
		if c.Status != results.Skip || !strings.Contains(c.Evidence, "interrupted after 4 of 10 cycles") {
			t.Errorf("%s = %s (%s); want a skip: interrupted after 4 of 10 cycles", c.Name, c.Status, c.Evidence)
		}
	}
}

// seconds are the seconds of sc's series in which counter grew.
func seconds(sc results.Scenario, counter string) []int {
	var out []int
	for _, pt := range sc.Metrics.Series {
		if pt.Counters[counter] > 0 {
			out = append(out, pt.Second)
		}
	}
	return out
}
