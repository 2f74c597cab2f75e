package metrics

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// A Point is one second of a snapshot's series.
type Point struct {
	// Second counts seconds from the snapshot's SeriesStart.
	Second int `json:"second"`
	// Counters holds, for each counter that changed in this second, the sum
	// of what was added to it in this second.
	Counters map[string]int64 `json:"counters,omitempty"`
	// Latency holds, for each series histogram recorded into in this second,
	// the distribution of this second's latencies.
	Latency map[string]PointLatency `json:"latency,omitempty"`
	// Gauges holds, for each gauge read above 0 in this second, the highest
	// value read ([Set.Gauge]); after a merge, the sum of the merged sets'.
	Gauges map[string]int64 `json:"gauges,omitempty"`
}

// A PointLatency is the distribution of one histogram's latencies in one
// second, at [SeriesSignificantFigures]. Latencies are in milliseconds.
type PointLatency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	// HDR is the second's histogram in the HdrHistogram V2 compressed base64
	// encoding, in nanoseconds. Merges read it; they ignore the fields above.
	HDR string `json:"hdr"`
}

// seriesQuantiles are the percentiles of a PointLatency, in field order.
var seriesQuantiles = []float64{50, 95, 99}

func newSeriesHDR() *hdr.PackedHistogram {
	return hdr.NewPacked(1, int64(HighestTrackable), SeriesSignificantFigures)
}

// decodeSeriesHDR reads the encoded histogram of a PointLatency and checks
// that it has the series' range and precision.
func decodeSeriesHDR(s string) (*hdr.PackedHistogram, error) {
	p, err := hdr.DecodePacked([]byte(s))
	if err != nil {
		return nil, err
	}
	return p, checkGeometry(geometryOf(p), seriesGeometry)
}

// latencyOf returns the PointLatency of p.
func latencyOf(p *hdr.PackedHistogram) PointLatency {
	q := p.ValueAtPercentilesSlice(seriesQuantiles)
	top := int64(HighestTrackable)
	return PointLatency{
		Count: p.TotalCount(),
		P50:   ms(time.Duration(min(q[0], top))),
		P95:   ms(time.Duration(min(q[1], top))),
		P99:   ms(time.Duration(min(q[2], top))),
		HDR:   encodeSeries(p),
	}
}

// A secondHist is one second of a series histogram. While the second is
// recent it is live: a sparse HdrHistogram that takes values. Once it is over
// it is sealed: only its PointLatency, encoding included, is kept, which is a
// fraction of the memory and what a snapshot needs anyway. A sealed second
// that receives a late value or a merge is decoded and sealed again.
type secondHist struct {
	live   *hdr.PackedHistogram
	sealed PointLatency // valid when live is nil; empty if Count is 0
}

// hist returns b's live histogram, unsealing b if needed.
func (b *secondHist) hist() *hdr.PackedHistogram {
	if b.live != nil {
		return b.live
	}
	b.live = newSeriesHDR()
	if b.sealed.Count > 0 {
		p, err := hdr.DecodePacked([]byte(b.sealed.HDR))
		if err != nil {
			panic("metrics: cannot decode a sealed series histogram: " + err.Error())
		}
		b.live = p
	}
	b.sealed = PointLatency{}
	return b.live
}

// seal replaces b's live histogram by its PointLatency.
func (b *secondHist) seal() {
	if b.live == nil {
		return
	}
	if b.live.TotalCount() == 0 {
		b.live = nil
		return
	}
	b.live, b.sealed = nil, latencyOf(b.live)
}

// latency returns b's PointLatency, and false if b is empty.
func (b *secondHist) latency() (PointLatency, bool) {
	if b.live == nil {
		return b.sealed, b.sealed.Count > 0
	}
	lat := latencyOf(b.live)
	return lat, lat.Count > 0
}

// A histSeries is a series histogram: one secondHist per second.
type histSeries struct {
	first   int64 // Unix second of buckets[0]
	buckets []secondHist
	live    []int64 // Unix seconds whose bucket is live
}

// record adds value v, in nanoseconds, to Unix second sec, then seals every
// live second before the previous one: a value that arrives up to a second
// late still finds its bucket live.
func (s *histSeries) record(sec, v int64) {
	b := at(&s.first, &s.buckets, sec)
	if b.live == nil {
		s.live = append(s.live, sec)
	}
	// Cannot fail: v is in range.
	_ = b.hist().RecordValue(v)
	keep := s.live[:0]
	for _, l := range s.live {
		if l < sec-1 {
			s.buckets[l-s.first].seal()
			continue
		}
		keep = append(keep, l)
	}
	s.live = keep
}

// merge adds p, of the series' geometry, to Unix second sec.
func (s *histSeries) merge(sec int64, p *hdr.PackedHistogram) {
	b := at(&s.first, &s.buckets, sec)
	wasLive := b.live != nil
	// Nothing is dropped: the geometry is the same.
	b.hist().Merge(p)
	if !wasLive {
		b.seal()
	}
}

// A countSeries is a counter's series: what was added in each second.
type countSeries struct {
	first int64 // Unix second of vals[0]
	vals  []int64
}

func (s *countSeries) add(sec, n int64) { *at(&s.first, &s.vals, sec) += n }

// raise makes Unix second sec hold at least v.
func (s *countSeries) raise(sec, v int64) {
	p := at(&s.first, &s.vals, sec)
	*p = max(*p, v)
}

// at returns the element for Unix second sec of a series whose element 0 is
// for second *first, growing the series at either end to include sec.
func at[T any](first *int64, xs *[]T, sec int64) *T {
	if len(*xs) == 0 {
		*first = sec
	}
	if sec < *first {
		n := int(*first - sec)
		grown := make([]T, n+len(*xs), n+cap(*xs))
		copy(grown[n:], *xs)
		*xs, *first = grown, sec
	}
	i := int(sec - *first)
	if i >= len(*xs) {
		var zero T
		for len(*xs) <= i {
			*xs = append(*xs, zero)
		}
	}
	return &(*xs)[i]
}
