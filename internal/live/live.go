// Package live shows a run while it runs: it keeps the run's metrics in a
// Prometheus registry of its own ([Metrics], the [suite.Observer] of the
// run's scenarios), serves them on /metrics ([Listen]) and pushes them to
// an OpenTelemetry collector over OTLP/HTTP ([Push]).
//
// The end-of-run results stay the record: these series are for watching a
// long or distributed run (a Grafana dashboard, deploy/grafana/), and they
// say nothing the results do not.
//
// # Series
//
// Every series is named goldenpath_run_*; the reference backend's own are
// goldenpath_* without "run". Label values come from bounded sets only —
// scenario and suite names, outcomes, phase names, finding kinds, error
// classes (kind, with the HTTP status or close code) — and no label takes
// more than [MaxLabelValues] values in one scenario: the rest are counted
// as [OtherLabel]. docs/telemetry.md lists the series.
//
// Phase latencies are native histograms (bucket factor
// [NativeBucketFactor], schema 3) with the classic buckets [PhaseBuckets]
// beside them, so that histogram_quantile works on either: the native
// ones travel in the protobuf exposition format (a Prometheus with native
// histograms scraping enabled negotiates it), the classic ones in the text
// formats; over OTLP they are exponential histograms.
package live

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// Names of the series.
const (
	MetricJourneys    = "goldenpath_run_journeys_total"         // counter: scenario, suite, outcome
	MetricPhase       = "goldenpath_run_phase_seconds"          // histogram: scenario, suite, phase
	MetricActiveUsers = "goldenpath_run_active_users"           // gauge: scenario, suite
	MetricDropped     = "goldenpath_run_dropped_arrivals_total" // counter: scenario, suite
	MetricFindings    = "goldenpath_run_findings_total"         // counter: scenario, suite, kind
	MetricErrors      = "goldenpath_run_errors_total"           // counter: scenario, suite, class
	MetricInfo        = "goldenpath_run_info"                   // gauge, 1: version, segment, run_id
)

// NativeBucketFactor is the growth factor of the phase histograms' native
// buckets: at most 10% wide (schema 3: 2^(1/8) = 1.09).
const NativeBucketFactor = 1.1

// MaxNativeBuckets bounds a phase histogram's native buckets; beyond it,
// client_golang halves the resolution (each series' memory is bounded).
const MaxNativeBuckets = 160

// PhaseBuckets are the classic buckets of the phase histograms, in
// seconds, from the 1 ms of a config read to the 60 s of a journey's SLA.
var PhaseBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// MaxLabelValues bounds the values one label (phase, kind, class) takes
// in one scenario's series; the values beyond it count as OtherLabel.
const MaxLabelValues = 64

// OtherLabel is the label value that counts what MaxLabelValues left out.
const OtherLabel = "other"

// Info describes the run in goldenpath_run_info.
type Info struct {
	Version string // goldenpath's version
	Segment string // "i/n"
	RunID   string // the test a segment is part of; "" when not given
}

// Metrics are a run's live metrics, in a registry of their own (with the
// process's and the Go runtime's: the generator's CPU and memory). It is
// the [suite.Observer] of the run; its methods are safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	journeys *prometheus.CounterVec
	phases   *prometheus.HistogramVec
	active   *prometheus.GaugeVec
	dropped  *prometheus.CounterVec
	findings *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

var _ suite.Observer = (*Metrics)(nil)

// NewMetrics returns a run's metrics, registered in a new registry.
func NewMetrics(info Info) *Metrics {
	scope := []string{"scenario", "suite"}
	with := func(l string) []string { return append(scope[:len(scope):len(scope)], l) }
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		journeys: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricJourneys,
			Help: "Journeys that ended, by outcome: succeeded, failed (an error, or completed with a finding), cancelled (stopped by goldenpath)."},
			with("outcome")),
		phases: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricPhase,
			Help:    "Latency of each phase of the golden path, in seconds (native histogram, with classic buckets).",
			Buckets: PhaseBuckets, NativeHistogramBucketFactor: NativeBucketFactor,
			NativeHistogramMaxBucketNumber: MaxNativeBuckets, NativeHistogramMinResetDuration: time.Hour},
			with("phase")),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricActiveUsers,
			Help: "Virtual users running a journey now (0 once the scenario ended)."}, scope),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricDropped,
			Help: "Open model: arrivals dropped because every user slot was busy."}, scope),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricFindings,
			Help: "Findings of the protocol oracle (violations), by kind."}, with("kind")),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricErrors,
			Help: "Failed journeys by error class: the error's kind, with its HTTP status or close code; violation:KIND for a journey that completed with a finding."},
			with("class")),
	}
	info1 := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricInfo, Help: "The run: goldenpath's version, this process's segment and the run id.",
		ConstLabels: prometheus.Labels{"version": info.Version, "segment": info.Segment, "run_id": info.RunID}})
	info1.Set(1)
	m.reg.MustRegister(m.journeys, m.phases, m.active, m.dropped, m.findings, m.errors, info1,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return m
}

// Gatherer returns the registry that holds the metrics.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// knownKinds are the finding kinds and the error classes without a status
// that every scenario's series start with, at 0: rate() then counts their
// first increase, and a dashboard finds the series before any error.
var (
	knownFindings = []string{journey.ViolationSeqGap, journey.ViolationSeqDuplicate, journey.ViolationSeqReorder,
		journey.ViolationBadEnvelope, journey.ViolationGrammar, journey.ViolationForeignUser, journey.ViolationForeignMessage,
		journey.ViolationAnswerMismatch, journey.ViolationForeignData, journey.ViolationMissingTerm,
		journey.ViolationConfigMismatch, journey.ViolationStoreMismatch, journey.ViolationStream}
	knownClasses = []string{journey.FailConnect, journey.FailTimeout, journey.FailProtocol, journey.FailThrottled}
)

// Scenario returns the observer of scenario name of suite suiteName; its
// counters start at 0.
func (m *Metrics) Scenario(name, suiteName string) suite.ScenarioObserver {
	s := &scenario{
		succeeded: m.journeys.WithLabelValues(name, suiteName, suite.OutcomeSucceeded),
		failed:    m.journeys.WithLabelValues(name, suiteName, suite.OutcomeFailed),
		cancelled: m.journeys.WithLabelValues(name, suiteName, suite.OutcomeCancelled),
		active:    m.active.WithLabelValues(name, suiteName),
		dropped:   m.dropped.WithLabelValues(name, suiteName),
	}
	s.phases.with = func(v string) prometheus.Observer { return m.phases.WithLabelValues(name, suiteName, v) }
	s.findings.with = func(v string) prometheus.Counter { return m.findings.WithLabelValues(name, suiteName, v) }
	s.errors.with = func(v string) prometheus.Counter { return m.errors.WithLabelValues(name, suiteName, v) }
	for _, k := range knownFindings {
		s.findings.get(k)
	}
	for _, c := range knownClasses {
		s.errors.get(c)
	}
	s.active.Set(0)
	return s
}

// scenario is one scenario's observer: its series, looked up once.
type scenario struct {
	succeeded, failed, cancelled prometheus.Counter
	active                       prometheus.Gauge
	dropped                      prometheus.Counter
	phases                       children[prometheus.Observer]
	findings, errors             children[prometheus.Counter]

	mu          sync.Mutex
	lastDropped int64
}

// Journey counts one journey and observes its phases.
func (s *scenario) Journey(o suite.Observation) {
	switch o.Outcome {
	case suite.OutcomeSucceeded:
		s.succeeded.Inc()
	case suite.OutcomeCancelled:
		s.cancelled.Inc()
		return
	default:
		s.failed.Inc()
	}
	if o.ErrorClass != "" {
		s.errors.get(o.ErrorClass).Inc()
	}
	for _, f := range o.Findings {
		s.findings.get(f.Kind).Inc()
	}
	o.EachPhase(func(name string, d time.Duration) { s.phases.get(name).Observe(d.Seconds()) })
}

// Load sets the active users and adds the arrivals dropped since the last
// call.
func (s *scenario) Load(active, dropped int64) {
	s.active.Set(float64(active))
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := dropped - s.lastDropped; d > 0 {
		s.dropped.Add(float64(d))
		s.lastDropped = dropped
	}
}

// children are the series of one label's values, looked up without a
// lock: a copy-on-write map, replaced whole when a value is added (rare:
// the values are few).
type children[T any] struct {
	m    atomic.Pointer[map[string]T]
	mu   sync.Mutex // serialises additions
	with func(v string) T
}

// get returns the series of label value v; beyond MaxLabelValues values,
// that of OtherLabel.
func (c *children[T]) get(v string) T {
	if m := c.m.Load(); m != nil {
		if x, ok := (*m)[v]; ok {
			return x
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := map[string]T{}
	if m := c.m.Load(); m != nil {
		old = *m
	}
	if x, ok := old[v]; ok {
		return x
	}
	if len(old) >= MaxLabelValues {
		if x, ok := old[OtherLabel]; ok {
			return x
		}
		v = OtherLabel // one more than the bound: the catch-all
	}
	next := make(map[string]T, len(old)+1)
	for k, x := range old {
		next[k] = x
	}
	next[v] = c.with(v)
	c.m.Store(&next)
	return next[v]
}
