package metrics

import (
	"encoding/json"
	"reflect"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestGaugeSeries(t *testing.T) {
	clock := newFakeClock(testStart) // 10:00:00.400
	s := NewSet(WithNow(clock.Now))
	for _, r := range []struct {
		after time.Duration
		v     int64
	}{
		{0, 3}, {300 * time.Millisecond, 7}, {500 * time.Millisecond, 5}, // second 0: 3, 7, then 5 at 0.900
		{700 * time.Millisecond, 4},  // second 1
		{2700 * time.Millisecond, 0}, // second 3: read, but 0
		{3700 * time.Millisecond, 2}, // second 4
	} {
		clock.Set(testStart.Add(r.after))
		s.Gauge("active_users", r.v)
	}
	snap := s.Snapshot()
	want := []int64{7, 4, 0, 0, 2}
	if len(snap.Series) != len(want) {
		t.Fatalf("Series has %d points; want %d", len(snap.Series), len(want))
	}
	for i, pt := range snap.Series {
		got, ok := pt.Gauges["active_users"]
		if got != want[i] || ok != (want[i] > 0) {
			t.Errorf("Series[%d].Gauges[active_users] = %d (present %t); want %d, present only above 0", i, got, ok, want[i])
		}
	}
	if len(snap.Counters) != 0 || len(snap.Histograms) != 0 {
		t.Errorf("a gauge made counters %v or histograms %v; want neither", snap.Counters, snap.Histograms)
	}
}

// TestGaugeMergeAdds merges the gauges of two segments that ran side by
// side, one started a second later: each second holds the sum of both,
// through Set.Merge, Snapshot.Merge and JSON.
func TestGaugeMergeAdds(t *testing.T) {
	seg := func(start time.Time, vals ...int64) Snapshot {
		clock := newFakeClock(start)
		s := NewSet(WithNow(clock.Now))
		for i, v := range vals {
			clock.Set(start.Add(time.Duration(i) * time.Second))
			s.Gauge("active_users", v)
		}
		return s.Snapshot()
	}
	a := seg(testStart, 5, 6, 7)
	b := seg(testStart.Add(time.Second), 10, 20)
	var m Snapshot
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if err := m.Merge(b); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, pt := range m.Series {
		got = append(got, pt.Gauges["active_users"])
	}
	if want := []int64{5, 16, 27}; !reflect.DeepEqual(got, want) {
		t.Errorf("merged gauge per second = %v; want %v (5, 6+10, 7+20)", got, want)
	}
}

func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSet()          // on the bubble's clock, which starts on a whole second
		var users atomic.Int64 // read by the polling goroutine
		users.Store(4)
		stop := s.Poll("active_users", 250*time.Millisecond, users.Load)
		time.Sleep(1100 * time.Millisecond) // second 0: 4; second 1 from 1.000
		users.Store(9)
		time.Sleep(1000 * time.Millisecond) // to 2.100
		users.Store(1)
		stop()
		stop() // a second stop is harmless
		snap := s.Snapshot()
		var got []int64
		for _, pt := range snap.Series {
			got = append(got, pt.Gauges["active_users"])
		}
		// Second 1 read 4 at 1.000 and 9 from 1.250; second 2 read 9 at
		// 2.000 and 1 when stopped at 2.100.
		if want := []int64{4, 9, 9}; !reflect.DeepEqual(got, want) {
			t.Errorf("polled gauge per second = %v; want %v", got, want)
		}
	})
}

func TestHistogramBins(t *testing.T) {
	h := NewHistogram()
	for _, d := range []time.Duration{500 * time.Microsecond, 1 * time.Millisecond, 3 * time.Millisecond, 3 * time.Millisecond,
		9 * time.Millisecond, 11 * time.Millisecond, 250 * time.Millisecond, 2 * time.Second} {
		h.Record(d)
	}
	edges := []time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second}
	// 500µs is below the first edge: first bin. 2s is beyond the last:
	// last bin. (A latency within 0.1% of an edge may fall either side.)
	want := []int64{5, 1, 2}
	if got := h.Bins(edges); !reflect.DeepEqual(got, want) {
		t.Errorf("Bins(%v) = %v; want %v", edges, got, want)
	}
	var sum int64
	for _, n := range h.Bins(edges) {
		sum += n
	}
	if sum != h.Count() {
		t.Errorf("the bins hold %d latencies; want all %d", sum, h.Count())
	}
	if got := NewHistogram().Bins(edges); !reflect.DeepEqual(got, []int64{0, 0, 0}) {
		t.Errorf("Bins of an empty histogram = %v; want zeros", got)
	}
	if got := h.Bins(edges[:1]); got != nil {
		t.Errorf("Bins with one edge = %v; want nil", got)
	}
}
