package server_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath-dev/goldenpath/internal/backend/postgres/pgtest"
	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
)

// withDB makes the backend keep its store in PostgreSQL's database dbURL.
func withDB(dbURL string) serverOpt {
	return func(c *server.Config) { c.DB, c.DBPool = dbURL, 4 }
}

// TestStoreFaultsOnPostgres: with --db postgres://..., the backend keeps
// its rows in that database, and the store faults of --fault show the
// symptoms TestFaultSymptoms sees on SQLite, where the clean backend shows
// none.
func TestStoreFaultsOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	cases := []struct {
		fault   string
		observe func(t *testing.T, h *harness) string
	}{
		{"slow-db=50ms", observeTiming("agent_completed", "db_ms", 50)},
		{"lose-writes=3", observeWrites},
		{"duplicate-writes=3", observeWrites},
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			db := pg.NewDatabase(t)
			clean := start(t, withDB(db))
			if got := tc.observe(t, clean); got != "" {
				t.Errorf("clean backend on PostgreSQL shows the %s symptom: %s", tc.fault, got)
			}
			clean.stop()
			if n := countMessages(t, db); n == 0 {
				t.Errorf("the database of --db holds no message after the clean backend's runs; want them there")
			}
			faulty := start(t, withFaults(tc.fault), withDB(pg.NewDatabase(t)))
			if got := tc.observe(t, faulty); got == "" {
				t.Errorf("backend on PostgreSQL with --fault %s shows no symptom", tc.fault)
			} else {
				t.Logf("--fault %s on PostgreSQL: %s", tc.fault, got)
			}
		})
	}
}

// countMessages counts the messages stored in the database at dbURL.
func countMessages(t *testing.T, dbURL string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("connect to the backend's database: %v", err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM messages`).Scan(&n); err != nil {
		t.Fatalf("count the backend's messages: %v", err)
	}
	return n
}
