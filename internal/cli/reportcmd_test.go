package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
	"github.com/goldenpath-dev/goldenpath/internal/suite/catalog"
)

// segmentResults is what `goldenpath run --suite integrated --segment seg`
// would have written, without running it: 30 journeys over 3 seconds,
// judged by the default SLA.
func segmentResults(t *testing.T, seg string, at time.Time) *results.Results {
	t.Helper()
	now := at
	set := metrics.NewSet(metrics.WithNow(func() time.Time { return now }), metrics.WithSeriesHistograms("journey"))
	for i := range 30 {
		now = at.Add(time.Duration(i/10) * time.Second)
		set.Record("journey", time.Duration(800+10*i)*time.Millisecond)
		set.Record("login", time.Duration(20+i)*time.Millisecond)
		for _, p := range []string{"ws_handshake", "agent_execution", "answer", "response_delivery", "config_access", "server_factory", "db_operation"} {
			set.Record(p, time.Duration(1+i%3)*time.Millisecond) // every integrated check has its evidence
		}
		set.Add(suite.CounterJourneys, 1)
		set.Add(suite.CounterSucceeded, 1)
	}
	sc := results.Scenario{Name: "integrated", Suite: suite.Integrated, Model: "closed", Users: 4, DurationS: 3, Metrics: set.Snapshot()}
	suite.Summarise(&sc)
	sla := suite.DefaultSLA()
	r := &results.Results{Schema: results.Schema, Tool: results.Tool{Name: "goldenpath", Version: "test", Go: "go1.26", CPUs: 2},
		StartedAt: at, FinishedAt: at.Add(3 * time.Second), Target: results.Target{URL: "http://127.0.0.1:1", Embedded: true},
		Options:   results.Options{Suites: []string{suite.Integrated}, Users: 4, Duration: "3s", Segment: seg, SLA: sla.Lines()},
		Scenarios: []results.Scenario{sc}, Segments: []string{seg}}
	r.Phases = results.MergePhases(r.Scenarios)
	if err := catalog.Evaluate(r, sla); err != nil {
		t.Fatal(err)
	}
	return r
}

// reportFiles are the files `goldenpath report` writes.
var reportFiles = []string{report.ResultsFile, report.JUnitFile, report.MarkdownFile, report.HTMLFile}

func readFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range reportFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("reading the reports: %v", err)
		}
		out[f] = b
	}
	return out
}

// TestReportRebuildsMergedResults merges two segments, then rebuilds the
// reports from the merged results.json elsewhere: they must be exactly
// the ones merge wrote, and results.json a copy.
func TestReportRebuildsMergedResults(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	var files []string
	for i, seg := range []string{"1/2", "2/2"} {
		d := filepath.Join(dir, "segment-"+seg[:1])
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := report.WriteAll(d, segmentResults(t, seg, start.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.Join(d, report.ResultsFile))
	}
	merged := filepath.Join(dir, "merged")
	if o := gp(t.Context(), append([]string{"merge", "--out", merged}, files...)...); o.code != ExitOK {
		t.Fatalf("%s\nwant %d", o, ExitOK)
	}
	want := readFiles(t, merged)

	out := filepath.Join(dir, "rebuilt", "nested") // created by report
	o := gp(t.Context(), "report", filepath.Join(merged, report.ResultsFile), "--out", out)
	if o.code != ExitOK || o.stderr != "" {
		t.Fatalf("%s\nwant %d and nothing on stderr", o, ExitOK)
	}
	for _, f := range reportFiles {
		if !strings.Contains(o.stdout, filepath.Join(out, f)+"\n") {
			t.Errorf("goldenpath report printed %q; want it to name %s", o.stdout, filepath.Join(out, f))
		}
	}
	got := readFiles(t, out)
	for _, f := range reportFiles {
		if !bytes.Equal(got[f], want[f]) {
			t.Errorf("goldenpath report rebuilt %s other than merge wrote it:\n--- report:\n%.3000s\n--- merge:\n%.3000s", f, got[f], want[f])
		}
	}
	md := string(got[report.MarkdownFile])
	for _, s := range []string{"| segments | 1/2, 2/2 |", "| `integrated` | integrated | closed | 4 | 60 | 60 | 0 |"} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md of the merged results lacks %q:\n%s", s, md)
		}
	}
	cases, _ := junitCases(t, out)
	if r := readResults(t, out); !slices.Equal(cases, checkNames(r)) {
		t.Errorf("junit.xml has testcases %q; want the results' checks %q", cases, checkNames(r))
	}
}

// TestReportInPlace rebuilds the reports beside the results file, which
// stays as it was, byte for byte, even fields this version does not know.
func TestReportInPlace(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, segmentResults(t, "1/1", time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))); err != nil {
		t.Fatal(err)
	}
	data := bytes.Replace(b.Bytes(), []byte(`"schema"`), []byte(`"a_field_of_a_newer_version": [1, 2],`+"\n"+`  "schema"`), 1)
	src := filepath.Join(dir, report.ResultsFile)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if o := gp(t.Context(), "report", src); o.code != ExitOK {
		t.Fatalf("%s\nwant %d", o, ExitOK)
	}
	got := readFiles(t, dir)
	if !bytes.Equal(got[report.ResultsFile], data) {
		t.Errorf("goldenpath report changed the results file it read")
	}
	if !bytes.HasPrefix(got[report.HTMLFile], []byte("<!DOCTYPE html>")) || !bytes.HasPrefix(got[report.MarkdownFile], []byte("# goldenpath report: PASS\n")) {
		t.Errorf("report.html or report.md does not start as a report should:\n%.200s\n%.200s", got[report.HTMLFile], got[report.MarkdownFile])
	}
	if ents, _ := os.ReadDir(dir); len(ents) != len(reportFiles) {
		t.Errorf("goldenpath report left %d files in %s; want exactly the %d reports (no temporary files)", len(ents), dir, len(reportFiles))
	}
}

func TestReportBadUsage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no results", nil, "goldenpath report: name the results.json to report on"},
		{"two results", []string{"a.json", "b.json"}, "goldenpath report: one results file at a time (got 2); merge segments first"},
		{"missing results", []string{"testdata/run/missing.json"}, "goldenpath report: open testdata/run/missing.json: no such file"},
		{"empty file", []string{file}, "goldenpath report: " + file + ": report: not a results file: EOF"},
		{"not results", []string{"testdata/run/users-no-email.csv"}, "goldenpath report: testdata/run/users-no-email.csv: report: not a results file"},
		{"results of another schema", []string{"testdata/run/other-schema.json"}, `report: schema "something/else", want "goldenpath.results/v1"`},
		{"unknown flag", []string{"testdata/run/other-schema.json", "--bogus"}, "goldenpath report: unknown flag --bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := gp(t.Context(), append([]string{"report"}, tt.args...)...)
			if o.code != ExitUsage || !strings.Contains(o.stderr, tt.wantErr) || o.stdout != "" {
				t.Errorf("%s\nwant %d, nothing on stdout, and an error containing %q", o, ExitUsage, tt.wantErr)
			}
		})
	}
	t.Run("out is a file", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(dir, report.ResultsFile)
		if err := report.WriteAll(dir, segmentResults(t, "1/1", time.Now())); err != nil {
			t.Fatal(err)
		}
		o := gp(t.Context(), "report", "--out", filepath.Join(file, "x"), src)
		if o.code != ExitUsage || !strings.Contains(o.stderr, "goldenpath report: --out: mkdir") {
			t.Errorf("%s\nwant %d and an error naming --out", o, ExitUsage)
		}
	})
}
