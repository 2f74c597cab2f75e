// Package livetest helps test live telemetry from outside: [Scrape] reads
// a /metrics endpoint in the protobuf format (the one that carries native
// histograms), and a [Collector] stands in for an OpenTelemetry collector's
// OTLP/HTTP metrics receiver.
package livetest

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// Scrape GETs url asking for the protobuf exposition format and returns
// the metric families by name; it is an error when the server answers in
// another format.
func Scrape(ctx context.Context, url string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeProtoDelim)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("livetest: GET %s: %s", url, resp.Status)
	}
	format := expfmt.ResponseFormat(resp.Header)
	if format.FormatType() != expfmt.TypeProtoDelim {
		return nil, fmt.Errorf("livetest: GET %s: format %s; want the protobuf format", url, format)
	}
	dec := expfmt.NewDecoder(resp.Body, format)
	out := map[string]*dto.MetricFamily{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("livetest: GET %s: %w", url, err)
		}
		out[mf.GetName()] = &mf
	}
}

// A Collector receives OTLP/HTTP metric exports (protobuf, POST
// /v1/metrics, gzip or not) on a loopback port, decodes each into an
// ExportMetricsServiceRequest and keeps them all.
type Collector struct {
	srv *httptest.Server

	mu   sync.Mutex
	reqs []*colmetricspb.ExportMetricsServiceRequest
	errs []error
}

// NewCollector starts a collector; Close stops it.
func NewCollector() *Collector {
	c := &Collector{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/metrics", c.export)
	c.srv = httptest.NewServer(mux)
	return c
}

func (c *Collector) export(w http.ResponseWriter, r *http.Request) {
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			c.fail(w, err)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		c.fail(w, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		c.fail(w, fmt.Errorf("content type %q; want application/x-protobuf", ct))
		return
	}
	req := &colmetricspb.ExportMetricsServiceRequest{}
	if err := proto.Unmarshal(b, req); err != nil {
		c.fail(w, err)
		return
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, req)
	c.mu.Unlock()
	out, _ := proto.Marshal(&colmetricspb.ExportMetricsServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (c *Collector) fail(w http.ResponseWriter, err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// URL is the collector's base URL, http://127.0.0.1:PORT (an exporter
// given it posts to /v1/metrics).
func (c *Collector) URL() string { return c.srv.URL }

// Close stops the collector.
func (c *Collector) Close() { c.srv.Close() }

// Err returns the first export the collector could not decode, if any.
func (c *Collector) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.errs...)
}

// Exports returns how many exports were received.
func (c *Collector) Exports() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reqs)
}

// Last returns the metrics of the last export, by name, with the
// attributes of their resource; nil before any export.
func (c *Collector) Last() (map[string]*metricspb.Metric, map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reqs) == 0 {
		return nil, nil
	}
	out, res := map[string]*metricspb.Metric{}, map[string]string{}
	for _, rm := range c.reqs[len(c.reqs)-1].GetResourceMetrics() {
		for _, kv := range rm.GetResource().GetAttributes() {
			res[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				out[m.GetName()] = m
			}
		}
	}
	return out, res
}
