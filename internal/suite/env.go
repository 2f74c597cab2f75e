package suite

import (
	"context"
	"net/http"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Progress is a scenario's state, reported about once a second.
type Progress struct {
	Scenario string
	Elapsed  time.Duration
	Live     *load.Live
	Set      *metrics.Set
}

// Env is what the suites run with.
type Env struct {
	Target     *journey.Target
	Accounts   []journey.Account
	AdminToken string
	SLA        SLA
	// Users is the base concurrency (integrated scenario and the
	// concurrency burst of the load suite).
	Users int
	// Duration is how long each scenario runs.
	Duration time.Duration
	// Rate, when > 0, runs the integrated scenario in the open model at
	// this many journeys per second.
	Rate float64
	// Think is the closed model's pause between a user's journeys.
	Think time.Duration
	// Iterations, when positive, ends the integrated scenario after that
	// many journeys (or at Duration).
	Iterations int64
	// MaxUsers is the capacity search's ceiling ([AutoMaxUsers]: what
	// this process can hold; 0: no search); StepDuration its step.
	MaxUsers     int
	StepDuration time.Duration
	// MoreAccounts, when set, returns n accounts, Accounts followed by
	// newly registered ones, for a capacity step of more users than
	// Accounts holds; nil when the accounts are fixed (a users file),
	// which then bound the search.
	MoreAccounts func(ctx context.Context, n int) ([]journey.Account, error)
	Segment      load.Segment
	// RunTimeout bounds one run's terminal event.
	RunTimeout time.Duration
	Progress   func(Progress)
	// Observer, when set, sees every journey of Scenario and ScenarioFunc
	// and the engine's live counts while the scenarios run (live
	// telemetry).
	Observer Observer
	// Monitor watches the target's process and /metrics; nil when neither
	// can be watched. The memory suite needs it.
	Monitor *monitor.Monitor
	// RaceBuild says the target runs with Go's race detector, whose
	// memory and speed are not the target's: memory checks are skipped.
	RaceBuild bool
	// Regression configures the regression suite: rounds and baselines.
	Regression RegressionOptions
	// Journey is the main journey's kind: JourneyFull ("" too) or
	// JourneyMinimal ([Env.MainJourney]).
	Journey string
	// Profile is what Target speaks: nil for PROTOCOL v1, built in. The
	// suites skip, with the reason, what a profile gives no evidence for.
	Profile *journey.ProfileSpec
}

// ProfileName is the name of what the target speaks.
func (e *Env) ProfileName() string {
	if e.Profile == nil {
		return "goldenpath"
	}
	return e.Profile.Profile.Name
}

// Account returns the account of virtual user vu (the accounts are used
// round-robin).
func (e *Env) Account(vu int) journey.Account { return e.Accounts[vu%len(e.Accounts)] }

// ShortRunTimeout bounds one run in the race and memory scenarios:
// RunTimeout, at most 10 s. A lost request shows as this timeout, so it is
// short.
func (e *Env) ShortRunTimeout() time.Duration { return min(e.RunTimeout, 10*time.Second) }

// RegressionOptions configure the regression suite (package
// internal/suite/regression) through [Env].Regression. The zero value
// measures [baseline.DefaultRounds] rounds and keeps no baseline.
type RegressionOptions struct {
	// Rounds is how many rounds to measure (0: baseline.DefaultRounds).
	Rounds int
	// Dir is where baselines are kept, one NAME.json each; empty keeps
	// none: nothing is read or written.
	Dir string
	// Baseline names the baseline to compare with (default: Save, else
	// regression.DefaultBaselineName). When it does not exist yet, this
	// run's rounds become it.
	Baseline string
	// Save names a baseline to write (or replace) with this run's rounds,
	// after comparing.
	Save string
	// Thresholds judge the changes (zero: baseline.DefaultThresholds).
	Thresholds baseline.Thresholds
	// Embedded and Faults describe the target for the baseline's record:
	// the reference backend started by goldenpath, with these faults.
	Embedded bool
	Faults   string
}

// Environment describes what measured e's rounds: this build and machine,
// and the target (its version when its /healthz reports one).
func (e *Env) Environment(ctx context.Context) baseline.Environment {
	env := baseline.CurrentEnvironment()
	env.TargetURL = e.Target.BaseURL
	env.TargetVersion = targetVersion(ctx, e.Target)
	env.Embedded, env.Faults = e.Regression.Embedded, e.Regression.Faults
	return env
}

// targetVersion reads the "version" of the target's /healthz reply, or
// returns "" when it reports none.
func targetVersion(ctx context.Context, t *journey.Target) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var v struct {
		Version string `json:"version"`
	}
	if _, _, err := t.JSON(ctx, http.MethodGet, protocol.PathHealthz, "", nil, &v); err != nil || len(v.Version) > 100 {
		return ""
	}
	return v.Version
}
