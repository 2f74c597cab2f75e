package goldenpath

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
	"github.com/goldenpath-dev/goldenpath/internal/suite/catalog"
	"github.com/goldenpath-dev/goldenpath/internal/suite/race"
	"github.com/goldenpath-dev/goldenpath/internal/testbed"
)

// ErrUnreachable is the error [Run] wraps when the target cannot be
// reached, found ready, or given its test users.
var ErrUnreachable = testbed.ErrUnreachable

// Run runs the suites of cfg against its target and judges them. Zero
// fields of cfg take their defaults; a field out of range is a
// [*ConfigError] that names it, returned before anything starts.
//
// Run returns results whenever the suites ran, even if checks failed
// ([Results.Passed] says) or ctx ended part way ([Results.Interrupted]):
// partial results are judged and, with cfg.Out, written. It returns an
// error wrapping [ErrUnreachable] when the target cannot be brought up,
// and only returns once everything it started has stopped.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	cfg.fill()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	suites, _ := catalog.Lookup(cfg.Suites)
	seg, _ := load.ParseSegment(cfg.Segment)
	sla, _ := parseSLA(cfg.SLA)
	th, _ := baseline.ParseThresholds(cfg.Regression.Thresholds)
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	say := func(format string, a ...any) { fmt.Fprintf(logw, "goldenpath run: "+format+"\n", a...) }
	spec := testbed.Spec{URL: cfg.Target, Faults: cfg.Faults, Think: cfg.TargetThink, RaceDetector: cfg.RaceDetector,
		WaitReady: cfg.WaitReady, AdminToken: cfg.AdminToken, Register: testbed.AccountsFor(cfg.Users, registerUpFront(cfg.MaxUsers)),
		Log: logw, Label: "goldenpath run"}
	spec.Profile, _ = cfg.profile()
	if cfg.UsersFile != "" {
		accts, err := testbed.ReadAccounts(cfg.UsersFile)
		if err != nil {
			return nil, &ConfigError{Field: "UsersFile", Err: err}
		}
		if err := cfg.enoughAccounts(accts); err != nil {
			return nil, err
		}
		spec.Accounts = accts
	}
	if cfg.Out != "" {
		if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
			return nil, &ConfigError{Field: "Out", Err: err}
		}
	}

	tel, err := startTelemetry(ctx, cfg, seg.String(), say)
	if err != nil {
		return nil, err
	}
	defer tel.close() // after the target has stopped: the listener closes as Run ends

	res := &results.Results{
		Schema: results.Schema, StartedAt: time.Now().UTC(),
		Tool:     results.Tool{Name: "goldenpath", Version: Version(), Go: runtime.Version(), CPUs: runtime.NumCPU()},
		Options:  cfg.changedOptions(suiteNames(suites), seg.String(), sla),
		Segments: []string{seg.String()},
	}
	bed, err := testbed.Up(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer bed.Close()
	res.Target = results.Target{URL: bed.URL, Embedded: bed.Embedded, Faults: cfg.Faults, Profile: profileName(bed.Profile)}
	res.Notes = append(res.Notes, bed.Notes...)

	env := &suite.Env{
		RaceBuild: cfg.RaceDetector, Profile: bed.Profile, Journey: cfg.Journey,
		Target: bed.Target, Accounts: bed.Accounts, AdminToken: bed.AdminToken, SLA: sla,
		Users: cfg.Users, Duration: cfg.Duration, Rate: cfg.Rate, Think: cfg.Think, Iterations: cfg.Iterations,
		MaxUsers: max(cfg.MaxUsers, 0), StepDuration: cfg.StepDuration, Segment: seg, RunTimeout: cfg.RunTimeout,
		Monitor: bed.Monitor,
		Regression: suite.RegressionOptions{Rounds: cfg.Regression.Rounds, Dir: cfg.Regression.Dir,
			Baseline: cfg.Regression.Baseline, Save: cfg.Regression.Save, Embedded: bed.Embedded, Faults: cfg.Faults, Thresholds: th},
	}
	tel.attach(env)
	if cfg.UsersFile == "" {
		prefix := testbed.AccountPrefix(bed.URL)
		env.MoreAccounts = func(ctx context.Context, n int) ([]journey.Account, error) {
			say("registering %d more test users for the capacity search", n-len(env.Accounts))
			return testbed.RegisterMore(ctx, bed.Target, env.Accounts, n, prefix)
		}
	}
	if !cfg.StartAt.IsZero() {
		if wait := time.Until(cfg.StartAt); wait > 0 {
			say("waiting for the common start, %s (in %s)", cfg.StartAt.UTC().Format(time.RFC3339), wait.Round(time.Millisecond))
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		now := time.Now()
		late := max(now.Sub(cfg.StartAt), 0)
		if late > time.Second {
			say("started %s after the common start %s", late.Round(time.Millisecond), cfg.StartAt.UTC().Format(time.RFC3339))
		}
		res.Starts = []results.SegmentStart{{Segment: seg.String(), At: now.UTC(), LateMS: float64(late) / float64(time.Millisecond)}}
	}
	clearProgress := func() {}
	if cfg.Log != nil && !cfg.Quiet {
		env.Progress, clearProgress = newProgress(cfg.Log)
	}
	for _, s := range suites {
		senv := env
		if s.FirstSegment && seg.Count > 1 {
			if s.SkipsSegment(seg) {
				say("suite %s: runs whole in segment 1 of %d, not in this one (%s)", s.Name, seg.Count, seg)
				res.Notes = append(res.Notes, fmt.Sprintf("suite %s runs whole in segment 1 of %d: not run in segment %s", s.Name, seg.Count, seg))
				continue
			}
			whole := *env // this suite's load is not split: it runs whole here
			whole.Segment = load.Whole
			senv = &whole
			say("suite %s (whole: it runs in segment 1 of %d only)", s.Name, seg.Count)
		} else {
			say("suite %s", s.Name)
		}
		stopped, err := s.Run(ctx, senv, func(sc results.Scenario) {
			res.Scenarios = append(res.Scenarios, sc)
			clearProgress()
			line := fmt.Sprintf("  %-24s %6d journeys  %6.1f/s  %d failed", sc.Name, sc.Journeys, sc.Throughput, sc.Failed)
			if sc.Journeys == 0 && sc.Operations > 0 { // a workload of the suite's own: config reads, sockets, writes
				line = fmt.Sprintf("  %-24s %6d operations by %d users", sc.Name, sc.Operations, sc.Users)
			}
			if f := suite.Failing(&sc); f.Failed > 0 {
				line += fmt.Sprintf(" (%.0f%% of the users' time failing, %s of it backing off)", 100*f.Share(), f.Backoff.Round(time.Millisecond))
			}
			fmt.Fprintln(logw, line)
		})
		if err != nil {
			return nil, fmt.Errorf("goldenpath: suite %s: %w", s.Name, err)
		}
		if stopped || ctx.Err() != nil {
			res.Interrupted = true
			break
		}
	}
	if races, ok, err := bed.Races(); ok {
		if err != nil {
			say("reading the race detector's logs: %v", err)
		}
		res.Scenarios = append(res.Scenarios, race.DetectorScenario(races))
	}
	res.FinishedAt = time.Now().UTC()
	if bed.Monitor != nil {
		res.TargetMemory = memoryPoints(bed.Monitor.Series(), res.StartedAt)
	}
	res.Phases = results.MergePhases(res.Scenarios)
	if n := suite.ReadLagNote(res.Phases); n != "" {
		res.Notes = append(res.Notes, n)
	}
	if err := catalog.Evaluate(res, sla); err != nil {
		return nil, fmt.Errorf("goldenpath: %w", err)
	}
	out := fromModel(res)
	if cfg.Out != "" {
		if err := out.WriteReports(cfg.Out); err != nil {
			return out, fmt.Errorf("goldenpath: writing reports: %w", err)
		}
	}
	return out, nil
}

// changedOptions are the run's options as the results record them: the
// suites, users, duration, rate, segment and SLA always, and every other
// option only when it differs from its default, so that the command
// printed to reproduce a finding repeats exactly what changed the run.
// The admin token's value is never recorded, only that one was given.
func (c Config) changedOptions(suites []string, seg string, sla suite.SLA) results.Options {
	o := results.Options{Suites: suites, Users: c.Users, Duration: c.Duration.String(), Rate: c.Rate,
		Segment: seg, SLA: sla.Lines(), UsersFile: c.UsersFile, AdminTokenGiven: c.AdminToken != "",
		AuthURL: c.AuthURL, Model: c.Model, BypassKeyGiven: c.BypassKey != "", APIKeyGiven: c.APIKey != ""}
	if c.Profile != "goldenpath" {
		o.Profile = c.Profile
	}
	if c.Journey == suite.JourneyMinimal {
		o.Journey = c.Journey
	}
	defaults := map[string]bool{}
	for _, l := range suite.DefaultSLA().Lines() {
		defaults[l] = true
	}
	for _, l := range o.SLA {
		if !defaults[l] {
			o.SLAOverrides = append(o.SLAOverrides, l)
		}
	}
	if c.Think > 0 {
		o.Think = c.Think.String()
	}
	o.Iterations = c.Iterations
	o.RunID = c.RunID
	if !c.StartAt.IsZero() {
		o.StartAt = c.StartAt.UTC().Format(time.RFC3339Nano)
	}
	if c.Target == "" && c.TargetThink != DefaultTargetThink {
		o.TargetThink = max(c.TargetThink, 0).String()
	}
	if c.RunTimeout != DefaultRunTimeout {
		o.RunTimeout = c.RunTimeout.String()
	}
	if c.MaxUsers != DefaultMaxUsers {
		n := max(c.MaxUsers, 0)
		o.MaxUsers = &n
	}
	if c.StepDuration != DefaultStepDuration {
		o.StepDuration = c.StepDuration.String()
	}
	return o
}

// registerUpFront is how many accounts the capacity search's ceiling
// asks to register before the run: all of an explicit --max-users; with
// [AutoMaxUsers], none beyond the other suites' (the search registers more
// as its steps need them).
func registerUpFront(maxUsers int) int {
	if maxUsers == AutoMaxUsers {
		return 0
	}
	return max(maxUsers, 0)
}

// profileName is the name results record: the profile's, or goldenpath.
func profileName(ps *journey.ProfileSpec) string {
	if ps == nil {
		return "goldenpath"
	}
	return ps.Profile.Name
}

// IsUnreachable reports whether err says the target could not be reached.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }

func suiteNames(ss []suite.Suite) []string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name)
	}
	return n
}

// memoryPoints turns the monitor's samples into the results' series.
func memoryPoints(ss []monitor.Sample, start time.Time) []results.MemoryPoint {
	out := make([]results.MemoryPoint, 0, len(ss))
	for _, s := range ss {
		p := results.MemoryPoint{T: s.T.Sub(start).Seconds(), Goroutines: s.Metrics["go_goroutines"],
			Connections: s.Metrics["goldenpath_active_connections"], FDs: s.Metrics["process_open_fds"]}
		switch {
		case s.HasProc:
			p.RSS, p.FDs = float64(s.RSS), float64(s.FDs)
		default:
			p.RSS = s.Metrics["process_resident_memory_bytes"]
		}
		if p.RSS > 0 {
			out = append(out, p)
		}
	}
	return out
}

// Version is goldenpath's version: the module version when built from a
// tagged module, else "devel" with the VCS revision when known.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path != modulePath {
		// A program of another module that imports goldenpath.
		for _, d := range bi.Deps {
			if d.Path == modulePath {
				return d.Version
			}
		}
		return "devel"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

const modulePath = "github.com/goldenpath-dev/goldenpath"
