package suite

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// Rule is one SLA threshold: a percentile (or mean/max) of a phase's
// latency, or a rate (success_rate, error_rate), compared with a bound.
type Rule struct {
	Metric string        // a phase name, or RateSuccess / RateError
	Stat   string        // p50, p90, p95, p99, p99.9, mean, max; "rate" for rates
	Op     string        // <, <=, >, >=
	Limit  time.Duration // latency rules
	Rate   float64       // rate rules, as a fraction (0.98)
}

// Rate metrics.
const (
	RateSuccess = "success_rate"
	RateError   = "error_rate"
	// RateGoodput is the share of chat requests that met every SLO
	// (first_token, tpot and answer), as vLLM's benchmark reports it.
	RateGoodput = "goodput"
)

// String renders the rule as written in an SLA file, e.g. "login: p95 < 5s".
func (r Rule) String() string {
	t := r.Typed()
	return t.String()
}

// Typed returns the rule as the results model holds it: a latency rule's
// limit in ms, a rate's as a ratio.
func (r Rule) Typed() results.Rule {
	if r.Stat == results.StatRate {
		return results.Rule{Metric: r.Metric, Stat: r.Stat, Op: r.Op, Limit: r.Rate, Unit: results.UnitRatio}
	}
	return results.Rule{Metric: r.Metric, Stat: r.Stat, Op: r.Op, Limit: r.LimitValue(), Unit: results.UnitMS}
}

// Observe returns the rule's statistic of a summary, in milliseconds.
func (r Rule) Observe(s metrics.Summary) float64 {
	switch r.Stat {
	case "p50":
		return s.P50
	case "p90":
		return s.P90
	case "p95":
		return s.P95
	case "p99":
		return s.P99
	case "p99.9":
		return s.P999
	case "mean":
		return s.Mean
	case "max":
		return s.Max
	}
	return math.NaN()
}

// Holds reports whether observed (ms for latency rules, a fraction for rate
// rules) meets the rule.
func (r Rule) Holds(observed float64) bool {
	limit := r.Rate
	if r.Stat != "rate" {
		limit = float64(r.Limit) / float64(time.Millisecond)
	}
	switch r.Op {
	case "<":
		return observed < limit
	case "<=":
		return observed <= limit
	case ">":
		return observed > limit
	case ">=":
		return observed >= limit
	}
	return false
}

// LimitValue is the rule's bound in its unit (ms or fraction).
func (r Rule) LimitValue() float64 {
	if r.Stat == "rate" {
		return r.Rate
	}
	return float64(r.Limit) / float64(time.Millisecond)
}

// SLA is the rules in force, by metric: one rule per metric, each judged
// by a check (the seed's, or [SLA.phaseChecks]'s for a phase the seed does
// not bound).
type SLA map[string]Rule

// DefaultSLA returns the seed's SLAs: journey < 60 s, login < 5 s,
// WebSocket connect < 3 s, agent execution < 45 s, response delivery < 2 s,
// config access < 10 ms, agent instantiation < 500 ms, database operation
// < 1 s (each at p95), success rate >= 98% and error rate under load < 5%.
func DefaultSLA() SLA {
	s := SLA{}
	for _, line := range []string{
		"journey: p95 < 60s",
		"login: p95 < 5s",
		"ws_handshake: p95 < 3s",
		"agent_execution: p95 < 45s",
		"response_delivery: p95 < 2s",
		"config_access: p95 < 10ms",
		"server_factory: p95 < 500ms",
		"db_operation: p95 < 1s",
		"success_rate: >= 98%",
		"error_rate: < 5%",
	} {
		k, v, _ := strings.Cut(line, ": ")
		r, err := parseRule(k, v)
		if err != nil {
			panic(err) // the defaults are constants
		}
		s[k] = r
	}
	return s
}

// Lines renders the SLA sorted by metric.
func (s SLA) Lines() []string {
	var out []string
	for _, r := range s {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

// ParseSLA reads an SLA file over the defaults: a flat YAML mapping of
// metric to rule, one per line, e.g. "login: p95 < 5s" and
// "success_rate: >= 98%" (quotes optional; "#" starts a comment). A metric
// is a rate (success_rate, error_rate) or any measured phase (see
// [knownMetric]). The file's rules replace the defaults for the metrics it
// names. Unknown metrics, malformed rules and a second rule for a metric
// are errors that name the line (both lines, for a second rule) and the
// accepted forms.
//
// The file is read line by line rather than by a YAML parser because an
// unquoted rule that starts with ">" is a folded block in YAML.
func ParseSLA(data []byte) (SLA, error) {
	s := DefaultSLA()
	var errs []error
	type ruleLine struct {
		n    int
		text string
	}
	seen := map[string]ruleLine{}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(stripComment(line))
		if line == "" || line == "---" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k = strings.TrimSpace(k)
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		if !ok || k == "" || v == "" {
			errs = append(errs, fmt.Errorf("sla: line %d: %q is not \"metric: rule\" (e.g. login: p95 < 5s)", n+1, line))
			continue
		}
		if !knownMetric(k) {
			errs = append(errs, fmt.Errorf("sla: line %d: unknown metric %q; known: %s", n+1, k, strings.Join(knownMetrics(), ", ")))
			continue
		}
		if first, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("sla: line %d: a second rule for %s; line %d has one (%q): one rule per metric, keep one of them", n+1, k, first.n, first.text))
			continue
		}
		seen[k] = ruleLine{n + 1, line}
		r, err := parseRule(k, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("sla: line %d: %w", n+1, err))
			continue
		}
		s[k] = r
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// stripComment drops a "#" comment that is not inside quotes.
func stripComment(line string) string {
	quote := byte(0)
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == 0 && c == '#':
			return line[:i]
		}
	}
	return line
}

// serverHTTPPrefix begins the phase of each Server-Timing entry of an HTTP
// reply, "server_http_NAME", as the recorder names it.
const serverHTTPPrefix = "server_" + journey.TimingHTTPPrefix

// slaPhases are the measured phases a rule can name, besides
// server_http_NAME: the journey's own ([journey.PhaseNames]), those the
// suites record on top, and the server's timings in its events.
func slaPhases() []string {
	ps := append(slices.Clone(journey.PhaseNames), PhaseWSHandshake, PhaseJourneyIntended, PhaseSchedulingDelay, PhaseReadLag)
	for _, t := range []string{journey.TimingFactory, journey.TimingConfig, journey.TimingExecution, journey.TimingDB} {
		ps = append(ps, "server_"+strings.TrimSuffix(t, "_ms")) // as the recorder names them
	}
	return ps
}

// knownMetric reports whether an SLA rule can name m: a rate, or a phase
// that is measured (the PHASE table of a run).
func knownMetric(m string) bool {
	if name, ok := strings.CutPrefix(m, serverHTTPPrefix); ok {
		return name != ""
	}
	return m == RateSuccess || m == RateError || m == RateGoodput || slices.Contains(slaPhases(), m)
}

// knownMetrics lists what an SLA rule can name, sorted, for errors.
func knownMetrics() []string {
	ks := append(slaPhases(), RateSuccess, RateError, RateGoodput, serverHTTPPrefix+"NAME")
	slices.Sort(ks)
	return slices.Compact(ks)
}

// phaseChecks judges on sc (the integrated scenario) each latency rule of
// s on a phase that no seed check bounds (first_event, ws_connect,
// inter_event, ...): one check each, named "sla_" and the phase, sorted by
// phase, so that every rule of an SLA counts. The integrated suite adds
// them after its seed checks.
func (s SLA) phaseChecks(suiteName string, sc *results.Scenario) []results.Check {
	var out []results.Check
	for _, m := range slices.Sorted(maps.Keys(s)) {
		r := s[m]
		seed := slices.ContainsFunc(integratedRules, func(ir struct{ check, metric string }) bool { return ir.metric == m })
		if seed || r.Stat == results.StatRate {
			continue
		}
		out = append(out, slaCheck(suiteName, "sla_"+m, sc, r))
	}
	return out
}

var stats = []string{"p50", "p90", "p95", "p99", "p99.9", "mean", "max"}

// parseRule reads "p95 < 5s" for a phase or ">= 98%" for a rate. The form
// is read by results.ParseRule, the one parser of rule text (the reports
// read stored rules with it too); what is checked here is what an SLA
// accepts: the statistics of a latency, durations above zero bounding it
// from above, percentages of journeys.
func parseRule(metric, text string) (Rule, error) {
	r := Rule{Metric: metric}
	f := strings.Fields(text)
	t, err := results.ParseRule(metric + ": " + text)
	if metric == RateSuccess || metric == RateError || metric == RateGoodput {
		trimmed := strings.TrimSpace(text)
		rest := strings.TrimLeft(trimmed, "<>=")
		op, pct := trimmed[:len(trimmed)-len(rest)], strings.TrimSpace(rest)
		switch {
		case !validOp(op) || !strings.HasSuffix(pct, "%") || strings.Contains(pct, " ") || (err == nil && t.Stat != results.StatRate):
			return r, fmt.Errorf("%s: %q is not a rate rule; write e.g. \">= 98%%\" or \"< 5%%\"", metric, text)
		case err != nil || !(t.Limit >= 0 && t.Limit <= 1): // NaN% too
			return r, fmt.Errorf("%s: %q is not a percentage from 0%% to 100%%", metric, pct)
		}
		r.Stat, r.Op, r.Rate = results.StatRate, t.Op, t.Limit
		return r, nil
	}
	if len(f) != 3 || !slices.Contains(stats, f[0]) || !validOp(f[1]) {
		return r, fmt.Errorf("%s: %q is not a latency rule; write STAT OP DURATION with STAT one of %s, e.g. \"p95 < 5s\"", metric, text, strings.Join(stats, ", "))
	}
	if err != nil || t.Unit != results.UnitMS || t.Limit <= 0 {
		return r, fmt.Errorf("%s: %q is not a positive duration (e.g. 250ms, 5s)", metric, f[2])
	}
	if !t.UpperBound() {
		return r, fmt.Errorf("%s: a latency rule bounds from above; use < or <=", metric)
	}
	ns := math.Round(t.Limit * float64(time.Millisecond))
	if ns > maxLimit { // near the largest Duration, the conversion could overflow to a negative limit
		return r, fmt.Errorf("%s: %q is longer than the longest limit, %s", metric, f[2], time.Duration(maxLimit))
	}
	r.Stat, r.Op, r.Limit = t.Stat, t.Op, time.Duration(ns)
	return r, nil
}

func validOp(op string) bool { return op == "<" || op == "<=" || op == ">" || op == ">=" }

// maxLimit is the longest latency limit, in ns (about 146 years): half the
// largest Duration, so that a limit converted to ms and back always fits.
const maxLimit = 1 << 62
