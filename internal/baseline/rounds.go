package baseline

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// Defaults of the rounds.
const (
	// DefaultRounds is how many rounds a measurement takes. With 6 rounds a
	// side, the smallest p-value the Mann-Whitney U test can reach is
	// 0.0022, under the default alpha of 0.01; with 4 it is 0.029, so no
	// change could ever be significant.
	DefaultRounds = 6
	// MinRound is the shortest steady round.
	MinRound = 2 * time.Second
)

// Scenario name prefixes of the rounds: round i (from 1) is RoundPrefix+i
// (steady load) and BurstPrefixScenario+i (a burst of simultaneous users).
const (
	RoundPrefix         = "regression_round_"
	BurstPrefixScenario = "regression_burst_"
)

// Counters a round scenario carries beyond the suites' usual ones.
const (
	// CounterTargetPeakRSS is the target's peak resident memory during the
	// round, in bytes (the suite package's counter of the same name).
	CounterTargetPeakRSS = "target_peak_rss"
	// CounterTargetCPU is the CPU time the target used during the round,
	// in microseconds.
	CounterTargetCPU = "target_cpu_us"
)

// RoundName is the name of steady round i (from 1).
func RoundName(i int) string { return RoundPrefix + strconv.Itoa(i) }

// BurstName is the name of the burst of round i (from 1).
func BurstName(i int) string { return BurstPrefixScenario + strconv.Itoa(i) }

// RoundDuration is how long each steady round of a measurement of total
// length d in k rounds runs: d/k, but at least [MinRound].
func RoundDuration(d time.Duration, k int) time.Duration {
	if k < 1 {
		k = 1
	}
	return max(d/time.Duration(k), MinRound)
}

// roundIndex returns i for a scenario named prefix+i.
func roundIndex(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i > 0
}

// Round is one round's two scenarios; either may be missing.
type Round struct {
	Index         int
	Steady, Burst *results.Scenario
}

// Rounds finds the round scenarios among scs, in round order.
func Rounds(scs []results.Scenario) []Round {
	byIdx := map[int]*Round{}
	get := func(i int) *Round {
		if byIdx[i] == nil {
			byIdx[i] = &Round{Index: i}
		}
		return byIdx[i]
	}
	for k := range scs {
		if i, ok := roundIndex(scs[k].Name, RoundPrefix); ok {
			get(i).Steady = &scs[k]
		} else if i, ok := roundIndex(scs[k].Name, BurstPrefixScenario); ok {
			get(i).Burst = &scs[k]
		}
	}
	out := make([]Round, 0, len(byIdx))
	for _, r := range byIdx {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Round) int { return cmp.Compare(a.Index, b.Index) })
	return out
}

// RoundValues reads every catalog metric the round measured. Phase
// statistics come from the scenarios' raw histograms, so a round merged from
// segments reads as one process's would; a percentile is left out when the
// round has too few samples for it ([Stats]).
func RoundValues(r Round) map[string]float64 {
	out := map[string]float64{}
	put := func(name string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[name] = quantize(v)
		}
	}
	phases := func(prefix string, sc *results.Scenario, ps []phaseMetric) {
		for _, p := range ps {
			h := sc.Metrics.Histograms[p.phase]
			if h == nil || h.Count() == 0 {
				continue
			}
			s := h.Summary()
			vals := map[string]float64{"p50": s.P50, "p95": s.P95, "p99": s.P99, "mean": s.Mean}
			for _, st := range Stats {
				if h.Count() >= st.MinSamples {
					put(prefix+p.phase+"."+st.Name, vals[st.Name])
				}
			}
		}
	}
	rates := func(prefix string, sc *results.Scenario) {
		c := sc.Metrics.Counters
		journeys, ok, failed := c["journeys"], c["succeeded"], c["failed"]
		if journeys > 0 {
			put(prefix+MetricErrorRate, 100*float64(failed)/float64(journeys))
		}
		if sc.DurationS > 0 {
			put(prefix+MetricThroughput, float64(ok)/sc.DurationS)
		}
	}
	var peak int64
	if sc := r.Steady; sc != nil {
		phases("", sc, steadyPhases)
		rates("", sc)
		peak = sc.Metrics.Counters[CounterTargetPeakRSS]
		if cpu, ok := sc.Metrics.Counters[CounterTargetCPU]; ok && sc.Metrics.Counters["journeys"] > 0 {
			put(MetricCPU, float64(cpu)/1000/float64(sc.Metrics.Counters["journeys"]))
		}
	}
	if sc := r.Burst; sc != nil {
		phases(BurstPrefix, sc, burstPhases)
		rates(BurstPrefix, sc)
		peak = max(peak, sc.Metrics.Counters[CounterTargetPeakRSS])
	}
	if peak > 0 {
		put(MetricPeakRSS, float64(peak)/(1<<20))
	}
	return out
}

// quantize rounds v to a millionth of its unit, so that values survive
// being stored as integer counters (see [EncodeCounters]) unchanged.
func quantize(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// Samples gathers each metric's values over the rounds among scs, in round
// order.
func Samples(scs []results.Scenario) map[string][]float64 {
	out := map[string][]float64{}
	for _, r := range Rounds(scs) {
		for name, v := range RoundValues(r) {
			out[name] = append(out[name], v)
		}
	}
	return out
}

// mergedHistograms merges each phase's histograms over the rounds: steady
// phases by their name, burst phases with [BurstPrefix].
func mergedHistograms(rounds []Round) (map[string]*metrics.Histogram, error) {
	out := map[string]*metrics.Histogram{}
	add := func(prefix string, sc *results.Scenario) error {
		if sc == nil {
			return nil
		}
		for name, h := range sc.Metrics.Histograms {
			if h == nil {
				continue
			}
			m := out[prefix+name]
			if m == nil {
				out[prefix+name] = h.Clone()
				continue
			}
			if err := m.Merge(h); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range rounds {
		if err := add("", r.Steady); err != nil {
			return nil, err
		}
		if err := add(BurstPrefix, r.Burst); err != nil {
			return nil, err
		}
	}
	return out, nil
}
