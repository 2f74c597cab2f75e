package agent_test

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// fakeStore is a map-backed backend.Store for this package's tests; the
// real one is tested by the store conformance suite and end to end.
type fakeStore struct {
	writeDelay time.Duration // each StartRun and AppendMessage takes this long (use in a synctest bubble)
	startErr   error         // StartRun fails with it
	appendErr  error         // AppendMessage fails with it

	mu       sync.Mutex
	users    map[string]backend.User // by lower-cased email
	threads  map[string]backend.Thread
	messages map[string][]backend.Message // by thread id
}

var _ backend.Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{users: map[string]backend.User{}, threads: map[string]backend.Thread{}, messages: map[string][]backend.Message{}}
}

func (s *fakeStore) wait(ctx context.Context) error {
	if s.writeDelay > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.writeDelay):
		}
	}
	return ctx.Err()
}

func (s *fakeStore) CreateUser(_ context.Context, u backend.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(u.Email)
	if _, ok := s.users[key]; ok {
		return backend.Errorf(backend.ECONFLICT, "fake: email taken")
	}
	s.users[key] = u
	return nil
}

func (s *fakeStore) UserByEmail(_ context.Context, email string) (backend.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[strings.ToLower(email)]; ok {
		return u, nil
	}
	return backend.User{}, backend.Errorf(backend.ENOTFOUND, "fake: no such user")
}

func (s *fakeStore) CreateThread(_ context.Context, t backend.Thread) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.threads[t.ID] = t
	return nil
}

func (s *fakeStore) Threads(_ context.Context, userID string) ([]backend.Thread, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ts []backend.Thread
	for _, t := range s.threads {
		if t.UserID == userID {
			ts = append(ts, t)
		}
	}
	return ts, nil
}

func (s *fakeStore) Thread(_ context.Context, userID, threadID string) (backend.Thread, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.threadLocked(userID, threadID)
}

func (s *fakeStore) threadLocked(userID, threadID string) (backend.Thread, error) {
	if t, ok := s.threads[threadID]; ok && t.UserID == userID {
		return t, nil
	}
	return backend.Thread{}, backend.Errorf(backend.ENOTFOUND, "fake: no thread %s of user %s", threadID, userID)
}

func (s *fakeStore) StartRun(ctx context.Context, t backend.Thread, create bool, m backend.Message) error {
	if err := s.wait(ctx); err != nil {
		return err
	} else if s.startErr != nil {
		return s.startErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if create {
		s.threads[t.ID] = t
	} else if _, err := s.threadLocked(m.UserID, t.ID); err != nil {
		return err
	}
	s.messages[m.ThreadID] = append(s.messages[m.ThreadID], m)
	return nil
}

func (s *fakeStore) AppendMessage(ctx context.Context, m backend.Message) error {
	if err := s.wait(ctx); err != nil {
		return err
	} else if s.appendErr != nil {
		return s.appendErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.threadLocked(m.UserID, m.ThreadID); err != nil {
		return err
	}
	s.messages[m.ThreadID] = append(s.messages[m.ThreadID], m)
	return nil
}

func (s *fakeStore) Messages(_ context.Context, userID, threadID string) ([]backend.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.threadLocked(userID, threadID); err != nil {
		return nil, err
	}
	return append([]backend.Message(nil), s.messages[threadID]...), nil
}

func (s *fakeStore) Ping(context.Context) error { return nil }
func (s *fakeStore) Close() error               { return nil }

// messageCount is the number of stored messages in all threads.
func (s *fakeStore) messageCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ms := range s.messages {
		n += len(ms)
	}
	return n
}

// event is one emitted event, with the (possibly fake) time it was emitted.
type event struct {
	typ  string
	data any
	at   time.Time
}

// ref returns the RunRef of a run event.
func (e event) ref() protocol.RunRef {
	switch d := e.data.(type) {
	case protocol.AgentStarted:
		return d.RunRef
	case protocol.AgentThinking:
		return d.RunRef
	case protocol.ToolExecuting:
		return d.RunRef
	case protocol.ToolCompleted:
		return d.RunRef
	case protocol.AgentCompleted:
		return d.RunRef
	case protocol.AgentError:
		return d.RunRef
	}
	return protocol.RunRef{}
}

// recorder is an Emitter that keeps every event; with failAt > 0 the
// failAt-th Emit and every later one fail, as on a closed connection.
type recorder struct {
	failAt int

	mu     sync.Mutex
	calls  int
	events []event
}

func (r *recorder) Emit(typ string, data any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failAt > 0 && r.calls >= r.failAt {
		return errConnClosed
	}
	r.events = append(r.events, event{typ: typ, data: data, at: time.Now()})
	return nil
}

var errConnClosed = backend.Errorf(backend.EUNAVAILABLE, "test: connection closed")

func (r *recorder) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

func (r *recorder) types() []string {
	var ts []string
	for _, e := range r.all() {
		ts = append(ts, e.typ)
	}
	return ts
}

// last returns the last event, or a zero event.
func (r *recorder) last() event {
	es := r.all()
	if len(es) == 0 {
		return event{}
	}
	return es[len(es)-1]
}
