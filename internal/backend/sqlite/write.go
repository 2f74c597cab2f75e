package sqlite

import (
	"context"
	"errors"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

const (
	insertUserSQL = `INSERT INTO users (id, email, password_hash, created_at)
		VALUES (?, ?, ?, ?)`
	insertThreadSQL = `INSERT INTO threads (id, user_id, title, created_at)
		VALUES (?, ?, ?, ?)`
	// insertMessageSQL inserts the message only when its thread belongs to
	// its user; it affects no row otherwise.
	insertMessageSQL = `INSERT INTO messages
		(id, thread_id, user_id, role, content, message_id, created_at)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
		WHERE EXISTS (SELECT 1 FROM threads WHERE id = ?2 AND user_id = ?3)`
)

// CreateUser stores u with its email lower-cased. A taken email, compared
// case-insensitively, or a taken id is [backend.ECONFLICT]. A zero CreatedAt
// is set from the store's clock.
func (s *Store) CreateUser(ctx context.Context, u backend.User) error {
	u.Email = strings.ToLower(u.Email)
	u.CreatedAt = s.stamp(u.CreatedAt)
	hash := u.PasswordHash
	if hash == nil {
		hash = []byte{}
	}
	return s.write(ctx, "create user", func(wc *writeConn) error {
		_, err := wc.insertUserStmt.Exec(u.ID, u.Email, hash, u.CreatedAt.UnixNano())
		switch code := constraint(err); {
		case err == nil:
			return nil
		case code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return backend.Errorf(backend.ECONFLICT, "sqlite: user %q exists", u.ID)
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return backend.Errorf(backend.ECONFLICT, "sqlite: email %q is taken", u.Email)
		}
		return internal("create user", err)
	})
}

// CreateThread stores t. A taken id is [backend.ECONFLICT]; an unknown
// user is [backend.ENOTFOUND]. A zero CreatedAt is set from the store's
// clock.
func (s *Store) CreateThread(ctx context.Context, t backend.Thread) error {
	t.CreatedAt = s.stamp(t.CreatedAt)
	return s.write(ctx, "create thread", func(wc *writeConn) error {
		return wc.insertThread(t)
	})
}

// StartRun commits, in one transaction, the thread t when create is true
// and the user message m. When create is false the thread m.ThreadID must
// exist and belong to m.UserID, else [backend.ENOTFOUND] and nothing is
// written. When create is true, t must have the ID m.ThreadID and the user
// m.UserID, else [backend.EINVALID]; a taken thread or message id is
// [backend.ECONFLICT], and again nothing is written.
func (s *Store) StartRun(ctx context.Context, t backend.Thread, create bool, m backend.Message) error {
	if err := checkMessage(m); err != nil {
		return err
	}
	if create && (m.ThreadID != t.ID || m.UserID != t.UserID) {
		return backend.Errorf(backend.EINVALID, "sqlite: start run: message of thread %q by %q is not for the new thread %q by %q",
			m.ThreadID, m.UserID, t.ID, t.UserID)
	}
	t.CreatedAt = s.stamp(t.CreatedAt)
	m.CreatedAt = s.stamp(m.CreatedAt)
	return s.write(ctx, "start run", func(wc *writeConn) error {
		if create {
			if err := wc.insertThread(t); err != nil {
				return err
			}
		}
		return wc.insertMessage(m)
	})
}

// AppendMessage commits m to a thread of m.UserID, else
// [backend.ENOTFOUND]. A taken message id is [backend.ECONFLICT].
func (s *Store) AppendMessage(ctx context.Context, m backend.Message) error {
	if err := checkMessage(m); err != nil {
		return err
	}
	m.CreatedAt = s.stamp(m.CreatedAt)
	return s.write(ctx, "append message", func(wc *writeConn) error {
		return wc.insertMessage(m)
	})
}

func (wc *writeConn) insertThread(t backend.Thread) error {
	_, err := wc.insertThreadStmt.Exec(t.ID, t.UserID, t.Title, t.CreatedAt.UnixNano())
	switch code := constraint(err); {
	case err == nil:
		return nil
	case code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return backend.Errorf(backend.ECONFLICT, "sqlite: thread %q exists", t.ID)
	case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return backend.Errorf(backend.ENOTFOUND, "sqlite: user %q not found", t.UserID)
	}
	return internal("insert thread", err)
}

func (wc *writeConn) insertMessage(m backend.Message) error {
	res, err := wc.insertMessageStmt.Exec(m.ID, m.ThreadID, m.UserID, m.Role, m.Content, m.MessageID, m.CreatedAt.UnixNano())
	if code := constraint(err); code == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return backend.Errorf(backend.ECONFLICT, "sqlite: message %q exists", m.ID)
	} else if err != nil {
		return internal("insert message", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return internal("insert message", err)
	}
	if n == 0 {
		return backend.Errorf(backend.ENOTFOUND, "sqlite: thread %q not found", m.ThreadID)
	}
	return nil
}

// checkMessage refuses a message with a role the schema would refuse.
func checkMessage(m backend.Message) error {
	if m.Role != backend.RoleUser && m.Role != backend.RoleAssistant {
		return backend.Errorf(backend.EINVALID, "sqlite: message role %q, want %q or %q", m.Role, backend.RoleUser, backend.RoleAssistant)
	}
	return nil
}

// constraint returns the extended result code of a constraint violation in
// err, or 0 when err is nil or not a constraint violation.
func constraint(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return e.Code()
	}
	return 0
}

// stamp returns t in UTC, or the store's clock when t is zero.
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = s.now()
	}
	return t.UTC()
}
