package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// regressionTrialBound bounds one live comparison at its defaults (6 rounds
// a side of 2 s plus a burst, and two backends, and 6 more a side when they
// show a regression, to confirm it): about 30 s clean, 60 s with a fault on
// the 2-core machine; a hang fails the trial, not the test binary.
const regressionTrialBound = 4 * time.Minute

// TestRegressionDetection is issue 5's proof at the count CI can afford:
// one trial of each case of scripts/bench-regression.sh (20 each, figures
// in docs/benchmarks.md). `goldenpath compare` with its defaults, between
// two embedded backends, A clean: clean against clean flags nothing (exit
// 0); slow-db=20ms and slow-factory=60ms (each about +30% on the golden
// path) are flagged (exit 1) by the check that names them, in both sets
// of rounds (--confirm). Like the fault
// matrix it runs a plain build: the race detector's slowdown would be
// measured along with the fault.
func TestRegressionDetection(t *testing.T) {
	long(t)
	if testing.Short() {
		t.Skip("three live comparisons of about 30 s each")
	}
	bin := plainBinary(t)
	for _, tc := range []struct {
		faultB string
		want   int
		check  string // the regression check that must fail; "" for none
		metric string // a metric its evidence must name
	}{
		{"none", ExitOK, "", ""},
		{"slow-db=20ms", ExitFailed, "database_performance_regression", "db_operation"},
		{"slow-factory=60ms", ExitFailed, "agent_execution_performance_regression", "first_event"},
	} {
		t.Run(tc.faultB, func(t *testing.T) {
			out := t.TempDir()
			ctx, cancel := context.WithCancel(boundedContext(t, regressionTrialBound))
			defer cancel()
			o := gpBinary(ctx, bin, newLockedBuffer(), "compare", "--quiet", "--fault-a", "none", "--fault-b", tc.faultB, "--out", out)
			r := readResults(t, out)
			var failed []string
			for _, c := range r.Checks {
				if c.Status == results.Fail {
					failed = append(failed, c.Name+": "+c.Evidence)
				}
			}
			t.Logf("compare --fault-b %s: exit %d after %s; failed: %s", tc.faultB, o.code, o.elapsed.Round(time.Second), strings.Join(failed, "; "))
			if o.code != tc.want {
				t.Fatalf("%s\nwant exit %d", o, tc.want)
			}
			if tc.check == "" {
				if len(failed) > 0 {
					t.Errorf("clean against clean flagged %d checks; want none:\n%s", len(failed), strings.Join(failed, "\n"))
				}
				return
			}
			if c := findCheck(r, "regression", tc.check); c == nil || c.Status != results.Fail || !strings.Contains(c.Evidence, tc.metric) {
				t.Errorf("check %s = %+v; want a fail naming %s", tc.check, c, tc.metric)
			}
		})
	}
}
