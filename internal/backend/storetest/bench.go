package storetest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// BenchWriters are the numbers of concurrent writers [RunBenchmark]
// measures: a quiet server, a busy one and a very busy one.
var BenchWriters = []int{1, 16, 64}

// RunBenchmark measures, as sub-benchmarks writers=N for each of
// [BenchWriters], agent runs as the backend stores them: each run is a
// StartRun (a new thread every eighth run) and an AppendMessage with the
// answer, and N goroutines write at once, as the connections of a busy
// server do. One op is one run, two writes; runs/s and writes/s are
// reported. open returns a new, empty store (it may be called more than
// once per sub-benchmark); RunBenchmark closes it. Every store's benchmark
// runs this one body, so their figures compare:
//
//	go test -run '^$' -bench Writers -count 5 ./internal/backend/sqlite/ ./internal/backend/postgres/
func RunBenchmark(b *testing.B, open func(b *testing.B) backend.Store) {
	for _, n := range BenchWriters {
		b.Run(fmt.Sprintf("writers=%d", n), func(b *testing.B) { benchRuns(b, open(b), n) })
	}
}

func benchRuns(b *testing.B, s backend.Store, writers int) {
	ctx := b.Context()
	defer s.Close()
	const users = 64
	for u := range users {
		if err := s.CreateUser(ctx, backend.User{ID: fmt.Sprintf("u-%d", u), Email: fmt.Sprintf("u%d@example.com", u)}); err != nil {
			b.Fatal(err)
		}
	}
	question := strings.Repeat("q", 100)
	answer := strings.Repeat("a", 400)

	var next atomic.Int64 // runs handed out
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := range writers {
		wg.Go(func() {
			user := fmt.Sprintf("u-%d", g%users)
			var th backend.Thread
			for n := 0; next.Add(1) <= int64(b.N); n++ {
				create := n%8 == 0
				if create {
					th = backend.Thread{ID: fmt.Sprintf("t-%d-%d", g, n), UserID: user, Title: "bench"}
				}
				q := backend.Message{ID: fmt.Sprintf("q-%d-%d", g, n), ThreadID: th.ID, UserID: user,
					Role: backend.RoleUser, Content: question, MessageID: fmt.Sprintf("c-%d-%d", g, n)}
				if err := s.StartRun(ctx, th, create, q); err != nil {
					b.Error(err)
					return
				}
				a := q
				a.ID, a.Role, a.Content = fmt.Sprintf("a-%d-%d", g, n), backend.RoleAssistant, question+answer
				if err := s.AppendMessage(ctx, a); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "runs/s")
	b.ReportMetric(2*float64(b.N)/sec, "writes/s")
}
