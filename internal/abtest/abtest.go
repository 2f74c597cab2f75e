// Package abtest measures two targets live and compares them metric by
// metric: each side is brought up by [testbed.Up], warmed up, then measured
// in rounds interleaved A, B, B, A, A, B, ... so that a machine drifting
// under the test hits both sides alike, and neither always goes first.
// It is `goldenpath compare --a/--b` (and --fault-a/--fault-b).
package abtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
	"github.com/goldenpath-dev/goldenpath/internal/suite/catalog"
	"github.com/goldenpath-dev/goldenpath/internal/suite/regression"
	"github.com/goldenpath-dev/goldenpath/internal/testbed"
)

// ErrInterrupted is returned when ctx ends before every round ran;
// nothing is compared then.
var ErrInterrupted = errors.New("abtest: interrupted; nothing compared")

// Side is one target of the comparison: a URL, or an embedded reference
// backend with Faults ("" or "none": the clean backend).
type Side struct {
	URL    string
	Faults string
}

// String names the side as a reader of the report wants it.
func (s Side) String() string {
	if s.URL != "" {
		return s.URL
	}
	if s.Faults == "" || s.Faults == "none" {
		return "embedded reference backend (no fault)"
	}
	return "embedded reference backend with --fault " + s.Faults
}

// Options configure [Run]. ValidFaults, when set, checks a side's fault
// list before anything starts (the load side cannot parse faults itself).
type Options struct {
	ValidFaults func(string) error
	A, B        Side // A is the old side, B the new
	Rounds      int
	Users       int
	Duration    time.Duration // measured time a side, split into the rounds
	TargetThink time.Duration // embedded backends' model time (0: the default, <0: none)
	RunTimeout  time.Duration
	WaitReady   time.Duration
	Thresholds  baseline.Thresholds
	// Confirm, when the first Rounds rounds a side show a regression,
	// runs Rounds more a side and flags only what both sets show
	// ([baseline.CompareConfirmed]).
	Confirm bool
	Version string    // goldenpath's, for the results
	Log     io.Writer // progress lines; nil: none
	// Profile is what both sides speak (nil: PROTOCOL v1).
	Profile *journey.ProfileSpec
}

// Validate reports the first option out of range, in the words of the
// compare flag that sets it.
func (o Options) Validate() error {
	switch {
	case o.Rounds < 1:
		return fmt.Errorf("--rounds must be at least 1 (got %d)", o.Rounds)
	case o.Users < 1:
		return fmt.Errorf("--users must be at least 1 (got %d)", o.Users)
	case o.Duration <= 0 || o.RunTimeout <= 0:
		return errors.New("--duration and --run-timeout must be positive")
	case o.A.URL != "" && o.A.Faults != "", o.B.URL != "" && o.B.Faults != "":
		return errors.New("--fault-a/--fault-b apply to embedded backends only; drop the fault or the URL of that side")
	}
	for _, f := range []struct{ name, v string }{{"--fault-a", o.A.Faults}, {"--fault-b", o.B.Faults}} {
		if f.v != "" && o.ValidFaults != nil {
			if err := o.ValidFaults(f.v); err != nil {
				return fmt.Errorf("%s: %v", f.name, err)
			}
		}
	}
	for _, u := range []struct{ name, v string }{{"--a", o.A.URL}, {"--b", o.B.URL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			return fmt.Errorf("%s %q is not an http(s) URL such as http://127.0.0.1:8080", u.name, u.v)
		}
	}
	return nil
}

// Live reports whether the options name a live comparison: a URL or
// faults on either side.
func (o Options) Live() bool {
	return o.A.URL != "" || o.B.URL != "" || o.A.Faults != "" || o.B.Faults != ""
}

// ParseThresholds reads compare's --thresholds list over the defaults,
// with the Mann-Whitney U test's significance level alpha.
func ParseThresholds(list string, alpha float64) (baseline.Thresholds, error) {
	th, err := baseline.ParseThresholds(list)
	if err != nil {
		return th, fmt.Errorf("--thresholds: %v", err)
	}
	th.Alpha = alpha
	return th, th.Validate()
}

type side struct {
	label string
	spec  Side
	bed   *testbed.Bed
	env   *suite.Env
	scs   []results.Scenario
}

// Run brings both sides up, measures them and compares them. The results
// hold B's scenarios and the comparison scenario, ready for Evaluate. An
// error wrapping [testbed.ErrUnreachable] means a side could not be
// brought up.
func Run(ctx context.Context, o Options) (*results.Results, *baseline.Comparison, error) {
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	say := func(format string, a ...any) { fmt.Fprintf(logw, format, a...) }
	start := time.Now().UTC()
	sides := []*side{{label: "A", spec: o.A}, {label: "B", spec: o.B}}
	defer func() {
		for _, s := range sides {
			if s.bed != nil {
				s.bed.Close()
			}
		}
	}()
	for _, s := range sides {
		bed, err := testbed.Up(ctx, testbed.Spec{URL: s.spec.URL, Faults: s.spec.Faults, Think: o.TargetThink,
			WaitReady: o.WaitReady, Register: testbed.AccountsFor(o.Users, 0), Log: logw, Label: "goldenpath compare: side " + s.label,
			Profile: o.Profile})
		if err != nil {
			return nil, nil, fmt.Errorf("side %s: %w", s.label, err)
		}
		s.bed = bed
		s.env = &suite.Env{Target: bed.Target, Profile: bed.Profile, Accounts: bed.Accounts, AdminToken: bed.AdminToken, Monitor: bed.Monitor,
			SLA: suite.DefaultSLA(), Users: o.Users, Duration: o.Duration, RunTimeout: o.RunTimeout, Segment: load.Whole,
			Regression: suite.RegressionOptions{Rounds: o.Rounds, Embedded: bed.Embedded, Faults: s.spec.Faults}}
	}
	for _, s := range sides {
		say("goldenpath compare: warming up %s (%s)\n", s.label, s.spec)
		if err := regression.WarmUp(ctx, s.env); err != nil {
			return nil, nil, err
		}
	}
	rounds := func(from, to int) error {
		for i := from; i <= to; i++ {
			order := sides
			if i%2 == 0 {
				order = []*side{sides[1], sides[0]}
			}
			for _, s := range order {
				scs, stopped, err := regression.RunRound(ctx, s.env, i)
				s.scs = append(s.scs, scs...)
				if err != nil {
					return err
				}
				if stopped || ctx.Err() != nil {
					return ErrInterrupted
				}
				for _, sc := range scs {
					say("  %s %-20s %5d journeys  %6.1f/s  %d failed\n", s.label, sc.Name, sc.Journeys, sc.Throughput, sc.Failed)
				}
			}
		}
		return nil
	}
	compare := func() (*baseline.Comparison, [2]*baseline.Baseline, error) {
		var bs [2]*baseline.Baseline
		for i, s := range sides {
			b, err := baseline.New(s.scs, s.env.Environment(ctx), regression.RoundSettings(s.env), start)
			if err != nil {
				return nil, bs, fmt.Errorf("side %s: %w", s.label, err)
			}
			b.Name = s.label
			bs[i] = b
		}
		cmp, err := baseline.Compare(bs[0], bs[1], o.Thresholds)
		return cmp, bs, err
	}
	if err := rounds(1, o.Rounds); err != nil {
		return nil, nil, err
	}
	cmp, bs, err := compare()
	if err != nil {
		return nil, nil, err
	}
	confirmed := false
	if reg := cmp.Regressions(); o.Confirm && len(reg) > 0 {
		var names []string
		for _, r := range reg {
			names = append(names, r.Name)
		}
		say("goldenpath compare: %s regressed in rounds 1-%d; running rounds %d-%d to confirm (a regression must show in both sets)\n",
			strings.Join(names, ", "), o.Rounds, o.Rounds+1, 2*o.Rounds)
		if err := rounds(o.Rounds+1, 2*o.Rounds); err != nil {
			return nil, nil, err
		}
		if cmp, bs, err = compare(); err != nil {
			return nil, nil, err
		}
		cmp.ConfirmAt(o.Rounds)
		confirmed = true
	}
	res := Frame(start, bs[1], o.Version)
	csc := regression.ComparisonScenario(bs[0], o.Thresholds, nil)
	n := o.Rounds
	if confirmed {
		regression.MarkConfirmed(&csc, o.Rounds)
		n *= 2
	}
	res.Scenarios = append(sides[1].scs, csc)
	res.Notes = append(res.Notes, fmt.Sprintf("live comparison: A (old) = %s, B (new) = %s; %d rounds a side, interleaved A, B, B, A, ...; the scenarios are B's, A's values are in %s",
		o.A, o.B, n, regression.ScenarioComparison))
	if confirmed {
		res.Notes = append(res.Notes, fmt.Sprintf("rounds 1-%d showed a regression, so rounds %d-%d ran to confirm it: a metric is flagged only when each set shows it on its own",
			o.Rounds, o.Rounds+1, 2*o.Rounds))
	}
	return res, cmp, nil
}

// Files compares two stored measurements (baselines, or results.json
// files with rounds), OLD and NEW.
func Files(oldPath, newPath string, th baseline.Thresholds, version string) (*results.Results, *baseline.Comparison, error) {
	var sides [2]*baseline.Baseline
	for i, p := range []string{oldPath, newPath} {
		b, err := baseline.Load(p)
		if err != nil {
			return nil, nil, err
		}
		sides[i] = b
	}
	cmp, err := baseline.Compare(sides[0], sides[1], th)
	if err != nil {
		return nil, nil, fmt.Errorf("%s and %s: %w", oldPath, newPath, err)
	}
	res := Frame(time.Now().UTC(), sides[1], version)
	res.Scenarios = []results.Scenario{regression.ComparisonScenario(sides[0], th, sides[1].Metrics)}
	res.Notes = append(res.Notes, fmt.Sprintf("compared %s (old) with %s (new)", oldPath, newPath))
	return res, cmp, nil
}

// Frame is the frame of the results of a comparison whose new side is nb.
func Frame(start time.Time, nb *baseline.Baseline, version string) *results.Results {
	d := time.Duration(0)
	if r, err := time.ParseDuration(nb.Settings.Round); err == nil {
		d = r * time.Duration(max(nb.Rounds, 1))
	}
	return &results.Results{
		Schema: results.Schema, StartedAt: start, FinishedAt: time.Now().UTC(),
		Tool:   results.Tool{Name: "goldenpath", Version: version, Go: runtime.Version(), CPUs: runtime.NumCPU()},
		Target: results.Target{URL: nb.Env.TargetURL, Embedded: nb.Env.Embedded, Faults: nb.Env.Faults},
		Options: results.Options{Suites: []string{regression.Name}, Users: nb.Settings.Users, Duration: d.String(),
			Segment: "1/1", SLA: suite.DefaultSLA().Lines()},
		Segments: []string{"1/1"},
	}
}

// Judge evaluates the comparison's checks on res and, when out is not
// empty, writes its reports there.
func Judge(res *results.Results, out string) error {
	res.FinishedAt = time.Now().UTC()
	res.Phases = results.MergePhases(res.Scenarios)
	if err := catalog.Evaluate(res, suite.DefaultSLA()); err != nil {
		return err
	}
	if out == "" {
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return report.WriteAll(out, res)
}
