package report_test

import (
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/report"
)

// timedScenario is a scenario whose journeys spread over seconds seconds
// from at: each second, 3 journeys of a latency that grows with the
// second (each a login, 2 API calls, an upgrade, 5 frames received and
// one sent), up to users of them at once, and a failed journey (of class
// errClass, refused with HTTP 503) in every fifth second when errClass is
// set.
func timedScenario(name, suiteName string, users int, at time.Time, seconds int, base time.Duration, errClass string) report.Scenario {
	now := at
	set := metrics.NewSet(metrics.WithNow(func() time.Time { return now }), metrics.WithSeriesHistograms("journey", "first_event", "login"))
	for s := range seconds {
		now = at.Add(time.Duration(s)*time.Second + 100*time.Millisecond)
		set.Gauge("active_users", int64(max(1, users-s%3)))
		for j := range 3 {
			set.Record("journey", base+time.Duration(s*40+j*15)*time.Millisecond)
			set.Record("login", time.Duration(20+s+j)*time.Millisecond)
			set.Record("first_event", time.Duration(4+s%7+j)*time.Millisecond)
			set.Add("journeys", 1)
			set.Add("succeeded", 1)
			set.Add("http:200", 3)
			set.Add("http:101", 1)
			set.Add("ws_received:connection_established", 1)
			set.Add("ws_received:agent_started", 1)
			set.Add("ws_received:agent_thinking", 2)
			set.Add("ws_received:agent_completed", 1)
			set.Add("ws_sent:user_message", 1)
		}
		if errClass != "" && s%5 == 4 {
			set.Add("journeys", 1)
			set.Add("failed", 1)
			set.Add("error:"+errClass, 1)
			set.Add("http:200", 1)
			set.Add("http:503", 1)
		}
	}
	snap := set.Snapshot()
	sc := report.Scenario{Name: name, Suite: suiteName, Model: "closed", Users: users, DurationS: float64(seconds),
		Journeys: snap.Counters["journeys"], Succeeded: snap.Counters["succeeded"], Failed: snap.Counters["failed"],
		Phases: snap.Summaries(), Metrics: snap, Errors: map[string]int64{}}
	sc.Throughput = float64(sc.Succeeded) / sc.DurationS
	for k, v := range snap.Counters {
		if c, ok := strings.CutPrefix(k, "error:"); ok {
			sc.Errors[c] = v
		}
	}
	return sc
}

// populated is the fixture of [fixture] with everything a report can
// show: scenarios of every suite over time, a race finding with samples
// naming users, a memory finding, a thin margin, a broken success rate,
// the target's memory and a regression comparison.
func populated() *report.Results {
	r := fixture()
	r.Options.Suites = []string{"integrated", "load", "race", "memory", "regression"}
	r.Options.SLA = append(r.Options.SLA, "config_access: p95 < 10ms")

	load := timedScenario("users_5", "load", 5, start.Add(31*time.Second), 20, 900*time.Millisecond, "close:1011")
	race := timedScenario("race_mixed_load", "race", 8, start.Add(55*time.Second), 10, 1200*time.Millisecond, "")
	three := 3
	race.Violations = map[string]int64{"foreign_user": 3, "foreign_data": 1}
	race.Metrics.Series[4].Counters["violation:foreign_user"] = 3
	race.Samples = []report.Sample{
		{Kind: "violation:foreign_user", Detail: "agent_thinking carries user_id u_3ca4, want u_5bb7", Frame: `{"type":"agent_thinking","user_id":"u_3ca4"}`,
			Users: []report.User{{ID: "u_5bb7"}, {ID: "u_3ca4", Foreign: true}}},
		{Kind: "violation:foreign_data", Detail: "GET /api/v1/threads reply carries data of virtual user 3",
			Users: []report.User{{VirtualUser: &three, Foreign: true}}},
		{Kind: "http_status:503", Phase: "login", Detail: "unexpected status"},
	}
	mem := timedScenario("memory_cycles_journeys", "memory", 20, start.Add(68*time.Second), 12, 700*time.Millisecond, "")
	mem.Model = "cycles"
	memConfig := report.Scenario{Name: "memory_cycles_config", Suite: "memory", Model: "cycles", Users: 1, Operations: 3200,
		DurationS: 6, Metrics: metrics.Snapshot{}}
	r.Scenarios = append(r.Scenarios, load, race, mem, memConfig)
	r.Phases = report.MergePhases(r.Scenarios)

	r.Checks = append(r.Checks,
		report.Check{Suite: "integrated", Name: "configuration_access_under_10ms", Status: report.Pass,
			Evidence: "config_access p95 = 8.70ms over 40 samples (limit 10ms, margin 13.0%)",
			Rule:     &report.Rule{Metric: "config_access", Stat: "p95", Op: "<", Limit: 10, Unit: "ms"},
			Observed: 8.7, Unit: "ms", Samples: 40, Scenario: "integrated"},
		report.Check{Suite: "integrated", Name: "golden_path_success_rate", Status: report.Fail,
			Evidence: "success_rate = 96.00% (48 ok, 2 failed of 50 journeys; limit >= 98%); errors: http_status:503 x2",
			Rule:     &report.Rule{Metric: "success_rate", Stat: "rate", Op: ">=", Limit: 0.98, Unit: "ratio"},
			Observed: 0.96, Unit: "ratio", Samples: 50, Scenario: "integrated"},
		report.Check{Suite: "race", Name: "user_isolation_state_contamination", Status: report.Fail,
			Evidence: "8 users, 30 journeys with secret nonces; every frame and HTTP reply scanned for other users' nonces and ids: foreign_data x1, foreign_user x3; e.g. violation:foreign_user: agent_thinking carries user_id u_3ca4, want u_5bb7",
			Scenario: "race_mixed_load"},
		report.Check{Suite: "race", Name: "websocket_event_delivery_ordering", Status: report.Pass,
			Evidence: "30 journeys under load: seq +1 on every frame and the event grammar held on every socket", Scenario: "race_mixed_load"},
		report.Check{Suite: "memory", Name: "memory_leak_detection", Status: report.Fail,
			Evidence: "full golden-path journeys, 30 per cycle: Theil-Sen slope 1.2 MiB per cycle, Mann-Kendall p = 0.0004 (floor 0.5 MiB)",
			Rule:     &report.Rule{Metric: "rss", Stat: "slope_lo", Op: "<=", Limit: 512 << 10, Unit: "bytes/cycle"},
			Observed: 1.1 * (1 << 20), Unit: "bytes/cycle", Samples: 10, Scenario: "memory_cycles_journeys"},
		report.Check{Suite: "regression", Name: "websocket_performance_regression", Status: report.Pass,
			Evidence: "ws_handshake p95 +4.2% (threshold +20%)",
			Rule:     &report.Rule{Metric: "ws_handshake.p95", Stat: "change", Op: "<=", Limit: 0.2, Unit: "ratio"},
			Observed: 0.042, Unit: "ratio", Samples: 10, Scenario: "comparison"},
		report.Check{Suite: "regression", Name: "database_performance_regression", Status: report.Fail,
			Evidence: "db_operation p95 +31.0% (threshold +20%, p = 0.002)",
			Rule:     &report.Rule{Metric: "db_operation.p95", Stat: "change", Op: "<=", Limit: 0.2, Unit: "ratio"},
			Observed: 0.31, Unit: "ratio", Samples: 10, Scenario: "comparison"},
	)
	for i := range 60 {
		r.TargetMemory = append(r.TargetMemory, report.MemoryPoint{T: float64(i) + 0.5,
			RSS: float64(40<<20) + float64(i)*(100<<10) + float64(i%3)*(200<<10), Goroutines: 12, FDs: 9})
	}
	return r
}
