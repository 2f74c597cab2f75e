package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// latencies returns n latencies around 20 ms, log-normally spread.
func latencies(n int) []time.Duration {
	rng := rand.New(rand.NewPCG(7, 8))
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = time.Duration(math.Exp(rng.NormFloat64()) * float64(20*time.Millisecond))
	}
	return ds
}

// phaseNames returns n phase names, the first two the usual series ones.
func phaseNames(n int) []string {
	names := []string{"journey", "first_event"}
	for i := len(names); i < n; i++ {
		names = append(names, fmt.Sprintf("phase_%02d", i))
	}
	return names[:n]
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	ds := latencies(1024)
	i := 0
	for b.Loop() {
		h.Record(ds[i&1023])
		i++
	}
}

// BenchmarkSetRecordParallel records from about a thousand goroutines, as a
// load run does, and reports the aggregate rate.
func BenchmarkSetRecordParallel(b *testing.B) {
	tests := []struct {
		name   string
		phases int
		series []string
	}{
		{"1 phase", 1, nil},
		{"1 phase in series", 1, []string{"journey"}},
		{"15 phases", 15, nil},
		{"15 phases, 2 in series", 15, []string{"journey", "first_event"}},
	}
	ds := latencies(1024)
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			s := NewSet(WithSeriesHistograms(tt.series...))
			names := phaseNames(tt.phases)
			for _, n := range names {
				s.Record(n, time.Millisecond) // make the phases outside the timing
			}
			b.SetParallelism(1000 / max(1, testingProcs()))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(1024)
				for pb.Next() {
					s.Record(names[i%len(names)], ds[i&1023])
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func BenchmarkSetAddParallel(b *testing.B) {
	s := NewSet()
	names := phaseNames(4)
	b.SetParallelism(1000 / max(1, testingProcs()))
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(1024)
		for pb.Next() {
			s.Add(names[i%len(names)], 1)
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adds/s")
}

// BenchmarkSnapshotEncode takes and marshals the snapshot of a run of 15
// phases, two of them with a minute of series.
func BenchmarkSnapshotEncode(b *testing.B) {
	start := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	clock := newFakeClock(start)
	s := NewSet(WithNow(clock.Now), WithSeries(start), WithSeriesHistograms("journey", "first_event"))
	names := phaseNames(15)
	ds := latencies(1 << 16)
	for i := range 60 * 5000 {
		clock.Set(start.Add(time.Duration(i) * 200 * time.Microsecond))
		s.Record(names[i%len(names)], ds[i&(1<<16-1)])
		s.Add("requests", 1)
	}
	var size int
	for b.Loop() {
		data, err := json.Marshal(s.Snapshot())
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "B/snapshot")
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkJourneyValues records one journey's values as the suites do
// when it ends: 10 phases (two of them series histograms) and 15
// counters, each call reading the clock (set) or all of them at one
// instant read once (at).
func BenchmarkJourneyValues(b *testing.B) {
	phases := phaseNames(10)
	counters := make([]string, 15)
	for i := range counters {
		counters[i] = fmt.Sprintf("counter_%02d", i)
	}
	ds := latencies(1024)
	for _, mode := range []string{"set", "at"} {
		b.Run(mode, func(b *testing.B) {
			s := NewSet(WithSeriesHistograms(phases[:2]...))
			i := 0
			for b.Loop() {
				if mode == "set" {
					for _, p := range phases {
						s.Record(p, ds[i&1023])
					}
					for _, c := range counters {
						s.Add(c, 1)
					}
				} else {
					at := s.At()
					for _, p := range phases {
						at.Record(p, ds[i&1023])
					}
					for _, c := range counters {
						at.Add(c, 1)
					}
				}
				i++
			}
		})
	}
}
