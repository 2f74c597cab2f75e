package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// The write statements. Each checks what the Store contract asks for
// (ownership, taken ids) itself and reports it in its one row rather than
// raising an error, which would roll back the whole batch it is part of.
// Within a batch the statements run in order, each seeing the ones before.
// The ON CONFLICT clauses and the unique indexes stay the last word when
// another process writes the same database.
const (
	// insertUserSQL returns (inserted, id taken before).
	insertUserSQL = `WITH ins AS (
		INSERT INTO users (id, email, password_hash, created_at)
		VALUES ($1::text, $2::text, $3::bytea, $4::bigint)
		ON CONFLICT DO NOTHING
		RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM ins), EXISTS (SELECT 1 FROM users WHERE id = $1::text)`

	// insertThreadSQL returns (thread id taken, user found, inserted).
	insertThreadSQL = `WITH ok AS (
		SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1::text) AS taken,
		       EXISTS (SELECT 1 FROM users WHERE id = $2::text) AS user_found),
	ins AS (
		INSERT INTO threads (id, user_id, title, created_at)
		SELECT $1::text, $2::text, $3::text, $4::bigint FROM ok WHERE NOT taken AND user_found
		ON CONFLICT DO NOTHING
		RETURNING 1)
	SELECT taken, user_found, EXISTS (SELECT 1 FROM ins) FROM ok`

	// startRunSQL inserts a thread and its first message, both or
	// neither, and returns (thread id taken, user found, message id
	// taken, inserted).
	startRunSQL = `WITH ok AS (
		SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1::text) AS taken,
		       EXISTS (SELECT 1 FROM users WHERE id = $2::text) AS user_found,
		       EXISTS (SELECT 1 FROM messages WHERE id = $5::text) AS message_taken),
	t AS (
		INSERT INTO threads (id, user_id, title, created_at)
		SELECT $1::text, $2::text, $3::text, $4::bigint FROM ok
		WHERE NOT taken AND user_found AND NOT message_taken
		RETURNING id),
	m AS (
		INSERT INTO messages (id, thread_id, user_id, role, content, message_id, created_at)
		SELECT $5::text, t.id, $2::text, $6::text, $7::text, $8::text, $9::bigint FROM t
		RETURNING 1)
	SELECT taken, user_found, message_taken, EXISTS (SELECT 1 FROM m) FROM ok`

	// insertMessageSQL inserts the message only when its thread belongs to
	// its user and its id is free, and returns (own thread, id taken,
	// inserted).
	insertMessageSQL = `WITH ok AS (
		SELECT EXISTS (SELECT 1 FROM threads WHERE id = $2::text AND user_id = $3::text) AS own,
		       EXISTS (SELECT 1 FROM messages WHERE id = $1::text) AS taken),
	ins AS (
		INSERT INTO messages (id, thread_id, user_id, role, content, message_id, created_at)
		SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint FROM ok
		WHERE own AND NOT taken
		ON CONFLICT DO NOTHING
		RETURNING 1)
	SELECT own, taken, EXISTS (SELECT 1 FROM ins) FROM ok`
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
	return s.write(ctx, &op{
		what: "create user",
		sql:  insertUserSQL,
		args: []any{u.ID, u.Email, hash, u.CreatedAt.UnixNano()},
		outcome: func(row pgx.Row) (error, error) {
			var inserted, idTaken bool
			if err := row.Scan(&inserted, &idTaken); err != nil {
				return nil, err
			}
			switch {
			case inserted:
				return nil, nil
			case idTaken:
				return backend.Errorf(backend.ECONFLICT, "user %q exists", u.ID), nil
			}
			return backend.Errorf(backend.ECONFLICT, "email %q is taken", u.Email), nil
		},
	})
}

// CreateThread stores t. A taken id is [backend.ECONFLICT]; an unknown
// user is [backend.ENOTFOUND]. A zero CreatedAt is set from the store's
// clock.
func (s *Store) CreateThread(ctx context.Context, t backend.Thread) error {
	t.CreatedAt = s.stamp(t.CreatedAt)
	return s.write(ctx, &op{
		what: "create thread",
		sql:  insertThreadSQL,
		args: []any{t.ID, t.UserID, t.Title, t.CreatedAt.UnixNano()},
		outcome: func(row pgx.Row) (error, error) {
			var taken, userFound, inserted bool
			if err := row.Scan(&taken, &userFound, &inserted); err != nil {
				return nil, err
			}
			switch {
			case inserted:
				return nil, nil
			case !userFound:
				return backend.Errorf(backend.ENOTFOUND, "user %q not found", t.UserID), nil
			}
			return backend.Errorf(backend.ECONFLICT, "thread %q exists", t.ID), nil
		},
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
		return backend.Errorf(backend.EINVALID, "start run: message of thread %q by %q is not for the new thread %q by %q",
			m.ThreadID, m.UserID, t.ID, t.UserID)
	}
	m.CreatedAt = s.stamp(m.CreatedAt)
	if !create {
		return s.write(ctx, appendOp("start run", m))
	}
	t.CreatedAt = s.stamp(t.CreatedAt)
	return s.write(ctx, &op{
		what: "start run",
		sql:  startRunSQL,
		args: []any{t.ID, t.UserID, t.Title, t.CreatedAt.UnixNano(),
			m.ID, m.Role, m.Content, m.MessageID, m.CreatedAt.UnixNano()},
		outcome: func(row pgx.Row) (error, error) {
			var taken, userFound, messageTaken, inserted bool
			if err := row.Scan(&taken, &userFound, &messageTaken, &inserted); err != nil {
				return nil, err
			}
			switch {
			case inserted:
				return nil, nil
			case taken:
				return backend.Errorf(backend.ECONFLICT, "thread %q exists", t.ID), nil
			case !userFound:
				return backend.Errorf(backend.ENOTFOUND, "user %q not found", t.UserID), nil
			}
			return backend.Errorf(backend.ECONFLICT, "message %q exists", m.ID), nil
		},
	})
}

// AppendMessage commits m to a thread of m.UserID, else
// [backend.ENOTFOUND]. A taken message id is [backend.ECONFLICT].
func (s *Store) AppendMessage(ctx context.Context, m backend.Message) error {
	if err := checkMessage(m); err != nil {
		return err
	}
	m.CreatedAt = s.stamp(m.CreatedAt)
	return s.write(ctx, appendOp("append message", m))
}

// appendOp inserts m into an existing thread of m.UserID.
func appendOp(what string, m backend.Message) *op {
	return &op{
		what: what,
		sql:  insertMessageSQL,
		args: []any{m.ID, m.ThreadID, m.UserID, m.Role, m.Content, m.MessageID, m.CreatedAt.UnixNano()},
		outcome: func(row pgx.Row) (error, error) {
			var own, taken, inserted bool
			if err := row.Scan(&own, &taken, &inserted); err != nil {
				return nil, err
			}
			switch {
			case inserted:
				return nil, nil
			case !own:
				return backend.Errorf(backend.ENOTFOUND, "thread %q not found", m.ThreadID), nil
			}
			return backend.Errorf(backend.ECONFLICT, "message %q exists", m.ID), nil
		},
	}
}

// pingOp checks that the writer's connection answers.
func pingOp() *op {
	return &op{
		what: "ping",
		sql:  `SELECT 1`,
		outcome: func(row pgx.Row) (error, error) {
			var one int
			return nil, row.Scan(&one)
		},
	}
}

// checkMessage refuses a message with a role the schema would refuse.
func checkMessage(m backend.Message) error {
	if m.Role != backend.RoleUser && m.Role != backend.RoleAssistant {
		return backend.Errorf(backend.EINVALID, "message role %q, want %q or %q", m.Role, backend.RoleUser, backend.RoleAssistant)
	}
	return nil
}

// stamp returns t in UTC, or the store's clock when t is zero.
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = s.now()
	}
	return t.UTC()
}

// write queues o for the writer and waits for its outcome. The context
// bounds the wait in the queue; once the writer has claimed the op, write
// waits for it to commit or fail.
func (s *Store) write(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return internal(o.what, err)
	}
	o.done = make(chan error, 1)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	select {
	case s.w.ops <- o:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return internal(o.what, ctx.Err())
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opCanceled) {
			return internal(o.what, ctx.Err())
		}
		return <-o.done
	}
}
