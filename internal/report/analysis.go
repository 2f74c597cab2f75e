package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// ThinMargin is the share of an SLA's limit (for a success rate, of its
// failure budget) under which a rule that holds is still listed in the
// optimisation roadmap of [WriteMarkdown] and [WriteHTML]: with less than
// 20% to spare, an ordinary bad day breaks it.
const ThinMargin = 0.20

// analysis is what the Markdown and HTML reports say about one run,
// computed once from the results so that both say the same.
type analysis struct {
	r        *Results
	rules    map[string]Rule // the SLA rules in force, by metric
	counts   counts
	sla      []slaRow
	unjudged []string // SLA lines no check judged
	gaps     []slaRow // failed checks: threshold ones with a margin first
	findings []finding
	roadmap  []roadmapItem
	phases   []phaseRow
	// phaseSource names what phases summarises: a scenario, or "" for all.
	phaseSource string
	// readyNote says how few handshakes ws_ready timed, when it timed
	// fewer than all ("" otherwise).
	readyNote string
}

type counts struct{ pass, fail, skip int }

func (c counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", c.pass, c.fail, c.skip)
}

// slaRow is one check, with its rule's margin when it judged an SLA rule.
type slaRow struct {
	check     Check
	rule      *Rule   // the SLA rule judged; nil for another check
	target    string  // the rule without its metric: "p95 < 5s"
	measured  string  // the observed value, formatted; "—" when not measured
	margin    float64 // share of the limit (or budget) left; < 0 when broken
	hasMargin bool
	gap       string // how far beyond the limit, for a broken rule
}

// finding is a failed check of the race or memory suite.
type finding struct {
	check     Check
	affected  string
	firstSeen string
	repro     string
	samples   []Sample
}

// roadmapItem is one entry of the optimisation roadmap.
type roadmapItem struct {
	row   slaRow
	kind  string // "fail" or "thin margin"
	where string
}

type phaseRow struct {
	name string
	sum  phaseSummary
	rule string // the SLA line on this phase, if any
}

// phaseSummary is the part of a metrics.Summary the reports show.
type phaseSummary struct {
	count               int64
	p50, p95, p99, max  float64
	judged, judgedLimit float64 // the rule's statistic and limit, ms; 0 without a rule
}

func analyse(r *Results) *analysis {
	a := &analysis{r: r, rules: r.Options.Rules()}
	inForce := map[string]bool{}
	for _, line := range r.Options.SLA {
		inForce[line] = true
	}
	judged := map[string]bool{}
	for _, c := range r.Checks {
		switch c.Status {
		case Pass:
			a.counts.pass++
		case Fail:
			a.counts.fail++
		default:
			a.counts.skip++
		}
		rule := c.Rule
		if !inForce[rule.String()] {
			rule = nil // not an SLA rule: a regression's or a memory suite's threshold
		}
		row := rowOf(c, rule)
		if rule != nil {
			judged[rule.String()] = true
			a.sla = append(a.sla, row)
		}
		if c.Status == Fail {
			a.gaps = append(a.gaps, row)
			if c.Suite == "race" || c.Suite == "memory" {
				a.findings = append(a.findings, findingOf(r, c))
			}
		}
		switch {
		case c.Status == Fail:
			a.roadmap = append(a.roadmap, roadmapItem{row: row, kind: "fail", where: whereToLook(row)})
		case c.Status == Pass && row.hasMargin && row.margin < ThinMargin:
			a.roadmap = append(a.roadmap, roadmapItem{row: row, kind: "thin margin", where: whereToLook(row)})
		}
	}
	for _, line := range r.Options.SLA {
		if !judged[line] {
			a.unjudged = append(a.unjudged, line)
		}
	}
	// Gaps with a measure first, worst first; then the others in check order.
	sort.SliceStable(a.gaps, func(i, j int) bool { return lessMargin(a.gaps[i], a.gaps[j]) })
	// The roadmap: failures without a margin (a correctness finding breaks
	// its rule whatever the amount) first, then by margin left, least first.
	sort.SliceStable(a.roadmap, func(i, j int) bool {
		x, y := a.roadmap[i].row, a.roadmap[j].row
		if x.hasMargin != y.hasMargin {
			return !x.hasMargin
		}
		return x.hasMargin && x.margin < y.margin
	})
	a.phases, a.phaseSource = phaseRows(r, a.rules)
	a.readyNote = readyNote(a.phases)
	return a
}

// readyNote says, when ws_ready timed fewer handshakes than ws_handshake
// did, how many and why: a ws_ready sample exists only where the 101 and
// connection_established reached goldenpath apart, and what it timed is
// no sample of every handshake (a missing sample is not a zero, nor a
// typical one).
func readyNote(phases []phaseRow) string {
	var ready, all int64
	for _, p := range phases {
		switch p.name {
		case "ws_ready":
			ready = p.sum.count
		case "ws_handshake":
			all = p.sum.count
		}
	}
	if all == 0 || ready >= all {
		return ""
	}
	return fmt.Sprintf("ws_ready is timed only where the HTTP 101 and connection_established reached goldenpath apart: "+
		"%d of %d handshakes here (%.0f%%). In the others the kernel handed the two over at once (sent in one segment, "+
		"or merged while the 101 waited to be read), and no client can time the gap between them (or, off Linux's "+
		"epoll loops, the two were timed by clocks that could not split them); ws_handshake covers every one. "+
		"The timed ones are no random sample of all: the merges come where a 101 waited longest to be read.", ready, all, 100*float64(ready)/float64(all))
}

func lessMargin(x, y slaRow) bool {
	if x.hasMargin != y.hasMargin {
		return x.hasMargin
	}
	return x.hasMargin && x.margin < y.margin
}

// rowOf computes a check's margin on rule, the SLA rule it judged (nil
// for a check that judged none): for an upper bound (limit - measured) /
// limit, as the suites' evidence does; for a lower bound on a ratio (a
// success rate), the share of its failure budget (1 - limit) left; for
// another lower bound (measured - limit) / limit.
func rowOf(c Check, rule *Rule) slaRow {
	row := slaRow{check: c, rule: rule, measured: "—"}
	if rule != nil {
		row.target = rule.Target()
	}
	if c.Status == Skip || rule == nil || rule.Op == "" || rule.Limit == 0 {
		if c.Status != Skip && c.Unit != "" && c.Observed != 0 {
			row.measured = fmtValue(c.Observed, c.Unit)
		}
		return row
	}
	o, t := c.Observed, rule.Limit
	var m float64
	switch {
	case rule.UpperBound():
		m = (t - o) / t
	case c.Unit == "ratio" && t > 0 && t < 1:
		m = ((1 - t) - (1 - o)) / (1 - t)
	default:
		m = (o - t) / t
	}
	// A failure the measure does not explain (no journey completed, so the
	// rate is 0 of 0) has no margin to rank by.
	if math.IsNaN(m) || math.IsInf(m, 0) || (c.Status == Fail && m > 0) {
		return row
	}
	row.measured = fmtValue(o, c.Unit)
	row.margin, row.hasMargin = m, true
	if c.Status == Fail {
		switch {
		case rule.UpperBound():
			row.gap = fmt.Sprintf("%s over the limit (%+.1f%%)", fmtAmount(o-t, c.Unit), (o-t)/t*100)
		case c.Unit == "ratio" && t < 1:
			row.gap = fmt.Sprintf("%.2f points under; %.0f%% of the failure budget used", (t-o)*100, (1-o)/(1-t)*100)
		default:
			row.gap = fmt.Sprintf("%s under the limit (%.1f%%)", fmtAmount(t-o, c.Unit), (o-t)/t*100)
		}
	}
	return row
}

// phaseOrder is the journey's order of phases; others follow by name.
var phaseOrder = []string{"login", "config_access", "ws_connect", "ws_ready", "ws_handshake", "first_event", "first_token",
	"inter_event", "agent_execution", "answer", "response_delivery", "db_operation", "journey", "journey_from_intended", "scheduling_delay", "read_lag"}

// phaseMeaning says what a phase measures (docs/results-schema.md), to
// point the roadmap at where to look.
var phaseMeaning = map[string]string{
	"login":             "POST /api/v1/auth/login (server_http_auth shows the server's share)",
	"config_access":     "GET /api/v1/config (server_config, server_http_config)",
	"ws_connect":        "WebSocket dial to HTTP 101",
	"ws_ready":          "HTTP 101 to connection_established",
	"ws_handshake":      "WebSocket dial to connection_established (ws_connect + ws_ready)",
	"first_event":       "user_message to agent_started: the server took the request (server_factory, server_db)",
	"first_token":       "user_message to the first agent_thinking: time to first token (the model's first content)",
	"answer":            "user_message to agent_completed: the whole wait, queueing before agent_started included",
	"agent_execution":   "agent_started to agent_completed (server_execution)",
	"response_delivery": "the server's completed_at to receipt",
	"journey":           "login to the last answer: see which phase grew",
	"db_operation":      "thread create, list and read-back (server_db, server_http_db)",
	"server_factory":    "agent instantiation on the server (timings.factory_ms)",
	"read_lag":          "goldenpath's own delay in reading what arrived: it was short of CPU (not the target's)",
	"success_rate":      "the scenario's error classes (errors by kind)",
	"error_rate":        "the load scenarios' error classes (errors by kind)",
}

func whereToLook(row slaRow) string {
	c := row.check
	if row.rule != nil {
		if m, ok := phaseMeaning[row.rule.Metric]; ok {
			return m
		}
	}
	if c.Scenario != "" {
		return "scenario " + c.Scenario + " of suite " + c.Suite
	}
	return "suite " + c.Suite
}

// phaseRows returns the phases the SLA checks judge: the scenario most of
// them name, else every scenario together.
func phaseRows(r *Results, rules map[string]Rule) ([]phaseRow, string) {
	votes := map[string]int{}
	for _, c := range r.Checks {
		if c.Unit == "ms" && c.Scenario != "" && !strings.Contains(c.Scenario, ",") {
			votes[c.Scenario]++
		}
	}
	src, best := "", 0
	for name, n := range votes {
		if n > best || n == best && name < src {
			src, best = name, n
		}
	}
	phases := r.Phases
	if i := slices.IndexFunc(r.Scenarios, func(s Scenario) bool { return s.Name == src }); i >= 0 && len(r.Scenarios[i].Phases) > 0 {
		phases = r.Scenarios[i].Phases
	} else {
		src = ""
	}
	var out []phaseRow
	for _, name := range sortedPhases(phases) {
		s := phases[name]
		row := phaseRow{name: name, sum: phaseSummary{count: s.Count, p50: s.P50, p95: s.P95, p99: s.P99, max: s.Max}}
		if rule, ok := rules[name]; ok {
			row.rule = rule.String()
			if rule.Unit == results.UnitMS {
				row.sum.judgedLimit = rule.Limit
				row.sum.judged = map[string]float64{"p50": s.P50, "p90": s.P90, "p95": s.P95, "p99": s.P99,
					"p99.9": s.P999, "mean": s.Mean, "max": s.Max}[rule.Stat]
			}
		}
		out = append(out, row)
	}
	return out, src
}

func sortedPhases[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	rank := func(n string) int {
		if i := slices.Index(phaseOrder, n); i >= 0 {
			return i
		}
		return len(phaseOrder)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

// ---- formatting ----

// fmtLatency formats milliseconds as the suites' evidence does.
func fmtLatency(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.0fms", v)
	case math.Abs(v) < 0.1:
		return fmt.Sprintf("%.0fµs", v*1000)
	}
	return fmt.Sprintf("%.2fms", v)
}

func fmtValue(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmtLatency(v)
	case "ratio":
		return fmt.Sprintf("%.2f%%", v*100)
	case "users":
		return fmt.Sprintf("%g users", v)
	case "bytes":
		return fmtBytes(v)
	case "bytes/cycle":
		return fmtBytes(v) + "/cycle"
	case "points":
		return fmt.Sprintf("%.2f points", v)
	case "", "%":
		return strconv.FormatFloat(v, 'g', 4, 64) + unit
	}
	return strconv.FormatFloat(v, 'g', 4, 64) + " " + unit
}

// fmtAmount formats a difference of two values of unit.
func fmtAmount(v float64, unit string) string {
	if unit == "ratio" {
		return fmt.Sprintf("%.2f points", v*100)
	}
	return fmtValue(v, unit)
}

func fmtMargin(row slaRow) string {
	if !row.hasMargin {
		return "—"
	}
	return strings.Replace(fmt.Sprintf("%.1f%%", row.margin*100), "-", "−", 1)
}

func fmtBytes(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// runDuration is the run's wall time, or "" when unknown.
func runDuration(r *Results) string {
	if r.StartedAt.IsZero() || r.FinishedAt.Before(r.StartedAt) {
		return ""
	}
	return r.FinishedAt.Sub(r.StartedAt).Round(100 * time.Millisecond).String()
}

func targetText(t Target) string {
	s := t.URL
	if s == "" {
		s = "(no URL)"
	}
	if t.Embedded {
		s += " (the embedded reference backend"
		if t.Faults != "" {
			s += ", faults " + t.Faults
		}
		s += ")"
	}
	return s
}

func statusWord(s string) string {
	switch s {
	case Pass:
		return "✅ pass"
	case Fail:
		return "❌ fail"
	case Skip:
		return "⚪ skip"
	}
	return s
}

// verdict is the run's one-word outcome.
func (a *analysis) verdict() string {
	v := "PASS"
	if a.counts.fail > 0 || a.r.Status == Fail {
		v = "FAIL"
	}
	if a.r.Interrupted {
		v += " (interrupted: partial results)"
	}
	return v
}

// clip cuts s to at most n bytes on a rune boundary, marking a cut with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return truncate(s, n) + "…"
}

// kv is one line of the execution summary.
type kv struct{ K, V string }

// raceNote says why the race condition catalog is empty.
func raceNote(r *Results) string {
	ran := 0
	for _, c := range r.Checks {
		if c.Suite == "race" || c.Suite == "memory" {
			ran++
		}
	}
	if ran == 0 {
		return "The race and memory suites did not run (--suite race,memory)."
	}
	return fmt.Sprintf("No finding: the %d checks of the race and memory suites passed or were skipped.", ran)
}

// summaryRows are the execution summary's lines, shared by both reports.
func summaryRows(a *analysis) []kv {
	r := a.r
	rows := []kv{{"status", a.verdict()}, {"checks", a.counts.String()}}
	if r.Tool.Name != "" {
		rows = append(rows, kv{"tool", fmt.Sprintf("%s %s (%s, %d CPUs)", r.Tool.Name, r.Tool.Version, r.Tool.Go, r.Tool.CPUs)})
	}
	rows = append(rows, kv{"target", targetText(r.Target)})
	if !r.StartedAt.IsZero() {
		rows = append(rows, kv{"started", r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC")})
	}
	opts := fmt.Sprintf("%d users, %s per scenario", r.Options.Users, orDash(r.Options.Duration))
	if r.Options.Rate > 0 {
		opts += fmt.Sprintf(", open model at %g journeys/s", r.Options.Rate)
	}
	rows = append(rows, kv{"duration", orDash(runDuration(r))}, kv{"suites", strings.Join(r.Options.Suites, ", ")},
		kv{"options", opts}, kv{"segments", strings.Join(r.Segments, ", ")})
	if c := r.Capacity; c != nil {
		s := fmt.Sprintf("held %d users", c.Held)
		if c.Broke > 0 {
			s += fmt.Sprintf(", broke at %d", c.Broke)
		}
		rows = append(rows, kv{"capacity", s + " (" + c.Reason + ")"})
	}
	return rows
}
