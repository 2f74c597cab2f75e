package monitor

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
)

// bodyTransport answers every request with 200 and the body it holds:
// the scraper's parsing, without a network.
type bodyTransport struct{ body []byte }

func (b *bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(bytes.NewReader(b.body)),
		Header: http.Header{"Content-Type": {"text/plain; version=0.0.4"}}, Request: r}, nil
}

// FuzzScrape parses /metrics bodies as a MetricsSource does. A body that
// parses gives only finite values (NaN, infinities, and sums that
// overflow are left out), each under a name it was asked for, alone or
// with its labels as name{...}, and at most 32 label sets of a name.
func FuzzScrape(f *testing.F) {
	if b, err := os.ReadFile("testdata/metrics.txt"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("process_resident_memory_bytes 1.7976931348623157e308\nprocess_resident_memory_bytes{a=\"1\"} 1.7976931348623157e308\n"))
	f.Add([]byte("# TYPE go_goroutines gauge\ngo_goroutines NaN\ngo_goroutines{x=\"a\\\"b\\\\c\\nd\"} +Inf\n"))
	f.Add([]byte("# TYPE goldenpath_runs_total counter\ngoldenpath_runs_total{outcome=\"completed\",z=\"1\",a=\"2\"} 3 1700000000000\n"))
	f.Add([]byte("{\"process_open_fds\",\"weird.label\"=\"v\"} 4\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		src := MetricsSource("http://target/metrics", &http.Client{Transport: &bodyTransport{body}}).(*scraper)
		var s Sample
		if err := src.Read(context.Background(), &s); err != nil {
			return
		}
		labelled := map[string]int{}
		for k, v := range s.Metrics {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("scrape of %q: %s = %g; want finite values only", body, k, v)
			}
			name, labels, hasLabels := strings.Cut(k, "{")
			if _, ok := src.want[name]; !ok {
				t.Fatalf("scrape of %q: %s, a metric not asked for", body, k)
			}
			if hasLabels {
				if !strings.HasSuffix(labels, "}") {
					t.Fatalf("scrape of %q: key %q; want name{labels}", body, k)
				}
				labelled[name]++
			}
		}
		for name, n := range labelled {
			if n > maxLabelled {
				t.Fatalf("scrape of %q: %d label sets of %s; want at most %d", body, n, name, maxLabelled)
			}
		}
	})
}

// Two finite values of a metric whose sum overflowed gave the metric the
// value +Inf (found by FuzzScrape; docs/fuzzing.md): the sum is left out,
// the labelled values stay.
func TestScrapeSumOverflow(t *testing.T) {
	body := "process_resident_memory_bytes{a=\"1\"} 1.7976931348623157e308\nprocess_resident_memory_bytes{a=\"2\"} 1.7976931348623157e308\n"
	var s Sample
	if err := MetricsSource("http://target/metrics", &http.Client{Transport: &bodyTransport{[]byte(body)}}).Read(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Metrics[MetricResident]; ok || len(s.Metrics) != 2 {
		t.Errorf("scrape of %q = %v (sum %g, %t); want the two labelled values and no sum", body, s.Metrics, v, ok)
	}
}
