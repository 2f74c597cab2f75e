package storetest_test

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/storetest"
)

// TestMapStore runs the suite on a minimal map-based store, so that the
// suite itself is checked against a second implementation and assumes
// nothing that only SQLite does.
func TestMapStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) backend.Store { return newMapStore() })
}

// mapStore is the simplest correct Store: maps under one mutex.
type mapStore struct {
	mu       sync.Mutex
	closed   bool
	users    map[string]backend.User // by lower-cased email
	userIDs  map[string]bool
	threads  map[string]*mapThread
	msgIDs   map[string]bool
	nthreads int
}

type mapThread struct {
	t    backend.Thread
	n    int // creation order
	msgs []backend.Message
}

func newMapStore() *mapStore {
	return &mapStore{
		users: map[string]backend.User{}, userIDs: map[string]bool{},
		threads: map[string]*mapThread{}, msgIDs: map[string]bool{},
	}
}

// lock takes the mutex after checking ctx, and refuses a closed store.
func (s *mapStore) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return &backend.Error{Code: backend.EINTERNAL, Message: "map: canceled", Err: err}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return backend.Errorf(backend.EINTERNAL, "map: closed")
	}
	return nil
}

func (s *mapStore) CreateUser(ctx context.Context, u backend.User) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u.Email = strings.ToLower(u.Email)
	if _, ok := s.users[u.Email]; ok || s.userIDs[u.ID] {
		return backend.Errorf(backend.ECONFLICT, "map: taken")
	}
	s.users[u.Email], s.userIDs[u.ID] = u, true
	return nil
}

func (s *mapStore) UserByEmail(ctx context.Context, email string) (backend.User, error) {
	if err := s.lock(ctx); err != nil {
		return backend.User{}, err
	}
	defer s.mu.Unlock()
	u, ok := s.users[strings.ToLower(email)]
	if !ok {
		return backend.User{}, backend.Errorf(backend.ENOTFOUND, "map: no user")
	}
	return u, nil
}

func (s *mapStore) createThread(t backend.Thread) error {
	if _, ok := s.threads[t.ID]; ok {
		return backend.Errorf(backend.ECONFLICT, "map: thread exists")
	}
	s.nthreads++
	s.threads[t.ID] = &mapThread{t: t, n: s.nthreads}
	return nil
}

func (s *mapStore) CreateThread(ctx context.Context, t backend.Thread) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.createThread(t)
}

func (s *mapStore) Threads(ctx context.Context, userID string) ([]backend.Thread, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var ts []*mapThread
	for _, th := range s.threads {
		if th.t.UserID == userID {
			ts = append(ts, th)
		}
	}
	slices.SortFunc(ts, func(a, b *mapThread) int {
		return cmp.Or(a.t.CreatedAt.Compare(b.t.CreatedAt), cmp.Compare(a.n, b.n))
	})
	var out []backend.Thread
	for _, th := range ts {
		out = append(out, th.t)
	}
	return out, nil
}

// own returns userID's thread, or nil.
func (s *mapStore) own(userID, threadID string) *mapThread {
	if th := s.threads[threadID]; th != nil && th.t.UserID == userID {
		return th
	}
	return nil
}

func (s *mapStore) Thread(ctx context.Context, userID, threadID string) (backend.Thread, error) {
	if err := s.lock(ctx); err != nil {
		return backend.Thread{}, err
	}
	defer s.mu.Unlock()
	if th := s.own(userID, threadID); th != nil {
		return th.t, nil
	}
	return backend.Thread{}, backend.Errorf(backend.ENOTFOUND, "map: no thread")
}

// appendMessage checks everything before it writes anything.
func (s *mapStore) appendMessage(m backend.Message) error {
	th := s.own(m.UserID, m.ThreadID)
	if th == nil {
		return backend.Errorf(backend.ENOTFOUND, "map: no thread")
	}
	if s.msgIDs[m.ID] {
		return backend.Errorf(backend.ECONFLICT, "map: message exists")
	}
	s.msgIDs[m.ID] = true
	th.msgs = append(th.msgs, m)
	return nil
}

func (s *mapStore) StartRun(ctx context.Context, t backend.Thread, create bool, m backend.Message) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if create {
		if s.msgIDs[m.ID] || t.ID != m.ThreadID || t.UserID != m.UserID {
			return backend.Errorf(backend.ECONFLICT, "map: refused")
		}
		if err := s.createThread(t); err != nil {
			return err
		}
	}
	return s.appendMessage(m)
}

func (s *mapStore) AppendMessage(ctx context.Context, m backend.Message) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.appendMessage(m)
}

func (s *mapStore) Messages(ctx context.Context, userID, threadID string) ([]backend.Message, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	th := s.own(userID, threadID)
	if th == nil {
		return nil, backend.Errorf(backend.ENOTFOUND, "map: no thread")
	}
	return slices.Clone(th.msgs), nil
}

func (s *mapStore) Ping(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

func (s *mapStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
