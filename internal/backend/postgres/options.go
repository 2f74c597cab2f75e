package postgres

import (
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// Defaults for the options of [Open].
const (
	// DefaultPoolSize is the number of connections to the server: one for
	// the writer, the rest for reads.
	DefaultPoolSize = 8
	// DefaultMaxBatch is the most writes the writer commits in one
	// transaction.
	DefaultMaxBatch = 128
	// DefaultQueueLen is how many writes may wait for the writer before
	// callers block.
	DefaultQueueLen = 1024
	// DefaultConnectTimeout bounds Open's first connection, when the URL
	// sets no connect_timeout.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds one batch's round trip to the server and
	// its commit; past it the batch fails and no write of it is
	// acknowledged.
	DefaultWriteTimeout = 30 * time.Second
)

// An Option configures a [Store] in [Open].
type Option func(*options)

type options struct {
	now          func() time.Time
	poolSize     int
	maxBatch     int
	queueLen     int
	writeTimeout time.Duration
}

func defaultOptions() options {
	return options{
		now:          time.Now,
		poolSize:     DefaultPoolSize,
		maxBatch:     DefaultMaxBatch,
		queueLen:     DefaultQueueLen,
		writeTimeout: DefaultWriteTimeout,
	}
}

// WithNow sets the clock that stamps users, threads and messages whose
// CreatedAt is zero. The default is [time.Now].
func WithNow(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithPoolSize sets the number of connections to the server, at least 2:
// the writer holds one, reads share the others. It overrides the URL's
// pool_max_conns. The default is [DefaultPoolSize].
func WithPoolSize(n int) Option {
	return func(o *options) { o.poolSize = n }
}

// WithMaxBatch sets the most writes committed in one transaction, at least
// 1. A value of 1 turns batching off: every write gets a transaction (and
// a round trip) of its own. The default is [DefaultMaxBatch].
func WithMaxBatch(n int) Option {
	return func(o *options) { o.maxBatch = n }
}

// WithQueueLen sets how many writes may wait for the writer before callers
// block, at least 0. The default is [DefaultQueueLen].
func WithQueueLen(n int) Option {
	return func(o *options) { o.queueLen = n }
}

// WithWriteTimeout bounds one batch's round trip and commit, at least 1ms.
// The default is [DefaultWriteTimeout].
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) { o.writeTimeout = d }
}

// validate reports the first option that is out of range.
func (o *options) validate() error {
	switch {
	case o.now == nil:
		return backend.Errorf(backend.EINVALID, "store: clock is nil")
	case o.poolSize < 2:
		return backend.Errorf(backend.EINVALID, "store: pool size %d, want at least 2 (one writer, one reader)", o.poolSize)
	case o.poolSize > 1000:
		return backend.Errorf(backend.EINVALID, "store: pool size %d, want at most 1000", o.poolSize)
	case o.maxBatch < 1:
		return backend.Errorf(backend.EINVALID, "store: max batch %d, want at least 1", o.maxBatch)
	case o.queueLen < 0:
		return backend.Errorf(backend.EINVALID, "store: queue length %d, want at least 0", o.queueLen)
	case o.writeTimeout < time.Millisecond:
		return backend.Errorf(backend.EINVALID, "store: write timeout %v, want at least 1ms", o.writeTimeout)
	}
	return nil
}
