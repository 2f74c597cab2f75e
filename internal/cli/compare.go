package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath"
	"github.com/goldenpath-dev/goldenpath/internal/abtest"
	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/testbed"
)

const compareSynopsis = `
Compare two measurements of a target metric by metric, as benchstat does:
each metric's values over the rounds of one side are tested against the
other's with the Mann-Whitney U test, and a change is flagged only when it
is both significant (p <= --alpha) and beyond its threshold; every other
change shows as "~". Improvements are never called regressions.

  goldenpath compare [flags] OLD NEW
      two baselines (goldenpath run --save-baseline NAME writes
      goldenpath-baselines/NAME.json), or results.json files whose run
      carried rounds (--suite regression, or an earlier compare --out)
  goldenpath compare [flags] --a URL_A --b URL_B
  goldenpath compare [flags] --fault-a LIST --fault-b LIST
      measure two targets live (a URL, or an embedded reference backend
      with the faults given; mix as you like), their rounds interleaved
      A, B, B, A, A, B, ... so that a machine drifting under the test
      does not pass for a regression. B is the new side.

Flags go before the files. With --out, writes results.json, junit.xml,
report.md and report.html (the regression checks) as goldenpath run does.
Exit codes: 0 no regression flagged, 1 a regression flagged, 2 bad input,
3 a target unreachable, 4 interrupted.`

type compareOptions struct {
	out        string
	thresholds string
	alpha      float64
	// live A/B
	a, b, faultA, faultB string
	rounds               int
	users                int
	duration             time.Duration
	targetThink          time.Duration
	runTimeout           time.Duration
	waitReady            time.Duration
	quiet                bool
}

func compareFlags(o *compareOptions) *flag.FlagSet {
	fs := newFlagSet("compare", compareSynopsis)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: goldenpath compare [flags] OLD NEW\n       goldenpath compare [flags] --a URL_A --b URL_B\n\n%s\n\nFlags:\n", strings.TrimSpace(compareSynopsis))
		fs.PrintDefaults()
	}
	fs.StringVar(&o.out, "out", "", "`DIR` for results.json and junit.xml (default: none written)")
	fs.StringVar(&o.thresholds, "thresholds", "", "`LIST` of thresholds over the defaults ("+baseline.DefaultThresholds.String()+"), e.g. latency=10%,error=2")
	fs.Float64Var(&o.alpha, "alpha", baseline.DefaultThresholds.Alpha, "significance level of the Mann-Whitney U test")
	fs.StringVar(&o.a, "a", "", "live: base `URL` of target A (the old side); empty: an embedded reference backend")
	fs.StringVar(&o.b, "b", "", "live: base `URL` of target B (the new side); empty: an embedded reference backend")
	fs.StringVar(&o.faultA, "fault-a", "", "live: `FAULTS` of embedded backend A (see goldenpath serve -h)")
	fs.StringVar(&o.faultB, "fault-b", "", "live: `FAULTS` of embedded backend B")
	fs.IntVar(&o.rounds, "rounds", baseline.DefaultRounds, "live: rounds a side (`K`)")
	fs.IntVar(&o.users, "users", 10, "live: users of each steady round (`N`)")
	fs.Var(newDurationFlag(&o.duration, 12*time.Second, false), "duration", "live: measured `duration` a side, split into the rounds (each at least "+baseline.MinRound.String()+")")
	fs.Var(newDurationFlag(&o.targetThink, goldenpath.DefaultTargetThink, false), "target-think", "live: embedded backends' simulated model time per run (`duration`)")
	fs.Var(newDurationFlag(&o.runTimeout, goldenpath.DefaultRunTimeout, false), "run-timeout", "live: longest wait for a run's terminal event (`duration`)")
	fs.Var(newDurationFlag(&o.waitReady, goldenpath.DefaultWaitReady, false), "wait-ready", "live: how long to wait for a URL's /readyz (exit 3; `duration`)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress output")
	return fs
}

func (o *compareOptions) live() bool {
	return o.a != "" || o.b != "" || o.faultA != "" || o.faultB != ""
}

func compareMain(ctx context.Context, e *env, args []string) int {
	var o compareOptions
	fs := compareFlags(&o)
	if code, done := parseArgs(fs, e, args); done {
		return code
	}
	th, err := baseline.ParseThresholds(o.thresholds)
	if err != nil {
		return usageError(e, "compare", "--thresholds: %v", err)
	}
	th.Alpha = o.alpha
	if err := th.Validate(); err != nil {
		return usageError(e, "compare", "%v", err)
	}
	var res *report.Results
	var cmp *baseline.Comparison
	switch {
	case o.live() && fs.NArg() > 0:
		return usageError(e, "compare", "either two files or --a/--b (--fault-a/--fault-b), not both")
	case o.live():
		if msg, ok := o.validateLive(); !ok {
			return usageError(e, "compare", "%s", msg)
		}
		var log io.Writer = e.stderr
		if o.quiet {
			log = nil
		}
		res, cmp, err = abtest.Run(ctx, abtest.Options{A: abtest.Side{URL: o.a, Faults: o.faultA}, B: abtest.Side{URL: o.b, Faults: o.faultB},
			Rounds: o.rounds, Users: o.users, Duration: o.duration, TargetThink: thinkOrNone(o.targetThink), RunTimeout: o.runTimeout,
			WaitReady: o.waitReady, Thresholds: th, Version: goldenpath.Version(), Log: log})
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

// thinkOrNone maps a flag's 0 (no model time) to the negative value that
// says so.
func thinkOrNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// validateLive checks the live flags; it returns the problem and false.
func (o *compareOptions) validateLive() (string, bool) {
	switch {
	case o.rounds < 1:
		return fmt.Sprintf("--rounds must be at least 1 (got %d)", o.rounds), false
	case o.users < 1:
		return fmt.Sprintf("--users must be at least 1 (got %d)", o.users), false
	case o.duration <= 0 || o.runTimeout <= 0:
		return "--duration and --run-timeout must be positive", false
	case o.a != "" && o.faultA != "", o.b != "" && o.faultB != "":
		return "--fault-a/--fault-b apply to embedded backends only; drop the fault or the URL of that side", false
	}
	for _, f := range []struct{ name, v string }{{"--fault-a", o.faultA}, {"--fault-b", o.faultB}} {
		if _, err := fault.Parse(f.v); err != nil {
			return fmt.Sprintf("%s: %v", f.name, err), false
		}
	}
	for _, u := range []struct{ name, v string }{{"--a", o.a}, {"--b", o.b}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			return fmt.Sprintf("%s %q is not an http(s) URL such as http://127.0.0.1:8080", u.name, u.v), false
		}
	}
	return "", true
}

// finishCompare judges the checks, prints the table and writes the
// results; it returns the exit code.
func finishCompare(e *env, o *compareOptions, res *report.Results, cmp *baseline.Comparison) int {
	if err := abtest.Judge(res); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath compare: %v\n", err)
		return ExitFailed
	}
	baseline.WriteTable(e.stdout, cmp)
	fmt.Fprintln(e.stdout)
	for _, c := range res.Checks {
		fmt.Fprintf(e.stdout, "%-5s %s\n", strings.ToUpper(c.Status), c.Name)
	}
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return usageError(e, "compare", "--out: %v", err)
		}
		if err := report.WriteAll(o.out, res); err != nil {
			fmt.Fprintf(e.stderr, "goldenpath compare: writing reports: %v\n", err)
			return ExitFailed
		}
		fmt.Fprintf(e.stdout, "\nreports: %[1]s/results.json, %[1]s/junit.xml, %[1]s/report.md, %[1]s/report.html\n", o.out)
	}
	if len(cmp.Regressions()) > 0 || res.Failed() {
		return ExitFailed
	}
	return ExitOK
}
