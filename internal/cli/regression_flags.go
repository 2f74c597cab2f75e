package cli

import (
	"flag"
	"fmt"

	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// DefaultBaselineDir is where `goldenpath run` keeps baselines.
const DefaultBaselineDir = "goldenpath-baselines"

// regressionFlags are run's flags for the regression suite.
type regressionFlags struct {
	save, compare, dir string
	rounds             int
	thresholds         string
	parsed             baseline.Thresholds // thresholds, parsed by validate
}

func (r *regressionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.save, "save-baseline", "", "regression suite: save this run's rounds as baseline `NAME` (replacing it)")
	fs.StringVar(&r.compare, "baseline", "", "regression suite: compare with baseline `NAME`, writing it from this run when it does not exist (default: the --save-baseline name, else \""+suite.DefaultBaselineName+"\")")
	fs.StringVar(&r.dir, "baseline-dir", DefaultBaselineDir, "regression suite: `DIR` of the baselines (NAME.json each)")
	fs.StringVar(&r.thresholds, "thresholds", "", "regression suite: `LIST` of thresholds over the defaults ("+baseline.DefaultThresholds.String()+"), e.g. latency=10%,error=2")
	fs.IntVar(&r.rounds, "rounds", baseline.DefaultRounds, "regression suite: rounds to measure (`K`; at least 5 for a change to be significant at alpha 0.01)")
}

// validate checks the flags; the error names the flag.
func (r *regressionFlags) validate() error {
	if r.rounds < 1 {
		return fmt.Errorf("--rounds must be at least 1 (got %d)", r.rounds)
	}
	if r.dir == "" {
		return fmt.Errorf("--baseline-dir must name a directory")
	}
	th, err := baseline.ParseThresholds(r.thresholds)
	if err != nil {
		return fmt.Errorf("--thresholds: %v", err)
	}
	r.parsed = th
	for flagName, v := range map[string]string{"--save-baseline": r.save, "--baseline": r.compare} {
		if v == "" {
			continue
		}
		if err := baseline.ValidName(v); err != nil {
			return fmt.Errorf("%s: %v", flagName, err)
		}
	}
	return nil
}

// options are the regression suite's options for a run of the embedded
// backend (with faults) or of another target.
func (r *regressionFlags) options(embedded bool, faults string) suite.RegressionOptions {
	return suite.RegressionOptions{Rounds: r.rounds, Dir: r.dir, Baseline: r.compare, Save: r.save, Embedded: embedded, Faults: faults, Thresholds: r.parsed}
}
