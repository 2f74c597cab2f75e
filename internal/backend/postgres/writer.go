package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Op states: a queued op is claimed by the writer or canceled by its caller,
// whichever comes first.
const (
	opQueued int32 = iota
	opClaimed
	opCanceled
)

// op is one queued write: one SQL statement that reports its outcome in
// one row instead of failing, so that a batch of them runs without error.
type op struct {
	what string // for internal errors: "create user", ...
	sql  string
	args []any
	// outcome reads the statement's row: err is the caller's answer (nil,
	// or a conflict, a missing thread...); dbErr a failure to read it.
	outcome func(row pgx.Row) (err, dbErr error)
	state   atomic.Int32
	done    chan error // buffered: the writer never blocks on a caller
}

// writer is the goroutine that owns one connection of the pool and commits
// queued ops in batches.
type writer struct {
	pool     *pgxpool.Pool
	conn     *pgxpool.Conn // nil until needed, and after a failure
	ops      chan *op
	maxBatch int
	timeout  time.Duration
	done     chan struct{} // closed when the goroutine has returned
}

// newWriter takes one connection of pool and starts the writer goroutine.
func newWriter(ctx context.Context, pool *pgxpool.Pool, maxBatch, queueLen int, timeout time.Duration) (*writer, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{
		pool:     pool,
		conn:     conn,
		ops:      make(chan *op, queueLen),
		maxBatch: maxBatch,
		timeout:  timeout,
		done:     make(chan struct{}),
	}
	go w.loop()
	return w, nil
}

// close stops taking ops, waits for the queued ones to be answered and for
// the goroutine to return, and gives the connection back. The caller makes
// sure that nobody sends on w.ops any more.
func (w *writer) close() {
	close(w.ops)
	<-w.done
	w.drop()
}

// drop gives the writer's connection back to the pool, which closes it if
// it is broken or inside a transaction; the next batch takes another.
func (w *writer) drop() {
	if w.conn != nil {
		w.conn.Release()
		w.conn = nil
	}
}

// loop gathers the ops that are waiting, up to maxBatch, commits them, and
// repeats until ops is closed and drained. It never waits for a batch to
// fill: ops that arrive while a batch commits form the next one.
func (w *writer) loop() {
	defer close(w.done)
	batch := make([]*op, 0, w.maxBatch)
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
		w.commit(batch)
		clear(batch) // let answered ops be collected
	}
}

// commit runs the ops of batch that it can claim as one transaction, in one
// round trip, and answers each. The statements never fail for an outcome a
// caller acts on (a taken email, a thread that is not the caller's): they
// report it in their row. When a statement fails all the same (a NUL byte
// in a text, another process's write in the way), the server has rolled
// the whole batch back, and commit runs every op again alone, so that only
// the failing one fails. When the outcome is unknown (the connection broke,
// the batch timed out), every op of the batch fails: none is acknowledged.
func (w *writer) commit(batch []*op) {
	claimed := batch[:0:0]
	for _, o := range batch {
		if o.state.CompareAndSwap(opQueued, opClaimed) {
			claimed = append(claimed, o)
		}
	}
	if len(claimed) == 0 {
		return
	}
	errs, err := w.send(claimed)
	if err == nil {
		for i, o := range claimed {
			o.done <- errs[i]
		}
		return
	}
	if !rolledBack(err) {
		for _, o := range claimed {
			o.done <- internal("commit", err)
		}
		return
	}
	for i, o := range claimed {
		errs, err := w.send(claimed[i : i+1])
		switch {
		case err == nil:
			o.done <- errs[0]
		case rolledBack(err):
			o.done <- mapError(o.what, err)
		default:
			for _, o := range claimed[i:] {
				o.done <- internal("commit", err)
			}
			return
		}
	}
}

// send runs ops in one pipeline ended by one Sync, which makes them one
// implicit transaction: the server commits them together at the Sync, or
// rolls them all back when one fails. It returns each op's answer, or the
// error that failed the batch. Only a nil error means committed.
func (w *writer) send(ops []*op) (errs []error, err error) {
	// The batch's context never ends with a caller's: cutting a commit
	// short would leave its outcome unknown for every caller of the batch.
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	if w.conn == nil {
		if w.conn, err = w.pool.Acquire(ctx); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil && !rolledBack(err) {
			w.drop() // maybe broken: take a fresh one next time
		}
	}()
	b := &pgx.Batch{}
	for _, o := range ops {
		b.Queue(o.sql, o.args...)
	}
	br := w.conn.SendBatch(ctx, b)
	errs = make([]error, len(ops))
	var first error
	for i, o := range ops {
		opErr, dbErr := o.outcome(br.QueryRow())
		if dbErr != nil {
			first = fmt.Errorf("%s: %w", o.what, dbErr)
			break
		}
		errs[i] = opErr
	}
	if cerr := br.Close(); first == nil && cerr != nil {
		first = cerr
	}
	if first != nil {
		return nil, first
	}
	if st := w.conn.Conn().PgConn().TxStatus(); st != 'I' {
		return nil, fmt.Errorf("connection in transaction status %q after a batch", st)
	}
	return errs, nil
}

// rolledBack reports whether err is the server's refusal of a statement,
// after which it has rolled the implicit transaction back: nothing of the
// batch was kept. A fatal error (the server shutting down) or one of the
// connection leaves the outcome unknown.
func rolledBack(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && severity(pe) == "ERROR"
}
