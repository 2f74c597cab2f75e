package suite

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// testNow is the fixed clock of every synthetic scenario's metrics.
var testNow = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// healthy are latencies well inside every default SLA, for each phase an
// SLA names.
var healthy = map[string]time.Duration{
	journey.PhaseJourney:          2 * time.Second,
	journey.PhaseLogin:            50 * time.Millisecond,
	PhaseWSHandshake:              10 * time.Millisecond,
	journey.PhaseAgentExecution:   time.Second,
	journey.PhaseResponseDelivery: 5 * time.Millisecond,
	journey.PhaseConfigAccess:     2 * time.Millisecond,
	"server_factory":              time.Millisecond,
	journey.PhaseDBOperation:      3 * time.Millisecond,
}

// A mix changes a synthetic scenario.
type mix func(*metrics.Set)

// journeys counts ok successful and failed failed journeys.
func journeys(ok, failed int64) mix {
	return func(s *metrics.Set) {
		s.Add(CounterJourneys, ok+failed)
		s.Add(CounterSucceeded, ok)
		s.Add(CounterFailed, failed)
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

// failures counts n failed journeys of class in phase, as the recorder
// does, on top of those counted by journeys.
func failures(class, phase string, n int64) mix {
	return func(s *metrics.Set) {
		s.Add(prefixError+class, n)
		s.Add(prefixErrorPhase+phase, n)
	}
}

func counter(name string, n int64) mix { return func(s *metrics.Set) { s.Add(name, n) } }

// healthyPhases records n samples of every healthy latency.
func healthyPhases(n int) mix {
	return func(s *metrics.Set) {
		for p, d := range healthy {
			samples(p, n, d)(s)
		}
	}
}

// scenario builds a summarised scenario of the given suite from metrics
// recorded by mixes, as a run (or a merge) would leave it.
func scenario(name, suiteName string, users int, mixes ...mix) results.Scenario {
	set := metrics.NewSet(metrics.WithNow(func() time.Time { return testNow }))
	for _, m := range mixes {
		m(set)
	}
	sc := results.Scenario{Name: name, Suite: suiteName, Model: "closed", Users: users, DurationS: 10, Metrics: set.Snapshot()}
	Summarise(&sc)
	return sc
}

// good is a scenario of n successful journeys inside every SLA.
func good(name, suiteName string, users, n int, mixes ...mix) results.Scenario {
	return scenario(name, suiteName, users, append([]mix{journeys(int64(n), 0), healthyPhases(n)}, mixes...)...)
}

func TestSummarise(t *testing.T) {
	sc := scenario("s", Load, 5, journeys(47, 3), counter(CounterDropped, 2), samples("login", 4, time.Millisecond),
		failures("http_status:503", journey.PhaseLogin, 2), failures("close:1011", journey.PhaseAgentExecution, 1),
		counter(prefixViolation+journey.ViolationSeqGap, 4), counter(CounterCancelled, 9))
	if sc.Journeys != 50 || sc.Succeeded != 47 || sc.Failed != 3 || sc.Dropped != 2 {
		t.Errorf("Summarise: journeys, succeeded, failed, dropped = %d, %d, %d, %d; want 50, 47, 3, 2",
			sc.Journeys, sc.Succeeded, sc.Failed, sc.Dropped)
	}
	if want := 4.7; sc.Throughput != want {
		t.Errorf("Summarise: throughput of 47 journeys in 10 s = %g; want %g", sc.Throughput, want)
	}
	if got := sc.Errors; len(got) != 2 || got["http_status:503"] != 2 || got["close:1011"] != 1 {
		t.Errorf("Summarise: errors = %v; want map[close:1011:1 http_status:503:2]", got)
	}
	if got := sc.Violations; len(got) != 1 || got[journey.ViolationSeqGap] != 4 {
		t.Errorf("Summarise: violations = %v; want map[seq_gap:4]", got)
	}
	if got := sc.Phases["login"].Count; got != 4 || len(sc.Phases) != 1 {
		t.Errorf("Summarise: phases = %v; want only login, with 4 samples", sc.Phases)
	}
}

func TestSLACheck(t *testing.T) {
	login := DefaultSLA()["login"]
	for _, tc := range []struct {
		name     string
		sc       *results.Scenario
		rule     Rule
		status   string
		evidence []string // all in the evidence
	}{
		{"well inside the limit passes", ptr(scenario("s", Integrated, 1, samples("login", 40, 50*time.Millisecond))), login,
			results.Pass, []string{"login p95 = 50ms over 40 samples", "limit 5s", "margin 99.0%"}},
		{"over the limit fails", ptr(scenario("s", Integrated, 1, samples("login", 40, 6*time.Second))), login,
			results.Fail, []string{"login p95 = 6.00s over 40 samples", "limit 5s", "margin -20.0%"}},
		{"exactly MinSamples is judged", ptr(scenario("s", Integrated, 1, samples("login", MinSamples, 6*time.Second))), login,
			results.Fail, []string{"over 20 samples"}},
		{"fewer than MinSamples fails for insufficient evidence, never passes", ptr(scenario("s", Integrated, 1, samples("login", MinSamples-1, time.Millisecond))), login,
			results.Fail, []string{"insufficient evidence: only 19 samples of login", "a p95 needs at least 20", "--duration"}},
		{"fewer than MinSamples fails however slow", ptr(scenario("s", Integrated, 1, samples("login", 3, time.Hour))), login,
			results.Fail, []string{"insufficient evidence: only 3 samples of login"}},
		{"a phase never recorded fails", ptr(scenario("s", Integrated, 1, samples("journey", 40, time.Second))), login,
			results.Fail, []string{"insufficient evidence: only 0 samples of login"}},
		{"a timing the target never reports, on answered runs, is skipped", ptr(scenario("s", Integrated, 1, samples("agent_execution", 40, time.Second))),
			DefaultSLA()["server_factory"], results.Skip, []string{"the target reported no server_factory in 40 answered runs (timings.factory_ms of its run events)"}},
		{"no completed_at on answered runs: response_delivery is skipped", ptr(scenario("s", Integrated, 1, samples("answer", 30, time.Second))),
			DefaultSLA()["response_delivery"], results.Skip, []string{"the target reported no response_delivery in 30 answered runs"}},
		{"a target timing with no answered run fails", ptr(scenario("s", Integrated, 1, samples("login", 40, time.Millisecond))),
			DefaultSLA()["server_factory"], results.Fail, []string{"insufficient evidence: only 0 samples of server_factory"}},
		{"a scenario that did not run is skipped", nil, login, results.Skip, []string{"did not run"}},
		{"the rule's statistic is the one judged",
			ptr(scenario("s", Integrated, 1, samples("login", 98, time.Millisecond), samples("login", 2, 9*time.Second))),
			Rule{Metric: "login", Stat: "p99", Op: "<", Limit: 5 * time.Second},
			results.Fail, []string{"login p99 = 9.00s over 100 samples"}},
		{"sub-0.1 ms values are shown in µs", ptr(scenario("s", Integrated, 1, samples("config_access", 25, 50*time.Microsecond))),
			DefaultSLA()["config_access"], results.Pass, []string{"config_access p95 = 50µs over 25 samples", "limit 10ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := slaCheck(Integrated, "check", tc.sc, tc.rule)
			if c.Status != tc.status {
				t.Errorf("slaCheck(%s) = %s (%s); want %s", tc.rule, c.Status, c.Evidence, tc.status)
			}
			for _, w := range tc.evidence {
				if !strings.Contains(c.Evidence, w) {
					t.Errorf("slaCheck(%s) evidence = %q; want it to contain %q", tc.rule, c.Evidence, w)
				}
			}
			if c.Suite != Integrated || c.Name != "check" || c.Rule == nil || *c.Rule != tc.rule.Typed() || c.Unit != "ms" || c.Threshold() != tc.rule.LimitValue() {
				t.Errorf("slaCheck(%s) = %+v (rule %v); want suite %q, name %q, rule %q, unit ms, threshold %g",
					tc.rule, c, c.Rule, Integrated, "check", tc.rule, tc.rule.LimitValue())
			}
			if want := int64(0); tc.sc != nil {
				want = tc.sc.Phases[tc.rule.Metric].Count
				if c.Samples != want {
					t.Errorf("slaCheck(%s) samples = %d; want the %d latencies of %s", tc.rule, c.Samples, want, tc.rule.Metric)
				}
			}
			if c.Status == results.Skip || strings.HasPrefix(c.Evidence, "insufficient evidence:") {
				if c.Observed != 0 {
					t.Errorf("slaCheck(%s) = %s (%s) with observed %g; want 0: nothing was judged", tc.rule, c.Status, c.Evidence, c.Observed)
				}
				return
			}
			// The evidence shows the observed value as judged.
			want := tc.sc.Phases[tc.rule.Metric]
			if obs := tc.rule.Observe(want); c.Observed != obs || !strings.Contains(c.Evidence, FormatMS(obs)) {
				t.Errorf("slaCheck(%s) observed %g, evidence %q; want %g, shown as %s", tc.rule, c.Observed, c.Evidence, obs, FormatMS(obs))
			}
			if c.Scenario != "s" {
				t.Errorf("slaCheck(%s).Scenario = %q; want %q", tc.rule, c.Scenario, "s")
			}
		})
	}
}

func TestRateCheck(t *testing.T) {
	sla := DefaultSLA()
	for _, tc := range []struct {
		name     string
		rule     Rule
		scs      []*results.Scenario
		status   string
		observed float64
		evidence []string
	}{
		{"success at the limit passes", sla[RateSuccess],
			[]*results.Scenario{ptr(scenario("a", Load, 5, journeys(49, 1), failures("http_status:503", "login", 1)))},
			results.Pass, 0.98, []string{"success_rate = 98.00% (49 ok, 1 failed of 50 journeys; limit >= 98%)", "errors: http_status:503 x1"}},
		{"success under the limit fails", sla[RateSuccess],
			[]*results.Scenario{ptr(scenario("a", Load, 5, journeys(48, 2)))},
			results.Fail, 0.96, []string{"success_rate = 96.00% (48 ok, 2 failed of 50 journeys; limit >= 98%)"}},
		{"error rate under the limit passes", sla[RateError],
			[]*results.Scenario{ptr(scenario("a", Load, 5, journeys(49, 1)))},
			results.Pass, 0.02, []string{"error_rate = 2.00%", "limit < 5%"}},
		{"error rate at the limit fails", sla[RateError],
			[]*results.Scenario{ptr(scenario("a", Load, 5, journeys(95, 5), failures("timeout", "first_event", 3), failures("close:1011", "agent_execution", 2)))},
			results.Fail, 0.05, []string{"error_rate = 5.00% (95 ok, 5 failed of 100 journeys; limit < 5%)", "errors: close:1011 x2, timeout x3"}},
		{"rates add up over scenarios", sla[RateError],
			[]*results.Scenario{ptr(scenario("a", Load, 5, journeys(50, 0))), nil, ptr(scenario("b", Load, 5, journeys(44, 6)))},
			results.Fail, 0.06, []string{"(94 ok, 6 failed of 100 journeys"}},
		{"no journeys fails", sla[RateSuccess],
			[]*results.Scenario{ptr(scenario("a", Load, 5))},
			results.Fail, 0, []string{"no journey completed"}},
		{"no journeys fails an error rate too", sla[RateError],
			[]*results.Scenario{ptr(scenario("a", Load, 5))},
			results.Fail, 0, []string{"no journey completed"}},
		{"a missing scenario is skipped", sla[RateSuccess], []*results.Scenario{nil}, results.Skip, 0, []string{"did not run"}},
		{"no scenarios at all is skipped", sla[RateError], nil, results.Skip, 0, []string{"did not run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rateCheck(Load, "check", tc.rule, tc.scs...)
			if c.Status != tc.status || c.Observed != tc.observed {
				t.Errorf("rateCheck(%s) = %s, observed %g (%s); want %s, observed %g", tc.rule, c.Status, c.Observed, c.Evidence, tc.status, tc.observed)
			}
			for _, w := range tc.evidence {
				if !strings.Contains(c.Evidence, w) {
					t.Errorf("rateCheck(%s) evidence = %q; want it to contain %q", tc.rule, c.Evidence, w)
				}
			}
			if c.Unit != "ratio" || c.Threshold() != tc.rule.Rate || c.Rule.String() != tc.rule.String() {
				t.Errorf("rateCheck(%s) unit, threshold, rule = %q, %g, %q; want ratio, %g, %q", tc.rule, c.Unit, c.Threshold(), c.Rule, tc.rule.Rate, tc.rule)
			}
		})
	}
}

func TestRateCheckNamesItsScenarios(t *testing.T) {
	a, b := scenario("a", Load, 1, journeys(1, 0)), scenario("b", Load, 1, journeys(1, 0))
	if got := rateCheck(Load, "x", DefaultSLA()[RateError], &a, nil, &b).Scenario; got != "a,b" {
		t.Errorf("rateCheck over scenarios a, nil, b: Scenario = %q; want %q", got, "a,b")
	}
}

func TestAllOf(t *testing.T) {
	pass := results.Check{Status: results.Pass, Evidence: "fine", Scenario: "s"}
	fail := results.Check{Status: results.Fail, Evidence: "broken"}
	skip := results.Check{Status: results.Skip, Evidence: "unknown"}
	for _, tc := range []struct {
		parts []results.Check
		want  string
	}{
		{[]results.Check{pass, pass}, results.Pass},
		{[]results.Check{pass, skip}, results.Skip},
		{[]results.Check{skip, pass}, results.Skip},
		{[]results.Check{skip, fail}, results.Fail},
		{[]results.Check{fail, skip}, results.Fail},
		{[]results.Check{pass, fail, pass}, results.Fail},
	} {
		var st []string
		for _, p := range tc.parts {
			st = append(st, p.Status)
		}
		c := allOf(Load, "x", tc.parts...)
		if c.Status != tc.want {
			t.Errorf("allOf(%v) = %s; want %s", st, c.Status, tc.want)
		}
		for _, p := range tc.parts {
			if w := "[" + p.Status + "] " + p.Evidence; !strings.Contains(c.Evidence, w) {
				t.Errorf("allOf(%v) evidence = %q; want it to contain %q", st, c.Evidence, w)
			}
		}
	}
}

func TestFormatMS(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{math.NaN(), "n/a"}, {0.05, "50µs"}, {0.1, "0.10ms"}, {2.345, "2.35ms"}, {10, "10ms"}, {999.4, "999ms"}, {1000, "1.00s"}, {61234, "61.23s"},
	} {
		if got := FormatMS(tc.v); got != tc.want {
			t.Errorf("FormatMS(%g) = %q; want %q", tc.v, got, tc.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// sampled adds evidence samples to a scenario.
func sampled(sc results.Scenario, ss ...results.Sample) results.Scenario {
	sc.Samples = append(sc.Samples, ss...)
	return sc
}

func TestReached(t *testing.T) {
	sc := scenario("a", Load, 5, journeys(6, 9),
		failures("http_status:500", journey.PhaseLogin, 2), failures("http_status:503", journey.PhaseConfigAccess, 1),
		failures("connect", journey.PhaseWSConnect, 1), failures("timeout", journey.PhaseWSReady, 1),
		failures("timeout", journey.PhaseFirstEvent, 1), failures("http_status:500", journey.PhaseDBOperation, 1),
		counter(prefixError+prefixViolation+journey.ViolationSeqGap, 2))
	if got := Reached(&sc, StepUserMessage); got != 10 {
		t.Errorf("Reached(%s) = %d; want 10 (15 journeys, 5 failed before their request)", StepUserMessage, got)
	}
	if got := Reached(&sc, StepReadBack); got != 8 {
		t.Errorf("Reached(%s) = %d; want 8 (15 journeys, 7 ended by an error; the 2 with a finding read back)", StepReadBack, got)
	}
	if got := Reached(nil, StepUserMessage); got != 0 {
		t.Errorf("Reached(nil) = %d; want 0", got)
	}
}

func TestProtocolAndReadBackChecks(t *testing.T) {
	reorder := results.Sample{Kind: prefixViolation + journey.ViolationSeqReorder, Detail: "seq 5 (tool_executing) arrived after seq 6"}
	lost := results.Sample{Kind: prefixViolation + journey.ViolationStoreMismatch, Detail: "thread t_1 lacks the answer of message m1-abc (1 messages)"}
	twice := results.Sample{Kind: prefixViolation + journey.ViolationStoreMismatch, Detail: "thread t_2 holds the answer of message m1-def 2 times (3 messages)"}
	loginDown := results.Sample{Kind: "http_status:500", Phase: journey.PhaseLogin, Detail: "POST /api/v1/auth/login: 500"}
	for _, tc := range []struct {
		name                   string
		scs                    []*results.Scenario
		protocol, readBack     string
		protocolEv, readBackEv []string
	}{
		{name: "clean", scs: []*results.Scenario{ptr(scenario("a", Load, 5, journeys(10, 0)))},
			protocol: results.Pass, readBack: results.Pass,
			protocolEv: []string{"10 of 10 journeys reached user_message", "no finding"},
			readBackEv: []string{"10 of 10 journeys reached read_back"}},
		{name: "every login failed",
			scs:      []*results.Scenario{ptr(sampled(scenario("a", Load, 5, journeys(0, 10), failures("http_status:500", journey.PhaseLogin, 10)), loginDown))},
			protocol: results.Fail, readBack: results.Fail,
			protocolEv: []string{"insufficient evidence: 0 of 10 journeys reached user_message (the check needs 1); errors: http_status:500 x10; e.g. http_status:500: POST"},
			readBackEv: []string{"insufficient evidence: 0 of 10 journeys reached read_back"}},
		{name: "a reordered frame fails the protocol check only",
			scs: []*results.Scenario{ptr(sampled(scenario("a", Load, 5, journeys(9, 1),
				counter(prefixViolation+journey.ViolationSeqReorder, 2), counter(prefixError+prefixViolation+journey.ViolationSeqReorder, 1)), reorder))},
			protocol: results.Fail, readBack: results.Pass,
			protocolEv: []string{"2 findings of the frame oracle in 10 journeys (1 that completed with one count as failed): seq_reorder x2", "e.g. violation:seq_reorder: seq 5"}},
		{name: "a lost and a duplicated write fail the read-back check only, naming message and thread",
			scs: []*results.Scenario{ptr(scenario("a", Load, 5, journeys(5, 0))), nil, ptr(sampled(scenario("b", Load, 5, journeys(8, 2),
				counter(prefixViolation+journey.ViolationStoreMismatch, 2), counter(prefixError+prefixViolation+journey.ViolationStoreMismatch, 2)), lost, twice))},
			protocol: results.Pass, readBack: results.Fail,
			readBackEv: []string{"15 of 15 journeys reached read_back: 2 acknowledged writes missing, stored twice or out of order on read-back",
				"thread t_1 lacks the answer of message m1-abc", "thread t_2 holds the answer of message m1-def 2 times"}},
		{name: "no scenario skips", scs: []*results.Scenario{nil}, protocol: results.Skip, readBack: results.Skip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []struct {
				check    results.Check
				want     string
				evidence []string
			}{
				{protocolCheck(Load, "p", tc.scs...), tc.protocol, tc.protocolEv},
				{readBackCheck(Load, "r", tc.scs...), tc.readBack, tc.readBackEv},
			} {
				if c.check.Status != c.want {
					t.Errorf("%s = %s (%s); want %s", c.check.Name, c.check.Status, c.check.Evidence, c.want)
				}
				for _, w := range c.evidence {
					if !strings.Contains(c.check.Evidence, w) {
						t.Errorf("%s evidence = %q; want it to contain %q", c.check.Name, c.check.Evidence, w)
					}
				}
			}
		})
	}
}

// Every kind found keeps an example: a lost write after a dozen timeouts
// is named.
func TestKeepSample(t *testing.T) {
	var kept []results.Sample
	for range 20 {
		kept = keepSample(kept, results.Sample{Kind: "timeout"})
	}
	kept = keepSample(kept, results.Sample{Kind: "violation:store_mismatch", Detail: "thread t lacks the answer of message m"})
	kept = keepSample(kept, results.Sample{Kind: "violation:store_mismatch", Detail: "a second one"})
	kinds := map[string]int{}
	for _, s := range kept {
		kinds[s.Kind]++
	}
	if len(kept) != MaxSamples || kinds["timeout"] != MaxSamples-1 || kinds["violation:store_mismatch"] != 1 {
		t.Errorf("keepSample kept %d samples %v; want %d: %d timeouts and the first store_mismatch", len(kept), kinds, MaxSamples, MaxSamples-1)
	}
}
