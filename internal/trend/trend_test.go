package trend

import (
	"math"
	"math/rand/v2"
	"testing"
)

// near reports whether got is within tol of want, or both are the same
// infinity, or both NaN.
func near(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) {
		return math.IsNaN(got) && math.IsNaN(want) || got == want
	}
	return math.Abs(got-want) <= tol
}

func TestMannKendall(t *testing.T) {
	// Figures worked out by hand: S by counting pairs, VarS from
	// (n(n-1)(2n+5) - Σ t(t-1)(2t+5))/18, Z with the continuity correction,
	// and p from the normal tail.
	tests := []struct {
		name    string
		y       []float64
		s       int
		varS, z float64
		p, p1   float64
		tau     float64
	}{
		{"increasing n=10", []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
			45, 125, 44 / math.Sqrt(125), 8.303070332644999e-05, 4.1515351663224993e-05, 1},
		{"decreasing n=10", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1},
			-45, 125, -44 / math.Sqrt(125), 8.303070332644999e-05, 0.9999584846483368, -1},
		// One pair of ties: S = 5 (five rises, one tie); VarS = (156 - 18)/18.
		{"ties 1,2,2,3", []float64{1, 2, 2, 3},
			5, 138.0 / 18, 4 / math.Sqrt(138.0/18), 0.1485617748918687, 0.07428088744593435, 5.0 / 6},
		// Eight rises, one fall, one tie: S = 7; VarS = (300 - 18)/18.
		{"mixed 2,1,3,3,5", []float64{2, 1, 3, 3, 5},
			7, 282.0 / 18, 6 / math.Sqrt(282.0/18), 0.1295513529044089, 0.06477567645220444, 0.7},
		// All tied: no variance, no trend.
		{"constant", []float64{5, 5, 5, 5}, 0, 0, 0, 1, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MannKendall(tt.y)
			if got.Insufficient || got.N != len(tt.y) || got.S != tt.s || !near(got.VarS, tt.varS, 1e-9) ||
				!near(got.Z, tt.z, 1e-9) || !near(got.P, tt.p, 1e-12) || !near(got.POneSided, tt.p1, 1e-12) ||
				!near(got.Tau, tt.tau, 1e-12) {
				t.Errorf("MannKendall(%v) = %+v; want S=%d VarS=%g Z=%g P=%g POneSided=%g Tau=%g",
					tt.y, got, tt.s, tt.varS, tt.z, tt.p, tt.p1, tt.tau)
			}
		})
	}
}

func TestMannKendallInsufficient(t *testing.T) {
	for _, y := range [][]float64{nil, {1}, {1, 2}} {
		if got := MannKendall(y); !got.Insufficient || got.P != 1 || got.POneSided != 1 || got.S != 0 {
			t.Errorf("MannKendall(%v) = %+v; want Insufficient with p-values 1", y, got)
		}
	}
}

func TestTheilSen(t *testing.T) {
	inf := math.Inf(1)
	seq := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	line := func(a, b float64, n int) []float64 {
		y := make([]float64, n)
		for i := range y {
			y[i] = a*float64(i) + b
		}
		return y
	}
	outlier := line(2, 1, 10)
	outlier[5] = 100
	// Slopes between x=0..5, y=0,1,2,3,4,10: ten of 1, then 2, 9/4, 8/3,
	// 7/2 and 6. N=15, VarS=6·5·17/18, so at 0.90 Sen's ranks are 3 and 13,
	// at 0.80 4 and 12, and at 0.99 1 and 15.
	kink := []float64{0, 1, 2, 3, 4, 10}
	tests := []struct {
		name         string
		x, y         []float64
		conf         float64
		slope, icept float64
		lo, hi       float64
	}{
		{"exact line", seq, line(3, -2, 10), 0.99, 3, -2, 3, 3},
		{"line with one outlier", seq, outlier, 0.99, 2, 1, 2, 2},
		{"kink at 0.99", seq[:6], kink, 0.99, 1, 0, 1, 6},
		{"kink at 0.90", seq[:6], kink, 0.90, 1, 0, 1, 8.0 / 3},
		{"kink at 0.80", seq[:6], kink, 0.80, 1, 0, 1, 9.0 / 4},
		{"five points cannot be bounded at 0.99", seq[:5], line(1, 0, 5), 0.99, 1, 0, -inf, inf},
		{"unordered and repeated x", []float64{3, 1, 1, 2, 0}, []float64{7, 3, 3, 5, 1}, 0.5, 2, 1, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slope, icept, lo, hi := TheilSen(tt.x, tt.y, tt.conf)
			if !near(slope, tt.slope, 1e-12) || !near(icept, tt.icept, 1e-12) || !near(lo, tt.lo, 1e-12) || !near(hi, tt.hi, 1e-12) {
				t.Errorf("TheilSen(%v, %v, %g) = (%g, %g, %g, %g); want (%g, %g, %g, %g)",
					tt.x, tt.y, tt.conf, slope, icept, lo, hi, tt.slope, tt.icept, tt.lo, tt.hi)
			}
		})
	}
}

func TestTheilSenDegenerate(t *testing.T) {
	for _, x := range [][]float64{nil, {1}, {2, 2, 2}} {
		y := make([]float64, len(x))
		if s, i, lo, hi := TheilSen(x, y, 0.95); !math.IsNaN(s) || !math.IsNaN(i) || !math.IsNaN(lo) || !math.IsNaN(hi) {
			t.Errorf("TheilSen(%v, %v, 0.95) = (%g, %g, %g, %g); want NaNs", x, y, s, i, lo, hi)
		}
	}
	for _, c := range []struct {
		x, y []float64
		conf float64
	}{{[]float64{1, 2}, []float64{1}, 0.9}, {[]float64{1, 2}, []float64{1, 2}, 1}, {nil, nil, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("TheilSen(%v, %v, %g) did not panic", c.x, c.y, c.conf)
				}
			}()
			TheilSen(c.x, c.y, c.conf)
		}()
	}
}

func TestSenRanks(t *testing.T) {
	tests := []struct {
		n              int
		varS, conf     float64
		wantLo, wantHi int
	}{
		{45, 125, 0.99, 8, 38},  // ten points: C = 2.5758·√125 = 28.80
		{45, 125, 0.95, 12, 34}, // C = 1.9600·√125 = 21.91
		{15, 28.0 + 1.0/3, 0.99, 1, 15},
		{10, 50.0 / 3, 0.99, 0, 11}, // five points: unbounded
	}
	for _, tt := range tests {
		if lo, hi := senRanks(tt.n, tt.varS, tt.conf); lo != tt.wantLo || hi != tt.wantHi {
			t.Errorf("senRanks(%d, %g, %g) = (%d, %d); want (%d, %d)", tt.n, tt.varS, tt.conf, lo, hi, tt.wantLo, tt.wantHi)
		}
	}
}

// The interval holds the true slope of noisy data about as often as its
// confidence says.
func TestTheilSenCoverage(t *testing.T) {
	const trials, n, trueSlope, conf = 2000, 20, 3.0, 0.95
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := make([]float64, n), make([]float64, n)
	covered := 0
	for range trials {
		for i := range n {
			x[i] = float64(i)
			y[i] = 10 + trueSlope*x[i] + 4*rng.NormFloat64()
		}
		slope, _, lo, hi := TheilSen(x, y, conf)
		if lo <= trueSlope && trueSlope <= hi {
			covered++
		}
		if !(lo <= slope && slope <= hi) {
			t.Fatalf("TheilSen slope %g outside its own interval [%g, %g]", slope, lo, hi)
		}
	}
	rate := float64(covered) / trials
	t.Logf("%.0f%% interval held the true slope in %.1f%% of %d series", conf*100, rate*100, trials)
	if rate < 0.93 || rate > 0.99 {
		t.Errorf("%.0f%% interval held the true slope in %.1f%% of series; want 93%% to 99%%", conf*100, rate*100)
	}
}
