package sqlite

import (
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// Defaults for the options of [Open].
const (
	// DefaultReadConns is the size of the reader pool.
	DefaultReadConns = 4
	// DefaultBusyTimeout is how long a connection waits for a lock held by
	// another connection or process before it gives up with SQLITE_BUSY.
	DefaultBusyTimeout = 5 * time.Second
	// DefaultMaxBatch is the most writes the writer commits in one
	// transaction.
	DefaultMaxBatch = 128
	// DefaultQueueLen is how many writes may wait for the writer before
	// callers block.
	DefaultQueueLen = 1024
)

// An Option configures a [Store] in [Open].
type Option func(*options)

type options struct {
	now         func() time.Time
	readConns   int
	busyTimeout time.Duration
	maxBatch    int
	queueLen    int
}

func defaultOptions() options {
	return options{
		now:         time.Now,
		readConns:   DefaultReadConns,
		busyTimeout: DefaultBusyTimeout,
		maxBatch:    DefaultMaxBatch,
		queueLen:    DefaultQueueLen,
	}
}

// WithNow sets the clock that stamps users, threads and messages whose
// CreatedAt is zero. The default is [time.Now].
func WithNow(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithReadConns sets the number of reader connections, at least 1. The
// default is [DefaultReadConns].
func WithReadConns(n int) Option {
	return func(o *options) { o.readConns = n }
}

// WithBusyTimeout sets SQLite's busy_timeout, at least 1ms. The default is
// [DefaultBusyTimeout].
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// WithMaxBatch sets the most writes committed in one transaction, at least
// 1. A value of 1 turns group commit off: every write gets a transaction of
// its own. The default is [DefaultMaxBatch].
func WithMaxBatch(n int) Option {
	return func(o *options) { o.maxBatch = n }
}

// WithQueueLen sets how many writes may wait for the writer before callers
// block, at least 0. The default is [DefaultQueueLen].
func WithQueueLen(n int) Option {
	return func(o *options) { o.queueLen = n }
}

// validate reports the first option that is out of range.
func (o *options) validate() error {
	switch {
	case o.now == nil:
		return backend.Errorf(backend.EINVALID, "sqlite: clock is nil")
	case o.readConns < 1:
		return backend.Errorf(backend.EINVALID, "sqlite: read conns %d, want at least 1", o.readConns)
	case o.busyTimeout < time.Millisecond:
		return backend.Errorf(backend.EINVALID, "sqlite: busy timeout %v, want at least 1ms", o.busyTimeout)
	case o.maxBatch < 1:
		return backend.Errorf(backend.EINVALID, "sqlite: max batch %d, want at least 1", o.maxBatch)
	case o.queueLen < 0:
		return backend.Errorf(backend.EINVALID, "sqlite: queue length %d, want at least 0", o.queueLen)
	}
	return nil
}
