package goldenpath

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// Status is a check's verdict.
type Status string

// The verdicts. A check without enough evidence to judge is skipped, never
// passed.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Results is what a run found: every check's verdict with its evidence,
// and every phase's latency.
type Results struct {
	// Checks are the verdicts, suite by suite in run order.
	Checks []Check
	// Phases summarise every phase's latency over all scenarios, by name
	// (login, ws_handshake, first_event, agent_execution, journey, ...).
	Phases []Phase
	// Interrupted says the run ended early (its context was cancelled);
	// the results are partial and do not pass.
	Interrupted bool
	// Notes say what a reader should know of the run, e.g. that the
	// target's memory could not be watched.
	Notes []string

	model *results.Results
}

// Check is one named verdict.
type Check struct {
	Suite    string // integrated, load, race, memory, regression (or run)
	Name     string // e.g. authentication_under_5_seconds
	Status   Status
	Evidence string // what was measured, in a sentence
	// Rule is the threshold judged, e.g. "login: p95 < 5s"; empty for
	// checks that are not one threshold.
	Rule string
	// Observed and Threshold are the measured figure and its limit, in
	// Unit (ms, ratio, bytes, users, ...); Samples is how many
	// measurements Observed is computed from.
	Observed  float64
	Threshold float64
	Unit      string
	Samples   int64
	// Scenario names the scenarios the check was judged on.
	Scenario string
}

// Phase is the latency of one phase of the golden path.
type Phase struct {
	Name                               string
	Count                              int64
	Min, Mean, P50, P90, P95, P99, Max time.Duration
}

// Passed reports whether the run completed and no check failed.
func (r *Results) Passed() bool {
	if r.Interrupted {
		return false
	}
	for _, c := range r.Checks {
		if c.Status == Fail {
			return false
		}
	}
	return true
}

// Failed returns the checks that failed.
func (r *Results) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// Check returns the check of that suite and name, and whether there is one.
func (r *Results) Check(suite, name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Suite == suite && c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Phase returns the phase of that name, and whether it was measured.
func (r *Results) Phase(name string) (Phase, bool) {
	for _, p := range r.Phases {
		if p.Name == name {
			return p, true
		}
	}
	return Phase{}, false
}

// Report file names, written by [Results.WriteReports] into its directory.
const (
	ResultsFile  = report.ResultsFile  // the results, versioned (docs/results-schema.md)
	JUnitFile    = report.JUnitFile    // one testcase per check
	MarkdownFile = report.MarkdownFile // for a pull-request comment or a CI job summary
	HTMLFile     = report.HTMLFile     // one self-contained page with charts
)

// WriteReports writes results.json, junit.xml, report.md and report.html
// into dir, creating it.
func (r *Results) WriteReports(dir string) error {
	if r.model == nil {
		return fmt.Errorf("goldenpath: these results hold nothing to report (build them with Run)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("goldenpath: %w", err)
	}
	return report.WriteAll(dir, r.model)
}

// WriteSummary writes the terminal summary: the check table, the phase
// percentiles, the capacity and the verdict.
func (r *Results) WriteSummary(w io.Writer) {
	if r.model != nil {
		report.WriteSummary(w, r.model)
	}
}

// String renders the check table, one check a line, failures first.
func (r *Results) String() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	cs := append([]Check(nil), r.Checks...)
	sort.SliceStable(cs, func(i, j int) bool { return rank(cs[i].Status) < rank(cs[j].Status) })
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\n", strings.ToUpper(string(c.Status)), c.Suite, c.Name, c.Evidence)
	}
	tw.Flush()
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	if r.Interrupted {
		verdict += " (interrupted: partial results)"
	}
	fmt.Fprintf(&b, "%s: %d checks, %d failed", verdict, len(r.Checks), len(r.Failed()))
	return b.String()
}

func rank(s Status) int {
	switch s {
	case Fail:
		return 0
	case Skip:
		return 1
	}
	return 2
}

// fromModel builds the public results from the internal model.
func fromModel(m *results.Results) *Results {
	r := &Results{Interrupted: m.Interrupted, Notes: m.Notes, model: m}
	for _, c := range m.Checks {
		r.Checks = append(r.Checks, Check{Suite: c.Suite, Name: c.Name, Status: Status(c.Status), Evidence: c.Evidence,
			Rule: c.Rule.String(), Observed: c.Observed, Threshold: c.Threshold(), Unit: c.Unit, Samples: c.Samples, Scenario: c.Scenario})
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	for name, s := range m.Phases {
		r.Phases = append(r.Phases, Phase{Name: name, Count: s.Count, Min: ms(s.Min), Mean: ms(s.Mean),
			P50: ms(s.P50), P90: ms(s.P90), P95: ms(s.P95), P99: ms(s.P99), Max: ms(s.Max)})
	}
	sort.Slice(r.Phases, func(i, j int) bool { return r.Phases[i].Name < r.Phases[j].Name })
	return r
}
