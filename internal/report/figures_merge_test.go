package report_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/report"
)

// trafficSegment is segment seg of a test whose scenario ran users users
// for 3 seconds from at, each second: the users in a journey, a login per
// user, a 200 and a 101 per user, and frames; in the last second a 503.
func trafficSegment(seg string, at time.Time, users int) *report.Results {
	now := at
	set := metrics.NewSet(metrics.WithNow(func() time.Time { return now }), metrics.WithSeriesHistograms("journey", "first_event", "login"))
	for s := range 3 {
		now = at.Add(time.Duration(s)*time.Second + 200*time.Millisecond)
		set.Gauge("active_users", int64(users))
		for range users {
			set.Record("login", 30*time.Millisecond)
			set.Record("first_event", 5*time.Millisecond)
			set.Record("journey", time.Second)
			set.Add("journeys", 1)
			set.Add("succeeded", 1)
			set.Add("http:200", 1)
			set.Add("http:101", 1)
			set.Add("ws_received:agent_thinking", 2)
			set.Add("ws_sent:user_message", 1)
		}
	}
	set.Add("http:503", 1)
	set.Add("operations", 7)
	r := fixture()
	r.Segments, r.Options.Segment = []string{seg}, seg
	r.Scenarios = []report.Scenario{{Name: "integrated", Suite: "integrated", Model: "closed", Users: 10, DurationS: 3, Metrics: set.Snapshot()}}
	return r
}

// TestMergeAddsUpTheReportFigures merges two segments, the second started
// a second after the first, and checks that every figure the HTML report
// draws from them adds up: HTTP statuses, frames by type, operations, the
// users in a journey second by second, and the logins second by second.
func TestMergeAddsUpTheReportFigures(t *testing.T) {
	a := viaJSON(t, trafficSegment("1/2", start, 4))
	b := viaJSON(t, trafficSegment("2/2", start.Add(time.Second), 6))
	m, err := report.Merge([]*report.Results{a, b})
	if err != nil {
		t.Fatal(err)
	}
	m = viaJSON(t, m)
	snap := m.Scenarios[0].Metrics
	for name, want := range map[string]int64{
		"http:200": 30, "http:101": 30, "http:503": 2, // 3 s x (4 + 6) users; one 503 each
		"ws_received:agent_thinking": 60, "ws_sent:user_message": 30, "operations": 14,
	} {
		if got := snap.Counters[name]; got != want {
			t.Errorf("merged counter %s = %d; want %d, the sum of the segments'", name, got, want)
		}
	}
	var gauges, logins []int64
	for _, pt := range snap.Series {
		gauges = append(gauges, pt.Gauges["active_users"])
		logins = append(logins, pt.Latency["login"].Count)
	}
	// Second 0: segment 1 alone; 1 and 2: both; 3: segment 2 alone.
	if want := []int64{4, 10, 10, 6}; !slices.Equal(gauges, want) {
		t.Errorf("merged users in a journey per second = %v; want %v", gauges, want)
	}
	if want := []int64{4, 10, 10, 6}; !slices.Equal(logins, want) {
		t.Errorf("merged logins per second = %v; want %v", logins, want)
	}
	if h := snap.Histograms["login"]; h == nil || h.Count() != 30 {
		t.Errorf("merged login histogram holds %v latencies; want 30", h)
	}

	page := string(writeHTML(t, m))
	for _, want := range []string{
		"62 HTTP replies to the journeys over every scenario, by status: 2 of them 4xx or 5xx.",
		"60 WebSocket frames received and 30 sent",
		"at most 10 at once",
		"login (30, p95 30ms)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the merged report lacks %q", want)
		}
	}
}
