package suite

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// A target reached by URL is watched through its /metrics alone: the
// scenario's peak memory comes from process_resident_memory_bytes, sampled
// by the monitor as it would sample an embedded backend's /proc.
func TestScenarioPeakRSSFromMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference backend")
	}
	tgt := startBackend(t)
	a := journey.Account{Email: "m-" + rand.Text()[:10] + "@example.test", Password: "pw-" + rand.Text()}
	if _, err := journey.Register(context.Background(), tgt, a); err != nil {
		t.Fatalf("Register: %v", err)
	}
	mon, err := monitor.New([]monitor.Source{monitor.MetricsSource(tgt.BaseURL+"/metrics", nil)}, monitor.WithInterval(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	mon.SampleNow(t.Context()) // the startup sample, as testbed takes it
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = mon.Run(ctx) }()
	defer cancel()

	env := &Env{Target: tgt, Accounts: []journey.Account{a}, SLA: DefaultSLA(), RunTimeout: 30 * time.Second, Monitor: mon}
	plan := load.Plan{Model: load.Closed, Users: 1, Duration: 1500 * time.Millisecond, Think: 50 * time.Millisecond}
	sc, _, err := env.Scenario(t.Context(), scenarioUsers5, Load, plan, FullJourney())
	if err != nil {
		t.Fatal(err)
	}
	peak, ok := sc.Metrics.Counters[CounterTargetPeakRSS]
	if !ok || peak <= 0 {
		t.Fatalf("scenario counter %s = %d, %t; want the peak of the target's process_resident_memory_bytes (counters %v)",
			CounterTargetPeakRSS, peak, ok, sc.Metrics.Counters)
	}
	if n := sc.Metrics.Counters[CounterTargetRSSReadings]; n < 2 || sc.Metrics.Counters[CounterTargetRSSFromMetrics] != 1 {
		t.Errorf("scenario counters %v; want several readings, from /metrics", sc.Metrics.Counters)
	}

	// A scenario shorter than the monitor's interval (a burst) still has the
	// reading taken as its load ends.
	cancel()
	<-done
	burst, _, err := env.Scenario(t.Context(), scenarioBurst, Load, load.Plan{Model: load.Closed, Users: 1, Iterations: 1}, FullJourney())
	if err != nil {
		t.Fatal(err)
	}
	if n := burst.Metrics.Counters[CounterTargetRSSReadings]; n != 1 || burst.Metrics.Counters[CounterTargetPeakRSS] <= 0 {
		t.Errorf("a burst with the monitor's loop stopped: counters %v; want the one reading taken as it ended", burst.Metrics.Counters)
	}
	c := memoryUnderLoad(append(loadScenarios(40)[1:], sc))
	if c.Status != results.Pass || c.Samples == 0 || c.Observed != float64(peak) {
		t.Errorf("memory_usage_under_load = %s (%s), observed %g over %d; want a pass on the peak %d", c.Status, c.Evidence, c.Observed, c.Samples, peak)
	}
}

// memory_usage_under_load judges the peaks it has; a load scenario that ran
// with the target watched but without a reading fails for want of
// evidence, never as a peak of 0; a target with no memory source skips.
func TestMemoryUnderLoad(t *testing.T) {
	watched := func(peak, readings int64, fromMetrics bool) mix {
		return func(s *metrics.Set) {
			s.Add(CounterTargetMemoryWatched, 1)
			s.Add(CounterTargetRSSReadings, readings)
			if readings > 0 {
				s.Add(CounterTargetPeakRSS, peak)
			}
			if fromMetrics {
				s.Add(CounterTargetRSSFromMetrics, 1)
			}
		}
	}
	steps := func(m ...mix) []results.Scenario {
		return []results.Scenario{
			good(scenarioUsers5, Load, 5, 40, m[0]), good(scenarioUsers10, Load, 10, 40, m[1]),
			good(scenarioUsers15, Load, 15, 40, m[2]), good(scenarioBurst, Load, 50, 40, m[3]),
		}
	}
	none := func(*metrics.Set) {}
	const mib = 1 << 20
	for _, tc := range []struct {
		name     string
		scs      []results.Scenario
		status   string
		evidence string
		observed float64
		samples  int64
	}{
		{"from /metrics", steps(watched(30*mib, 3, true), watched(35*mib, 3, true), watched(40*mib, 3, true), watched(60*mib, 4, true)),
			results.Pass, "peak RSS of the target (from its /metrics process_resident_memory_bytes, 13 readings): 5 users: 30.0 MiB", 60 * mib, 13},
		{"from the process", steps(watched(30*mib, 3, false), watched(35*mib, 3, false), watched(40*mib, 3, false), watched(60*mib, 4, false)),
			results.Pass, "(from its process, 13 readings)", 60 * mib, 13},
		{"over the bound", steps(watched(30*mib, 3, true), watched(35*mib, 3, true), watched(40*mib, 3, true), watched(3<<30, 4, true)),
			results.Fail, "50 users: 3072.0 MiB (limit 2048.0 MiB)", 3 << 30, 13},
		{"a step without a reading", steps(watched(30*mib, 3, true), watched(0, 0, true), watched(40*mib, 3, true), watched(60*mib, 4, true)),
			results.Fail, "insufficient evidence: no reading of the target's memory while users_10_sustained ran or as its load ended (3 of 4 load scenarios read", 60 * mib, 10},
		{"no reading at all", steps(watched(0, 0, true), watched(0, 0, true), watched(0, 0, true), watched(0, 0, true)),
			results.Fail, "insufficient evidence", 0, 0},
		{"no memory source", steps(none, none, none, none), results.Skip, "no memory source", 0, 0},
		{"not run", nil, results.Skip, "did not run", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := memoryUnderLoad(tc.scs)
			if c.Status != tc.status || !strings.Contains(c.Evidence, tc.evidence) || c.Observed != tc.observed || c.Samples != tc.samples {
				t.Errorf("memory_usage_under_load = %s (%s), observed %g over %d; want %s with %q, observed %g over %d",
					c.Status, c.Evidence, c.Observed, c.Samples, tc.status, tc.evidence, tc.observed, tc.samples)
			}
			if strings.Contains(c.Evidence, " 0.0 MiB") {
				t.Errorf("memory_usage_under_load evidence %q judges a missing reading as 0", c.Evidence)
			}
		})
	}
}
