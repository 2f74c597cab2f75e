package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath"
	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/procs"
)

// runOptions are run's flags; what is not in the Config is how the CLI
// reads it.
type runOptions struct {
	cfg      goldenpath.Config
	suites   string
	slaFile  string
	maxUsers int
	startAt  string
	think    time.Duration // --target-think, where 0 means none
	profile  profileFlags
}

func runFlags(o *runOptions) *flag.FlagSet {
	d := goldenpath.DefaultConfig()
	c := &o.cfg
	fs := newFlagSet("run")
	fs.StringVar(&c.Target, "target", "", "base `URL` of the target (e.g. http://127.0.0.1:8080); empty: start the embedded reference backend")
	fs.StringVar(&c.UsersFile, "users-file", "", "CSV `FILE` of email,password accounts on the target; empty: register test users")
	fs.StringVar(&o.suites, "suite", strings.Join(d.Suites, ","), "comma-separated `SUITES` to run")
	fs.IntVar(&c.Users, "users", d.Users, "concurrent users of the integrated scenario (`N`)")
	fs.DurationVar(&c.Duration, "duration", d.Duration, "how long each scenario runs (`duration`, e.g. 10s)")
	fs.Float64Var(&c.Rate, "rate", 0, "run the integrated scenario in the open model at `R` journeys per second (0: closed model)")
	fs.DurationVar(&c.Think, "think", 0, "pause between one user's journeys (closed model; `duration`)")
	fs.Int64Var(&c.Iterations, "iterations", 0, "end the integrated scenario after `N` journeys in all, or at --duration if that comes first (0: --duration alone)")
	fs.StringVar(&o.slaFile, "sla", "", "YAML `FILE` of SLA rules over the defaults, e.g. \"login: p95 < 5s\"")
	fs.StringVar(&c.Out, "out", "goldenpath-report", "`DIR` for results.json, junit.xml, report.md and report.html")
	fs.StringVar(&c.AdminToken, "admin-token", "", "admin `TOKEN` of the target, for checks that change its config (env GOLDENPATH_ADMIN_TOKEN)")
	fs.DurationVar(&c.WaitReady, "wait-ready", d.WaitReady, "how long to wait for --target's /readyz before giving up (exit 3; `duration`)")
	fs.StringVar(&c.Segment, "segment", d.Segment, "run only segment `i/n` of the load (merge the parts with goldenpath merge); job/n takes i from JOB_COMPLETION_INDEX (0-based, as a Kubernetes Indexed Job sets it) plus one")
	fs.StringVar(&c.RunID, "run-id", "", "`ID` naming the test this segment is part of (the same in every segment, e.g. the Job's name); merge refuses parts of different ids")
	fs.StringVar(&o.startAt, "start-at", "", "wait, once the target is ready, until `TIME` (RFC 3339, e.g. 2026-12-04T21:30:00Z) to start, so that every segment begins together; a late one says by how much")
	o.maxUsers = d.MaxUsers
	fs.Var((*maxUsersFlag)(&o.maxUsers), "max-users", "ceiling of the capacity search (`N`; auto: as many users as this process can hold, by its open-file limit and the machine's memory; 0 skips it)")
	fs.DurationVar(&c.StepDuration, "step-duration", d.StepDuration, "duration of each capacity-search step (`duration`)")
	fs.DurationVar(&c.RunTimeout, "run-timeout", d.RunTimeout, "longest wait for a run's terminal event (`duration`)")
	fs.DurationVar(&o.think, "target-think", d.TargetThink, "embedded backend: simulated model time per run (`duration`)")
	fs.StringVar(&c.Faults, "fault", "", "embedded backend: `FAULTS` to switch on (see goldenpath serve -h)")
	fs.BoolVar(&c.Quiet, "quiet", false, "no live progress line (one line per scenario still)")
	fs.StringVar(&c.Regression.Save, "save-baseline", "", "regression suite: save this run's rounds as baseline `NAME` (replacing it)")
	fs.StringVar(&c.Regression.Baseline, "baseline", "", "regression suite: compare with baseline `NAME`, writing it from this run when it does not exist (default: the --save-baseline name, else \""+goldenpath.DefaultBaseline+"\")")
	fs.StringVar(&c.Regression.Dir, "baseline-dir", d.Regression.Dir, "regression suite: `DIR` of the baselines (NAME.json each)")
	fs.StringVar(&c.Regression.Thresholds, "thresholds", "", "regression suite: `LIST` of thresholds over the defaults ("+baseline.DefaultThresholds.String()+"), e.g. latency=10%,error=2")
	fs.IntVar(&c.Regression.Rounds, "rounds", d.Regression.Rounds, "regression suite: rounds to measure (`K`; at least 5 for a change to be significant at alpha 0.01)")
	o.profile.register(fs)
	fs.StringVar(&c.Journey, "journey", d.Journey, "the main journey: `KIND` full (login, config read, socket, one run, the store checks) or minimal (login, socket, one run, close)")
	fs.BoolVar(&c.RaceDetector, "race-detector", false, "embedded backend: build it from source with Go's race detector and report every data race it finds (needs the Go toolchain and the repository; memory checks are skipped)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve the run's live metrics on http://`HOST:PORT`/metrics while it runs (Prometheus; port 0 picks a free one, named in the log)")
	fs.StringVar(&c.DashboardAddr, "dashboard-addr", "", "serve a live page of the run on http://`HOST:PORT`/ while it runs (users, journeys per second, p95 so far, findings; port 0 picks a free one, named in the log)")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", "", "push the same metrics to an OpenTelemetry collector at `URL` over OTLP/HTTP every 10s and at the end (e.g. http://127.0.0.1:4318)")
	return fs
}

// runFlagOf names the flag that sets a Config field, for errors.
var runFlagOf = map[string]string{
	"Target": "--target", "AdminToken": "--admin-token", "UsersFile": "--users-file", "Suites": "--suite",
	"Users": "--users", "Duration": "--duration", "Rate": "--rate", "Think": "--think", "Iterations": "--iterations", "SLA": "--sla",
	"Segment": "--segment", "MaxUsers": "--max-users", "StepDuration": "--step-duration", "RunTimeout": "--run-timeout",
	"WaitReady": "--wait-ready", "TargetThink": "--target-think", "Faults": "--fault", "RaceDetector": "--race-detector",
	"Out": "--out", "Regression.Rounds": "--rounds", "Regression.Dir": "--baseline-dir",
	"Regression.Baseline": "--baseline", "Regression.Save": "--save-baseline", "Regression.Thresholds": "--thresholds",
	"Profile": "--profile", "Journey": "--journey", "MetricsAddr": "--metrics-addr", "OTLPEndpoint": "--otlp-endpoint", "DashboardAddr": "--dashboard-addr",
}

func runMain(ctx context.Context, e *env, args []string) int {
	var o runOptions
	fs := runFlags(&o)
	if code, done := parse(fs, e, args); done {
		return code
	}
	cfg := o.cfg
	cfg.Suites = strings.FieldsFunc(o.suites, func(r rune) bool { return r == ',' || r == ' ' }) // never nil: "," names no suite
	if o.startAt != "" {
		t, err := time.Parse(time.RFC3339, o.startAt)
		if err != nil {
			return usageError(e, "run", "--start-at %q is not an RFC 3339 time such as 2026-12-04T21:30:00Z (a date, T, a time and a zone: Z or +01:00)", o.startAt)
		}
		cfg.StartAt = t
	}
	if seg, err := jobSegment(cfg.Segment, e.getenv); err != nil {
		return usageError(e, "run", "%v", err)
	} else {
		cfg.Segment = seg
	}
	cfg.MaxUsers = o.maxUsers
	if cfg.MaxUsers == 0 {
		cfg.MaxUsers = -1 // the flag's 0 skips the search
	}
	cfg.TargetThink = o.think
	if o.think < 0 {
		return usageError(e, "run", "--target-think must not be negative (got %s); 0 is none", o.think)
	}
	if cfg.TargetThink == 0 {
		cfg.TargetThink = -1 // the flag's 0 is none
	}
	cfg.AdminToken = orEnv(cfg.AdminToken, e, "GOLDENPATH_ADMIN_TOKEN")
	o.profile.secrets(e)
	p := o.profile
	cfg.Profile, cfg.AuthURL, cfg.BypassKey, cfg.APIKey, cfg.Model = p.name, p.authURL, p.bypassKey, p.apiKey, p.model
	if o.slaFile != "" {
		b, err := os.ReadFile(o.slaFile)
		if err != nil {
			return usageError(e, "run", "--sla: %v", err)
		}
		cfg.SLA = strings.Split(string(b), "\n")
	}
	cfg.Log = e.stderr
	if err := cfg.Validate(); err != nil {
		return configError(e, "run", err, o.slaFile)
	}
	if e.getenv("GOMAXPROCS") == "" { // else the user's own
		defer procs.Fit(procs.ProcessCPU)()
	}
	res, err := goldenpath.Run(ctx, cfg)
	switch {
	case res == nil && goldenpath.IsUnreachable(err):
		fmt.Fprintf(e.stderr, "goldenpath run: %v\n", err)
		return ExitUnreachable
	case res == nil && ctx.Err() != nil:
		fmt.Fprintln(e.stderr, "goldenpath run: interrupted before any scenario ran; nothing written")
		return ExitInterrupted
	case res == nil:
		var ce *goldenpath.ConfigError
		if errors.As(err, &ce) {
			return configError(e, "run", err, o.slaFile)
		}
		fmt.Fprintf(e.stderr, "goldenpath run: %v\n", err)
		return ExitUsage
	}
	res.WriteSummary(e.stdout)
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath run: %v\n", err)
		return ExitFailed
	}
	fmt.Fprintf(e.stdout, "\nreports: %[1]s/results.json, %[1]s/junit.xml, %[1]s/report.md, %[1]s/report.html\n", cfg.Out)
	switch {
	case res.Interrupted:
		fmt.Fprintln(e.stderr, "goldenpath run: interrupted; partial results written")
		return ExitInterrupted
	case !res.Passed():
		return ExitFailed
	}
	return ExitOK
}

// configError prints a Config error in the flags' words.
func configError(e *env, cmd string, err error, slaFile string) int {
	var ce *goldenpath.ConfigError
	if !errors.As(err, &ce) {
		return usageError(e, cmd, "%v", err)
	}
	name, ok := runFlagOf[ce.Field]
	if !ok {
		name = ce.Field
	}
	if ce.Field == "SLA" && slaFile != "" {
		name += " " + slaFile
	}
	msg := ce.Err.Error()
	sep := ": "
	if first, _, _ := strings.Cut(msg, " "); strings.HasPrefix(msg, `"`) || slices.Contains(verbs, first) {
		sep = " " // "--users must be ...", "--target "x" is not ..."
	}
	return usageError(e, cmd, "%s%s%s", name, sep, msg)
}

// verbs start the Config errors that read on from the flag's name.
var verbs = []string{"must", "applies", "builds", "names", "looks"}

// maxUsersFlag is --max-users: a number of users, or auto
// ([goldenpath.AutoMaxUsers]).
type maxUsersFlag int

func (f *maxUsersFlag) String() string {
	if f == nil || int(*f) == goldenpath.AutoMaxUsers {
		return "auto"
	}
	return strconv.Itoa(int(*f))
}

func (f *maxUsersFlag) Set(s string) error {
	if s == "auto" {
		*f = goldenpath.AutoMaxUsers
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= goldenpath.AutoMaxUsers {
		return errors.New("want a number of users (0 or more) or auto")
	}
	*f = maxUsersFlag(n)
	return nil
}

// jobIndexEnv is the variable a Kubernetes Indexed Job sets in each pod:
// the pod's completion index, 0-based.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// jobSegment resolves --segment job/N to i/N, with i the pod's
// completion index plus one; any other value is returned as it is.
func jobSegment(seg string, getenv func(string) string) (string, error) {
	count, ok := strings.CutPrefix(seg, "job/")
	if !ok {
		return seg, nil
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 {
		return "", fmt.Errorf("--segment %q: after job/ give the number of segments, the Job's completions (e.g. job/4)", seg)
	}
	v := getenv(jobIndexEnv)
	if v == "" {
		return "", fmt.Errorf("--segment %s takes the segment from %s, which is not set: run it in a Kubernetes Indexed Job, set %s=0..%d, or give --segment i/%d", seg, jobIndexEnv, jobIndexEnv, n-1, n)
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || i >= n {
		return "", fmt.Errorf("--segment %s: %s=%q is not an index from 0 to %d: is the Job's completions %d?", seg, jobIndexEnv, v, n-1, n)
	}
	return fmt.Sprintf("%d/%d", i+1, n), nil
}
