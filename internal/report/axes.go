package report

import (
	"math"
	"strconv"
)

// An axisUnit is the one unit every tick label of a linear axis is written
// in, chosen from the axis's span: the labels are plain numbers, and the
// axis title names the unit.
type axisUnit struct {
	name string  // for the axis title: "s", "min", "ms"
	per  float64 // domain values per unit (the domain is in s or ms)
	// steps are the tick steps allowed, in the unit, smallest first: round
	// numbers of it (for time, 15 s, 30 s, 1 min; not 25 s).
	steps []float64
}

// The units of time axes, whose domain is seconds, and of latency axes,
// whose domain is milliseconds.
var (
	unitSeconds = axisUnit{"s", 1, []float64{1, 2, 5, 10, 15, 20, 30, 60}}
	unitMinutes = axisUnit{"min", 60, []float64{0.5, 1, 2, 5, 10, 15, 20, 30, 60}}
	unitHours   = axisUnit{"h", 3600, []float64{0.5, 1, 2, 3, 6, 12, 24}}
	unitMicros  = axisUnit{"µs", 0.001, nil}
	unitMillis  = axisUnit{"ms", 1, nil}
	unitSecs    = axisUnit{"s", 1000, nil} // of a latency, in ms
	countUnit   = axisUnit{"", 1, nil}     // things counted: no unit to name
)

// timeUnit is the unit of a time axis spanning span seconds: seconds up to
// three minutes, minutes up to three hours, then hours.
func timeUnit(span float64) axisUnit {
	switch {
	case span <= 180:
		return unitSeconds
	case span <= 3*3600:
		return unitMinutes
	}
	return unitHours
}

// latencyUnit is the unit of a latency axis reaching hi milliseconds.
func latencyUnit(hi float64) axisUnit {
	switch {
	case hi >= 1000:
		return unitSecs
	case hi >= 1:
		return unitMillis
	}
	return unitMicros
}

// ticks returns about n round values of the unit covering [lo, hi] (in the
// domain's units), and the domain they span.
func (u axisUnit) ticks(lo, hi float64, n int) (ticks []float64, d0, d1 float64) {
	if hi <= lo {
		hi = lo + u.per
	}
	raw := (hi - lo) / u.per / float64(n)
	step := 0.0
	for _, s := range u.steps {
		if s >= raw {
			step = s
			break
		}
	}
	if step == 0 { // beyond the unit's steps, or a unit without any
		t, a, b := niceTicks(lo/u.per, hi/u.per, n)
		for i := range t {
			t[i] *= u.per
		}
		return t, a * u.per, b * u.per
	}
	a, b := math.Floor(lo/u.per/step)*step, math.Ceil(hi/u.per/step)*step
	for v := a; v <= b+step/2; v += step {
		ticks = append(ticks, math.Round(v/step)*step*u.per)
	}
	return ticks, a * u.per, b * u.per
}

// format writes a domain value in the unit, as a plain number (thousands
// separated: 12,500).
func (u axisUnit) format(v float64) string {
	x := math.Round(v/u.per*1e6) / 1e6 // no 0.30000000000000004
	if x == math.Trunc(x) {
		return fmtCount(x)
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// title appends the unit to an axis title: "time since the start (s)".
func (u axisUnit) title(t string) string {
	if u.name == "" {
		return t
	}
	return t + " (" + u.name + ")"
}
