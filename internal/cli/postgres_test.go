package cli

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath-dev/goldenpath/internal/backend/postgres/pgtest"
	"github.com/goldenpath-dev/goldenpath/internal/embedded"
)

// TestServeDBRefuses: --db takes a postgres:// or postgresql:// URL and
// nothing else; a URL that does not parse, or a server that cannot be
// reached, stops serve with a message that says so (and hides the
// password), and a non-zero exit.
func TestServeDBRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"another scheme", []string{"--db", "mysql://u:hunter2@127.0.0.1/x"}, "--db takes a postgres://USER@HOST:PORT/DATABASE (or postgresql://) URL; omit it for SQLite in --data"},
		{"a file", []string{"--db", "goldenpath.db"}, "--db takes a postgres://"},
		{"pool of one", []string{"--db", "postgres://127.0.0.1/x", "--db-pool", "1"}, "--db-pool 1 is outside 2..1000"},
		{"bad URL", []string{"--db", "postgres://u:hunter2@127.0.0.1:port/x"}, "bad database URL"},
		// Nothing listens on port 1 of loopback.
		{"unreachable", []string{"--db", "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=5"}, `cannot reach database "x" on 127.0.0.1:1 as "u"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, tt.args...)
			o := gp(boundedContext(t, 30*time.Second), args...)
			if o.code != ExitUsage || !strings.Contains(o.stderr, tt.want) {
				t.Errorf("%s\nwant exit %d and %q", o, ExitUsage, tt.want)
			}
			if strings.Contains(o.stderr, "hunter2") {
				t.Errorf("%s\nwant the password hidden", o)
			}
		})
	}
}

// TestRaceSuiteOnPostgres runs the race suite against `goldenpath serve
// --db postgres://...` on a throwaway PostgreSQL cluster: every check
// passes, and the backend's rows are in that database.
func TestRaceSuiteOnPostgres(t *testing.T) {
	long(t)
	noChildrenLeft(t)
	pg := pgtest.Start(t)
	db := pg.NewDatabase(t)
	logs := newLockedBuffer()
	emb, err := embedded.Start(boundedContext(t, runBound), embedded.Options{Binary: os.Args[0], Think: 20 * time.Millisecond,
		Stderr: logs, Args: []string{"--db", db, "--db-pool", "6"}})
	if err != nil {
		t.Fatalf("embedded.Start(--db %s) = %v; want a running backend\nits log:\n%s", db, err, logs)
	}
	t.Cleanup(func() {
		if err := emb.Stop(); err != nil {
			t.Logf("stopping the backend: %v\nits log:\n%s", err, logs)
		}
	})
	out := t.TempDir()
	o := gp(boundedContext(t, 5*time.Minute), "run", "--target", emb.URL, "--admin-token", emb.AdminToken,
		"--suite", "race", "--users", "5", "--out", out, "--quiet")
	if o.code != ExitOK {
		t.Fatalf("%s\nwant %d: the race suite passes on the PostgreSQL store\nthe backend's log:\n%s", o, ExitOK, logs)
	}
	var users, messages int
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if err := conn.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM messages)`).Scan(&users, &messages); err != nil {
		t.Fatalf("counting the backend's rows: %v", err)
	}
	if users == 0 || messages == 0 {
		t.Errorf("the database of --db holds %d users and %d messages after the race suite; want some of each", users, messages)
	}
	t.Logf("race suite on PostgreSQL: %d users, %d messages stored", users, messages)
}
