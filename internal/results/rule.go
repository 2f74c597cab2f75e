package results

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Units of a [Rule]'s limit and of a [Check]'s observed figure.
const (
	UnitMS    = "ms"    // milliseconds: latency rules
	UnitRatio = "ratio" // a fraction from 0 to 1 (rates, relative changes); written as a percentage
	UnitUsers = "users" // concurrent users (the capacity search)
	UnitBytes = "bytes"
)

// StatRate is the statistic of a rate rule (success_rate, error_rate):
// the share of journeys, in [UnitRatio].
const StatRate = "rate"

// Rule is one threshold: a statistic of a metric compared with a limit,
// e.g. the p95 of the login phase under 5 s (Metric "login", Stat "p95",
// Op "<", Limit 5000, Unit "ms").
type Rule struct {
	// Metric is what is measured: a phase name, success_rate or
	// error_rate for the SLA rules; another suite's measure otherwise.
	Metric string `json:"metric"`
	// Stat is the statistic of Metric judged: p50, p90, p95, p99, p99.9,
	// mean or max of a latency; rate for a rate; the suite's own
	// otherwise (e.g. change, for a regression).
	Stat string `json:"stat"`
	// Op is the comparison the observed figure must meet: <, <=, > or >=.
	Op string `json:"op"`
	// Limit is the bound, in Unit.
	Limit float64 `json:"limit"`
	// Unit is the unit of Limit (and of the check's observed figure):
	// ms, ratio, users, bytes, ...
	Unit string `json:"unit"`
}

// String renders the rule in the syntax of an SLA file: "login: p95 < 5s"
// (a latency limit as Go prints a duration), "success_rate: >= 98%" (a
// rate, when its limit is a ratio). Other rules follow the same form, "METRIC: STAT OP LIMIT", with a
// ratio as a percentage and other units after the number. A nil rule is
// "".
func (r *Rule) String() string {
	if r == nil {
		return ""
	}
	var limit string
	switch r.Unit {
	case UnitMS:
		if ns := math.Round(r.Limit * float64(time.Millisecond)); math.Abs(ns) < 1<<63 {
			limit = time.Duration(ns).String()
		} else { // beyond a Duration (or NaN): a Duration conversion would overflow
			limit = strconv.FormatFloat(r.Limit, 'g', -1, 64) + " " + UnitMS
		}
	case UnitRatio:
		limit = strconv.FormatFloat(r.Limit*100, 'g', 12, 64) + "%"
	case "":
		limit = strconv.FormatFloat(r.Limit, 'g', 12, 64)
	default:
		limit = strconv.FormatFloat(r.Limit, 'g', 12, 64) + " " + r.Unit
	}
	text := r.Stat + " " + r.Op + " " + limit
	if r.Stat == StatRate && r.Unit == UnitRatio { // only a percentage reads back as a rate
		text = r.Op + " " + limit
	}
	if r.Metric == "" {
		return text
	}
	return r.Metric + ": " + text
}

// Target is the rule without its metric: "p95 < 5s", ">= 98%".
func (r *Rule) Target() string {
	s := r.String()
	if r != nil && r.Metric != "" {
		s = strings.TrimPrefix(s, r.Metric+": ")
	}
	return s
}

// Holds reports whether observed, in the rule's unit, meets it. A NaN
// never does.
func (r Rule) Holds(observed float64) bool {
	switch r.Op {
	case "<":
		return observed < r.Limit
	case "<=":
		return observed <= r.Limit
	case ">":
		return observed > r.Limit
	case ">=":
		return observed >= r.Limit
	}
	return false
}

// UpperBound reports whether the rule bounds its metric from above (< or
// <=): the figure must stay under the limit.
func (r Rule) UpperBound() bool { return strings.HasPrefix(r.Op, "<") }

// ParseRule reads a rule as [Rule.String] writes it: "METRIC: STAT OP
// LIMIT", or "METRIC: OP N%" for a rate. A limit that is a Go duration
// (5s, 250ms) is in ms; one that ends in % is a ratio; a number may be
// followed by its unit. ParseRule checks the form, not whether the metric
// or statistic is one some suite judges.
func ParseRule(line string) (Rule, error) {
	metric, text, ok := strings.Cut(line, ":")
	metric = strings.TrimSpace(metric)
	if !ok || metric == "" {
		return Rule{}, fmt.Errorf("results: rule %q is not \"metric: rule\" (e.g. login: p95 < 5s)", line)
	}
	r, err := parseTarget(metric, text)
	if err != nil {
		return Rule{}, fmt.Errorf("results: rule %q: %w", line, err)
	}
	return r, nil
}

// parseTarget reads the part of a rule after its metric.
func parseTarget(metric, text string) (Rule, error) {
	r := Rule{Metric: metric}
	f := strings.Fields(text)
	if len(f) == 1 { // ">=98%"
		f = splitOp(f[0])
	}
	if len(f) > 0 && validOp(f[0]) { // a rate: OP N%
		if len(f) != 2 || !strings.HasSuffix(f[1], "%") {
			return r, fmt.Errorf("%q is not a rate rule (e.g. \">= 98%%\")", strings.TrimSpace(text))
		}
		v, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		if err != nil {
			return r, fmt.Errorf("%q is not a percentage", f[1])
		}
		r.Stat, r.Op, r.Limit, r.Unit = StatRate, f[0], v/100, UnitRatio
		return r, nil
	}
	if len(f) < 3 || len(f) > 4 || !validOp(f[1]) {
		return r, fmt.Errorf("%q is not STAT OP LIMIT (e.g. \"p95 < 5s\")", strings.TrimSpace(text))
	}
	r.Stat, r.Op = f[0], f[1]
	v := f[2]
	if len(f) == 4 {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return r, fmt.Errorf("%q is not a number", v)
		}
		r.Limit, r.Unit = n, f[3]
		return r, nil
	}
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return r, fmt.Errorf("%q is not a percentage", v)
		}
		r.Limit, r.Unit = n/100, UnitRatio
		return r, nil
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		r.Limit = n
		return r, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return r, fmt.Errorf("%q is neither a duration (250ms, 5s) nor a number", v)
	}
	r.Limit, r.Unit = float64(d)/float64(time.Millisecond), UnitMS
	return r, nil
}

func validOp(op string) bool { return op == "<" || op == "<=" || op == ">" || op == ">=" }

func splitOp(s string) []string {
	for _, op := range []string{"<=", ">=", "<", ">"} {
		if rest, ok := strings.CutPrefix(s, op); ok && rest != "" {
			return []string{op, rest}
		}
	}
	return []string{s}
}
