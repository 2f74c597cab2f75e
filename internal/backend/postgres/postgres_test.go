package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/backend/postgres"
	"github.com/goldenpath-dev/goldenpath/internal/backend/postgres/pgtest"
	"github.com/goldenpath-dev/goldenpath/internal/backend/storetest"
)

// TestPostgres runs, on one server, the conformance suite every Store
// passes and the checks of what is particular to this one.
func TestPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	for _, tt := range []struct {
		name string
		run  func(*testing.T, *pgtest.Server)
	}{
		{"Conformance", testConformance},
		{"Reopen", testReopen},
		{"RefusedWriteInABatch", testRefusedWriteInABatch},
		{"MessagesNameNoDriver", testMessagesNameNoDriver},
		{"StoreFaults", testStoreFaults},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, pg) })
	}
}

// testConformance runs the conformance suite on a fresh database each
// time, with batching and without.
func testConformance(t *testing.T, pg *pgtest.Server) {
	for _, tt := range []struct {
		name string
		opts []postgres.Option
	}{
		{"batched", nil},
		{"one write per transaction", []postgres.Option{postgres.WithMaxBatch(1), postgres.WithPoolSize(2)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) backend.Store {
				return open(t, pg.NewSchema(t), tt.opts...)
			})
		})
	}
}

// open opens a store at dbURL or fails the test. The caller closes it.
func open(t *testing.T, dbURL string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dbURL, opts...)
	if err != nil {
		t.Fatalf("Open(%q) = %v; want nil", dbURL, err)
	}
	return s
}

// openClosing opens a store that is closed when the test ends.
func openClosing(t *testing.T, dbURL string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s := open(t, dbURL, opts...)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenRefuses(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, tt := range []struct {
		name, url string
		opt       postgres.Option
		wantCode  string
	}{
		{"nil clock", "postgres://127.0.0.1/x", postgres.WithNow(nil), backend.EINVALID},
		{"pool of one", "postgres://127.0.0.1/x", postgres.WithPoolSize(1), backend.EINVALID},
		{"empty batch", "postgres://127.0.0.1/x", postgres.WithMaxBatch(0), backend.EINVALID},
		{"negative queue", "postgres://127.0.0.1/x", postgres.WithQueueLen(-1), backend.EINVALID},
		{"zero write timeout", "postgres://127.0.0.1/x", postgres.WithWriteTimeout(0), backend.EINVALID},
		{"another scheme", "mysql://u:hunter2@127.0.0.1/x", postgres.WithPoolSize(2), backend.EINVALID},
		{"a path", "/var/lib/goldenpath.db", postgres.WithPoolSize(2), backend.EINVALID},
		{"bad port", "postgres://u:hunter2@127.0.0.1:notaport/x", postgres.WithPoolSize(2), backend.EINVALID},
		{"bad option", "postgres://u:hunter2@127.0.0.1/x?sslmode=sometimes", postgres.WithPoolSize(2), backend.EINVALID},
		// Port 1 on loopback: nothing listens, the connection is refused.
		{"unreachable", "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=5", postgres.WithPoolSize(2), backend.EUNAVAILABLE},
	} {
		s, err := postgres.Open(ctx, tt.url, tt.opt)
		if got := backend.ErrorCode(err); got != tt.wantCode {
			t.Errorf("Open(%s: %q) = %v; want code %s", tt.name, tt.url, err, tt.wantCode)
		}
		if s != nil {
			s.Close()
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%s) = %v; want the password hidden", tt.name, err)
		}
	}
}

func TestIsURL(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"postgres://u@h/db", true},
		{"postgresql://u@h:5432/db?sslmode=disable", true},
		{"POSTGRES://h/db", true},
		{"", false},
		{"goldenpath.db", false},
		{"sqlite:///tmp/x.db", false},
		{"postgres:/h/db", false},
		{"host=h dbname=db", false},
	} {
		if got := postgres.IsURL(tt.in); got != tt.want {
			t.Errorf("IsURL(%q) = %t; want %t", tt.in, got, tt.want)
		}
	}
}

// testReopen: a second Open of a migrated database applies nothing and
// sees what the first wrote; two Opens at once both succeed.
func testReopen(t *testing.T, pg *pgtest.Server) {
	dbURL := pg.NewSchema(t)
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, 2)
	for i := range stores {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dbURL, postgres.WithPoolSize(2))
			if err != nil {
				t.Errorf("Open #%d of a new database, concurrently = %v; want nil", i, err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			s.Close()
		}
	}
	if t.Failed() {
		return
	}
	s := openClosing(t, dbURL)
	u := backend.User{ID: "u-1", Email: "a@example.com", PasswordHash: []byte("h"), CreatedAt: time.Unix(1, 2)}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openClosing(t, dbURL)
	got, err := s.UserByEmail(t.Context(), "A@example.com")
	if err != nil || got.ID != u.ID || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Errorf("UserByEmail after reopening = (%+v, %v); want user %s", got, err, u.ID)
	}
}

// testRefusedWriteInABatch: a write that the server refuses (a NUL byte,
// which a text column cannot hold) fails alone with invalid_input, and
// the writes committed in the same batch as it are kept.
func testRefusedWriteInABatch(t *testing.T, pg *pgtest.Server) {
	s := openClosing(t, pg.NewSchema(t))
	ctx := t.Context()
	u := backend.User{ID: "u-1", Email: "a@example.com", PasswordHash: []byte("h")}
	th := backend.Thread{ID: "t-1", UserID: u.ID, Title: "t"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateThread(ctx, th); err != nil {
		t.Fatal(err)
	}
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := backend.Message{ID: "m-" + string(rune('A'+i%26)) + strings.Repeat("x", i), ThreadID: th.ID, UserID: u.ID,
				Role: backend.RoleUser, Content: "fine", MessageID: "c"}
			if i%8 == 3 {
				m.Content = "nul \x00 byte"
			}
			errs[i] = s.AppendMessage(ctx, m)
		})
	}
	wg.Wait()
	good := 0
	for i, err := range errs {
		if i%8 == 3 {
			if backend.ErrorCode(err) != backend.EINVALID {
				t.Errorf("AppendMessage(content with a NUL byte) = %v; want code %s", err, backend.EINVALID)
			}
			if msg := backend.ErrorMessage(err); strings.Contains(strings.ToLower(msg), "postgres") || strings.Contains(msg, "pgx") || strings.Contains(msg, "SQLSTATE") {
				t.Errorf("AppendMessage(NUL byte) message = %q; want no driver or database named", msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("AppendMessage(message %d) = %v; want nil", i, err)
		}
		good++
	}
	ms, err := s.Messages(ctx, u.ID, th.ID)
	if err != nil || len(ms) != good {
		t.Errorf("Messages = (%d messages, %v); want the %d acknowledged", len(ms), err, good)
	}
}

// testMessagesNameNoDriver: what a client may read of an error names
// neither the driver nor the database.
func testMessagesNameNoDriver(t *testing.T, pg *pgtest.Server) {
	s := open(t, pg.NewSchema(t))
	ctx := t.Context()
	u := backend.User{ID: "u-1", Email: "a@example.com", PasswordHash: []byte("h")}
	s.CreateUser(ctx, u)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	var errs []error
	errs = append(errs, s.CreateUser(ctx, u))
	_, err := s.UserByEmail(ctx, "b@example.com")
	errs = append(errs, err)
	_, err = s.Messages(ctx, u.ID, "t-none")
	errs = append(errs, err)
	errs = append(errs, s.AppendMessage(ctx, backend.Message{ID: "m", ThreadID: "t-none", UserID: u.ID, Role: backend.RoleUser}))
	errs = append(errs, s.Ping(canceled))
	s.Close()
	errs = append(errs, s.Ping(ctx))
	_, err = s.Threads(ctx, u.ID)
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Errorf("a call that should fail returned nil")
			continue
		}
		msg := strings.ToLower(backend.ErrorMessage(err))
		for _, bad := range []string{"postgres", "pgx", "sqlstate", "sqlite"} {
			if strings.Contains(msg, bad) {
				t.Errorf("ErrorMessage(%v) = %q; want no %q in what clients see", err, msg, bad)
			}
		}
	}
	if !errors.Is(errs[4], context.Canceled) {
		t.Errorf("Ping(canceled) = %v; want context.Canceled", errs[4])
	}
}

// testStoreFaults: the store faults of --fault decorate this store as they
// do SQLite's. Six runs through LossyStore and SlowStore, read back from
// the store itself: one answer in N is missing (lose-writes) or there twice
// (duplicate-writes), questions are never touched, and slow-db delays every
// call.
func testStoreFaults(t *testing.T, pg *pgtest.Server) {
	for _, tt := range []struct {
		lose, dup, slowMS int
		wantAnswers       int // stored answers after 6 runs
		wantDistinct      int // distinct message_ids among them
	}{
		{0, 0, 0, 6, 6},
		{3, 0, 0, 4, 4},
		{0, 3, 0, 8, 6},
		{0, 0, 20, 6, 6},
	} {
		t.Run(fmt.Sprintf("lose=%d,dup=%d,slow=%dms", tt.lose, tt.dup, tt.slowMS), func(t *testing.T) {
			ctx := t.Context()
			db := openClosing(t, pg.NewSchema(t))
			slow := time.Duration(tt.slowMS) * time.Millisecond
			s := fault.LossyStore(fault.SlowStore(db, slow), tt.lose, tt.dup)
			u := backend.User{ID: "u-1", Email: "a@example.com", PasswordHash: []byte("x")}
			th := backend.Thread{ID: "t-1", UserID: u.ID, Title: "t"}
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatalf("CreateUser = %v", err)
			}
			start := time.Now()
			for i := range 6 {
				mid := fmt.Sprintf("run-%d", i)
				q := backend.Message{ID: "q-" + mid, ThreadID: th.ID, UserID: u.ID, Role: backend.RoleUser, Content: "q", MessageID: mid}
				if err := s.StartRun(ctx, th, i == 0, q); err != nil {
					t.Fatalf("StartRun(%s) = %v", mid, err)
				}
				a := backend.Message{ID: "a-" + mid, ThreadID: th.ID, UserID: u.ID, Role: backend.RoleAssistant, Content: "a", MessageID: mid}
				if err := s.AppendMessage(ctx, a); err != nil {
					t.Fatalf("AppendMessage(%s) = %v; want nil, acknowledged whatever the fault does", mid, err)
				}
			}
			if took, min := time.Since(start), 12*slow; took < min {
				t.Errorf("12 writes with slow-db=%s took %s; want at least %s", slow, took, min)
			}
			msgs, err := db.Messages(ctx, u.ID, th.ID)
			if err != nil {
				t.Fatalf("Messages = %v", err)
			}
			answers, questions, distinct := 0, 0, map[string]bool{}
			for _, m := range msgs {
				if m.Role == backend.RoleAssistant {
					answers++
					distinct[m.MessageID] = true
				} else {
					questions++
				}
			}
			if answers != tt.wantAnswers || len(distinct) != tt.wantDistinct || questions != 6 {
				t.Errorf("read back %d answers (%d distinct runs) and %d questions; want %d (%d) and 6",
					answers, len(distinct), questions, tt.wantAnswers, tt.wantDistinct)
			}
		})
	}
}
