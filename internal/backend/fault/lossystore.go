package fault

import (
	"context"
	"sync/atomic"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// LossyStore returns a [backend.Store] that mishandles the agent's answers
// (the assistant messages of AppendMessage): with loseN > 0 one answer in
// loseN is acknowledged but never written (the lose-writes fault), and with
// dupN > 0 one in dupN is written twice, the second time under the row id
// with "-dup" appended (duplicate-writes). Every other call passes through.
// With both at most 0 it returns inner unchanged.
func LossyStore(inner backend.Store, loseN, dupN int) backend.Store {
	if loseN <= 0 && dupN <= 0 {
		return inner
	}
	return &lossyStore{Store: inner, loseN: int64(loseN), dupN: int64(dupN)}
}

type lossyStore struct {
	backend.Store
	loseN, dupN int64
	answers     atomic.Int64 // assistant messages seen, across every user: the Nth is mishandled
}

func (s *lossyStore) AppendMessage(ctx context.Context, m backend.Message) error {
	if m.Role != backend.RoleAssistant {
		return s.Store.AppendMessage(ctx, m)
	}
	n := s.answers.Add(1)
	if s.loseN > 0 && n%s.loseN == 0 {
		return nil // acknowledged, not stored
	}
	if err := s.Store.AppendMessage(ctx, m); err != nil {
		return err
	}
	if s.dupN > 0 && n%s.dupN == 0 {
		dup := m
		dup.ID += "-dup"
		return s.Store.AppendMessage(ctx, dup)
	}
	return nil
}
