package report

import (
	"fmt"
	"math"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// timeline places every scenario's per-second series on the run's clock.
type timeline struct {
	origin time.Time // second 0
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
	tl := &timeline{origin: origin, t0: math.Inf(1), t1: math.Inf(-1), bucket: 1}
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

// suiteBands is how many suites have a band colour of their own; more
// share them in turn (goldenpath has five).
const suiteBands = 5

// suiteSpan is the stretch of the run one suite's scenarios took, in a
// row: its scenarios from the first one's start to the last one's end.
type suiteSpan struct {
	suite  string
	class  string
	t0, t1 float64
}

// suiteSpans groups the timeline's scenarios into suites, in run order,
// each suite with its band class.
func (tl *timeline) suiteSpans() []suiteSpan {
	var spans []suiteSpan
	class := map[string]string{}
	for _, ts := range tl.scs {
		end := ts.offset + float64(len(ts.sc.Metrics.Series))
		if n := len(spans); n > 0 && spans[n-1].suite == ts.sc.Suite {
			spans[n-1].t1 = math.Max(spans[n-1].t1, end)
			continue
		}
		if _, ok := class[ts.sc.Suite]; !ok {
			class[ts.sc.Suite] = fmt.Sprintf("suite%d", len(class)%suiteBands)
		}
		spans = append(spans, suiteSpan{ts.sc.Suite, class[ts.sc.Suite], ts.offset, end})
	}
	return spans
}

// bandLabelPx is the width of a band label's character, in viewBox units
// (10 px text).
const bandLabelPx = 6.0

// frame lays out a time chart: one time unit on the x axis, chosen from
// the span, and the suites as shaded bands, each scenario a band of its
// suite's colour (its tooltip names it), each suite labelled on its band
// where the name fits and always in the legend under the axis.
func (tl *timeline) frame(id, title string, yMin, yMax float64, yUnit axisUnit, yTitle string) (*chart, scale, scale) {
	c := newChart(id, title, 240, 70)
	tu := timeUnit(tl.t1 - tl.t0)
	xt, x0, x1 := tu.ticks(tl.t0, tl.t1, 8)
	sx := c.xScale(x0, x1, false)
	yt, y0, y1 := yUnit.ticks(yMin, yMax, 5)
	sy := c.yScale(y0, y1)
	c.xAxis(sx, xt, tu.format, tu.title("time since the start of the run"))
	c.yAxis(sy, yt, yUnit.format, yUnit.title(yTitle))
	spans := tl.suiteSpans()
	classOf := map[string]string{}
	for _, s := range spans {
		classOf[s.suite] = s.class
	}
	for _, ts := range tl.scs {
		a, b := sx.at(ts.offset), sx.at(ts.offset+float64(len(ts.sc.Metrics.Series)))
		c.Bands = append(c.Bands, box{X: a, Y: c.Plot.Y, W: math.Max(b-a, 1), H: c.Plot.H, Class: classOf[ts.sc.Suite],
			Tip: fmt.Sprintf("scenario %s (%s suite): %d users, %d journeys, %d failed", ts.sc.Name, ts.sc.Suite, ts.sc.Users, ts.sc.Journeys, ts.sc.Failed)})
	}
	var legend []legendEntry
	seen := map[string]bool{}
	for _, s := range spans {
		a, b := sx.at(s.t0), sx.at(s.t1)
		if b-a >= bandLabelPx*float64(len([]rune(s.suite)))+6 {
			c.Labels = append(c.Labels, label{X: (a + b) / 2, Y: c.Plot.Y + 12, Text: s.suite, Anchor: "middle", Class: "band-label"})
		}
		if !seen[s.suite] {
			seen[s.suite] = true
			legend = append(legend, legendEntry{Class: s.class + " swatch", Text: s.suite + " suite"})
		}
	}
	c.footLegend(legend...)
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

// phaseLimit is the limit of the SLA rule on a phase's latency, in ms, and
// the rule; 0 and "" without one.
func phaseLimit(rules map[string]Rule, phase string) (float64, string) {
	if r, ok := rules[phase]; ok && r.Unit == results.UnitMS {
		return r.Limit, r.String()
	}
	return 0, ""
}

// latencyChart draws a series histogram's p50, p95 and p99 second by
// second, with the phase's SLA limit when the chart reaches near it.
func (tl *timeline) latencyChart(rules map[string]Rule, phase, id, title string) *chart {
	yMax := 0.0
	for _, ts := range tl.scs {
		for _, p := range ts.sc.Metrics.Series {
			if l, ok := p.Latency[phase]; ok && l.Count > 0 {
				yMax = math.Max(yMax, l.P99)
			}
		}
	}
	if yMax == 0 {
		return nil
	}
	limit, rule := phaseLimit(rules, phase)
	showLimit := limit > 0 && limit <= 3*yMax
	if showLimit {
		yMax = math.Max(yMax, limit)
	}
	c, sx, sy := tl.frame(id, title, 0, yMax*1.05, latencyUnit(yMax*1.05), phase+" latency")
	lines := []*stepPath{{}, {}, {}}
	for _, ts := range tl.scs {
		tl.steps(ts, func(t float64, idx []int) {
			worst := []float64{math.NaN(), math.NaN(), math.NaN()}
			for _, k := range idx {
				if l, ok := ts.sc.Metrics.Series[k].Latency[phase]; ok && l.Count > 0 {
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
		c.Paths = append(c.Paths, path{D: lines[j].b.String(), Class: fmt.Sprintf("line s%d", j+1), Tip: phase + " " + stat + " per second"})
	}
	entries := []legendEntry{{Class: "s1", Text: "p50", Line: true}, {Class: "s2", Text: "p95", Line: true}, {Class: "s3", Text: "p99", Line: true}}
	switch {
	case showLimit:
		y := sy.at(limit)
		c.Refs = append(c.Refs, segment{X1: c.Plot.X, Y1: y, X2: c.Plot.X + c.Plot.W, Y2: y, Class: "sla", Tip: "SLA " + rule})
		entries = append(entries, legendEntry{Class: "sla", Text: "SLA limit", Line: true})
	case limit > 0:
		c.Note += fmt.Sprintf("The SLA (%s) is far above the chart. ", rule)
	}
	c.legend(entries...)
	c.Desc = fmt.Sprintf("%s latency p50, p95 and p99 per second over %d scenarios; the worst second's p99 is %s.", phase, len(tl.scs), fmtLatency(yMax))
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
	c, sx, sy := tl.frame("chart-throughput-time", "Throughput over time", 0, math.Max(yMax*1.05, 1), countUnit, "journeys per second")
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

// activeChart draws the users in a journey each second (the gauge
// active_users: each second's highest reading, each step's highest
// second), and beside it each scenario's users.
func (tl *timeline) activeChart() *chart {
	type step struct {
		t     float64
		n     int
		users float64
	}
	var all [][]step
	yMax, peak := 0.0, 0.0
	var with []timedScenario
	for _, ts := range tl.scs {
		has := false
		for _, p := range ts.sc.Metrics.Series {
			has = has || p.Gauges[results.GaugeActiveUsers] > 0
		}
		if !has {
			continue
		}
		with = append(with, ts)
		var s []step
		tl.steps(ts, func(t float64, idx []int) {
			v := 0.0
			for _, k := range idx {
				v = math.Max(v, float64(ts.sc.Metrics.Series[k].Gauges[results.GaugeActiveUsers]))
			}
			peak = math.Max(peak, v)
			s = append(s, step{t, len(idx), v})
		})
		all = append(all, s)
		yMax = math.Max(yMax, math.Max(peak, float64(ts.sc.Users)))
	}
	if len(with) == 0 {
		return nil
	}
	c, sx, sy := tl.frame("chart-active-users", "Active users over time", 0, math.Max(yMax*1.05, 4), countUnit, "users")
	var active, users stepPath
	for i, ts := range with {
		for _, s := range all[i] {
			active.add(sx.at(s.t), sx.at(s.t+float64(s.n)), sy.at(s.users))
		}
		active.brk()
		users.add(sx.at(ts.offset), sx.at(ts.offset+float64(len(ts.sc.Metrics.Series))), sy.at(float64(ts.sc.Users)))
		users.brk()
	}
	c.Paths = append(c.Paths, path{D: users.b.String(), Class: "line target", Tip: "the scenario's users (open model: its cap on journeys at once)"},
		path{D: active.b.String(), Class: "line s1", Tip: "users in a journey, each second's most"})
	c.legend(legendEntry{Class: "s1", Text: "users in a journey", Line: true}, legendEntry{Class: "target", Text: "the scenario's users", Line: true})
	c.Desc = fmt.Sprintf("Users in a journey each second over %d scenarios, against each scenario's users; at most %s at once.", len(with), fmtCount(peak))
	c.Note += "A user thinking or backing off between journeys is not in one. Scenarios that drive their own clients (race cleanup and database, the memory cycles) are not drawn."
	return c
}
