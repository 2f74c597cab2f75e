package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// compareBound bounds a comparison of two files.
const compareBound = 20 * time.Second

// testBaseline is a stored measurement of 6 rounds whose every metric is
// about base, times the factor in slower for its metric.
func testBaseline(set baseline.Settings, slower map[string]float64) *baseline.Baseline {
	b := &baseline.Baseline{Schema: baseline.Schema, CreatedAt: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC),
		Env:      baseline.Environment{Goldenpath: "test", Go: "go1.26.8", CPUs: 2},
		Settings: set, Rounds: 6, Metrics: map[string][]float64{}}
	for _, in := range baseline.Catalog() {
		f := 1.0
		if s, ok := slower[in.Name]; ok {
			f = s
		}
		for i := range 6 {
			b.Metrics[in.Name] = append(b.Metrics[in.Name], f*(100+float64(i%3)))
		}
	}
	return b
}

func saveBaseline(t *testing.T, dir, name string, b *baseline.Baseline) string {
	t.Helper()
	p := filepath.Join(dir, name+".json")
	if err := baseline.Save(p, b); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareFiles(t *testing.T) {
	dir := t.TempDir()
	set := baseline.Settings{Users: 10, Round: "2s", BurstUsers: 50}
	old := saveBaseline(t, dir, "old", testBaseline(set, nil))
	same := saveBaseline(t, dir, "same", testBaseline(set, nil))
	slower := saveBaseline(t, dir, "slower", testBaseline(set, map[string]float64{"db_operation.p50": 1.5}))
	faster := saveBaseline(t, dir, "faster", testBaseline(set, map[string]float64{"db_operation.p50": 0.5, "throughput": 2}))
	other := saveBaseline(t, dir, "other", testBaseline(baseline.Settings{Users: 20, Round: "2s", BurstUsers: 50}, nil))
	wrong := filepath.Join(dir, "wrong.json")
	if err := os.WriteFile(wrong, []byte(`{"schema":"goldenpath.baseline/v0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   string
		notInOut string
	}{
		{"no change", []string{old, same}, ExitOK, []string{"METRIC", "db_operation.p50", "no regression in", "PASS  database_performance_regression"}, "", "REGRESSION"},
		{"a regression", []string{old, slower}, ExitFailed, []string{"+50.0%", "REGRESSION (limit +20%)", "1 regression: db_operation.p50", "FAIL  database_performance_regression", "PASS  websocket_performance_regression"}, "", ""},
		{"an improvement is no regression", []string{old, faster}, ExitOK, []string{"improvement", "2 improvements"}, "", "REGRESSION"},
		{"looser thresholds", []string{"--thresholds", "latency=60%", old, slower}, ExitOK, []string{"latency +60%"}, "", "REGRESSION"},
		{"a missing file", []string{old, filepath.Join(dir, "nope.json")}, ExitUsage, nil, "no baseline at " + filepath.Join(dir, "nope.json") + "; create one with `goldenpath run", ""},
		{"another schema", []string{wrong, old}, ExitUsage, nil, `schema "goldenpath.baseline/v0", want "goldenpath.baseline/v1"`, ""},
		{"other settings", []string{old, other}, ExitUsage, nil, "different settings (10 users against 20)", ""},
		{"one file", []string{old}, ExitUsage, nil, "name two files, OLD and NEW", ""},
		{"bad thresholds", []string{"--thresholds", "speed=1%", old, same}, ExitUsage, nil, `unknown threshold "speed"`, ""},
		{"bad alpha", []string{"--alpha", "2", old, same}, ExitUsage, nil, "alpha 2 must be in (0, 1)", ""},
		{"files and a live side", []string{"--a", "http://127.0.0.1:1", old, same}, ExitUsage, nil, "either two files or --a/--b", ""},
		{"a bad fault", []string{"--fault-b", "slow-nothing"}, ExitUsage, nil, `--fault-b: fault: unknown fault "slow-nothing"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := gp(boundedContext(t, compareBound), append([]string{"compare"}, tc.args...)...)
			if o.code != tc.code {
				t.Fatalf("%s\nwant exit %d", o, tc.code)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(o.stdout, w) {
					t.Errorf("stdout lacks %q\n%s", w, o)
				}
			}
			if tc.stderr != "" && !strings.Contains(o.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q\n%s", tc.stderr, o)
			}
			if tc.notInOut != "" && strings.Contains(o.stdout, tc.notInOut) {
				t.Errorf("stdout has %q\n%s", tc.notInOut, o)
			}
		})
	}
}

// compare --out writes the regression checks as run does, and merge (a
// re-evaluation from results.json alone) reaches the same verdicts.
func TestCompareOutAndMerge(t *testing.T) {
	dir := t.TempDir()
	set := baseline.Settings{Users: 10, Round: "2s", BurstUsers: 50}
	old := saveBaseline(t, dir, "old", testBaseline(set, nil))
	slower := saveBaseline(t, dir, "slower", testBaseline(set, map[string]float64{"server_db.p95": 1.4}))
	out := filepath.Join(dir, "out")
	o := gp(boundedContext(t, compareBound), "compare", "--out", out, old, slower)
	if o.code != ExitFailed {
		t.Fatalf("%s\nwant exit 1 (server_db.p95 +40%%)", o)
	}
	res := readResults(t, out)
	c := findCheck(res, "regression", "database_performance_regression")
	if c == nil || c.Status != results.Fail || !strings.Contains(c.Evidence, "server_db.p95 +40.0%") {
		t.Fatalf("results.json database_performance_regression = %+v; want a failure naming server_db.p95 +40.0%%", c)
	}
	cases, failures := junitCases(t, out)
	if len(cases) != 8 || failures != 1 {
		t.Errorf("junit.xml = %v with %d failures; want the 8 regression checks, 1 failing", cases, failures)
	}
	merged := filepath.Join(dir, "merged")
	m := gp(boundedContext(t, compareBound), "merge", "--out", merged, filepath.Join(out, report.ResultsFile))
	if m.code != ExitFailed {
		t.Fatalf("%s\nwant exit 1: merge judges the comparison again", m)
	}
	again := readResults(t, merged)
	for i, c := range res.Checks {
		if g := again.Checks[i]; g.Name != c.Name || g.Status != c.Status || g.Evidence != c.Evidence {
			t.Errorf("after merge %s = %s (%s); compare said %s (%s)", g.Name, g.Status, g.Evidence, c.Status, c.Evidence)
		}
	}
	// A comparison of two files ran no rounds: its results are no baseline.
	if b, err := baseline.Load(filepath.Join(out, report.ResultsFile)); err == nil {
		t.Errorf("baseline.Load(results of a file comparison) = %d rounds; want an error: the file comparison ran no rounds", b.Rounds)
	}
}

func TestRunRegressionFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rounds", "0"}, "--rounds must be at least 1 (got 0)"},
		{[]string{"--baseline", "../etc/x"}, `--baseline: baseline: name "../etc/x" must be`},
		{[]string{"--save-baseline", ".x"}, `--save-baseline: baseline: name ".x" must be`},
		{[]string{"--baseline-dir", ""}, "--baseline-dir must name a directory"},
		{[]string{"--thresholds", "speed=1%"}, `--thresholds: baseline: unknown threshold "speed"`},
		{[]string{"--thresholds", "latency=x"}, `--thresholds: baseline: threshold latency: "x" is not a number`},
	} {
		o := gp(boundedContext(t, compareBound), append([]string{"run", "--target", "http://127.0.0.1:1"}, tc.args...)...)
		if o.code != ExitUsage || !strings.Contains(o.stderr, tc.want) {
			t.Errorf("%s\nwant exit 2 and %q", o, tc.want)
		}
	}
}

// A live comparison of two embedded backends, one short round each: the
// plumbing (two child processes, interleaved rounds, results) works. One
// round a side can never be significant, so every check is skipped.
func TestCompareLive(t *testing.T) {
	long(t)
	if testing.Short() {
		t.Skip("starts two backends")
	}
	noChildrenLeft(t)
	out := t.TempDir()
	o := gp(boundedContext(t, runBound), "compare", "--fault-a", "none", "--fault-b", "none", "--rounds", "1", "--users", "2",
		"--duration", "1s", "--target-think", "20ms", "--out", out)
	if o.code != ExitOK {
		t.Fatalf("%s\nwant exit 0", o)
	}
	for _, w := range []string{"A regression_round_1", "B regression_burst_1", "too few rounds"} {
		if !strings.Contains(o.stderr+o.stdout, w) {
			t.Errorf("output lacks %q\n%s", w, o)
		}
	}
	res := readResults(t, out)
	if len(res.Checks) != 8 || res.Checks[0].Status != results.Skip || !strings.Contains(res.Checks[0].Evidence, "too few rounds") {
		t.Errorf("results checks = %v; want the 8 regression checks, skipped for too few rounds", res.Checks)
	}
	b, err := baseline.Load(filepath.Join(out, report.ResultsFile))
	if err != nil || b.Rounds != 1 || b.Settings.Users != 2 || len(b.Metrics["journey.p50"]) != 1 {
		t.Errorf("baseline.Load(results of a live comparison) = %+v, %v; want side B's one round of 2 users", b, err)
	}
}

// run --suite regression writes the first baseline and says so: a skip,
// for nothing was compared.
func TestRunRegressionFirstBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a backend")
	}
	noChildrenLeft(t)
	dir := t.TempDir()
	o := gp(boundedContext(t, runBound), "run", "--suite", "regression", "--rounds", "1", "--users", "2", "--duration", "1s",
		"--target-think", "20ms", "--max-users", "0", "--quiet", "--baseline-dir", filepath.Join(dir, "baselines"),
		"--baseline", "ci", "--out", filepath.Join(dir, "out"))
	if o.code != ExitOK {
		t.Fatalf("%s\nwant exit 0", o)
	}
	res := readResults(t, filepath.Join(dir, "out"))
	c := findCheck(res, "regression", "golden_path_performance_baseline")
	path := filepath.Join(dir, "baselines", "ci.json")
	if c == nil || c.Status != results.Skip || !strings.Contains(c.Evidence, "baseline written") ||
		!strings.Contains(c.Evidence, "wrote the first one to "+path) {
		t.Fatalf("golden_path_performance_baseline = %+v; want a skip saying the baseline was written to %s", c, path)
	}
	b, err := baseline.Load(path)
	if err != nil || b.Name != "ci" || !b.Env.Embedded || b.Env.CPUs == 0 || b.Env.Go == "" || b.Env.TargetVersion == "" ||
		len(b.Metrics["db_operation.p50"]) != 1 || b.Histograms["journey"] == nil {
		t.Errorf("baseline.Load(%s) = %+v, %v; want one round of the embedded backend with its environment and version", path, b, err)
	}
	// A second run compares with it, under the thresholds given.
	o = gp(boundedContext(t, runBound), "run", "--suite", "regression", "--rounds", "1", "--users", "2", "--duration", "1s",
		"--target-think", "20ms", "--max-users", "0", "--quiet", "--baseline-dir", filepath.Join(dir, "baselines"),
		"--baseline", "ci", "--thresholds", "latency=35%,memory=45%", "--out", filepath.Join(dir, "out2"))
	if o.code != ExitOK {
		t.Fatalf("%s\nwant exit 0", o)
	}
	// The comparison scenario records the thresholds it judged by.
	res = readResults(t, filepath.Join(dir, "out2"))
	found := false
	for _, sc := range res.Scenarios {
		c := sc.Metrics.Counters
		if _, ok := c["threshold_latency"]; !ok {
			continue
		}
		found = true
		if c["threshold_latency"] != int64(0.35*baseline.CounterScale) || c["threshold_memory"] != int64(0.45*baseline.CounterScale) {
			t.Errorf("comparison scenario %s thresholds: latency %d, memory %d; want %d and %d (--thresholds latency=35%%,memory=45%%)",
				sc.Name, c["threshold_latency"], c["threshold_memory"], int64(0.35*baseline.CounterScale), int64(0.45*baseline.CounterScale))
		}
	}
	if !found {
		t.Errorf("second run's results hold no comparison scenario; want one, against baseline ci")
	}
}
