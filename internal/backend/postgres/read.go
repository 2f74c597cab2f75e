package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// The lookups. pgx prepares each once per connection and caches it.
const (
	userByEmailSQL = `SELECT id, email, password_hash, created_at FROM users WHERE email = $1`
	userByIDSQL    = `SELECT id, email, password_hash, created_at FROM users WHERE id = $1`
	threadsSQL     = `SELECT id, user_id, title, created_at
		FROM threads WHERE user_id = $1 ORDER BY created_at, seq`
	threadSQL = `SELECT id, user_id, title, created_at
		FROM threads WHERE id = $1 AND user_id = $2`
	// messagesSQL answers both "is it the caller's thread" (no row when
	// not) and "its messages" (one row of NULLs when none).
	messagesSQL = `SELECT m.id, m.user_id, m.role, m.content, m.message_id, m.created_at
		FROM threads t LEFT JOIN messages m ON m.thread_id = t.id
		WHERE t.id = $1 AND t.user_id = $2
		ORDER BY m.seq`
)

// UserByEmail returns the user with that email, compared
// case-insensitively, or [backend.ENOTFOUND].
func (s *Store) UserByEmail(ctx context.Context, email string) (backend.User, error) {
	if err := ctx.Err(); err != nil {
		return backend.User{}, internal("user by email", err)
	}
	email = strings.ToLower(email)
	u, err := s.user(ctx, userByEmailSQL, email)
	if errors.Is(err, pgx.ErrNoRows) {
		return backend.User{}, backend.Errorf(backend.ENOTFOUND, "no user with email %q", email)
	} else if err != nil {
		return backend.User{}, s.readErr(ctx, "user by email", err)
	}
	return u, nil
}

// UserByID returns the user with that id, or [backend.ENOTFOUND].
func (s *Store) UserByID(ctx context.Context, id string) (backend.User, error) {
	if err := ctx.Err(); err != nil {
		return backend.User{}, internal("user by id", err)
	}
	u, err := s.user(ctx, userByIDSQL, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return backend.User{}, backend.Errorf(backend.ENOTFOUND, "no user with id %q", id)
	} else if err != nil {
		return backend.User{}, s.readErr(ctx, "user by id", err)
	}
	return u, nil
}

// user reads the one user that query finds by arg.
func (s *Store) user(ctx context.Context, query, arg string) (backend.User, error) {
	var u backend.User
	var at int64
	if err := s.pool.QueryRow(ctx, query, arg).Scan(&u.ID, &u.Email, &u.PasswordHash, &at); err != nil {
		return backend.User{}, err
	}
	u.CreatedAt = fromNanos(at)
	return u, nil
}

// Threads lists a user's threads, oldest first; threads created at the
// same instant are listed in commit order. A user without threads, or an
// unknown user, has an empty list.
func (s *Store) Threads(ctx context.Context, userID string) ([]backend.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, internal("threads", err)
	}
	rows, err := s.pool.Query(ctx, threadsSQL, userID)
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
	if err := ctx.Err(); err != nil {
		return backend.Thread{}, internal("thread", err)
	}
	var t backend.Thread
	var at int64
	err := s.pool.QueryRow(ctx, threadSQL, threadID, userID).Scan(&t.ID, &t.UserID, &t.Title, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return backend.Thread{}, backend.Errorf(backend.ENOTFOUND, "thread %q not found", threadID)
	} else if err != nil {
		return backend.Thread{}, s.readErr(ctx, "thread", err)
	}
	t.CreatedAt = fromNanos(at)
	return t, nil
}

// Messages lists a thread's messages in commit order when the thread
// belongs to userID, else [backend.ENOTFOUND].
func (s *Store) Messages(ctx context.Context, userID, threadID string) ([]backend.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, internal("messages", err)
	}
	rows, err := s.pool.Query(ctx, messagesSQL, threadID, userID)
	if err != nil {
		return nil, s.readErr(ctx, "messages", err)
	}
	defer rows.Close()
	ms := []backend.Message{}
	found := false
	for rows.Next() {
		found = true
		var id, user, role, content, messageID *string
		var at *int64
		if err := rows.Scan(&id, &user, &role, &content, &messageID, &at); err != nil {
			return nil, s.readErr(ctx, "messages", err)
		}
		if id == nil {
			continue // the thread has no messages
		}
		ms = append(ms, backend.Message{
			ID:        *id,
			ThreadID:  threadID,
			UserID:    *user,
			Role:      *role,
			Content:   *content,
			MessageID: *messageID,
			CreatedAt: fromNanos(*at),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(ctx, "messages", err)
	}
	if !found {
		return nil, backend.Errorf(backend.ENOTFOUND, "thread %q not found", threadID)
	}
	return ms, nil
}

// fromNanos returns the UTC time n nanoseconds after the Unix epoch.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
