package baseline

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
)

// CounterScale is how many counter units make one unit of a metric: values
// are stored as integer counters in millionths (nanoseconds for
// milliseconds).
const CounterScale = 1e6

// Why counters, not a typed field of the results model: the comparison
// scenario (package suite/regression) must survive `goldenpath merge`,
// which adds the counters of segments and so needs the division by copies
// that [DecodeSamples] does, and results.json files already written carry
// their baselines this way. A typed home (a comparison field that merge
// keeps once instead of adding) would have to read both forms and change
// how merge treats a scenario; it is left for when merging changes anyway.

// EncodeSamples stores samples as integer counters named
// prefix+METRIC+":"+i (i from 0), so that a scenario of results.json can
// carry them and a re-evaluation read them back with [DecodeSamples].
// Values are kept to a millionth of their unit (as [RoundValues] rounds
// them), so they come back unchanged.
func EncodeSamples(prefix string, s map[string][]float64) map[string]int64 {
	out := map[string]int64{}
	for name, vs := range s {
		for i, v := range vs {
			out[prefix+name+":"+strconv.Itoa(i)] = int64(math.Round(v * CounterScale))
		}
	}
	return out
}

// DecodeSamples reads back what [EncodeSamples] stored under prefix. Merging
// the scenarios of n segments adds their counters, so every value is divided
// by copies, the number of scenarios merged (at least 1).
func DecodeSamples(prefix string, counters map[string]int64, copies int64) map[string][]float64 {
	copies = max(copies, 1)
	type iv struct {
		i int
		v float64
	}
	byName := map[string][]iv{}
	for k, c := range counters {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		j := strings.LastIndexByte(rest, ':')
		if j < 0 {
			continue
		}
		i, err := strconv.Atoi(rest[j+1:])
		if err != nil || i < 0 {
			continue
		}
		byName[rest[:j]] = append(byName[rest[:j]], iv{i, float64(c) / float64(copies) / CounterScale})
	}
	out := map[string][]float64{}
	for name, ivs := range byName {
		slices.SortFunc(ivs, func(a, b iv) int { return cmp.Compare(a.i, b.i) })
		vs := make([]float64, len(ivs))
		for k, x := range ivs {
			vs[k] = x.v
		}
		out[name] = vs
	}
	return out
}
