package suite

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/results"
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
	Run func(ctx context.Context, e *Env, add func(results.Scenario)) (interrupted bool, err error)
	// Checks judges the scenarios (from this run or merged segments).
	Checks func(scs []results.Scenario, sla SLA) []results.Check
	// Unselected, when set, judges the checks that count even when the
	// suite was not selected, on scenarios another part of the run added
	// (the race suite's go_race_detector_reports after --race-detector);
	// it returns nothing when there are none.
	Unselected func(scs []results.Scenario, sla SLA) []results.Check
	// FirstSegment says the suite runs whole in segment 1 of a
	// distributed test and not at all in the others: its scenarios judge
	// one process's view of the target (races provoked by one burst, the
	// target's memory over cycles of a fixed load, rounds against a
	// baseline taken by one process), which neither splits nor adds up.
	// Without it the suite's load is split across the segments.
	FirstSegment bool
}

// SkipsSegment reports whether s does not run in segment seg: s runs in
// segment 1 only and seg is another.
func (s Suite) SkipsSegment(seg load.Segment) bool {
	return s.FirstSegment && seg.Count > 1 && seg.Index != 0
}

// NotInSegment is the evidence of a check of a suite that runs in segment
// 1 only, judged on the results of other segments alone.
func NotInSegment(segments []string) string {
	return "the suite runs whole in segment 1 of the test; these results hold segment " + strings.Join(segments, ", ") +
		" only: merge every segment (goldenpath merge) to judge it"
}

// Lookup returns the suites of all that names names, in the order of all;
// an unknown name is an error that lists the known ones.
func Lookup(all []Suite, names []string) ([]Suite, error) {
	known := make([]string, len(all))
	for i, s := range all {
		known[i] = s.Name
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("suite: unknown suite %q; known suites: %s", n, strings.Join(known, ", "))
		}
	}
	var out []Suite
	for _, s := range all {
		if slices.Contains(names, s.Name) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Evaluate recomputes every check (and the capacity result) of res from
// its scenarios and the SLA: the checks of the suites of all that
// res.Options.Suites names, then the Unselected checks of the others.
func Evaluate(res *results.Results, sla SLA, all []Suite) error {
	suites, err := Lookup(all, res.Options.Suites)
	if err != nil {
		return err
	}
	res.Checks = nil
	for _, s := range suites {
		checks := s.Checks(res.Scenarios, sla)
		if s.FirstSegment && !holdsFirstSegment(res.Segments) {
			for i := range checks {
				checks[i].Status, checks[i].Evidence = results.Skip, NotInSegment(res.Segments)
			}
		}
		res.Checks = append(res.Checks, checks...)
	}
	for _, s := range all {
		if s.Unselected != nil && !slices.Contains(res.Options.Suites, s.Name) {
			res.Checks = append(res.Checks, s.Unselected(res.Scenarios, sla)...)
		}
	}
	res.Capacity = capacityOf(res.Scenarios, sla)
	if res.Interrupted {
		// A partial run never reads as green, even to a reader of junit.xml
		// alone.
		res.Checks = append(res.Checks, results.Check{Suite: "run", Name: "run_completed", Status: results.Fail,
			Evidence: "the run was interrupted before every scenario ran; these are partial results"})
	}
	res.Status = results.Pass
	if res.Failed() {
		res.Status = results.Fail
	}
	return nil
}

// holdsFirstSegment reports whether results of segments hold segment 1
// (or are a test's whole, "1/1", or older results that name none).
func holdsFirstSegment(segments []string) bool {
	if len(segments) == 0 {
		return true
	}
	for _, s := range segments {
		if seg, err := load.ParseSegment(s); err == nil && seg.Index == 0 {
			return true
		}
	}
	return false
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

// FullJourney is the journey of the integrated and load suites and the
// regression rounds: one message, the config read and the DB operations.
func FullJourney() journey.Options {
	return journey.Options{Messages: 1, ConfigAccess: true, DBOps: true}
}

// Journey kinds ([Env].Journey).
const (
	JourneyFull    = "full"    // login, config read, socket, one run, the store checks
	JourneyMinimal = "minimal" // login, socket, one run, close
)

// MainJourney is the journey of the integrated and load suites and the
// regression rounds: [FullJourney], or without the config read and the
// store checks when e.Journey is minimal.
func (e *Env) MainJourney() journey.Options {
	jo := FullJourney()
	if e.Journey == JourneyMinimal {
		jo.ConfigAccess, jo.DBOps = false, false
	}
	return jo
}

// IntegratedSuite is the integrated suite: the golden path at the base
// concurrency, each phase judged against its SLA.
func IntegratedSuite() Suite {
	return Suite{
		Name: Integrated,
		Run: func(ctx context.Context, e *Env, add func(results.Scenario)) (bool, error) {
			plan := load.Plan{Model: load.Closed, Users: e.Users, Duration: e.Duration, Think: e.Think, Iterations: e.Iterations}
			if e.Rate > 0 {
				plan = load.Plan{Model: load.Open, Rate: e.Rate, Users: max(e.Users, 1000), Duration: e.Duration, Iterations: e.Iterations}
			}
			sc, stopped, err := e.Scenario(ctx, scenarioIntegrated, Integrated, plan, e.MainJourney())
			if err != nil {
				return false, err
			}
			add(sc)
			return stopped, nil
		},
		Checks: func(scs []results.Scenario, sla SLA) []results.Check {
			sc := Find(scs, scenarioIntegrated)
			var out []results.Check
			for _, ir := range integratedRules {
				out = append(out, slaCheck(Integrated, ir.check, sc, sla[ir.metric]))
			}
			out = append(out,
				rateCheck(Integrated, "golden_path_success_rate", sla[RateSuccess], sc),
				protocolCheck(Integrated, "golden_path_protocol_conformance", sc),
				readBackCheck(Integrated, "golden_path_writes_read_back", sc))
			out = append(out, chatChecks(Integrated, sc, sla)...)
			return append(out, sla.phaseChecks(Integrated, sc)...)
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

// BurstUsers is how many users start at once in the load suite's
// concurrency burst and in each regression round's burst.
func BurstUsers(e *Env) int { return max(50, e.Users) }

// LoadSuite is the load suite: 5, 10 and 15 users, a concurrency burst,
// and the capacity search.
func LoadSuite() Suite {
	return Suite{
		Name: Load,
		Run: func(ctx context.Context, e *Env, add func(results.Scenario)) (bool, error) {
			ramp := min(2*time.Second, e.Duration/4)
			steps := []struct {
				name string
				plan load.Plan
			}{
				{scenarioUsers5, load.Plan{Model: load.Closed, Users: 5, Duration: e.Duration, Think: e.Think}},
				{scenarioUsers10, load.Plan{Model: load.Closed, Users: 10, Duration: e.Duration, Think: e.Think}},
				{scenarioUsers15, load.Plan{Model: load.Closed, Users: 15, Think: e.Think,
					Stages: []load.Stage{{Duration: ramp, Target: 15}, {Duration: e.Duration, Target: 15}}}},
				{scenarioBurst, load.Plan{Model: load.Closed, Users: BurstUsers(e), Iterations: int64(BurstUsers(e))}},
			}
			for _, s := range steps {
				sc, stopped, err := e.Scenario(ctx, s.name, Load, s.plan, e.MainJourney())
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

func loadChecks(scs []results.Scenario, sla SLA) []results.Check {
	users := func(check, scenario string) results.Check {
		sc := Find(scs, scenario)
		return allOf(Load, check,
			rateCheck(Load, check, sla[RateSuccess], sc),
			slaCheck(Load, check, sc, sla["journey"]))
	}
	burst := Find(scs, scenarioBurst)
	var loadScs []*results.Scenario
	for i := range scs {
		if scs[i].Suite == Load && !strings.HasPrefix(scs[i].Name, capacityPrefix) {
			loadScs = append(loadScs, &scs[i])
		}
	}
	out := []results.Check{
		users("5_concurrent_users_golden_path", scenarioUsers5),
		users("10_concurrent_users_sustained_load", scenarioUsers10),
		users("15_concurrent_users_peak_load", scenarioUsers15),
		allOf(Load, "concurrent_websocket_connections",
			zeroCheck("failed WebSocket connections", PhaseErrors(deref(burst), journey.PhaseWSConnect, journey.PhaseWSReady), burst),
			slaCheck(Load, "", burst, sla["ws_handshake"])),
		allOf(Load, "concurrent_agent_executions",
			zeroCheck("failed agent runs", PhaseErrors(deref(burst), journey.PhaseFirstEvent, journey.PhaseAgentExecution), burst),
			slaCheck(Load, "", burst, sla["agent_execution"])),
		allOf(Load, "concurrent_database_operations",
			zeroCheck("failed database operations", PhaseErrors(deref(burst), journey.PhaseDBOperation), burst),
			slaCheck(Load, "", burst, sla["db_operation"])),
		rateCheck(Load, "error_rate_under_load", sla[RateError], loadScs...),
		protocolCheck(Load, "protocol_conformance_under_load", loadScs...),
		readBackCheck(Load, "writes_read_back_under_load", loadScs...),
		memoryUnderLoad(scs),
	}
	return append(out, capacityCheck(capacityOf(scs, sla)))
}

func deref(sc *results.Scenario) results.Scenario {
	if sc == nil {
		return results.Scenario{}
	}
	return *sc
}

func sortStrings(s []string) []string { sort.Strings(s); return s }
