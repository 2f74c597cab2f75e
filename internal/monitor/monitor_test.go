package monitor

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var epoch = time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)

// counter is a fake source whose n-th read (from 1) sets RSS to n MiB and
// the metric "n" to n.
type counter struct{ n atomic.Int64 }

func (c *counter) Read(_ context.Context, s *Sample) error {
	n := c.n.Add(1)
	s.RSS, s.HasProc = n<<20, true
	s.Metrics = map[string]float64{"n": float64(n)}
	return nil
}

// stepClock is a fake clock that moves on a second at every call.
func stepClock() func() time.Time {
	var calls atomic.Int64
	return func() time.Time { return epoch.Add(time.Duration(calls.Add(1)-1) * time.Second) }
}

func TestNew(t *testing.T) {
	src := []Source{&counter{}}
	tests := []struct {
		name    string
		sources []Source
		opts    []Option
		want    string
	}{
		{"no sources", nil, nil, "monitor: no sources"},
		{"nil source", []Source{&counter{}, nil}, nil, "monitor: source 1 is nil"},
		{"zero interval", src, []Option{WithInterval(0)}, "monitor: interval 0s is not positive"},
		{"limit 1", src, []Option{WithLimit(1)}, "monitor: limit 1 is below 2"},
		{"nil clock", src, []Option{WithNow(nil)}, "monitor: nil clock"},
	}
	for _, tt := range tests {
		if m, err := New(tt.sources, tt.opts...); m != nil || err == nil || err.Error() != tt.want {
			t.Errorf("New(%s) = (%v, %v); want error %q", tt.name, m, err, tt.want)
		}
	}
	if m, err := New(src); err != nil || m.interval != DefaultInterval || m.limit != DefaultLimit {
		t.Errorf("New() = (%+v, %v); want the defaults", m, err)
	}
}

// TestRun checks, on a fake clock, that Run samples at once and then once an
// interval, and stops when its context ends.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m, err := New([]Source{&counter{}}, WithInterval(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()

		time.Sleep(5500 * time.Millisecond)
		synctest.Wait()
		if err := m.Run(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Errorf("second Run = %v; want an error", err)
		}
		series := m.Series()
		if len(series) != 6 {
			t.Fatalf("after 5.5s, %d samples; want 6", len(series))
		}
		for i, s := range series {
			if want := start.Add(time.Duration(i) * time.Second); !s.T.Equal(want) || s.Metrics["n"] != float64(i+1) {
				t.Errorf("sample %d at %s, n=%g; want at %s, n=%d", i, s.T.Sub(start), s.Metrics["n"], want.Sub(start), i+1)
			}
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v after cancel; want nil", err)
		}
		time.Sleep(3 * time.Second)
		if n := len(m.Series()); n != 6 {
			t.Errorf("%d samples 3s after Run returned; want still 6", n)
		}
	})
}

func TestRunCanceled(t *testing.T) {
	m, err := New([]Source{&counter{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Run(ctx); err != nil || len(m.Series()) != 0 {
		t.Errorf("Run(canceled) = %v with %d samples; want nil and none", err, len(m.Series()))
	}
	if s := m.SampleNow(ctx); len(m.Series()) != 0 || s.Metrics["n"] != 1 {
		t.Errorf("SampleNow(canceled) kept %d samples, returned %+v; want a sample returned, none kept", len(m.Series()), s)
	}
}

func TestSampleNowSources(t *testing.T) {
	gone := SourceFunc(func(context.Context, *Sample) error {
		return &ProcError{PID: 7, File: "/proc/7/stat", Err: ErrGone}
	})
	flaky := SourceFunc(func(context.Context, *Sample) error { return errors.New("monitor: scrape x: status 503") })
	m, err := New([]Source{gone, &counter{}, flaky}, WithNow(stepClock()))
	if err != nil {
		t.Fatal(err)
	}
	s := m.SampleNow(t.Context())
	want := "monitor: pid 7: /proc/7/stat: process is gone; monitor: scrape x: status 503"
	if !s.Gone || s.Err != want || s.Metrics["n"] != 1 || !s.T.Equal(epoch) {
		t.Errorf("SampleNow = %+v; want Gone, Err %q, the counter's figures", s, want)
	}
	if got := m.Series(); len(got) != 1 || got[0].Err != want {
		t.Errorf("Series() = %+v; want the one sample", got)
	}
}

// TestSeriesLimit checks the thinning of a full series: the step doubles,
// the first sample stays, and Peak still sees the samples dropped.
func TestSeriesLimit(t *testing.T) {
	tests := []struct {
		limit, samples int
		want           []int // seconds of the samples kept
	}{
		{4, 4, []int{0, 1, 2, 3}},
		{4, 5, []int{0, 2, 4}},
		{4, 7, []int{0, 2, 4, 6}},
		{4, 10, []int{0, 4, 8}},
		{3, 10, []int{0, 4, 8}}, // rounded up to 4
		{6, 20, []int{0, 4, 8, 12, 16}},
	}
	for _, tt := range tests {
		src := &counter{}
		m, err := New([]Source{src}, WithLimit(tt.limit), WithNow(stepClock()))
		if err != nil {
			t.Fatal(err)
		}
		for range tt.samples {
			m.SampleNow(t.Context())
		}
		var got []int
		for _, s := range m.Series() {
			got = append(got, int(s.T.Sub(epoch)/time.Second))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("limit %d, %d samples: kept seconds %v; want %v", tt.limit, tt.samples, got, tt.want)
		}
		peak, ok := m.Peak(FieldRSS)
		if wantT := epoch.Add(time.Duration(tt.samples-1) * time.Second); !ok || !peak.T.Equal(wantT) || peak.RSS != int64(tt.samples)<<20 {
			t.Errorf("limit %d, %d samples: Peak(rss) = %+v, %t; want the last sample", tt.limit, tt.samples, peak, ok)
		}
		if peak, ok := m.Peak("n"); !ok || peak.Metrics["n"] != float64(tt.samples) {
			t.Errorf("limit %d, %d samples: Peak(n) = %+v, %t; want n=%d", tt.limit, tt.samples, peak, ok, tt.samples)
		}
	}
}

func TestWindowAndPeak(t *testing.T) {
	rss := []int64{5, 9, 3, 9, 7, 1}
	i := 0
	src := SourceFunc(func(_ context.Context, s *Sample) error {
		s.RSS, s.HasProc = rss[i], true
		i++
		return nil
	})
	m, err := New([]Source{src}, WithNow(stepClock()))
	if err != nil {
		t.Fatal(err)
	}
	for range rss {
		m.SampleNow(t.Context())
	}
	sec := func(n int) time.Time { return epoch.Add(time.Duration(n) * time.Second) }
	w := m.Window(sec(2), sec(5))
	if len(w) != 3 || !w[0].T.Equal(sec(2)) || !w[2].T.Equal(sec(4)) {
		t.Fatalf("Window(2s, 5s) = %+v; want the samples at 2s, 3s and 4s", w)
	}
	if p, ok := PeakOf(w, FieldRSS); !ok || p.RSS != 9 || !p.T.Equal(sec(3)) {
		t.Errorf("PeakOf(window, rss) = %+v, %t; want 9 at 3s", p, ok)
	}
	if p, ok := m.Peak(FieldRSS); !ok || p.RSS != 9 || !p.T.Equal(sec(1)) {
		t.Errorf("Peak(rss) = %+v, %t; want the first 9, at 1s", p, ok)
	}
	for _, f := range []Field{FieldPSS, "go_goroutines"} {
		if _, ok := PeakOf(w, f); ok {
			t.Errorf("PeakOf(window, %s) found a peak; want none", f)
		}
	}
	if _, ok := m.Peak(FieldPSS); ok {
		t.Errorf("Peak(pss) found a peak with no PSS read")
	}
}

func TestSampleValue(t *testing.T) {
	s := Sample{RSS: 1, PSS: 2, HWM: 3, CPUSeconds: 4.5, Threads: 6, FDs: 7, HasProc: true, Metrics: map[string]float64{"m": 8}}
	tests := []struct {
		f    Field
		want float64
		ok   bool
	}{
		{FieldRSS, 1, true}, {FieldPSS, 2, false}, {FieldHWM, 3, true}, {FieldCPUSeconds, 4.5, true},
		{FieldThreads, 6, true}, {FieldFDs, 7, true}, {"m", 8, true}, {"absent", 0, false},
	}
	for _, tt := range tests {
		if got, ok := s.Value(tt.f); got != tt.want || ok != tt.ok {
			t.Errorf("Value(%s) = (%g, %t); want (%g, %t)", tt.f, got, ok, tt.want, tt.ok)
		}
	}
}

// The resident memory comes from /proc when the sample has it, else from
// /metrics; a sample with neither has none, not 0.
func TestSampleResident(t *testing.T) {
	tests := []struct {
		name string
		s    Sample
		want float64
		from string
		ok   bool
	}{
		{"proc and metrics", Sample{RSS: 7, HasProc: true, Metrics: map[string]float64{MetricResident: 9}}, 7, ResidentFromProc, true},
		{"metrics only (a target reached by URL)", Sample{Metrics: map[string]float64{MetricResident: 9}}, 9, ResidentFromMetrics, true},
		{"metrics without it", Sample{Metrics: map[string]float64{"go_goroutines": 3}}, 0, "", false},
		{"a failed read", Sample{Err: "monitor: scrape x: status 503"}, 0, "", false},
	}
	for _, tt := range tests {
		got, from, ok := tt.s.Resident()
		if got != tt.want || from != tt.from || ok != tt.ok {
			t.Errorf("%s: Resident() = (%g, %q, %t); want (%g, %q, %t)", tt.name, got, from, ok, tt.want, tt.from, tt.ok)
		}
		if v, ok := tt.s.Value(FieldResident); v != tt.want || ok != tt.ok {
			t.Errorf("%s: Value(resident) = (%g, %t); want (%g, %t)", tt.name, v, ok, tt.want, tt.ok)
		}
	}
}

// Peak and PeakOf find the resident memory of a target watched only
// through its /metrics.
func TestPeakResidentFromMetrics(t *testing.T) {
	rss := []float64{5, 9, 3}
	i := 0
	src := SourceFunc(func(_ context.Context, s *Sample) error {
		s.Metrics = map[string]float64{MetricResident: rss[i]}
		i++
		return nil
	})
	m, err := New([]Source{src}, WithNow(stepClock()))
	if err != nil {
		t.Fatal(err)
	}
	for range rss {
		m.SampleNow(t.Context())
	}
	if p, ok := m.Peak(FieldResident); !ok || p.Metrics[MetricResident] != 9 {
		t.Errorf("Peak(resident) = %+v, %t; want the sample of 9", p, ok)
	}
	if p, ok := PeakOf(m.Series(), FieldResident); !ok || p.Metrics[MetricResident] != 9 {
		t.Errorf("PeakOf(series, resident) = %+v, %t; want the sample of 9", p, ok)
	}
	if _, ok := m.Peak(FieldRSS); ok {
		t.Errorf("Peak(rss) found a peak with no /proc read")
	}
}

// Both sources together on real targets: this test process through /proc,
// and a /metrics endpoint.
func TestMonitorRealSources(t *testing.T) {
	url := serve(t, http.StatusOK, fixture(t))
	m, err := New([]Source{ProcSource(os.Getpid()), MetricsSource(url, nil)})
	if err != nil {
		t.Fatal(err)
	}
	s := m.SampleNow(t.Context())
	if s.Err != "" || !s.HasProc || s.RSS <= 0 || s.Metrics["go_goroutines"] != 23 {
		t.Errorf("SampleNow = %+v; want process figures and metrics, no error", s)
	}
}
