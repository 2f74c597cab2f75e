package metrics

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSeriesLimit is how long after its start a [Set] adds to its series,
// unless [WithSeriesLimit] says otherwise.
const DefaultSeriesLimit = 24 * time.Hour

// MaxSeriesSpan bounds a series: [WithSeriesLimit] is reduced to it, and
// [Set.Merge] rejects a snapshot whose points lie further than this from the
// set's start.
const MaxSeriesSpan = 7 * 24 * time.Hour

// A Set is a run's measurements: named histograms, named counters, named
// gauges and their per-second series. It is safe for concurrent use by any number of
// goroutines. Each name has its own lock and costs the memory of a
// [Histogram] (about 270 KB), so names must come from a small fixed set,
// such as the phases of a journey, never from request data.
type Set struct {
	now      func() time.Time
	start    time.Time     // as given; may carry a monotonic clock reading
	startSec int64         // Unix second of bucket 0
	offset   time.Duration // start minus the beginning of its second
	limit    time.Duration // how long after start Record and Add feed the series
	keys     map[string]bool

	phases    sync.Map // name -> *phase
	counters  sync.Map // name -> *counter
	gauges    sync.Map // name -> *gauge
	create    sync.Mutex
	truncated atomic.Bool // something was not added to the series
}

type phase struct {
	mu     sync.Mutex
	keyed  bool // Record adds to series
	h      *Histogram
	series histSeries
}

type counter struct {
	mu     sync.Mutex
	total  int64
	series countSeries
}

// A gauge has no total: only its series, the highest value of each second.
type gauge struct {
	mu     sync.Mutex
	series countSeries
}

// An Option configures a [Set] made by [NewSet].
type Option func(*Set)

// WithNow sets the clock from which a set takes its default start time and
// the second of each value in the series. The default is [time.Now]; tests
// pass a fake clock. now must not be nil.
func WithNow(now func() time.Time) Option {
	if now == nil {
		panic("metrics: WithNow(nil)")
	}
	return func(s *Set) { s.now = now }
}

// WithSeries sets the start of a set's series: its bucket 0 is the second
// that contains start. The series is always kept; without this option it
// starts at the time of [NewSet] by the set's clock. Sets whose snapshots
// will be merged can share a start, but need not: merging aligns their
// series on absolute time.
func WithSeries(start time.Time) Option {
	return func(s *Set) { s.start = start }
}

// WithSeriesHistograms names the histograms whose values the series keeps
// per second, so that each point has their p50, p95 and p99. Each costs a
// small histogram per second: name only a few, such as "journey" and
// "first_event". The default is none.
func WithSeriesHistograms(names ...string) Option {
	return func(s *Set) {
		for _, n := range names {
			s.keys[n] = true
		}
	}
}

// WithSeriesLimit sets how long after its start a set adds to its series;
// later values count in the histograms and counters only. d is rounded up
// to a whole second and reduced to [MaxSeriesSpan]; zero or less turns the
// series off. The default is [DefaultSeriesLimit].
func WithSeriesLimit(d time.Duration) Option {
	return func(s *Set) { s.limit = min(max(d, 0), MaxSeriesSpan) }
}

// NewSet returns an empty set configured by opts.
func NewSet(opts ...Option) *Set {
	s := &Set{now: time.Now, limit: DefaultSeriesLimit, keys: map[string]bool{}}
	for _, o := range opts {
		o(s)
	}
	if s.start.IsZero() {
		s.start = s.now()
	}
	if r := s.limit % time.Second; r != 0 {
		s.limit += time.Second - r
	}
	begin := s.start.Truncate(time.Second)
	s.startSec, s.offset = begin.Unix(), s.start.Sub(begin)
	return s
}

// Start returns the start of the set's series: the beginning of the second
// that holds bucket 0.
func (s *Set) Start() time.Time { return time.Unix(s.startSec, 0).UTC() }

// second returns the Unix second of the series bucket for now, and false if
// the series is off or now is past its limit. A time before the start counts
// as the start.
func (s *Set) second() (int64, bool) {
	if s.limit == 0 {
		return 0, false
	}
	since := max(s.now().Sub(s.start), 0)
	if since >= s.limit {
		if !s.truncated.Load() {
			s.truncated.Store(true)
		}
		return 0, false
	}
	return s.startSec + int64((since+s.offset)/time.Second), true
}

// Record adds latency d to the histogram called name, and to the current
// second of its series if it is a series histogram.
func (s *Set) Record(name string, d time.Duration) {
	p := s.phase(name)
	var sec int64
	inSeries := false
	if p.keyed {
		sec, inSeries = s.second()
	}
	p.record(d, sec, inSeries)
}

func (p *phase) record(d time.Duration, sec int64, inSeries bool) {
	p.mu.Lock()
	p.h.Record(d)
	if inSeries && p.keyed {
		v, _ := clamp(int64(d), int64(LowestTrackable), int64(HighestTrackable))
		p.series.record(sec, v)
	}
	p.mu.Unlock()
}

// Add adds n to the counter called name, and to its current second in the
// series.
func (s *Set) Add(name string, n int64) {
	sec, inSeries := s.second()
	s.counter(name).add(n, sec, inSeries)
}

func (c *counter) add(n, sec int64, inSeries bool) {
	c.mu.Lock()
	c.total += n
	if inSeries {
		c.series.add(sec, n)
	}
	c.mu.Unlock()
}

// At is s at this instant: its Add and Record put their values in the
// second of the series that holds it, read from the clock once. A
// journey's result recorded as it ends adds a few dozen values, all of
// one instant.
func (s *Set) At() At {
	sec, inSeries := s.second()
	return At{s: s, sec: sec, inSeries: inSeries}
}

// At is a [Set] at one instant ([Set.At]).
type At struct {
	s        *Set
	sec      int64
	inSeries bool
}

// Add is [Set.Add] at a's instant.
func (a At) Add(name string, n int64) { a.s.counter(name).add(n, a.sec, a.inSeries) }

// Record is [Set.Record] at a's instant.
func (a At) Record(name string, d time.Duration) { a.s.phase(name).record(d, a.sec, a.inSeries) }

// Gauge records that the gauge called name reads v now, such as the users
// in a journey at this instant: the series keeps, for each second, the
// highest value read in it. A gauge has no total and no value outside the
// series; a second in which it read nothing above 0 has no point. Merging
// adds gauges second by second (see [Set.Merge]).
func (s *Set) Gauge(name string, v int64) {
	sec, inSeries := s.second()
	if !inSeries {
		return
	}
	g := s.gauge(name)
	g.mu.Lock()
	g.series.raise(sec, v)
	g.mu.Unlock()
}

// Poll reads a gauge with read every interval, and once at once, into
// [Set.Gauge] until the returned stop is called; stop reads it a last
// time and returns once the polling goroutine has ended. Poll every
// quarter of a second or so: each second then holds its highest reading,
// and none is left without one.
func (s *Set) Poll(name string, every time.Duration, read func() int64) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	s.Gauge(name, read())
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.Gauge(name, read())
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-exited
			s.Gauge(name, read())
		})
	}
}

// phase returns the phase called name, making it if needed. Phases are made
// under a lock so that a crowd of goroutines recording a new name at once
// allocates one histogram, not one each.
func (s *Set) phase(name string) *phase {
	if p, ok := s.phases.Load(name); ok {
		return p.(*phase)
	}
	s.create.Lock()
	defer s.create.Unlock()
	if p, ok := s.phases.Load(name); ok {
		return p.(*phase)
	}
	p := &phase{keyed: s.keys[name], h: NewHistogram()}
	s.phases.Store(name, p)
	return p
}

func (s *Set) counter(name string) *counter {
	if c, ok := s.counters.Load(name); ok {
		return c.(*counter)
	}
	c, _ := s.counters.LoadOrStore(name, new(counter))
	return c.(*counter)
}

func (s *Set) gauge(name string) *gauge {
	if g, ok := s.gauges.Load(name); ok {
		return g.(*gauge)
	}
	g, _ := s.gauges.LoadOrStore(name, new(gauge))
	return g.(*gauge)
}

// Histogram returns a copy of the histogram called name, or nil if nothing
// was recorded under that name.
func (s *Set) Histogram(name string) *Histogram {
	v, ok := s.phases.Load(name)
	if !ok {
		return nil
	}
	p := v.(*phase)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.h.Clone()
}

// Counter returns the value of the counter called name: 0 if nothing was
// added to it.
func (s *Set) Counter(name string) int64 {
	v, ok := s.counters.Load(name)
	if !ok {
		return 0
	}
	c := v.(*counter)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Names returns the names of the set's histograms, sorted.
func (s *Set) Names() []string { return sortedKeys(&s.phases) }

// CounterNames returns the names of the set's counters, sorted.
func (s *Set) CounterNames() []string { return sortedKeys(&s.counters) }

func sortedKeys(m *sync.Map) []string {
	var names []string
	m.Range(func(k, _ any) bool {
		names = append(names, k.(string))
		return true
	})
	slices.Sort(names)
	return names
}
