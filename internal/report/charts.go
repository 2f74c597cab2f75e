package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A chart is the geometry of one SVG chart, in user units of its viewBox:
// the HTML template draws it, escaping every label, and the browser
// scales it. Classes name colours in the page's style sheet.
type chart struct {
	ID, Title, Desc string
	// Note is shown under the chart: what it summarises, what it leaves out.
	Note   string
	W, H   float64
	Plot   box
	Grid   []segment
	Labels []label
	Bands  []box
	Bars   []box
	Paths  []path
	Dots   []dot
	Refs   []segment
	Legend []legendEntry
}

type box struct {
	X, Y, W, H float64
	Class, Tip string
}

type segment struct {
	X1, Y1, X2, Y2 float64
	Class, Tip     string
}

type label struct {
	X, Y          float64
	Text, Anchor  string
	Class, Rotate string // Rotate: a transform, for a vertical axis title
}

type path struct{ D, Class, Tip string }

type dot struct {
	X, Y, R    float64
	Class, Tip string
}

type legendEntry struct {
	X, Y        float64
	Class, Text string
	Line        bool // a line sample rather than a filled square
}

// Chart layout, in viewBox units.
const (
	chartW      = 880.0
	marginRight = 24.0
	marginTop   = 34.0 // room for the legend
	marginBot   = 44.0
)

// newChart lays out a chart of the given plot height and left margin.
func newChart(id, title string, plotH, left float64) *chart {
	return &chart{ID: id, Title: title, W: chartW, H: marginTop + plotH + marginBot,
		Plot: box{X: left, Y: marginTop, W: chartW - left - marginRight, H: plotH}}
}

// scale maps a domain onto a pixel range, linearly or by log10.
type scale struct {
	d0, d1, r0, r1 float64
	log            bool
}

func (s scale) at(v float64) float64 {
	d0, d1 := s.d0, s.d1
	if s.log {
		v, d0, d1 = math.Log10(math.Max(v, s.d0)), math.Log10(d0), math.Log10(d1)
	}
	if d1 == d0 {
		return (s.r0 + s.r1) / 2
	}
	return s.r0 + (v-d0)/(d1-d0)*(s.r1-s.r0)
}

func (c *chart) xScale(d0, d1 float64, log bool) scale {
	return scale{d0: d0, d1: d1, r0: c.Plot.X, r1: c.Plot.X + c.Plot.W, log: log}
}

func (c *chart) yScale(d0, d1 float64) scale {
	return scale{d0: d0, d1: d1, r0: c.Plot.Y + c.Plot.H, r1: c.Plot.Y}
}

// niceTicks returns about n round values covering [lo, hi], and the
// domain they span.
func niceTicks(lo, hi float64, n int) (ticks []float64, d0, d1 float64) {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	d0, d1 = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	for v := d0; v <= d1+step/2; v += step {
		ticks = append(ticks, math.Round(v/step)*step)
	}
	return ticks, d0, d1
}

// logTicks returns the powers of ten in [lo, hi], with 2x and 5x between
// them when there are few (four decades or less).
func logTicks(lo, hi float64) []float64 {
	var out []float64
	e0, e1 := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	mult := []float64{1}
	if e1-e0 <= 4 {
		mult = []float64{1, 2, 5}
	}
	for e := e0; e <= e1; e++ {
		for _, m := range mult {
			if v := m * math.Pow(10, float64(e)); v >= lo && v <= hi {
				out = append(out, v)
			}
		}
	}
	return out
}

// xAxis draws vertical grid lines and labels at ticks, and the axis title.
func (c *chart) xAxis(s scale, ticks []float64, format func(float64) string, title string) {
	bottom := c.Plot.Y + c.Plot.H
	for _, t := range ticks {
		x := s.at(t)
		c.Grid = append(c.Grid, segment{X1: x, Y1: c.Plot.Y, X2: x, Y2: bottom, Class: "grid"})
		c.Labels = append(c.Labels, label{X: x, Y: bottom + 14, Text: format(t), Anchor: "middle", Class: "tick"})
	}
	c.Labels = append(c.Labels, label{X: c.Plot.X + c.Plot.W/2, Y: bottom + 34, Text: title, Anchor: "middle", Class: "axis"})
}

// yAxis draws horizontal grid lines and labels at ticks, and the axis title.
func (c *chart) yAxis(s scale, ticks []float64, format func(float64) string, title string) {
	for _, t := range ticks {
		y := s.at(t)
		c.Grid = append(c.Grid, segment{X1: c.Plot.X, Y1: y, X2: c.Plot.X + c.Plot.W, Y2: y, Class: "grid"})
		c.Labels = append(c.Labels, label{X: c.Plot.X - 6, Y: y + 4, Text: format(t), Anchor: "end", Class: "tick"})
	}
	x, y := 14.0, c.Plot.Y+c.Plot.H/2
	c.Labels = append(c.Labels, label{X: x, Y: y, Text: title, Anchor: "middle", Class: "axis",
		Rotate: fmt.Sprintf("rotate(-90 %s %s)", px(x), px(y))})
}

// legend lays entries out in a row above the plot.
func (c *chart) legend(entries ...legendEntry) {
	x := c.Plot.X
	for _, e := range entries {
		e.X, e.Y = x, 14
		c.Legend = append(c.Legend, e)
		x += 34 + 6.5*float64(len([]rune(e.Text)))
	}
}

// footLegend lays entries out in a row under the axis title, growing the
// chart to hold it: the key to a time chart's suite bands.
func (c *chart) footLegend(entries ...legendEntry) {
	if len(entries) == 0 {
		return
	}
	y := c.H + 6
	c.H += 22
	x := c.Plot.X
	for _, e := range entries {
		e.X, e.Y = x, y
		c.Legend = append(c.Legend, e)
		x += 34 + 6.5*float64(len([]rune(e.Text)))
	}
}

// stepPath draws per-second values as steps: each value holds for its
// second [t, t+w). A NaN value breaks the line.
type stepPath struct {
	b    strings.Builder
	open bool
}

func (p *stepPath) add(x0, x1, y float64) {
	if math.IsNaN(y) {
		p.open = false
		return
	}
	if p.open {
		fmt.Fprintf(&p.b, "L%s %s", px(x0), px(y))
	} else {
		fmt.Fprintf(&p.b, "M%s %s", px(x0), px(y))
	}
	fmt.Fprintf(&p.b, "L%s %s", px(x1), px(y))
	p.open = true
}

func (p *stepPath) brk() { p.open = false }

// polyline draws points joined by straight lines.
func polyline(xs, ys []float64, sx, sy scale) string {
	var b strings.Builder
	for i := range xs {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&b, "%s%s %s", cmd, px(sx.at(xs[i])), px(sy.at(ys[i])))
	}
	return b.String()
}

// px formats a coordinate with one decimal.
func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// hbars is a horizontal bar chart of named values, one row each.
type hbar struct {
	name, tip, class string
	v                float64
}

func hbarChart(id, title string, bars []hbar, format func(float64) string, axis string, ref float64, refTip string) *chart {
	const rowH = 22.0
	c := newChart(id, title, rowH*float64(len(bars)), 240)
	lo, hi := 0.0, ref
	for _, b := range bars {
		lo, hi = math.Min(lo, b.v), math.Max(hi, b.v)
	}
	ticks, d0, d1 := niceTicks(lo, hi*1.05, 6)
	sx := c.xScale(d0, d1, false)
	c.xAxis(sx, ticks, format, axis)
	for i, b := range bars {
		y := c.Plot.Y + float64(i)*rowH
		x0, x1 := sx.at(0), sx.at(b.v)
		c.Bars = append(c.Bars, box{X: math.Min(x0, x1), Y: y + 4, W: math.Max(math.Abs(x1-x0), 1), H: rowH - 8, Class: b.class, Tip: b.tip})
		c.Labels = append(c.Labels, label{X: c.Plot.X - 8, Y: y + rowH/2 + 4, Text: clip(b.name, 34), Anchor: "end", Class: "cat"},
			label{X: math.Max(x0, x1) + 4, Y: y + rowH/2 + 4, Text: format(b.v), Anchor: "start", Class: "val"})
	}
	if ref != 0 {
		c.Refs = append(c.Refs, segment{X1: sx.at(ref), Y1: c.Plot.Y, X2: sx.at(ref), Y2: c.Plot.Y + c.Plot.H, Class: "sla", Tip: refTip})
	}
	return c
}

// fmtLatencyTick formats an axis value in milliseconds, without trailing
// zeros.
func fmtLatencyTick(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v/1000, 'g', 4, 64) + "s"
	case a >= 1:
		return strconv.FormatFloat(v, 'g', 4, 64) + "ms"
	}
	return strconv.FormatFloat(v*1000, 'g', 4, 64) + "µs"
}

// fmtCount formats a count: a whole number with its thousands separated
// (17,320, never 1.732e+04), else with at most two decimals (2.5).
func fmtCount(v float64) string {
	if v != math.Trunc(v) || math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	}
	s := strconv.FormatInt(int64(math.Abs(v)), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if v < 0 {
		s = "-" + s
	}
	return s
}
