package baseline

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Describe writes one line about a baseline: its name, date, environment
// and settings.
func (b *Baseline) Describe() string {
	var parts []string
	if b.Name != "" {
		parts = append(parts, fmt.Sprintf("%q", b.Name))
	}
	parts = append(parts, b.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
	env := "goldenpath " + b.Env.Goldenpath
	if b.Env.Go != "" {
		env += ", " + b.Env.Go
	}
	if b.Env.CPUs > 0 {
		env += fmt.Sprintf(", %d CPUs", b.Env.CPUs)
	}
	parts = append(parts, env)
	tgt := b.Env.TargetURL
	if b.Env.Embedded {
		tgt = "embedded reference backend"
		if b.Env.Faults != "" {
			tgt += " with --fault " + b.Env.Faults
		}
	}
	if b.Env.TargetVersion != "" {
		tgt += " version " + b.Env.TargetVersion
	}
	if tgt != "" {
		parts = append(parts, "target "+tgt)
	}
	parts = append(parts, fmt.Sprintf("%d rounds of %d users for %s, bursts of %d", b.Rounds, b.Settings.Users, b.Settings.Round, b.Settings.BurstUsers))
	return strings.Join(parts, "; ")
}

// WriteTable writes the comparison as benchstat does: one row per metric
// with each side's median and the spread of its 95% confidence interval,
// the change (or "~" when it is not significant), the p-value and sample
// sizes, and the verdict; then the thresholds, any warnings, and a summary
// line.
func WriteTable(w io.Writer, c *Comparison) {
	if c.Old != nil {
		fmt.Fprintf(w, "old: %s\n", c.Old.Describe())
	}
	if c.New != nil {
		fmt.Fprintf(w, "new: %s\n", c.New.Describe())
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMETRIC\tOLD\tNEW\tDELTA\tP\tN\tVERDICT")
	for _, r := range c.Rows {
		n := fmt.Sprintf("n=%d", r.Old.N)
		if r.Old.N != r.New.N {
			n = fmt.Sprintf("n=%d+%d", r.Old.N, r.New.N)
		}
		v := string(r.Verdict)
		switch {
		case r.Verdict == Regression:
			v += " (limit " + r.LimitString() + ")"
		case r.Unconfirmed:
			v += " (regressed in one set of rounds only)"
		case r.BelowFloor:
			v += " (moved less than " + floorString(c.Thresholds.FloorMS) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tp=%.3f\t%s\t%s\n", r.Name, side(r.Info, r.Old), side(r.Info, r.New), r.DeltaString(), r.P, n, v)
	}
	tw.Flush()
	t := c.Thresholds
	fmt.Fprintf(w, "\nthresholds: latency +%s, response time and bursts +%s, memory and CPU +%s, error rate +%g points, throughput -%s; latencies move at least %s; alpha %g (Mann-Whitney U)\n",
		pct(t.Latency), pct(t.Response), pct(t.Memory), t.ErrorPoints, pct(t.Latency), floorString(t.FloorMS), t.Alpha)
	if c.Confirm > 0 {
		fmt.Fprintf(w, "confirmed: a regression must show in rounds 1-%d and again in rounds %d-%d, each set judged on its own\n", c.Confirm, c.Confirm+1, 2*c.Confirm)
	}
	for _, warn := range c.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	if len(c.Rows) > 0 && allInconclusive(c.Rows) {
		fmt.Fprintf(w, "warning: too few rounds: no change can be significant at alpha %g (take at least %d rounds a side)\n", t.Alpha, roundsFor(t.Alpha))
	}
	fmt.Fprintln(w, Summary(c.Rows))
}

// Summary is one line: the regressions and improvements flagged, or that
// there were none.
func Summary(rows []Row) string {
	var reg, imp []string
	for _, r := range rows {
		switch r.Verdict {
		case Regression:
			reg = append(reg, fmt.Sprintf("%s %s", r.Name, r.DeltaString()))
		case Improvement:
			imp = append(imp, fmt.Sprintf("%s %s", r.Name, r.DeltaString()))
		}
	}
	var s string
	switch len(reg) {
	case 0:
		s = "no regression in 1 metric"
		if len(rows) != 1 {
			s = fmt.Sprintf("no regression in %d metrics", len(rows))
		}
	case 1:
		s = "1 regression: " + reg[0]
	default:
		s = fmt.Sprintf("%d regressions: %s", len(reg), strings.Join(reg, ", "))
	}
	switch len(imp) {
	case 0:
	case 1:
		s += "; 1 improvement: " + imp[0]
	default:
		s += fmt.Sprintf("; %d improvements: %s", len(imp), strings.Join(imp, ", "))
	}
	return s
}

func side(in Info, s Stat) string { return in.Format(s.Median) + " ± " + s.Spread }

func allInconclusive(rows []Row) bool {
	for _, r := range rows {
		if !r.Inconclusive {
			return false
		}
	}
	return true
}

// roundsFor is the fewest values a side needs (with as many on the other)
// for a difference to reach alpha.
func roundsFor(alpha float64) int {
	for n := 1; n < 50; n++ {
		if minP(n, n) <= alpha {
			return n
		}
	}
	return 50
}
