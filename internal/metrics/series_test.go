package metrics

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func TestSeriesBuckets(t *testing.T) {
	// testStart is 10:00:00.400: bucket 0 is 10:00:00, bucket 1 10:00:01.
	tests := []struct {
		after time.Duration // from testStart
		want  int           // the point's Second
	}{
		{0, 0},
		{599 * time.Millisecond, 0},
		{600 * time.Millisecond, 1},
		{1599 * time.Millisecond, 1},
		{1600 * time.Millisecond, 2},
		{5100 * time.Millisecond, 5},
		{-2 * time.Second, 0}, // a clock before the start counts as the start
	}
	clock := newFakeClock(testStart)
	s := NewSet(WithNow(clock.Now), WithSeriesHistograms("journey"))
	want := map[int]int64{}
	for _, tt := range tests {
		clock.Set(testStart.Add(tt.after))
		s.Record("journey", time.Millisecond)
		s.Record("login", time.Millisecond) // not a series histogram
		s.Add("requests", 1)
		want[tt.want]++
	}
	snap := s.Snapshot()
	if want := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC); !snap.SeriesStart.Equal(want) {
		t.Errorf("SeriesStart of a set started at %v = %v; want %v", testStart, snap.SeriesStart, want)
	}
	if len(snap.Series) != 6 {
		t.Fatalf("Series has %d points; want 6, seconds 0 to 5", len(snap.Series))
	}
	for i, pt := range snap.Series {
		if pt.Second != i || pt.Counters["requests"] != want[i] || pt.Latency["journey"].Count != want[i] {
			t.Errorf("Series[%d] has Second %d, %d requests, %d journeys; want %d, %d, %d",
				i, pt.Second, pt.Counters["requests"], pt.Latency["journey"].Count, i, want[i], want[i])
		}
		if _, ok := pt.Latency["login"]; ok {
			t.Errorf("Series[%d] has login, which is not a series histogram", i)
		}
	}
}

func TestSeriesPointLatency(t *testing.T) {
	clock := newFakeClock(testStart)
	s := NewSet(WithNow(clock.Now), WithSeriesHistograms("journey"))
	for i := range 1000 {
		s.Record("journey", time.Duration(i+1)*time.Millisecond)
	}
	live := s.Snapshot().Series[0].Latency["journey"]
	// Two seconds on, second 0 is sealed: it must read the same.
	clock.Set(testStart.Add(2 * time.Second))
	s.Record("journey", time.Millisecond)
	sealed := s.Snapshot().Series[0].Latency["journey"]
	if !reflect.DeepEqual(live, sealed) {
		t.Errorf("point of second 0 sealed = %+v; want it as it was live, %+v", sealed, live)
	}
	tests := []struct {
		name      string
		got, want float64
	}{
		{"P50", live.P50, 500}, {"P95", live.P95, 950}, {"P99", live.P99, 990},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > tt.want/100 {
			t.Errorf("uniform 1..1000ms in one second: point %s = %g ms; want %g ms ± 1%%", tt.name, tt.got, tt.want)
		}
	}
	if live.Count != 1000 {
		t.Errorf("uniform 1..1000ms in one second: point Count = %d; want 1000", live.Count)
	}
}

func TestSeriesMergeAlignment(t *testing.T) {
	// a starts in second 10:00:00, b in second 10:00:03; the merging set in
	// 10:00:02, after a and before b. Each records some of the same stream,
	// and whole records it all.
	aStart, bStart := testStart.Add(-200*time.Millisecond), testStart.Add(3300*time.Millisecond)
	clock := newFakeClock(aStart)
	opts := func(start time.Time) []Option {
		return []Option{WithNow(clock.Now), WithSeries(start), WithSeriesHistograms("journey")}
	}
	whole, a, b := NewSet(opts(aStart)...), NewSet(opts(aStart)...), NewSet(opts(bStart)...)
	evs := randomEvents(rand.New(rand.NewPCG(5, 6)), bStart, 6000) // to 10:00:09.7, some late
	for i := range evs[:1500] {
		evs[i].at = aStart.Add(evs[i].at.Sub(bStart) * 2) // 10:00:00.2 to 10:00:03.2
	}
	play(clock, evs, whole, []*Set{a, b}, func(i int) int {
		if evs[i].at.Before(bStart) || i%2 == 0 && i < 3000 {
			return 0
		}
		return 1
	})

	bSnap := b.Snapshot()
	if want := time.Date(2025, 3, 1, 10, 0, 3, 0, time.UTC); !bSnap.SeriesStart.Equal(want) {
		t.Errorf("SeriesStart of a set started at %v = %v; want %v", bStart, bSnap.SeriesStart, want)
	}
	merged := NewSet(WithNow(clock.Now), WithSeries(testStart.Add(2*time.Second)))
	// b first, so that a's earlier seconds must go before the merged ones.
	for _, snap := range []Snapshot{bSnap, a.Snapshot()} {
		if err := merged.Merge(throughJSON(t, snap)); err != nil {
			t.Fatalf("Merge error: %v", err)
		}
	}
	want := whole.Snapshot()
	if len(want.Series) != 10 {
		t.Fatalf("the stream should span 10 seconds, not %d", len(want.Series))
	}
	sameMeasurements(t, "merge of sets started 3 s apart", merged.Snapshot(), want)

	// b's second 1 is the whole's second 4.
	if got, want := bSnap.Series[1].Counters["requests"], want.Series[4].Counters["requests"]-a.Snapshot().Series[4].Counters["requests"]; got != want {
		t.Errorf("b's second 1 has %d requests; want the whole's second 4 less a's, %d", got, want)
	}
}

func TestSeriesLimit(t *testing.T) {
	tests := []struct {
		name          string
		limit         time.Duration
		wantPoints    int
		wantTruncated bool
	}{
		{"2.5 s, rounded up to 3 s", 2500 * time.Millisecond, 4, true},
		{"default 24 h", DefaultSeriesLimit, 11, false},
		{"0, no series", 0, 0, false},
		{"-1 s, no series", -time.Second, 0, false},
	}
	for _, tt := range tests {
		clock := newFakeClock(testStart)
		s := NewSet(WithNow(clock.Now), WithSeriesLimit(tt.limit), WithSeriesHistograms("journey"))
		// 10:00:00.4, 01.4, 03.3 (2.9 s on, bucket 3), 03.4 (3 s on) and 10.4.
		for _, after := range []time.Duration{0, time.Second, 2900 * time.Millisecond, 3 * time.Second, 10 * time.Second} {
			clock.Set(testStart.Add(after))
			s.Record("journey", time.Millisecond)
			s.Add("requests", 1)
		}
		snap := s.Snapshot()
		if len(snap.Series) != tt.wantPoints || snap.SeriesTruncated != tt.wantTruncated {
			t.Errorf("WithSeriesLimit(%s): %d points, SeriesTruncated %t; want %d, %t",
				tt.name, len(snap.Series), snap.SeriesTruncated, tt.wantPoints, tt.wantTruncated)
		}
		if snap.Counters["requests"] != 5 || snap.Histograms["journey"].Count() != 5 {
			t.Errorf("WithSeriesLimit(%s): %d requests, %d journeys; want all 5 of each",
				tt.name, snap.Counters["requests"], snap.Histograms["journey"].Count())
		}
	}
}
