package monitor

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/trend"
)

// A Verdict is the judgement of [LeakVerdict] on memory over cycles, with
// the figures it rests on.
type Verdict struct {
	// Leak reports whether memory grows: the one-sided Mann-Kendall p-value
	// is below alpha and the slope's lower bound above the floor.
	Leak bool
	// Slope is the Theil-Sen slope in bytes per cycle, and Lo and Hi bound it
	// with confidence Confidence (1 - alpha). Lo is -Inf and Hi +Inf when
	// there are too few cycles to bound it; with no cycles at all, all three
	// are NaN.
	Slope, Lo, Hi float64
	Confidence    float64
	// P is the one-sided Mann-Kendall p-value against increasing memory.
	P float64
	// N is the number of cycles judged.
	N int
	// Floor is the growth floor in bytes per cycle.
	Floor float64
	// Baseline is the memory of the first cycle and Peak the highest of any
	// cycle, in bytes.
	Baseline, Peak float64
	// Reason says what was found, in one sentence with the figures.
	Reason string
}

// LeakVerdict judges whether memory leaks from one reading a cycle: ys[i]
// bytes at cycle xs[i] (usually 0, 1, 2...), each read after the load of
// the cycle has drained and the target has been idle a while. Pairs whose
// y is NaN or infinite (a failed sample) are left out.
//
// Memory leaks when it rises steadily and by more than the floor: the
// one-sided [trend.MannKendall] p-value is below alpha (0.01 in the memory suite),
// and the lower bound of the [trend.TheilSen] slope at confidence 1-alpha is
// above floorPerCycle. The floor keeps noise and slow settling from counting
// as a leak however significant; it should sit well below the smallest leak
// worth catching, which is the leak per run times the runs per cycle.
// Fewer than six cycles can never be judged a leak at alpha 0.01.
//
// LeakVerdict panics if xs and ys differ in length or alpha is not between
// 0 and 1.
func LeakVerdict(xs, ys []float64, alpha, floorPerCycle float64) Verdict {
	if len(xs) != len(ys) {
		panic(fmt.Sprintf("monitor: LeakVerdict: len(xs) = %d, len(ys) = %d", len(xs), len(ys)))
	}
	if !(alpha > 0 && alpha < 1) {
		panic(fmt.Sprintf("monitor: LeakVerdict: alpha %g is not between 0 and 1", alpha))
	}
	type point struct{ x, y float64 }
	var pts []point
	for i := range xs {
		if !math.IsNaN(ys[i]) && !math.IsInf(ys[i], 0) && !math.IsNaN(xs[i]) {
			pts = append(pts, point{xs[i], ys[i]})
		}
	}
	slices.SortStableFunc(pts, func(a, b point) int { return cmp.Compare(a.x, b.x) })
	x, y := make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		x[i], y[i] = p.x, p.y
	}

	v := Verdict{N: len(y), Confidence: 1 - alpha, Floor: floorPerCycle, P: 1}
	v.Slope, v.Lo, v.Hi = math.NaN(), math.NaN(), math.NaN()
	if len(y) == 0 {
		v.Baseline, v.Peak = math.NaN(), math.NaN()
		v.Reason = "no memory readings to judge"
		return v
	}
	v.Baseline, v.Peak = y[0], slices.Max(y)
	if len(y) >= 2 {
		v.Slope, _, v.Lo, v.Hi = trend.TheilSen(x, y, v.Confidence)
	}
	mk := trend.MannKendall(y)
	v.P = mk.POneSided
	v.Leak = !mk.Insufficient && v.P < alpha && v.Lo > floorPerCycle

	cycles := "cycles"
	if v.N == 1 {
		cycles = "cycle"
	}
	figures := fmt.Sprintf("%s/cycle [%s CI %s, %s], Mann-Kendall p=%s over %d %s; floor %s/cycle; baseline %s, peak %s",
		formatBytes(v.Slope), percent(v.Confidence), formatBytes(v.Lo), formatBytes(v.Hi),
		strconv.FormatFloat(v.P, 'g', 2, 64), v.N, cycles, formatBytes(floorPerCycle),
		formatBytes(v.Baseline), formatBytes(v.Peak))
	switch {
	case v.Leak:
		v.Reason = "memory grows " + figures
	case mk.Insufficient || math.IsInf(v.Lo, -1) || math.IsNaN(v.Lo):
		v.Reason = fmt.Sprintf("too few cycles to judge at %s confidence: memory trend %s", percent(v.Confidence), figures)
	case v.P >= alpha:
		v.Reason = fmt.Sprintf("no leak: no significant growth (p ≥ %s): memory trend %s", strconv.FormatFloat(alpha, 'g', -1, 64), figures)
	default:
		v.Reason = "no leak: growth not above the floor: memory trend " + figures
	}
	return v
}

// formatBytes formats a number of bytes in IEC units to one decimal place,
// such as "16.2 KiB" or "-512 B".
func formatBytes(b float64) string {
	if math.IsNaN(b) || math.IsInf(b, 0) {
		return strconv.FormatFloat(b, 'g', -1, 64)
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for math.Abs(b) >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	s := strconv.FormatFloat(b, 'f', 1, 64)
	if i == 0 {
		s = strconv.FormatFloat(b, 'f', 0, 64)
	}
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s + " " + units[i]
}

// percent formats a confidence such as 0.99 as "99%".
func percent(c float64) string {
	return strconv.FormatFloat(math.Round(c*1e6)/1e4, 'f', -1, 64) + "%"
}
