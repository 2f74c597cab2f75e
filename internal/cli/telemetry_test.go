package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/live"
	"github.com/goldenpath-dev/goldenpath/internal/live/livetest"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// dashboardFile is the Grafana dashboard shipped for live telemetry.
const dashboardFile = "../../deploy/grafana/goldenpath-run.json"

var (
	// Grafana's variables: $__rate_interval and the like are durations,
	// the others (job, suite, ...) label values inside quotes.
	grafanaDuration = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)\}?`)
	grafanaVar      = regexp.MustCompile(`\$\{?\w+\}?|\[\[\w+\]\]`)
	labelValues     = regexp.MustCompile(`^\s*label_values\((.*),\s*\w+\s*\)\s*$`)
)

// dashboardMetrics returns the metric names that a Grafana dashboard's
// queries select — every target's expr and every query variable's query,
// parsed as PromQL — each with where it is used.
func dashboardMetrics(b []byte) (map[string][]string, error) {
	var d struct {
		Panels     []dashPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	queries := map[string]string{} // where -> PromQL
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				queries[fmt.Sprintf("panel %q, target %s", p.Title, t.RefID)] = t.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		var obj struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil {
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				return nil, fmt.Errorf("variable %s: query %s is neither a string nor {query}", v.Name, v.Query)
			}
			q = obj.Query
		}
		if m := labelValues.FindStringSubmatch(q); m != nil {
			q = m[1]
		}
		queries["variable "+v.Name] = q
	}
	if len(queries) == 0 {
		return nil, fmt.Errorf("no query in the dashboard")
	}
	used := map[string][]string{}
	for where, q := range queries {
		expr := grafanaVar.ReplaceAllString(grafanaDuration.ReplaceAllString(q, "1m"), "x")
		names, err := promqlMetrics(expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", where, q, err)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%s: %q selects no series", where, q)
		}
		for _, n := range names {
			used[n] = append(used[n], where)
		}
	}
	return used, nil
}

type dashPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"` // a collapsed row's
}

// missingMetrics says which of the names used are not in a scrape: a
// name is there when a family has it, or when it is a classic histogram
// series (_bucket, _sum, _count) of a histogram family; a histogram's bare
// name is a native histogram, there only when the family carries native
// buckets.
func missingMetrics(used map[string][]string, mfs map[string]*dto.MetricFamily) []string {
	var missing []string
	for name, where := range used {
		mf, ok := mfs[name]
		switch {
		case ok && mf.GetType() == dto.MetricType_HISTOGRAM && !hasNative(mf):
			missing = append(missing, fmt.Sprintf("%s (used by %s) is a histogram without native buckets", name, strings.Join(where, "; ")))
		case ok:
		default:
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if h, ok := mfs[base]; ok && base != name && (h.GetType() == dto.MetricType_HISTOGRAM || h.GetType() == dto.MetricType_SUMMARY) {
				continue
			}
			missing = append(missing, fmt.Sprintf("%s (used by %s)", name, strings.Join(where, "; ")))
		}
	}
	slices.Sort(missing)
	return missing
}

func hasNative(mf *dto.MetricFamily) bool {
	for _, m := range mf.GetMetric() {
		if h := m.GetHistogram(); h.GetSampleCount() > 0 && (len(h.GetPositiveSpan()) > 0 || h.GetZeroCount() > 0) {
			return true
		}
	}
	return false
}

// fedMetrics are live metrics that have seen a few journeys, and the
// process's collectors: the families a run exports.
func fedMetrics(t *testing.T) map[string]*dto.MetricFamily {
	m := live.NewMetrics(live.Info{Version: "test", Segment: "1/1"})
	so := m.Scenario("integrated", "integrated")
	now := time.Now()
	suite.Observe(so, load.Iteration{Intended: now}, &journey.Result{Start: now, End: now.Add(time.Second),
		Phases: []journey.Sample{{Name: journey.PhaseLogin, D: time.Millisecond}}})
	so.Load(1, 0)
	got, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	mfs := map[string]*dto.MetricFamily{}
	for _, mf := range got {
		mfs[mf.GetName()] = mf
	}
	return mfs
}

// TestDashboardCheckFails proves the check on fixtures: it passes a
// dashboard that names only exported series and fails one that names a
// series goldenpath does not export, a native-histogram query on a name
// that is not a histogram's, or a query that does not parse.
func TestDashboardCheckFails(t *testing.T) {
	mfs := fedMetrics(t)
	tests := []struct {
		file        string
		wantMissing []string // prefixes
		wantErr     string
	}{
		{"good.json", nil, ""},
		{"unknown-metric.json", []string{"goldenpath_run_nope_total (used by panel \"Nope\", target A)"}, ""},
		{"unknown-in-variable.json", []string{"goldenpath_journeys_total (used by variable scenario)"}, ""},
		{"classic-suffix-of-a-counter.json", []string{"goldenpath_run_journeys_total_bucket"}, ""},
		{"bad-promql.json", nil, `panel "Broken", target A`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata/dashboard", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			used, err := dashboardMetrics(b)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("dashboardMetrics(%s) = %v; want an error containing %q", tt.file, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("dashboardMetrics(%s) = %v", tt.file, err)
			}
			missing := missingMetrics(used, mfs)
			if len(missing) != len(tt.wantMissing) {
				t.Fatalf("missingMetrics(%s) = %q; want %d missing: %q", tt.file, missing, len(tt.wantMissing), tt.wantMissing)
			}
			for i, w := range tt.wantMissing {
				if !strings.HasPrefix(missing[i], w) {
					t.Errorf("missingMetrics(%s)[%d] = %q; want it to start %q", tt.file, i, missing[i], w)
				}
			}
		})
	}
}

// TestRunServesLiveMetrics runs goldenpath for real (the embedded backend,
// the integrated suite for 3 s) with --metrics-addr on a free port and
// --otlp-endpoint at a stand-in collector. While it runs, /metrics must
// show journeys counted, users active and phases in native histograms,
// and hold every series the Grafana dashboard queries; when it has
// ended, the listener is closed and the collector's last export counts
// the journeys results.json counts.
func TestRunServesLiveMetrics(t *testing.T) {
	noChildrenLeft(t)
	coll := livetest.NewCollector()
	defer coll.Close()
	dashboard, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	used, err := dashboardMetrics(dashboard)
	if err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}

	ctx := boundedContext(t, runBound)
	out := t.TempDir()
	stderr := newLockedBuffer()
	done := make(chan outcome, 1)
	go func() {
		done <- gpTo(ctx, stderr, "run", "--suite", "integrated", "--duration", "3s", "--users", "4", "--target-think", "20ms",
			"--metrics-addr", "127.0.0.1:0", "--otlp-endpoint", coll.URL(), "--out", out, "--quiet")
	}()
	if !stderr.waitFor(ctx, "/metrics\n") {
		t.Fatalf("no metrics address in the log within %s:\n%s", runBound, stderr)
	}
	m := regexp.MustCompile(`goldenpath run: metrics on (http://127\.0\.0\.1:\d+/metrics)\n`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("log:\n%s\nwant a line \"goldenpath run: metrics on http://127.0.0.1:PORT/metrics\"", stderr)
	}
	url := m[1]

	// Scrape while the run runs, until the series have moved.
	var mfs map[string]*dto.MetricFamily
	var active float64
	moved := func() bool {
		return sum(mfs, live.MetricJourneys, "outcome", "succeeded") > 0 && hasNative(mfs[live.MetricPhase]) && active > 0
	}
	for !moved() {
		select {
		case o := <-done:
			t.Fatalf("%s\nthe run ended before a scrape showed journeys, active users and a native histogram; last scrape: journeys %g, active users max %g, phase families %v",
				o, sum(mfs, live.MetricJourneys), active, mfs[live.MetricPhase] != nil)
		case <-time.After(200 * time.Millisecond):
		}
		got, err := livetest.Scrape(ctx, url)
		if err != nil {
			t.Fatalf("scraping %s during the run: %v", url, err)
		}
		mfs, active = got, max(active, sum(got, live.MetricActiveUsers))
	}
	if missing := missingMetrics(used, mfs); len(missing) > 0 {
		t.Errorf("%s queries series that a live run does not export:\n%s", dashboardFile, strings.Join(missing, "\n"))
	}

	o := <-done
	// This test proves the telemetry, not speed: on a loaded machine with
	// -race a check may fail (exit 1); the run must have run and written.
	if o.code != ExitOK && o.code != ExitFailed {
		t.Fatalf("%s\nwant %d (or %d: a check failed)", o, ExitOK, ExitFailed)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/metrics")
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the run; want the listener closed when Run returns", addr)
	}
	r := readResults(t, out)
	sc := findScenario(r, "integrated")
	if sc == nil {
		t.Fatalf("results hold no integrated scenario")
	}
	if err := coll.Err(); err != nil {
		t.Fatalf("the collector could not decode an export: %v", err)
	}
	exported, _ := coll.Last()
	var pushed float64
	for _, dp := range exported[live.MetricJourneys].GetSum().GetDataPoints() {
		for _, kv := range dp.GetAttributes() {
			if kv.GetKey() == "outcome" && kv.GetValue().GetStringValue() != suite.OutcomeCancelled {
				pushed += dp.GetAsDouble()
			}
		}
	}
	if pushed != float64(sc.Journeys) || sc.Journeys == 0 {
		t.Errorf("the last OTLP export counts %g journeys (succeeded + failed); results.json's integrated scenario %d: want the final export to hold them all", pushed, sc.Journeys)
	}
	if n := len(exported[live.MetricPhase].GetExponentialHistogram().GetDataPoints()); n == 0 {
		t.Errorf("the last OTLP export has no %s exponential histogram; want the phases", live.MetricPhase)
	}
	if b, err := os.ReadFile(filepath.Join(out, report.ResultsFile)); err != nil || strings.Contains(string(b), "metrics_addr") || strings.Contains(string(b), "otlp") {
		t.Errorf("results.json mentions the telemetry flags (or is unreadable: %v); want the results unchanged by them", err)
	}
}

// sum adds the values of family name's series whose labels include the
// pairs given.
func sum(mfs map[string]*dto.MetricFamily, name string, pairs ...string) float64 {
	var total float64
	for _, m := range mfs[name].GetMetric() {
		n := 0
		for _, lp := range m.GetLabel() {
			for i := 0; i+1 < len(pairs); i += 2 {
				if lp.GetName() == pairs[i] && lp.GetValue() == pairs[i+1] {
					n++
				}
			}
		}
		if 2*n == len(pairs) {
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total
}

// TestRunTelemetryBadUsage: a bad --metrics-addr or --otlp-endpoint is a
// usage error naming it, found before the target starts.
func TestRunTelemetryBadUsage(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"address without a port", []string{"--metrics-addr", "localhost"}, `goldenpath run: --metrics-addr "localhost" is not HOST:PORT (e.g. 127.0.0.1:9464`},
		{"port out of range", []string{"--metrics-addr", "127.0.0.1:65536"}, `goldenpath run: --metrics-addr "127.0.0.1:65536" is not HOST:PORT: the port must be a number from 0 to 65535`},
		{"address in use", []string{"--metrics-addr", busy.Addr().String()}, fmt.Sprintf("goldenpath run: --metrics-addr: cannot listen on %q: ", busy.Addr())},
		{"endpoint without a scheme", []string{"--otlp-endpoint", "127.0.0.1:4318"}, `goldenpath run: --otlp-endpoint "127.0.0.1:4318" is not an OTLP/HTTP endpoint URL such as http://127.0.0.1:4318`},
		{"gRPC endpoint", []string{"--otlp-endpoint", "grpc://127.0.0.1:4317"}, `goldenpath run: --otlp-endpoint "grpc://127.0.0.1:4317" is not an OTLP/HTTP endpoint URL`},
		{"dashboard address without a port", []string{"--dashboard-addr", "localhost"}, `goldenpath run: --dashboard-addr "localhost" is not HOST:PORT`},
		{"dashboard address in use", []string{"--dashboard-addr", busy.Addr().String()}, fmt.Sprintf("goldenpath run: --dashboard-addr: cannot listen on %q: ", busy.Addr())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noChildrenLeft(t)
			args := append([]string{"run", "--suite", "integrated", "--duration", "1s", "--out", t.TempDir()}, tt.args...)
			o := gp(boundedContext(t, runBound), args...)
			if o.code != ExitUsage || !strings.Contains(o.stderr, tt.wantErr) {
				t.Errorf("%s\nwant %d and an error containing %q", o, ExitUsage, tt.wantErr)
			}
			if strings.Contains(o.stderr, "starting") || strings.Contains(o.stderr, "registering") || o.elapsed > 5*time.Second {
				t.Errorf("%s\nwant the error before anything starts", o)
			}
		})
	}
}
