package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// seriesHistograms are series histograms of every shape the encoder
// meets: empty, one value, values at both ends of the range, dense and
// sparse spreads, counts past what one LEB128 byte holds, and merges.
func seriesHistograms(t testing.TB) map[string]*hdr.PackedHistogram {
	t.Helper()
	rec := func(p *hdr.PackedHistogram, v, n int64) {
		if err := p.RecordValues(v, n); err != nil {
			t.Fatalf("RecordValues(%d, %d): %v", v, n, err)
		}
	}
	hs := map[string]*hdr.PackedHistogram{}
	hs["empty"] = newSeriesHDR()
	one := newSeriesHDR()
	rec(one, int64(3*time.Millisecond), 1)
	hs["one value"] = one
	ends := newSeriesHDR()
	rec(ends, 1, 2)
	rec(ends, int64(HighestTrackable), 3)
	hs["both ends"] = ends
	adjacent := newSeriesHDR() // no empty bucket between them; then one
	rec(adjacent, 100, 1)
	rec(adjacent, 101, 1)
	rec(adjacent, 103, 1)
	hs["adjacent buckets"] = adjacent
	big := newSeriesHDR()
	rec(big, 5000, 1<<40)
	rec(big, 7000, math.MaxInt64>>4)
	hs["large counts"] = big
	rng := rand.New(rand.NewPCG(7, 11))
	for _, spread := range []float64{0.05, 1, 4} {
		p := newSeriesHDR()
		for range 2000 {
			v := int64(float64(2*time.Millisecond) * math.Exp(rng.NormFloat64()*spread))
			rec(p, min(max(v, 1), int64(HighestTrackable)), 1+rng.Int64N(3))
		}
		hs["lognormal spread "+time.Duration(spread*1e9).String()] = p
	}
	merged := newSeriesHDR()
	merged.Merge(hs["one value"])
	merged.Merge(hs["lognormal spread 1s"])
	hs["merged"] = merged
	// What a sealed second unseals into: a histogram decoded from the
	// library's encoding.
	enc, err := hs["lognormal spread 4s"].Encode()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := decodeSeriesHDR(string(enc))
	if err != nil {
		t.Fatal(err)
	}
	rec(dec, 42, 1)
	hs["decoded, then recorded into"] = dec
	return hs
}

// TestEncodeSeriesMatchesLibrary: encodeSeries writes, byte for byte, what
// the library's own encoder writes, and its decoder reads it back.
func TestEncodeSeriesMatchesLibrary(t *testing.T) {
	for name, p := range seriesHistograms(t) {
		want, err := p.Encode()
		if err != nil {
			t.Fatalf("%s: library Encode: %v", name, err)
		}
		// Twice: the kept compressor's second use writes what its first did.
		for range 2 {
			if got := encodeSeries(p); got != string(want) {
				t.Errorf("%s: encodeSeries = %.40q... (%d bytes); want the library's %.40q... (%d bytes)",
					name, got, len(got), want, len(want))
			}
		}
		back, err := decodeSeriesHDR(encodeSeries(p))
		if err != nil {
			t.Fatalf("%s: decode of encodeSeries: %v", name, err)
		}
		if back.TotalCount() != p.TotalCount() || back.Max() != p.Max() || back.Min() != p.Min() {
			t.Errorf("%s: decoded back: count %d, min %d, max %d; want %d, %d, %d",
				name, back.TotalCount(), back.Min(), back.Max(), p.TotalCount(), p.Min(), p.Max())
		}
	}
}

// TestCountsIndexMatchesLibrary: the bucket index of every value near
// each power of two up to the series' highest, as the library's encoding
// shows it (the length of the run before a lone value).
func TestCountsIndexMatchesLibrary(t *testing.T) {
	half := subBucketHalfMagnitude(SeriesSignificantFigures)
	for e := 0; e < 42; e++ {
		for _, d := range []int64{-1, 0, 1} {
			v := int64(1)<<e + d
			if v < 1 || v > int64(HighestTrackable) {
				continue
			}
			p := newSeriesHDR()
			if err := p.RecordValue(v); err != nil {
				t.Fatal(err)
			}
			want, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if got := encodeSeries(p); got != string(want) {
				t.Errorf("value %d (index %d): encodeSeries differs from the library's encoding", v, countsIndex(v, 0, half))
			}
		}
	}
}

// BenchmarkSeriesEncode: the library's encoder of a second's histogram
// against encodeSeries; the allocations are the point.
func BenchmarkSeriesEncode(b *testing.B) {
	p := seriesHistograms(b)["lognormal spread 1s"]
	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kept-compressor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = encodeSeries(p)
		}
	})
}
