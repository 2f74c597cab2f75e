package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
)

// Op states: a queued op is claimed by the writer or canceled by its caller,
// whichever comes first.
const (
	opQueued int32 = iota
	opClaimed
	opCanceled
)

// op is one queued write.
type op struct {
	fn    func(*writeConn) error
	state atomic.Int32
	done  chan error // buffered: the writer never blocks on a caller
}

// writeConn is the writer's connection and its prepared statements. Only
// the writer goroutine uses it.
type writeConn struct {
	conn                                                *sql.Conn
	begin, commit, rollback                             *sql.Stmt
	savepoint, release, rollbackTo                      *sql.Stmt
	insertUserStmt, insertThreadStmt, insertMessageStmt *sql.Stmt
}

// writer is the goroutine that owns the write connection and commits
// queued ops in batches.
type writer struct {
	wc       writeConn
	ops      chan *op
	maxBatch int
	done     chan struct{} // closed when the goroutine has returned
}

// newWriter takes the single connection of db, prepares the write
// statements on it, and starts the writer goroutine.
func newWriter(ctx context.Context, db *sql.DB, maxBatch, queueLen int) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{
		wc:       writeConn{conn: conn},
		ops:      make(chan *op, queueLen),
		maxBatch: maxBatch,
		done:     make(chan struct{}),
	}
	stmts := []struct {
		dst   **sql.Stmt
		query string
	}{
		{&w.wc.begin, `BEGIN IMMEDIATE`},
		{&w.wc.commit, `COMMIT`},
		{&w.wc.rollback, `ROLLBACK`},
		{&w.wc.savepoint, `SAVEPOINT op`},
		{&w.wc.release, `RELEASE op`},
		{&w.wc.rollbackTo, `ROLLBACK TO op`},
		{&w.wc.insertUserStmt, insertUserSQL},
		{&w.wc.insertThreadStmt, insertThreadSQL},
		{&w.wc.insertMessageStmt, insertMessageSQL},
	}
	for _, st := range stmts {
		if *st.dst, err = conn.PrepareContext(ctx, st.query); err != nil {
			w.wc.close()
			return nil, err
		}
	}
	go w.loop()
	return w, nil
}

// close stops taking ops, waits for the queued ones to be answered and for
// the goroutine to return, and releases the connection. The caller makes
// sure that nobody sends on w.ops any more.
func (w *writer) close() error {
	close(w.ops)
	<-w.done
	return w.wc.close()
}

func (wc *writeConn) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{
		wc.begin, wc.commit, wc.rollback, wc.savepoint, wc.release,
		wc.rollbackTo, wc.insertUserStmt, wc.insertThreadStmt, wc.insertMessageStmt,
	} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, wc.conn.Close())
	return errors.Join(errs...)
}

// loop gathers the ops that are waiting, up to maxBatch, commits them, and
// repeats until ops is closed and drained. It never waits for a batch to
// fill: ops that arrive while a batch commits form the next one.
func (w *writer) loop() {
	defer close(w.done)
	batch := make([]*op, 0, w.maxBatch)
	errs := make([]error, w.maxBatch)
	for o := range w.ops {
		batch = append(batch[:0], o)
	fill:
		for len(batch) < w.maxBatch {
			select {
			case o, ok := <-w.ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		w.commit(batch, errs[:len(batch)])
		clear(batch) // let answered ops be collected
	}
}

// commit runs batch in one transaction, each op under its own savepoint,
// and answers every op it claimed. An op's own failure (a constraint, a
// missing thread) rolls back to its savepoint and the batch goes on. A
// failure of the transaction itself (BEGIN, a savepoint, COMMIT, an I/O
// error) fails every claimed op of the batch with that error: none of them
// is acknowledged, and none is kept.
func (w *writer) commit(batch []*op, errs []error) {
	// Every statement runs under a context that never ends: interrupting
	// SQLite inside the shared transaction would roll back all of it.
	ctx := context.Background()
	wc := &w.wc
	claimed := 0
	for i, o := range batch {
		if o.state.CompareAndSwap(opQueued, opClaimed) {
			claimed++
		} else {
			batch[i] = nil // its caller has gone
		}
	}
	if claimed == 0 {
		return
	}
	fail := func(err error) {
		for _, o := range batch {
			if o != nil {
				o.done <- internal("commit", err)
			}
		}
	}
	if _, err := wc.begin.ExecContext(ctx); err != nil {
		fail(err)
		return
	}
	for i, o := range batch {
		if o == nil {
			continue
		}
		err, broken := wc.run(ctx, o.fn)
		if broken != nil {
			wc.rollback.ExecContext(ctx) // may fail: SQLite may have rolled back already
			fail(broken)
			return
		}
		errs[i] = err
	}
	if _, err := wc.commit.ExecContext(ctx); err != nil {
		wc.rollback.ExecContext(ctx)
		fail(err)
		return
	}
	for i, o := range batch {
		if o != nil {
			o.done <- errs[i]
			errs[i] = nil
		}
	}
}

// run runs fn under a savepoint and returns fn's error. When fn fails and
// the transaction cannot be rolled back to the savepoint, the transaction
// is broken, and run returns that as broken.
func (wc *writeConn) run(ctx context.Context, fn func(*writeConn) error) (err, broken error) {
	if _, err := wc.savepoint.ExecContext(ctx); err != nil {
		return nil, err
	}
	err = fn(wc)
	if err != nil {
		if _, rerr := wc.rollbackTo.ExecContext(ctx); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
	if _, rerr := wc.release.ExecContext(ctx); rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	return err, nil
}

// write queues fn for the writer and waits for its outcome. The context
// bounds the wait in the queue; once the writer has claimed the op, write
// waits for it to commit or fail.
func (s *Store) write(ctx context.Context, what string, fn func(*writeConn) error) error {
	if err := ctx.Err(); err != nil {
		return internal(what, err)
	}
	o := &op{fn: fn, done: make(chan error, 1)}
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
		return internal(what, ctx.Err())
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opCanceled) {
			return internal(what, ctx.Err())
		}
		return <-o.done
	}
}
