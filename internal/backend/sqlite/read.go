package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// readStmts are the lookups, prepared once on the reader pool (database/sql
// prepares them again on each connection as it first uses them).
type readStmts struct {
	ping, userByEmail, threads, thread, messages *sql.Stmt
}

func (r *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	stmts := []struct {
		dst   **sql.Stmt
		query string
	}{
		{&r.ping, `SELECT 1`},
		{&r.userByEmail, `SELECT id, email, password_hash, created_at
			FROM users WHERE email = ?`},
		{&r.threads, `SELECT id, user_id, title, created_at
			FROM threads WHERE user_id = ? ORDER BY created_at, rowid`},
		{&r.thread, `SELECT id, user_id, title, created_at
			FROM threads WHERE id = ? AND user_id = ?`},
		// One query answers both "is it the caller's thread" (no row
		// when not) and "its messages" (one row of NULLs when none).
		{&r.messages, `SELECT m.id, m.user_id, m.role, m.content, m.message_id, m.created_at
			FROM threads t LEFT JOIN messages m ON m.thread_id = t.id
			WHERE t.id = ?1 AND t.user_id = ?2
			ORDER BY m.seq`},
	}
	for _, st := range stmts {
		var err error
		if *st.dst, err = db.PrepareContext(ctx, st.query); err != nil {
			return err
		}
	}
	return nil
}

func (r *readStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{r.ping, r.userByEmail, r.threads, r.thread, r.messages} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// UserByEmail returns the user with that email, compared
// case-insensitively, or [backend.ENOTFOUND].
func (s *Store) UserByEmail(ctx context.Context, email string) (backend.User, error) {
	email = strings.ToLower(email)
	var u backend.User
	var at int64
	err := s.r.userByEmail.QueryRowContext(ctx, email).Scan(&u.ID, &u.Email, &u.PasswordHash, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return backend.User{}, backend.Errorf(backend.ENOTFOUND, "sqlite: no user with email %q", email)
	} else if err != nil {
		return backend.User{}, s.readErr(ctx, "user by email", err)
	}
	u.CreatedAt = fromNanos(at)
	return u, nil
}

// Threads lists a user's threads, oldest first; threads created at the
// same instant are listed in commit order. A user without threads, or an
// unknown user, has an empty list.
func (s *Store) Threads(ctx context.Context, userID string) ([]backend.Thread, error) {
	rows, err := s.r.threads.QueryContext(ctx, userID)
	if err != nil {
		return nil, s.readErr(ctx, "threads", err)
	}
	defer rows.Close()
	ts := []backend.Thread{}
	for rows.Next() {
		var t backend.Thread
		var at int64
		if err := rows.Scan(&t.ID, &t.UserID, &t.Title, &at); err != nil {
			return nil, s.readErr(ctx, "threads", err)
		}
		t.CreatedAt = fromNanos(at)
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(ctx, "threads", err)
	}
	return ts, nil
}

// Thread returns the thread when it exists and belongs to userID, else
// [backend.ENOTFOUND].
func (s *Store) Thread(ctx context.Context, userID, threadID string) (backend.Thread, error) {
	var t backend.Thread
	var at int64
	err := s.r.thread.QueryRowContext(ctx, threadID, userID).Scan(&t.ID, &t.UserID, &t.Title, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return backend.Thread{}, backend.Errorf(backend.ENOTFOUND, "sqlite: thread %q not found", threadID)
	} else if err != nil {
		return backend.Thread{}, s.readErr(ctx, "thread", err)
	}
	t.CreatedAt = fromNanos(at)
	return t, nil
}

// Messages lists a thread's messages in commit order when the thread
// belongs to userID, else [backend.ENOTFOUND].
func (s *Store) Messages(ctx context.Context, userID, threadID string) ([]backend.Message, error) {
	rows, err := s.r.messages.QueryContext(ctx, threadID, userID)
	if err != nil {
		return nil, s.readErr(ctx, "messages", err)
	}
	defer rows.Close()
	var ms []backend.Message
	found := false
	for rows.Next() {
		found = true
		var id, user, role, content, messageID sql.NullString
		var at sql.NullInt64
		if err := rows.Scan(&id, &user, &role, &content, &messageID, &at); err != nil {
			return nil, s.readErr(ctx, "messages", err)
		}
		if !id.Valid {
			continue // the thread has no messages
		}
		ms = append(ms, backend.Message{
			ID:        id.String,
			ThreadID:  threadID,
			UserID:    user.String,
			Role:      role.String,
			Content:   content.String,
			MessageID: messageID.String,
			CreatedAt: fromNanos(at.Int64),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(ctx, "messages", err)
	}
	if !found {
		return nil, backend.Errorf(backend.ENOTFOUND, "sqlite: thread %q not found", threadID)
	}
	if ms == nil {
		ms = []backend.Message{}
	}
	return ms, nil
}

// readErr wraps a failed read as internal, naming the context's error too
// when the context has ended (SQLite reports only "interrupted").
func (s *Store) readErr(ctx context.Context, what string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return internal(what, err)
}

// fromNanos returns the UTC time n nanoseconds after the Unix epoch.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
