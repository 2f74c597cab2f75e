package report_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// start is the fixed start of the fixture run.
var start = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// failEvidence holds every character XML escapes, and a rune of more than
// one byte.
const failEvidence = `journey p95 = 61.20s over 40 samples (limit 1m0s, margin -2.0%); errors: http_status:503 x2 — body "<html>&nbsp;</html>" & more`

// fixedSet is a metrics set on a clock that never moves, whose series keeps
// the journey's latencies.
func fixedSet() *metrics.Set {
	return metrics.NewSet(metrics.WithNow(func() time.Time { return start }), metrics.WithSeriesHistograms("journey"))
}

// fixtureScenario is a scenario of the integrated suite with fixed
// measurements.
func fixtureScenario() report.Scenario {
	set := fixedSet()
	for i := range 40 {
		set.Record("journey", time.Duration(1000+25*i)*time.Millisecond)
		set.Record("login", time.Duration(20+i)*time.Millisecond)
		set.Record("config_access", time.Duration(300+10*i)*time.Microsecond)
	}
	set.Record("login", 300*time.Nanosecond) // below the range: clamped
	set.Add("journeys", 42)
	set.Add("succeeded", 40)
	set.Add("failed", 2)
	set.Add("error:http_status:503", 2)
	snap := set.Snapshot()
	return report.Scenario{
		Name: "integrated", Suite: "integrated", Model: "closed", Users: 10, DurationS: 30,
		Journeys: 42, Succeeded: 40, Failed: 2, Throughput: 40.0 / 30,
		Phases:  snap.Summaries(),
		Errors:  map[string]int64{"http_status:503": 2},
		Samples: []report.Sample{{Kind: "http_status:503", Phase: "login", Detail: "unexpected status", Frame: `{"error":"<busy>"}`}},
		Metrics: snap,
	}
}

// fixture is a fixed, fully populated Results: a pass, a fail whose
// evidence needs escaping, a skip, two suites, a capacity result and notes.
func fixture() *report.Results {
	sc := fixtureScenario()
	return &report.Results{
		Schema:     report.Schema,
		Tool:       report.Tool{Name: "goldenpath", Version: "v0.0.0-test", Go: "go1.26.8", CPUs: 2},
		StartedAt:  start,
		FinishedAt: start.Add(90*time.Second + 500*time.Millisecond),
		Target:     report.Target{URL: "http://127.0.0.1:8080", Embedded: true, Faults: "slow_factory"},
		Options: report.Options{Suites: []string{"integrated", "load"}, Users: 10, Duration: "30s", Segment: "1/1",
			SLA: []string{"error_rate: < 5%", "journey: p95 < 1m0s", "login: p95 < 5s", "success_rate: >= 98%"}},
		Status: report.Fail,
		Notes:  []string{"the target ran on the same machine as the load generator"},
		Checks: []report.Check{
			{Suite: "integrated", Name: "authentication_under_5_seconds", Status: report.Pass,
				Evidence: "login p95 = 58ms over 41 samples (limit 5s, margin 98.8%)",
				Rule:     &report.Rule{Metric: "login", Stat: "p95", Op: "<", Limit: 5000, Unit: "ms"},
				Observed: 58.2, Unit: "ms", Samples: 41, Scenario: "integrated"},
			{Suite: "integrated", Name: "complete_golden_path_under_60_seconds", Status: report.Fail, Evidence: failEvidence,
				Rule:     &report.Rule{Metric: "journey", Stat: "p95", Op: "<", Limit: 60000, Unit: "ms"},
				Observed: 61200, Unit: "ms", Samples: 40, Scenario: "integrated"},
			{Suite: "load", Name: "memory_usage_under_load", Status: report.Skip,
				Evidence: "only 3 samples of login; a p95 needs at least 20"},
			{Suite: "load", Name: "capacity_search", Status: report.Pass,
				Evidence: "held 40 users (12.5 journeys/s, journey p95 1.98s); broke at 80 users: journey p95 = 70.06s",
				Observed: 40, Unit: "users"},
		},
		Scenarios: []report.Scenario{sc},
		Phases:    report.MergePhases([]report.Scenario{sc}),
		Capacity: &report.Capacity{Held: 40, Broke: 80, Reason: "journey p95 = 70.06s over 440 samples (limit 1m0s, margin -16.8%)",
			Steps: []report.CapacityStep{
				{Users: 20, Throughput: 6.5, JourneyP95: 1500, ErrorRate: 0, Held: true},
				{Users: 40, Throughput: 12.5, JourneyP95: 1980, ErrorRate: 0.01, Held: true},
				{Users: 80, Throughput: 11, JourneyP95: 70060, ErrorRate: 0.02, Held: false, Reason: "journey p95 = 70.06s"},
			}},
		Segments: []string{"1/1"},
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (if the change is intended, rerun with -update and review the diff)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}
