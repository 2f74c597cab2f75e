package suite

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// the check names, in order: the seed's, with issue 9's after the rates.
var (
	integratedNames = []string{
		"complete_golden_path_under_60_seconds",
		"authentication_under_5_seconds",
		"websocket_connection_under_3_seconds",
		"agent_execution_under_45_seconds",
		"response_delivery_under_2_seconds",
		"configuration_access_under_10ms",
		"agent_factory_under_500ms",
		"database_operations_under_1_second",
		"golden_path_success_rate",
		"golden_path_protocol_conformance",
		"golden_path_writes_read_back",
	}
	loadNames = []string{
		"5_concurrent_users_golden_path",
		"10_concurrent_users_sustained_load",
		"15_concurrent_users_peak_load",
		"concurrent_websocket_connections",
		"concurrent_agent_executions",
		"concurrent_database_operations",
		"error_rate_under_load",
		"protocol_conformance_under_load",
		"writes_read_back_under_load",
		"memory_usage_under_load",
		"capacity_search",
	}
)

// suites are the suites of this package, in run order.
func suites() []Suite { return []Suite{IntegratedSuite(), LoadSuite()} }

// mustSuite returns the suite called name, through Lookup.
func mustSuite(t *testing.T, name string) Suite {
	t.Helper()
	ss, err := Lookup(suites(), []string{name})
	if err != nil || len(ss) != 1 || ss[0].Name != name {
		t.Fatalf("Lookup([%q]) = %d suites, %v; want the %s suite", name, len(ss), err, name)
	}
	return ss[0]
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

// loadScenarios is a healthy run of the load suite: the fixed-size
// scenarios and the concurrency burst, each with n journeys.
func loadScenarios(n int, burst ...mix) []results.Scenario {
	return []results.Scenario{
		good(scenarioUsers5, Load, 5, n),
		good(scenarioUsers10, Load, 10, n),
		good(scenarioUsers15, Load, 15, n),
		good(scenarioBurst, Load, 50, n, burst...),
	}
}

func TestLookup(t *testing.T) {
	ss, err := Lookup(suites(), []string{Load, Integrated})
	if err != nil {
		t.Fatalf("Lookup([load integrated]): %v", err)
	}
	if got := []string{ss[0].Name, ss[1].Name}; len(ss) != 2 || !slices.Equal(got, []string{Integrated, Load}) {
		t.Errorf("Lookup([load integrated]) = %v; want run order [integrated load]", got)
	}
	for _, n := range []string{Integrated, Load} {
		if s := mustSuite(t, n); s.Checks == nil || s.Run == nil {
			t.Errorf("suite %s has a nil Run or Checks", n)
		}
	}
	_, err = Lookup(suites(), []string{Integrated, "nope"})
	if err == nil {
		t.Fatalf("Lookup([integrated nope]) = no error; want one naming nope")
	}
	for _, w := range []string{`unknown suite "nope"`, "known suites: integrated, load"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Lookup([integrated nope]) error = %q; want it to contain %q", err, w)
		}
	}
}

func TestIntegratedChecks(t *testing.T) {
	checks := mustSuite(t, Integrated).Checks
	sla := DefaultSLA()
	for _, tc := range []struct {
		name   string
		scs    []results.Scenario
		status map[string]string // the rest pass
		all    string            // when set, the status of every check
	}{
		{name: "healthy", scs: []results.Scenario{good(scenarioIntegrated, Integrated, 10, 40)}, all: results.Pass},
		{name: "not run", scs: nil, all: results.Skip},
		{name: "another suite's scenarios are not judged", scs: loadScenarios(40), all: results.Skip},
		{name: "too few samples fail every latency check for insufficient evidence, the rate is still judged",
			scs: []results.Scenario{good(scenarioIntegrated, Integrated, 1, 5)},
			all: results.Fail, status: map[string]string{"golden_path_success_rate": results.Pass,
				"golden_path_protocol_conformance": results.Pass, "golden_path_writes_read_back": results.Pass}},
		{name: "a slow agent factory fails its check only",
			scs:    []results.Scenario{good(scenarioIntegrated, Integrated, 10, 40, samples("server_factory", 40, 2*time.Second))},
			status: map[string]string{"agent_factory_under_500ms": results.Fail}},
		{name: "a slow handshake fails the WebSocket check",
			scs:    []results.Scenario{good(scenarioIntegrated, Integrated, 10, 40, samples(PhaseWSHandshake, 40, 4*time.Second))},
			status: map[string]string{"websocket_connection_under_3_seconds": results.Fail}},
		{name: "failures fail the success rate",
			scs:    []results.Scenario{good(scenarioIntegrated, Integrated, 10, 40, journeys(0, 10))},
			status: map[string]string{"golden_path_success_rate": results.Fail}},
		{name: "an empty scenario fails the success rate",
			scs: []results.Scenario{scenario(scenarioIntegrated, Integrated, 10)},
			all: results.Fail, status: map[string]string{"golden_path_success_rate": results.Fail,
				"golden_path_protocol_conformance": results.Fail, "golden_path_writes_read_back": results.Fail}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checks(tc.scs, sla)
			if !slices.Equal(names(got), integratedNames) {
				t.Fatalf("integrated Checks names = %q; want %q", names(got), integratedNames)
			}
			for _, c := range got {
				want := results.Pass
				if tc.all != "" {
					want = tc.all
				}
				if s, ok := tc.status[c.Name]; ok {
					want = s
				}
				if c.Status != want {
					t.Errorf("integrated check %s = %s (%s); want %s", c.Name, c.Status, c.Evidence, want)
				}
				if c.Suite != Integrated || c.Evidence == "" {
					t.Errorf("integrated check %s: suite %q, evidence %q; want suite %q and some evidence", c.Name, c.Suite, c.Evidence, Integrated)
				}
			}
		})
	}
}

func TestLoadChecks(t *testing.T) {
	checks := mustSuite(t, Load).Checks
	sla := DefaultSLA()
	capacity := []results.Scenario{good(capacityPrefix+"20", Load, 20, 40), good(capacityPrefix+"40", Load, 40, 40)}
	for _, tc := range []struct {
		name     string
		scs      []results.Scenario
		status   map[string]string // the rest pass; memory is always skipped
		evidence map[string]string // in a check's evidence
	}{
		{name: "healthy", scs: append(loadScenarios(40), capacity...)},
		{name: "no capacity search skips its check", scs: loadScenarios(40),
			status:   map[string]string{"capacity_search": results.Skip},
			evidence: map[string]string{"capacity_search": "--max-users 0"}},
		{name: "not run", scs: nil, status: map[string]string{
			"5_concurrent_users_golden_path": results.Skip, "10_concurrent_users_sustained_load": results.Skip,
			"15_concurrent_users_peak_load": results.Skip, "concurrent_websocket_connections": results.Skip,
			"concurrent_agent_executions": results.Skip, "concurrent_database_operations": results.Skip,
			"error_rate_under_load": results.Skip, "capacity_search": results.Skip,
			"protocol_conformance_under_load": results.Skip, "writes_read_back_under_load": results.Skip}},
		{name: "failed WebSocket connections in the burst",
			scs:      append(loadScenarios(40, journeys(0, 2), failures("connect", journey.PhaseWSConnect, 2)), capacity...),
			status:   map[string]string{"concurrent_websocket_connections": results.Fail},
			evidence: map[string]string{"concurrent_websocket_connections": "[fail] 2 failed WebSocket connections; errors: connect x2"}},
		{name: "a refused upgrade counts as a failed connection",
			scs:      append(loadScenarios(40, journeys(0, 1), failures("close:1008", journey.PhaseWSReady, 1)), capacity...),
			status:   map[string]string{"concurrent_websocket_connections": results.Fail},
			evidence: map[string]string{"concurrent_websocket_connections": "1 failed WebSocket connections"}},
		{name: "failed agent runs in the burst",
			scs:    append(loadScenarios(40, journeys(0, 1), failures("timeout", journey.PhaseFirstEvent, 1)), capacity...),
			status: map[string]string{"concurrent_agent_executions": results.Fail}},
		{name: "failed database operations in the burst",
			scs:    append(loadScenarios(40, journeys(0, 1), failures("http_status:500", journey.PhaseDBOperation, 1)), capacity...),
			status: map[string]string{"concurrent_database_operations": results.Fail}},
		{name: "a slow handshake in the burst",
			scs:      append(loadScenarios(40, samples(PhaseWSHandshake, 40, 5*time.Second)), capacity...),
			status:   map[string]string{"concurrent_websocket_connections": results.Fail},
			evidence: map[string]string{"concurrent_websocket_connections": "[pass] no failed WebSocket connections; [fail] ws_handshake p95"}},
		{name: "errors across the load scenarios, not the capacity steps",
			scs: []results.Scenario{
				good(scenarioUsers5, Load, 5, 40, journeys(0, 1)),
				good(scenarioUsers10, Load, 10, 40, journeys(0, 2)),
				good(scenarioUsers15, Load, 15, 40, journeys(0, 3)),
				good(scenarioBurst, Load, 50, 40, journeys(0, 3)),
				good(capacityPrefix+"20", Load, 20, 400), // would dilute the error rate to under 5%
			},
			status: map[string]string{"error_rate_under_load": results.Fail, "5_concurrent_users_golden_path": results.Fail,
				"10_concurrent_users_sustained_load": results.Fail, "15_concurrent_users_peak_load": results.Fail},
			evidence: map[string]string{"error_rate_under_load": "(160 ok, 9 failed of 169 journeys",
				"15_concurrent_users_peak_load": "[fail] success_rate = 93.02% (40 ok, 3 failed of 43 journeys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checks(tc.scs, sla)
			if !slices.Equal(names(got), loadNames) {
				t.Fatalf("load Checks names = %q; want %q", names(got), loadNames)
			}
			for _, c := range got {
				want := results.Pass
				if c.Name == "memory_usage_under_load" {
					want = results.Skip
				}
				if s, ok := tc.status[c.Name]; ok {
					want = s
				}
				if c.Status != want {
					t.Errorf("load check %s = %s (%s); want %s", c.Name, c.Status, c.Evidence, want)
				}
				if c.Suite != Load || c.Evidence == "" {
					t.Errorf("load check %s: suite %q, evidence %q; want suite %q and some evidence", c.Name, c.Suite, c.Evidence, Load)
				}
				if w, ok := tc.evidence[c.Name]; ok && !strings.Contains(c.Evidence, w) {
					t.Errorf("load check %s evidence = %q; want it to contain %q", c.Name, c.Evidence, w)
				}
			}
		})
	}
}

func TestLoadChecksSlowUsersScenario(t *testing.T) {
	scs := []results.Scenario{
		good(scenarioUsers5, Load, 5, 40),
		good(scenarioUsers10, Load, 10, 40, samples("journey", 400, 61*time.Second)),
	}
	c := byName(mustSuite(t, Load).Checks(scs, DefaultSLA()))
	if got := c["10_concurrent_users_sustained_load"]; got.Status != results.Fail || !strings.Contains(got.Evidence, "[pass] success_rate") || !strings.Contains(got.Evidence, "[fail] journey p95 = 61") {
		t.Errorf("10 users with journey p95 61 s: %s (%s); want fail, with the success rate passing and the journey p95 failing", got.Status, got.Evidence)
	}
	if got := c["5_concurrent_users_golden_path"]; got.Status != results.Pass {
		t.Errorf("5 users healthy: %s (%s); want pass", got.Status, got.Evidence)
	}
	if got := c["15_concurrent_users_peak_load"]; got.Status != results.Skip {
		t.Errorf("15 users not run: %s (%s); want skip", got.Status, got.Evidence)
	}
	if got := c["memory_usage_under_load"]; got.Status != results.Skip || !strings.Contains(got.Evidence, "memory") {
		t.Errorf("memory_usage_under_load = %s (%s); want skip with a reason about memory", got.Status, got.Evidence)
	}
}

// A suite's Unselected checks are judged only when the suite is not
// selected, after the selected suites' checks; selected, its Checks are.
func TestEvaluateUnselected(t *testing.T) {
	finder := Suite{Name: "finder",
		Checks: func([]results.Scenario, SLA) []results.Check {
			return []results.Check{{Suite: "finder", Name: "selected", Status: results.Pass}}
		},
		Unselected: func(scs []results.Scenario, _ SLA) []results.Check {
			if Find(scs, "finding") == nil {
				return nil
			}
			return []results.Check{{Suite: "finder", Name: "found", Status: results.Fail}}
		},
	}
	all := append(suites(), finder)
	finding := results.Scenario{Name: "finding", Suite: "finder"}
	for _, tc := range []struct {
		name   string
		suites []string
		scs    []results.Scenario
		last   string // the name of the last check; "" for an integrated one
		status string
	}{
		{"not selected, with its scenario", []string{Integrated}, []results.Scenario{finding}, "found", results.Fail},
		{"not selected, without its scenario", []string{Integrated}, nil, "", results.Pass},
		{"selected", []string{Integrated, "finder"}, []results.Scenario{finding}, "selected", results.Pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &results.Results{Options: results.Options{Suites: tc.suites}, Scenarios: tc.scs}
			if err := Evaluate(res, DefaultSLA(), all); err != nil {
				t.Fatal(err)
			}
			last := res.Checks[len(res.Checks)-1]
			want := tc.last
			if want == "" {
				want = integratedNames[len(integratedNames)-1]
			}
			if last.Name != want || res.Status != tc.status {
				t.Errorf("Evaluate(suites %v): last check %s, status %s; want %s, %s", tc.suites, last.Name, res.Status, want, tc.status)
			}
		})
	}
}

// A suite that runs in segment 1 only is judged where segment 1's
// results are (alone, or merged with the others); on other segments'
// results alone its checks skip, saying why, instead of failing for want
// of evidence that was never theirs to gather.
func TestEvaluateFirstSegment(t *testing.T) {
	first := Suite{Name: "first", FirstSegment: true,
		Checks: func(scs []results.Scenario, _ SLA) []results.Check {
			if Find(scs, "burst") == nil {
				return []results.Check{{Suite: "first", Name: "judged", Status: results.Fail, Evidence: "no burst"}}
			}
			return []results.Check{{Suite: "first", Name: "judged", Status: results.Pass}}
		},
	}
	all := append(suites(), first)
	burst := []results.Scenario{{Name: "burst", Suite: "first"}}
	for _, tc := range []struct {
		segments []string
		scs      []results.Scenario
		status   string
		evidence string
	}{
		{nil, burst, results.Pass, ""},
		{[]string{"1/1"}, burst, results.Pass, ""},
		{[]string{"1/3"}, burst, results.Pass, ""},
		{[]string{"1/3", "2/3", "3/3"}, burst, results.Pass, ""},
		{[]string{"1/3", "2/3", "3/3"}, nil, results.Fail, "no burst"}, // merged, segment 1 ran it: judged
		{[]string{"2/3"}, nil, results.Skip, "runs whole in segment 1 of the test; these results hold segment 2/3 only"},
		{[]string{"2/3", "3/3"}, nil, results.Skip, "segment 2/3, 3/3 only"},
	} {
		res := &results.Results{Options: results.Options{Suites: []string{"first"}}, Segments: tc.segments, Scenarios: tc.scs}
		if err := Evaluate(res, DefaultSLA(), all); err != nil {
			t.Fatal(err)
		}
		c := res.Checks[0]
		if c.Status != tc.status || !strings.Contains(c.Evidence, tc.evidence) {
			t.Errorf("Evaluate(segments %q): judged = %s (%q); want %s with evidence containing %q", tc.segments, c.Status, c.Evidence, tc.status, tc.evidence)
		}
	}
	for _, tc := range []struct {
		seg  load.Segment
		want bool
	}{{load.Whole, false}, {load.Segment{Index: 0, Count: 3}, false}, {load.Segment{Index: 1, Count: 3}, true}} {
		if got := first.SkipsSegment(tc.seg); got != tc.want {
			t.Errorf("SkipsSegment(%s) = %t; want %t", tc.seg, got, tc.want)
		}
		if got := IntegratedSuite().SkipsSegment(tc.seg); got {
			t.Errorf("integrated SkipsSegment(%s) = true; want false: its load is split", tc.seg)
		}
	}
}
