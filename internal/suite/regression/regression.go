// Package regression is the regression suite: the golden path measured in
// rounds and compared, metric by metric and with statistics, with a stored
// baseline (internal/baseline).
//
// A round ([RunRound]) is a steady scenario and a burst; the comparison
// and what became of the baseline files are kept in one scenario
// ([ComparisonScenario]), so that the checks can be judged again from
// results.json alone (goldenpath merge, goldenpath compare). The suite
// takes its settings from [suite.Env].Regression.
package regression

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// Name is the regression suite's name.
const Name = "regression"

// DefaultBaselineName is the baseline the regression suite compares with
// when none is named.
const DefaultBaselineName = "default"

// ScenarioComparison is the scenario that carries into the results what the
// rounds were compared with: the old baseline's values per round, the
// thresholds, and what became of the baseline files (see
// [ComparisonScenario]).
const ScenarioComparison = "regression_comparison"

// rounds is how many rounds o measures.
func rounds(o suite.RegressionOptions) int {
	if o.Rounds > 0 {
		return o.Rounds
	}
	return baseline.DefaultRounds
}

// thresholds are the thresholds o judges changes by.
func thresholds(o suite.RegressionOptions) baseline.Thresholds {
	if o.Thresholds == (baseline.Thresholds{}) {
		return baseline.DefaultThresholds
	}
	return o.Thresholds
}

// compareName is the baseline the rounds are compared with. The default
// is one per profile ("default", "default-netra", ...): a baseline of one
// protocol says nothing of another.
func compareName(o suite.RegressionOptions, profile string) string {
	switch {
	case o.Baseline != "":
		return o.Baseline
	case o.Save != "":
		return o.Save
	case profile != "" && profile != "goldenpath":
		return DefaultBaselineName + "-" + profile
	}
	return DefaultBaselineName
}

// Suite is the regression suite; it takes its settings from
// [suite.Env].Regression.
func Suite() suite.Suite {
	return suite.Suite{Name: Name, Run: runRegression, Checks: regressionChecks, FirstSegment: true}
}

func runRegression(ctx context.Context, e *suite.Env, add func(results.Scenario)) (bool, error) {
	o := e.Regression
	for _, n := range []string{o.Baseline, o.Save} {
		if n != "" {
			if err := baseline.ValidName(n); err != nil {
				return false, err
			}
		}
	}
	if err := WarmUp(ctx, e); err != nil {
		return false, err
	}
	var scs []results.Scenario
	for i := 1; i <= rounds(o); i++ {
		rs, stopped, err := RunRound(ctx, e, i)
		for _, sc := range rs {
			add(sc)
		}
		scs = append(scs, rs...)
		if err != nil {
			return false, err
		}
		if stopped {
			return true, nil
		}
	}
	add(keepBaselines(ctx, e, scs))
	return false, nil
}

// RoundSettings are the settings of e's rounds, as a baseline records them.
func RoundSettings(e *suite.Env) baseline.Settings {
	return baseline.Settings{Users: e.Users, Round: baseline.RoundDuration(e.Duration, rounds(e.Regression)).String(), BurstUsers: suite.BurstUsers(e)}
}

// WarmUp runs one journey per user, unrecorded, so that the first round
// does not pay for cold caches and connection pools alone.
func WarmUp(ctx context.Context, e *suite.Env) error {
	return e.Quiet(ctx, load.Plan{Model: load.Closed, Users: e.Users, Iterations: int64(e.Users)}, e.MainJourney(), nil)
}

// RunRound measures round i (from 1): a steady scenario of e.Users users
// for the round's length ([baseline.RoundDuration] of e.Duration), then a
// burst of simultaneous users, one full journey each. When e.Monitor is
// set, each scenario also carries the target's peak memory and the CPU
// time it used. interrupted is true when ctx ended first.
func RunRound(ctx context.Context, e *suite.Env, i int) (scs []results.Scenario, interrupted bool, err error) {
	round := baseline.RoundDuration(e.Duration, rounds(e.Regression))
	steps := []struct {
		name string
		plan load.Plan
	}{
		{baseline.RoundName(i), load.Plan{Model: load.Closed, Users: e.Users, Duration: round, Think: e.Think}},
		{baseline.BurstName(i), load.Plan{Model: load.Closed, Users: suite.BurstUsers(e), Iterations: int64(suite.BurstUsers(e))}},
	}
	for _, s := range steps {
		before, okBefore := targetSample(ctx, e)
		sc, stopped, err := e.Scenario(ctx, s.name, Name, s.plan, e.MainJourney())
		if err != nil {
			return scs, false, err
		}
		if after, ok := targetSample(ctx, e); ok {
			if v := suite.RSS(after); v > 0 {
				c := sc.Metrics.Counters
				c[suite.CounterTargetPeakRSS] = max(c[suite.CounterTargetPeakRSS], int64(v))
			}
			if cb, ok1 := cpuSeconds(before); ok1 && okBefore {
				if ca, ok2 := cpuSeconds(after); ok2 && ca >= cb {
					sc.Metrics.Counters[baseline.CounterTargetCPU] = int64((ca - cb) * 1e6)
				}
			}
		}
		scs = append(scs, sc)
		if stopped {
			return scs, true, nil
		}
	}
	return scs, false, nil
}

// targetSample samples the target now, if it can be watched.
func targetSample(ctx context.Context, e *suite.Env) (monitor.Sample, bool) {
	if e.Monitor == nil {
		return monitor.Sample{}, false
	}
	s := e.Monitor.SampleNow(ctx)
	return s, s.Err == "" || s.HasProc
}

// cpuSeconds is the CPU time the target has used: from /proc when it is our
// child, else from its /metrics.
func cpuSeconds(s monitor.Sample) (float64, bool) {
	if s.HasProc {
		return s.CPUSeconds, true
	}
	v, ok := s.Metrics["process_cpu_seconds_total"]
	return v, ok
}

// keepBaselines reads the baseline the rounds are compared with, writes the
// first one when there is none (and the one --save-baseline names), and
// returns the comparison scenario that records it all.
func keepBaselines(ctx context.Context, e *suite.Env, scs []results.Scenario) results.Scenario {
	o := e.Regression
	th := thresholds(o)
	name := compareName(o, e.ProfileName())
	switch {
	case o.Dir == "":
		return stateScenario(stateNotKept, th, "no baseline directory: nothing was compared or kept")
	case e.RaceBuild:
		return stateScenario(stateNotKept, th, "the target runs with the race detector, whose speed is not the target's: no baseline compared or kept")
	}
	cur, err := baseline.New(scs, e.Environment(ctx), RoundSettings(e), time.Now())
	if err != nil {
		return stateScenario(stateUnreadable, th, err.Error())
	}
	save := func(n string) (string, error) {
		if e.Segment.Count > 1 {
			return "", fmt.Errorf("segment %s holds part of the load only: take baselines from one process", e.Segment)
		}
		cur.Name = n
		path := baseline.Path(o.Dir, n)
		return path, baseline.Save(path, cur)
	}
	var out results.Scenario
	old, err := baseline.Load(baseline.Path(o.Dir, name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		path, err := save(name)
		if err != nil {
			return stateScenario(stateNotKept, th, fmt.Sprintf("no baseline %q in %s, and this run's could not become it: %v", name, o.Dir, err))
		}
		out = stateScenario(stateFirst, th, fmt.Sprintf("no baseline %q existed: wrote the first one to %s from these %d rounds; later runs are compared with it", name, path, cur.Rounds))
		if o.Save == name {
			return out
		}
	case err != nil:
		out = stateScenario(stateUnreadable, th, err.Error())
	default:
		if d := old.Settings.Mismatch(cur.Settings); d != "" {
			out = stateScenario(stateIncomparable, th, fmt.Sprintf("baseline %q ran with other settings (%s); compare like with like, or replace it with --save-baseline %s", name, d, name))
		} else {
			out = ComparisonScenario(old, th, nil)
		}
	}
	if o.Save != "" {
		if path, err := save(o.Save); err != nil {
			out.Samples = append(out.Samples, results.Sample{Kind: kindBaselineNote, Detail: fmt.Sprintf("--save-baseline %s failed: %v", o.Save, err)})
		} else {
			out.Samples = append(out.Samples, results.Sample{Kind: kindBaselineNote, Detail: fmt.Sprintf("saved this run's %d rounds as baseline %q (%s)", cur.Rounds, o.Save, path)})
		}
	}
	return out
}

// States of a comparison scenario, kept as counters (1 when set).
const (
	stateCompared     = "state_compared"     // old values follow
	stateFirst        = "state_first"        // no baseline existed; this run's became it
	stateNotKept      = "state_not_kept"     // nothing compared or kept (no directory, race build...)
	stateIncomparable = "state_incomparable" // the baseline's settings differ
	stateUnreadable   = "state_unreadable"   // the baseline file could not be read
)

// Counters of a comparison scenario besides its state.
const (
	counterCopies    = "copies" // scenarios merged into this one (segments)
	prefixOld        = "old:"
	prefixNew        = "new:"
	counterLatency   = "threshold_latency"
	counterResponse  = "threshold_response"
	counterMemory    = "threshold_memory"
	counterErrorPts  = "threshold_error_points"
	counterFloorMS   = "threshold_floor_ms"
	counterAlpha     = "alpha"
	counterConfirm   = "confirm_split" // values a side in the first set of rounds ([MarkConfirmed])
	kindBaseline     = "baseline"      // a sample describing the baseline or the state
	kindBaselineNote = "baseline_note" // a sample about a baseline written
	comparisonModel  = "comparison"
)

// ComparisonScenario records a comparison with old in a scenario, so that
// the regression checks can be judged again from results.json alone
// ([suite.Evaluate], goldenpath merge): old's values per round and the
// thresholds, as counters. The new values are the results' round scenarios;
// when there are none (two stored baselines compared), pass them as
// carryNew and they are stored too.
func ComparisonScenario(old *baseline.Baseline, t baseline.Thresholds, carryNew map[string][]float64) results.Scenario {
	sc := stateScenario(stateCompared, t, "compared with baseline "+old.Describe())
	for k, v := range baseline.EncodeSamples(prefixOld, old.Metrics) {
		sc.Metrics.Counters[k] = v
	}
	for k, v := range baseline.EncodeSamples(prefixNew, carryNew) {
		sc.Metrics.Counters[k] = v
	}
	return sc
}

// MarkConfirmed records in a comparison scenario that each side's first
// split values are one set of rounds and the rest a second set that must
// repeat a regression for it to be flagged ([baseline.CompareConfirmed]).
func MarkConfirmed(sc *results.Scenario, split int) {
	sc.Metrics.Counters[counterConfirm] = int64(split)
}

func stateScenario(state string, t baseline.Thresholds, detail string) results.Scenario {
	set := metrics.NewSet()
	set.Add(counterCopies, 1)
	set.Add(state, 1)
	for name, v := range map[string]float64{counterLatency: t.Latency, counterResponse: t.Response,
		counterMemory: t.Memory, counterErrorPts: t.ErrorPoints, counterFloorMS: t.FloorMS, counterAlpha: t.Alpha} {
		set.Add(name, int64(v*baseline.CounterScale))
	}
	return results.Scenario{Name: ScenarioComparison, Suite: Name, Model: comparisonModel,
		Metrics: set.Snapshot(), Samples: []results.Sample{{Kind: kindBaseline, Detail: detail}}}
}
