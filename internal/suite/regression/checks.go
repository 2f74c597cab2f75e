package regression

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/baseline"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// regressionCheckGroups are the seed's checks, each judging the metrics of its
// groups (see baseline.Catalog for which metric is in which group).
var regressionCheckGroups = []struct {
	name   string
	groups []baseline.Group
}{
	{"golden_path_performance_baseline", []baseline.Group{baseline.GroupGoldenPath}},
	{"websocket_performance_regression", []baseline.Group{baseline.GroupWebSocket}},
	{"agent_execution_performance_regression", []baseline.Group{baseline.GroupAgent}},
	{"database_performance_regression", []baseline.Group{baseline.GroupDatabase}},
	{"configuration_performance_regression", []baseline.Group{baseline.GroupConfig}},
	{"memory_performance_regression", []baseline.Group{baseline.GroupMemory}},
	{"concurrent_performance_regression", []baseline.Group{baseline.GroupConcurrency}},
	{"resource_utilization_regression", []baseline.Group{baseline.GroupMemory, baseline.GroupResource}},
}

// CheckNames lists the regression suite's checks in order.
func CheckNames() []string {
	var out []string
	for _, c := range regressionCheckGroups {
		out = append(out, c.name)
	}
	return out
}

// comparison is a comparison scenario read back.
type comparison struct {
	state    string
	copies   int64  // segments merged into the scenario
	split    int    // values a side in the first set of rounds; 0: not confirmed
	detail   string // the sample describing the baseline or the state
	notes    []string
	old, new map[string][]float64
	t        baseline.Thresholds
}

// readComparison decodes a comparison scenario ([ComparisonScenario]).
func readComparison(sc *results.Scenario) comparison {
	c := sc.Metrics.Counters
	copies := max(c[counterCopies], 1)
	get := func(name string) float64 { return float64(c[name]) / float64(copies) / baseline.CounterScale }
	out := comparison{
		copies: copies,
		split:  int(c[counterConfirm] / copies),
		old:    baseline.DecodeSamples(prefixOld, c, copies),
		new:    baseline.DecodeSamples(prefixNew, c, copies),
		t: baseline.Thresholds{Latency: get(counterLatency), Response: get(counterResponse), Memory: get(counterMemory),
			ErrorPoints: get(counterErrorPts), FloorMS: get(counterFloorMS), Alpha: get(counterAlpha)},
	}
	for _, s := range []string{stateUnreadable, stateIncomparable, stateNotKept, stateFirst, stateCompared} {
		if c[s] > 0 {
			out.state = s
			break
		}
	}
	for _, s := range sc.Samples {
		switch {
		case s.Kind == kindBaseline && out.detail == "":
			out.detail = s.Detail
		case s.Kind == kindBaselineNote && !slices.Contains(out.notes, s.Detail):
			out.notes = append(out.notes, s.Detail)
		}
	}
	return out
}

func regressionChecks(scs []results.Scenario, _ suite.SLA) []results.Check {
	checks := make([]results.Check, len(regressionCheckGroups))
	for i, rc := range regressionCheckGroups {
		checks[i] = results.Check{Suite: Name, Name: rc.name, Scenario: ScenarioComparison}
	}
	skipAll := func(golden, others string) []results.Check {
		for i := range checks {
			checks[i].Status, checks[i].Evidence = results.Skip, others
		}
		checks[0].Evidence = golden
		return checks
	}
	cs := suite.Find(scs, ScenarioComparison)
	if cs == nil {
		if len(baseline.Rounds(scs)) == 0 {
			return skipAll("its scenarios did not run", "its scenarios did not run")
		}
		return skipAll("the run ended before its rounds were compared", "the run ended before its rounds were compared")
	}
	cmp := readComparison(cs)
	notes := ""
	if len(cmp.notes) > 0 {
		notes = "; " + strings.Join(cmp.notes, "; ")
	}
	switch cmp.state {
	case stateFirst:
		// Nothing was compared, so nothing passes: the first run's rounds
		// are what later runs are judged against.
		return skipAll("baseline written, nothing compared: "+cmp.detail+notes,
			"this run's rounds became the first baseline, so there was nothing to compare with (see golden_path_performance_baseline)")
	case stateUnreadable:
		skipAll(cmp.detail+notes, "the baseline could not be read (see golden_path_performance_baseline)")
		checks[0].Status = results.Fail
		return checks
	case stateCompared:
	default:
		return skipAll(cmp.detail+notes, cmp.detail)
	}
	newVals := baseline.Samples(scs)
	if len(newVals) == 0 {
		newVals = cmp.new
	}
	if cmp.copies > 1 {
		// Every segment watched the same target: merging added up their
		// figures of its memory and CPU.
		for _, m := range []string{baseline.MetricPeakRSS, baseline.MetricCPU} {
			for i := range newVals[m] {
				newVals[m][i] /= float64(cmp.copies)
			}
		}
	}
	rows := baseline.CompareConfirmed(cmp.old, newVals, cmp.t, cmp.split)
	for i, rc := range regressionCheckGroups {
		var mine []baseline.Row
		for _, r := range rows {
			if slices.Contains(rc.groups, r.Group) {
				mine = append(mine, r)
			}
		}
		judgeRows(&checks[i], mine, rc.groups, cmp.t)
	}
	checks[0].Evidence += "; " + cmp.detail + notes
	if cmp.split > 0 {
		for i := range checks {
			if checks[i].Status != results.Skip {
				checks[i].Evidence += fmt.Sprintf("; confirmed: a regression must show in rounds 1-%d and again in rounds %d-%d", cmp.split, cmp.split+1, 2*cmp.split)
			}
		}
	}
	return checks
}

// judgeRows fails a check when one of its rows is a regression, skips it
// when it has no rows or none could be significant, and passes it
// otherwise; Observed is the change of the row that moved furthest the
// worse way (a fraction, or points for the error rate) and Rule its
// threshold.
func judgeRows(c *results.Check, rows []baseline.Row, groups []baseline.Group, t baseline.Thresholds) {
	if len(rows) == 0 {
		c.Status = results.Skip
		c.Evidence = fmt.Sprintf("no metric of %s was measured on both sides", groupList(groups))
		if slices.Contains(groups, baseline.GroupMemory) || slices.Contains(groups, baseline.GroupResource) {
			c.Evidence += " (the target's memory and CPU are watched only when it is goldenpath's child process or has a /metrics endpoint)"
		}
		return
	}
	inconclusive := true
	var reg, imp []string
	worst := -1
	for i, r := range rows {
		inconclusive = inconclusive && r.Inconclusive
		switch r.Verdict {
		case baseline.Regression:
			reg = append(reg, rowText(r))
		case baseline.Improvement:
			imp = append(imp, rowText(r))
		}
		if worst < 0 || worseness(r) > worseness(rows[worst]) {
			worst = i
		}
	}
	w := rows[worst]
	c.Rule, c.Samples = changeRule(w), int64(w.New.N)
	c.Unit = c.Rule.Unit
	if !math.IsInf(w.Delta, 0) && !math.IsNaN(w.Delta) {
		c.Observed = w.Delta
	}
	switch {
	case len(reg) > 0:
		c.Status = results.Fail
		c.Evidence = fmt.Sprintf("%d of %s regressed: %s", len(reg), metricCount(len(rows)), strings.Join(reg, "; "))
	case inconclusive:
		c.Status = results.Skip
		c.Evidence = fmt.Sprintf("too few rounds: with %d and %d values no change can be significant at alpha %g — take at least 5 rounds a side (--rounds)", w.Old.N, w.New.N, t.Alpha)
		return
	default:
		c.Status = results.Pass
		if worseness(w) > 0 {
			c.Evidence = fmt.Sprintf("no regression in %s; the largest change the worse way: %s", metricCount(len(rows)), rowText(w))
		} else {
			c.Evidence = fmt.Sprintf("no regression in %s; none moved the worse way, the least gain: %s", metricCount(len(rows)), rowText(w))
		}
	}
	if len(imp) > 0 {
		c.Evidence += fmt.Sprintf("; %d improved: %s", len(imp), strings.Join(imp, "; "))
	}
}

// changeRule is the rule a row is judged by: its change from the
// baseline must not go the worse way beyond its threshold (a fraction, or
// points for the error rate).
func changeRule(r baseline.Row) *results.Rule {
	rule := &results.Rule{Metric: r.Name, Stat: "change", Op: "<=", Limit: r.Threshold, Unit: results.UnitRatio}
	if r.Kind == baseline.KindErrorRate {
		rule.Unit = "points"
	}
	if !r.Kind.HigherIsWorse() {
		rule.Op, rule.Limit = ">=", -r.Threshold
	}
	return rule
}

// worseness is how far a row moved the worse way, relative to its limit.
func worseness(r baseline.Row) float64 {
	d := r.Delta
	if !r.Kind.HigherIsWorse() {
		d = -d
	}
	if math.IsInf(d, 0) || math.IsNaN(d) {
		return d
	}
	return d / r.Threshold
}

func rowText(r baseline.Row) string {
	d := r.DeltaString()
	if !r.Significant {
		d = fmt.Sprintf("%+.1f%% ~", r.Delta*100)
		if r.Kind == baseline.KindErrorRate {
			d = fmt.Sprintf("%+.1f pts ~", r.Delta)
		}
	}
	n := fmt.Sprintf("n=%d", r.Old.N)
	if r.Old.N != r.New.N {
		n = fmt.Sprintf("n=%d+%d", r.Old.N, r.New.N)
	}
	text := fmt.Sprintf("%s %s (%s → %s, p=%.3f, %s, limit %s)", r.Name, d, r.Format(r.Old.Median), r.Format(r.New.Median), r.P, n, r.LimitString())
	if r.Unconfirmed {
		text += ", regressed in one set of rounds only"
	}
	return text
}

func groupList(gs []baseline.Group) string {
	var s []string
	for _, g := range gs {
		s = append(s, string(g))
	}
	return strings.Join(s, " or ")
}

func metricCount(n int) string {
	if n == 1 {
		return "1 metric"
	}
	return fmt.Sprintf("%d metrics", n)
}
