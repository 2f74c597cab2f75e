package live

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// DashboardPath is where a [Server] serves its live page, and SnapshotPath
// the JSON the page polls once a second.
const (
	DashboardPath = "/"
	SnapshotPath  = "/live.json"
)

//go:embed dashboard.html
var dashboardHTML []byte

// Snapshot is the state of a run as the live page shows it: every
// scenario's figures so far, read from the run's metrics.
type Snapshot struct {
	At        time.Time          `json:"at"`
	Run       map[string]string  `json:"run"` // goldenpath_run_info's labels
	Scenarios []ScenarioSnapshot `json:"scenarios"`
}

// ScenarioSnapshot is one scenario's figures so far.
type ScenarioSnapshot struct {
	Name        string                   `json:"name"`
	Suite       string                   `json:"suite"`
	ActiveUsers float64                  `json:"active_users"`
	Journeys    map[string]float64       `json:"journeys"` // by outcome
	Dropped     float64                  `json:"dropped"`
	Findings    float64                  `json:"findings"`
	Errors      float64                  `json:"errors"`
	Phases      map[string]PhaseSnapshot `json:"phases"`
}

// PhaseSnapshot is a phase's count and percentiles so far, estimated from
// the classic buckets as Prometheus's histogram_quantile does (linear
// within a bucket), in seconds.
type PhaseSnapshot struct {
	Count float64 `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
}

// TakeSnapshot reads a Snapshot from g, a [Metrics.Gatherer].
func TakeSnapshot(g prometheus.Gatherer) (Snapshot, error) {
	mfs, err := g.Gather()
	snap := Snapshot{At: time.Now().UTC(), Run: map[string]string{}}
	byKey := map[[2]string]*ScenarioSnapshot{}
	var order [][2]string
	get := func(m *dto.Metric) *ScenarioSnapshot {
		k := [2]string{label(m, "scenario"), label(m, "suite")}
		s, ok := byKey[k]
		if !ok {
			s = &ScenarioSnapshot{Name: k[0], Suite: k[1], Journeys: map[string]float64{}, Phases: map[string]PhaseSnapshot{}}
			byKey[k] = s
			order = append(order, k)
		}
		return s
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case MetricInfo:
				for _, lp := range m.GetLabel() {
					snap.Run[lp.GetName()] = lp.GetValue()
				}
			case MetricJourneys:
				get(m).Journeys[label(m, "outcome")] += m.GetCounter().GetValue()
			case MetricActiveUsers:
				get(m).ActiveUsers = m.GetGauge().GetValue()
			case MetricDropped:
				get(m).Dropped += m.GetCounter().GetValue()
			case MetricFindings:
				get(m).Findings += m.GetCounter().GetValue()
			case MetricErrors:
				get(m).Errors += m.GetCounter().GetValue()
			case MetricPhase:
				h := m.GetHistogram()
				if h.GetSampleCount() == 0 {
					continue
				}
				get(m).Phases[label(m, "phase")] = PhaseSnapshot{Count: float64(h.GetSampleCount()),
					P50: quantile(0.50, h), P95: quantile(0.95, h), P99: quantile(0.99, h)}
			}
		}
	}
	for _, k := range order { // the registry's order: by name

		snap.Scenarios = append(snap.Scenarios, *byKey[k])
	}
	return snap, err
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// quantile estimates the q-quantile of h's classic buckets as
// histogram_quantile does: linear within the bucket that holds it; the
// highest finite bound when it falls in the +Inf bucket.
func quantile(q float64, h *dto.Histogram) float64 {
	n := float64(h.GetSampleCount())
	if n == 0 {
		return 0 // not asked: TakeSnapshot skips empty histograms
	}
	rank := q * n
	lower, below := 0.0, 0.0
	for _, b := range h.GetBucket() {
		ub, c := b.GetUpperBound(), float64(b.GetCumulativeCount())
		if c >= rank {
			if c == below {
				return ub
			}
			return lower + (ub-lower)*(rank-below)/(c-below)
		}
		lower, below = ub, c
	}
	return lower // beyond the last finite bucket
}

// dashboardHandlers adds the live page and its snapshot to mux.
func dashboardHandlers(mux *http.ServeMux, g prometheus.Gatherer) {
	mux.HandleFunc("GET "+DashboardPath+"{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(dashboardHTML)
	})
	mux.HandleFunc("GET "+SnapshotPath, func(w http.ResponseWriter, r *http.Request) {
		snap, err := TakeSnapshot(g)
		if err != nil && len(snap.Scenarios) == 0 {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(snap)
	})
}
