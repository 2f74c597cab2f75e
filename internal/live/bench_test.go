package live

import (
	"fmt"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/procs"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// fullJourney is a full journey's result as the reference backend gives
// one: 19 phase samples (the derived ws_handshake and
// journey_from_intended make 21 observations).
func fullJourney() *journey.Result {
	start := time.Now()
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	var ph []journey.Sample
	for _, s := range []struct {
		name string
		d    float64
	}{
		{journey.PhaseLogin, 3}, {journey.PhaseConfigAccess, 0.4}, {journey.PhaseWSConnect, 0.8}, {journey.PhaseWSReady, 0.05},
		{journey.PhaseFirstEvent, 0.6}, {journey.PhaseFirstToken, 1.2}, {journey.PhaseInterEvent, 0.1}, {journey.PhaseInterEvent, 0.1},
		{journey.PhaseInterEvent, 0.1}, {journey.PhaseInterEvent, 200}, {journey.PhaseAgentExecution, 201}, {journey.PhaseAnswer, 202},
		{journey.PhaseResponseDelivery, 0.2}, {journey.PhaseDBOperation, 1}, {journey.PhaseDBOperation, 1}, {journey.PhaseDBOperation, 1},
		{journey.PhaseDBOperation, 1}, {journey.PhaseDBOperation, 1}, {journey.PhaseJourney, 210},
	} {
		ph = append(ph, journey.Sample{Name: s.name, D: ms(s.d)})
	}
	return &journey.Result{Start: start, End: start.Add(ms(210)), Phases: ph}
}

// BenchmarkObserverJourney is the live telemetry's cost per journey: what
// the recorder adds to each journey when --metrics-addr or
// --otlp-endpoint is on (the outcome counter and 21 native-histogram
// observations of a full journey). cpu-ns/op is the process's CPU time per
// journey (getrusage), the figure to compare with a journey's CPU.
func BenchmarkObserverJourney(b *testing.B) {
	so := NewMetrics(Info{}).Scenario("integrated", "integrated")
	res := fullJourney()
	it := load.Iteration{Intended: res.Start, Started: res.Start}
	b.ReportAllocs()
	cpu := cpuPerOp(b)
	for b.Loop() {
		suite.Observe(so, it, res)
	}
	cpu()
}

// BenchmarkObserverJourneyParallel is the same from every core at once, as
// many users finish journeys together.
func BenchmarkObserverJourneyParallel(b *testing.B) {
	so := NewMetrics(Info{}).Scenario("integrated", "integrated")
	res := fullJourney()
	it := load.Iteration{Intended: res.Start, Started: res.Start}
	b.ReportAllocs()
	cpu := cpuPerOp(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			suite.Observe(so, it, res)
		}
	})
	cpu()
}

// cpuPerOp starts measuring this process's CPU time; the function it
// returns reports it per operation as cpu-ns/op, which other processes
// on a shared machine do not inflate as they do ns/op (wall time).
func cpuPerOp(b *testing.B) func() {
	start, ok := procs.ProcessCPU()
	return func() {
		if end, ok2 := procs.ProcessCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkGatherFullRun is one scrape's (or OTLP export's) gathering of
// the series a full run holds at its end: 40 scenarios, each with every
// phase of a full journey observed 1,000 times.
func BenchmarkGatherFullRun(b *testing.B) {
	m := NewMetrics(Info{})
	res := fullJourney()
	it := load.Iteration{Intended: res.Start, Started: res.Start}
	for i := range 40 {
		so := m.Scenario(fmt.Sprintf("scenario_%d", i), "load")
		for range 1000 {
			suite.Observe(so, it, res)
		}
	}
	b.ReportAllocs()
	cpu := cpuPerOp(b)
	for b.Loop() {
		if _, err := m.Gatherer().Gather(); err != nil {
			b.Fatal(err)
		}
	}
	cpu()
}
