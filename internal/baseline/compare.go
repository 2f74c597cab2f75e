package baseline

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchmath"
)

// Thresholds are how far a metric may move before a significant change of
// it is called a regression (or an improvement).
type Thresholds struct {
	// Latency is the relative increase allowed of a component's latency
	// (and the relative drop allowed of throughput): the seed's
	// "performance degradation".
	Latency float64
	// Response is the relative increase allowed of a response time.
	Response float64
	// Memory is the relative increase allowed of the target's memory and
	// CPU per journey.
	Memory float64
	// ErrorPoints is the increase allowed of the error rate, in
	// percentage points.
	ErrorPoints float64
	// FloorMS is the smallest change of a latency, in milliseconds, that
	// can be flagged, whatever its percentage: on loopback a sub-millisecond
	// figure moves by half between two rounds when another process wakes
	// up, and the threshold alone would let that cry wolf.
	FloorMS float64
	// Alpha is the significance level: a change whose p-value is above it
	// is shown as "~", whatever its size.
	Alpha float64
}

// DefaultThresholds are the seed's: latency +20%, response time +50%,
// memory +30%, error rate +5 points; alpha 0.01; and a latency must move by
// at least 1 ms.
var DefaultThresholds = Thresholds{Latency: 0.20, Response: 0.50, Memory: 0.30, ErrorPoints: 5, FloorMS: 1, Alpha: 0.01}

// Validate reports the first threshold out of range.
func (t Thresholds) Validate() error {
	switch {
	case !(t.Latency > 0) || !(t.Response > 0) || !(t.Memory > 0):
		return fmt.Errorf("baseline: thresholds must be positive (latency %g, response %g, memory %g)", t.Latency, t.Response, t.Memory)
	case !(t.Latency < 1):
		return fmt.Errorf("baseline: the latency threshold %g must be under 100%% (it also bounds a drop of throughput)", t.Latency)
	case !(t.ErrorPoints > 0 && t.ErrorPoints <= 100):
		return fmt.Errorf("baseline: the error threshold %g must be in (0, 100] points", t.ErrorPoints)
	case !(t.FloorMS >= 0 && t.FloorMS < math.Inf(1)):
		return fmt.Errorf("baseline: the latency floor %gms must not be negative", t.FloorMS)
	case !(t.Alpha > 0 && t.Alpha < 1):
		return fmt.Errorf("baseline: alpha %g must be in (0, 1)", t.Alpha)
	}
	return nil
}

// For returns the threshold that judges a metric: a fraction for relative
// kinds, points for the error rate. Under a burst every figure but the
// error rate is judged as a response time.
func (t Thresholds) For(in Info) float64 {
	if in.Group == GroupConcurrency && in.Kind != KindErrorRate {
		return t.Response
	}
	switch in.Kind {
	case KindResponse:
		return t.Response
	case KindMemory, KindCPU:
		return t.Memory
	case KindErrorRate:
		return t.ErrorPoints
	}
	return t.Latency
}

// String renders t in the form [ParseThresholds] reads.
func (t Thresholds) String() string {
	return fmt.Sprintf("latency=%s,response=%s,memory=%s,error=%s,floor=%s",
		pct(t.Latency), pct(t.Response), pct(t.Memory), strconv.FormatFloat(t.ErrorPoints, 'g', -1, 64), floorString(t.FloorMS))
}

// floorString writes a floor in ms as a duration; one beyond a Duration
// is written as the longest, which reads back as the same float (the
// conversion would overflow to a negative floor).
func floorString(ms float64) string {
	ns := math.Round(ms * float64(time.Millisecond))
	if ns >= 1<<63 {
		return time.Duration(math.MaxInt64).String()
	}
	return time.Duration(ns).String()
}

// pct writes a fraction as a percentage to 12 significant digits, so
// that 0.07 is "7%", not "7.000000000000001%".
func pct(f float64) string { return strconv.FormatFloat(f*100, 'g', 12, 64) + "%" }

// ParseThresholds reads comma-separated NAME=VALUE pairs over
// [DefaultThresholds]: latency, response and memory as percentages ("20%"),
// error as points ("5") and floor as a duration ("1ms", "0s"), e.g.
// "latency=10%,error=2". Unknown names and bad values are errors naming
// the accepted ones.
func ParseThresholds(s string) (Thresholds, error) {
	t := DefaultThresholds
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		if !ok {
			return t, fmt.Errorf("baseline: threshold %q is not NAME=VALUE (names: latency, response, memory, error, floor)", item)
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if name == "floor" {
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 {
				return t, fmt.Errorf("baseline: threshold floor: %q is not a duration such as 1ms or 0s", val)
			}
			t.FloorMS = float64(d) / float64(time.Millisecond)
			continue
		}
		percent := strings.HasSuffix(val, "%")
		f, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 64)
		if err != nil {
			return t, fmt.Errorf("baseline: threshold %s: %q is not a number", name, val)
		}
		switch name {
		case "latency", "response", "memory":
			if !percent {
				return t, fmt.Errorf("baseline: threshold %s: %q needs a %% sign (e.g. %s=20%%)", name, val, name)
			}
			*map[string]*float64{"latency": &t.Latency, "response": &t.Response, "memory": &t.Memory}[name] = f / 100
		case "error":
			if percent {
				return t, fmt.Errorf("baseline: threshold error: %q is in percentage points, without a %% sign (e.g. error=5)", val)
			}
			t.ErrorPoints = f
		default:
			return t, fmt.Errorf("baseline: unknown threshold %q; known: latency, response, memory, error, floor", name)
		}
	}
	return t, t.Validate()
}

// Verdict is what a comparison says of one metric.
type Verdict string

// Verdicts.
const (
	Same        Verdict = "~"           // no significant change beyond the threshold
	Regression  Verdict = "REGRESSION"  // significantly worse, beyond the threshold
	Improvement Verdict = "improvement" // significantly better, beyond the threshold
)

// Stat summarises one side's sample of a metric: its median and the 95%
// confidence interval of the median.
type Stat struct {
	Median, Lo, Hi float64
	N              int
	Spread         string // the interval as a percentage of the median ("± 3%"), "∞" when too few values
}

// Row is the comparison of one metric.
type Row struct {
	Info
	Old, New Stat
	// Delta is the change of the median: relative (new/old - 1) for every
	// kind but the error rate, whose Delta is in percentage points.
	Delta float64
	// P is the Mann-Whitney U test's p-value; Significant is P <= alpha.
	P           float64
	Significant bool
	// Threshold is the limit that applied (a fraction, or points).
	Threshold float64
	Verdict   Verdict
	// Inconclusive says the samples are too small for any difference to
	// be significant at alpha.
	Inconclusive bool
	// BelowFloor says the latency moved significantly and beyond its
	// threshold, but by less than the floor, so the verdict is Same.
	BelowFloor bool
	// Unconfirmed says the metric regressed in one set of rounds but not
	// in the other ([CompareConfirmed]), so it is not flagged.
	Unconfirmed bool
}

// DeltaString writes the change as benchstat does: "~" when it is not
// significant, else "+12.3%" (or "+6.0 pts" for the error rate).
func (r Row) DeltaString() string {
	if !r.Significant {
		return "~"
	}
	if r.Kind == KindErrorRate {
		return fmt.Sprintf("%+.1f pts", r.Delta)
	}
	if math.IsInf(r.Delta, 0) {
		return "+Inf%"
	}
	return fmt.Sprintf("%+.1f%%", r.Delta*100)
}

// LimitString writes the threshold as the direction worse is: "+20%",
// "-20%" (throughput), "+5 pts".
func (r Row) LimitString() string {
	switch {
	case r.Kind == KindErrorRate:
		return fmt.Sprintf("+%g pts", r.Threshold)
	case r.Kind.HigherIsWorse():
		return "+" + pct(r.Threshold)
	}
	return "-" + pct(r.Threshold)
}

// Comparison is the outcome of comparing two measurements.
type Comparison struct {
	Old, New   *Baseline // nil when compared from bare samples
	Thresholds Thresholds
	Rows       []Row
	// Confirm is how many values of each side came first when the rows
	// were confirmed ([Comparison.ConfirmAt]); 0: they were not.
	Confirm int
	// Warnings says what differs between the two environments and might
	// explain a change (CPU count, Go version, goldenpath version...).
	Warnings []string
}

// Regressions returns the rows flagged as regressions.
func (c *Comparison) Regressions() []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.Verdict == Regression {
			out = append(out, r)
		}
	}
	return out
}

// Compare compares two baselines metric by metric. It is an error when
// their settings differ (users, round length, burst size): such figures do
// not measure the same thing.
func Compare(old, new *Baseline, t Thresholds) (*Comparison, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if d := old.Settings.Mismatch(new.Settings); d != "" {
		return nil, fmt.Errorf("baseline: the two measurements ran with different settings (%s); measure both the same way", d)
	}
	c := &Comparison{Old: old, New: new, Thresholds: t, Rows: CompareSamples(old.Metrics, new.Metrics, t)}
	oe, ne := old.Env, new.Env
	warn := func(what, a, b string) {
		if a != b && a != "" && b != "" {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s differs: %s (old) against %s (new)", what, a, b))
		}
	}
	warn("the CPU count", strconv.Itoa(oe.CPUs), strconv.Itoa(ne.CPUs))
	warn("the Go release", oe.Go, ne.Go)
	warn("goldenpath", oe.Goldenpath, ne.Goldenpath)
	warn("the platform", oe.Platform, ne.Platform)
	return c, nil
}

// ConfirmAt judges the rows again by [CompareConfirmed]: the first split
// values of each side are one set of rounds, the rest another.
func (c *Comparison) ConfirmAt(split int) {
	if c.Old == nil || c.New == nil {
		return
	}
	c.Confirm = split
	c.Rows = CompareConfirmed(c.Old.Metrics, c.New.Metrics, c.Thresholds, split)
}

// CompareConfirmed is [CompareSamples] with a replication: the first split
// values of each side were measured in one set of rounds and the rest in a
// later one, and a metric is a regression only when each set, judged on
// its own, says so. A change that chance or a noisy neighbour made
// significant at alpha in one set is that again in the other with
// probability about alpha, so a clean comparison cries wolf about alpha²
// as often, while a real slowdown shows in both. The rows' figures are
// those of all the values; a regression of all of them that one set does
// not repeat is shown as Same and Unconfirmed. A metric with no values
// after split (or none before) is judged on what it has. split <= 0 is
// CompareSamples.
func CompareConfirmed(old, new map[string][]float64, t Thresholds, split int) []Row {
	rows := CompareSamples(old, new, t)
	if split <= 0 {
		return rows
	}
	part := func(m map[string][]float64, first bool) map[string][]float64 {
		out := make(map[string][]float64, len(m))
		for k, v := range m {
			if len(v) <= split {
				continue
			}
			if first {
				out[k] = v[:split]
			} else {
				out[k] = v[split:]
			}
		}
		return out
	}
	verdicts := func(rs []Row) map[string]Verdict {
		out := make(map[string]Verdict, len(rs))
		for _, r := range rs {
			out[r.Name] = r.Verdict
		}
		return out
	}
	first := verdicts(CompareSamples(part(old, true), part(new, true), t))
	second := verdicts(CompareSamples(part(old, false), part(new, false), t))
	for i := range rows {
		r := &rows[i]
		a, okA := first[r.Name]
		b, okB := second[r.Name]
		if !okA || !okB {
			continue
		}
		switch {
		case a == Regression && b == Regression:
			r.Verdict, r.BelowFloor = Regression, false
		case a == Regression || b == Regression || r.Verdict == Regression:
			r.Unconfirmed = true
			if r.Verdict == Regression {
				r.Verdict = Same
			}
		}
	}
	return rows
}

// CompareSamples compares each catalog metric present in both old and new,
// in catalog order.
func CompareSamples(old, new map[string][]float64, t Thresholds) []Row {
	th := benchmath.Thresholds{CompareAlpha: t.Alpha}
	var rows []Row
	for _, in := range Catalog() {
		ov, nv := old[in.Name], new[in.Name]
		if len(ov) == 0 || len(nv) == 0 {
			continue
		}
		os := benchmath.NewSample(slices.Clone(ov), &th)
		ns := benchmath.NewSample(slices.Clone(nv), &th)
		cmp := benchmath.AssumeNothing.Compare(os, ns)
		r := Row{Info: in, Old: stat(os), New: stat(ns), P: cmp.P, Threshold: t.For(in),
			Significant: cmp.P <= t.Alpha, Inconclusive: minP(len(ov), len(nv)) > t.Alpha}
		r.Delta = delta(in.Kind, r.Old.Median, r.New.Median)
		r.Verdict = judge(in.Kind, r.Delta, r.Threshold, r.Significant)
		if in.IsDuration() && r.Verdict != Same && math.Abs(r.New.Median-r.Old.Median) < t.FloorMS {
			r.Verdict, r.BelowFloor = Same, true
		}
		rows = append(rows, r)
	}
	return rows
}

func stat(s *benchmath.Sample) Stat {
	sum := benchmath.AssumeNothing.Summary(s, 0.95)
	return Stat{Median: sum.Center, Lo: sum.Lo, Hi: sum.Hi, N: len(s.Values), Spread: sum.PctRangeString()}
}

// delta is the change from old to new: points for the error rate, else
// relative.
func delta(k Kind, old, new float64) float64 {
	switch {
	case k == KindErrorRate:
		return new - old
	case old == new:
		return 0
	case old == 0:
		return math.Inf(1)
	}
	return new/old - 1
}

// judge flags a change that is significant and beyond its threshold, as a
// regression if it goes the worse way and an improvement if not.
func judge(k Kind, delta, limit float64, significant bool) Verdict {
	if !significant {
		return Same
	}
	worse := delta > 0
	if !k.HigherIsWorse() {
		worse = delta < 0
	}
	if math.Abs(delta) <= limit {
		return Same
	}
	if worse {
		return Regression
	}
	return Improvement
}

// minP is the smallest two-sided p-value the Mann-Whitney U test can give
// for samples of n1 and n2 values: 2 / C(n1+n2, n1).
func minP(n1, n2 int) float64 {
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}
