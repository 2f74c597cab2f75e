package fault

import (
	"context"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// SlowStore returns a [backend.Store] whose every call first waits d (the
// slow-db fault), honouring the caller's context. With d <= 0 it returns
// inner unchanged.
func SlowStore(inner backend.Store, d time.Duration) backend.Store {
	if d <= 0 {
		return inner
	}
	return &slowStore{inner: inner, d: d}
}

type slowStore struct {
	inner backend.Store
	d     time.Duration
}

var _ backend.Store = (*slowStore)(nil)

func (s *slowStore) wait(ctx context.Context) error {
	t := time.NewTimer(s.d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return &backend.Error{Code: backend.EINTERNAL, Message: "database call cancelled", Err: ctx.Err()}
	}
}

func (s *slowStore) CreateUser(ctx context.Context, u backend.User) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.inner.CreateUser(ctx, u)
}

func (s *slowStore) UserByEmail(ctx context.Context, email string) (backend.User, error) {
	if err := s.wait(ctx); err != nil {
		return backend.User{}, err
	}
	return s.inner.UserByEmail(ctx, email)
}

func (s *slowStore) CreateThread(ctx context.Context, t backend.Thread) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.inner.CreateThread(ctx, t)
}

func (s *slowStore) Threads(ctx context.Context, userID string) ([]backend.Thread, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.inner.Threads(ctx, userID)
}

func (s *slowStore) Thread(ctx context.Context, userID, threadID string) (backend.Thread, error) {
	if err := s.wait(ctx); err != nil {
		return backend.Thread{}, err
	}
	return s.inner.Thread(ctx, userID, threadID)
}

func (s *slowStore) StartRun(ctx context.Context, t backend.Thread, create bool, m backend.Message) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.inner.StartRun(ctx, t, create, m)
}

func (s *slowStore) AppendMessage(ctx context.Context, m backend.Message) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.inner.AppendMessage(ctx, m)
}

func (s *slowStore) Messages(ctx context.Context, userID, threadID string) ([]backend.Message, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.inner.Messages(ctx, userID, threadID)
}

func (s *slowStore) Ping(ctx context.Context) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.inner.Ping(ctx)
}

func (s *slowStore) Close() error { return s.inner.Close() }
