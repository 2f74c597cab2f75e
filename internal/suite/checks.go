package suite

import (
	"fmt"
	"math"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// MinSamples is the fewest samples a percentile check accepts; with fewer
// the check is skipped as inconclusive, never passed.
const MinSamples = 20

// slaCheck judges one latency rule on one scenario.
func slaCheck(suiteName, name string, sc *results.Scenario, r Rule) results.Check {
	rule := r.Typed()
	c := results.Check{Suite: suiteName, Name: name, Rule: &rule, Unit: rule.Unit}
	if sc == nil {
		c.Status, c.Evidence = results.Skip, "its scenario did not run"
		return c
	}
	c.Scenario = sc.Name
	s, ok := sc.Phases[r.Metric]
	c.Samples = s.Count
	if !ok || s.Count < MinSamples {
		c.Status = results.Skip
		c.Evidence = fmt.Sprintf("only %d samples of %s; a %s needs at least %d — run longer (--duration) or with more users", s.Count, r.Metric, r.Stat, MinSamples)
		return c
	}
	c.Observed = r.Observe(s)
	c.Status = Verdict(r.Holds(c.Observed))
	margin := (rule.Limit - c.Observed) / rule.Limit * 100
	c.Evidence = fmt.Sprintf("%s %s = %s over %d samples (limit %s, margin %.1f%%)", r.Metric, r.Stat, FormatMS(c.Observed), s.Count, r.Limit, margin)
	return c
}

// rateCheck judges the success (or error) rate of the given scenarios.
func rateCheck(suiteName, name string, r Rule, scs ...*results.Scenario) results.Check {
	rule := r.Typed()
	c := results.Check{Suite: suiteName, Name: name, Rule: &rule, Unit: rule.Unit}
	var journeys, ok, failed int64
	var names []string
	errs := map[string]int64{}
	for _, sc := range scs {
		if sc == nil {
			continue
		}
		names = append(names, sc.Name)
		journeys += sc.Journeys
		ok += sc.Succeeded
		failed += sc.Failed
		for k, v := range sc.Errors {
			errs[k] += v
		}
	}
	c.Scenario, c.Samples = strings.Join(names, ","), journeys
	if journeys == 0 {
		c.Status, c.Evidence = results.Fail, "no journey completed, so no rate can be judged"
		if len(names) == 0 {
			c.Status, c.Evidence = results.Skip, "its scenarios did not run"
		}
		return c
	}
	if r.Metric == RateError {
		c.Observed = float64(failed) / float64(journeys)
	} else {
		c.Observed = float64(ok) / float64(journeys)
	}
	c.Status = Verdict(r.Holds(c.Observed))
	c.Evidence = fmt.Sprintf("%s = %.2f%% (%d ok, %d failed of %d journeys; limit %s)%s", r.Metric, c.Observed*100, ok, failed, journeys, strings.TrimPrefix(r.String(), r.Metric+": "), ErrorList(errs))
	return c
}

// allOf combines sub-verdicts into one check: fail if any failed, skip if
// none failed but one was skipped.
func allOf(suiteName, name string, parts ...results.Check) results.Check {
	c := results.Check{Suite: suiteName, Name: name, Status: results.Pass}
	var ev []string
	for _, p := range parts {
		switch {
		case p.Status == results.Fail:
			c.Status = results.Fail
		case p.Status == results.Skip && c.Status == results.Pass:
			c.Status = results.Skip
		}
		ev = append(ev, fmt.Sprintf("[%s] %s", p.Status, p.Evidence))
		if c.Scenario == "" {
			c.Scenario = p.Scenario
		}
	}
	c.Evidence = strings.Join(ev, "; ")
	return c
}

// zeroCheck passes when n is zero.
func zeroCheck(what string, n int64, sc *results.Scenario) results.Check {
	c := results.Check{Status: results.Pass, Evidence: fmt.Sprintf("no %s", what)}
	if sc == nil {
		return results.Check{Status: results.Skip, Evidence: "its scenario did not run"}
	}
	c.Scenario = sc.Name
	if n > 0 {
		c.Status, c.Evidence = results.Fail, fmt.Sprintf("%d %s%s", n, what, ErrorList(sc.Errors))
	}
	return c
}

// Verdict is [results.Pass] when ok, else [results.Fail].
func Verdict(ok bool) string {
	if ok {
		return results.Pass
	}
	return results.Fail
}

// FormatMS renders a duration in milliseconds for evidence: "1.50s",
// "42ms", "3.20ms", "50µs"; "n/a" for NaN.
func FormatMS(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0fms", v)
	case v < 0.1:
		return fmt.Sprintf("%.0fµs", v*1000)
	}
	return fmt.Sprintf("%.2fms", v)
}

// ErrorList renders error counts for evidence, sorted:
// "; errors: close:1011 x2, timeout x1"; "" when there are none.
func ErrorList(errs map[string]int64) string {
	if len(errs) == 0 {
		return ""
	}
	var parts []string
	for k, v := range errs {
		parts = append(parts, fmt.Sprintf("%s x%d", k, v))
	}
	return "; errors: " + strings.Join(sortStrings(parts), ", ")
}

// FormatMiB renders bytes in MiB for evidence: "12.5 MiB".
func FormatMiB(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// FirstSample returns the first of sc's samples whose kind starts with one
// of kinds, as evidence ("kind: detail | frame: ..."), or "".
func FirstSample(sc *results.Scenario, kinds ...string) string {
	for _, s := range sc.Samples {
		for _, k := range kinds {
			if strings.HasPrefix(s.Kind, k) {
				out := s.Kind + ": " + s.Detail
				if s.Frame != "" {
					out += " | frame: " + s.Frame
				}
				return out
			}
		}
	}
	return ""
}
