package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath"
	"github.com/goldenpath-dev/goldenpath/internal/abtest"
	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/testbed"
)

type compareOptions struct {
	out        string
	thresholds string
	alpha      float64
	quiet      bool
	live       abtest.Options
	profile    profileFlags
}

func compareFlags(o *compareOptions) *flag.FlagSet {
	fs := newFlagSet("compare")
	l := &o.live
	fs.StringVar(&o.out, "out", "", "`DIR` for results.json, junit.xml, report.md and report.html (default: none written)")
	fs.StringVar(&o.thresholds, "thresholds", "", "`LIST` of thresholds over the defaults ("+baseline.DefaultThresholds.String()+"), e.g. latency=10%,error=2")
	fs.Float64Var(&o.alpha, "alpha", baseline.DefaultThresholds.Alpha, "significance level of the Mann-Whitney U test")
	fs.StringVar(&l.A.URL, "a", "", "live: base `URL` of target A (the old side); empty: an embedded reference backend")
	fs.StringVar(&l.B.URL, "b", "", "live: base `URL` of target B (the new side); empty: an embedded reference backend")
	fs.StringVar(&l.A.Faults, "fault-a", "", "live: `FAULTS` of embedded backend A (see goldenpath serve -h)")
	fs.StringVar(&l.B.Faults, "fault-b", "", "live: `FAULTS` of embedded backend B")
	fs.IntVar(&l.Rounds, "rounds", baseline.DefaultRounds, "live: rounds a side (`K`)")
	fs.BoolVar(&l.Confirm, "confirm", true, "live: when rounds 1-K show a regression, run K more rounds a side and flag only what both sets show (about alpha² false alarms instead of alpha); --confirm=false: judge the K rounds alone")
	fs.IntVar(&l.Users, "users", 10, "live: users of each steady round (`N`)")
	fs.DurationVar(&l.Duration, "duration", 12*time.Second, "live: measured `duration` a side, split into the rounds (each at least "+baseline.MinRound.String()+")")
	fs.DurationVar(&l.TargetThink, "target-think", goldenpath.DefaultTargetThink, "live: embedded backends' simulated model time per run (`duration`)")
	fs.DurationVar(&l.RunTimeout, "run-timeout", goldenpath.DefaultRunTimeout, "live: longest wait for a run's terminal event (`duration`)")
	fs.DurationVar(&l.WaitReady, "wait-ready", goldenpath.DefaultWaitReady, "live: how long to wait for a URL's /readyz (exit 3; `duration`)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress output")
	o.profile.register(fs)
	return fs
}

func compareMain(ctx context.Context, e *env, args []string) int {
	var o compareOptions
	fs := compareFlags(&o)
	if code, done := parseArgs(fs, e, args); done {
		return code
	}
	th, err := abtest.ParseThresholds(o.thresholds, o.alpha)
	if err != nil {
		return usageError(e, "compare", "%v", err)
	}
	var res *results.Results
	var cmp *baseline.Comparison
	switch {
	case o.live.Live() && fs.NArg() > 0:
		return usageError(e, "compare", "either two files or --a/--b (--fault-a/--fault-b), not both")
	case o.live.Live():
		l := o.live
		l.Thresholds, l.Version, l.ValidFaults = th, goldenpath.Version(), validFaults
		o.profile.secrets(e)
		p := o.profile
		if l.Profile, err = testbed.LoadProfile(p.name, p.authURL, p.bypassKey, p.apiKey, p.model); err != nil {
			return usageError(e, "compare", "--profile: %v", err)
		}
		if l.TargetThink < 0 || l.WaitReady < 0 {
			return usageError(e, "compare", "--target-think and --wait-ready must not be negative")
		}
		if l.TargetThink == 0 {
			l.TargetThink = -1 // the flag's 0 is none
		}
		if err := l.Validate(); err != nil {
			return usageError(e, "compare", "%v", err)
		}
		if !o.quiet {
			l.Log = e.stderr
		}
		res, cmp, err = abtest.Run(ctx, l)
		switch {
		case errors.Is(err, testbed.ErrUnreachable):
			fmt.Fprintf(e.stderr, "goldenpath compare: %v\n", err)
			return ExitUnreachable
		case errors.Is(err, abtest.ErrInterrupted) || (err != nil && ctx.Err() != nil):
			fmt.Fprintf(e.stderr, "goldenpath compare: interrupted; nothing compared\n")
			return ExitInterrupted
		case err != nil:
			fmt.Fprintf(e.stderr, "goldenpath compare: %v\n", err)
			return ExitUsage
		}
	case fs.NArg() != 2:
		return usageError(e, "compare", "name two files, OLD and NEW (baselines or results.json with rounds), or measure live with --a/--b")
	default:
		if res, cmp, err = abtest.Files(fs.Arg(0), fs.Arg(1), th, goldenpath.Version()); err != nil {
			fmt.Fprintf(e.stderr, "goldenpath compare: %v\n", err)
			return ExitUsage
		}
	}
	return finishCompare(e, &o, res, cmp)
}

// validFaults checks a --fault list.
func validFaults(s string) error {
	_, err := fault.Parse(s)
	return err
}

// finishCompare judges the checks, prints the table and writes the
// results; it returns the exit code.
func finishCompare(e *env, o *compareOptions, res *results.Results, cmp *baseline.Comparison) int {
	if err := abtest.Judge(res, o.out); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath compare: %v\n", err)
		return ExitFailed
	}
	baseline.WriteTable(e.stdout, cmp)
	fmt.Fprintln(e.stdout)
	for _, c := range res.Checks {
		fmt.Fprintf(e.stdout, "%-5s %s\n", strings.ToUpper(c.Status), c.Name)
	}
	if o.out != "" {
		fmt.Fprintf(e.stdout, "\nreports: %[1]s/results.json, %[1]s/junit.xml, %[1]s/report.md, %[1]s/report.html\n", o.out)
	}
	if len(cmp.Regressions()) > 0 || res.Failed() {
		return ExitFailed
	}
	return ExitOK
}
