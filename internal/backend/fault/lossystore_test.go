package fault_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/backend/sqlite"
)

// TestLossyStore writes questions and answers through LossyStore into a real
// SQLite store and reads them back: one answer in N is missing (lose-writes)
// or there twice (duplicate-writes); questions are never touched, and with
// both off the store is the inner one.
func TestLossyStore(t *testing.T) {
	tests := []struct {
		lose, dup     int
		wantAnswers   int // stored answers after 6 runs
		wantDistinct  int // distinct message_ids among them
		wantQuestions int
	}{
		{0, 0, 6, 6, 6},
		{3, 0, 4, 4, 6},
		{0, 3, 8, 6, 6},
		{2, 0, 3, 3, 6},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("lose=%d,dup=%d", tt.lose, tt.dup), func(t *testing.T) {
			ctx := t.Context()
			db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gp.db"))
			if err != nil {
				t.Fatalf("sqlite.Open = %v", err)
			}
			defer db.Close()
			s := fault.LossyStore(db, tt.lose, tt.dup)
			if tt.lose == 0 && tt.dup == 0 && s != backend.Store(db) {
				t.Errorf("LossyStore(db, 0, 0) = %T; want db itself", s)
			}
			now := time.Now()
			u := backend.User{ID: "u_1", Email: "a@example.com", PasswordHash: []byte("x"), CreatedAt: now}
			th := backend.Thread{ID: "t_1", UserID: u.ID, Title: "t", CreatedAt: now}
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatalf("CreateUser = %v", err)
			}
			for i := range 6 {
				mid := fmt.Sprintf("run-%d", i)
				q := backend.Message{ID: "q_" + mid, ThreadID: th.ID, UserID: u.ID, Role: backend.RoleUser, Content: "q", MessageID: mid, CreatedAt: now}
				if err := s.StartRun(ctx, th, i == 0, q); err != nil {
					t.Fatalf("StartRun(%s) = %v", mid, err)
				}
				a := backend.Message{ID: "a_" + mid, ThreadID: th.ID, UserID: u.ID, Role: backend.RoleAssistant, Content: "a", MessageID: mid, CreatedAt: now}
				if err := s.AppendMessage(ctx, a); err != nil {
					t.Fatalf("AppendMessage(%s) = %v; want nil, acknowledged whatever the fault does", mid, err)
				}
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
			if answers != tt.wantAnswers || len(distinct) != tt.wantDistinct || questions != tt.wantQuestions {
				t.Errorf("read back %d answers (%d distinct runs) and %d questions; want %d (%d) and %d",
					answers, len(distinct), questions, tt.wantAnswers, tt.wantDistinct, tt.wantQuestions)
			}
		})
	}
}
