package live

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/live/livetest"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// gather returns m's families by name.
func gather(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// series finds the metric of family name whose labels include want.
func series(mfs map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	for _, m := range mfs[name].GetMetric() {
		n := 0
		for _, lp := range m.GetLabel() {
			if v, ok := want[lp.GetName()]; ok && v == lp.GetValue() {
				n++
			}
		}
		if n == len(want) {
			return m
		}
	}
	return nil
}

func counter(mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	if m := series(mfs, name, want); m != nil {
		return m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return -1
}

// observe tells so of r as the recorder would, r started on time.
func observe(so suite.ScenarioObserver, r *journey.Result) {
	suite.Observe(so, load.Iteration{Intended: r.Start, Started: r.Start}, r)
}

func result(ok bool) *journey.Result {
	start := time.Now()
	r := &journey.Result{Start: start, End: start.Add(120 * time.Millisecond), Phases: []journey.Sample{
		{Name: journey.PhaseLogin, D: 20 * time.Millisecond}, {Name: journey.PhaseWSConnect, D: 2 * time.Millisecond},
		{Name: journey.PhaseWSReady, D: time.Millisecond}, {Name: journey.PhaseFirstEvent, D: 5 * time.Millisecond}}}
	if !ok {
		r.Violations = []journey.Violation{{Kind: journey.ViolationSeqGap}, {Kind: journey.ViolationSeqGap}}
	}
	return r
}

// TestMetricsCountWhatTheRecorderObserves feeds a scenario observer as
// the recorder does and reads every series back.
func TestMetricsCountWhatTheRecorderObserves(t *testing.T) {
	m := NewMetrics(Info{Version: "test", Segment: "1/1", RunID: "r1"})
	so := m.Scenario("integrated", "integrated")
	for range 3 {
		observe(so, result(true))
	}
	observe(so, result(false))
	observe(so, &journey.Result{Err: &journey.Error{Kind: journey.FailHTTPStatus, Status: 503, Phase: journey.PhaseLogin}})
	observe(so, &journey.Result{Err: &journey.Error{Kind: journey.FailCancelled}})
	so.Load(7, 3)
	so.Load(5, 10) // dropped is cumulative: +7

	mfs := gather(t, m)
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{MetricJourneys, []string{"outcome", "succeeded", "scenario", "integrated", "suite", "integrated"}, 3},
		{MetricJourneys, []string{"outcome", "failed"}, 2},
		{MetricJourneys, []string{"outcome", "cancelled"}, 1},
		{MetricErrors, []string{"class", "http_status:503"}, 1},
		{MetricErrors, []string{"class", "violation:seq_gap"}, 1},
		{MetricErrors, []string{"class", "timeout"}, 0}, // known classes start at 0
		{MetricFindings, []string{"kind", "seq_gap"}, 2},
		{MetricFindings, []string{"kind", "foreign_data"}, 0},
		{MetricActiveUsers, []string{"scenario", "integrated"}, 5},
		{MetricDropped, []string{"scenario", "integrated"}, 10},
		{MetricInfo, []string{"version", "test", "segment", "1/1", "run_id", "r1"}, 1},
	}
	for _, c := range checks {
		if got := counter(mfs, c.name, c.labels...); got != c.want {
			t.Errorf("%s%q = %g; want %g (-1: no such series)", c.name, c.labels, got, c.want)
		}
	}
	for phase, want := range map[string]uint64{"login": 4, "ws_handshake": 4, "journey_from_intended": 3} {
		h := series(mfs, MetricPhase, map[string]string{"phase": phase}).GetHistogram()
		if h.GetSampleCount() != want || h.GetSchema() != 3 || len(h.GetPositiveSpan()) == 0 || len(h.GetBucket()) != len(PhaseBuckets) {
			t.Errorf("%s{phase=%q}: count %d, schema %d, %d native spans, %d classic buckets; want %d samples in native buckets of schema 3 and %d classic buckets",
				MetricPhase, phase, h.GetSampleCount(), h.GetSchema(), len(h.GetPositiveSpan()), len(h.GetBucket()), want, len(PhaseBuckets))
		}
	}
	if h := series(mfs, MetricPhase, map[string]string{"phase": "login"}).GetHistogram(); h.GetSampleSum() < 0.079 || h.GetSampleSum() > 0.081 {
		t.Errorf("%s{phase=login} sum = %g s; want 4 x 20 ms = 0.08 s", MetricPhase, h.GetSampleSum())
	}
	if _, ok := mfs["process_cpu_seconds_total"]; !ok {
		t.Errorf("no process_cpu_seconds_total; want the generator's process metrics beside the run's")
	}
}

// TestLabelValuesAreBounded: a label takes at most MaxLabelValues values
// in a scenario; the rest count as OtherLabel.
func TestLabelValuesAreBounded(t *testing.T) {
	m := NewMetrics(Info{})
	so := m.Scenario("s", "integrated")
	for i := range 3 * MaxLabelValues {
		observe(so, &journey.Result{Err: &journey.Error{Kind: journey.FailHTTPStatus, Status: 1000 + i}})
	}
	mfs := gather(t, m)
	if n := len(mfs[MetricErrors].GetMetric()); n != MaxLabelValues+1 {
		t.Errorf("%d distinct error classes gave %d series; want %d (the bound, then %q)", 3*MaxLabelValues, n, MaxLabelValues+1, OtherLabel)
	}
	known := len(knownClasses)
	if got, want := counter(mfs, MetricErrors, "class", OtherLabel), float64(3*MaxLabelValues-(MaxLabelValues-known)); got != want {
		t.Errorf("%s{class=%q} = %g; want %g", MetricErrors, OtherLabel, got, want)
	}
}

func TestServeScrapesNativeHistograms(t *testing.T) {
	m := NewMetrics(Info{})
	observe(m.Scenario("s", "integrated"), result(true))
	srv, err := Listen("127.0.0.1:0", m.Gatherer())
	if err != nil {
		t.Fatalf("Listen = %v", err)
	}
	mfs, err := livetest.Scrape(t.Context(), srv.URL())
	if err != nil {
		t.Fatalf("scrape(%s) = %v", srv.URL(), err)
	}
	if h := series(mfs, MetricPhase, map[string]string{"phase": "first_event"}).GetHistogram(); h.GetSampleCount() != 1 || len(h.GetPositiveDelta()) == 0 {
		t.Errorf("scraped %s{phase=first_event} = %v; want one sample in a native bucket", MetricPhase, h)
	}
	// The text formats carry the classic buckets.
	resp, err := http.Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), MetricPhase+`_bucket{phase="first_event",scenario="s",suite="integrated",le="0.005"} 1`) {
		t.Errorf("text exposition lacks the classic bucket le=0.005 of first_event:\n%.2000s", body)
	}
	addr := srv.Addr().String()
	if err := srv.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Close; want the listener closed", addr)
	}
}

func TestListenBadAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct{ addr, want string }{
		{"9464", `"9464" is not HOST:PORT`},
		{"127.0.0.1", `"127.0.0.1" is not HOST:PORT`},
		{"127.0.0.1:http-alt", "the port must be a number"},
		{"127.0.0.1:70000", "the port must be a number from 0 to 65535"},
		{"127.0.0.1:", "the port must be a number"},
		{busy.Addr().String(), "cannot listen on " + fmt.Sprintf("%q", busy.Addr().String())},
	}
	for _, tt := range tests {
		srv, err := Listen(tt.addr, NewMetrics(Info{}).Gatherer())
		if err == nil {
			srv.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Listen(%q) = %v; want an error containing %q", tt.addr, err, tt.want)
		}
	}
}
