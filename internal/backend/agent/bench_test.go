package agent_test

import (
	"context"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/agent"
)

// nullStore accepts every run and keeps nothing, so that a benchmark
// measures the runner, not a growing map. Only the methods a run calls are
// implemented.
type nullStore struct{ backend.Store }

func (nullStore) StartRun(context.Context, backend.Thread, bool, backend.Message) error { return nil }
func (nullStore) AppendMessage(context.Context, backend.Message) error                  { return nil }

var discard = agent.EmitterFunc(func(string, any) error { return nil })

// BenchmarkRunZeroThink is the runner's own cost per run (a new thread, one
// thought, one tool call, no think time), i.e. its ceiling on runs/s.
func BenchmarkRunZeroThink(b *testing.B) {
	r := newRunner(nullStore{}, params(1, 1), nil)
	req := agent.Request{UserID: "u_1", MessageID: "m", Content: content}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Run(ctx, req, discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}

// BenchmarkRunZeroThinkParallel is the same on every core.
func BenchmarkRunZeroThinkParallel(b *testing.B) {
	r := newRunner(nullStore{}, params(1, 1), nil)
	req := agent.Request{UserID: "u_1", MessageID: "m", Content: content}
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := r.Run(ctx, req, discard); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}
