package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// precision is the relative error HdrHistogram allows at 3 significant
// figures: a value is reported as the top of its bucket, at most 1/1024 above.
const precision = 1.0 / 1024

// rank returns the q quantile of values, sorted, by nearest rank.
func rank(values []time.Duration, q float64) time.Duration {
	return values[max(int(q*float64(len(values))+0.5), 1)-1]
}

// exactly returns n values that follow the distribution with quantile
// function inv exactly: the (i+0.5)/n quantiles, so no sampling noise.
func exactly(n int, inv func(q float64) time.Duration) []time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = inv((float64(i) + 0.5) / float64(n))
	}
	return ds
}

func uniformMicros(n int) []time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = time.Duration(i+1) * time.Microsecond
	}
	return ds
}

func within(got, want time.Duration, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)
}

func TestHistogramQuantile(t *testing.T) {
	exponential := exactly(100_000, func(q float64) time.Duration {
		return time.Duration(-math.Log(1-q) * float64(10*time.Millisecond))
	})
	constant := exactly(1000, func(float64) time.Duration { return 42 * time.Millisecond })
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		{"uniform 1..10000µs", uniformMicros(10_000), 0.5, 5000 * time.Microsecond},
		{"uniform 1..10000µs", uniformMicros(10_000), 0.9, 9000 * time.Microsecond},
		{"uniform 1..10000µs", uniformMicros(10_000), 0.99, 9900 * time.Microsecond},
		{"uniform 1..10000µs", uniformMicros(10_000), 0.999, 9990 * time.Microsecond},
		{"uniform 1..10000µs", uniformMicros(10_000), 1, 10_000 * time.Microsecond},
		{"uniform 1..10000µs", uniformMicros(10_000), 0, 1 * time.Microsecond},
		{"exponential mean 10ms", exponential, 0.5, time.Duration(math.Round(math.Ln2 * 10e6))},
		{"exponential mean 10ms", exponential, 0.99, time.Duration(math.Log(100) * 10e6)},
		{"exponential mean 10ms", exponential, 0.9999, rank(exponential, 0.9999)},
		{"exponential mean 10ms", exponential, 0.001, rank(exponential, 0.001)},
		{"constant 42ms", constant, 0.01, 42 * time.Millisecond},
		{"constant 42ms", constant, 0.999, 42 * time.Millisecond},
	}
	for _, tt := range tests {
		h := NewHistogram()
		for _, d := range tt.values {
			h.Record(d)
		}
		if got := h.Quantile(tt.q); !within(got, tt.want, precision) {
			t.Errorf("%s: Quantile(%g) = %v; want %v ± 0.1%%", tt.name, tt.q, got, tt.want)
		}
	}
}

func TestHistogramStatistics(t *testing.T) {
	h := NewHistogram()
	for _, d := range uniformMicros(10_000) {
		h.Record(d)
	}
	tests := []struct {
		name      string
		got, want time.Duration
	}{
		{"Min", h.Min(), time.Microsecond},
		{"Max", h.Max(), 10 * time.Millisecond},
		{"Mean", h.Mean(), 5000500 * time.Nanosecond},
	}
	for _, tt := range tests {
		if !within(tt.got, tt.want, precision) {
			t.Errorf("uniform 1..10000µs: %s() = %v; want %v ± 0.1%%", tt.name, tt.got, tt.want)
		}
	}
	if got := h.Count(); got != 10_000 {
		t.Errorf("uniform 1..10000µs: Count() = %d; want 10000", got)
	}

	empty := NewHistogram()
	for name, got := range map[string]time.Duration{
		"Min": empty.Min(), "Max": empty.Max(), "Mean": empty.Mean(), "Quantile(0.5)": empty.Quantile(0.5),
	} {
		if got != 0 {
			t.Errorf("empty histogram: %s = %v; want 0", name, got)
		}
	}
}

func TestHistogramClamp(t *testing.T) {
	tests := []struct {
		d       time.Duration
		want    time.Duration // as the histogram reports it
		clamped bool
	}{
		{-time.Second, LowestTrackable, true},
		{0, LowestTrackable, true},
		{999 * time.Nanosecond, LowestTrackable, true},
		{time.Microsecond, time.Microsecond, false},
		{59 * time.Minute, 59 * time.Minute, false},
		{time.Hour, time.Hour, false},
		{time.Hour + time.Nanosecond, time.Hour, true},
		{100 * time.Hour, time.Hour, true},
	}
	for _, tt := range tests {
		h := NewHistogram()
		h.Record(tt.d)
		wantClamped := int64(0)
		if tt.clamped {
			wantClamped = 1
		}
		if h.Count() != 1 || h.Clamped() != wantClamped {
			t.Errorf("Record(%v): Count(), Clamped() = %d, %d; want 1, %d", tt.d, h.Count(), h.Clamped(), wantClamped)
		}
		if got := h.Max(); !within(got, tt.want, precision) || got > HighestTrackable {
			t.Errorf("Record(%v): Max() = %v; want %v ± 0.1%%, at most %v", tt.d, got, tt.want, HighestTrackable)
		}
	}
}

func TestHistogramEncodeRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
	}{
		{"empty", nil},
		{"one value", []time.Duration{3 * time.Millisecond}},
		{"uniform 1..10000µs", uniformMicros(10_000)},
		{"whole range", []time.Duration{time.Microsecond, time.Millisecond, time.Second, time.Minute, time.Hour}},
	}
	for _, tt := range tests {
		h := NewHistogram()
		for _, d := range tt.values {
			h.Record(d)
		}
		s, err := h.Encode()
		if err != nil {
			t.Fatalf("%s: Encode() error: %v", tt.name, err)
		}
		if !strings.HasPrefix(s, "HISTF") {
			t.Errorf("%s: Encode() = %.10q...; want the V2 compressed base64 encoding, HISTF...", tt.name, s)
		}
		got, err := DecodeHistogram(s)
		if err != nil {
			t.Fatalf("%s: DecodeHistogram(Encode()) error: %v", tt.name, err)
		}
		if !got.h.Equals(h.h) {
			t.Errorf("%s: DecodeHistogram(Encode()) differs from the histogram encoded", tt.name)
		}
		// Other HDR readers see the same thing.
		raw, err := hdr.Decode([]byte(s))
		if err != nil || !raw.Equals(h.h) {
			t.Errorf("%s: hdrhistogram Decode(Encode()) = (differs, %v); want the histogram encoded", tt.name, err)
		}

		b, err := json.Marshal(h)
		if err != nil || string(b) != `"`+s+`"` {
			t.Errorf("%s: json.Marshal = (%.20s..., %v); want the encoding as a JSON string", tt.name, b, err)
		}
		var back Histogram
		if err := json.Unmarshal(b, &back); err != nil || !back.h.Equals(h.h) {
			t.Errorf("%s: json.Unmarshal(json.Marshal) = (differs, %v); want the histogram marshalled", tt.name, err)
		}
	}
}

func TestDecodeHistogramRejects(t *testing.T) {
	for _, in := range []string{"", "HISTF", "not base64 at all!", "SElTVEZBQUFBQ2Q0MnBK"} {
		if _, err := DecodeHistogram(in); err == nil || !strings.HasPrefix(err.Error(), "metrics: decode histogram: ") {
			t.Errorf("DecodeHistogram(%q) error = %v; want a metrics: decode histogram: error", in, err)
		}
	}
}

// foreign returns a histogram of another geometry, as another tool wrote it.
func foreign(t testing.TB, lowest, highest int64, figures int) *Histogram {
	t.Helper()
	b, err := hdr.New(lowest, highest, figures).Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	h, err := DecodeHistogram(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHistogramMergeIncompatible(t *testing.T) {
	tests := []struct {
		name    string
		other   *Histogram
		wantErr string
	}{
		{"same geometry", NewHistogram(), ""},
		{"2 significant figures", foreign(t, 1, int64(time.Hour), 2),
			"metrics: incompatible histograms: range [1ns, 1h0m0s] at 2 significant figures, want range [1ns, 1h0m0s] at 3 significant figures"},
		{"range from 1µs", foreign(t, 1000, int64(time.Hour), 3), "range [1µs, 1h0m0s] at 3"},
		{"range to 1 day", foreign(t, 1, int64(24*time.Hour), 3), "range [1ns, 24h0m0s] at 3"},
	}
	for _, tt := range tests {
		h := NewHistogram()
		h.Record(time.Millisecond)
		tt.other.Record(time.Second)
		err := h.Merge(tt.other)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Merge(%s) = %v; want nil", tt.name, err)
		case tt.wantErr != "" && (!errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Merge(%s) = %v; want ErrIncompatible with %q", tt.name, err, tt.wantErr)
		case tt.wantErr != "" && h.Count() != 1:
			t.Errorf("Merge(%s) failed but changed the count to %d; want 1", tt.name, h.Count())
		}
	}
}

func TestHistogramSummary(t *testing.T) {
	h := NewHistogram()
	for _, d := range uniformMicros(10_000) {
		h.Record(d)
	}
	h.Record(0)
	got := h.Summary()
	want := Summary{Count: 10_001, Clamped: 1, Min: 0.001, Mean: 5.0, P50: 5.0, P90: 9.0, P95: 9.5, P99: 9.9, P999: 9.99, Max: 10}
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"Min", got.Min, want.Min}, {"Mean", got.Mean, want.Mean}, {"P50", got.P50, want.P50},
		{"P90", got.P90, want.P90}, {"P95", got.P95, want.P95}, {"P99", got.P99, want.P99},
		{"P999", got.P999, want.P999}, {"Max", got.Max, want.Max},
	} {
		if math.Abs(f.got-f.want) > 2*precision*f.want {
			t.Errorf("Summary().%s = %g ms; want %g ms ± 0.2%%", f.name, f.got, f.want)
		}
	}
	if got.Count != want.Count || got.Clamped != want.Clamped {
		t.Errorf("Summary() Count, Clamped = %d, %d; want %d, %d", got.Count, got.Clamped, want.Count, want.Clamped)
	}
	b, _ := json.Marshal(got)
	for _, key := range []string{`"count":`, `"clamped":`, `"min_ms":`, `"mean_ms":`, `"p50_ms":`, `"p90_ms":`, `"p95_ms":`, `"p99_ms":`, `"p999_ms":`, `"max_ms":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("json.Marshal(Summary()) = %s; want a %s field", b, key)
		}
	}
}

func FuzzDecodeHistogram(f *testing.F) {
	h := NewHistogram()
	for _, d := range uniformMicros(100) {
		h.Record(d)
	}
	s, _ := h.Encode()
	f.Add(s)
	e, _ := NewHistogram().Encode()
	f.Add(e)
	f.Add("HISTFAAAAAA=")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := DecodeHistogram(s)
		if err != nil {
			return
		}
		again, err := h.Encode()
		if err != nil {
			t.Fatalf("Encode(DecodeHistogram(%q)) error: %v", s, err)
		}
		back, err := DecodeHistogram(again)
		if err != nil || !back.h.Equals(h.h) {
			t.Fatalf("DecodeHistogram(Encode(DecodeHistogram(%q))) = (differs, %v); want the same histogram", s, err)
		}
	})
}
