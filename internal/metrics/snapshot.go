package metrics

import (
	"encoding/json"
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// A Snapshot is a deep copy of a [Set]'s measurements, taken by
// [Set.Snapshot]: changing one changes neither the set nor other snapshots.
// It marshals to JSON and back without loss, and [Set.Merge] adds it to a
// set.
type Snapshot struct {
	// Histograms holds the set's histograms by name.
	Histograms map[string]*Histogram
	// Counters holds the set's counters by name.
	Counters map[string]int64
	// SeriesStart is the beginning of the second of the series' first point:
	// the earliest start of the sets whose measurements the snapshot holds.
	SeriesStart time.Time
	// SeriesTruncated reports that a set left values out of the series
	// because they came after its series limit.
	SeriesTruncated bool
	// Series holds one point per second, from SeriesStart to the last second
	// that has a value, empty seconds included.
	Series []Point
}

// snapshotJSON is the JSON form of a Snapshot. The clamped counts, which the
// HdrHistogram encoding has no place for, travel beside the histograms.
type snapshotJSON struct {
	Histograms      map[string]*Histogram `json:"histograms"`
	Clamped         map[string]int64      `json:"clamped,omitempty"`
	Counters        map[string]int64      `json:"counters"`
	SeriesStart     time.Time             `json:"series_start"`
	SeriesTruncated bool                  `json:"series_truncated,omitempty"`
	Series          []Point               `json:"series"`
}

// MarshalJSON implements [json.Marshaler]. Histograms are written in the
// HdrHistogram V2 compressed base64 encoding.
func (s Snapshot) MarshalJSON() ([]byte, error) {
	w := snapshotJSON{
		Histograms:      s.Histograms,
		Counters:        s.Counters,
		SeriesStart:     s.SeriesStart,
		SeriesTruncated: s.SeriesTruncated,
		Series:          s.Series,
	}
	if w.Histograms == nil {
		w.Histograms = map[string]*Histogram{}
	}
	if w.Counters == nil {
		w.Counters = map[string]int64{}
	}
	if w.Series == nil {
		w.Series = []Point{}
	}
	for name, h := range s.Histograms {
		if h == nil {
			return nil, fmt.Errorf("metrics: marshal snapshot: histogram %q is nil", name)
		}
		if h.clamped != 0 {
			if w.Clamped == nil {
				w.Clamped = map[string]int64{}
			}
			w.Clamped[name] = h.clamped
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON implements [json.Unmarshaler].
func (s *Snapshot) UnmarshalJSON(b []byte) error {
	var w snapshotJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	for name, h := range w.Histograms {
		if h == nil {
			return fmt.Errorf("metrics: unmarshal snapshot: histogram %q is null", name)
		}
	}
	for name, n := range w.Clamped {
		h := w.Histograms[name]
		if h == nil || n < 0 || n > h.Count() {
			return fmt.Errorf("metrics: unmarshal snapshot: clamped count %d for histogram %q does not fit it", n, name)
		}
		h.clamped = n
	}
	*s = Snapshot{
		Histograms:      w.Histograms,
		Counters:        w.Counters,
		SeriesStart:     w.SeriesStart,
		SeriesTruncated: w.SeriesTruncated,
		Series:          w.Series,
	}
	return nil
}

// Summaries returns the [Summary] of each of the snapshot's histograms, by
// name.
func (s Snapshot) Summaries() map[string]Summary {
	sums := make(map[string]Summary, len(s.Histograms))
	for name, h := range s.Histograms {
		if h != nil {
			sums[name] = h.Summary()
		}
	}
	return sums
}

// Snapshot returns a deep copy of the set's measurements. Values recorded
// while it runs may or may not be in it, but each one is either wholly in it
// or not at all, in the histogram and the series alike.
func (s *Set) Snapshot() Snapshot {
	snap := Snapshot{
		Histograms:      map[string]*Histogram{},
		Counters:        map[string]int64{},
		SeriesTruncated: s.truncated.Load(),
	}
	// The points grow at either end as seconds turn up; point 0 is the
	// set's start second, or an earlier one that a merge brought.
	first, points := s.startSec, []Point{{}}
	seen := false
	point := func(sec int64) *Point {
		seen = true
		return at(&first, &points, sec)
	}
	s.phases.Range(func(k, v any) bool {
		name, p := k.(string), v.(*phase)
		p.mu.Lock()
		defer p.mu.Unlock()
		snap.Histograms[name] = p.h.Clone()
		for i := range p.series.buckets {
			if lat, ok := p.series.buckets[i].latency(); ok {
				pt := point(p.series.first + int64(i))
				if pt.Latency == nil {
					pt.Latency = map[string]PointLatency{}
				}
				pt.Latency[name] = lat
			}
		}
		return true
	})
	s.counters.Range(func(k, v any) bool {
		name, c := k.(string), v.(*counter)
		c.mu.Lock()
		defer c.mu.Unlock()
		snap.Counters[name] = c.total
		for i, n := range c.series.vals {
			if n != 0 {
				pt := point(c.series.first + int64(i))
				if pt.Counters == nil {
					pt.Counters = map[string]int64{}
				}
				pt.Counters[name] = n
			}
		}
		return true
	})
	s.gauges.Range(func(k, v any) bool {
		name, g := k.(string), v.(*gauge)
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, n := range g.series.vals {
			if n > 0 {
				pt := point(g.series.first + int64(i))
				if pt.Gauges == nil {
					pt.Gauges = map[string]int64{}
				}
				pt.Gauges[name] = n
			}
		}
		return true
	})
	snap.SeriesStart = time.Unix(first, 0).UTC()
	snap.Series = points[:0]
	if seen {
		snap.Series = points
	}
	for i := range snap.Series {
		snap.Series[i].Second = i
	}
	return snap
}

// Merge adds o's measurements to s, as [Set.Merge] adds them to a set, and
// leaves s unchanged if it returns an error. The merged series starts at the
// earlier of the two series starts.
func (s *Snapshot) Merge(o Snapshot) error {
	start := s.SeriesStart
	if start.IsZero() || !o.SeriesStart.IsZero() && o.SeriesStart.Before(start) {
		start = o.SeriesStart
	}
	set := NewSet(WithNow(func() time.Time { return start }), WithSeries(start))
	if err := set.Merge(*s); err != nil {
		return err
	}
	if err := set.Merge(o); err != nil {
		return err
	}
	*s = set.Snapshot()
	return nil
}

// A pendingMerge is a series histogram of a snapshot, decoded and checked.
type pendingMerge struct {
	sec  int64
	name string
	h    *hdr.PackedHistogram
}

// Merge adds the measurements of snap to the set: histograms, counters and
// series, which it aligns on absolute time. The result is exactly what the
// set would hold had it recorded snap's values itself, except for gauges:
// their values add up second by second, for the sets merged are parts of
// one load run side by side (segments), whose users in a journey, say,
// together are the test's.
//
// Merge checks snap before changing anything, and returns an error for a
// histogram that is nil or whose range or precision differs from this
// package's (wrapping [ErrIncompatible]), a series histogram that does not
// decode, or a series point further than [MaxSeriesSpan] from the set's start.
func (s *Set) Merge(snap Snapshot) error {
	for name, h := range snap.Histograms {
		if h == nil {
			return fmt.Errorf("metrics: merge: histogram %q is nil", name)
		}
		if err := checkGeometry(geometryOf(h.h), histogramGeometry); err != nil {
			return fmt.Errorf("metrics: merge: histogram %q: %w", name, err)
		}
	}
	var pending []pendingMerge
	span := int64(MaxSeriesSpan / time.Second)
	base := snap.SeriesStart.Unix()
	for _, pt := range snap.Series {
		if base < s.startSec-2*span || base > s.startSec+2*span ||
			int64(pt.Second) < -span || int64(pt.Second) > span ||
			base+int64(pt.Second) < s.startSec-span || base+int64(pt.Second) > s.startSec+span {
			return fmt.Errorf("metrics: merge: series second %d from %v is more than %v from the set's start %v",
				pt.Second, snap.SeriesStart, MaxSeriesSpan, s.Start())
		}
		for name, lat := range pt.Latency {
			h, err := decodeSeriesHDR(lat.HDR)
			if err != nil {
				return fmt.Errorf("metrics: merge: series second %d, histogram %q: %w", pt.Second, name, err)
			}
			pending = append(pending, pendingMerge{base + int64(pt.Second), name, h})
		}
	}

	for name, h := range snap.Histograms {
		p := s.phase(name)
		p.mu.Lock()
		_ = p.h.Merge(h) // checked above
		p.mu.Unlock()
	}
	for name, n := range snap.Counters {
		c := s.counter(name)
		c.mu.Lock()
		c.total += n
		c.mu.Unlock()
	}
	for _, pt := range snap.Series {
		for name, n := range pt.Counters {
			c := s.counter(name)
			c.mu.Lock()
			c.series.add(base+int64(pt.Second), n)
			c.mu.Unlock()
		}
	}
	for _, pt := range snap.Series {
		for name, n := range pt.Gauges {
			g := s.gauge(name)
			g.mu.Lock()
			g.series.add(base+int64(pt.Second), n)
			g.mu.Unlock()
		}
	}
	for _, m := range pending {
		p := s.phase(m.name)
		p.mu.Lock()
		p.series.merge(m.sec, m.h)
		p.mu.Unlock()
	}
	if snap.SeriesTruncated {
		s.truncated.Store(true)
	}
	return nil
}
