package live

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"

	"github.com/goldenpath-dev/goldenpath/internal/live/livetest"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/metrics", ""},
		{"https://otel.example.test/", "https://otel.example.test/v1/metrics", ""},
		{"http://collector:4318/custom/path", "http://collector:4318/custom/path", ""},
		{"127.0.0.1:4318", "", `"127.0.0.1:4318" is not an OTLP/HTTP endpoint URL`},
		{"grpc://127.0.0.1:4317", "", "is not an OTLP/HTTP endpoint URL"},
		{"http://", "", "is not an OTLP/HTTP endpoint URL"},
		{"http://127.0.0.1:4318/v1/metrics?x=1", "", "no query"},
		{"http://u:secret@127.0.0.1:4318", "", "is not an OTLP/HTTP endpoint URL"},
	}
	for _, tt := range tests {
		u, err := ParseEndpoint(tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseEndpoint(%q) = %v, %v; want an error containing %q", tt.in, u, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || u.String() != tt.want):
			t.Errorf("ParseEndpoint(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
}

// TestPushExportsTheSameSeries: what Push sends a collector is what the
// registry holds, under the same names: counters as cumulative monotonic
// sums, the active users as a gauge, the phases as exponential
// histograms; Close makes the final export.
func TestPushExportsTheSameSeries(t *testing.T) {
	coll := livetest.NewCollector()
	defer coll.Close()
	m := NewMetrics(Info{Version: "v-test"})
	so := m.Scenario("integrated", "integrated")
	p, err := Push(t.Context(), coll.URL(), m.Gatherer(), PushOptions{Interval: 50 * time.Millisecond, Info: Info{Version: "v-test"}})
	if err != nil {
		t.Fatalf("Push = %v", err)
	}
	for range 3 {
		observe(so, result(true))
	}
	so.Load(4, 0)
	// Periodic exports go on while the run does.
	deadline := time.Now().Add(10 * time.Second)
	for coll.Exports() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := coll.Exports(); n < 2 {
		t.Fatalf("the collector received %d exports in 10 s at a 50 ms interval; want periodic exports", n)
	}
	observe(so, result(false)) // seen by the final export only, if not by a periodic one
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v; want the final export made", err)
	}
	if err := coll.Err(); err != nil {
		t.Fatalf("the collector could not decode an export: %v", err)
	}
	got, res := coll.Last()
	if res["service.name"] != "goldenpath" || res["service.version"] != "v-test" {
		t.Errorf("resource %v; want service.name goldenpath, service.version v-test", res)
	}
	j := got[MetricJourneys].GetSum()
	if j == nil || !j.GetIsMonotonic() || j.GetAggregationTemporality() != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
		t.Fatalf("%s = %v; want a cumulative monotonic sum", MetricJourneys, got[MetricJourneys])
	}
	outcomes := map[string]float64{}
	for _, dp := range j.GetDataPoints() {
		outcomes[attr(dp.GetAttributes(), "outcome")] += dp.GetAsDouble()
	}
	if outcomes["succeeded"] != 3 || outcomes["failed"] != 1 {
		t.Errorf("exported %s by outcome = %v; want 3 succeeded and 1 failed (the last seen by the final export)", MetricJourneys, outcomes)
	}
	if g := got[MetricActiveUsers].GetGauge(); len(g.GetDataPoints()) != 1 || g.GetDataPoints()[0].GetAsDouble() != 4 {
		t.Errorf("exported %s = %v; want a gauge at 4", MetricActiveUsers, got[MetricActiveUsers])
	}
	var n uint64
	for _, dp := range got[MetricPhase].GetExponentialHistogram().GetDataPoints() {
		if attr(dp.GetAttributes(), "phase") == "login" {
			n = dp.GetCount()
			if dp.GetScale() != 3 || len(dp.GetPositive().GetBucketCounts()) == 0 {
				t.Errorf("exported login histogram: scale %d, %d buckets; want the native histogram's schema 3 and its buckets", dp.GetScale(), len(dp.GetPositive().GetBucketCounts()))
			}
		}
	}
	if n != 4 {
		t.Errorf("exported %s{phase=login} count = %d; want an exponential histogram of 4 samples (got %v)", MetricPhase, n, got[MetricPhase])
	}
	for _, name := range []string{MetricFindings, MetricErrors, MetricDropped, MetricInfo} {
		if got[name] == nil {
			t.Errorf("the export lacks %s; want every series the registry holds", name)
		}
	}
}

// TestPushToNoCollector: a failed export does not stop the run; it is
// told to OnError, and the final one's error is Close's.
func TestPushToNoCollector(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there
	var failed atomic.Int32
	p, err := Push(t.Context(), url, NewMetrics(Info{}).Gatherer(), PushOptions{Interval: 20 * time.Millisecond, OnError: func(error) { failed.Add(1) }})
	if err != nil {
		t.Fatalf("Push(%s) = %v; want it started (the collector may come up later)", url, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for failed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if failed.Load() == 0 {
		t.Errorf("OnError was not called in 10 s; want each failed export told")
	}
	if err := p.Close(context.Background()); err == nil || !strings.Contains(err.Error(), "final export") {
		t.Errorf("Close = %v; want the final export's failure", err)
	}
	if made, bad := p.Exports(); made == 0 || bad != made {
		t.Errorf("Exports() = %d made, %d failed; want every one failed", made, bad)
	}
}

func attr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}
