package results

import (
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
)

// Schema is the version tag of results.json that [WriteJSON] writes; a
// change that breaks readers bumps it (docs/results-schema.md).
const Schema = "goldenpath.results/v2"

// SchemaV1 is the previous version, which [ReadJSON] still reads: its
// checks carried their rule as text and their limit as a number beside it,
// and its samples named users only in their text.
const SchemaV1 = "goldenpath.results/v1"

// Check statuses.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
)

// Results is everything one run (or a merge of segments) found.
type Results struct {
	Schema      string     `json:"schema"`
	Tool        Tool       `json:"tool"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  time.Time  `json:"finished_at"`
	Target      Target     `json:"target"`
	Options     Options    `json:"options"`
	Status      string     `json:"status"` // pass when no check failed, else fail
	Interrupted bool       `json:"interrupted,omitempty"`
	Notes       []string   `json:"notes,omitempty"`
	Checks      []Check    `json:"checks"`
	Scenarios   []Scenario `json:"scenarios"`
	// Phases summarises every phase over all scenarios.
	Phases   map[string]metrics.Summary `json:"phases"`
	Capacity *Capacity                  `json:"capacity,omitempty"`
	// Segments lists the segments merged into these results ("1/1" for a
	// single process).
	Segments []string `json:"segments"`
	// Starts says, for a run given a common start (--start-at), when each
	// segment began its load and how late; merged, one per segment.
	Starts []SegmentStart `json:"starts,omitempty"`
	// TargetMemory is the target's memory over the run, one point a second,
	// when it could be watched (its own process, or its /metrics).
	TargetMemory []MemoryPoint `json:"target_memory,omitempty"`
}

// SegmentStart is when a segment of a run with a common start began its
// load: LateMS after the start asked (0 when it was on time; it waits for
// the start when early).
type SegmentStart struct {
	Segment string    `json:"segment"`
	At      time.Time `json:"at"`
	LateMS  float64   `json:"late_ms"`
}

// Failed reports whether any check failed.
func (r *Results) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// MemoryPoint is one sample of the target.
type MemoryPoint struct {
	T           float64 `json:"t_s"` // seconds since the run started
	RSS         float64 `json:"rss_bytes"`
	Goroutines  float64 `json:"goroutines,omitempty"`
	Connections float64 `json:"active_connections,omitempty"`
	FDs         float64 `json:"fds,omitempty"`
}

// Tool names the program that wrote the results.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Go      string `json:"go"`
	CPUs    int    `json:"cpus"`
}

// Target is what was loaded.
type Target struct {
	URL      string `json:"url"`
	Embedded bool   `json:"embedded"` // the reference backend, started by goldenpath as a child process
	Faults   string `json:"faults,omitempty"`
	// Profile is what the target was spoken to as (docs/profiles.md);
	// absent from files written before profiles: goldenpath.
	Profile string `json:"profile,omitempty"`
}

// Options are the run's settings, as given. The fields after SLA are
// there only when the run changed them from goldenpath's defaults (and
// absent from files written before they were recorded): they are what a
// command that runs it again must repeat.
type Options struct {
	Suites   []string `json:"suites"`
	Users    int      `json:"users"`
	Duration string   `json:"duration"`
	Rate     float64  `json:"rate,omitempty"`
	Segment  string   `json:"segment"`
	// SLA is the rules in force, one per metric, sorted, as [Rule.String]
	// writes them ("login: p95 < 5s"); [Options.Rules] reads them.
	SLA []string `json:"sla"`
	// SLAOverrides are the rules of SLA that are not goldenpath's
	// defaults (those an SLA file set), sorted.
	SLAOverrides []string `json:"sla_overrides,omitempty"`
	// Think is the closed model's pause between one user's journeys, as a
	// Go duration ("100ms").
	Think string `json:"think,omitempty"`
	// Iterations is --iterations when given: the integrated scenario's
	// journeys in all.
	Iterations int64 `json:"iterations,omitempty"`
	// TargetThink is the embedded backend's simulated model time per run
	// ("0s": none).
	TargetThink string `json:"target_think,omitempty"`
	// RunTimeout bounds the wait for one run's terminal event.
	RunTimeout string `json:"run_timeout,omitempty"`
	// MaxUsers is the capacity search's ceiling; 0 when the search was
	// skipped.
	MaxUsers *int `json:"max_users,omitempty"`
	// StepDuration is how long each capacity step ran.
	StepDuration string `json:"step_duration,omitempty"`
	// UsersFile is the path of the accounts file the virtual users
	// logged in with, as given.
	UsersFile string `json:"users_file,omitempty"`
	// AdminTokenGiven says the target's admin token was given; the
	// token itself is never recorded.
	AdminTokenGiven bool `json:"admin_token_given,omitempty"`
	// Profile is the --profile given when it is not goldenpath (a name,
	// or a file's path); AuthURL and Model as given. The bypass and API
	// keys are never recorded, only that they were given.
	Profile string `json:"profile,omitempty"`
	Journey string `json:"journey,omitempty"` // --journey when minimal
	// StartAt is the common start every segment waited for (--start-at),
	// RFC 3339.
	StartAt string `json:"start_at,omitempty"`
	// RunID names the test the segments are parts of (--run-id): merge
	// refuses parts of different ids.
	RunID          string `json:"run_id,omitempty"`
	AuthURL        string `json:"auth_url,omitempty"`
	Model          string `json:"model,omitempty"`
	BypassKeyGiven bool   `json:"bypass_key_given,omitempty"`
	APIKeyGiven    bool   `json:"api_key_given,omitempty"`
}

// Rules returns the SLA rules in force, by metric, leaving out a line
// that is not a rule.
func (o Options) Rules() map[string]Rule {
	out := make(map[string]Rule, len(o.SLA))
	for _, line := range o.SLA {
		if r, err := ParseRule(line); err == nil {
			out[r.Metric] = r
		}
	}
	return out
}

// The prefixes of a scenario's counters (in Metrics) that count by a
// bounded label: failed journeys by error class and by phase, and oracle
// violations by kind. The counters are the raw, mergeable form; a
// Scenario's Errors and Violations are their typed summary.
const (
	CounterErrorPrefix      = "error:"       // error:CLASS, e.g. error:http_status:503
	CounterErrorPhasePrefix = "error_phase:" // error_phase:PHASE, e.g. error_phase:ws_connect
	// CounterViolationPrefix begins violation:KIND, and the Kind of a
	// Sample of a violation.
	CounterViolationPrefix = "violation:"
	// CounterHTTPPrefix begins http:CODE, the HTTP replies the journeys
	// got by status (http:200, http:101 for a WebSocket upgrade;
	// http:other for a code outside 100-599).
	CounterHTTPPrefix = "http:"
	// CounterWSReceivedPrefix and CounterWSSentPrefix begin
	// ws_received:TYPE and ws_sent:TYPE, the WebSocket frames the
	// journeys received and sent by type: the protocol's event and
	// message types, other for any other.
	CounterWSReceivedPrefix = "ws_received:"
	CounterWSSentPrefix     = "ws_sent:"
	// CounterOperations counts the requests a suite's own workload made
	// that are not journeys: the race and memory suites' config reads and
	// writes, connections opened and closed, database calls.
	CounterOperations = "operations"
)

// GaugeActiveUsers is the gauge of a scenario's series (metrics.Point's
// Gauges) holding, each second, the most journeys that ran at once in it:
// the users in a journey. Merged segments add up.
const GaugeActiveUsers = "active_users"

// Scenario is one load pattern the suites ran, with its raw measurements
// (mergeable across segments) and their summaries.
type Scenario struct {
	Name      string  `json:"name"`
	Suite     string  `json:"suite"`
	Model     string  `json:"model"` // closed or open
	Users     int     `json:"users"`
	Rate      float64 `json:"rate,omitempty"`
	DurationS float64 `json:"duration_s"`
	Journeys  int64   `json:"journeys"`
	Succeeded int64   `json:"succeeded"`
	Failed    int64   `json:"failed"`
	Dropped   int64   `json:"dropped"`
	// Operations are the requests a suite's own workload made that are not
	// journeys ([CounterOperations]): a race or memory scenario's config
	// reads, connections, database calls.
	Operations int64 `json:"operations,omitempty"`
	// Throughput is succeeded journeys per second.
	Throughput float64                    `json:"throughput_per_s"`
	Phases     map[string]metrics.Summary `json:"phases"`
	Errors     map[string]int64           `json:"errors,omitempty"`     // by class, e.g. "http_status:503", "close:1011"
	Violations map[string]int64           `json:"violations,omitempty"` // oracle findings by kind
	Samples    []Sample                   `json:"samples,omitempty"`    // a few offending frames or replies, redacted
	Metrics    metrics.Snapshot           `json:"metrics"`              // raw histograms, counters and series
	// Unmeasured are the phases (and steps) the target's profile gives no
	// evidence of, each with why: their checks skip with that reason.
	Unmeasured map[string]string `json:"unmeasured,omitempty"`
	// Profile is the target profile the scenario spoke (absent:
	// goldenpath, PROTOCOL v1).
	Profile string `json:"profile,omitempty"`
}

// Sample is one piece of evidence: an error or oracle violation with the
// offending frame, secrets redacted, and the users it concerns.
type Sample struct {
	Kind   string `json:"kind"`
	Phase  string `json:"phase,omitempty"`
	Detail string `json:"detail"`
	Frame  string `json:"frame,omitempty"`
	// Users are the users the sample concerns: first the one whose
	// session found it, then any whose data turned up there.
	Users []User `json:"users,omitempty"`
}

// User names a user a sample concerns: goldenpath's virtual user, the
// target's id for it, or both.
type User struct {
	// VirtualUser is goldenpath's number of the virtual user, nil when
	// not known.
	VirtualUser *int `json:"virtual_user,omitempty"`
	// ID is the target's user id (the reference backend's are "u_" and
	// hex), "" when not known.
	ID string `json:"id,omitempty"`
	// Foreign is set for a user whose data turned up in another user's
	// session, rather than the user whose session it was.
	Foreign bool `json:"foreign,omitempty"`
}

// VirtualUser returns a [User] naming goldenpath's virtual user vu.
func VirtualUser(vu int) User { return User{VirtualUser: &vu} }

// Capacity is the result of the capacity search.
type Capacity struct {
	Held   int            `json:"held_users"` // the largest load that met every SLA; 0 if none
	Broke  int            `json:"broke_users,omitempty"`
	Reason string         `json:"reason"`
	Steps  []CapacityStep `json:"steps"`
}

// CapacityStep is one step of the capacity search.
type CapacityStep struct {
	Users      int     `json:"users"`
	Throughput float64 `json:"throughput_per_s"`
	JourneyP95 float64 `json:"journey_p95_ms"`
	ErrorRate  float64 `json:"error_rate"`
	Held       bool    `json:"held"`
	Reason     string  `json:"reason,omitempty"`
}

// MergePhases summarises every phase over all scenarios.
func MergePhases(scs []Scenario) map[string]metrics.Summary {
	set := metrics.NewSet()
	for _, sc := range scs {
		s := sc.Metrics
		s.Series = nil
		_ = set.Merge(s)
	}
	return set.Snapshot().Summaries()
}
