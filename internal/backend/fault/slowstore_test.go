package fault_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
)

// recordingStore is a backend.Store that records the methods called on it
// and answers each with canned values; err, when set, is every method's
// error.
type recordingStore struct {
	err error

	mu    sync.Mutex
	calls []string
}

var _ backend.Store = (*recordingStore)(nil)

func (s *recordingStore) record(m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, m)
}

func (s *recordingStore) called() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *recordingStore) CreateUser(context.Context, backend.User) error {
	s.record("CreateUser")
	return s.err
}

func (s *recordingStore) UserByEmail(_ context.Context, email string) (backend.User, error) {
	s.record("UserByEmail")
	return backend.User{ID: "u_1", Email: email}, s.err
}

func (s *recordingStore) CreateThread(context.Context, backend.Thread) error {
	s.record("CreateThread")
	return s.err
}

func (s *recordingStore) Threads(_ context.Context, userID string) ([]backend.Thread, error) {
	s.record("Threads")
	return []backend.Thread{{ID: "t_1", UserID: userID}}, s.err
}

func (s *recordingStore) Thread(_ context.Context, userID, threadID string) (backend.Thread, error) {
	s.record("Thread")
	return backend.Thread{ID: threadID, UserID: userID}, s.err
}

func (s *recordingStore) StartRun(context.Context, backend.Thread, bool, backend.Message) error {
	s.record("StartRun")
	return s.err
}

func (s *recordingStore) AppendMessage(context.Context, backend.Message) error {
	s.record("AppendMessage")
	return s.err
}

func (s *recordingStore) Messages(_ context.Context, _, threadID string) ([]backend.Message, error) {
	s.record("Messages")
	return []backend.Message{{ThreadID: threadID}}, s.err
}

func (s *recordingStore) Ping(context.Context) error {
	s.record("Ping")
	return s.err
}

func (s *recordingStore) Close() error {
	s.record("Close")
	return s.err
}

// storeCalls calls every method of backend.Store that takes a context.
var storeCalls = []struct {
	method string
	call   func(ctx context.Context, s backend.Store) error
}{
	{"CreateUser", func(ctx context.Context, s backend.Store) error { return s.CreateUser(ctx, backend.User{ID: "u_1"}) }},
	{"UserByEmail", func(ctx context.Context, s backend.Store) error {
		u, err := s.UserByEmail(ctx, "a@example.com")
		if err == nil && u.Email != "a@example.com" {
			return errors.New("UserByEmail did not return the inner store's user")
		}
		return err
	}},
	{"CreateThread", func(ctx context.Context, s backend.Store) error {
		return s.CreateThread(ctx, backend.Thread{ID: "t_1"})
	}},
	{"Threads", func(ctx context.Context, s backend.Store) error {
		ts, err := s.Threads(ctx, "u_1")
		if err == nil && (len(ts) != 1 || ts[0].UserID != "u_1") {
			return errors.New("Threads did not return the inner store's threads")
		}
		return err
	}},
	{"Thread", func(ctx context.Context, s backend.Store) error {
		th, err := s.Thread(ctx, "u_1", "t_1")
		if err == nil && th.ID != "t_1" {
			return errors.New("Thread did not return the inner store's thread")
		}
		return err
	}},
	{"StartRun", func(ctx context.Context, s backend.Store) error {
		return s.StartRun(ctx, backend.Thread{ID: "t_1"}, true, backend.Message{ID: "m_1"})
	}},
	{"AppendMessage", func(ctx context.Context, s backend.Store) error {
		return s.AppendMessage(ctx, backend.Message{ID: "m_1"})
	}},
	{"Messages", func(ctx context.Context, s backend.Store) error {
		ms, err := s.Messages(ctx, "u_1", "t_1")
		if err == nil && (len(ms) != 1 || ms[0].ThreadID != "t_1") {
			return errors.New("Messages did not return the inner store's messages")
		}
		return err
	}},
	{"Ping", func(ctx context.Context, s backend.Store) error { return s.Ping(ctx) }},
}

func TestSlowStoreOffReturnsInner(t *testing.T) {
	inner := &recordingStore{}
	for _, d := range []time.Duration{0, -time.Second} {
		if got := fault.SlowStore(inner, d); got != backend.Store(inner) {
			t.Errorf("SlowStore(inner, %v) = %T; want inner itself", d, got)
		}
	}
}

// The tests below run in a synctest bubble: time is fake, so "took d" is
// exact and a cancelled call provably did not wait.

func TestSlowStoreWaitsThenCalls(t *testing.T) {
	const d = 30 * time.Millisecond
	for _, c := range storeCalls {
		t.Run(c.method, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				inner := &recordingStore{}
				s := fault.SlowStore(inner, d)
				start := time.Now()
				err := c.call(context.Background(), s)
				if took := time.Since(start); err != nil || took < d {
					t.Errorf("%s on SlowStore(%v) = %v after %v; want no error after at least %v", c.method, d, err, took, d)
				}
				if got := inner.called(); len(got) != 1 || got[0] != c.method {
					t.Errorf("%s on SlowStore called %v on the inner store; want [%s]", c.method, got, c.method)
				}
			})
		})
	}
}

func TestSlowStorePassesInnerErrors(t *testing.T) {
	want := backend.Errorf(backend.ENOTFOUND, "fake: nothing here")
	for _, c := range storeCalls {
		t.Run(c.method, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := fault.SlowStore(&recordingStore{err: want}, time.Millisecond)
				if err := c.call(context.Background(), s); !errors.Is(err, want) {
					t.Errorf("%s on SlowStore = %v; want the inner store's error %v", c.method, err, want)
				}
			})
		})
	}
}

func TestSlowStoreCancelledContext(t *testing.T) {
	const d = time.Hour
	for _, c := range storeCalls {
		t.Run(c.method, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				inner := &recordingStore{}
				s := fault.SlowStore(inner, d)
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				start := time.Now()
				err := c.call(ctx, s)
				if took := time.Since(start); took != 0 {
					t.Errorf("%s on SlowStore(%v) with a cancelled context took %v; want no wait", c.method, d, took)
				}
				checkCancelled(t, c.method, err)
				if got := inner.called(); len(got) != 0 {
					t.Errorf("%s on SlowStore with a cancelled context called %v on the inner store; want nothing", c.method, got)
				}
			})
		})
	}
}

func TestSlowStoreCancelledWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d, after = time.Hour, 5 * time.Millisecond
		inner := &recordingStore{}
		s := fault.SlowStore(inner, d)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		start := time.Now()
		time.AfterFunc(after, cancel)
		err := s.Ping(ctx)
		if took := time.Since(start); took != after {
			t.Errorf("Ping on SlowStore(%v) cancelled after %v returned after %v; want %v", d, after, took, after)
		}
		checkCancelled(t, "Ping", err)
		if got := inner.called(); len(got) != 0 {
			t.Errorf("a cancelled Ping on SlowStore called %v on the inner store; want nothing", got)
		}
	})
}

func checkCancelled(t *testing.T, method string, err error) {
	t.Helper()
	if !errors.Is(err, context.Canceled) || backend.ErrorCode(err) != backend.EINTERNAL {
		t.Errorf("%s on SlowStore with a cancelled context = %v (code %q); want an %s error wrapping context.Canceled",
			method, err, backend.ErrorCode(err), backend.EINTERNAL)
	}
}

func TestSlowStoreCloseDoesNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := &recordingStore{}
		s := fault.SlowStore(inner, time.Hour)
		start := time.Now()
		if err := s.Close(); err != nil || time.Since(start) != 0 {
			t.Errorf("Close on SlowStore(1h) = %v after %v; want no error, no wait", err, time.Since(start))
		}
		if got := inner.called(); len(got) != 1 || got[0] != "Close" {
			t.Errorf("Close on SlowStore called %v on the inner store; want [Close]", got)
		}
	})
}
