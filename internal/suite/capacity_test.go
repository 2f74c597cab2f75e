package suite

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

func TestCapacitySteps(t *testing.T) {
	for _, tc := range []struct {
		max  int
		want []int
	}{
		{20, []int{20}},
		{10, []int{10}},
		{80, []int{20, 40, 80}},
		{100, []int{20, 40, 80, 100}},
		{160, []int{20, 40, 80, 160}},
	} {
		if got := capacitySteps(tc.max); !slices.Equal(got, tc.want) {
			t.Errorf("capacitySteps(%d) = %v; want %v", tc.max, got, tc.want)
		}
	}
}

// step is a capacity step of n healthy journeys at users, changed by mixes.
func step(users int, mixes ...mix) results.Scenario {
	return good(capacityPrefix+strconv.Itoa(users), Load, users, 40, mixes...)
}

func TestCapacity(t *testing.T) {
	slowJourney := samples("journey", 400, 70*time.Second)
	for _, tc := range []struct {
		name         string
		scs          []results.Scenario
		held, broke  int
		status       string
		reason       []string // in Capacity.Reason
		evidence     []string // in the capacity_search check's evidence
		stepsHeld    []bool
		stepsByUsers []int
	}{
		{name: "the journey p95 breaks at 80 users",
			scs:  []results.Scenario{step(20), step(40), step(80, slowJourney)},
			held: 40, broke: 80, status: results.Pass,
			reason:    []string{"journey p95 = 70.", "limit 1m0s"},
			evidence:  []string{"held 40 users (4.0 journeys/s, journey p95 2.00s)", "broke at 80 users: journey p95 = 70."},
			stepsHeld: []bool{true, true, false}, stepsByUsers: []int{20, 40, 80}},
		{name: "steps are judged in order of users, whatever their order in the results",
			scs:  []results.Scenario{step(80, slowJourney), step(20), step(40)},
			held: 40, broke: 80, status: results.Pass,
			stepsHeld: []bool{true, true, false}, stepsByUsers: []int{20, 40, 80}},
		{name: "every step holds",
			scs:  []results.Scenario{step(20), step(40), step(50)},
			held: 50, status: results.Pass,
			reason:    []string{"never broke: 50 users, the most tried, held", "raise --max-users"},
			evidence:  []string{"held 50 users", "raise --max-users"},
			stepsHeld: []bool{true, true, true}, stepsByUsers: []int{20, 40, 50}},
		{name: "the first step breaks",
			scs:  []results.Scenario{step(20, journeys(0, 5))},
			held: 0, broke: 20, status: results.Fail,
			reason:    []string{"success_rate = 88.89%"},
			evidence:  []string{"even the first step (20 users) broke: success_rate"},
			stepsHeld: []bool{false}, stepsByUsers: []int{20}},
		{name: "dropped journeys break a step",
			scs:  []results.Scenario{step(20), step(40, counter(CounterDropped, 3))},
			held: 20, broke: 40, status: results.Pass,
			reason:    []string{"3 journeys could not start on time"},
			stepsHeld: []bool{true, false}, stepsByUsers: []int{20, 40}},
		{name: "a step without journeys breaks",
			scs:  []results.Scenario{step(20), scenario(capacityPrefix+"40", Load, 40)},
			held: 20, broke: 40, status: results.Pass,
			reason: []string{"no journey completed"}, stepsHeld: []bool{true, false}, stepsByUsers: []int{20, 40}},
		{name: "a slow login breaks a step",
			scs:  []results.Scenario{step(20), step(40, samples("login", 400, 6*time.Second))},
			held: 20, broke: 40, status: results.Pass,
			reason: []string{"login p95"}, stepsHeld: []bool{true, false}, stepsByUsers: []int{20, 40}},
		{name: "component budgets do not define capacity",
			scs:  []results.Scenario{step(20, samples("config_access", 400, time.Second), samples("server_factory", 400, 2*time.Second))},
			held: 20, status: results.Pass, stepsHeld: []bool{true}, stepsByUsers: []int{20}},
		{name: "a step with too few samples to judge latency holds on its success rate",
			scs:  []results.Scenario{scenario(capacityPrefix+"20", Load, 20, journeys(5, 0), samples("journey", 5, 2*time.Hour))},
			held: 20, status: results.Pass, stepsHeld: []bool{true}, stepsByUsers: []int{20}},
		{name: "a step that holds after one broke does not raise the capacity",
			scs:  []results.Scenario{step(20), step(40, slowJourney), step(80)},
			held: 20, broke: 40, status: results.Pass,
			stepsHeld: []bool{true, false, true}, stepsByUsers: []int{20, 40, 80}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := capacityOf(tc.scs, DefaultSLA())
			if c == nil {
				t.Fatalf("capacityOf(%d steps) = nil; want a result", len(tc.scs))
			}
			if c.Held != tc.held || c.Broke != tc.broke {
				t.Errorf("capacityOf: held %d, broke %d (%s); want held %d, broke %d", c.Held, c.Broke, c.Reason, tc.held, tc.broke)
			}
			var held []bool
			var users []int
			for _, s := range c.Steps {
				held, users = append(held, s.Held), append(users, s.Users)
				if s.Held != (s.Reason == "") {
					t.Errorf("capacity step %d: held %t with reason %q; want a reason exactly when it broke", s.Users, s.Held, s.Reason)
				}
			}
			if !slices.Equal(held, tc.stepsHeld) || !slices.Equal(users, tc.stepsByUsers) {
				t.Errorf("capacityOf steps: users %v held %v; want users %v held %v", users, held, tc.stepsByUsers, tc.stepsHeld)
			}
			for _, w := range tc.reason {
				if !strings.Contains(c.Reason, w) {
					t.Errorf("capacityOf reason = %q; want it to contain %q", c.Reason, w)
				}
			}
			ch := byName(mustSuite(t, Load).Checks(tc.scs, DefaultSLA()))["capacity_search"]
			if ch.Status != tc.status {
				t.Errorf("capacity_search = %s (%s); want %s", ch.Status, ch.Evidence, tc.status)
			}
			for _, w := range tc.evidence {
				if !strings.Contains(ch.Evidence, w) {
					t.Errorf("capacity_search evidence = %q; want it to contain %q", ch.Evidence, w)
				}
			}
			if ch.Status == results.Pass && (ch.Observed != float64(tc.held) || ch.Unit != "users") {
				t.Errorf("capacity_search observed %g %s; want %d users", ch.Observed, ch.Unit, tc.held)
			}
		})
	}
}

func TestCapacityNotRun(t *testing.T) {
	if c := capacityOf([]results.Scenario{good(scenarioUsers5, Load, 5, 40)}, DefaultSLA()); c != nil {
		t.Errorf("capacityOf(no capacity steps) = %+v; want nil", c)
	}
	if ch := capacityCheck(nil); ch.Status != results.Skip || !strings.Contains(ch.Evidence, "did not run") {
		t.Errorf("capacityCheck(nil) = %s (%s); want skip, saying it did not run", ch.Status, ch.Evidence)
	}
}

func TestCapacityStepFigures(t *testing.T) {
	sc := step(40, journeys(0, 1))
	c := capacityOf([]results.Scenario{sc}, DefaultSLA())
	s := c.Steps[0]
	if s.Users != 40 || s.Throughput != sc.Throughput || s.JourneyP95 != sc.Phases["journey"].P95 {
		t.Errorf("capacity step = %+v; want users 40, throughput %g, journey p95 %g", s, sc.Throughput, sc.Phases["journey"].P95)
	}
	if want := 1.0 / 41; s.ErrorRate != want {
		t.Errorf("capacity step error rate = %g; want %g (1 failed of 41)", s.ErrorRate, want)
	}
}

func TestEvaluate(t *testing.T) {
	healthy := append(loadScenarios(40), good(scenarioIntegrated, Integrated, 10, 40), step(20), step(40, samples("journey", 400, 70*time.Second)))
	for _, tc := range []struct {
		name   string
		suites []string
		scs    []results.Scenario
		status string
		checks int
	}{
		{"every check passes or skips", []string{Integrated, Load}, healthy, results.Pass, len(integratedNames) + len(loadNames)},
		{"only the named suites are judged", []string{Integrated}, healthy, results.Pass, len(integratedNames)},
		{"skips alone do not fail", []string{Integrated}, nil, results.Pass, len(integratedNames)},
		{"one failed check fails the run", []string{Integrated, Load},
			append(slices.Clone(healthy[:4]), good(scenarioIntegrated, Integrated, 10, 40, samples("login", 40, 6*time.Second))),
			results.Fail, len(integratedNames) + len(loadNames)},
		{"a failed check in a suite not named does not count", []string{Load},
			append(slices.Clone(healthy[:4]), good(scenarioIntegrated, Integrated, 10, 40, samples("login", 40, 6*time.Second))),
			results.Pass, len(loadNames)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &results.Results{Options: results.Options{Suites: tc.suites}, Scenarios: tc.scs,
				Status: "stale", Checks: []results.Check{{Name: "stale", Status: results.Fail}}}
			for range 2 { // evaluating again gives the same result
				if err := Evaluate(res, DefaultSLA(), suites()); err != nil {
					t.Fatalf("Evaluate(suites %v): %v", tc.suites, err)
				}
				if res.Status != tc.status || len(res.Checks) != tc.checks {
					t.Errorf("Evaluate(suites %v) = %s with %d checks; want %s with %d", tc.suites, res.Status, len(res.Checks), tc.status, tc.checks)
				}
				var failed []string
				for _, c := range res.Checks {
					if c.Status == results.Fail {
						failed = append(failed, c.Name)
					}
				}
				if (len(failed) > 0) != (res.Status == results.Fail) {
					t.Errorf("Evaluate(suites %v) = %s with failed checks %v; want fail iff a check failed", tc.suites, res.Status, failed)
				}
			}
		})
	}
	res := &results.Results{Options: results.Options{Suites: []string{Load}}, Scenarios: healthy}
	if err := Evaluate(res, DefaultSLA(), suites()); err != nil || res.Capacity == nil || res.Capacity.Held != 20 || res.Capacity.Broke != 40 {
		t.Errorf("Evaluate(load) capacity = %+v, %v; want held 20, broke 40", res.Capacity, err)
	}
	res = &results.Results{Options: results.Options{Suites: []string{Load, "nope"}}}
	if err := Evaluate(res, DefaultSLA(), suites()); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Evaluate(suites [load nope]) error = %v; want one naming \"nope\"", err)
	}
}

func TestSearchCapacityBisects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		breaksAt int // the fewest users that break; 0: none does
		ceiling  int
		want     []int
	}{
		{"breaks between 40 and 80: bisected to 60, 70, 65", 63, 160, []int{20, 40, 80, 60, 70, 65}},
		{"never breaks: doubling to the ceiling", 0, 160, []int{20, 40, 80, 160}},
		{"the first step breaks: nothing to bisect", 10, 160, []int{20}},
		{"breaks at the ceiling", 150, 160, []int{20, 40, 80, 160, 120, 140, 150}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tried []int
			stopped, err := searchCapacity(tc.ceiling, func(u int) (bool, bool, error) {
				tried = append(tried, u)
				return tc.breaksAt == 0 || u < tc.breaksAt, false, nil
			})
			if err != nil || stopped || !slices.Equal(tried, tc.want) {
				t.Errorf("tried %v (stopped %t, err %v); want %v", tried, stopped, err, tc.want)
			}
		})
	}
}

// The ceiling is the lowest of what bounds the search, and names it.
func TestCapacityCeiling(t *testing.T) {
	more := func(context.Context, int) ([]journey.Account, error) { return nil, nil }
	accts := make([]journey.Account, 30)
	for _, tc := range []struct {
		name string
		e    Env
		n    int    // 0: any, as long as why holds want
		want string // in why
	}{
		{"an explicit --max-users under the machine's limits", Env{MaxUsers: 40, MoreAccounts: more}, 40, "--max-users 40"},
		{"a users file's accounts", Env{MaxUsers: AutoMaxUsers, Accounts: accts}, 30, "the 30 accounts of the users file"},
		{"auto: the open-file limit or the memory", Env{MaxUsers: AutoMaxUsers, MoreAccounts: more}, 0, "which holds about"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, why := tc.e.capacityCeiling()
			if (tc.n != 0 && n != tc.n) || !strings.Contains(why, tc.want) {
				t.Errorf("ceiling %d (%s); want %d containing %q", n, why, tc.n, tc.want)
			}
			if tc.n == 0 && (n <= 0 || n >= AutoMaxUsers) {
				t.Errorf("auto ceiling %d (%s); want what this process can hold", n, why)
			}
		})
	}
}

// A search that held at its ceiling names that ceiling; one that held
// below it (stopped) says it ended before.
func TestCapacityReasonNamesCeiling(t *testing.T) {
	mark := func(sc results.Scenario, ceil int64, why string) results.Scenario {
		sc.Metrics.Counters[counterCeiling] = ceil
		sc.Samples = append(sc.Samples, results.Sample{Kind: kindCeiling, Detail: why})
		return sc
	}
	why := "this process's open-file limit (ulimit -n 1024), which holds about 480 users at 2 files each"
	c := capacityOf([]results.Scenario{mark(step(20), 40, why), mark(step(40), 40, why)}, DefaultSLA())
	if want := "never broke: 40 users, the most tried, held; the ceiling was " + why; c.Reason != want {
		t.Errorf("reason %q; want %q", c.Reason, want)
	}
	c = capacityOf([]results.Scenario{mark(step(20), 80, why)}, DefaultSLA())
	if !strings.Contains(c.Reason, "ended before its ceiling of 80 users") {
		t.Errorf("reason %q; want it to say the search ended before its ceiling", c.Reason)
	}
}
