package regression

import (
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// testNow is the fixed clock of every synthetic scenario's metrics.
var testNow = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// A mix changes a synthetic scenario.
type mix func(*metrics.Set)

// journeys counts ok successful and failed failed journeys.
func journeys(ok, failed int64) mix {
	return func(s *metrics.Set) {
		s.Add(suite.CounterJourneys, ok+failed)
		s.Add(suite.CounterSucceeded, ok)
		s.Add(suite.CounterFailed, failed)
	}
}

// samples records n samples of d in phase.
func samples(phase string, n int, d time.Duration) mix {
	return func(s *metrics.Set) {
		for range n {
			s.Record(phase, d)
		}
	}
}

func counter(name string, n int64) mix { return func(s *metrics.Set) { s.Add(name, n) } }

// scenario builds a summarised scenario of the given suite from metrics
// recorded by mixes, as a run (or a merge) would leave it.
func scenario(name, suiteName string, users int, mixes ...mix) results.Scenario {
	set := metrics.NewSet(metrics.WithNow(func() time.Time { return testNow }))
	for _, m := range mixes {
		m(set)
	}
	sc := results.Scenario{Name: name, Suite: suiteName, Model: "closed", Users: users, DurationS: 10, Metrics: set.Snapshot()}
	suite.Summarise(&sc)
	return sc
}

// byName indexes checks by name.
func byName(cs []results.Check) map[string]results.Check {
	m := map[string]results.Check{}
	for _, c := range cs {
		m[c.Name] = c
	}
	return m
}

func names(cs []results.Check) []string {
	var n []string
	for _, c := range cs {
		n = append(n, c.Name)
	}
	return n
}

var regressionNames = []string{
	"golden_path_performance_baseline",
	"websocket_performance_regression",
	"agent_execution_performance_regression",
	"database_performance_regression",
	"configuration_performance_regression",
	"memory_performance_regression",
	"concurrent_performance_regression",
	"resource_utilization_regression",
}

// regPhases are the round phases and their healthy latencies: large
// enough that +30% is over the 1 ms floor.
var regPhases = map[string]time.Duration{
	"journey": 210 * time.Millisecond, "login": 20 * time.Millisecond, "ws_connect": 6 * time.Millisecond,
	"ws_handshake": 7 * time.Millisecond, "first_event": 5 * time.Millisecond, "agent_execution": 201 * time.Millisecond,
	"db_operation": 8 * time.Millisecond, "server_db": 5 * time.Millisecond, "config_access": 6 * time.Millisecond,
}

// regRounds is k rounds (steady and burst) with the healthy latencies,
// the phases in slower multiplied, a little different in each round.
func regRounds(k int, slower map[string]float64) []results.Scenario {
	var scs []results.Scenario
	for i := 1; i <= k; i++ {
		jitter := 1 + float64(i%3)/100
		var steady, burst []mix
		for p, d := range regPhases {
			f := jitter
			if s, ok := slower[p]; ok {
				f *= s
			}
			steady = append(steady, samples(p, 120, time.Duration(float64(d)*f)))
			burst = append(burst, samples(p, 50, time.Duration(float64(d)*f*1.2)))
		}
		steady = append(steady, journeys(120, 0), counter(suite.CounterTargetPeakRSS, int64(40<<20)), counter(baseline.CounterTargetCPU, 240_000))
		burst = append(burst, journeys(50, 0), counter(suite.CounterTargetPeakRSS, int64(45<<20)))
		scs = append(scs, scenario(baseline.RoundName(i), Name, 10, steady...), scenario(baseline.BurstName(i), Name, 50, burst...))
	}
	return scs
}

func regBaseline(t *testing.T, scs []results.Scenario) *baseline.Baseline {
	t.Helper()
	b, err := baseline.New(scs, baseline.Environment{Goldenpath: "test"}, baseline.Settings{Users: 10, Round: "2s", BurstUsers: 50}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	b.Name = "main"
	return b
}

func TestRegressionChecks(t *testing.T) {
	checks := Suite().Checks
	healthy := regRounds(6, nil)
	old := regBaseline(t, healthy)
	compared := func(newRounds []results.Scenario) []results.Scenario {
		return append(slices.Clone(newRounds), ComparisonScenario(old, baseline.DefaultThresholds, nil))
	}
	tests := []struct {
		name   string
		scs    []results.Scenario
		all    string            // the status of every check but those in status
		status map[string]string // by check
		want   map[string]string // evidence a check must contain
	}{
		{name: "not run", scs: nil, all: results.Skip},
		{name: "interrupted before the comparison", scs: healthy, all: results.Skip,
			want: map[string]string{"golden_path_performance_baseline": "ended before its rounds were compared"}},
		// A first run compared nothing: a skip, never a pass, whose
		// evidence says the baseline was written.
		{name: "the first baseline is written and said so, and nothing passes",
			scs: append(slices.Clone(healthy), stateScenario(stateFirst, baseline.DefaultThresholds, "no baseline \"default\" existed: wrote the first one")),
			all: results.Skip,
			want: map[string]string{"golden_path_performance_baseline": "baseline written, nothing compared: no baseline \"default\" existed: wrote the first one",
				"database_performance_regression": "became the first baseline"}},
		{name: "no change passes every check", scs: compared(regRounds(6, nil)), all: results.Pass,
			want: map[string]string{"golden_path_performance_baseline": `compared with baseline "main"`}},
		{name: "a slower database fails its check only", scs: compared(regRounds(6, map[string]float64{"db_operation": 1.3, "server_db": 1.3})),
			all: results.Pass, status: map[string]string{"database_performance_regression": results.Fail},
			want: map[string]string{"database_performance_regression": "6 of 6 metrics regressed: db_operation.p50 +30.1%"}},
		{name: "a slower handshake fails the WebSocket check", scs: compared(regRounds(6, map[string]float64{"ws_handshake": 1.5})),
			all: results.Pass, status: map[string]string{"websocket_performance_regression": results.Fail, "concurrent_performance_regression": results.Pass}},
		{name: "a faster agent is an improvement, not a regression", scs: compared(regRounds(6, map[string]float64{"first_event": 0.5})),
			all: results.Pass, want: map[string]string{"agent_execution_performance_regression": "improved: first_event"}},
		{name: "a slower journey within +50% passes", scs: compared(regRounds(6, map[string]float64{"journey": 1.3})), all: results.Pass,
			want: map[string]string{"golden_path_performance_baseline": "no regression in 8 metrics; the largest change the worse way: journey.p50 +30.0%", "database_performance_regression": "none moved the worse way, the least gain: "}},
		{name: "too few rounds are inconclusive", scs: append(regRounds(3, map[string]float64{"config_access": 3}), ComparisonScenario(old, baseline.DefaultThresholds, nil)),
			all: results.Skip, want: map[string]string{"configuration_performance_regression": "too few rounds"}},
		{name: "an unreadable baseline fails the baseline check",
			scs: append(slices.Clone(healthy), stateScenario(stateUnreadable, baseline.DefaultThresholds, "baseline: x.json: not a baseline file")),
			all: results.Skip, status: map[string]string{"golden_path_performance_baseline": results.Fail}},
		{name: "other settings skip every check",
			scs: append(slices.Clone(healthy), stateScenario(stateIncomparable, baseline.DefaultThresholds, "baseline \"main\" ran with other settings (10 users against 20)")),
			all: results.Skip, want: map[string]string{"memory_performance_regression": "10 users against 20"}},
		{name: "two stored baselines, carried in the comparison scenario",
			scs: []results.Scenario{ComparisonScenario(old, baseline.DefaultThresholds, regBaseline(t, regRounds(6, map[string]float64{"config_access": 2})).Metrics)},
			all: results.Pass, status: map[string]string{"configuration_performance_regression": results.Fail}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := checks(tc.scs, suite.DefaultSLA())
			if !slices.Equal(names(got), regressionNames) {
				t.Fatalf("checks = %v; want %v", names(got), regressionNames)
			}
			for _, c := range got {
				want := tc.all
				if s, ok := tc.status[c.Name]; ok {
					want = s
				}
				if c.Status != want {
					t.Errorf("%s = %s (%s); want %s", c.Name, c.Status, c.Evidence, want)
				}
				if w, ok := tc.want[c.Name]; ok && !strings.Contains(c.Evidence, w) {
					t.Errorf("%s evidence = %q; want it to contain %q", c.Name, c.Evidence, w)
				}
			}
		})
	}
}

// A regression check carries the rule of the metric that moved furthest
// the worse way, its change and the rounds compared.
func TestRegressionChecksFigures(t *testing.T) {
	old := regBaseline(t, regRounds(6, nil))
	scs := append(regRounds(6, map[string]float64{"db_operation": 1.3, "server_db": 1.3}), ComparisonScenario(old, baseline.DefaultThresholds, nil))
	c := byName(Suite().Checks(scs, suite.DefaultSLA()))["database_performance_regression"]
	if c.Status != results.Fail || c.Rule == nil || c.Rule.Stat != "change" || c.Rule.Op != "<=" || c.Rule.Unit != results.UnitRatio ||
		c.Rule.Limit != baseline.DefaultThresholds.Latency || c.Observed < 0.25 || c.Samples != 6 || !strings.HasPrefix(c.Rule.Metric, "db_operation.") {
		t.Errorf("database_performance_regression = %s, rule %+v, observed %g over %d; want a fail by a db_operation change <= %g, about +30%% over 6 rounds",
			c.Status, c.Rule, c.Observed, c.Samples, baseline.DefaultThresholds.Latency)
	}
	if c.Rule != nil && c.Rule.Holds(c.Observed) {
		t.Errorf("database_performance_regression failed, but its rule %s holds on %g", c.Rule, c.Observed)
	}
}

// Merging the results of two segments (goldenpath merge) judges the
// comparison again on the merged rounds, with the same verdicts.
func TestRegressionChecksAfterMerge(t *testing.T) {
	old := regBaseline(t, regRounds(6, nil))
	part := func(seg string) *results.Results {
		// Both segments watch the same target: their memory and CPU
		// figures add up on merging, and are divided back by the copies.
		scs := append(regRounds(6, map[string]float64{"server_db": 2}), ComparisonScenario(old, baseline.DefaultThresholds, nil))
		return &results.Results{Schema: results.Schema, Options: results.Options{Suites: []string{Name}}, Segments: []string{seg}, Scenarios: scs}
	}
	single := part("1/1")
	if err := suite.Evaluate(single, suite.DefaultSLA(), []suite.Suite{Suite()}); err != nil {
		t.Fatal(err)
	}
	merged, err := report.Merge([]*results.Results{part("1/2"), part("2/2")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range merged.Scenarios {
		suite.Summarise(&merged.Scenarios[i])
	}
	if err := suite.Evaluate(merged, suite.DefaultSLA(), []suite.Suite{Suite()}); err != nil {
		t.Fatal(err)
	}
	for i, c := range merged.Checks {
		if s := single.Checks[i]; c.Name != s.Name || c.Status != s.Status {
			t.Errorf("after merge %s = %s (%s); the single process judged %s (%s)", c.Name, c.Status, c.Evidence, s.Status, s.Evidence)
		}
	}
	if c := byName(merged.Checks)["database_performance_regression"]; c.Status != results.Fail {
		t.Errorf("after merge database_performance_regression = %s; want fail (server_db doubled)", c.Status)
	}
}

// keepBaselines writes the first baseline, then compares with it; a run
// with other settings is not compared; --save-baseline replaces a baseline.
func TestKeepBaselines(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte(`{"status":"ok","version":"1.4.2"}`))
		}
	}))
	defer srv.Close()
	tgt, err := journey.NewTarget(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := &suite.Env{Target: tgt, Users: 10, Duration: 12 * time.Second, Regression: suite.RegressionOptions{Dir: dir, Rounds: 6}}
	scs := regRounds(6, nil)
	state := func(sc results.Scenario) string { return readComparison(&sc).state }

	first := keepBaselines(t.Context(), e, scs)
	if state(first) != stateFirst || !strings.Contains(first.Samples[0].Detail, "wrote the first one") {
		t.Fatalf("keepBaselines(no baseline) = %s, %v; want the first baseline written", state(first), first.Samples)
	}
	b, err := baseline.Load(baseline.Path(dir, DefaultBaselineName))
	if err != nil {
		t.Fatalf("the first baseline: %v", err)
	}
	if b.Env.TargetVersion != "1.4.2" || b.Env.TargetURL != srv.URL || b.Settings.Users != 10 || b.Settings.Round != "2s" || b.Rounds != 6 {
		t.Errorf("the first baseline = env %+v, settings %+v, %d rounds; want target version 1.4.2, 10 users, 2s rounds, 6 rounds", b.Env, b.Settings, b.Rounds)
	}

	again := keepBaselines(t.Context(), e, regRounds(6, map[string]float64{"db_operation": 2}))
	if state(again) != stateCompared {
		t.Fatalf("keepBaselines(a baseline exists) = %s, %v; want compared", state(again), again.Samples)
	}
	if c := byName(regressionChecks(append(regRounds(6, map[string]float64{"db_operation": 2}), again), suite.DefaultSLA()))["database_performance_regression"]; c.Status != results.Fail {
		t.Errorf("database_performance_regression after a slower database = %s (%s); want fail", c.Status, c.Evidence)
	}

	e.Users = 20
	if other := keepBaselines(t.Context(), e, scs); state(other) != stateIncomparable {
		t.Errorf("keepBaselines(20 users against a 10-user baseline) = %s; want incomparable", state(other))
	}

	e.Users, e.Regression.Save = 10, "nightly"
	saved := keepBaselines(t.Context(), e, scs)
	if _, err := os.Stat(baseline.Path(dir, "nightly")); err != nil || state(saved) != stateFirst ||
		!slices.ContainsFunc(saved.Samples, func(s results.Sample) bool { return strings.Contains(s.Detail, "wrote the first one") }) {
		t.Errorf("keepBaselines(--save-baseline nightly) = %s, %v, %v; want nightly written as the first baseline", state(saved), saved.Samples, err)
	}

	e.Regression = suite.RegressionOptions{Dir: dir, Baseline: "default", Save: "copy"}
	both := keepBaselines(t.Context(), e, scs)
	if state(both) != stateCompared || !slices.ContainsFunc(both.Samples, func(s results.Sample) bool { return strings.Contains(s.Detail, `as baseline "copy"`) }) {
		t.Errorf("keepBaselines(--baseline default --save-baseline copy) = %s, %v; want compared, and copy saved", state(both), both.Samples)
	}

	e.RaceBuild = true
	if race := keepBaselines(t.Context(), e, scs); state(race) != stateNotKept {
		t.Errorf("keepBaselines(race build) = %s; want nothing kept", state(race))
	}
}

func TestCounterNamesAgree(t *testing.T) {
	if baseline.CounterTargetPeakRSS != suite.CounterTargetPeakRSS {
		t.Errorf("baseline.CounterTargetPeakRSS = %q, suite.suite.CounterTargetPeakRSS = %q; want the same counter", baseline.CounterTargetPeakRSS, suite.CounterTargetPeakRSS)
	}
	if !slices.Equal(CheckNames(), regressionNames) {
		t.Errorf("CheckNames() = %v; want the seed's %v", CheckNames(), regressionNames)
	}
}

// A confirmed comparison (live compare's second set of rounds) fails a
// check only when both sets regressed on their own.
func TestRegressionChecksConfirmed(t *testing.T) {
	old := regBaseline(t, regRounds(12, nil))
	slow := map[string]float64{"db_operation": 1.3, "server_db": 1.3}
	for _, tc := range []struct {
		name          string
		first, second map[string]float64
		status, want  string
	}{
		{"both sets slower fail", slow, slow, results.Fail, "6 of 6 metrics regressed: db_operation.p50 +30."},
		{"the first set alone slower passes", slow, nil, results.Pass, "regressed in one set of rounds only"},
		{"neither set slower passes", nil, nil, results.Pass, "confirmed: a regression must show in rounds 1-6 and again in rounds 7-12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scs := append(regRounds(6, tc.first), regRounds(12, tc.second)[12:]...)
			csc := ComparisonScenario(old, baseline.DefaultThresholds, nil)
			MarkConfirmed(&csc, 6)
			c := byName(Suite().Checks(append(scs, csc), suite.DefaultSLA()))["database_performance_regression"]
			if c.Status != tc.status || !strings.Contains(c.Evidence, tc.want) {
				t.Errorf("database_performance_regression = %s (%s); want %s containing %q", c.Status, c.Evidence, tc.status, tc.want)
			}
		})
	}
}
