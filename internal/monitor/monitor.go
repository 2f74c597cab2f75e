package monitor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultInterval is how often a [Monitor] samples unless [WithInterval]
// says otherwise: once a second.
const DefaultInterval = time.Second

// DefaultLimit is how many samples a [Monitor] keeps in its series unless
// [WithLimit] says otherwise: 24 hours at one a second.
const DefaultLimit = 24 * 60 * 60

// An Option configures a [Monitor].
type Option func(*Monitor)

// WithInterval sets the time between the samples [Monitor.Run] takes
// (default [DefaultInterval]). It must be positive.
func WithInterval(d time.Duration) Option { return func(m *Monitor) { m.interval = d } }

// WithNow sets the clock that stamps samples (default time.Now).
func WithNow(now func() time.Time) Option { return func(m *Monitor) { m.now = now } }

// WithLimit sets how many samples the series keeps (default
// [DefaultLimit]), rounded up to an even number; see [Monitor.Series]. It
// must be at least 2.
func WithLimit(n int) Option { return func(m *Monitor) { m.limit = n } }

// A Monitor samples its sources and keeps the samples as a bounded time
// series. Its methods may be called from several goroutines at once.
type Monitor struct {
	sources  []Source
	interval time.Duration
	now      func() time.Time
	limit    int

	running atomic.Bool

	mu     sync.Mutex
	series []Sample
	stride int // the series keeps one sample in stride
	skip   int // samples to leave out before the next one kept
	peaks  map[Field]Sample
}

// New returns a monitor that reads every sample from sources, in order. It
// returns an error if there is no source, a source is nil, or an option is
// out of range.
func New(sources []Source, opts ...Option) (*Monitor, error) {
	m := &Monitor{
		sources:  sources,
		interval: DefaultInterval,
		now:      time.Now,
		limit:    DefaultLimit,
		stride:   1,
		peaks:    map[Field]Sample{},
	}
	for _, o := range opts {
		o(m)
	}
	switch {
	case len(sources) == 0:
		return nil, errors.New("monitor: no sources")
	case m.interval <= 0:
		return nil, fmt.Errorf("monitor: interval %s is not positive", m.interval)
	case m.limit < 2:
		return nil, fmt.Errorf("monitor: limit %d is below 2", m.limit)
	case m.now == nil:
		return nil, errors.New("monitor: nil clock")
	}
	m.limit += m.limit % 2
	for i, s := range sources {
		if s == nil {
			return nil, fmt.Errorf("monitor: source %d is nil", i)
		}
	}
	return m, nil
}

// Run takes a sample at once and then one every interval until ctx ends,
// and returns nil once it has stopped. Reads are not overlapped: a sample
// whose sources take longer than the interval delays the next, and ticks
// missed meanwhile are dropped. A sample cut short because ctx ended is not
// kept. Run returns an error at once if the monitor is already running.
func (m *Monitor) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("monitor: Run called while already running")
	}
	defer m.running.Store(false)
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for ctx.Err() == nil {
		s := m.take(ctx)
		if ctx.Err() != nil {
			break
		}
		m.record(s)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return nil
}

// SampleNow takes one sample at once, keeps it in the series and returns
// it; the memory suite calls it at every cycle boundary, alongside Run or
// without it. A sample cut short because ctx ended is returned, with the
// errors in Err, but not kept.
func (m *Monitor) SampleNow(ctx context.Context) Sample {
	s := m.take(ctx)
	if ctx.Err() == nil {
		m.record(s)
	}
	return s
}

// take reads every source into one sample.
func (m *Monitor) take(ctx context.Context) Sample {
	s := Sample{T: m.now()}
	var errs []string
	for _, src := range m.sources {
		if err := src.Read(ctx, &s); err != nil {
			errs = append(errs, err.Error())
			s.Gone = s.Gone || errors.Is(err, ErrGone)
		}
	}
	s.Err = strings.Join(errs, "; ")
	return s
}

// sampleFields are the fields a Sample has outside its Metrics, and
// FieldResident, which may come from either.
var sampleFields = [...]Field{FieldRSS, FieldPSS, FieldHWM, FieldCPUSeconds, FieldThreads, FieldFDs, FieldResident}

// record updates the peaks and adds s to the series, thinning it first if
// it is full.
func (m *Monitor) record(s Sample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range sampleFields {
		m.notePeak(f, s)
	}
	for k := range s.Metrics {
		m.notePeak(Field(k), s)
	}
	if m.skip > 0 {
		m.skip--
		return
	}
	if len(m.series) >= m.limit {
		// Keep every other sample, from the first. The limit is even, so
		// s comes one (doubled) stride after the last one kept.
		j := 0
		for i := 0; i < len(m.series); i += 2 {
			m.series[j] = m.series[i]
			j++
		}
		clear(m.series[j:])
		m.series = m.series[:j]
		m.stride *= 2
	}
	m.series = append(m.series, s)
	m.skip = m.stride - 1
}

func (m *Monitor) notePeak(f Field, s Sample) {
	v, ok := s.Value(f)
	if !ok {
		return
	}
	if p, seen := m.peaks[f]; seen {
		if pv, _ := p.Value(f); v <= pv {
			return
		}
	}
	m.peaks[f] = s
}

// Series returns a copy of the samples kept, oldest first.
//
// The series is bounded by the limit ([DefaultLimit], or [WithLimit]). When
// it is full, every other sample is dropped and from then on only every
// second sample taken is kept; each time it fills again the step doubles.
// So the series always covers the whole run, at a uniform step of 1, 2, 4...
// samples, and never holds more than the limit. [Monitor.Peak] is exact all
// the same.
func (m *Monitor) Series() []Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Sample(nil), m.series...)
}

// Window returns the samples kept whose time T is in [from, to), oldest
// first.
func (m *Monitor) Window(from, to time.Time) []Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	var w []Sample
	for _, s := range m.series {
		if !s.T.Before(from) && s.T.Before(to) {
			w = append(w, s)
		}
	}
	return w
}

// Peak returns the sample with the highest value of f of all the samples
// recorded, whether or not the series still keeps it, and false if none had
// f. For the peak within a window, use [PeakOf] on [Monitor.Window].
func (m *Monitor) Peak(f Field) (Sample, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.peaks[f]
	return s, ok
}
