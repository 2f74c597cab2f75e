package monitor

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serve returns the URL of a server that answers every request with status
// and body.
func serve(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

func fixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMetricsSourceFixture(t *testing.T) {
	url := serve(t, http.StatusOK, fixture(t))
	tests := []struct {
		name  string
		names []string
		want  map[string]float64
	}{
		{"default", nil, map[string]float64{
			"process_resident_memory_bytes":              29360128,
			"process_open_fds":                           17,
			"process_start_time_seconds":                 1.76e9,
			"go_goroutines":                              23,
			"go_threads":                                 8,
			"go_memstats_heap_inuse_bytes":               6291456,
			"go_memstats_heap_alloc_bytes":               4194304,
			"goldenpath_active_connections":              3,
			"goldenpath_active_runs":                     2,
			"goldenpath_runs_total":                      9,
			`goldenpath_runs_total{outcome="completed"}`: 7,
			`goldenpath_runs_total{outcome="error"}`:     2,
			`goldenpath_runs_total{outcome="rejected"}`:  0,
		}},
		{"chosen", []string{"goldenpath_events_sent_total", "go_gc_duration_seconds", "go_info", "untyped_thing", "odd_labels", "absent"},
			map[string]float64{
				"goldenpath_events_sent_total":                     260,
				`goldenpath_events_sent_total{type="run_started"}`: 10,
				`goldenpath_events_sent_total{type="token"}`:       250,
				"go_info":                     1,
				`go_info{version="go1.26.8"}`: 1,
				"untyped_thing":               4,
				// the NaN value is left out; labels sorted, values escaped
				"odd_labels": 5,
				`odd_labels{a="quote\" backslash\\ newline\n",z="last"}`: 5,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Sample
			if err := MetricsSource(url, nil, tt.names...).Read(t.Context(), &s); err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !reflect.DeepEqual(s.Metrics, tt.want) {
				t.Errorf("Read(%v) metrics =\n%v\nwant\n%v", tt.names, s.Metrics, tt.want)
			}
		})
	}
}

func TestMetricsSourceLabelBound(t *testing.T) {
	var b strings.Builder
	b.WriteString("# TYPE many gauge\n")
	for i := range 40 {
		fmt.Fprintf(&b, "many{i=\"%02d\"} 1\n", i)
	}
	var s Sample
	if err := MetricsSource(serve(t, http.StatusOK, b.String()), nil, "many").Read(t.Context(), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Metrics) != maxLabelled+1 || s.Metrics["many"] != 40 {
		t.Errorf("40 label sets gave %d keys and a sum of %g; want %d keys and 40", len(s.Metrics), s.Metrics["many"], maxLabelled+1)
	}
}

// A real registry, as the reference backend has, through promhttp.
func TestMetricsSourceRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	conns := prometheus.NewGauge(prometheus.GaugeOpts{Name: "goldenpath_active_connections", Help: "h"})
	runs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "goldenpath_runs_total", Help: "h"}, []string{"outcome"})
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector(), conns, runs)
	conns.Set(4)
	runs.WithLabelValues("completed").Add(3)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	var s Sample
	if err := MetricsSource(srv.URL, srv.Client()).Read(t.Context(), &s); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"process_resident_memory_bytes", "process_open_fds", "go_goroutines",
		"go_memstats_heap_inuse_bytes", "go_memstats_heap_alloc_bytes"} {
		if s.Metrics[k] <= 0 {
			t.Errorf("Metrics[%q] = %g; want > 0", k, s.Metrics[k])
		}
	}
	if got := s.Metrics["goldenpath_active_connections"]; got != 4 {
		t.Errorf("goldenpath_active_connections = %g; want 4", got)
	}
	if got := s.Metrics[`goldenpath_runs_total{outcome="completed"}`]; got != 3 {
		t.Errorf(`goldenpath_runs_total{outcome="completed"} = %g; want 3`, got)
	}
}

func TestMetricsSourceErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name, url, want string
	}{
		{"status", serve(t, http.StatusInternalServerError, "oops"), "/metrics: status 500 Internal Server Error"},
		{"bad text", serve(t, http.StatusOK, "go_goroutines{ 1\n"), "/metrics: text format parsing error"},
		{"too big", serve(t, http.StatusOK, strings.Repeat("#\n", MaxScrapeBytes/2+1)), "/metrics: body over 16777216 bytes"},
		{"bad url", "::nope", `monitor: scrape ::nope: parse "::nope": missing protocol scheme`},
		{"refused", closed.URL + "/metrics", "connect: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Sample
			err := MetricsSource(tt.url, nil).Read(t.Context(), &s)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "monitor: scrape") {
				t.Errorf("Read(%s) = %v; want an error containing %q", tt.name, err, tt.want)
			}
			if s.Metrics != nil {
				t.Errorf("Read(%s) set Metrics %v on error", tt.name, s.Metrics)
			}
		})
	}
}
