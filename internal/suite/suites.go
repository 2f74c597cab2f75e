package suite

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/report"
)

// Suite names.
const (
	Integrated = "integrated"
	Load       = "load"
)

// Suite is a named set of scenarios and the checks judged on them.
type Suite struct {
	Name string
	// Run runs the suite's scenarios, handing each to add as it finishes.
	Run func(ctx context.Context, e *Env, add func(report.Scenario)) (interrupted bool, err error)
	// Checks judges the scenarios (from this run or merged segments).
	Checks func(scs []report.Scenario, sla SLA) []report.Check
}

// All returns every suite that exists, in run order.
func All() []Suite {
	return []Suite{integratedSuite(), loadSuite(), raceSuite(), memorySuite(), regressionSuite()}
}

// Names lists the suites that exist.
func Names() []string {
	var n []string
	for _, s := range All() {
		n = append(n, s.Name)
	}
	return n
}

// Lookup returns the named suites in run order; unknown names are an error
// that lists the known ones.
func Lookup(names []string) ([]Suite, error) {
	var out []Suite
	for _, n := range names {
		if !slices.Contains(Names(), n) {
			return nil, fmt.Errorf("suite: unknown suite %q; known suites: %s", n, strings.Join(Names(), ", "))
		}
	}
	for _, s := range All() {
		if slices.Contains(names, s.Name) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Evaluate recomputes every check (and the capacity result) of res from
// its scenarios and the SLA.
func Evaluate(res *report.Results, sla SLA) error {
	suites, err := Lookup(res.Options.Suites)
	if err != nil {
		return err
	}
	res.Checks = nil
	for _, s := range suites {
		res.Checks = append(res.Checks, s.Checks(res.Scenarios, sla)...)
	}
	if sc := find(res.Scenarios, scRaceDetector); sc != nil && !slices.Contains(res.Options.Suites, Race) {
		// --race-detector without the race suite: its findings still count.
		c := report.Check{Suite: Race, Name: "go_race_detector_reports", Scenario: sc.Name}
		c.Status, c.Evidence = judgeRaceDetector(sc)
		res.Checks = append(res.Checks, c)
	}
	res.Capacity = capacityOf(res.Scenarios, sla)
	if res.Interrupted {
		// A partial run never reads as green, even to a reader of junit.xml
		// alone.
		res.Checks = append(res.Checks, report.Check{Suite: "run", Name: "run_completed", Status: report.Fail,
			Evidence: "the run was interrupted before every scenario ran; these are partial results"})
	}
	res.Status = report.Pass
	if res.Failed() {
		res.Status = report.Fail
	}
	return nil
}

// ---- integrated ----

// integratedRules maps the seed's check names to the SLA metric they judge.
var integratedRules = []struct{ check, metric string }{
	{"complete_golden_path_under_60_seconds", "journey"},
	{"authentication_under_5_seconds", "login"},
	{"websocket_connection_under_3_seconds", "ws_handshake"},
	{"agent_execution_under_45_seconds", "agent_execution"},
	{"response_delivery_under_2_seconds", "response_delivery"},
	{"configuration_access_under_10ms", "config_access"},
	{"agent_factory_under_500ms", "server_factory"},
	{"database_operations_under_1_second", "db_operation"},
}

const scenarioIntegrated = "integrated"

func fullJourney() journey.Options {
	return journey.Options{Messages: 1, ConfigAccess: true, DBOps: true}
}

func integratedSuite() Suite {
	return Suite{
		Name: Integrated,
		Run: func(ctx context.Context, e *Env, add func(report.Scenario)) (bool, error) {
			plan := load.Plan{Model: load.Closed, Users: e.Users, Duration: e.Duration, Think: e.Think}
			if e.Rate > 0 {
				plan = load.Plan{Model: load.Open, Rate: e.Rate, Users: max(e.Users, 1000), Duration: e.Duration}
			}
			sc, stopped, err := e.Scenario(ctx, scenarioIntegrated, Integrated, plan, fullJourney())
			if err != nil {
				return false, err
			}
			add(sc)
			return stopped, nil
		},
		Checks: func(scs []report.Scenario, sla SLA) []report.Check {
			sc := find(scs, scenarioIntegrated)
			var out []report.Check
			for _, ir := range integratedRules {
				out = append(out, slaCheck(Integrated, ir.check, sc, sla[ir.metric]))
			}
			c := rateCheck(Integrated, "golden_path_success_rate", sla[RateSuccess], sc)
			return append(out, c)
		},
	}
}

// ---- load ----

const (
	scenarioUsers5  = "users_5"
	scenarioUsers10 = "users_10_sustained"
	scenarioUsers15 = "users_15_peak"
	scenarioBurst   = "concurrency_burst"
	capacityPrefix  = "capacity_users_"
)

// burstUsers is how many users start at once in the concurrency burst.
func burstUsers(e *Env) int { return max(50, e.Users) }

func loadSuite() Suite {
	return Suite{
		Name: Load,
		Run: func(ctx context.Context, e *Env, add func(report.Scenario)) (bool, error) {
			ramp := min(2*time.Second, e.Duration/4)
			steps := []struct {
				name string
				plan load.Plan
			}{
				{scenarioUsers5, load.Plan{Model: load.Closed, Users: 5, Duration: e.Duration, Think: e.Think}},
				{scenarioUsers10, load.Plan{Model: load.Closed, Users: 10, Duration: e.Duration, Think: e.Think}},
				{scenarioUsers15, load.Plan{Model: load.Closed, Users: 15, Think: e.Think,
					Stages: []load.Stage{{Duration: ramp, Target: 15}, {Duration: e.Duration, Target: 15}}}},
				{scenarioBurst, load.Plan{Model: load.Closed, Users: burstUsers(e), Iterations: int64(burstUsers(e))}},
			}
			for _, s := range steps {
				sc, stopped, err := e.Scenario(ctx, s.name, Load, s.plan, fullJourney())
				if err != nil {
					return false, err
				}
				if s.plan.Stages != nil {
					sc.Users = 15
				}
				add(sc)
				if stopped {
					return true, nil
				}
			}
			return capacitySearch(ctx, e, add)
		},
		Checks: loadChecks,
	}
}

func loadChecks(scs []report.Scenario, sla SLA) []report.Check {
	users := func(check, scenario string) report.Check {
		sc := find(scs, scenario)
		return allOf(Load, check,
			rateCheck(Load, check, sla[RateSuccess], sc),
			slaCheck(Load, check, sc, sla["journey"]))
	}
	burst := find(scs, scenarioBurst)
	var loadScs []*report.Scenario
	for i := range scs {
		if scs[i].Suite == Load && !strings.HasPrefix(scs[i].Name, capacityPrefix) {
			loadScs = append(loadScs, &scs[i])
		}
	}
	out := []report.Check{
		users("5_concurrent_users_golden_path", scenarioUsers5),
		users("10_concurrent_users_sustained_load", scenarioUsers10),
		users("15_concurrent_users_peak_load", scenarioUsers15),
		allOf(Load, "concurrent_websocket_connections",
			zeroCheck("failed WebSocket connections", phaseErrors(deref(burst), journey.PhaseWSConnect, journey.PhaseWSReady), burst),
			slaCheck(Load, "", burst, sla["ws_handshake"])),
		allOf(Load, "concurrent_agent_executions",
			zeroCheck("failed agent runs", phaseErrors(deref(burst), journey.PhaseFirstEvent, journey.PhaseAgentExecution), burst),
			slaCheck(Load, "", burst, sla["agent_execution"])),
		allOf(Load, "concurrent_database_operations",
			zeroCheck("failed database operations", phaseErrors(deref(burst), journey.PhaseDBOperation), burst),
			slaCheck(Load, "", burst, sla["db_operation"])),
		rateCheck(Load, "error_rate_under_load", sla[RateError], loadScs...),
		memoryUnderLoad(scs),
	}
	return append(out, capacityCheck(capacityOf(scs, sla)))
}

// memoryUnderLoad reports the target's peak memory at each step of users
// and how it grows with them.
func memoryUnderLoad(scs []report.Scenario) report.Check {
	c := report.Check{Suite: Load, Name: "memory_usage_under_load", Status: report.Pass}
	var parts []string
	var firstU, lastU int
	var firstM, lastM float64
	for _, name := range []string{scenarioUsers5, scenarioUsers10, scenarioUsers15, scenarioBurst} {
		sc := find(scs, name)
		if sc == nil {
			continue
		}
		v, ok := sc.Metrics.Counters[CounterTargetPeakRSS]
		if !ok {
			continue
		}
		m := float64(v)
		parts = append(parts, fmt.Sprintf("%d users: %s", sc.Users, mib(m)))
		if firstU == 0 {
			firstU, firstM = sc.Users, m
		}
		lastU, lastM = sc.Users, m
		if m >= MemoryBound {
			c.Status = report.Fail
		}
	}
	if len(parts) == 0 {
		c.Status = report.Skip
		c.Evidence = "the target's memory cannot be watched: it is not goldenpath's child process and has no /metrics endpoint"
		return c
	}
	c.Evidence = "peak RSS of the target: " + strings.Join(parts, ", ") + fmt.Sprintf(" (limit %s)", mib(MemoryBound))
	if lastU > firstU {
		c.Evidence += fmt.Sprintf("; about %s more per added user", mib((lastM-firstM)/float64(lastU-firstU)))
	}
	return c
}

func deref(sc *report.Scenario) report.Scenario {
	if sc == nil {
		return report.Scenario{}
	}
	return *sc
}

// ---- capacity ----

// capacitySteps are the user counts the search tries: doubling from 20 up
// to max, with max itself last.
func capacitySteps(maxUsers int) []int {
	var s []int
	for u := 20; u < maxUsers; u *= 2 {
		s = append(s, u)
	}
	return append(s, maxUsers)
}

// capacitySearch raises users step by step until a step breaks an SLA or
// the error budget; every step is its own scenario.
func capacitySearch(ctx context.Context, e *Env, add func(report.Scenario)) (bool, error) {
	if e.MaxUsers <= 0 {
		return false, nil
	}
	if e.Segment.Count > 1 {
		return false, nil // adaptive: it cannot be split across processes
	}
	for _, u := range capacitySteps(e.MaxUsers) {
		plan := load.Plan{Model: load.Closed, Users: u, Duration: e.StepDuration, Think: e.Think}
		sc, stopped, err := e.Scenario(ctx, capacityPrefix+strconv.Itoa(u), Load, plan, fullJourney())
		if err != nil {
			return false, err
		}
		add(sc)
		if stopped {
			return true, nil
		}
		if held, _ := stepHeld(&sc, e.SLA); !held {
			return false, nil
		}
	}
	return false, nil
}

// stepHeld judges one capacity step: the success rate and every latency
// rule with enough samples must hold, and no journey may be dropped.
func stepHeld(sc *report.Scenario, sla SLA) (bool, string) {
	if c := rateCheck(Load, "", sla[RateSuccess], sc); c.Status != report.Pass {
		return false, c.Evidence
	}
	if sc.Dropped > 0 {
		return false, fmt.Sprintf("%d journeys could not start on time", sc.Dropped)
	}
	for _, k := range capacityMetrics {
		r, ok := sla[k]
		if !ok {
			continue
		}
		if c := slaCheck(Load, "", sc, r); c.Status == report.Fail {
			return false, c.Evidence
		}
	}
	return true, ""
}

// capacityMetrics are the user-facing SLAs a capacity step must keep: the
// journey and its phases as a user lives them. Component budgets
// (config_access, server_factory) are judged by the integrated suite, not
// used to define capacity: on a machine shared by the load generator and
// the target, a 10 ms component budget measured over HTTP breaks long
// before users notice anything.
var capacityMetrics = []string{"journey", "login", "ws_handshake", "agent_execution", "response_delivery", "db_operation"}

// capacityOf rebuilds the capacity result from the capacity scenarios.
func capacityOf(scs []report.Scenario, sla SLA) *report.Capacity {
	var steps []report.Scenario
	for _, sc := range scs {
		if strings.HasPrefix(sc.Name, capacityPrefix) {
			steps = append(steps, sc)
		}
	}
	if len(steps) == 0 {
		return nil
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].Users < steps[j].Users })
	c := &report.Capacity{}
	for i := range steps {
		sc := &steps[i]
		held, why := stepHeld(sc, sla)
		var er float64
		if sc.Journeys > 0 {
			er = float64(sc.Failed) / float64(sc.Journeys)
		}
		c.Steps = append(c.Steps, report.CapacityStep{Users: sc.Users, Throughput: sc.Throughput,
			JourneyP95: sc.Phases["journey"].P95, ErrorRate: er, Held: held, Reason: why})
		if held && c.Broke == 0 {
			c.Held = sc.Users
		} else if !held && c.Broke == 0 {
			c.Broke, c.Reason = sc.Users, why
		}
	}
	if c.Broke == 0 {
		c.Reason = fmt.Sprintf("never broke: %d users, the most tried, held; raise --max-users to search further", c.Held)
	}
	return c
}

func capacityCheck(c *report.Capacity) report.Check {
	ch := report.Check{Suite: Load, Name: "capacity_search"}
	switch {
	case c == nil:
		ch.Status, ch.Evidence = report.Skip, "the capacity search did not run (--max-users 0, or a segmented run: an adaptive search cannot be split)"
	case c.Held == 0:
		ch.Status = report.Fail
		ch.Evidence = fmt.Sprintf("even the first step (%d users) broke: %s", c.Broke, c.Reason)
	default:
		ch.Status = report.Pass
		last := c.Steps[0]
		for _, s := range c.Steps {
			if s.Users == c.Held {
				last = s
			}
		}
		ch.Evidence = fmt.Sprintf("held %d users (%.1f journeys/s, journey p95 %s)", c.Held, last.Throughput, ms(last.JourneyP95))
		if c.Broke > 0 {
			ch.Evidence += fmt.Sprintf("; broke at %d users: %s", c.Broke, c.Reason)
		} else {
			ch.Evidence += "; " + c.Reason
		}
		ch.Observed, ch.Unit = float64(c.Held), "users"
	}
	return ch
}

func sortStrings(s []string) []string { sort.Strings(s); return s }
