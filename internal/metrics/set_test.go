package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A fakeClock is a clock that tests set by hand. It is safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := new(fakeClock)
	c.Set(t)
	return c
}

func (c *fakeClock) Now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// testStart is 400 ms into a second, so that tests show seconds aligned on
// the wall clock rather than on the start.
var testStart = time.Date(2025, 3, 1, 10, 0, 0, 400*1e6, time.UTC)

func TestSetConcurrentRecord(t *testing.T) {
	s := NewSet(WithSeriesHistograms("journey"))
	phases := []string{"login", "journey", "first_event"}
	const goroutines, each = 1000, 90
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				s.Record(phases[i%len(phases)], time.Duration(g+i+1)*time.Millisecond)
				s.Add("requests", 1)
				if i%30 == 0 {
					s.Add("errors", 2)
				}
			}
		})
	}
	// Readers run alongside the recorders.
	for range 4 {
		wg.Go(func() {
			for range 5 {
				_ = s.Snapshot()
				_ = s.Histogram("journey")
				_ = s.Counter("requests")
			}
		})
	}
	wg.Wait()

	for _, name := range phases {
		if got, want := s.Histogram(name).Count(), int64(goroutines*each/len(phases)); got != want {
			t.Errorf("after %d goroutines recorded %d each: Histogram(%q).Count() = %d; want %d", goroutines, each, name, got, want)
		}
	}
	for name, want := range map[string]int64{"requests": goroutines * each, "errors": goroutines * 3 * 2} {
		if got := s.Counter(name); got != want {
			t.Errorf("after %d goroutines added: Counter(%q) = %d; want %d", goroutines, name, got, want)
		}
	}
	var inSeries int64
	for _, pt := range s.Snapshot().Series {
		inSeries += pt.Latency["journey"].Count
	}
	if want := int64(goroutines * each / len(phases)); inSeries != want {
		t.Errorf("series of journey holds %d values; want %d", inSeries, want)
	}
}

func TestSetAccessors(t *testing.T) {
	s := NewSet()
	s.Record("login", time.Millisecond)
	s.Record("answer", time.Second)
	s.Add("errors", 3)
	s.Add("errors", -1)

	if got, want := s.Names(), []string{"answer", "login"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q; want %q", got, want)
	}
	if got, want := s.CounterNames(), []string{"errors"}; !slices.Equal(got, want) {
		t.Errorf("CounterNames() = %q; want %q", got, want)
	}
	if got := s.Counter("errors"); got != 2 {
		t.Errorf("Counter(errors) after Add 3, Add -1 = %d; want 2", got)
	}
	if got := s.Counter("missing"); got != 0 {
		t.Errorf("Counter(missing) = %d; want 0", got)
	}
	if got := s.Histogram("missing"); got != nil {
		t.Errorf("Histogram(missing) = %v; want nil", got)
	}
	h := s.Histogram("login")
	h.Record(time.Minute)
	if got := s.Histogram("login").Count(); got != 1 {
		t.Errorf("Histogram(login).Count() after recording into a copy = %d; want 1", got)
	}
}

// event is a value recorded into a set at a time.
type event struct {
	at    time.Time
	phase string
	d     time.Duration
}

// randomEvents returns n events over about n/1000 seconds from start, moving
// forward but now and then up to 3 s back, as late values do. A few
// latencies lie outside the range kept.
func randomEvents(rng *rand.Rand, start time.Time, n int) []event {
	phases := []string{"login", "journey", "first_event", "answer"}
	evs := make([]event, n)
	for i := range evs {
		at := start.Add(time.Duration(i) * time.Millisecond)
		if rng.IntN(50) == 0 {
			at = at.Add(-time.Duration(rng.Int64N(int64(3 * time.Second))))
		}
		d := time.Duration(math.Exp(rng.NormFloat64()*1.5) * float64(20*time.Millisecond))
		switch rng.IntN(500) {
		case 0:
			d = time.Duration(rng.IntN(1000))
		case 1:
			d = 2 * time.Hour
		}
		evs[i] = event{at, phases[rng.IntN(len(phases))], d}
	}
	return evs
}

// play records evs into sets[pick(i)], and into whole, one counter with each.
func play(clock *fakeClock, evs []event, whole *Set, sets []*Set, pick func(i int) int) {
	for i, e := range evs {
		clock.Set(e.at)
		s := sets[pick(i)]
		for _, s := range []*Set{whole, s} {
			s.Record(e.phase, e.d)
			s.Add("requests", 1)
			if e.d > 100*time.Millisecond {
				s.Add("slow", 1)
			}
		}
	}
}

// throughJSON returns snap after a trip through JSON, as between processes.
func throughJSON(t *testing.T, snap Snapshot) Snapshot {
	t.Helper()
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatalf("json.Marshal(Snapshot()) error: %v", err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("json.Unmarshal(json.Marshal(Snapshot())) error: %v", err)
	}
	return back
}

var mergeQuantiles = []float64{0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1}

// sameMeasurements reports every difference between got and want.
func sameMeasurements(t *testing.T, what string, got, want Snapshot) {
	t.Helper()
	if g, w := slices.Sorted(mapsKeys(got.Histograms)), slices.Sorted(mapsKeys(want.Histograms)); !slices.Equal(g, w) {
		t.Errorf("%s: histograms %q; want %q", what, g, w)
	}
	for name, w := range want.Histograms {
		g := got.Histograms[name]
		if g == nil {
			continue
		}
		if g.Count() != w.Count() || g.Clamped() != w.Clamped() {
			t.Errorf("%s: %s Count(), Clamped() = %d, %d; want %d, %d", what, name, g.Count(), g.Clamped(), w.Count(), w.Clamped())
		}
		if !g.h.Equals(w.h) {
			t.Errorf("%s: %s bucket counts differ", what, name)
		}
		for _, q := range mergeQuantiles {
			if g.Quantile(q) != w.Quantile(q) {
				t.Errorf("%s: %s Quantile(%g) = %v; want %v", what, name, q, g.Quantile(q), w.Quantile(q))
			}
		}
		if g.Mean() != w.Mean() || g.Min() != w.Min() || g.Max() != w.Max() {
			t.Errorf("%s: %s Min, Mean, Max = %v, %v, %v; want %v, %v, %v", what, name, g.Min(), g.Mean(), g.Max(), w.Min(), w.Mean(), w.Max())
		}
	}
	if !reflect.DeepEqual(got.Counters, want.Counters) {
		t.Errorf("%s: Counters = %v; want %v", what, got.Counters, want.Counters)
	}
	if !got.SeriesStart.Equal(want.SeriesStart) {
		t.Errorf("%s: SeriesStart = %v; want %v", what, got.SeriesStart, want.SeriesStart)
	}
	if len(got.Series) != len(want.Series) {
		t.Errorf("%s: %d series points; want %d", what, len(got.Series), len(want.Series))
	}
	for i := range min(len(got.Series), len(want.Series)) {
		if !reflect.DeepEqual(got.Series[i], want.Series[i]) {
			t.Errorf("%s: series point %d = %+v; want %+v", what, i, got.Series[i], want.Series[i])
		}
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestMergeLossless(t *testing.T) {
	clock := newFakeClock(testStart)
	opts := []Option{WithNow(clock.Now), WithSeries(testStart), WithSeriesHistograms("journey", "first_event")}
	whole := NewSet(opts...)
	parts := []*Set{NewSet(opts...), NewSet(opts...), NewSet(opts...)}
	rng := rand.New(rand.NewPCG(1, 2))
	play(clock, randomEvents(rng, testStart, 20_000), whole, parts, func(int) int { return rng.IntN(len(parts)) })

	merged := NewSet(WithNow(clock.Now), WithSeries(testStart))
	for i, p := range parts {
		if err := merged.Merge(throughJSON(t, p.Snapshot())); err != nil {
			t.Fatalf("Merge(part %d) error: %v", i, err)
		}
	}
	want := whole.Snapshot()
	if want.Histograms["journey"].Clamped() == 0 || len(want.Series) < 20 {
		t.Fatalf("the stream should clamp some values and span 20 seconds")
	}
	sameMeasurements(t, "merge of 3 sets", merged.Snapshot(), want)

	// Merging snapshots is the same.
	snap := parts[0].Snapshot()
	for i, p := range parts[1:] {
		if err := snap.Merge(throughJSON(t, p.Snapshot())); err != nil {
			t.Fatalf("Snapshot.Merge(part %d) error: %v", i+1, err)
		}
	}
	sameMeasurements(t, "Snapshot.Merge of 3 snapshots", snap, want)

	// Merging into a set that recorded is the same.
	if err := parts[0].Merge(parts[1].Snapshot()); err != nil {
		t.Fatal(err)
	}
	if err := parts[0].Merge(parts[2].Snapshot()); err != nil {
		t.Fatal(err)
	}
	sameMeasurements(t, "merge into a recording set", parts[0].Snapshot(), want)
}

func TestMergeRejects(t *testing.T) {
	good := func() Snapshot {
		s := NewSet(WithSeriesHistograms("journey"))
		s.Record("journey", time.Second)
		s.Add("requests", 1)
		return s.Snapshot()
	}
	threeFigures, _ := NewHistogram().Encode()
	tests := []struct {
		name    string
		change  func(*Snapshot)
		wantErr string
	}{
		{"histogram of 2 significant figures", func(s *Snapshot) {
			s.Histograms["login"] = foreign(t, 1, int64(time.Hour), 2)
		}, `metrics: merge: histogram "login": metrics: incompatible histograms: range [1ns, 1h0m0s] at 2 significant figures, want range [1ns, 1h0m0s] at 3 significant figures`},
		{"histogram of range [1µs, 24h]", func(s *Snapshot) {
			s.Histograms["login"] = foreign(t, 1000, int64(24*time.Hour), 3)
		}, `histogram "login": metrics: incompatible histograms: range [1µs, 24h0m0s] at 3`},
		{"nil histogram", func(s *Snapshot) { s.Histograms["login"] = nil }, `metrics: merge: histogram "login" is nil`},
		{"series histogram that does not decode", func(s *Snapshot) {
			s.Series[0].Latency["journey"] = PointLatency{Count: 1, HDR: "HISTFnope"}
		}, `metrics: merge: series second 0, histogram "journey": `},
		{"series histogram of 3 significant figures", func(s *Snapshot) {
			s.Series[0].Latency["journey"] = PointLatency{HDR: threeFigures}
		}, `metrics: merge: series second 0, histogram "journey": metrics: incompatible histograms: range [1ns, 1h0m0s] at 3 significant figures, want range [1ns, 1h0m0s] at 2`},
		{"series from 30 days ago", func(s *Snapshot) {
			s.SeriesStart = s.SeriesStart.Add(-30 * 24 * time.Hour)
		}, "metrics: merge: series second 0 from "},
		{"series point 1e12 seconds on", func(s *Snapshot) { s.Series[0].Second = 1e12 }, "is more than 168h0m0s from the set's start"},
	}
	for _, tt := range tests {
		s := NewSet()
		if err := s.Merge(good()); err != nil {
			t.Fatalf("Merge(good snapshot) error: %v", err)
		}
		snap := good()
		tt.change(&snap)
		err := s.Merge(snap)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Merge(%s) = %v; want an error containing %q", tt.name, err, tt.wantErr)
		}
		if strings.Contains(tt.wantErr, "incompatible") && !errors.Is(err, ErrIncompatible) {
			t.Errorf("Merge(%s) = %v; want it to wrap ErrIncompatible", tt.name, err)
		}
		if got := s.Counter("requests"); got != 1 {
			t.Errorf("Merge(%s) failed but changed counter requests to %d; want 1", tt.name, got)
		}
		if got := s.Histogram("journey").Count(); got != 1 {
			t.Errorf("Merge(%s) failed but changed histogram journey's count to %d; want 1", tt.name, got)
		}

		into := good()
		if err := into.Merge(snap); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Snapshot.Merge(%s) = %v; want an error containing %q", tt.name, err, tt.wantErr)
		}
		if got := into.Counters["requests"]; got != 1 {
			t.Errorf("Snapshot.Merge(%s) failed but changed counter requests to %d; want 1", tt.name, got)
		}
	}
}

func TestSnapshotJSON(t *testing.T) {
	clock := newFakeClock(testStart)
	s := NewSet(WithNow(clock.Now), WithSeriesHistograms("journey"))
	play(clock, randomEvents(rand.New(rand.NewPCG(3, 4)), testStart, 3000), NewSet(), []*Set{s}, func(int) int { return 0 })
	snap := s.Snapshot()

	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatalf("json.Marshal(Snapshot()) error: %v", err)
	}
	var shape struct {
		Histograms  map[string]string `json:"histograms"`
		Clamped     map[string]int64  `json:"clamped"`
		Counters    map[string]int64  `json:"counters"`
		SeriesStart string            `json:"series_start"`
		Series      []map[string]any  `json:"series"`
	}
	if err := json.Unmarshal(b, &shape); err != nil {
		t.Fatalf("json.Marshal(Snapshot()) = %.80s...: not the documented shape: %v", b, err)
	}
	if !strings.HasPrefix(shape.Histograms["journey"], "HISTF") || shape.Counters["requests"] != 3000 ||
		shape.SeriesStart != "2025-03-01T10:00:00Z" || len(shape.Series) != len(snap.Series) || shape.Clamped["journey"] == 0 {
		t.Errorf("json.Marshal(Snapshot()) = %.300s...; want encoded histograms, counters, clamped counts, series_start and series", b)
	}
	sameMeasurements(t, "json round trip", throughJSON(t, snap), snap)

	empty, err := json.Marshal(NewSet(WithSeries(testStart)).Snapshot())
	if want := `{"histograms":{},"counters":{},"series_start":"2025-03-01T10:00:00Z","series":[]}`; err != nil || string(empty) != want {
		t.Errorf("json.Marshal(empty Snapshot()) = %s, %v; want %s", empty, err, want)
	}
}

func TestSnapshotUnmarshalRejects(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{`{"histograms":{"login":"garbage"}}`, "metrics: decode histogram: "},
		{`{"histograms":{"login":null}}`, `metrics: unmarshal snapshot: histogram "login" is null`},
		{`{"histograms":{},"clamped":{"login":1}}`, `metrics: unmarshal snapshot: clamped count 1 for histogram "login" does not fit it`},
		{`{"counters":{"x":"one"}}`, "cannot unmarshal string"},
	}
	for _, tt := range tests {
		var s Snapshot
		if err := json.Unmarshal([]byte(tt.in), &s); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("json.Unmarshal(%s) = %v; want an error containing %q", tt.in, err, tt.wantErr)
		}
	}
}

// Values added through At land in the second of At's instant, as Add and
// Record at that instant put them, however late they are added; past
// the series' limit, in the totals only.
func TestSetAt(t *testing.T) {
	clock := newFakeClock(testStart)
	opts := []Option{WithNow(clock.Now), WithSeries(testStart), WithSeriesHistograms("journey"), WithSeriesLimit(10 * time.Second)}
	direct, through := NewSet(opts...), NewSet(opts...)
	for _, sec := range []int{0, 1, 12} { // the last is past the limit
		clock.Set(testStart.Add(time.Duration(sec)*time.Second + 300*time.Millisecond))
		direct.Add("journeys", 1)
		direct.Record("journey", time.Duration(sec+1)*time.Millisecond)
		direct.Record("login", time.Millisecond)
		at := through.At()
		clock.Set(clock.Now().Add(900 * time.Millisecond)) // the next second by now
		at.Add("journeys", 1)
		at.Record("journey", time.Duration(sec+1)*time.Millisecond)
		at.Record("login", time.Millisecond)
	}
	a, err := json.Marshal(direct.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(through.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("through At:\n%s\nwant, as Add and Record at its instant:\n%s", b, a)
	}
	if through.Counter("journeys") != 3 || through.Histogram("journey").Count() != 3 {
		t.Errorf("totals %d journeys, %d samples; want 3 and 3", through.Counter("journeys"), through.Histogram("journey").Count())
	}
}
