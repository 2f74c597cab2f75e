package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// TestRunRaceDetector builds the reference backend with Go's race
// detector: a clean backend reports no data race; the data-race fault's
// unsynchronised counter is found, with its place.
func TestRunRaceDetector(t *testing.T) {
	long(t)
	if testing.Short() {
		t.Skip("builds goldenpath with -race; skipped with -short")
	}
	cases := []struct {
		fault      string
		wantExit   int
		wantStatus string
		evidence   string
	}{
		{"", 0, results.Pass, "no data race reported"},
		{"data-race", 1, results.Fail, "startRun"},
	}
	for _, tc := range cases {
		t.Run("fault="+tc.fault, func(t *testing.T) {
			out := t.TempDir()
			args := []string{"run", "--race-detector", "--suite", "integrated", "--duration", "3s", "--users", "2", // 20 samples a percentile: the race build is slow
				"--max-users", "0", "--target-think", "20ms", "--out", out, "--quiet",
				// The race build is several times slower: judge only what this test is about.
				"--sla", writeSLA(t, "config_access: p95 < 10s\n")}
			if tc.fault != "" {
				args = append(args, "--fault", tc.fault)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			r := gp(ctx, args...)
			f, err := os.Open(filepath.Join(out, report.ResultsFile))
			if err != nil {
				t.Fatalf("run %v = exit %d, no results: %v\nstderr:\n%s", args, r.code, err, r.stderr)
			}
			defer f.Close()
			res, err := report.ReadJSON(f)
			if err != nil {
				t.Fatal(err)
			}
			var found *results.Check
			for i, c := range res.Checks {
				if c.Name == "go_race_detector_reports" {
					found = &res.Checks[i]
				}
			}
			if found == nil {
				t.Fatalf("results lack the go_race_detector_reports check; checks: %+v", res.Checks)
			}
			if found.Status != tc.wantStatus || !strings.Contains(found.Evidence, tc.evidence) {
				t.Errorf("go_race_detector_reports = %s %q; want %s with %q", found.Status, found.Evidence, tc.wantStatus, tc.evidence)
			}
			if r.code != tc.wantExit {
				t.Errorf("exit %d; want %d\nstderr:\n%s", r.code, tc.wantExit, r.stderr)
			}
		})
	}
}

func writeSLA(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "sla.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
