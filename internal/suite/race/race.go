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
	cConfigFailed       = "config_failed" // the config could not be read to begin with (the reason is the first sample)
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
	cRaceLogUnreadable  = "race_log_unreadable" // the race detector's logs could not be read (the error is a sample)
)

// raceUsers is how many users each race scenario uses at once.
func raceUsers(e *suite.Env) int { return max(10, min(e.Users*2, 40)) }

// Suite is the race suite. Its go_race_detector_reports check counts even
// when the suite is not selected: a run with --race-detector adds
// [DetectorScenario] whatever the suites.
func Suite() suite.Suite {
	return suite.Suite{Name: Name, Run: runRace, Checks: raceChecks, Unselected: detectorChecks, FirstSegment: true}
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
		{scRaceFactory, func() (results.Scenario, bool, error) { return raceFactory(ctx, e, rt) }},
		{scRaceConfig, func() (results.Scenario, bool, error) {
			if sc, skip := v1Only(e, scRaceConfig, "reads PROTOCOL v1's /api/v1/config while its admin endpoint writes it"); skip {
				return sc, false, nil
			}
			return raceConfig(ctx, e)
		}},
		{scRaceMixed, func() (results.Scenario, bool, error) { return raceMixed(ctx, e, n, rt) }},
		{scRacePipelined, func() (results.Scenario, bool, error) { return racePipelined(ctx, e, n, rt) }},
		{scRaceCleanup, func() (results.Scenario, bool, error) {
			if sc, skip := v1Only(e, scRaceCleanup, "opens raw PROTOCOL v1 sockets and reads goldenpath's active-connection gauges"); skip {
				return sc, false, nil
			}
			return raceCleanup(ctx, e, n, rt)
		}},
		{scRaceDB, func() (results.Scenario, bool, error) {
			if sc, skip := v1Only(e, scRaceDB, "writes threads through PROTOCOL v1's REST API from many sockets at once"); skip {
				return sc, false, nil
			}
			return raceDB(ctx, e, rt)
		}},
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

// v1Only returns a skipped scenario when e's target is spoken to through a
// profile: the scenario drives PROTOCOL v1 by hand (what it does), which a
// profile does not describe.
func v1Only(e *suite.Env, name, what string) (results.Scenario, bool) {
	if e.Profile == nil {
		return results.Scenario{}, false
	}
	set := metrics.NewSet()
	set.Add(cSkipped, 1)
	sc := manual(name, 0, set, time.Now(), []results.Sample{{Kind: "skipped", Detail: "not run on profile " + e.ProfileName() + ": this scenario " + what}})
	sc.Profile = e.ProfileName()
	return sc, true
}

// manual wraps the metrics of a scenario the suite drove itself.
func manual(name string, users int, set *metrics.Set, start time.Time, samples []results.Sample) results.Scenario {
	sc := results.Scenario{Name: name, Suite: Name, Model: "custom", Users: users, DurationS: time.Since(start).Seconds(), Samples: samples, Metrics: set.Snapshot()}
	suite.Summarise(&sc)
	return sc
}

// countJourney counts one journey of a scenario the suite drives itself
// (a client's cycle, a user's session), succeeded unless failed, as the
// scenarios of package suite count theirs.
func countJourney(set *metrics.Set, failed bool) {
	set.Add(suite.CounterJourneys, 1)
	if failed {
		set.Add(suite.CounterFailed, 1)
	} else {
		set.Add(suite.CounterSucceeded, 1)
	}
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

// journeyScenarios are the race scenarios made of journeys, whose every
// frame the oracle judges.
var journeyScenarios = []string{scRaceHandshake, scRaceHandshakeSettled, scRaceFactoryBaseline, scRaceFactory, scRaceMixed, scRacePipelined}

// The checks that judge the oracle's findings in the journeys of every
// race scenario: each finding fails the check that names its defect.
const (
	judgeByIsolation = "isolation"
	judgeByOrdering  = "ordering"
	judgeByConfig    = "config"
	judgeByDB        = "db"
	judgeByAccess    = "access" // any kind no other check names
)

// judgedBy names the check that judges findings of a violation kind.
func judgedBy(kind string) string {
	switch {
	case kind == journey.ViolationForeignUser, kind == journey.ViolationForeignMessage, kind == journey.ViolationForeignData, kind == journey.ViolationAnswerMismatch:
		return judgeByIsolation
	case strings.HasPrefix(kind, "seq_"), kind == journey.ViolationGrammar, kind == journey.ViolationBadEnvelope, kind == journey.ViolationMissingTerm:
		return judgeByOrdering
	case kind == journey.ViolationConfigMismatch:
		return judgeByConfig
	case kind == journey.ViolationStoreMismatch:
		return judgeByDB
	}
	return judgeByAccess
}

// findings are the oracle's findings of one check in the journeys of the
// race scenarios.
type findings struct {
	n     int64
	parts []string // "seq_gap x3 (race_mixed_load)"
	eg    string   // an example, "violation:seq_gap: ..."
}

// findingsOf collects the findings that check judges in the journey
// scenarios of scs.
func findingsOf(scs []results.Scenario, check string) findings {
	var f findings
	for _, name := range journeyScenarios {
		sc := suite.Find(scs, name)
		if sc == nil {
			continue
		}
		kinds := map[string]int64{}
		for k, v := range sc.Violations {
			if judgedBy(k) == check {
				kinds[k] += v
			}
		}
		n, parts := suite.KindsOf(kinds, "")
		if n == 0 {
			continue
		}
		f.n += n
		for _, p := range parts {
			f.parts = append(f.parts, p+" ("+name+")")
		}
		for _, smp := range sc.Samples {
			if k, ok := strings.CutPrefix(smp.Kind, results.CounterViolationPrefix); ok && f.eg == "" && judgedBy(k) == check {
				f.eg = suite.FirstSample(&results.Scenario{Samples: []results.Sample{smp}}, smp.Kind)
			}
		}
	}
	return f
}

// String renders the findings for evidence: "seq_gap x3 (race_mixed_load);
// e.g. violation:seq_gap: ...".
func (f findings) String() string {
	s := strings.Join(f.parts, ", ")
	if f.eg != "" {
		s += "; e.g. " + f.eg
	}
	return s
}

// raceChecks judges the race scenarios.
func raceChecks(scs []results.Scenario, sla suite.SLA) []results.Check {
	// chk judges sc with judge; findings that the check also judges fail
	// it, even when sc did not run or was skipped.
	chk := func(name string, sc *results.Scenario, also findings, judge func(sc *results.Scenario) (string, string)) results.Check {
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
		if also.n > 0 {
			c.Status = results.Fail
			c.Evidence += "; the race scenarios' journeys found " + also.String()
		}
		return c
	}
	mixed := suite.Find(scs, scRaceMixed)
	var none findings
	out := []results.Check{
		chk("websocket_startup_handshake_race_conditions", suite.Find(scs, scRaceHandshake), none, func(sc *results.Scenario) (string, string) {
			return judgeHandshake(sc, suite.Find(scs, scRaceHandshakeSettled))
		}),
		chk("agent_factory_concurrent_instantiation", suite.Find(scs, scRaceFactory), none, func(sc *results.Scenario) (string, string) {
			return judgeFactory(sc, suite.Find(scs, scRaceFactoryBaseline))
		}),
		chk("configuration_thread_safety", suite.Find(scs, scRaceConfig), findingsOf(scs, judgeByConfig), judgeConfig),
		chk("user_isolation_state_contamination", mixed, none, func(sc *results.Scenario) (string, string) {
			return judgeIsolation(sc, findingsOf(scs, judgeByIsolation))
		}),
		chk("resource_cleanup_timing_conflicts", suite.Find(scs, scRaceCleanup), none, judgeCleanup),
		chk("database_connection_pooling_races", suite.Find(scs, scRaceDB), findingsOf(scs, judgeByDB), judgeDB),
		chk("websocket_event_delivery_ordering", mixed, none, func(sc *results.Scenario) (string, string) {
			return judgeOrdering(sc, suite.Find(scs, scRacePipelined), findingsOf(scs, judgeByOrdering))
		}),
		chk("memory_management_concurrent_access", mixed, findingsOf(scs, judgeByAccess), judgeConcurrentAccess),
	}
	return append(out, detectorChecks(scs, sla)...)
}

// requests is the evidence of a check that judges the requests of sc's
// journeys: it needs one from each of the scenario's users.
func requests(sc *results.Scenario) suite.Evidence {
	return suite.JourneysReaching(sc, suite.StepUserMessage, int64(sc.Users))
}

func judgeHandshake(sc, settled *results.Scenario) (string, string) {
	ev := requests(sc)
	if !ev.Enough() {
		return results.Fail, ev.Lacking(sc)
	}
	lost := suite.PhaseErrors(*sc, journey.PhaseFirstEvent)
	internal, parts := suite.KindsOf(sc.Errors, "close:1011")
	backoff, bparts := suite.KindsOf(sc.Errors, "close:1013", "http_status:503")
	ready := "connection_established"
	if sc.Profile != "" {
		ready = "the handshake of profile " + sc.Profile + " ended"
	}
	out := fmt.Sprintf("%d users connected at once and sent their request the instant %s: %d of %d requests got no reply", sc.Users, ready, lost, ev.Have)
	if settled != nil {
		sev := requests(settled)
		if !sev.Enough() {
			return results.Fail, out + "; with a 20ms settle delay: " + sev.Lacking(settled)
		}
		out += fmt.Sprintf("; with a 20ms settle delay: %d of %d lost", suite.PhaseErrors(*settled, journey.PhaseFirstEvent), sev.Have)
	}
	if backoff > 0 {
		out += "; refused with back-off (counted, not failed): " + strings.Join(bparts, ", ")
	}
	if lost > 0 || internal > 0 {
		if internal > 0 {
			out += "; internal errors: " + strings.Join(parts, ", ")
		}
		if s := suite.FirstSample(sc, "timeout", "close"); s != "" {
			out += "; e.g. " + s
		}
		return results.Fail, out
	}
	return results.Pass, out
}

// judgeIsolation judges the mixed load, with f the isolation findings of
// every race scenario's journeys.
func judgeIsolation(sc *results.Scenario, f findings) (string, string) {
	ev := requests(sc)
	out := fmt.Sprintf("%d users, %d journeys with secret nonces; every frame and HTTP reply scanned for other users' nonces and ids", sc.Users, sc.Journeys)
	switch {
	case f.n > 0:
		return results.Fail, out + ": " + f.String()
	case !ev.Enough():
		return results.Fail, ev.Lacking(sc)
	}
	return results.Pass, out + fmt.Sprintf(" (%s): none found, nor in the other race scenarios' journeys", ev)
}

func judgeConcurrentAccess(sc *results.Scenario) (string, string) {
	n5, p5 := suite.KindsOf(sc.Errors, "http_status:5", "close:1011")
	what := "runs, config reads, thread writes and reads"
	if sc.Profile != "" {
		what = "journeys as profile " + sc.Profile + " walks them"
	}
	out := fmt.Sprintf("%d journeys of mixed concurrent load (%s)", sc.Journeys, what)
	if sc.Metrics.Counters[cNotReadyAfter] > 0 {
		return results.Fail, out + "; the target was not ready afterwards: " + suite.FirstSample(sc, "not_ready")
	}
	if n5 > 0 {
		return results.Fail, out + ": " + strings.Join(p5, ", ")
	}
	if ev := requests(sc); !ev.Enough() {
		return results.Fail, ev.Lacking(sc)
	}
	return results.Pass, out + ": no 5xx, no 1011, target ready afterwards"
}

// DetectorScenario records what Go's race detector reported from a
// race-built target (goldenpath run --race-detector), deduplicated, from
// logs that were read: it is [DetectorScenarioFrom](races, nil).
func DetectorScenario(races []embedded.Race) results.Scenario {
	return DetectorScenarioFrom(races, nil)
}

// DetectorScenarioFrom records what Go's race detector reported, and err,
// when not nil, as why its logs could not be read: then
// go_race_detector_reports fails, since the races not read are unknown.
func DetectorScenarioFrom(races []embedded.Race, err error) results.Scenario {
	set := metrics.NewSet()
	set.Add(cDataRaces, 0)
	var samples []results.Sample
	if err != nil {
		set.Add(cRaceLogUnreadable, 1)
		samples = append(samples, results.Sample{Kind: cRaceLogUnreadable, Detail: err.Error()})
	}
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
	n, counted := sc.Metrics.Counters[cDataRaces]
	var sigs, unread []string
	for _, s := range sc.Samples {
		switch s.Kind {
		case "data_race":
			sigs = append(sigs, s.Detail)
		case cRaceLogUnreadable:
			unread = append(unread, s.Detail)
		}
	}
	var out []string
	if n > 0 {
		out = append(out, fmt.Sprintf("Go's race detector reported %d distinct data races (%d reports): %s; the full stacks are in the scenario's samples",
			n, sc.Metrics.Counters[cDataRaceReports], strings.Join(sigs, "; ")))
	}
	switch {
	case sc.Metrics.Counters[cRaceLogUnreadable] > 0:
		if len(unread) == 0 {
			unread = append(unread, "no reason recorded")
		}
		out = append(out, "the race detector's logs could not be read: "+strings.Join(unread, "; ")+"; the races they hold are unknown, so none can be ruled out")
	case !counted:
		return results.Fail, "insufficient evidence: the scenario holds no count of the race detector's reports"
	case n == 0:
		return results.Pass, "the target ran under Go's race detector for the whole run: no data race reported"
	}
	return results.Fail, strings.Join(out, "; ")
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
