// Package telemetry holds the reference backend's Prometheus metrics: the
// gauges and counters PROTOCOL.md section 6 names, plus the process and Go
// runtime collectors, all on a registry of the backend's own (never the
// global one).
package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Run outcomes, the values of the runs_total "outcome" label.
const (
	OutcomeCompleted = "completed"
	OutcomeError     = "error"
	OutcomeRejected  = "rejected"
)

// Metrics is the backend's instrumentation.
type Metrics struct {
	Registry          *prometheus.Registry
	ActiveConnections prometheus.Gauge
	ActiveRuns        prometheus.Gauge
	RunsTotal         *prometheus.CounterVec // by outcome
	EventsSent        *prometheus.CounterVec // by event type
	ConnectionsTotal  prometheus.Counter
	SlowConsumers     prometheus.Counter
	ClosesTotal       *prometheus.CounterVec // by close code
}

// New registers the metrics, and the process and Go collectors, on a new
// registry. Every label value is initialised so each series is exported
// from the start.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		ActiveConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: protocol.MetricActiveConnections, Help: "WebSocket connections currently open.",
		}),
		ActiveRuns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: protocol.MetricActiveRuns, Help: "Agent runs currently executing.",
		}),
		RunsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: protocol.MetricRunsTotal, Help: "Agent runs by outcome: completed, error (agent_error sent), rejected (refused before start).",
		}, []string{"outcome"}),
		EventsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: protocol.MetricEventsSentTotal, Help: "Server frames written to WebSocket connections, by event type.",
		}, []string{"type"}),
		ConnectionsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goldenpath_connections_total", Help: "WebSocket connections accepted since start.",
		}),
		SlowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goldenpath_slow_consumer_disconnects_total", Help: "Connections closed with 1013 because their send queue was full.",
		}),
		ClosesTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goldenpath_server_closes_total", Help: "WebSocket close frames the server initiated, by close code.",
		}, []string{"code"}),
	}
	reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		m.ActiveConnections, m.ActiveRuns, m.RunsTotal, m.EventsSent,
		m.ConnectionsTotal, m.SlowConsumers, m.ClosesTotal,
	)
	for _, o := range []string{OutcomeCompleted, OutcomeError, OutcomeRejected} {
		m.RunsTotal.WithLabelValues(o)
	}
	for _, t := range protocol.EventTypes {
		m.EventsSent.WithLabelValues(t)
	}
	for _, c := range []string{"1000", "1001", "1008", "1009", "1011", "1013"} {
		m.ClosesTotal.WithLabelValues(c)
	}
	return m
}
