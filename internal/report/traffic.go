package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// distributionPhases are the phases of the latency distribution, in
// legend order, with their line classes.
var distributionPhases = [][2]string{{"login", "s1"}, {"first_event", "s2"}, {"journey", "s3"}}

// binsPerDecade is the resolution of the latency distribution: bins of
// equal width on its log scale, ten to each power of ten (×1.26).
const binsPerDecade = 10

// distributionChart draws, for login, first_event and journey, the share
// of the phase's latencies in each bin of a log scale, from the merged
// HdrHistograms of the scenario the SLA checks judge (else of every
// scenario): every latency recorded, none sampled out.
func distributionChart(a *analysis) *chart {
	hs := map[string]*metrics.Histogram{}
	for _, sc := range a.r.Scenarios {
		if a.phaseSource != "" && sc.Name != a.phaseSource {
			continue
		}
		for _, p := range distributionPhases {
			h := sc.Metrics.Histograms[p[0]]
			if h == nil || h.Count() == 0 {
				continue
			}
			if hs[p[0]] == nil {
				hs[p[0]] = metrics.NewHistogram()
			}
			_ = hs[p[0]].Merge(h) // a histogram of another geometry is left out
		}
	}
	lo, hi := math.Inf(1), 0.0 // ms
	for _, h := range hs {
		if h.Count() > 0 {
			lo, hi = math.Min(lo, msOf(h.Min())), math.Max(hi, msOf(h.Max()))
		}
	}
	if hi == 0 {
		return nil
	}
	// Bins on whole tenths of a decade, from below the fastest latency to
	// above the slowest.
	e0 := math.Floor(math.Log10(math.Max(lo, 0.001)) * binsPerDecade)
	e1 := math.Ceil(math.Log10(hi)*binsPerDecade + 1e-9)
	if e1 <= e0 {
		e1 = e0 + 1
	}
	var edgesMS []float64
	var edges []time.Duration
	for e := e0; e <= e1; e++ {
		v := math.Pow(10, e/binsPerDecade)
		edgesMS = append(edgesMS, v)
		edges = append(edges, time.Duration(v*float64(time.Millisecond)))
	}
	shares := map[string][]float64{}
	yMax := 0.0
	for name, h := range hs {
		bins := h.Bins(edges)
		s := make([]float64, len(bins))
		for i, n := range bins {
			s[i] = 100 * float64(n) / float64(h.Count())
			yMax = math.Max(yMax, s[i])
		}
		shares[name] = s
	}
	c := newChart("chart-latency-distribution", "Latency distribution", 240, 70)
	sx := c.xScale(edgesMS[0], edgesMS[len(edgesMS)-1], true)
	c.xAxis(sx, logTicks(edgesMS[0], edgesMS[len(edgesMS)-1]), fmtLatencyTick, "latency (log scale)")
	yt, y0, y1 := countUnit.ticks(0, yMax*1.05, 5)
	sy := c.yScale(y0, y1)
	c.yAxis(sy, yt, countUnit.format, "% of the phase's latencies")
	var entries []legendEntry
	var parts []string
	for _, p := range distributionPhases {
		s, ok := shares[p[0]]
		if !ok {
			continue
		}
		var sp stepPath
		for i, v := range s {
			sp.add(sx.at(edgesMS[i]), sx.at(edgesMS[i+1]), sy.at(v))
		}
		h := hs[p[0]]
		sum := h.Summary()
		c.Paths = append(c.Paths, path{D: sp.b.String(), Class: "line " + p[1],
			Tip: fmt.Sprintf("%s: %d latencies, p50 %s, p95 %s, p99 %s", p[0], sum.Count, fmtLatency(sum.P50), fmtLatency(sum.P95), fmtLatency(sum.P99))})
		// The p95 as a dashed mark of the phase's colour.
		x := sx.at(math.Max(sum.P95, edgesMS[0]))
		c.Refs = append(c.Refs, segment{X1: x, Y1: c.Plot.Y, X2: x, Y2: c.Plot.Y + c.Plot.H, Class: "mark " + p[1], Tip: p[0] + " p95 " + fmtLatency(sum.P95)})
		entries = append(entries, legendEntry{Class: p[1], Text: p[0], Line: true})
		parts = append(parts, fmt.Sprintf("%s (%d, p95 %s)", p[0], sum.Count, fmtLatency(sum.P95)))
	}
	entries = append(entries, legendEntry{Class: "mark", Text: "p95", Line: true})
	c.legend(entries...)
	c.Desc = "The share of each phase's latencies in bins of a log scale, ten to a power of ten: " + strings.Join(parts, ", ") + "."
	c.Note = fmt.Sprintf("Every latency recorded, from the merged HdrHistograms of %s; bins of ×%.2f, so shapes compare across phases. The dashed lines are the p95s.",
		orScenario(a.phaseSource), math.Pow(10, 1.0/binsPerDecade))
	return c
}

func orScenario(name string) string {
	if name == "" {
		return "every scenario"
	}
	return "scenario " + name + ", the one the SLA checks judge"
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// counterTotals sums, over every scenario, the counters named prefix and a
// label, by label.
func counterTotals(r *Results, prefix string) map[string]int64 {
	out := map[string]int64{}
	for _, sc := range r.Scenarios {
		for k, v := range sc.Metrics.Counters {
			if label, ok := strings.CutPrefix(k, prefix); ok && v > 0 {
				out[label] += v
			}
		}
	}
	return out
}

// httpChart counts the HTTP replies the journeys got, by status: what the
// target answered, the WebSocket upgrades' 101 included.
func httpChart(r *Results) *chart {
	totals := counterTotals(r, results.CounterHTTPPrefix)
	if len(totals) == 0 {
		return nil
	}
	var bars []hbar
	var all, bad int64
	for code, n := range totals {
		class := "ok"
		if c, err := strconv.Atoi(code); err != nil || c >= 400 {
			class = "bad"
			bad += n
		}
		all += n
		bars = append(bars, hbar{name: "HTTP " + code + statusText(code), v: float64(n), class: class, tip: fmt.Sprintf("HTTP %s: %d replies", code, n)})
	}
	slices.SortFunc(bars, func(x, y hbar) int { return strings.Compare(x.name, y.name) })
	c := hbarChart("chart-http-status", "HTTP replies by status", bars, fmtCount, "replies to the journeys' requests", 0, "")
	c.legend(legendEntry{Class: "ok", Text: "1xx-3xx"}, legendEntry{Class: "bad", Text: "4xx, 5xx"})
	c.Desc = fmt.Sprintf("%d HTTP replies to the journeys over every scenario, by status: %d of them 4xx or 5xx.", all, bad)
	c.Note = "Every reply a journey got: its API calls' and its WebSocket upgrade's (101 Switching Protocols). Requests that got no reply (refused, timed out) are under Errors by kind."
	return c
}

// statusText names the common statuses.
func statusText(code string) string {
	switch code {
	case "101":
		return " Switching Protocols"
	case "200":
		return " OK"
	case "201":
		return " Created"
	case "204":
		return " No Content"
	case "400":
		return " Bad Request"
	case "401":
		return " Unauthorized"
	case "403":
		return " Forbidden"
	case "404":
		return " Not Found"
	case "409":
		return " Conflict"
	case "429":
		return " Too Many Requests"
	case "500":
		return " Internal Server Error"
	case "502":
		return " Bad Gateway"
	case "503":
		return " Service Unavailable"
	case "504":
		return " Gateway Timeout"
	}
	return ""
}

// wsChart counts the WebSocket frames the journeys received and sent, by
// type.
func wsChart(r *Results) *chart {
	recv, sent := counterTotals(r, results.CounterWSReceivedPrefix), counterTotals(r, results.CounterWSSentPrefix)
	if len(recv)+len(sent) == 0 {
		return nil
	}
	var bars []hbar
	var nRecv, nSent int64
	add := func(m map[string]int64, dir, class string, total *int64) {
		start := len(bars)
		for typ, n := range m {
			*total += n
			bars = append(bars, hbar{name: dir + " " + typ, v: float64(n), class: class, tip: fmt.Sprintf("%s %s: %d frames", dir, typ, n)})
		}
		slices.SortFunc(bars[start:], func(x, y hbar) int { return cmp.Or(cmp.Compare(y.v, x.v), strings.Compare(x.name, y.name)) })
	}
	add(recv, "received", "s1", &nRecv)
	add(sent, "sent", "s2", &nSent)
	c := hbarChart("chart-ws-messages", "WebSocket messages by type", bars, fmtCount, "frames over every journey", 0, "")
	c.legend(legendEntry{Class: "s1", Text: "received"}, legendEntry{Class: "s2", Text: "sent"})
	c.Desc = fmt.Sprintf("%d WebSocket frames received and %d sent by the journeys over every scenario, by type.", nRecv, nSent)
	c.Note = "By the protocol's event and message types; any other type a target sends is counted as other."
	return c
}
