package goldenpath

import (
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
	"github.com/goldenpath-dev/goldenpath/internal/suite/catalog"
	"github.com/goldenpath-dev/goldenpath/internal/testbed"
)

// Defaults of [Config]: a zero field of a Config given to [Run] takes
// these values.
// AutoMaxUsers as [Config].MaxUsers: the capacity search goes on until
// the target breaks or this process can hold no more users.
const AutoMaxUsers = suite.AutoMaxUsers

const (
	DefaultUsers        = 10
	DefaultDuration     = 10 * time.Second
	DefaultMaxUsers     = AutoMaxUsers
	DefaultStepDuration = 5 * time.Second
	DefaultRunTimeout   = 60 * time.Second
	DefaultWaitReady    = 5 * time.Second
	DefaultTargetThink  = 200 * time.Millisecond
	DefaultBaselineDir  = "goldenpath-baselines"
	DefaultBaseline     = "default"
)

// Config is what one run does. Its zero value, given to [Run], runs every
// suite against the embedded reference backend with the defaults above and
// writes no files; [DefaultConfig] returns the same values filled in, as
// the goldenpath command starts from.
type Config struct {
	// Target is the base URL of the target, e.g. http://127.0.0.1:8080.
	// Empty starts the embedded reference backend as a child process (see
	// [github.com/goldenpath-dev/goldenpath/goldenpathtest.Main] for running
	// it from a test binary).
	Target string
	// AdminToken is the target's admin token, for the checks that change
	// its configuration; the embedded backend's is made up at start.
	AdminToken string
	// Journey is the journey of the integrated and load suites and the
	// regression rounds: "full" (the default: login, config read, socket,
	// one run, the store checks) or "minimal" (login, socket, one run,
	// close), for a target that lacks the config and thread endpoints, or
	// to measure the generator's own cost.
	Journey string
	// Profile names what the target speaks: a built-in profile
	// (goldenpath, the default: PROTOCOL v1; netra; openai) or a profile
	// file (docs/profiles.md). With no Target, the embedded backend speaks
	// it.
	Profile string
	// AuthURL is where a profile's auth calls go when the auth service is
	// not the target's origin.
	AuthURL string
	// BypassKey logs users in through the profile's bypass call (Netra's
	// test login); the embedded backend's is made up at start.
	BypassKey string
	// APIKey is the bearer token of an api_key profile (openai).
	APIKey string
	// Model fills {{.Model}}; empty: the first model GET /v1/models lists.
	Model string
	// UsersFile is a CSV file of email,password accounts on the target;
	// empty registers fresh test users. It needs an account per virtual
	// user running at once (Users for the integrated suite alone; as many
	// as a run registers itself otherwise: at least 50, and MaxUsers with
	// the load suite): with fewer, [Run] returns a [*ConfigError] naming
	// the number, as virtual users sharing an account would see each
	// other's data.
	UsersFile string
	// Suites are the suites to run, in any order; nil runs every one of
	// [Suites].
	Suites []string
	// Users is the integrated scenario's concurrency (and the base of the
	// concurrency burst).
	Users int
	// Duration is how long each scenario runs.
	Duration time.Duration
	// Rate, when positive, runs the integrated scenario in the open model
	// at Rate journeys per second (Poisson arrivals).
	Rate float64
	// Think is the closed model's pause between one user's journeys.
	Think time.Duration
	// Iterations, when positive, ends the integrated scenario after that
	// many journeys in all (across segments), or at Duration if that comes
	// first.
	Iterations int64
	// SLA holds rules over the defaults, one per element in the form of an
	// SLA file's line, e.g. "login: p95 < 5s" or "success_rate: >= 98%".
	// A rule names a rate or any measured phase (first_event, ws_connect,
	// server_http_auth, ...); a metric takes one rule, and a second is an
	// error naming both elements (lines, from 1).
	SLA []string
	// Segment runs one part "i/n" of a distributed test; empty is "1/1".
	Segment string
	// StartAt, when set, makes the run wait, once the target is ready and
	// its users registered, until this time before its first suite, so
	// that the segments of a distributed test begin together; a segment
	// that is late says by how much in its results (Starts).
	StartAt time.Time
	// RunID names the test a segment is part of (e.g. the Kubernetes
	// Job's name); it is recorded, and merge refuses parts whose ids
	// differ.
	RunID string
	// MaxUsers is the capacity search's ceiling; [AutoMaxUsers] (the
	// default) lets it go as far as this process can hold (its open-file
	// limit, the machine's available memory, a users file's accounts); a
	// negative value skips the search.
	MaxUsers int
	// StepDuration is how long each capacity step runs.
	StepDuration time.Duration
	// RunTimeout bounds the wait for one run's terminal event.
	RunTimeout time.Duration
	// WaitReady bounds the wait for Target's /readyz.
	WaitReady time.Duration
	// TargetThink is the embedded backend's simulated model time per run;
	// a negative value means none.
	TargetThink time.Duration
	// Faults are the embedded backend's deliberate defects, e.g.
	// "slow-db=20ms,drop-events=50" (docs/faults.md).
	Faults string
	// RaceDetector builds the embedded backend with Go's race detector and
	// reports every data race it finds (it needs the Go toolchain and the
	// goldenpath source; memory checks are skipped).
	RaceDetector bool
	// Regression configures the regression suite.
	Regression Regression
	// Out is the directory for results.json, junit.xml, report.md and
	// report.html; empty writes no files.
	Out string
	// Log receives progress: what starts, one line per scenario, and a
	// live line about once a second unless Quiet. Nil is silent.
	Log   io.Writer
	Quiet bool
	// MetricsAddr, when set, serves the run's live metrics in the
	// Prometheus formats on http://MetricsAddr/metrics while the run
	// lasts (HOST:PORT; port 0 picks a free one, which Log names);
	// docs/telemetry.md lists the series.
	MetricsAddr string
	// OTLPEndpoint, when set, pushes the same metrics to an OpenTelemetry
	// collector over OTLP/HTTP every 10 s and once at the end, e.g.
	// http://127.0.0.1:4318 (a URL without a path gets /v1/metrics).
	OTLPEndpoint string
	// DashboardAddr, when set, serves a live page of the run on
	// http://DashboardAddr/ while it lasts, as k6's web dashboard does
	// (HOST:PORT; port 0 picks a free one, which Log names); the live
	// metrics are on its /metrics too. The end-of-run report.html stays
	// the record.
	DashboardAddr string
}

// Regression configures the regression suite: how many rounds it
// measures, which stored baseline it compares with, and its thresholds.
type Regression struct {
	// Rounds is how many rounds to measure; 5 or more for a change to be
	// significant at alpha 0.01.
	Rounds int
	// Dir holds the baselines, NAME.json each.
	Dir string
	// Baseline is the baseline to compare with; this run's rounds become
	// it when it does not exist yet. Empty: Save, else [DefaultBaseline].
	Baseline string
	// Save names a baseline to write (replacing it) with this run's rounds.
	Save string
	// Thresholds override the defaults, e.g. "latency=10%,error=2".
	Thresholds string
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	var c Config
	c.fill()
	return c
}

// Suites lists the suites that exist, in run order.
func Suites() []string { return catalog.Names() }

// fill gives zero fields their defaults.
func (c *Config) fill() {
	if c.Suites == nil {
		c.Suites = catalog.Names()
	}
	setDefault(&c.Users, DefaultUsers)
	setDefault(&c.Duration, DefaultDuration)
	setDefault(&c.MaxUsers, DefaultMaxUsers)
	setDefault(&c.StepDuration, DefaultStepDuration)
	setDefault(&c.RunTimeout, DefaultRunTimeout)
	setDefault(&c.WaitReady, DefaultWaitReady)
	setDefault(&c.TargetThink, DefaultTargetThink)
	setDefault(&c.Segment, "1/1")
	setDefault(&c.Journey, suite.JourneyFull)
	setDefault(&c.Regression.Rounds, baseline.DefaultRounds)
	setDefault(&c.Regression.Dir, DefaultBaselineDir)
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// A ConfigError says which field of a [Config] is wrong and why.
type ConfigError struct {
	Field string // e.g. "Users", "Regression.Rounds"
	Err   error
}

func (e *ConfigError) Error() string { return "goldenpath: Config." + e.Field + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(field, format string, a ...any) error {
	return &ConfigError{Field: field, Err: fmt.Errorf(format, a...)}
}

// k6Output is k6's --out form, NAME=FILE.
var k6Output = regexp.MustCompile(`^[a-z][a-z0-9-]*=`)

// Validate reports the first field of c that is out of range, as a
// [*ConfigError]. It does not fill in defaults: a zero Users, Duration,
// StepDuration, RunTimeout, WaitReady or Regression.Rounds is an error
// here, where [Run] would have used the default.
func (c Config) Validate() error {
	if len(c.Suites) == 0 {
		return configErr("Suites", "names no suite; known: %s", strings.Join(catalog.Names(), ", "))
	}
	if _, err := catalog.Lookup(c.Suites); err != nil {
		return &ConfigError{Field: "Suites", Err: err}
	}
	if _, err := load.ParseSegment(c.Segment); err != nil {
		return &ConfigError{Field: "Segment", Err: err}
	}
	positive := []struct {
		field string
		v     time.Duration
	}{{"Duration", c.Duration}, {"StepDuration", c.StepDuration}, {"RunTimeout", c.RunTimeout}, {"WaitReady", c.WaitReady}}
	switch {
	case c.Users < 1:
		return configErr("Users", "must be at least 1 (got %d)", c.Users)
	case c.Rate < 0:
		return configErr("Rate", "must not be negative (got %g); 0 runs the closed model", c.Rate)
	case c.Think < 0:
		return configErr("Think", "must not be negative (got %s)", c.Think)
	case c.Iterations < 0:
		return configErr("Iterations", "must not be negative (got %d); 0 leaves the end to Duration", c.Iterations)
	case c.Regression.Rounds < 1:
		return configErr("Regression.Rounds", "must be at least 1 (got %d)", c.Regression.Rounds)
	case c.Regression.Dir == "":
		return configErr("Regression.Dir", "must name a directory")
	}
	for _, p := range positive {
		if p.v <= 0 {
			return configErr(p.field, "must be positive (got %s)", p.v)
		}
	}
	if c.Target != "" {
		if u, err := url.Parse(c.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return configErr("Target", "%q is not an http(s) URL such as http://127.0.0.1:8080", c.Target)
		}
		switch {
		case c.Faults != "":
			return configErr("Faults", "applies to the embedded backend only; drop it, or drop the target URL")
		case c.RaceDetector:
			return configErr("RaceDetector", "builds and runs the embedded backend; it cannot instrument a target given by URL")
		}
	}
	if c.Journey != "" && c.Journey != suite.JourneyFull && c.Journey != suite.JourneyMinimal {
		return configErr("Journey", "%q is not a journey; want full or minimal", c.Journey)
	}
	if _, err := c.profile(); err != nil {
		return &ConfigError{Field: "Profile", Err: err}
	}
	if _, err := fault.Parse(c.Faults); err != nil {
		return &ConfigError{Field: "Faults", Err: err}
	}
	if _, err := parseSLA(c.SLA); err != nil {
		return &ConfigError{Field: "SLA", Err: err}
	}
	if _, err := baseline.ParseThresholds(c.Regression.Thresholds); err != nil {
		return &ConfigError{Field: "Regression.Thresholds", Err: err}
	}
	for field, v := range map[string]string{"Regression.Save": c.Regression.Save, "Regression.Baseline": c.Regression.Baseline} {
		if v == "" {
			continue
		}
		if err := baseline.ValidName(v); err != nil {
			return &ConfigError{Field: field, Err: err}
		}
	}
	if err := c.validateTelemetry(); err != nil {
		return err
	}
	if k6Output.MatchString(c.Out) {
		return configErr("Out", "%q looks like k6's --out NAME=FILE, but goldenpath's names a directory, into which it writes results.json, junit.xml, report.md and report.html (e.g. --out reports)", c.Out)
	}
	return nil
}

// profile loads c.Profile: nil for the built-in PROTOCOL v1 (goldenpath,
// or none).
func (c Config) profile() (*journey.ProfileSpec, error) {
	return testbed.LoadProfile(c.Profile, c.AuthURL, c.BypassKey, c.APIKey, c.Model)
}

// parseSLA reads the rules of c.SLA over the defaults.
func parseSLA(lines []string) (suite.SLA, error) {
	if len(lines) == 0 {
		return suite.DefaultSLA(), nil
	}
	return suite.ParseSLA([]byte(strings.Join(lines, "\n")))
}

// accountsNeeded is how many accounts of their own the virtual users of
// c's largest scenario need, one each, and what sets that number: the
// integrated suite alone runs Users at once; the other suites run their
// bursts too, and the load suite its capacity search, as many as the run
// registers itself ([testbed.AccountsFor]). c has its defaults filled in.
func (c Config) accountsNeeded() (n int, why, fix string) {
	if !slices.ContainsFunc(c.Suites, func(s string) bool { return s != suite.Integrated }) {
		return c.Users, fmt.Sprintf("the integrated scenario's --users %d", c.Users), ", or lower --users"
	}
	ceiling := 0
	if slices.Contains(c.Suites, suite.Load) && c.MaxUsers != AutoMaxUsers {
		ceiling = max(c.MaxUsers, 0) // AutoMaxUsers: the file's accounts bound the search
	}
	n = testbed.AccountsFor(c.Users, ceiling)
	switch n {
	case ceiling:
		return n, fmt.Sprintf("the capacity search's ceiling, --max-users %d", ceiling), ", lower --max-users, or skip the search with --max-users 0"
	case c.Users:
		return n, fmt.Sprintf("--users %d", c.Users), ", or lower --users"
	}
	return n, fmt.Sprintf("the concurrency bursts, %d users at once", n), ", or run the integrated suite alone (--suite integrated)"
}

// enoughAccounts reports a users file with fewer distinct accounts than
// the virtual users that run at once: users sharing an account read each
// other's threads and events, which the isolation and database checks
// would report as leaks and lost writes of the target's.
func (c Config) enoughAccounts(accts []journey.Account) error {
	distinct := map[string]bool{}
	for _, a := range accts {
		distinct[strings.ToLower(a.Email)] = true
	}
	need, why, fix := c.accountsNeeded()
	if len(distinct) >= need {
		return nil
	}
	have := fmt.Sprintf("%d accounts", len(distinct))
	if len(distinct) == 1 {
		have = "1 account"
	}
	if len(distinct) < len(accts) {
		have += fmt.Sprintf(" (%d lines, repeating addresses)", len(accts))
	}
	return configErr("UsersFile", "%s holds %s, but this run needs %d, one per virtual user running at once (%s); "+
		"users sharing an account see each other's data, and the isolation and database checks would fail falsely: add %d accounts%s",
		c.UsersFile, have, need, why, need-len(distinct), fix)
}
