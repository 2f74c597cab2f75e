package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/trend"
)

// A figure is one chart of the HTML report, or why it is absent, and the
// section of the page it belongs to.
type figure struct {
	Title  string
	Chart  *chart
	Absent string
	Group  string // a figureGroups key; "" for the phase chart under the SLA table
}

// figureGroups are the page's sections of charts, in page order: id and
// heading.
var figureGroups = [][2]string{
	{"over-time", "Load and latency over time"},
	{"distribution", "Latency distribution"},
	{"traffic", "Traffic and errors"},
	{"capacity", "Capacity, memory and regression"},
}

// maxSteps bounds the points of a time chart: a longer run is drawn in
// buckets of several seconds.
const maxSteps = 600

// figures builds every chart of the HTML report, in page order.
func figures(a *analysis) []figure {
	r := a.r
	tl := newTimeline(r)
	noSeries := func(what string) string {
		return "The results hold no per-second " + what + " (results written before goldenpath kept them, or no journey ran)."
	}
	return []figure{
		{"Latency percentiles per phase", phaseChart(a), "No phase was measured.", ""},
		{"Active users over time", tl.activeChart(), noSeries("count of users in a journey"), "over-time"},
		{"Throughput over time", tl.throughputChart(), noSeries("journey counts"), "over-time"},
		{"Journey latency over time", tl.latencyChart(a.rules, "journey", "chart-latency-time", "Journey latency over time"), noSeries("journey latencies"), "over-time"},
		{"First event latency over time", tl.latencyChart(a.rules, "first_event", "chart-first-event-time", "First event latency over time (request to agent_started)"),
			noSeries("first_event latencies"), "over-time"},
		{"Login latency over time", tl.latencyChart(a.rules, "login", "chart-login-time", "Login latency over time"), noSeries("login latencies"), "over-time"},
		{"Latency distribution", distributionChart(a), "No journey, first_event or login latency was measured.", "distribution"},
		{"HTTP replies by status", httpChart(r), "The results count no HTTP reply (results written before goldenpath counted them, or no journey ran).", "traffic"},
		{"WebSocket messages by type", wsChart(r), "The results count no WebSocket message (results written before goldenpath counted them, or no journey opened a socket).", "traffic"},
		{"Errors by kind", errorsChart(r), "No journey failed and the oracle found no violation.", "traffic"},
		{"Users vs latency (capacity search)", capacityChart(r, a.rules), "The capacity search did not run (--max-users 0, or a segmented run).", "capacity"},
		{"Target memory over time", memoryChart(r, tl), "The target's memory was not watched: it was neither goldenpath's child process nor served /metrics.", "capacity"},
		{"Regression comparison", regressionChart(r), regressionAbsent(r), "capacity"},
	}
}

func phaseChart(a *analysis) *chart {
	rows := a.phases
	lo, hi := math.Inf(1), 0.0
	var over []string
	for _, p := range rows {
		for _, v := range []float64{p.sum.p50, p.sum.p95, p.sum.p99, p.sum.judgedLimit} {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		if p.sum.judgedLimit > 0 && p.sum.judged >= p.sum.judgedLimit {
			over = append(over, p.name)
		}
	}
	if hi == 0 {
		return nil
	}
	lo, hi = lo/1.5, hi*1.5
	const rowH = 26.0
	c := newChart("chart-phases", "Latency percentiles per phase against their SLA", rowH*float64(len(rows)), 170)
	sx := c.xScale(lo, hi, true)
	c.xAxis(sx, logTicks(lo, hi), fmtLatencyTick, "latency (log scale)")
	withRule := 0
	for i, p := range rows {
		y0 := c.Plot.Y + float64(i)*rowH
		for k, b := range []struct {
			stat, class string
			v           float64
		}{{"p50", "s1", p.sum.p50}, {"p95", "s2", p.sum.p95}, {"p99", "s3", p.sum.p99}} {
			x1 := sx.at(math.Max(b.v, lo))
			c.Bars = append(c.Bars, box{X: c.Plot.X, Y: y0 + 3 + float64(k)*7, W: math.Max(x1-c.Plot.X, 1), H: 6, Class: b.class,
				Tip: fmt.Sprintf("%s %s %s over %d samples", p.name, b.stat, fmtLatency(b.v), p.sum.count)})
		}
		class := "cat"
		if slices.Contains(over, p.name) {
			class = "cat bad"
		}
		c.Labels = append(c.Labels, label{X: c.Plot.X - 8, Y: y0 + rowH/2 + 4, Text: clip(p.name, 26), Anchor: "end", Class: class})
		if p.sum.judgedLimit > 0 {
			withRule++
			x := sx.at(p.sum.judgedLimit)
			c.Refs = append(c.Refs, segment{X1: x, Y1: y0 + 1, X2: x, Y2: y0 + rowH - 1, Class: "sla", Tip: "SLA " + p.rule})
		}
	}
	c.legend(legendEntry{Class: "s1", Text: "p50"}, legendEntry{Class: "s2", Text: "p95"}, legendEntry{Class: "s3", Text: "p99"},
		legendEntry{Class: "sla", Text: "SLA limit", Line: true})
	c.Desc = fmt.Sprintf("p50, p95 and p99 latency of %d phases on a log scale, with the SLA limit of the %d phases that have one.", len(rows), withRule)
	if len(over) > 0 {
		c.Desc += " Over their limit: " + strings.Join(over, ", ") + "."
	}
	c.Note = "Phases of all scenarios together."
	if a.phaseSource != "" {
		c.Note = "Phases of scenario " + a.phaseSource + ", the one the SLA checks judge."
	}
	return c
}

func errorsChart(r *Results) *chart {
	totals := map[string]int64{}
	for _, sc := range r.Scenarios {
		for k, v := range sc.Errors {
			totals[k] += v
		}
		for k, v := range sc.Violations {
			totals[results.CounterViolationPrefix+k] += v
		}
	}
	var bars []hbar
	for k, v := range totals {
		if v > 0 {
			bars = append(bars, hbar{name: k, v: float64(v), class: "bad", tip: fmt.Sprintf("%s: %d", k, v)})
		}
	}
	if len(bars) == 0 {
		return nil
	}
	slices.SortFunc(bars, func(x, y hbar) int { return cmp.Or(cmp.Compare(y.v, x.v), strings.Compare(x.name, y.name)) })
	n := len(bars)
	if n > 20 {
		bars = bars[:20]
	}
	c := hbarChart("chart-errors", "Errors by kind", bars, fmtCount, "failed journeys (error classes) and violations found", 0, "")
	c.Desc = fmt.Sprintf("%d kinds of error and violation over all scenarios; the most frequent is %s (%s).", n, bars[0].name, fmtCount(bars[0].v))
	if n > 20 {
		c.Note = fmt.Sprintf("The 20 most frequent of %d kinds.", n)
	}
	return c
}

func capacityChart(r *Results, rules map[string]Rule) *chart {
	if r.Capacity == nil || len(r.Capacity.Steps) == 0 {
		return nil
	}
	steps := slices.Clone(r.Capacity.Steps)
	slices.SortFunc(steps, func(x, y CapacityStep) int { return cmp.Compare(x.Users, y.Users) })
	yMax, uMax := 0.0, 0
	for _, s := range steps {
		yMax, uMax = math.Max(yMax, s.JourneyP95), max(uMax, s.Users)
	}
	limit, rule := phaseLimit(rules, "journey")
	showLimit := limit > 0 && limit <= 3*yMax
	if showLimit {
		yMax = math.Max(yMax, limit)
	}
	c := newChart("chart-capacity", "Users vs journey latency (capacity search)", 240, 70)
	xt, x0, x1 := countUnit.ticks(0, float64(uMax), 8)
	sx := c.xScale(x0, x1, false)
	yu := latencyUnit(math.Max(yMax*1.05, 1))
	yt, y0, y1 := yu.ticks(0, math.Max(yMax*1.05, 1), 5)
	sy := c.yScale(y0, y1)
	c.xAxis(sx, xt, countUnit.format, "concurrent users")
	c.yAxis(sy, yt, yu.format, yu.title("journey p95"))
	var xs, ys []float64
	for _, s := range steps {
		xs, ys = append(xs, float64(s.Users)), append(ys, s.JourneyP95)
		class, verdict := "held", "held"
		if !s.Held {
			class, verdict = "broke", "broke: "+s.Reason
		}
		c.Dots = append(c.Dots, dot{X: sx.at(float64(s.Users)), Y: sy.at(s.JourneyP95), R: 5, Class: class,
			Tip: fmt.Sprintf("%d users: journey p95 %s, %.1f journeys/s, error rate %.1f%% — %s", s.Users, fmtLatency(s.JourneyP95), s.Throughput, s.ErrorRate*100, verdict)})
	}
	c.Paths = append(c.Paths, path{D: polyline(xs, ys, sx, sy), Class: "line s2", Tip: "journey p95 by users"})
	c.legend(legendEntry{Class: "s2", Text: "journey p95", Line: true}, legendEntry{Class: "held", Text: "held"},
		legendEntry{Class: "broke", Text: "broke"}, legendEntry{Class: "sla", Text: "SLA limit", Line: true})
	if showLimit {
		y := sy.at(limit)
		c.Refs = append(c.Refs, segment{X1: c.Plot.X, Y1: y, X2: c.Plot.X + c.Plot.W, Y2: y, Class: "sla", Tip: "SLA " + rule})
	} else if limit > 0 {
		c.Note = fmt.Sprintf("The SLA (%s) is far above the chart.", rule)
	}
	c.Desc = fmt.Sprintf("Journey p95 at each of %d steps of the capacity search: held %d users", len(steps), r.Capacity.Held)
	if r.Capacity.Broke > 0 {
		c.Desc += fmt.Sprintf(", broke at %d", r.Capacity.Broke)
	}
	c.Desc += "."
	return c
}

// trendPoints bounds the points given to Theil-Sen, which takes O(n²).
const trendPoints = 300

// memoryChart draws the target's memory on the run's clock, over the
// timeline's suite bands.
func memoryChart(r *Results, tl *timeline) *chart {
	pts := r.TargetMemory
	if len(pts) < 2 {
		return nil
	}
	const mib = 1 << 20
	shift := r.StartedAt.Sub(tl.origin).Seconds() // the points count from the start
	var xs, ys []float64                          // seconds on the timeline, MiB
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		xs, ys = append(xs, p.T+shift), append(ys, p.RSS/mib)
		lo, hi = math.Min(lo, p.RSS/mib), math.Max(hi, p.RSS/mib)
	}
	var tx, ty []float64
	stride := (len(pts) + trendPoints - 1) / trendPoints
	for i := 0; i < len(xs); i += stride {
		tx, ty = append(tx, xs[i]), append(ty, ys[i])
	}
	slope, icept, _, _ := trend.TheilSen(tx, ty, 0.95)
	trend := !math.IsNaN(slope)
	ta, tb := icept+slope*xs[0], icept+slope*xs[len(xs)-1]
	if trend {
		lo, hi = math.Min(lo, math.Min(ta, tb)), math.Max(hi, math.Max(ta, tb))
	}
	pad := math.Max((hi-lo)*0.1, 1)
	span := *tl
	span.t0, span.t1 = math.Min(tl.t0, xs[0]), math.Max(tl.t1, xs[len(xs)-1])
	c, sx, sy := span.frame("chart-memory", "Target memory over time", math.Max(lo-pad, 0), hi+pad, axisUnit{"MiB", 1, nil}, "resident memory")
	// A long run is drawn as the peak of every few samples.
	dx, dy := xs, ys
	if k := (len(xs) + maxSteps - 1) / maxSteps; k > 1 {
		dx, dy = nil, nil
		for i := 0; i < len(xs); i += k {
			j := i + slices.Index(ys[i:min(i+k, len(ys))], slices.Max(ys[i:min(i+k, len(ys))]))
			dx, dy = append(dx, xs[j]), append(dy, ys[j])
		}
		c.Note = fmt.Sprintf("Drawn as the peak of every %d samples. ", k)
	}
	c.Paths = append(c.Paths, path{D: polyline(dx, dy, sx, sy), Class: "line s1", Tip: "the target's resident memory (RSS)"})
	c.Desc = fmt.Sprintf("The target's resident memory over %s: from %s to %s, peak %s.",
		time.Duration((xs[len(xs)-1]-xs[0])*float64(time.Second)).Round(time.Second), fmtBytes(ys[0]*mib), fmtBytes(ys[len(ys)-1]*mib), fmtBytes(slices.Max(ys)*mib))
	entries := []legendEntry{{Class: "s1", Text: "RSS", Line: true}}
	if trend {
		perMin := fmt.Sprintf("%+.2f MiB/min", slope*60)
		c.Paths = append(c.Paths, path{D: polyline([]float64{xs[0], xs[len(xs)-1]}, []float64{ta, tb}, sx, sy), Class: "line trend",
			Tip: "Theil-Sen trend " + perMin})
		entries = append(entries, legendEntry{Class: "trend", Text: "Theil-Sen trend " + perMin, Line: true})
		c.Desc += " Theil-Sen trend " + perMin + "."
	}
	c.legend(entries...)
	c.Note += "The whole run, every suite; the memory suite judges leaks on its own cycles."
	return c
}

func regressionChart(r *Results) *chart {
	var bars []hbar
	for _, ch := range r.Checks {
		limit := math.Abs(ch.Threshold())
		if ch.Suite != "regression" || limit == 0 || ch.Status == Skip {
			continue
		}
		v := ch.Observed / limit * 100
		class := "ok"
		if ch.Status == Fail {
			class = "bad"
		}
		bars = append(bars, hbar{name: ch.Name, v: v, class: class,
			tip: fmt.Sprintf("%s: %s of a threshold of %s (%s)", ch.Name, fmtValue(ch.Observed, ch.Unit), fmtValue(limit, ch.Unit), ch.Status)})
	}
	if len(bars) == 0 {
		return nil
	}
	c := hbarChart("chart-regression", "Regression comparison", bars, func(v float64) string { return fmt.Sprintf("%.0f%%", v) },
		"change as a share of its threshold", 100, "the threshold")
	c.legend(legendEntry{Class: "ok", Text: "within"}, legendEntry{Class: "bad", Text: "regression"}, legendEntry{Class: "sla", Text: "threshold", Line: true})
	c.Desc = fmt.Sprintf("%d metrics of the regression suite, each as a share of its threshold.", len(bars))
	return c
}

// regressionAbsent says why there is no regression comparison: the suite
// did not run, or it ran and compared nothing — the first run of a
// baseline writes it, and says which.
func regressionAbsent(r *Results) string {
	var cmp *Scenario
	for i := range r.Scenarios {
		if sc := &r.Scenarios[i]; sc.Suite == "regression" && sc.Model == "comparison" {
			cmp = sc
		}
	}
	ran := cmp != nil
	for _, c := range r.Checks {
		ran = ran || c.Suite == "regression"
	}
	if !ran {
		return "These results carry no regression comparison: the regression suite did not run (--suite regression)."
	}
	detail := ""
	if cmp != nil {
		for _, s := range cmp.Samples {
			if s.Kind == "baseline" {
				detail = s.Detail
				break
			}
		}
	}
	switch {
	case cmp != nil && cmp.Metrics.Counters["state_first"] > 0:
		return "The regression suite ran and wrote its first baseline from this run's rounds, so there was nothing to compare them with yet: " + detail + "."
	case cmp != nil && cmp.Metrics.Counters["state_compared"] > 0:
		for _, c := range r.Checks {
			if c.Suite == "regression" {
				return "The regression suite ran and compared this run with its baseline, but judged no metric: " + c.Evidence + "."
			}
		}
	case detail != "":
		return "The regression suite ran but compared nothing: " + detail + "."
	}
	for _, c := range r.Checks {
		if c.Suite == "regression" {
			return "The regression suite ran but compared nothing: " + c.Evidence + "."
		}
	}
	return "The regression suite ran but compared nothing."
}
