package config

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Snapshot is one version of the configuration. A snapshot is immutable and
// shared by every reader: do not modify it or its Values.
type Snapshot struct {
	// Version numbers the snapshots of a store, from 1, one more at each
	// replacement.
	Version int64
	// Checksum is [protocol.Checksum] of Values.
	Checksum string
	// Values is the canonical JSON of the values object (see
	// [protocol.Canonical]), every known key included.
	Values json.RawMessage
	// Settings is the typed view of the known keys of Values.
	Settings Settings
}

// Store holds the current [Snapshot] and replaces it atomically. Its
// methods are safe for concurrent use.
type Store struct {
	delay time.Duration // fault slow-config when > 0
	torn  *tornFields   // fault config-torn when not nil

	mu  sync.Mutex // serialises Replace
	cur atomic.Pointer[Snapshot]
}

// Option configures a [Store] made by [New].
type Option func(*Store)

// WithDelay injects the fault slow-config: every [Store.Snapshot] call
// sleeps d before it reads. The default is no delay; a negative d makes
// [New] fail.
func WithDelay(d time.Duration) Option {
	return func(s *Store) { s.delay = d }
}

// WithTorn injects the fault config-torn when on: the store keeps the
// version, values, checksum and settings of the current snapshot in
// separate atomic fields, [Store.Replace] writes them one by one with a
// pause of 2 ms after the version and after the values, and
// [Store.Snapshot] reads them one by one, so a reader can see a version
// with the values of another, or values with the checksum of others. The
// default is off.
func WithTorn(on bool) Option {
	return func(s *Store) {
		if on {
			s.torn = new(tornFields)
		} else {
			s.torn = nil
		}
	}
}

// New returns a store whose snapshot, version 1, holds the values object
// initial, or the defaults when initial is empty. Invalid values are an
// [*backend.Error] with code [backend.EINVALID], as for [Store.Replace].
func New(initial []byte, opts ...Option) (*Store, error) {
	s := new(Store)
	for _, opt := range opts {
		opt(s)
	}
	if s.delay < 0 {
		return nil, fmt.Errorf("config: WithDelay(%v): want a delay of 0 or more", s.delay)
	}
	if len(initial) == 0 {
		initial = []byte("{}")
	}
	canonical, settings, err := parse(initial)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{
		Version:  1,
		Checksum: protocol.Checksum(canonical),
		Values:   canonical,
		Settings: settings,
	}
	s.cur.Store(snap)
	if s.torn != nil {
		s.torn.store(snap, 0)
	}
	return s, nil
}

// Snapshot returns the current snapshot. On a store without faults it is
// one atomic load and never blocks.
func (s *Store) Snapshot() *Snapshot {
	if s.delay > 0 {
		time.Sleep(s.delay) // fault slow-config
	}
	if s.torn != nil {
		return s.torn.load() // fault config-torn
	}
	return s.cur.Load()
}

// Replace validates values, a JSON object, and makes it the current
// snapshot with the next version, which it returns. Known keys absent from
// values take their defaults; unknown keys are kept as they are. Invalid
// values are an [*backend.Error] with code [backend.EINVALID] that names
// each bad key, and leave the current snapshot in place.
func (s *Store) Replace(values []byte) (*Snapshot, error) {
	canonical, settings, err := parse(values)
	if err != nil {
		return nil, err
	}
	checksum := protocol.Checksum(canonical)
	s.mu.Lock()
	defer s.mu.Unlock()
	next := &Snapshot{
		Version:  s.cur.Load().Version + 1,
		Checksum: checksum,
		Values:   canonical,
		Settings: settings,
	}
	if s.torn != nil {
		s.torn.store(next, tornPause) // fault config-torn
	}
	s.cur.Store(next)
	return next, nil
}

// tornPause is how long a store with [WithTorn] pauses between the writes
// of one replacement.
const tornPause = 2 * time.Millisecond

// tornFields is the fault config-torn: the parts of the current snapshot in
// separate atomic fields, so each read and write is free of data races but
// a snapshot read while another is written can be torn.
type tornFields struct {
	version  atomic.Int64
	values   atomic.Pointer[json.RawMessage]
	checksum atomic.Pointer[string]
	settings atomic.Pointer[Settings]
}

// store writes the parts of snap one by one, pausing between them.
func (t *tornFields) store(snap *Snapshot, pause time.Duration) {
	t.version.Store(snap.Version)
	time.Sleep(pause)
	t.values.Store(&snap.Values)
	t.settings.Store(&snap.Settings)
	time.Sleep(pause)
	t.checksum.Store(&snap.Checksum)
}

// load reads the parts one by one into a new snapshot.
func (t *tornFields) load() *Snapshot {
	return &Snapshot{
		Version:  t.version.Load(),
		Values:   *t.values.Load(),
		Settings: *t.settings.Load(),
		Checksum: *t.checksum.Load(),
	}
}
