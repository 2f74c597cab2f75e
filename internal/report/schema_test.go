package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// encode returns r as WriteJSON writes it.
func encode(t *testing.T, r *report.Results) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	return b.Bytes()
}

// decodeMap decodes JSON into generic maps, as a reader in another
// language would see it.
func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("results.json does not decode: %v", err)
	}
	return m
}

func hasKeys(t *testing.T, where string, obj any, keys ...string) map[string]any {
	t.Helper()
	m, ok := obj.(map[string]any)
	if !ok {
		t.Errorf("%s = %T; want an object", where, obj)
		return nil
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s has keys %v; want %q", where, sortedKeys(m), k)
		}
	}
	return m
}

func sortedKeys(m map[string]any) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

var summaryKeys = []string{"count", "min_ms", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms"}

func TestResultsJSONSchema(t *testing.T) {
	b := encode(t, fixture())
	m := decodeMap(t, b)
	hasKeys(t, "results.json", m, "schema", "tool", "started_at", "finished_at", "target", "options", "status",
		"checks", "scenarios", "phases", "segments", "notes", "capacity")
	if m["schema"] != "goldenpath.results/v2" || m["status"] != "fail" || m["started_at"] != "2025-03-01T10:00:00Z" {
		t.Errorf("results.json schema, status, started_at = %v, %v, %v; want goldenpath.results/v2, fail, 2025-03-01T10:00:00Z",
			m["schema"], m["status"], m["started_at"])
	}
	hasKeys(t, "tool", m["tool"], "name", "version", "go", "cpus")
	hasKeys(t, "target", m["target"], "url", "embedded", "faults")
	hasKeys(t, "options", m["options"], "suites", "users", "duration", "segment", "sla")
	for i, c := range m["checks"].([]any) {
		hasKeys(t, "checks["+strconv.Itoa(i)+"]", c, "suite", "name", "status", "evidence", "observed")
	}
	first := hasKeys(t, "checks[0]", m["checks"].([]any)[0], "rule", "samples", "unit", "scenario")
	if rule := hasKeys(t, "checks[0].rule", first["rule"], "metric", "stat", "op", "limit", "unit"); rule != nil {
		want := map[string]any{"metric": "login", "stat": "p95", "op": "<", "limit": 5000.0, "unit": "ms"}
		if !reflect.DeepEqual(rule, want) {
			t.Errorf("checks[0].rule = %v; want %v", rule, want)
		}
	}
	if first["observed"] != 58.2 || first["samples"] != 41.0 {
		t.Errorf("checks[0] observed, samples = %v, %v; want 58.2, 41", first["observed"], first["samples"])
	}
	phases := hasKeys(t, "phases", m["phases"], "journey", "login", "config_access")
	for name, s := range phases {
		hasKeys(t, "phases."+name, s, summaryKeys...)
	}
	if login := phases["login"].(map[string]any); login["count"] != 41.0 || login["clamped"] != 1.0 {
		t.Errorf("phases.login count, clamped = %v, %v; want 41, 1", login["count"], login["clamped"])
	}
	sc := hasKeys(t, "scenarios[0]", m["scenarios"].([]any)[0], "name", "suite", "model", "users", "duration_s",
		"journeys", "succeeded", "failed", "dropped", "throughput_per_s", "phases", "errors", "samples", "metrics")
	mt := hasKeys(t, "scenarios[0].metrics", sc["metrics"], "histograms", "clamped", "counters", "series_start", "series")
	for name, h := range mt["histograms"].(map[string]any) {
		if s, ok := h.(string); !ok || !strings.HasPrefix(s, "HISTF") {
			t.Errorf("metrics.histograms.%s = %.20v; want an HdrHistogram V2 compressed base64 string (HISTF...)", name, h)
		}
	}
	pt := hasKeys(t, "metrics.series[0]", mt["series"].([]any)[0], "second", "counters", "latency")
	hasKeys(t, "metrics.series[0].latency.journey", pt["latency"].(map[string]any)["journey"], "count", "p50_ms", "p95_ms", "p99_ms", "hdr")
	hasKeys(t, "capacity", m["capacity"], "held_users", "broke_users", "reason", "steps")
	hasKeys(t, "capacity.steps[0]", m["capacity"].(map[string]any)["steps"].([]any)[0], "users", "throughput_per_s", "journey_p95_ms", "error_rate", "held")

	if !bytes.Contains(b, []byte(`<html>&nbsp;</html>`)) {
		t.Errorf("results.json escapes HTML in evidence; want it as written, for people reading the file")
	}
}

// TestResultsJSONOmitsEmpty pins the fields a reader must treat as
// optional: absent when empty or zero. A check's observed is always
// present (an observed 0% error rate is a figure, not nothing).
func TestResultsJSONOmitsEmpty(t *testing.T) {
	r := fixture()
	r.Notes, r.Capacity, r.Target.Faults, r.Interrupted = nil, nil, "", false
	r.Checks = []report.Check{{Suite: "load", Name: "x", Status: report.Skip, Evidence: "e"}}
	m := decodeMap(t, encode(t, r))
	for _, k := range []string{"notes", "capacity", "interrupted"} {
		if _, ok := m[k]; ok {
			t.Errorf("results.json has %q when it is empty; want it omitted", k)
		}
	}
	c := m["checks"].([]any)[0].(map[string]any)
	for _, k := range []string{"rule", "unit", "samples", "scenario"} {
		if _, ok := c[k]; ok {
			t.Errorf("a check without a threshold has %q; want it omitted", k)
		}
	}
	if _, ok := c["observed"]; !ok {
		t.Errorf("a check without a threshold has no observed; want it always present")
	}
	r.Interrupted = true
	if m := decodeMap(t, encode(t, r)); m["interrupted"] != true {
		t.Errorf("results.json of an interrupted run: interrupted = %v; want true", m["interrupted"])
	}
}

// TestResultsSchemaDocumented checks that every field name results.json
// can hold is described in docs/results-schema.md.
func TestResultsSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/results-schema.md")
	if err != nil {
		t.Fatalf("the schema's documentation: %v", err)
	}
	if !bytes.Contains(doc, []byte(report.Schema)) {
		t.Errorf("docs/results-schema.md does not name the schema %s", report.Schema)
	}
	r := populated()
	r.Interrupted = true
	r.Scenarios[0].Rate = 5
	r.Scenarios[0].Dropped = 1
	r.Scenarios[0].Violations = map[string]int64{"seq_gap": 1}
	r.Scenarios[0].Metrics.SeriesTruncated = true
	r.Options.Rate = 5
	var keys []string
	walkKeys(decodeMap(t, encode(t, r)), "", &keys)
	for _, k := range keys {
		if !bytes.Contains(doc, []byte("`"+k+"`")) {
			t.Errorf("docs/results-schema.md does not describe the field `%s`", k)
		}
	}
}

// byName are objects keyed by name (phases, error classes, histograms...)
// rather than by field.
var byName = []string{"phases", "errors", "violations", "histograms", "clamped", "counters", "latency", "gauges"}

// walkKeys collects the field names of every object in v.
func walkKeys(v any, parent string, keys *[]string) {
	switch v := v.(type) {
	case map[string]any:
		named := slices.Contains(byName, parent)
		for k, e := range v {
			if !named && !slices.Contains(*keys, k) {
				*keys = append(*keys, k)
			}
			if named {
				walkKeys(e, "", keys)
			} else {
				walkKeys(e, k, keys)
			}
		}
	case []any:
		for _, e := range v {
			walkKeys(e, parent, keys)
		}
	}
}

func TestReadJSONRoundTrip(t *testing.T) {
	want := fixture()
	first := encode(t, want)
	got, err := report.ReadJSON(bytes.NewReader(first))
	if err != nil {
		t.Fatalf("ReadJSON(WriteJSON(fixture)): %v", err)
	}
	if !got.StartedAt.Equal(want.StartedAt) || !got.FinishedAt.Equal(want.FinishedAt) {
		t.Errorf("ReadJSON: started %v, finished %v; want %v, %v", got.StartedAt, got.FinishedAt, want.StartedAt, want.FinishedAt)
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"schema", got.Schema, want.Schema}, {"tool", got.Tool, want.Tool}, {"target", got.Target, want.Target},
		{"options", got.Options, want.Options}, {"status", got.Status, want.Status}, {"notes", got.Notes, want.Notes},
		{"checks", got.Checks, want.Checks}, {"phases", got.Phases, want.Phases}, {"capacity", got.Capacity, want.Capacity},
		{"segments", got.Segments, want.Segments},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("ReadJSON: %s = %+v; want %+v", f.name, f.got, f.want)
		}
	}
	gs, ws := got.Scenarios[0], want.Scenarios[0]
	for name, wh := range ws.Metrics.Histograms {
		gh := gs.Metrics.Histograms[name]
		if gh == nil {
			t.Errorf("ReadJSON: histogram %s missing", name)
			continue
		}
		if gh.Count() != wh.Count() || gh.Clamped() != wh.Clamped() || gh.Summary() != wh.Summary() {
			t.Errorf("ReadJSON: histogram %s = count %d, clamped %d, %+v; want %d, %d, %+v",
				name, gh.Count(), gh.Clamped(), gh.Summary(), wh.Count(), wh.Clamped(), wh.Summary())
		}
	}
	if !reflect.DeepEqual(gs.Metrics.Counters, ws.Metrics.Counters) || !gs.Metrics.SeriesStart.Equal(ws.Metrics.SeriesStart) ||
		!reflect.DeepEqual(gs.Metrics.Series, ws.Metrics.Series) {
		t.Errorf("ReadJSON: metrics counters %v, series from %v %+v; want %v, from %v %+v", gs.Metrics.Counters,
			gs.Metrics.SeriesStart, gs.Metrics.Series, ws.Metrics.Counters, ws.Metrics.SeriesStart, ws.Metrics.Series)
	}
	gs.Metrics = ws.Metrics // compared above
	if !reflect.DeepEqual(gs, ws) {
		t.Errorf("ReadJSON: scenario = %+v; want %+v", gs, ws)
	}
	if again := encode(t, got); !bytes.Equal(again, first) {
		t.Errorf("WriteJSON(ReadJSON(WriteJSON(r))) differs from WriteJSON(r): the round trip lost something")
	}
}

func TestReadJSONRefuses(t *testing.T) {
	wrong := fixture()
	wrong.Schema = "goldenpath.results/v0"
	none := fixture()
	none.Schema = ""
	for _, tc := range []struct {
		name, input string
		want        []string
	}{
		{"another schema", string(encode(t, wrong)), []string{`report: schema "goldenpath.results/v0"`, `want "goldenpath.results/v1" or "goldenpath.results/v2"`}},
		{"no schema", string(encode(t, none)), []string{`schema ""`, `want "goldenpath.results/v1" or "goldenpath.results/v2"`}},
		{"not JSON", "SUITE CHECK STATUS", []string{"report: not a results file"}},
		{"a JSON array", "[]", []string{"report: not a results file"}},
		{"empty", "", []string{"report: not a results file"}},
		{"a broken histogram", strings.Replace(string(encode(t, fixture())), `"HISTF`, `"NOTHDR`, 1), []string{"report: not a results file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := report.ReadJSON(strings.NewReader(tc.input))
			if err == nil {
				t.Fatalf("ReadJSON(%s) = %+v, no error; want an error containing %q", tc.name, r, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ReadJSON(%s) error = %q; want it to contain %q", tc.name, err, w)
				}
			}
		})
	}
}

// TestReadJSONV1 reads a results.json of the previous schema, as
// goldenpath v0.3 wrote it for the populated fixture: its rules, limits
// and the users its samples name become the typed fields, and the reports
// made from it are the ones made from the fixture itself (less the
// memory check's figures, which v1 did not have).
func TestReadJSONV1(t *testing.T) {
	f, err := os.Open("testdata/results-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := report.ReadJSON(f)
	if err != nil {
		t.Fatalf("ReadJSON(v1): %v", err)
	}
	if got.Schema != report.Schema {
		t.Errorf("ReadJSON(v1).Schema = %q; want the current %q (the model is upgraded)", got.Schema, report.Schema)
	}
	want := populated()
	if len(got.Checks) != len(want.Checks) {
		t.Fatalf("ReadJSON(v1): %d checks; want %d", len(got.Checks), len(want.Checks))
	}
	for i, g := range got.Checks {
		w := want.Checks[i]
		if w.Rule != nil && w.Suite == "regression" {
			// v1 did not say which metric a regression's figure is of.
			r := *w.Rule
			r.Metric = ""
			w.Rule = &r
		}
		w.Samples = 0 // v1 did not count them
		if w.Suite == "memory" {
			w.Rule, w.Observed, w.Unit = nil, 0, "" // nor had memory figures
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("ReadJSON(v1): check %s = %+v (rule %v); want %+v (rule %v)", w.Name, g, g.Rule, w, w.Rule)
		}
	}
	race := got.Scenarios[2]
	wantUsers := [][]report.User{{{ID: "u_3ca4"}, {ID: "u_5bb7"}}, {results.VirtualUser(3)}, nil}
	for i, s := range race.Samples {
		if !reflect.DeepEqual(s.Users, wantUsers[i]) {
			t.Errorf("ReadJSON(v1): sample %q users = %+v; want %+v (the users its text names)", s.Detail, s.Users, wantUsers[i])
		}
	}
	var b bytes.Buffer
	if err := report.WriteMarkdown(&b, got); err != nil {
		t.Fatal(err)
	}
	golden(t, "markdown_populated_v1.golden", b.Bytes())
}
