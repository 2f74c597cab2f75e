// Package postgres is a [backend.Store] on PostgreSQL, through
// github.com/jackc/pgx/v5 and its connection pool, pgxpool.
//
// [Open] connects to the database a postgres:// URL names and applies the
// embedded schema migrations that it has not seen yet. The returned
// [*Store] keeps one pool of connections (see [WithPoolSize]): one is held
// by a single writer goroutine, and reads share the others.
//
// # Batched commits
//
// Every write (CreateUser, CreateThread, StartRun, AppendMessage) is queued
// for the writer goroutine, as in the SQLite store. It takes whatever
// writes are waiting, up to [DefaultMaxBatch] (see [WithMaxBatch]), and
// sends them to the server in one pipeline ended by a single Sync, which
// PostgreSQL runs as one transaction: one round trip and one commit (one
// WAL flush) for the whole batch. A lone caller pays nothing for it, since
// the writer never waits to fill a batch.
//
// Each write is one statement that checks what the [backend.Store]
// contract asks (a taken email, a thread that is not the caller's) and
// reports it in its result row instead of raising an error, so that a
// refused write does not abort the others of its batch (SQLite's store
// gives each write a SAVEPOINT for this). When a statement fails all the
// same — a NUL byte in a text, which PostgreSQL's text type cannot hold,
// or another process writing the same database — the server rolls the
// whole batch back, and the writer runs each of its writes again alone, so
// that only the failing one fails.
//
// Because one writer inserts every row, messages are listed in commit
// order. Two processes writing one database keep every guarantee but that
// one; run one backend per database.
//
// # Durability
//
// A write is acknowledged (its method returns nil) only after PostgreSQL
// has committed the transaction holding it; with the server's default
// synchronous_commit=on that is after its WAL record is flushed, so an
// acknowledged write survives a crash of the backend and of the database
// server. When the outcome of a batch is unknown (the connection broke or
// the batch timed out, see [WithWriteTimeout]), every write of it fails;
// none of them is acknowledged, though the server may have kept them.
//
// # Errors
//
// Methods return a [*backend.Error]: [backend.ECONFLICT] for a taken email or
// id, [backend.ENOTFOUND] for a missing record or one that belongs to another
// user, [backend.EINVALID] for input the store or the server refuses (a NUL
// byte, invalid UTF-8), and [backend.EINTERNAL], with the cause, for
// everything else, including an ended context (errors.Is(err,
// context.Canceled) holds). Messages name neither the driver nor the
// database: they may reach HTTP clients; causes never do.
package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// Store is a [backend.Store] on one PostgreSQL database. It is safe for
// concurrent use. Close it when done.
type Store struct {
	now  func() time.Time
	pool *pgxpool.Pool
	w    *writer

	// mu guards closed and the send side of w.ops: senders hold it for
	// reading, Close for writing, so ops is never closed under a sender.
	mu     sync.RWMutex
	closed bool
}

var _ backend.Store = (*Store)(nil)

// IsURL reports whether s is a URL that [Open] takes: one with the scheme
// postgres or postgresql.
func IsURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// Open connects to the database that dbURL names (postgres://user:password@
// host:port/database?sslmode=..., as libpq reads it), brings its schema up
// to date, and returns the store. A URL that does not parse is
// [backend.EINVALID]; a server that cannot be reached within the URL's
// connect_timeout (default [DefaultConnectTimeout]) is
// [backend.EUNAVAILABLE]. Neither error shows the URL's password.
func Open(ctx context.Context, dbURL string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if !IsURL(dbURL) {
		return nil, backend.Errorf(backend.EINVALID, "store: %q is not a postgres:// or postgresql:// URL", redact(dbURL))
	}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		// pgconn's parse errors redact the password themselves.
		return nil, &backend.Error{Code: backend.EINVALID, Message: "store: bad database URL", Err: err}
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	cfg.MaxConns = int32(o.poolSize)
	// Every connection is opened now and kept: the pool's size (and the
	// sockets it holds) is the same at rest as after any load, so a count
	// of the process's file descriptors shows leaks, not a pool growing.
	cfg.MinConns = int32(o.poolSize)
	cfg.MaxConnLifetime = 24 * time.Hour
	cfg.MaxConnIdleTime = 24 * time.Hour
	where := describe(cfg.ConnConfig)

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, &backend.Error{Code: backend.EINVALID, Message: "store: bad database URL", Err: err}
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, internal("connect to "+where, errors.Join(cerr, err))
		}
		return nil, &backend.Error{Code: backend.EUNAVAILABLE, Message: "store: cannot reach " + where, Err: err}
	}
	s := &Store{now: o.now, pool: pool}
	if err := fill(ctx, pool, o.poolSize); err != nil {
		pool.Close()
		return nil, internal("connect to "+where, err)
	}
	if _, err := migrate(ctx, pool, o.now().UnixNano()); err != nil {
		pool.Close()
		return nil, internal("migrate "+where, err)
	}
	if s.w, err = newWriter(ctx, pool, o.maxBatch, o.queueLen, o.writeTimeout); err != nil {
		pool.Close()
		return nil, internal("start writer", err)
	}
	return s, nil
}

// fill opens the pool's n connections now rather than in the background,
// so that the process holds as many sockets from its first request on.
func fill(ctx context.Context, pool *pgxpool.Pool, n int) error {
	conns := make([]*pgxpool.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range n {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	return nil
}

// describe names the database of cfg for messages: user, host, port and
// database, never the password.
func describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("database %q on %s:%d as %q", cfg.Database, cfg.Host, cfg.Port, cfg.User)
}

// redact returns s with any password of a URL's user information hidden.
func redact(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	at := strings.LastIndex(rest, "@")
	if slash := strings.Index(rest, "/"); at < 0 || (slash >= 0 && slash < at) {
		return s
	}
	user, _, hasPW := strings.Cut(rest[:at], ":")
	if !hasPW {
		return s
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// Ping checks that a reader and the writer's connection answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return internal("ping", err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		return s.readErr(ctx, "ping", err)
	}
	return s.write(ctx, pingOp())
}

// Close waits for the writes already queued to commit, stops the writer
// goroutine and closes the pool. Writes that arrive after Close has begun
// fail. Calling Close again returns an error.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.w.close()
	s.pool.Close()
	return nil
}

var errClosed = backend.Errorf(backend.EINTERNAL, "store: store is closed")

// internal wraps err as an internal error of the operation what.
func internal(what string, err error) error {
	return &backend.Error{Code: backend.EINTERNAL, Message: "store: " + what, Err: err}
}

// mapError turns the server's refusal of one write into the error its
// caller gets: a unique or foreign key violation (another process's write
// in the way) is a conflict or a missing record, as the statement's own
// checks would have said; a data exception (a NUL byte, invalid UTF-8) is
// invalid input; anything else is internal.
func mapError(what string, err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return internal(what, err)
	}
	switch {
	case pe.Code == "23505": // unique_violation
		return &backend.Error{Code: backend.ECONFLICT, Message: what + ": a record with that id or email exists", Err: err}
	case pe.Code == "23503": // foreign_key_violation
		return &backend.Error{Code: backend.ENOTFOUND, Message: what + ": the user or thread it refers to is not there", Err: err}
	case strings.HasPrefix(pe.Code, "22"), pe.Code == "23514": // data_exception, check_violation
		return &backend.Error{Code: backend.EINVALID, Message: what + ": " + invalidText(pe), Err: err}
	}
	return internal(what, err)
}

// invalidText says what the server refused, in words for a client.
func invalidText(pe *pgconn.PgError) string {
	switch pe.Code {
	case "22021": // character_not_in_repertoire
		return "text holds a NUL byte or invalid UTF-8"
	case "22001": // string_data_right_truncation
		return "text too long"
	}
	return "value refused"
}

// readErr wraps a failed read as internal, naming the context's error too
// when the context has ended.
func (s *Store) readErr(ctx context.Context, what string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return internal(what, err)
}

// severity is a server error's severity, untranslated where the server
// sends both.
func severity(pe *pgconn.PgError) string { return cmp.Or(pe.SeverityUnlocalized, pe.Severity) }
