package sqlite_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/sqlite"
	"github.com/goldenpath-dev/goldenpath/internal/backend/storetest"
)

// BenchmarkStartRunAppend measures agent runs as the backend stores them:
// each run is a StartRun (a new thread every eighth run) and an
// AppendMessage with the answer. Many goroutines write at once, as the
// connections of a busy server do. One op is one run, two write
// transactions' worth of work; runs/s and writes/s are reported.
//
//	go test -run '^$' -bench StartRunAppend -benchtime 3s -count 3 ./internal/backend/sqlite/
func BenchmarkStartRunAppend(b *testing.B) {
	for _, bc := range []struct {
		name     string
		maxBatch int
	}{
		{"group-commit", sqlite.DefaultMaxBatch},
		{"one-per-tx", 1},
	} {
		// 32 callers per GOMAXPROCS is a busy server; 1 is a quiet one,
		// where group commit must cost nothing.
		for _, par := range []int{32, 1} {
			b.Run(fmt.Sprintf("%s/callers=%d", bc.name, par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
				benchRuns(b, par, sqlite.WithMaxBatch(bc.maxBatch))
			})
		}
	}
}

func benchRuns(b *testing.B, parallelism int, opts ...sqlite.Option) {
	ctx := b.Context()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const users = 64
	for u := range users {
		if err := s.CreateUser(ctx, backend.User{ID: fmt.Sprintf("u-%d", u), Email: fmt.Sprintf("u%d@example.com", u)}); err != nil {
			b.Fatal(err)
		}
	}
	question := strings.Repeat("q", 100)
	answer := strings.Repeat("a", 400)

	var goroutines atomic.Int64
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := goroutines.Add(1)
		user := fmt.Sprintf("u-%d", g%users)
		var th backend.Thread
		for n := 0; pb.Next(); n++ {
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
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "runs/s")
	b.ReportMetric(2*float64(b.N)/sec, "writes/s")
}

// BenchmarkWriters runs the write benchmark every store runs
// (storetest.RunBenchmark), group commit and one write per transaction,
// so that its figures compare with the PostgreSQL store's.
//
//	go test -run '^$' -bench Writers -count 5 ./internal/backend/sqlite/
func BenchmarkWriters(b *testing.B) {
	for _, bc := range []struct {
		name     string
		maxBatch int
	}{
		{"batched", sqlite.DefaultMaxBatch},
		{"one-per-tx", 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			storetest.RunBenchmark(b, func(b *testing.B) backend.Store {
				s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), sqlite.WithMaxBatch(bc.maxBatch))
				if err != nil {
					b.Fatal(err)
				}
				return s
			})
		})
	}
}
