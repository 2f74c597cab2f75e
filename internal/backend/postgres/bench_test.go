package postgres_test

import (
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/postgres"
	"github.com/goldenpath-dev/goldenpath/internal/backend/postgres/pgtest"
	"github.com/goldenpath-dev/goldenpath/internal/backend/storetest"
)

// BenchmarkWriters runs the write benchmark every store runs
// (storetest.RunBenchmark) on a throwaway cluster with PostgreSQL's
// default durability (fsync on: each commit waits for its WAL flush),
// batched and one write per transaction.
//
//	go test -run '^$' -bench Writers -count 5 ./internal/backend/postgres/
func BenchmarkWriters(b *testing.B) {
	pg := pgtest.Start(b, pgtest.Durable())
	for _, bc := range []struct {
		name     string
		maxBatch int
	}{
		{"batched", postgres.DefaultMaxBatch},
		{"one-per-tx", 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			storetest.RunBenchmark(b, func(b *testing.B) backend.Store {
				s, err := postgres.Open(b.Context(), pg.NewSchema(b), postgres.WithMaxBatch(bc.maxBatch))
				if err != nil {
					b.Fatal(err)
				}
				return s
			})
		})
	}
}
