package live

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/contrib/bridges/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// OTLPPath is the path an OTLP endpoint given without one gets: the
// collector's OTLP/HTTP metrics path.
const OTLPPath = "/v1/metrics"

// DefaultPushInterval is how often a [Pusher] exports.
const DefaultPushInterval = 10 * time.Second

// ParseEndpoint reads an OTLP/HTTP endpoint: an http or https URL, e.g.
// http://127.0.0.1:4318; a URL without a path gets [OTLPPath], one with a
// path is used as it is.
func ParseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q is not an OTLP/HTTP endpoint URL such as http://127.0.0.1:4318 (http or https, a host, no query)", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = OTLPPath
	}
	return u, nil
}

// PushOptions configure [Push]; the zero value takes the defaults.
type PushOptions struct {
	// Interval is how often to export (0: DefaultPushInterval).
	Interval time.Duration
	// Info names the service in the OTLP resource (service.name
	// goldenpath, service.version Info.Version).
	Info Info
	// OnError, when set, is told of each failed export (an export never
	// blocks the run: it is retried at the next interval).
	OnError func(error)
}

// A Pusher exports a Prometheus registry's metrics over OTLP/HTTP through
// the OpenTelemetry SDK: the registry is bridged in as a metric producer
// of a periodic reader (go.opentelemetry.io/contrib/bridges/prometheus),
// so what it pushes is exactly what [Server] serves — counters as
// cumulative sums, gauges as gauges, native histograms as exponential
// histograms, under the same names and labels. The exporter's other
// settings (headers, TLS) follow the OTEL_EXPORTER_OTLP_* environment
// variables, as in any OpenTelemetry SDK.
type Pusher struct {
	mp  *sdkmetric.MeterProvider
	exp *countingExporter
}

// Push starts exporting g's metrics to endpoint (see [ParseEndpoint])
// every o.Interval. Close makes the final export.
func Push(ctx context.Context, endpoint string, g prometheus.Gatherer, o PushOptions) (*Pusher, error) {
	u, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if o.Interval <= 0 {
		o.Interval = DefaultPushInterval
	}
	timeout := min(o.Interval, 5*time.Second)
	exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(u.String()), otlpmetrichttp.WithTimeout(timeout),
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: true, InitialInterval: 250 * time.Millisecond,
			MaxInterval: time.Second, MaxElapsedTime: timeout}))
	if err != nil {
		return nil, fmt.Errorf("otlp exporter for %s: %w", u, err)
	}
	ce := &countingExporter{Exporter: exp, onError: o.OnError}
	reader := sdkmetric.NewPeriodicReader(ce, sdkmetric.WithInterval(o.Interval), sdkmetric.WithTimeout(timeout),
		sdkmetric.WithProducer(otelprom.NewMetricProducer(otelprom.WithGatherer(g))))
	res := resource.NewSchemaless(attribute.String("service.name", "goldenpath"), attribute.String("service.version", o.Info.Version))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
	return &Pusher{mp: mp, exp: ce}, nil
}

// Close makes a final export of every series as it stands, then stops
// the pusher, within ctx (or 10 s); it returns once its goroutine has
// ended. Its error says when the final export failed.
func (p *Pusher) Close(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	p.exp.final.Store(true)
	if err := p.mp.Shutdown(ctx); err != nil {
		return fmt.Errorf("otlp: final export: %w", err)
	}
	return nil
}

// Exports returns how many exports were made and how many of them failed.
func (p *Pusher) Exports() (made, failed int) {
	p.exp.mu.Lock()
	defer p.exp.mu.Unlock()
	return p.exp.made, p.exp.failed
}

// countingExporter counts exports and tells OnError of a failed periodic
// one instead of returning it, as the SDK would hand it to the process's
// global error handler; the final export's error is returned.
type countingExporter struct {
	sdkmetric.Exporter
	onError func(error)
	final   atomic.Bool

	mu           sync.Mutex
	made, failed int
}

func (e *countingExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	err := e.Exporter.Export(ctx, rm)
	e.mu.Lock()
	e.made++
	if err != nil {
		e.failed++
	}
	e.mu.Unlock()
	if err == nil || e.final.Load() {
		return err
	}
	if e.onError != nil {
		e.onError(err)
	}
	return nil
}
