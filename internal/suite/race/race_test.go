package race

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// brokenTargets are targets on which no journey ever sends its request:
// each answers what a real server broken that way would.
var brokenTargets = []struct {
	name    string
	handler http.HandlerFunc
	// reason is what the checks' evidence must name as the cause.
	reason string
	// configFails: the config check, which can reach the admin endpoint,
	// fails for want of evidence (else it skips: the target has none).
	configFails bool
}{
	{"login answers 500", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == protocol.PathLogin {
			http.Error(w, `{"error":{"code":"internal","message":"boom"}}`, http.StatusInternalServerError)
			return
		}
		http.NotFound(w, r)
	}, "http_status:500", true},
	{"connection_established never arrives", silentSocket, "timeout", false},
}

// silentSocket logs every user in, serves the config, and upgrades the
// WebSocket, then says nothing: connection_established never arrives.
func silentSocket(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case protocol.PathLogin:
		_ = json.NewEncoder(w).Encode(protocol.LoginReply{AccessToken: "tok-" + r.RemoteAddr, TokenType: "Bearer", ExpiresIn: 3600,
			User: protocol.User{ID: "u_" + r.RemoteAddr, Email: "a@example.test"}})
	case protocol.PathConfig:
		values := []byte(`{"think_ms":0}`)
		_ = json.NewEncoder(w).Encode(protocol.ConfigSnapshot{Version: 1, Values: values, Checksum: protocol.Checksum(values)})
	case protocol.PathWS:
		up := websocket.Upgrader{}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for { // read until the client goes
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	default:
		http.NotFound(w, r)
	}
}

// The handshake, factory, isolation and ordering checks judge requests;
// on a target where no journey sent one they have no evidence, and fail
// saying so, never pass. The config check, given an admin token, has
// nothing to judge either, and fails rather than skips: skip means that
// the target does not offer what the check needs.
func TestRaceChecksNeedEvidence(t *testing.T) {
	for _, tc := range brokenTargets {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			tgt, err := journey.NewTarget(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			env := &suite.Env{Target: tgt, Accounts: []journey.Account{{Email: "a@example.test", Password: "pw-secret"}}, AdminToken: "admin-secret",
				SLA: suite.DefaultSLA(), Users: 5, Duration: 300 * time.Millisecond, Think: 50 * time.Millisecond, RunTimeout: 300 * time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var scs []results.Scenario
			if _, err := runRace(ctx, env, func(sc results.Scenario) { scs = append(scs, sc) }); err != nil {
				t.Fatalf("runRace: %v", err)
			}
			checks := map[string]results.Check{}
			for _, c := range raceChecks(scs, suite.DefaultSLA()) {
				checks[c.Name] = c
			}
			for _, name := range []string{
				"websocket_startup_handshake_race_conditions",
				"agent_factory_concurrent_instantiation",
				"user_isolation_state_contamination",
				"websocket_event_delivery_ordering",
			} {
				c, ok := checks[name]
				if !ok {
					t.Errorf("raceChecks lacks %s", name)
					continue
				}
				if c.Status != results.Fail || !strings.Contains(c.Evidence, "insufficient evidence: 0 of ") ||
					!strings.Contains(c.Evidence, "reached user_message") || !strings.Contains(c.Evidence, tc.reason) {
					t.Errorf("%s = %s (%s); want fail: \"insufficient evidence: 0 of N journeys reached user_message\", naming %s",
						name, c.Status, c.Evidence, tc.reason)
				}
			}
			if c := checks["configuration_thread_safety"]; tc.configFails && (c.Status != results.Fail || !strings.Contains(c.Evidence, "insufficient evidence")) {
				t.Errorf("configuration_thread_safety = %s (%s); want fail for insufficient evidence", c.Status, c.Evidence)
			}
			for _, c := range checks {
				t.Logf("%s %s: %s", c.Status, c.Name, c.Evidence)
				if c.Status == results.Pass {
					t.Errorf("%s passed on a target where no journey sent a request: %s", c.Name, c.Evidence)
				}
			}
		})
	}
}

// scenario is a race scenario of n journeys of users users, with counters
// and samples, and healthy agent executions of 50 ms when runs > 0.
func scenario(name string, users int, n, runs int64, counters map[string]int64, samples ...results.Sample) results.Scenario {
	set := metrics.NewSet()
	set.Add(suite.CounterJourneys, n)
	set.Add(suite.CounterSucceeded, n)
	for range runs {
		set.Record(journey.PhaseAgentExecution, 50*time.Millisecond)
		set.Record(journey.PhaseAnswer, 52*time.Millisecond)
	}
	for k, v := range counters {
		set.Add(k, v)
	}
	sc := results.Scenario{Name: name, Suite: Name, Users: users, Samples: samples, Metrics: set.Snapshot()}
	suite.Summarise(&sc)
	return sc
}

// healthy is a clean run of the race suite; with replaces scenarios of
// the same name.
func healthy(with ...results.Scenario) []results.Scenario {
	scs := []results.Scenario{
		scenario(scRaceHandshake, 10, 10, 10, nil),
		scenario(scRaceHandshakeSettled, 10, 10, 10, nil),
		scenario(scRaceFactoryBaseline, 1, 3, 3, nil),
		scenario(scRaceFactory, 10, 10, 10, nil),
		scenario(scRaceConfig, 5, 0, 0, map[string]int64{cConfigReads: 100, cConfigWrites: 10, cLinOK: 1}),
		scenario(scRaceMixed, 10, 60, 120, nil),
		scenario(scRacePipelined, 10, 20, 60, nil),
		scenario(scRaceCleanup, 10, 0, 0, map[string]int64{cCleanupCycles: 10}),
		scenario(scRaceDB, 10, 0, 0, map[string]int64{cDBAcked: 150}),
	}
	for _, w := range with {
		for i := range scs {
			if scs[i].Name == w.Name {
				scs[i] = w
			}
		}
	}
	return scs
}

// answers is the factory scenario with one journey per request -> answer
// time, its agent executions all a healthy 50 ms: what a server that queues
// runs before agent_started shows.
func answers(name string, ds ...time.Duration) results.Scenario {
	set := metrics.NewSet()
	set.Add(suite.CounterJourneys, int64(len(ds)))
	set.Add(suite.CounterSucceeded, int64(len(ds)))
	for _, d := range ds {
		set.Record(journey.PhaseAgentExecution, 50*time.Millisecond)
		set.Record(journey.PhaseAnswer, d)
	}
	sc := results.Scenario{Name: name, Suite: Name, Users: len(ds), Metrics: set.Snapshot()}
	suite.Summarise(&sc)
	return sc
}

// serialised is the factory scenario of a server that runs one run at a
// time: the k-th of n waits k runs of d.
func serialised(n int, d time.Duration) results.Scenario {
	ds := make([]time.Duration, n)
	for k := range ds {
		ds[k] = time.Duration(k+1) * d
	}
	return answers(scRaceFactory, ds...)
}

func violation(kind string, n int64) map[string]int64 {
	return map[string]int64{results.CounterViolationPrefix + kind: n}
}

// Every frame counts everywhere: a finding in any race scenario's
// journeys fails the check that names its defect, with an example.
func TestRaceChecksJudgeEveryFinding(t *testing.T) {
	skippedConfig := scenario(scRaceConfig, 0, 0, 0, map[string]int64{cSkipped: 1}, results.Sample{Kind: "skipped", Detail: "skipped: no admin token"})
	for _, tc := range []struct {
		name    string
		scs     []results.Scenario
		fails   map[string]string // check -> in its evidence; the others pass
		skipped []string
	}{
		{name: "clean", scs: healthy()},
		{name: "a reorder in the handshake burst",
			scs: healthy(scenario(scRaceHandshake, 10, 10, 10, violation(journey.ViolationSeqReorder, 1),
				results.Sample{Kind: "violation:seq_reorder", Detail: "seq 4 (tool_executing) arrived after seq 5"})),
			fails: map[string]string{"websocket_event_delivery_ordering": "seq_reorder x1 (race_handshake_instant); e.g. violation:seq_reorder: seq 4"}},
		{name: "a reorder only with runs in flight together",
			scs: healthy(scenario(scRacePipelined, 10, 20, 60, violation(journey.ViolationSeqReorder, 4),
				results.Sample{Kind: "violation:seq_reorder", Detail: "seq 9 (agent_thinking) arrived after seq 11"})),
			fails: map[string]string{"websocket_event_delivery_ordering": "seq_reorder x4 (race_ordering_pipelined); e.g. violation:seq_reorder: seq 9"}},
		{name: "the pipelined runs never sent a request",
			scs:   healthy(scenario(scRacePipelined, 10, 20, 0, map[string]int64{results.CounterErrorPhasePrefix + journey.PhaseLogin: 20})),
			fails: map[string]string{"websocket_event_delivery_ordering": "pipelined runs: insufficient evidence: 0 of 20 journeys reached user_message"}},
		{name: "a run lost when three are in flight",
			scs: healthy(scenario(scRacePipelined, 10, 20, 50, map[string]int64{results.CounterErrorPrefix + journey.FailTimeout: 4, results.CounterErrorPhasePrefix + journey.PhaseAgentExecution: 4},
				results.Sample{Kind: journey.FailTimeout, Detail: "no agent_completed for message m2-x within 3s (RunTimeout)"})),
			fails: map[string]string{"websocket_event_delivery_ordering": "4 of 20 journeys with 3 runs in flight on one socket lost a run; errors: timeout x4; e.g. timeout: no agent_completed for message m2-x"}},
		{name: "runs in flight together refused with rate_limited",
			scs: healthy(scenario(scRacePipelined, 10, 20, 20, map[string]int64{results.CounterErrorPrefix + journey.FailProtocol: 20, results.CounterErrorPhasePrefix + journey.PhaseFirstEvent: 20},
				results.Sample{Kind: journey.FailProtocol, Detail: "error_message rate_limited: one run per connection"}))},
		{name: "a missing terminal event in the mixed load",
			scs:   healthy(scenario(scRaceMixed, 10, 60, 120, violation(journey.ViolationMissingTerm, 2))),
			fails: map[string]string{"websocket_event_delivery_ordering": "missing_terminal x2 (race_mixed_load)"}},
		{name: "foreign data in the factory burst",
			scs:   healthy(scenario(scRaceFactory, 10, 10, 10, violation(journey.ViolationForeignData, 3))),
			fails: map[string]string{"user_isolation_state_contamination": "foreign_data x3 (race_factory_concurrent)"}},
		{name: "a lost write read back in the mixed load",
			scs: healthy(scenario(scRaceMixed, 10, 60, 120, violation(journey.ViolationStoreMismatch, 1),
				results.Sample{Kind: "violation:store_mismatch", Detail: "thread t_9 lacks the answer of message m2-x (3 messages)"})),
			fails: map[string]string{"database_connection_pooling_races": "store_mismatch x1 (race_mixed_load); e.g. violation:store_mismatch: thread t_9 lacks the answer of message m2-x"}},
		{name: "a torn config read in the mixed load, the config scenario skipped",
			scs:     healthy(skippedConfig, scenario(scRaceMixed, 10, 60, 120, violation(journey.ViolationConfigMismatch, 1))),
			fails:   map[string]string{"configuration_thread_safety": "config_mismatch x1 (race_mixed_load)"},
			skipped: nil},
		{name: "a finding no other check names",
			scs:   healthy(scenario(scRaceMixed, 10, 60, 120, violation("a_new_kind", 1))),
			fails: map[string]string{"memory_management_concurrent_access": "a_new_kind x1"}},
		{name: "no lone run completed",
			scs:   healthy(scenario(scRaceFactoryBaseline, 1, 3, 0, nil)),
			fails: map[string]string{"agent_factory_concurrent_instantiation": "insufficient evidence: 0 of 3 lone journeys got an answer"}},
		{name: "runs queued before agent_started",
			scs:   healthy(serialised(10, 52*time.Millisecond)),
			fails: map[string]string{"agent_factory_concurrent_instantiation": "runs serialise (median 5.0x the lone run); throughput 19.2 runs/s alone, 19.2 runs/s with 10 users (1.0x; it does not grow with the users"}},
		{name: "one late answer of ten is a tail, not serialisation",
			scs: healthy(answers(scRaceFactory, 52*time.Millisecond, 52*time.Millisecond, 52*time.Millisecond, 52*time.Millisecond, 52*time.Millisecond,
				52*time.Millisecond, 52*time.Millisecond, 52*time.Millisecond, 52*time.Millisecond, 900*time.Millisecond))},
		{name: "the config scenario skipped, nothing found", scs: healthy(skippedConfig), skipped: []string{"configuration_thread_safety"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range raceChecks(tc.scs, suite.DefaultSLA()) {
				want, ev := results.Pass, ""
				if w, ok := tc.fails[c.Name]; ok {
					want, ev = results.Fail, w
				}
				if slices.Contains(tc.skipped, c.Name) {
					want = results.Skip
				}
				if c.Status != want || !strings.Contains(c.Evidence, ev) {
					t.Errorf("%s = %s (%s); want %s, saying %q", c.Name, c.Status, c.Evidence, want, ev)
				}
			}
		})
	}
}
