package monitor

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/trend"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

// The memory suite's figures, on which the simulation rests. A cycle is a
// burst of runsPerCycle runs, a drain and an idle spell, then one RSS
// reading; noise is the spread of that reading on a clean target. The floor
// is a fifth of the smallest leak the suite must catch (16 KiB a run, 4.7
// MiB a cycle), and five times the slope's standard error on pure noise
// (about 0.2 MiB a cycle over 10 cycles), so noise almost never reaches it
// and a real leak always clears it.
const (
	runsPerCycle = 300
	simCycles    = 10
	simSeries    = 2000
	simBaseline  = 50 * mib
	simNoise     = 2 * mib
	simAlpha     = 0.01
	simFloor     = 1 * mib
)

// simulate returns the fraction of simSeries series of simCycles readings,
// made by reading(rng, cycle), that LeakVerdict flags, and the fraction
// whose one-sided Mann-Kendall p-value alone is below simAlpha.
func simulate(seed uint64, reading func(rng *rand.Rand, cycle int) float64) (flagged, mkOnly float64) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	xs, ys := make([]float64, simCycles), make([]float64, simCycles)
	var nf, nm int
	for range simSeries {
		for i := range simCycles {
			xs[i], ys[i] = float64(i), reading(rng, i)
		}
		if LeakVerdict(xs, ys, simAlpha, simFloor).Leak {
			nf++
		}
		if trend.MannKendall(ys).POneSided < simAlpha {
			nm++
		}
	}
	return float64(nf) / simSeries, float64(nm) / simSeries
}

func noise(rng *rand.Rand) float64 { return simBaseline + simNoise*rng.NormFloat64() }

// TestLeakSimulation measures false alarms and detection on synthetic
// series, so the rule's error rates are known rather than hoped for.
func TestLeakSimulation(t *testing.T) {
	leak := float64(runsPerCycle * 16 * kib) // 4.7 MiB a cycle
	tests := []struct {
		name     string
		reading  func(rng *rand.Rand, cycle int) float64
		min, max float64 // bounds on the flagged fraction
	}{
		{"clean: gaussian noise", func(rng *rand.Rand, _ int) float64 { return noise(rng) }, 0, 0.01},
		{"clean: warm-up over 3 cycles, then flat", func(rng *rand.Rand, i int) float64 {
			return noise(rng) + 3*mib*float64(min(i, 3))
		}, 0, 0.01},
		{"clean: scavenger drops of 8 MiB in 1 of 5 readings", func(rng *rand.Rand, _ int) float64 {
			if rng.IntN(5) == 0 {
				return noise(rng) - 8*mib
			}
			return noise(rng)
		}, 0, 0.01},
		{"leak: 16 KiB x 300 runs a cycle", func(rng *rand.Rand, i int) float64 {
			return noise(rng) + leak*float64(i)
		}, 0.95, 1},
		{"leak: 16 KiB x 300 runs, with scavenger drops", func(rng *rand.Rand, i int) float64 {
			y := noise(rng) + leak*float64(i)
			if rng.IntN(5) == 0 {
				y -= 8 * mib
			}
			return y
		}, 0.95, 1},
		{"leak: 16 KiB x 100 runs a cycle (1.6 MiB)", func(rng *rand.Rand, i int) float64 {
			return noise(rng) + leak/3*float64(i)
		}, 0, 1}, // measured, not required: near the floor
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flagged, mkOnly := simulate(uint64(i+1), tt.reading)
			t.Logf("flagged %.2f%% of %d series (Mann-Kendall alone: %.2f%%)", 100*flagged, simSeries, 100*mkOnly)
			if flagged < tt.min || flagged > tt.max {
				t.Errorf("flagged %.2f%% of %d series; want %.0f%% to %.0f%%", 100*flagged, simSeries, 100*tt.min, 100*tt.max)
			}
		})
	}
}

// The Mann-Kendall p-value is calibrated: on pure noise the test alone
// rejects at about its nominal rate (a little under, the normal
// approximation with continuity correction being conservative at n=10).
func TestMannKendallCalibration(t *testing.T) {
	_, mkOnly := simulate(99, func(rng *rand.Rand, _ int) float64 { return noise(rng) })
	t.Logf("Mann-Kendall p < %g on %.2f%% of %d noise series", simAlpha, 100*mkOnly, simSeries)
	if mkOnly > 2*simAlpha {
		t.Errorf("Mann-Kendall p < %g on %.2f%% of noise series; want at most %.0f%%", simAlpha, 100*mkOnly, 200*simAlpha)
	}
}

func TestLeakVerdict(t *testing.T) {
	seq := func(n int, f func(i int) float64) (xs, ys []float64) {
		for i := range n {
			xs, ys = append(xs, float64(i)), append(ys, f(i))
		}
		return xs, ys
	}
	jitter := []float64{0, 300, -200, 100, -400, 250, -100, 350, -300, 50}
	tests := []struct {
		name      string
		n         int
		f         func(i int) float64
		floor     float64
		leak      bool
		reason    string // a prefix of Reason
		baseline  float64
		peak      float64
		wantCount int
	}{
		{"steady growth", 10, func(i int) float64 { return 50*mib + 16*kib*float64(i) + jitter[i] }, 4 * kib,
			true, "memory grows 16", 50*mib + 0, 50*mib + 9*16*kib + 50, 10},
		{"growth below the floor", 10, func(i int) float64 { return 50*mib + 2*kib*float64(i) + jitter[i]/10 }, 4 * kib,
			false, "no leak: growth not above the floor", 50 * mib, 50*mib + 18*kib + 5, 10},
		{"flat", 10, func(i int) float64 { return 50*mib + jitter[i] }, 4 * kib,
			false, "no leak: no significant growth (p ≥ 0.01)", 50 * mib, 50*mib + 350, 10},
		{"falling", 10, func(i int) float64 { return 50*mib - 16*kib*float64(i) }, 4 * kib,
			false, "no leak: no significant growth", 50 * mib, 50 * mib, 10},
		{"five cycles", 5, func(i int) float64 { return 50*mib + mib*float64(i) }, 4 * kib,
			false, "too few cycles to judge at 99% confidence", 50 * mib, 54 * mib, 5},
		{"failed readings left out", 10, func(i int) float64 {
			if i%3 == 1 {
				return math.NaN()
			}
			return 50*mib + 16*kib*float64(i)
		}, 4 * kib, true, "memory grows 16 KiB/cycle", 50 * mib, 50*mib + 9*16*kib, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs, ys := seq(tt.n, tt.f)
			v := LeakVerdict(xs, ys, 0.01, tt.floor)
			if v.Leak != tt.leak || !strings.HasPrefix(v.Reason, tt.reason) || v.Baseline != tt.baseline ||
				v.Peak != tt.peak || v.N != tt.wantCount || v.Confidence != 0.99 || v.Floor != tt.floor {
				t.Errorf("LeakVerdict(%s) = %+v; want Leak %t, Reason starting %q, Baseline %g, Peak %g, N %d",
					tt.name, v, tt.leak, tt.reason, tt.baseline, tt.peak, tt.wantCount)
			}
			if v.Leak && !(v.Lo <= v.Slope && v.Slope <= v.Hi && v.P < 0.01) {
				t.Errorf("LeakVerdict(%s): slope %g outside [%g, %g] or p %g ≥ 0.01", tt.name, v.Slope, v.Lo, v.Hi, v.P)
			}
		})
	}
}

func TestLeakVerdictEmpty(t *testing.T) {
	v := LeakVerdict(nil, nil, 0.01, 0)
	if v.Leak || v.N != 0 || v.P != 1 || v.Reason != "no memory readings to judge" {
		t.Errorf("LeakVerdict(nil, nil) = %+v; want no leak, N 0, P 1", v)
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		b    float64
		want string
	}{
		{0, "0 B"}, {512, "512 B"}, {-512, "-512 B"}, {4096, "4 KiB"}, {16.2 * kib, "16.2 KiB"},
		{4.7 * mib, "4.7 MiB"}, {-1.25 * mib, "-1.2 MiB"}, {3 << 30, "3 GiB"}, {math.Inf(-1), "-Inf"},
	}
	for _, tt := range tests {
		if got := formatBytes(tt.b); got != tt.want {
			t.Errorf("formatBytes(%g) = %q; want %q", tt.b, got, tt.want)
		}
	}
}
