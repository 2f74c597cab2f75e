package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// The range and precision of the histograms this package makes. They record
// nanoseconds into an HdrHistogram of range [1 ns, 1 h], the usual geometry
// for latencies in nanoseconds, so precision holds down to the smallest
// latency kept.
const (
	// LowestTrackable is the smallest latency a histogram keeps; shorter
	// ones are recorded as LowestTrackable and counted as clamped.
	LowestTrackable = time.Microsecond
	// HighestTrackable is the largest latency a histogram holds; longer
	// ones are recorded as HighestTrackable and counted as clamped.
	HighestTrackable = time.Hour
	// SignificantFigures is the precision of a [Histogram]: quantiles are
	// within 0.1% of the recorded values.
	SignificantFigures = 3
	// SeriesSignificantFigures is the precision of the per-second histograms
	// of the series: their quantiles are within 1%.
	SeriesSignificantFigures = 2
)

// ErrIncompatible is wrapped by the errors of merges between histograms of
// different range or precision, which could not be merged without loss.
var ErrIncompatible = errors.New("metrics: incompatible histograms")

// A Histogram is the distribution of a set of latencies, held in an
// HdrHistogram of fixed size whatever the number of values.
//
// Make one with [NewHistogram] or [DecodeHistogram]; the zero value is not
// ready for use. A Histogram is not safe for concurrent use; a [Set] is.
type Histogram struct {
	h       *hdr.Histogram
	clamped int64
}

// NewHistogram returns an empty histogram that tracks latencies from
// [LowestTrackable] to [HighestTrackable] at [SignificantFigures].
func NewHistogram() *Histogram {
	return &Histogram{h: newHDR(SignificantFigures)}
}

func newHDR(figures int) *hdr.Histogram {
	return hdr.New(1, int64(HighestTrackable), figures)
}

// Record adds one latency. A latency outside the histogram's range is
// recorded as the nearest bound and counted in [Histogram.Clamped].
func (h *Histogram) Record(d time.Duration) {
	v, clamped := clamp(int64(d),
		max(int64(LowestTrackable), h.h.LowestTrackableValue()),
		min(int64(HighestTrackable), h.h.HighestTrackableValue()))
	if clamped {
		h.clamped++
	}
	// Cannot fail: v is in range, and the total would need 2^63 records.
	_ = h.h.RecordValue(v)
}

// clamp returns v limited to [lo, hi] and whether it had to be moved.
func clamp(v, lo, hi int64) (int64, bool) {
	switch {
	case v < lo:
		return lo, true
	case v > hi:
		return hi, true
	}
	return v, false
}

// Count returns the number of latencies recorded, clamped ones included.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Clamped returns how many of the recorded latencies lay outside the range and
// were recorded as its nearest bound. A histogram read by [DecodeHistogram]
// reports 0: the HdrHistogram encoding has no place for it.
func (h *Histogram) Clamped() int64 { return h.clamped }

// Quantile returns the latency below or at which a fraction q of the recorded
// latencies lie, within the histogram's precision: Quantile(0.99) is the p99.
// q is limited to [0, 1]. An empty histogram returns 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	if math.IsNaN(q) || q < 0 {
		q = 0
	}
	return h.cap(h.h.ValueAtQuantile(min(q, 1) * 100))
}

// cap keeps a reported value within the histogram's range: HdrHistogram
// reports the top of a value's bucket, which for the last bucket lies above
// the highest trackable value.
func (h *Histogram) cap(v int64) time.Duration {
	return time.Duration(min(v, h.h.HighestTrackableValue()))
}

// Mean returns the mean of the recorded latencies, within the histogram's
// precision, or 0 if there are none.
func (h *Histogram) Mean() time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return h.cap(int64(math.Round(h.h.Mean())))
}

// Max returns the largest recorded latency, within the histogram's precision,
// or 0 if there are none.
func (h *Histogram) Max() time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return h.cap(h.h.Max())
}

// Min returns the smallest recorded latency, within the histogram's
// precision, or 0 if there are none.
func (h *Histogram) Min() time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.h.Min())
}

// Bins counts the recorded latencies in each interval between consecutive
// edges, which must be increasing: bin i holds those in
// [edges[i], edges[i+1]). Latencies below edges[0] count in the first bin
// and those at or above the last edge in the last one, so the counts add up
// to [Histogram.Count]. A latency is placed by the middle of its
// HdrHistogram bucket, which is within the histogram's precision of it.
// With fewer than two edges Bins returns nil.
func (h *Histogram) Bins(edges []time.Duration) []int64 {
	if len(edges) < 2 {
		return nil
	}
	out := make([]int64, len(edges)-1)
	if h.h.TotalCount() == 0 {
		return out
	}
	for _, b := range h.h.Distribution() {
		if b.Count == 0 {
			continue
		}
		v := time.Duration(b.From + (b.To-b.From)/2)
		i, _ := slices.BinarySearch(edges, v) // edges[i-1] < v <= edges[i]
		if i < len(edges) && edges[i] == v {
			i++ // v starts bin i
		}
		out[min(max(i-1, 0), len(out)-1)] += b.Count
	}
	return out
}

// Merge adds every latency recorded in o to h, as if h had recorded them
// itself, and returns nil. If o has a different range or precision it changes
// nothing and returns an error wrapping [ErrIncompatible].
func (h *Histogram) Merge(o *Histogram) error {
	if err := checkGeometry(geometryOf(o.h), geometryOf(h.h)); err != nil {
		return err
	}
	// Nothing is dropped: the geometry is the same.
	h.h.Merge(o.h)
	h.clamped += o.clamped
	return nil
}

// A geometry is the range and precision of an HdrHistogram. Histograms
// merge without loss only if they have the same geometry.
type geometry struct{ lowest, highest, figures int64 }

// Both HdrHistogram types, dense and packed, have these.
type geometer interface {
	LowestTrackableValue() int64
	HighestTrackableValue() int64
	SignificantFigures() int64
}

func geometryOf(h geometer) geometry {
	return geometry{h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures()}
}

// The geometries of a Histogram and of a series histogram.
var (
	histogramGeometry = geometry{1, int64(HighestTrackable), SignificantFigures}
	seriesGeometry    = geometry{1, int64(HighestTrackable), SeriesSignificantFigures}
)

func (g geometry) String() string {
	return fmt.Sprintf("range [%v, %v] at %d significant figures",
		time.Duration(g.lowest), time.Duration(g.highest), g.figures)
}

// checkGeometry returns an error wrapping ErrIncompatible unless got is want.
func checkGeometry(got, want geometry) error {
	if got != want {
		return fmt.Errorf("%w: %v, want %v", ErrIncompatible, got, want)
	}
	return nil
}

// Clone returns an independent copy of h.
func (h *Histogram) Clone() *Histogram {
	return &Histogram{h: h.h.Clone(), clamped: h.clamped}
}

// Encode returns h in the HdrHistogram V2 compressed base64 encoding
// ("HISTF..."), which other HDR tools read. Values are in nanoseconds. The
// clamped count is not part of the encoding.
func (h *Histogram) Encode() (string, error) {
	b, err := h.h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("metrics: encode histogram: %w", err)
	}
	return string(b), nil
}

// DecodeHistogram reads a histogram in the HdrHistogram V2 compressed base64
// encoding, as written by [Histogram.Encode] or another HDR tool. It keeps the
// encoded range and precision, which need not be this package's; values are
// taken to be nanoseconds.
func DecodeHistogram(s string) (*Histogram, error) {
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("metrics: decode histogram: %w", err)
	}
	return &Histogram{h: h}, nil
}

// MarshalText implements [encoding.TextMarshaler] with [Histogram.Encode], so
// a histogram marshals to JSON as its encoded string.
func (h *Histogram) MarshalText() ([]byte, error) {
	s, err := h.Encode()
	return []byte(s), err
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [DecodeHistogram].
func (h *Histogram) UnmarshalText(b []byte) error {
	d, err := DecodeHistogram(string(b))
	if err != nil {
		return err
	}
	*h = *d
	return nil
}

// A Summary is a histogram's headline figures, for reports. Latencies are in
// milliseconds.
type Summary struct {
	Count   int64   `json:"count"`
	Clamped int64   `json:"clamped,omitempty"`
	Min     float64 `json:"min_ms"`
	Mean    float64 `json:"mean_ms"`
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P95     float64 `json:"p95_ms"`
	P99     float64 `json:"p99_ms"`
	P999    float64 `json:"p999_ms"`
	Max     float64 `json:"max_ms"`
}

// Summary returns h's count, clamped count, minimum, mean, p50, p90, p95, p99,
// p99.9 and maximum.
func (h *Histogram) Summary() Summary {
	return Summary{
		Count:   h.Count(),
		Clamped: h.clamped,
		Min:     ms(h.Min()),
		Mean:    ms(h.Mean()),
		P50:     ms(h.Quantile(0.50)),
		P90:     ms(h.Quantile(0.90)),
		P95:     ms(h.Quantile(0.95)),
		P99:     ms(h.Quantile(0.99)),
		P999:    ms(h.Quantile(0.999)),
		Max:     ms(h.Max()),
	}
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
