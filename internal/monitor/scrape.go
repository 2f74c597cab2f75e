package monitor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// DefaultScrapeTimeout bounds a scrape by a [MetricsSource] given a nil
// client.
const DefaultScrapeTimeout = 5 * time.Second

// MaxScrapeBytes is the largest /metrics body a [MetricsSource] reads; a
// larger one is an error.
const MaxScrapeBytes = 16 << 20

// maxLabelled bounds the name{labels} keys kept for one metric, so that a
// label with unbounded values cannot grow the series without end.
const maxLabelled = 32

// DefaultMetrics returns the names a [MetricsSource] keeps when given none:
// process memory, descriptors, CPU and start time; Go runtime goroutines,
// threads and heap; and goldenpath's active connections, active runs and
// runs by outcome.
func DefaultMetrics() []string {
	return []string{
		MetricResident,
		"process_virtual_memory_bytes",
		"process_open_fds",
		"process_cpu_seconds_total",
		"process_start_time_seconds", // a change means the target restarted
		"go_goroutines",
		"go_threads",
		"go_memstats_heap_inuse_bytes",
		"go_memstats_heap_alloc_bytes",
		"go_memstats_heap_idle_bytes",
		"go_memstats_heap_released_bytes",
		"go_memstats_sys_bytes",
		protocol.MetricActiveConnections,
		protocol.MetricActiveRuns,
		protocol.MetricRunsTotal,
	}
}

// MetricsSource returns a [Source] that scrapes url, a Prometheus text
// endpoint such as a target's /metrics, and fills in Sample.Metrics with the
// counters, gauges and untyped metrics named (by default [DefaultMetrics]).
//
// Each named metric is kept under its name as the sum of its values over all
// label sets, and, if it has labels, also each value under
// name{label="value",...} with the labels sorted by name and values escaped
// as in the text format, for example
// goldenpath_runs_total{outcome="completed"} (at most 32 label sets per
// metric). Names the target does not expose, histograms, summaries,
// values that are NaN or infinite, and sums that overflow to an infinity
// are left out.
//
// A nil client means one with a timeout of [DefaultScrapeTimeout]. Errors
// name the url; a body over [MaxScrapeBytes] is one.
func MetricsSource(url string, client *http.Client, names ...string) Source {
	if client == nil {
		client = &http.Client{Timeout: DefaultScrapeTimeout}
	}
	if len(names) == 0 {
		names = DefaultMetrics()
	}
	want := make(map[string]string, len(names))
	for _, n := range names {
		want[n] = n
	}
	return &scraper{url: url, client: client, want: want, keys: map[string]string{}}
}

type scraper struct {
	url    string
	client *http.Client
	want   map[string]string // name -> the same string, shared by every sample

	mu   sync.Mutex
	keys map[string]string // name{labels} keys, interned to share memory
}

func (sc *scraper) Read(ctx context.Context, s *Sample) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sc.url, nil)
	if err != nil {
		return fmt.Errorf("monitor: scrape %s: %w", sc.url, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := sc.client.Do(req)
	if err != nil {
		return fmt.Errorf("monitor: scrape: %w", err) // *url.Error names the url
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("monitor: scrape %s: status %s", sc.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxScrapeBytes+1))
	if err != nil {
		return fmt.Errorf("monitor: scrape %s: %w", sc.url, err)
	}
	if len(body) > MaxScrapeBytes {
		return fmt.Errorf("monitor: scrape %s: body over %d bytes", sc.url, MaxScrapeBytes)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("monitor: scrape %s: %w", sc.url, err)
	}
	m := make(map[string]float64, len(sc.want)+4)
	for name, fam := range fams {
		key, ok := sc.want[name]
		if !ok {
			continue
		}
		sc.add(m, key, fam)
	}
	s.Metrics = m
	return nil
}

// add puts the sum of fam's values, and each labelled value, into m.
func (sc *scraper) add(m map[string]float64, name string, fam *dto.MetricFamily) {
	var sum float64
	n, labelled := 0, 0
	for _, metric := range fam.GetMetric() {
		v, ok := value(fam.GetType(), metric)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		sum += v
		n++
		if len(metric.GetLabel()) > 0 && labelled < maxLabelled {
			m[sc.key(name, metric.GetLabel())] = v
			labelled++
		}
	}
	if n > 0 && !math.IsInf(sum, 0) { // finite values can add up to an infinity
		m[name] = sum
	}
}

func value(t dto.MetricType, m *dto.Metric) (float64, bool) {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue(), m.Counter != nil
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), m.Gauge != nil
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue(), m.Untyped != nil
	}
	return 0, false
}

// key returns name{labels}, interned.
func (sc *scraper) key(name string, labels []*dto.LabelPair) string {
	labels = slices.Clone(labels)
	slices.SortFunc(labels, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.GetName())
		b.WriteString(`="`)
		labelEscaper.WriteString(&b, l.GetValue())
		b.WriteByte('"')
	}
	b.WriteByte('}')
	k := b.String()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if interned, ok := sc.keys[k]; ok {
		return interned
	}
	if len(sc.keys) < len(sc.want)*maxLabelled {
		sc.keys[k] = k
	}
	return k
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
