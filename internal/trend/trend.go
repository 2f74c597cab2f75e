package trend

import (
	"fmt"
	"math"
	"slices"
)

// MK is the result of a Mann-Kendall test for a monotonic trend in a series.
type MK struct {
	// N is the number of values.
	N int
	// Insufficient is set when N < 3; then S, VarS, Z and Tau are 0 and the
	// p-values 1.
	Insufficient bool
	// S is the Mann-Kendall statistic: over all pairs i < j, the number with
	// y[j] > y[i] less the number with y[j] < y[i].
	S int
	// VarS is the variance of S when there is no trend, corrected for ties:
	// (n(n-1)(2n+5) - Σ t(t-1)(2t+5)) / 18 over groups of t equal values.
	VarS float64
	// Z is S standardised with a continuity correction: (S-1)/√VarS when S
	// is positive, (S+1)/√VarS when negative, else 0.
	Z float64
	// P is the two-sided p-value of Z under the normal approximation.
	P float64
	// POneSided is the p-value against an increasing trend, P(Z' ≥ Z).
	POneSided float64
	// Tau is Kendall's tau-a between the values and their order, S/(n(n-1)/2).
	Tau float64
}

// MannKendall tests y, a series in time order, for a monotonic trend. The
// test assumes nothing of the distribution of the values; it uses only their
// order. The p-values come from the normal approximation with a continuity
// correction, which is close to the exact distribution from about ten
// values up. y must not hold NaN. It takes O(n²) time.
func MannKendall(y []float64) MK {
	n := len(y)
	mk := MK{N: n, P: 1, POneSided: 1}
	if n < 3 {
		mk.Insufficient = true
		return mk
	}
	for i := range n - 1 {
		for j := i + 1; j < n; j++ {
			switch {
			case y[j] > y[i]:
				mk.S++
			case y[j] < y[i]:
				mk.S--
			}
		}
	}
	mk.VarS = varS(y)
	switch {
	case mk.VarS == 0: // every value the same
	case mk.S > 0:
		mk.Z = float64(mk.S-1) / math.Sqrt(mk.VarS)
	case mk.S < 0:
		mk.Z = float64(mk.S+1) / math.Sqrt(mk.VarS)
	}
	mk.P = math.Erfc(math.Abs(mk.Z) / math.Sqrt2)
	mk.POneSided = upperTail(mk.Z)
	mk.Tau = float64(mk.S) / (float64(n) * float64(n-1) / 2)
	return mk
}

// varS returns the variance of the Mann-Kendall S of y under no trend,
// corrected for ties.
func varS(y []float64) float64 {
	n := float64(len(y))
	v := n * (n - 1) * (2*n + 5)
	sorted := slices.Clone(y)
	slices.Sort(sorted)
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		if t := float64(j - i); t > 1 {
			v -= t * (t - 1) * (2*t + 5)
		}
		i = j
	}
	return v / 18
}

// upperTail returns P(Z ≥ z) for a standard normal Z.
func upperTail(z float64) float64 { return math.Erfc(z/math.Sqrt2) / 2 }

// normalQuantile returns the z with P(Z ≤ z) = p for a standard normal Z.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// TheilSen fits a line to the points (x[i], y[i]) by the Theil-Sen method:
// the slope is the median of the slopes between all pairs of points with
// different x, and the intercept the median of y[i] - slope·x[i]. Up to
// about 29% of the points can be wild without moving the fit.
//
// lo and hi bound the slope with the given confidence (such as 0.99), by
// Sen's method: with N pairwise slopes in order and C = z·√VarS, where z is
// the normal quantile at (1+confidence)/2 and VarS the Mann-Kendall variance
// of y, lo is the round((N-C)/2)-th slope and hi the round((N+C)/2+1)-th
// (counting from 1). When there are too few points for that confidence, lo
// is -Inf or hi +Inf: at 0.99, six points or more bound the slope.
//
// With fewer than two distinct x, all four results are NaN. TheilSen panics
// if x and y differ in length or confidence is not between 0 and 1. It takes
// O(n² log n) time.
func TheilSen(x, y []float64, confidence float64) (slope, intercept, lo, hi float64) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("trend: TheilSen: len(x) = %d, len(y) = %d", len(x), len(y)))
	}
	if !(confidence > 0 && confidence < 1) {
		panic(fmt.Sprintf("trend: TheilSen: confidence %g is not between 0 and 1", confidence))
	}
	n := len(x)
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := range n {
		for j := i + 1; j < n; j++ {
			if x[j] != x[i] {
				slopes = append(slopes, (y[j]-y[i])/(x[j]-x[i]))
			}
		}
	}
	if len(slopes) == 0 {
		nan := math.NaN()
		return nan, nan, nan, nan
	}
	slices.Sort(slopes)
	slope = median(slopes)
	resid := make([]float64, n)
	for i := range n {
		resid[i] = y[i] - slope*x[i]
	}
	slices.Sort(resid)
	intercept = median(resid)

	rlo, rhi := senRanks(len(slopes), varS(y), confidence)
	lo, hi = math.Inf(-1), math.Inf(1)
	if rlo >= 1 {
		lo = slopes[rlo-1]
	}
	if rhi <= len(slopes) {
		hi = slopes[rhi-1]
	}
	return slope, intercept, lo, hi
}

// senRanks returns the ranks, counting from 1, of the pairwise slopes that
// bound Sen's confidence interval for N slopes; they may fall outside 1..N.
func senRanks(n int, varS, confidence float64) (lo, hi int) {
	c := normalQuantile((1+confidence)/2) * math.Sqrt(varS)
	return int(math.Round((float64(n) - c) / 2)), int(math.Round((float64(n)+c)/2 + 1))
}

// median returns the median of sorted, which is not empty.
func median(sorted []float64) float64 {
	m := len(sorted) / 2
	if len(sorted)%2 == 1 {
		return sorted[m]
	}
	return (sorted[m-1] + sorted[m]) / 2
}
