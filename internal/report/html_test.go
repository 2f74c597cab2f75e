package report_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/report"
)

// chartIDs are the charts of the HTML report, in page order.
var chartIDs = []string{"chart-phases", "chart-active-users", "chart-throughput-time", "chart-latency-time", "chart-first-event-time",
	"chart-login-time", "chart-latency-distribution", "chart-http-status", "chart-ws-messages", "chart-errors",
	"chart-capacity", "chart-memory", "chart-regression"}

// element is a start tag of a parsed page, with its text content.
type element struct {
	name  string
	attrs map[string]string
	path  []string // the names of its ancestors
	text  string
}

// parsePage reads an HTML report as the browser's tree, with the standard
// library's lenient XML reader (HTML's void elements closed, its entities
// known): the report is written so that it reads as well-formed XML too.
func parsePage(t *testing.T, page []byte) []*element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var out, stack []*element
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the page does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, p := range stack {
				e.path = append(e.path, p.name)
			}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			out, stack = append(out, e), append(stack, e)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			for _, e := range stack {
				e.text += string(tok)
			}
		}
	}
	if len(stack) != 0 {
		t.Errorf("the page leaves %d elements open", len(stack))
	}
	return out
}

func writeHTML(t *testing.T, r *report.Results) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteHTML(&b, r); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return b.Bytes()
}

func TestWriteHTMLStructure(t *testing.T) {
	page := writeHTML(t, populated())
	els := parsePage(t, page)
	var svgs []string
	for _, e := range els {
		if e.name == "svg" {
			svgs = append(svgs, e.attrs["id"])
			if e.attrs["role"] != "img" || e.attrs["aria-labelledby"] != e.attrs["id"]+"-title "+e.attrs["id"]+"-desc" {
				t.Errorf("svg %s: role %q, aria-labelledby %q; want img and its title and desc", e.attrs["id"], e.attrs["role"], e.attrs["aria-labelledby"])
			}
		}
		if (e.name == "title" || e.name == "desc") && slices.Contains(e.path, "svg") && strings.TrimSpace(e.text) == "" &&
			strings.HasSuffix(e.attrs["id"], "-title") {
			t.Errorf("svg %s has an empty title", e.attrs["id"])
		}
		for _, attr := range []string{"src", "href", "action", "poster", "data"} {
			if v, ok := e.attrs[attr]; ok && !strings.HasPrefix(v, "#") {
				t.Errorf("<%s %s=%q>: the page must load nothing from elsewhere", e.name, attr, v)
			}
		}
		switch e.name {
		case "link", "img", "iframe", "object", "embed", "image", "use":
			t.Errorf("the page has a <%s> element; it must be self-contained", e.name)
		case "style":
			if strings.Contains(e.text, "url(") || strings.Contains(e.text, "@import") {
				t.Errorf("the style sheet refers to a resource: %q", e.text)
			}
		}
	}
	if !slices.Equal(svgs, chartIDs) {
		t.Errorf("the page has charts %q; want one <svg> per chart, %q", svgs, chartIDs)
	}
	if !bytes.Contains(page, []byte(`<body data-charts="13">`)) {
		t.Errorf("the body does not announce its 13 charts (data-charts)")
	}
	for _, low := range []string{"http://", "https://"} {
		for _, e := range els {
			for k, v := range e.attrs {
				if strings.Contains(v, low) {
					t.Errorf("<%s %s=%q> holds an absolute URL", e.name, k, v)
				}
			}
		}
	}
}

// TestWriteHTMLEscapes puts markup into every kind of text the results
// carry, including the ones drawn into charts.
func TestWriteHTMLEscapes(t *testing.T) {
	const evil = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	r := populated()
	r.Notes = []string{evil}
	r.Checks[1].Evidence = evil
	r.Target.URL = evil
	r.Scenarios[0].Name = evil
	r.Scenarios[0].Errors[evil] = 7
	r.Checks = append(r.Checks, report.Check{Suite: "race", Name: evil, Status: report.Fail, Evidence: evil, Scenario: "race_mixed_load"})
	page := writeHTML(t, r)
	els := parsePage(t, page)
	scripts := 0
	for _, e := range els {
		switch e.name {
		case "script":
			scripts++
		case "img":
			t.Errorf("text of the results became an <img> element: %v", e.attrs)
		}
	}
	if scripts != 2 {
		t.Errorf("the page has %d <script> elements; want only its own 2", scripts)
	}
	if n := bytes.Count(page, []byte(`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`)); n < 8 {
		t.Errorf("the evil text appears escaped %d times; want it in the header, notes, evidence, the catalog, the scenarios, and the charts' labels", n)
	}
}

func TestWriteHTMLAbsentCharts(t *testing.T) {
	r := fixture()
	r.Capacity = nil
	r.Scenarios[0].Errors = nil
	page := string(writeHTML(t, r))
	for _, want := range []string{
		"The capacity search did not run",
		"The target&#39;s memory was not watched",
		"These results carry no regression comparison: the regression suite did not run",
		"No journey failed and the oracle found no violation.",
		"The results hold no per-second count of users in a journey",
		"The results hold no per-second first_event latencies",
		"The results count no HTTP reply",
		"The results count no WebSocket message",
		`data-charts="4"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("WriteHTML(fixture without capacity, errors, memory or regression) lacks %q", want)
		}
	}
	els := parsePage(t, []byte(page))
	var svgs []string
	for _, e := range els {
		if e.name == "svg" {
			svgs = append(svgs, e.attrs["id"])
		}
	}
	if want := []string{"chart-phases", "chart-throughput-time", "chart-latency-time", "chart-latency-distribution"}; !slices.Equal(svgs, want) {
		t.Errorf("charts %q; want %q", svgs, want)
	}
}

func TestWriteHTMLEmpty(t *testing.T) {
	page := writeHTML(t, &report.Results{Schema: report.Schema})
	parsePage(t, page)
	if !bytes.Contains(page, []byte(`data-charts="0"`)) {
		t.Errorf("an empty result drew charts:\n%s", page)
	}
}

// TestWriteHTMLLongRun draws a two-hour scenario: the time charts keep to
// a few hundred steps, so the page stays small.
func TestWriteHTMLLongRun(t *testing.T) {
	const seconds = 7200
	snap := metrics.Snapshot{SeriesStart: start, Counters: map[string]int64{"journeys": seconds, "succeeded": seconds}}
	for s := range seconds {
		snap.Series = append(snap.Series, metrics.Point{Second: s, Counters: map[string]int64{"journeys": 1, "succeeded": 1},
			Latency: map[string]metrics.PointLatency{"journey": {Count: 1, P50: float64(s), P95: float64(s), P99: float64(s)}}})
	}
	r := &report.Results{Schema: report.Schema, StartedAt: start, FinishedAt: start.Add(seconds * time.Second),
		Scenarios: []report.Scenario{{Name: "soak", Suite: "load", Journeys: seconds, Succeeded: seconds, Metrics: snap}}}
	for i := range seconds {
		r.TargetMemory = append(r.TargetMemory, report.MemoryPoint{T: float64(i), RSS: float64(50<<20 + i*1024)})
	}
	page := writeHTML(t, r)
	if len(page) > 200<<10 {
		t.Errorf("the page of a two-hour run is %d KiB; want it under 200 KiB", len(page)>>10)
	}
	for _, e := range parsePage(t, page) {
		if e.name == "path" && strings.Contains(e.attrs["class"], "line") {
			if n := strings.Count(e.attrs["d"], "L"); n > 2*600+2 {
				t.Errorf("path %q has %d segments; want at most 2 per step of 600", e.attrs["class"], n)
			}
		}
	}
	if !bytes.Contains(page, []byte("One step per 12 seconds.")) {
		t.Errorf("the time charts of a two-hour run do not say they are drawn in steps of 12 seconds")
	}
}

// TestWriteHTMLRegressionWroteBaseline: a run whose regression suite
// found no baseline wrote one; the report says it ran and which baseline
// it wrote, never that it did not run.
func TestWriteHTMLRegressionWroteBaseline(t *testing.T) {
	r := fixture()
	r.Options.Suites = append(r.Options.Suites, "regression")
	const detail = `no baseline "nightly" existed: wrote the first one to goldenpath-baselines/nightly.json from these 6 rounds; later runs are compared with it`
	r.Scenarios = append(r.Scenarios, report.Scenario{Name: "regression_comparison", Suite: "regression", Model: "comparison",
		Metrics: metrics.Snapshot{Counters: map[string]int64{"state_first": 1, "copies": 1}}, Samples: []report.Sample{{Kind: "baseline", Detail: detail}}})
	r.Checks = append(r.Checks, report.Check{Suite: "regression", Name: "golden_path_performance_baseline", Status: report.Skip,
		Evidence: "baseline written, nothing compared: " + detail})
	page := string(writeHTML(t, r))
	want := "The regression suite ran and wrote its first baseline from this run&#39;s rounds, so there was nothing to compare them with yet: no baseline &#34;nightly&#34; existed: wrote the first one to goldenpath-baselines/nightly.json"
	if !strings.Contains(page, want) || strings.Contains(page, "the regression suite did not run") {
		t.Errorf("the report of a run that wrote baseline nightly lacks %q, or says the suite did not run", want)
	}
}
