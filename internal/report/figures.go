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

// A figure is one chart of the HTML report, or why it is absent.
type figure struct {
	Title  string
	Chart  *chart
	Absent string
}

// maxSteps bounds the points of a time chart: a longer run is drawn in
// buckets of several seconds.
const maxSteps = 600

// figures builds every chart of the HTML report, in page order.
func figures(a *analysis) []figure {
	r := a.r
	tl := newTimeline(r)
	return []figure{
		{"Latency percentiles per phase", phaseChart(a), "No phase was measured."},
		{"Journey latency over time", tl.latencyChart(a.rules), "The results hold no per-second journey latencies."},
		{"Throughput over time", tl.throughputChart(), "The results hold no per-second journey counts."},
		{"Errors by kind", errorsChart(r), "No journey failed and the oracle found no violation."},
		{"Users vs latency (capacity search)", capacityChart(r, a.rules), "The capacity search did not run (--max-users 0, or a segmented run)."},
		{"Target memory over time", memoryChart(r), "The target's memory was not watched: it was neither goldenpath's child process nor served /metrics."},
		{"Regression comparison", regressionChart(r), "These results carry no regression comparison: the regression suite did not run."},
	}
}

// journeyLimit is the limit of the SLA rule on the journey's latency, in
// ms, and the rule; 0 and "" without one.
func journeyLimit(rules map[string]Rule) (float64, string) {
	if r, ok := rules["journey"]; ok && r.Unit == results.UnitMS {
		return r.Limit, r.String()
	}
	return 0, ""
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

// timeline places every scenario's per-second series on the run's clock.
type timeline struct {
	scs    []timedScenario
	t0, t1 float64 // the span, in seconds from the origin
	bucket int     // seconds per step
}

type timedScenario struct {
	sc     *Scenario
	offset float64 // of its series start from the origin, seconds
}

func newTimeline(r *Results) *timeline {
	origin := r.StartedAt.Truncate(time.Second)
	for _, sc := range r.Scenarios {
		if len(sc.Metrics.Series) > 0 && (origin.IsZero() || sc.Metrics.SeriesStart.Before(origin)) {
			origin = sc.Metrics.SeriesStart
		}
	}
	tl := &timeline{t0: math.Inf(1), t1: math.Inf(-1), bucket: 1}
	for i := range r.Scenarios {
		sc := &r.Scenarios[i]
		if len(sc.Metrics.Series) == 0 {
			continue
		}
		off := sc.Metrics.SeriesStart.Sub(origin).Seconds()
		tl.scs = append(tl.scs, timedScenario{sc, off})
		tl.t0 = math.Min(tl.t0, off)
		tl.t1 = math.Max(tl.t1, off+float64(len(sc.Metrics.Series)))
	}
	if span := tl.t1 - tl.t0; span > maxSteps {
		tl.bucket = int(math.Ceil(span / maxSteps))
	}
	return tl
}

// frame lays out a time chart with the scenarios as shaded bands.
func (tl *timeline) frame(id, title string, yMax float64, yFormat func(float64) string, yTitle string) (*chart, scale, scale) {
	c := newChart(id, title, 240, 70)
	xt, x0, x1 := niceTicks(tl.t0, tl.t1, 8)
	sx := c.xScale(x0, x1, false)
	yt, y0, y1 := niceTicks(0, yMax, 5)
	sy := c.yScale(y0, y1)
	c.xAxis(sx, xt, fmtSeconds, "time since the start of the run")
	c.yAxis(sy, yt, yFormat, yTitle)
	for i, ts := range tl.scs {
		a, b := sx.at(ts.offset), sx.at(ts.offset+float64(len(ts.sc.Metrics.Series)))
		c.Bands = append(c.Bands, box{X: a, Y: c.Plot.Y, W: math.Max(b-a, 1), H: c.Plot.H, Class: fmt.Sprintf("band%d", i%2),
			Tip: fmt.Sprintf("scenario %s (%s): %d journeys, %d failed", ts.sc.Name, ts.sc.Suite, ts.sc.Journeys, ts.sc.Failed)})
		if b-a >= 6.5*float64(len(ts.sc.Name)) {
			c.Labels = append(c.Labels, label{X: (a + b) / 2, Y: c.Plot.Y + 12, Text: ts.sc.Name, Anchor: "middle", Class: "band-label"})
		}
	}
	if tl.bucket > 1 {
		c.Note = fmt.Sprintf("One step per %d seconds. ", tl.bucket)
	}
	return c, sx, sy
}

// steps calls fn for each step of a scenario: its start time and the
// seconds it covers.
func (tl *timeline) steps(ts timedScenario, fn func(t float64, pts []int)) {
	n := len(ts.sc.Metrics.Series)
	w := tl.bucket
	for i := 0; i < n; {
		// Align buckets on the run's clock, not the scenario's.
		abs := int(ts.offset-tl.t0) + i
		end := min(n, i+w-abs%w)
		idx := make([]int, 0, end-i)
		for k := i; k < end; k++ {
			idx = append(idx, k)
		}
		fn(ts.offset+float64(i), idx)
		i = end
	}
}

func (tl *timeline) latencyChart(rules map[string]Rule) *chart {
	yMax := 0.0
	for _, ts := range tl.scs {
		for _, p := range ts.sc.Metrics.Series {
			if l, ok := p.Latency["journey"]; ok && l.Count > 0 {
				yMax = math.Max(yMax, l.P99)
			}
		}
	}
	if yMax == 0 {
		return nil
	}
	limit, rule := journeyLimit(rules)
	showLimit := limit > 0 && limit <= 3*yMax
	if showLimit {
		yMax = math.Max(yMax, limit)
	}
	c, sx, sy := tl.frame("chart-latency-time", "Journey latency over time", yMax*1.05, fmtLatencyTick, "journey latency")
	lines := []*stepPath{{}, {}, {}}
	for _, ts := range tl.scs {
		tl.steps(ts, func(t float64, idx []int) {
			worst := []float64{math.NaN(), math.NaN(), math.NaN()}
			for _, k := range idx {
				if l, ok := ts.sc.Metrics.Series[k].Latency["journey"]; ok && l.Count > 0 {
					for j, v := range []float64{l.P50, l.P95, l.P99} {
						if math.IsNaN(worst[j]) || v > worst[j] {
							worst[j] = v
						}
					}
				}
			}
			for j, l := range lines {
				y := math.NaN()
				if !math.IsNaN(worst[j]) {
					y = sy.at(worst[j])
				}
				l.add(sx.at(t), sx.at(t+float64(len(idx))), y)
			}
		})
		for _, l := range lines {
			l.brk()
		}
	}
	for j, stat := range []string{"p50", "p95", "p99"} {
		c.Paths = append(c.Paths, path{D: lines[j].b.String(), Class: fmt.Sprintf("line s%d", j+1), Tip: "journey " + stat + " per second"})
	}
	c.legend(legendEntry{Class: "s1", Text: "p50", Line: true}, legendEntry{Class: "s2", Text: "p95", Line: true},
		legendEntry{Class: "s3", Text: "p99", Line: true}, legendEntry{Class: "sla", Text: "SLA limit", Line: true})
	switch {
	case showLimit:
		y := sy.at(limit)
		c.Refs = append(c.Refs, segment{X1: c.Plot.X, Y1: y, X2: c.Plot.X + c.Plot.W, Y2: y, Class: "sla", Tip: "SLA " + rule})
	case limit > 0:
		c.Note += fmt.Sprintf("The SLA (%s) is far above the chart. ", rule)
	}
	c.Desc = fmt.Sprintf("Journey latency p50, p95 and p99 per second over %d scenarios; the worst second's p99 is %s.", len(tl.scs), fmtLatency(yMax))
	if tl.bucket > 1 {
		c.Note += "Each step shows its worst second."
	}
	return c
}

func (tl *timeline) throughputChart() *chart {
	type rate struct{ ok, failed float64 }
	var steps [][]rate
	yMax, seen := 0.0, false
	for _, ts := range tl.scs {
		var s []rate
		tl.steps(ts, func(_ float64, idx []int) {
			var v rate
			for _, k := range idx {
				pc := ts.sc.Metrics.Series[k].Counters
				seen = seen || pc["journeys"] > 0 || pc["succeeded"] > 0 || pc["failed"] > 0
				v.ok += float64(pc["succeeded"]) / float64(len(idx))
				v.failed += float64(pc["failed"]) / float64(len(idx))
			}
			yMax = math.Max(yMax, math.Max(v.ok, v.failed))
			s = append(s, v)
		})
		steps = append(steps, s)
	}
	if !seen {
		return nil
	}
	c, sx, sy := tl.frame("chart-throughput-time", "Throughput over time", math.Max(yMax*1.05, 1), fmtCount, "journeys per second")
	var ok, failed stepPath
	for i, ts := range tl.scs {
		k := 0
		tl.steps(ts, func(t float64, idx []int) {
			x0, x1 := sx.at(t), sx.at(t+float64(len(idx)))
			ok.add(x0, x1, sy.at(steps[i][k].ok))
			failed.add(x0, x1, sy.at(steps[i][k].failed))
			k++
		})
		ok.brk()
		failed.brk()
	}
	c.Paths = append(c.Paths, path{D: ok.b.String(), Class: "line ok", Tip: "journeys completed per second"},
		path{D: failed.b.String(), Class: "line bad", Tip: "journeys failed per second"})
	c.legend(legendEntry{Class: "ok", Text: "succeeded", Line: true}, legendEntry{Class: "bad", Text: "failed", Line: true})
	c.Desc = fmt.Sprintf("Journeys that succeeded and failed per second over %d scenarios; the busiest second saw %s.", len(tl.scs), fmtCount(yMax))
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
	limit, rule := journeyLimit(rules)
	showLimit := limit > 0 && limit <= 3*yMax
	if showLimit {
		yMax = math.Max(yMax, limit)
	}
	c := newChart("chart-capacity", "Users vs journey latency (capacity search)", 240, 70)
	xt, x0, x1 := niceTicks(0, float64(uMax), 8)
	sx := c.xScale(x0, x1, false)
	yt, y0, y1 := niceTicks(0, math.Max(yMax*1.05, 1), 5)
	sy := c.yScale(y0, y1)
	c.xAxis(sx, xt, fmtCount, "concurrent users")
	c.yAxis(sy, yt, fmtLatencyTick, "journey p95")
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

func memoryChart(r *Results) *chart {
	pts := r.TargetMemory
	if len(pts) < 2 {
		return nil
	}
	const mib = 1 << 20
	var xs, ys []float64 // seconds, MiB
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		xs, ys = append(xs, p.T), append(ys, p.RSS/mib)
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
	c := newChart("chart-memory", "Target memory over time", 240, 70)
	xt, x0, x1 := niceTicks(xs[0], xs[len(xs)-1], 8)
	sx := c.xScale(x0, x1, false)
	yt, y0, y1 := niceTicks(math.Max(lo-pad, 0), hi+pad, 5)
	sy := c.yScale(y0, y1)
	c.xAxis(sx, xt, fmtSeconds, "time since the start of the run")
	c.yAxis(sy, yt, fmtCount, "resident memory (MiB)")
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
		fmtSeconds(xs[len(xs)-1]-xs[0]), fmtBytes(ys[0]*mib), fmtBytes(ys[len(ys)-1]*mib), fmtBytes(slices.Max(ys)*mib))
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
