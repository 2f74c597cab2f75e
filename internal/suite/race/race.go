// Package race is the race suite: races in the target found from outside,
// by oracles that judge every frame and every reply — WebSocket handshake
// races, concurrent agent instantiation, configuration reads during
// writes (porcupine linearizability), user isolation, cleanup after
// vanished clients, the database under concurrent writers (a Jepsen-style
// set check), event ordering, and, when the target is built with it, Go's
// race detector ([DetectorScenario]).
//
// [Suite] is run and judged through package suite like every suite; its
// scenarios keep their evidence as counters and samples, so merged
// segments are judged the same way.
package race

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/embedded"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// Name is the race suite's name.
const Name = "race"

// Race scenarios.
const (
	scRaceHandshake        = "race_handshake_instant"
	scRaceHandshakeSettled = "race_handshake_settled"
	scRaceFactoryBaseline  = "race_factory_baseline"
	scRaceFactory          = "race_factory_concurrent"
	scRaceConfig           = "race_config"
	scRaceMixed            = "race_mixed_load"
	scRaceCleanup          = "race_cleanup"
	scRaceDB               = "race_db_pool"
	scRaceDetector         = "race_detector"
)

// Race counters, stored in their scenario's metrics so that merged
// segments are judged the same way.
const (
	cDuplicateInstances = "duplicate_agent_instances"
	cConfigReads        = "config_reads"
	cConfigWrites       = "config_writes"
	cConfigTorn         = "config_torn_reads"
	cConfigBackwards    = "config_version_backwards"
	cLinIllegal         = "linearizability_illegal"
	cLinUnknown         = "linearizability_unknown"
	cLinOK              = "linearizability_ok"
	cSkipped            = "skipped" // the scenario could not run on this target (the reason is its first sample)
	cCleanupCycles      = "cleanup_cycles"
	cCleanupStale       = "cleanup_stale_events"
	cCleanupConnsOver   = "cleanup_connections_over_baseline"
	cCleanupRunsOver    = "cleanup_runs_over_baseline"
	cCleanupFailed      = "cleanup_cycle_errors"
	cDBAcked            = "db_acked_writes"
	cDBLost             = "db_lost"
	cDBDuplicated       = "db_duplicated"
	cDBUnexpected       = "db_unexpected"
	cDBRecovered        = "db_recovered" // writes sent but not acknowledged (timed out, failed) that were read back: indeterminate, not wrong
	cDBErrors           = "db_errors"
	cNotReadyAfter      = "not_ready_after"
	cDataRaces          = "data_races"
	cDataRaceReports    = "data_race_reports"
)

// raceUsers is how many users each race scenario uses at once.
func raceUsers(e *suite.Env) int { return max(10, min(e.Users*2, 40)) }

// Suite is the race suite. Its go_race_detector_reports check counts even
// when the suite is not selected: a run with --race-detector adds
// [DetectorScenario] whatever the suites.
func Suite() suite.Suite {
	return suite.Suite{Name: Name, Run: runRace, Checks: raceChecks, Unselected: detectorChecks}
}

// detectorChecks judges the race detector's scenario, when there is one.
func detectorChecks(scs []results.Scenario, _ suite.SLA) []results.Check {
	sc := suite.Find(scs, scRaceDetector)
	if sc == nil {
		return nil
	}
	c := results.Check{Suite: Name, Name: "go_race_detector_reports", Scenario: sc.Name}
	c.Status, c.Evidence = judgeRaceDetector(sc)
	return []results.Check{c}
}

func runRace(ctx context.Context, e *suite.Env, add func(results.Scenario)) (bool, error) {
	n := raceUsers(e)
	rt := e.ShortRunTimeout()
	burst := load.Plan{Model: load.Closed, Users: n, Iterations: int64(n)}
	type step struct {
		name string
		run  func() (results.Scenario, bool, error)
	}
	var seen sync.Map
	instances := func(_ load.Iteration, res *journey.Result, set *metrics.Set) {
		for _, id := range res.Instances {
			if _, dup := seen.LoadOrStore(id, true); dup {
				set.Add(cDuplicateInstances, 1)
			}
		}
	}
	steps := []step{
		{scRaceHandshake, func() (results.Scenario, bool, error) {
			return e.Scenario(ctx, scRaceHandshake, Name, burst, journey.Options{RunTimeout: rt})
		}},
		{scRaceHandshakeSettled, func() (results.Scenario, bool, error) {
			return e.Scenario(ctx, scRaceHandshakeSettled, Name, burst, journey.Options{RunTimeout: rt, SettleDelay: 20 * time.Millisecond})
		}},
		{scRaceFactoryBaseline, func() (results.Scenario, bool, error) {
			return e.Scenario(ctx, scRaceFactoryBaseline, Name, load.Plan{Model: load.Closed, Users: 1, Iterations: 3}, journey.Options{RunTimeout: rt})
		}},
		{scRaceFactory, func() (results.Scenario, bool, error) {
			return e.ScenarioFunc(ctx, scRaceFactory, Name, load.Plan{Model: load.Closed, Users: 10, Iterations: 10},
				func(load.Iteration) journey.Options { return journey.Options{RunTimeout: rt} }, instances)
		}},
		{scRaceConfig, func() (results.Scenario, bool, error) { return raceConfig(ctx, e) }},
		{scRaceMixed, func() (results.Scenario, bool, error) { return raceMixed(ctx, e, n, rt) }},
		{scRaceCleanup, func() (results.Scenario, bool, error) { return raceCleanup(ctx, e, n, rt) }},
		{scRaceDB, func() (results.Scenario, bool, error) { return raceDB(ctx, e, rt) }},
	}
	for _, s := range steps {
		sc, stopped, err := s.run()
		if err != nil {
			return false, err
		}
		add(sc)
		if stopped || ctx.Err() != nil {
			return true, nil
		}
	}
	return false, nil
}

// manual wraps the metrics of a scenario the suite drove itself.
func manual(name string, users int, set *metrics.Set, start time.Time, samples []results.Sample) results.Scenario {
	sc := results.Scenario{Name: name, Suite: Name, Model: "custom", Users: users, DurationS: time.Since(start).Seconds(), Samples: samples, Metrics: set.Snapshot()}
	suite.Summarise(&sc)
	return sc
}

// nonceRE finds goldenpath's per-user nonces: "gpn<vu>x<random>".
var nonceRE = regexp.MustCompile(`gpn(\d+)x`)

// foreignFor returns a hook that reports any nonce of a user other than vu.
func foreignFor(vu int) journey.ForeignFunc {
	own := strconv.Itoa(vu)
	return func(frame []byte) (string, bool) {
		for _, m := range nonceRE.FindAllSubmatch(frame, -1) {
			if string(m[1]) != own {
				if vu, err := strconv.Atoi(string(m[1])); err == nil && strconv.Itoa(vu) == string(m[1]) {
					return suite.VirtualUserName(vu), true
				}
				return "virtual user " + string(m[1]), true // not a nonce goldenpath made
			}
		}
		return "", false
	}
}

func nonceFor(vu int) func() string {
	return func() string { return fmt.Sprintf("gpn%dx%016x", vu, rand.Uint64()) }
}

// raceMixed is concurrent mixed load (journeys, config reads, thread
// writes and reads) where every user's frames and replies are scanned for
// every other user's nonces.
func raceMixed(ctx context.Context, e *suite.Env, n int, rt time.Duration) (results.Scenario, bool, error) {
	plan := load.Plan{Model: load.Closed, Users: n, Duration: min(e.Duration, 10*time.Second), Think: e.Think}
	sc, stopped, err := e.ScenarioFunc(ctx, scRaceMixed, Name, plan, func(it load.Iteration) journey.Options {
		return journey.Options{RunTimeout: rt, Messages: 2, ConfigAccess: true, DBOps: true, Nonce: nonceFor(it.VU), Foreign: foreignFor(it.VU)}
	}, nil)
	if err == nil && !stopped {
		if _, _, rerr := e.Target.JSON(ctx, "GET", "/readyz", "", nil, nil); rerr != nil {
			sc.Metrics.Counters[cNotReadyAfter] = 1
			sc.Samples = append(sc.Samples, results.Sample{Kind: "not_ready", Detail: "after the mixed load: " + rerr.Error()})
		}
	}
	return sc, stopped, err
}

// raceChecks judges the race scenarios.
func raceChecks(scs []results.Scenario, sla suite.SLA) []results.Check {
	chk := func(name string, sc *results.Scenario, judge func(sc *results.Scenario) (string, string)) results.Check {
		c := results.Check{Suite: Name, Name: name}
		switch {
		case sc == nil:
			c.Status, c.Evidence = results.Skip, "its scenario did not run"
		case sc.Metrics.Counters[cSkipped] > 0:
			c.Status, c.Scenario = results.Skip, sc.Name
			c.Evidence = "the target does not offer what this check needs"
			if len(sc.Samples) > 0 {
				c.Evidence = sc.Samples[0].Detail
			}
		default:
			c.Scenario = sc.Name
			c.Status, c.Evidence = judge(sc)
		}
		return c
	}
	out := []results.Check{
		chk("websocket_startup_handshake_race_conditions", suite.Find(scs, scRaceHandshake), func(sc *results.Scenario) (string, string) {
			return judgeHandshake(sc, suite.Find(scs, scRaceHandshakeSettled))
		}),
		chk("agent_factory_concurrent_instantiation", suite.Find(scs, scRaceFactory), func(sc *results.Scenario) (string, string) {
			return judgeFactory(sc, suite.Find(scs, scRaceFactoryBaseline))
		}),
		chk("configuration_thread_safety", suite.Find(scs, scRaceConfig), judgeConfig),
		chk("user_isolation_state_contamination", suite.Find(scs, scRaceMixed), judgeIsolation),
		chk("resource_cleanup_timing_conflicts", suite.Find(scs, scRaceCleanup), judgeCleanup),
		chk("database_connection_pooling_races", suite.Find(scs, scRaceDB), judgeDB),
		chk("websocket_event_delivery_ordering", suite.Find(scs, scRaceMixed), judgeOrdering),
		chk("memory_management_concurrent_access", suite.Find(scs, scRaceMixed), judgeConcurrentAccess),
	}
	return append(out, detectorChecks(scs, sla)...)
}

func sumPrefix(m map[string]int64, prefixes ...string) (n int64, parts []string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) && m[k] > 0 {
				n += m[k]
				parts = append(parts, fmt.Sprintf("%s x%d", k, m[k]))
			}
		}
	}
	return n, parts
}

func judgeHandshake(sc, settled *results.Scenario) (string, string) {
	lost := suite.PhaseErrors(*sc, journey.PhaseFirstEvent)
	internal, parts := sumPrefix(sc.Errors, "close:1011")
	backoff, bparts := sumPrefix(sc.Errors, "close:1013", "http_status:503")
	ev := fmt.Sprintf("%d users connected at once and sent their request the instant connection_established arrived: %d of %d requests got no reply", sc.Users, lost, sc.Journeys)
	if settled != nil {
		ev += fmt.Sprintf("; with a 20ms settle delay: %d of %d lost", suite.PhaseErrors(*settled, journey.PhaseFirstEvent), settled.Journeys)
	}
	if backoff > 0 {
		ev += "; refused with back-off (counted, not failed): " + strings.Join(bparts, ", ")
	}
	if lost > 0 || internal > 0 {
		if internal > 0 {
			ev += "; internal errors: " + strings.Join(parts, ", ")
		}
		if s := suite.FirstSample(sc, "timeout", "close"); s != "" {
			ev += "; e.g. " + s
		}
		return results.Fail, ev
	}
	if sc.Journeys == 0 {
		return results.Fail, "no journey ran"
	}
	return results.Pass, ev
}

func judgeFactory(sc, base *results.Scenario) (string, string) {
	dups := sc.Metrics.Counters[cDuplicateInstances]
	conc := sc.Phases[journey.PhaseAgentExecution]
	ev := fmt.Sprintf("%d simultaneous runs: %d reused an agent_instance_id", sc.Journeys, dups)
	status := results.Pass
	if dups > 0 {
		status = results.Fail
	}
	if base != nil && base.Phases[journey.PhaseAgentExecution].Count > 0 && conc.Count > 0 {
		b := base.Phases[journey.PhaseAgentExecution].P50
		ev += fmt.Sprintf("; execution alone p50 %s, %d at once p50 %s max %s", suite.FormatMS(b), conc.Count, suite.FormatMS(conc.P50), suite.FormatMS(conc.Max))
		// Serialised runs take k x T for the k-th: their median is about
		// N/2 x T. Concurrent runs take about T.
		if conc.P50 > 2*b+50 {
			status = results.Fail
			ev += fmt.Sprintf(" — runs serialise (median %.1fx the lone run)", conc.P50/b)
		}
	}
	if n := suite.PhaseErrors(*sc, journey.PhaseFirstEvent, journey.PhaseAgentExecution); n > 0 {
		status = results.Fail
		ev += fmt.Sprintf("; %d runs failed%s", n, suite.ErrorList(sc.Errors))
	}
	if sc.Journeys == 0 {
		return results.Fail, "no run completed"
	}
	return status, ev
}

func judgeIsolation(sc *results.Scenario) (string, string) {
	n, parts := sumPrefix(sc.Violations, journey.ViolationForeignUser, journey.ViolationForeignMessage, journey.ViolationForeignData, journey.ViolationAnswerMismatch)
	if sc.Journeys == 0 {
		return results.Fail, "no journey ran"
	}
	ev := fmt.Sprintf("%d users, %d journeys with secret nonces; every frame and HTTP reply scanned for other users' nonces and ids", sc.Users, sc.Journeys)
	if n > 0 {
		ev += ": " + strings.Join(parts, ", ")
		if s := suite.FirstSample(sc, "violation:foreign", "violation:answer"); s != "" {
			ev += "; e.g. " + s
		}
		return results.Fail, ev
	}
	return results.Pass, ev + ": none found"
}

func judgeOrdering(sc *results.Scenario) (string, string) {
	n, parts := sumPrefix(sc.Violations, "seq_", journey.ViolationGrammar, journey.ViolationBadEnvelope)
	if sc.Journeys == 0 {
		return results.Fail, "no journey ran"
	}
	ev := fmt.Sprintf("%d journeys under load", sc.Journeys)
	if n > 0 {
		ev += ": " + strings.Join(parts, ", ")
		if s := suite.FirstSample(sc, "violation:seq", "violation:grammar", "violation:bad_envelope"); s != "" {
			ev += "; e.g. " + s
		}
		return results.Fail, ev
	}
	return results.Pass, ev + ": seq +1 on every frame and the event grammar held on every socket"
}

func judgeConcurrentAccess(sc *results.Scenario) (string, string) {
	n5, p5 := sumPrefix(sc.Errors, "http_status:5", "close:1011")
	ev := fmt.Sprintf("%d journeys of mixed concurrent load (runs, config reads, thread writes and reads)", sc.Journeys)
	if sc.Metrics.Counters[cNotReadyAfter] > 0 {
		return results.Fail, ev + "; the target was not ready afterwards: " + suite.FirstSample(sc, "not_ready")
	}
	if n5 > 0 {
		return results.Fail, ev + ": " + strings.Join(p5, ", ")
	}
	return results.Pass, ev + ": no 5xx, no 1011, target ready afterwards"
}

// DetectorScenario records what Go's race detector reported from a
// race-built target (goldenpath run --race-detector), deduplicated.
func DetectorScenario(races []embedded.Race) results.Scenario {
	set := metrics.NewSet()
	set.Add(cDataRaces, 0)
	var samples []results.Sample
	for _, r := range races {
		set.Add(cDataRaces, 1)
		set.Add(cDataRaceReports, int64(r.Count))
		samples = append(samples, results.Sample{Kind: "data_race", Detail: fmt.Sprintf("%s (%d reports)", r.Signature, r.Count), Frame: r.Report})
	}
	sc := results.Scenario{Name: scRaceDetector, Suite: Name, Model: "race-detector", Samples: samples, Metrics: set.Snapshot()}
	suite.Summarise(&sc)
	return sc
}

func judgeRaceDetector(sc *results.Scenario) (string, string) {
	n := sc.Metrics.Counters[cDataRaces]
	if n == 0 {
		return results.Pass, "the target ran under Go's race detector for the whole run: no data race reported"
	}
	var sigs []string
	for _, s := range sc.Samples {
		sigs = append(sigs, s.Detail)
	}
	return results.Fail, fmt.Sprintf("Go's race detector reported %d distinct data races (%d reports): %s; the full stacks are in the scenario's samples",
		n, sc.Metrics.Counters[cDataRaceReports], strings.Join(sigs, "; "))
}

// evidence keeps at most suite.MaxSamples samples, from many goroutines.
type evidence struct {
	mu      sync.Mutex
	samples []results.Sample
}

func (ev *evidence) add(s results.Sample) {
	ev.mu.Lock()
	if len(ev.samples) < suite.MaxSamples {
		ev.samples = append(ev.samples, s)
	}
	ev.mu.Unlock()
}

func (ev *evidence) list() []results.Sample {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return append([]results.Sample(nil), ev.samples...)
}
