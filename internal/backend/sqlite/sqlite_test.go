package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/sqlite"
	"github.com/goldenpath-dev/goldenpath/internal/backend/storetest"
)

func TestStore(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []sqlite.Option
	}{
		{"group commit", nil},
		{"one write per transaction", []sqlite.Option{sqlite.WithMaxBatch(1), sqlite.WithReadConns(1)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) backend.Store {
				return open(t, filepath.Join(t.TempDir(), "test.db"), tt.opts...)
			})
		})
	}
}

// open opens a store at path or fails the test. The caller closes it.
func open(t *testing.T, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%q) = %v; want nil", path, err)
	}
	return s
}

// openClosing opens a store that is closed when the test ends.
func openClosing(t *testing.T, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s := open(t, path, opts...)
	t.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens path with the plain driver, for looking behind the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenRefusesBadOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	for _, tt := range []struct {
		name string
		path string
		opt  sqlite.Option
	}{
		{"nil clock", path, sqlite.WithNow(nil)},
		{"no readers", path, sqlite.WithReadConns(0)},
		{"zero busy timeout", path, sqlite.WithBusyTimeout(0)},
		{"empty batch", path, sqlite.WithMaxBatch(0)},
		{"negative queue", path, sqlite.WithQueueLen(-1)},
		{"memory", ":memory:", sqlite.WithReadConns(1)},
		{"empty path", "", sqlite.WithReadConns(1)},
	} {
		s, err := sqlite.Open(t.Context(), tt.path, tt.opt)
		if got := backend.ErrorCode(err); got != backend.EINVALID {
			t.Errorf("Open(%s) = %v; want code %s", tt.name, err, backend.EINVALID)
		}
		if s != nil {
			s.Close()
		}
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "test.db")
	u := backend.User{ID: "u1", Email: "a@example.com", PasswordHash: []byte{1, 2}, CreatedAt: time.Unix(1, 2)}
	th := backend.Thread{ID: "t1", UserID: "u1", Title: "first"}
	m := backend.Message{ID: "m1", ThreadID: "t1", UserID: "u1", Role: backend.RoleUser, Content: "hi", MessageID: "c1"}

	s := open(t, path)
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser = %v; want nil", err)
	}
	if err := s.StartRun(ctx, th, true, m); err != nil {
		t.Fatalf("StartRun = %v; want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v; want nil", err)
	}
	for i := range 2 {
		s := open(t, path)
		got, err := s.UserByEmail(ctx, u.Email)
		if err != nil || got.ID != u.ID || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Errorf("reopen %d: UserByEmail = (%+v, %v); want (%+v, nil)", i, got, err, u)
		}
		ms, err := s.Messages(ctx, "u1", "t1")
		if err != nil || len(ms) != 1 || ms[0].Content != "hi" {
			t.Errorf("reopen %d: Messages = (%+v, %v); want the one message", i, ms, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("reopen %d: Close = %v; want nil", i, err)
		}
	}

	db := rawDB(t, path)
	var n, max int
	if err := db.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != max || n < 1 {
		t.Errorf("schema_migrations after three opens has %d rows up to version %d; want each version once", n, max)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	open(t, path).Close()
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := sqlite.Open(t.Context(), path); err == nil {
		s.Close()
		t.Errorf("Open(database at schema 9999) = nil; want an error")
	}
}

func TestWALMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	openClosing(t, path)
	db := rawDB(t, path)
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q; want %q", mode, "wal")
	}
}

func TestTimesAreUTCNanos(t *testing.T) {
	ctx := t.Context()
	clock := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("x", -7*3600))
	s := openClosing(t, filepath.Join(t.TempDir(), "test.db"), sqlite.WithNow(func() time.Time { return clock }))
	// Zero CreatedAt takes the clock's time.
	if err := s.CreateUser(ctx, backend.User{ID: "u1", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.StartRun(ctx, backend.Thread{ID: "t1", UserID: "u1"}, true,
		backend.Message{ID: "m1", ThreadID: "t1", UserID: "u1", Role: backend.RoleUser}); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByEmail(ctx, "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	th, err := s.Thread(ctx, "u1", "t1")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.Messages(ctx, "u1", "t1")
	if err != nil || len(ms) != 1 {
		t.Fatalf("Messages = (%v, %v); want one message", ms, err)
	}
	for name, got := range map[string]time.Time{"user": u.CreatedAt, "thread": th.CreatedAt, "message": ms[0].CreatedAt} {
		if !got.Equal(clock) || got.Location() != time.UTC {
			t.Errorf("%s CreatedAt = %v; want %v in UTC", name, got, clock.UTC())
		}
	}
}

func TestErrorCodes(t *testing.T) {
	ctx := t.Context()
	s := openClosing(t, filepath.Join(t.TempDir(), "test.db"))
	if err := s.CreateUser(ctx, backend.User{ID: "u1", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	msg := backend.Message{ID: "m1", ThreadID: "t1", UserID: "u1", Role: backend.RoleUser}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"CreateUser(taken id)", s.CreateUser(ctx, backend.User{ID: "u1", Email: "b@example.com"}), backend.ECONFLICT},
		{"CreateThread(unknown user)", s.CreateThread(ctx, backend.Thread{ID: "t0", UserID: "u-none"}), backend.ENOTFOUND},
		{"StartRun(bad role)", s.StartRun(ctx, backend.Thread{ID: "t1", UserID: "u1"}, true,
			backend.Message{ID: "m1", ThreadID: "t1", UserID: "u1", Role: "system"}), backend.EINVALID},
		{"StartRun(message of another thread)", s.StartRun(ctx, backend.Thread{ID: "t2", UserID: "u1"}, true, msg), backend.EINVALID},
		{"StartRun(ok)", s.StartRun(ctx, backend.Thread{ID: "t1", UserID: "u1"}, true, msg), ""},
		{"AppendMessage(taken id)", s.AppendMessage(ctx, msg), backend.ECONFLICT},
		{"CreateThread(taken id)", s.CreateThread(ctx, backend.Thread{ID: "t1", UserID: "u1"}), backend.ECONFLICT},
	} {
		if got := backend.ErrorCode(tt.err); got != tt.want {
			t.Errorf("%s = %v; want code %q", tt.name, tt.err, tt.want)
		}
		var e *backend.Error
		if tt.err != nil && (!errors.As(tt.err, &e) || len(e.Message) < 8 || e.Message[:8] != "sqlite: ") {
			t.Errorf("%s = %v; want a *backend.Error whose message starts %q", tt.name, tt.err, "sqlite: ")
		}
	}
}

// TestBatchIsolation queues writes that fail next to writes that succeed,
// so that they share transactions: only the failing ones are refused.
func TestBatchIsolation(t *testing.T) {
	ctx := t.Context()
	s := openClosing(t, filepath.Join(t.TempDir(), "test.db"))
	for _, id := range []string{"u1", "u2"} {
		if err := s.CreateUser(ctx, backend.User{ID: id, Email: id + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := string(rune('a'+i%26)) + string(rune('a'+i/26))
			m := backend.Message{ID: "m-" + id, ThreadID: "t-" + id, UserID: "u1", Role: backend.RoleUser}
			th := backend.Thread{ID: "t-" + id, UserID: "u1"}
			if i%2 == 1 { // a taken message id: the new thread must go too
				m.ID = "m-taken"
			}
			errs[i] = s.StartRun(ctx, th, true, m)
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
		} else if i%2 == 0 || backend.ErrorCode(err) != backend.ECONFLICT {
			t.Errorf("StartRun %d = %v; want nil, or code conflict for a taken message id", i, err)
		}
	}
	// n/2 distinct runs succeed, plus exactly one of the "m-taken" runs.
	if want := n/2 + 1; ok != want {
		t.Errorf("%d StartRuns succeeded; want %d", ok, want)
	}
	ts, err := s.Threads(ctx, "u1")
	if err != nil || len(ts) != ok {
		t.Errorf("Threads = (%d threads, %v); want (%d, nil): a refused run kept its thread", len(ts), err, ok)
	}
}

// TestCanceledWhileQueued cancels writes that wait behind a long batch and
// checks that a canceled write is never kept.
func TestCanceledWhileQueued(t *testing.T) {
	ctx := t.Context()
	s := openClosing(t, filepath.Join(t.TempDir(), "test.db"), sqlite.WithMaxBatch(1))
	if err := s.CreateUser(ctx, backend.User{ID: "u1", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateThread(ctx, backend.Thread{ID: "t1", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	const n = 64
	cctx, cancel := context.WithCancel(ctx)
	acked := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := backend.Message{ID: string(rune('A' + i)), ThreadID: "t1", UserID: "u1", Role: backend.RoleUser}
			err := s.AppendMessage(cctx, m)
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("AppendMessage %d = %v; want nil or context.Canceled", i, err)
			}
			acked[i] = err == nil
		})
	}
	cancel()
	wg.Wait()
	ms, err := s.Messages(ctx, "u1", "t1")
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for _, m := range ms {
		kept[m.ID] = true
	}
	for i, a := range acked {
		if id := string(rune('A' + i)); a != kept[id] {
			t.Errorf("message %s: acknowledged %t, kept %t; want the same", id, a, kept[id])
		}
	}
}
