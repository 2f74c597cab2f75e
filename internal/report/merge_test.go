package report_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/report"
)

// stream is a fixed stream of n latencies spread over six orders of
// magnitude, with a few outside the histograms' range.
func stream(n int) []time.Duration {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(math.Exp(rng.NormFloat64()*2.5 + math.Log(float64(50*time.Millisecond))))
	}
	out[7], out[100] = 200*time.Nanosecond, 2*time.Hour // clamped
	return out
}

// record records the latencies of s whose index keep accepts, and counts
// them, into set.
func record(set *metrics.Set, s []time.Duration, keep func(int) bool) {
	for i, d := range s {
		if keep(i) {
			set.Record("journey", d)
			set.Record("login", d/7)
			set.Add("journeys", 1)
			if i%10 == 0 {
				set.Add("error:timeout", 1)
			}
		}
	}
}

// segment is the results of segment seg ("i/n") of one test whose
// scenarios recorded the latencies of s that keep accepts.
func segment(seg string, s []time.Duration, keep func(int) bool, users int, finished time.Duration) *report.Results {
	set := fixedSet()
	record(set, s, keep)
	sc := report.Scenario{Name: "users_10_sustained", Suite: "load", Model: "closed", Users: users, DurationS: finished.Seconds(),
		Samples: []report.Sample{{Kind: "timeout", Detail: "segment " + seg}}, Metrics: set.Snapshot()}
	r := fixture()
	r.Segments, r.Options.Segment = []string{seg}, seg
	r.FinishedAt = r.StartedAt.Add(finished)
	r.Scenarios = []report.Scenario{sc}
	return r
}

// viaJSON returns r as `goldenpath merge` reads it: written and read back.
func viaJSON(t *testing.T, r *report.Results) *report.Results {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	back, err := report.ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestMergeIsLossless(t *testing.T) {
	s := stream(5000)
	even := func(i int) bool { return i%2 == 0 }
	odd := func(i int) bool { return i%2 == 1 }
	whole := fixedSet()
	record(whole, s, func(int) bool { return true })
	want := whole.Snapshot()

	a := viaJSON(t, segment("1/2", s, even, 5, 30*time.Second))
	b := viaJSON(t, segment("2/2", s, odd, 5, 31*time.Second))
	b.StartedAt = b.StartedAt.Add(-time.Second)
	b.Interrupted = true
	b.Notes = append(b.Notes, "segment 2 was slow to start")
	b.Scenarios = append(b.Scenarios, report.Scenario{Name: "capacity_users_20", Suite: "load", Users: 20, Metrics: fixedSet().Snapshot()})
	aCount := a.Scenarios[0].Metrics.Histograms["journey"].Count()

	m, err := report.Merge([]*report.Results{a, b})
	if err != nil {
		t.Fatalf("Merge(1/2, 2/2): %v", err)
	}
	if len(m.Scenarios) != 2 || m.Scenarios[0].Name != "users_10_sustained" || m.Scenarios[1].Name != "capacity_users_20" {
		t.Fatalf("Merge scenarios = %d; want users_10_sustained merged, then capacity_users_20 as it was", len(m.Scenarios))
	}
	got := m.Scenarios[0].Metrics
	for _, name := range []string{"journey", "login"} {
		gh, wh := got.Histograms[name], want.Histograms[name]
		if gh.Count() != wh.Count() || gh.Clamped() != wh.Clamped() {
			t.Errorf("merged %s: count %d, clamped %d; want %d, %d as one set recording the whole stream",
				name, gh.Count(), gh.Clamped(), wh.Count(), wh.Clamped())
		}
		for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1} {
			if g, w := gh.Quantile(q), wh.Quantile(q); g != w {
				t.Errorf("merged %s: Quantile(%g) = %v; want %v as one set recording the whole stream", name, q, g, w)
			}
		}
		if g, w := gh.Summary(), wh.Summary(); g != w {
			t.Errorf("merged %s: Summary() = %+v; want %+v", name, g, w)
		}
	}
	if g, w := got.Counters, want.Counters; g["journeys"] != w["journeys"] || g["error:timeout"] != w["error:timeout"] || g["journeys"] != 5000 {
		t.Errorf("merged counters = %v; want %v", g, w)
	}
	var gotSeries int64
	for _, p := range got.Series {
		gotSeries += p.Counters["journeys"] + p.Latency["journey"].Count
	}
	if gotSeries != 2*5000 {
		t.Errorf("merged series holds %d journeys and journey latencies; want %d", gotSeries, 2*5000)
	}

	sc := m.Scenarios[0]
	if sc.Users != 5 || sc.DurationS != 31 || len(sc.Samples) != 2 {
		t.Errorf("merged scenario: users %d, duration %gs, %d samples; want the test's 5 users (each segment records them all), the longer 31s, both samples", sc.Users, sc.DurationS, len(sc.Samples))
	}
	if !slices.Equal(m.Segments, []string{"1/2", "2/2"}) || m.Options.Segment != "1/2+2/2" {
		t.Errorf("Merge segments = %v, options.segment %q; want [1/2 2/2], 1/2+2/2", m.Segments, m.Options.Segment)
	}
	if !m.StartedAt.Equal(b.StartedAt) || !m.FinishedAt.Equal(b.FinishedAt) || !m.Interrupted {
		t.Errorf("Merge started %v, finished %v, interrupted %t; want the earliest start %v, the latest finish %v, and interrupted",
			m.StartedAt, m.FinishedAt, m.Interrupted, b.StartedAt, b.FinishedAt)
	}
	if want := append(slices.Clone(a.Notes), "segment 2 was slow to start"); !slices.Equal(m.Notes, want) {
		t.Errorf("Merge notes = %q; want each note once, %q", m.Notes, want)
	}
	if m.Schema != report.Schema || !slices.Equal(m.Options.SLA, a.Options.SLA) || m.Checks != nil {
		t.Errorf("Merge schema %q, sla %v, checks %d; want %s, the parts' SLA, and no checks (the caller judges again)",
			m.Schema, m.Options.SLA, len(m.Checks), report.Schema)
	}
	if n := a.Scenarios[0].Metrics.Histograms["journey"].Count(); n != aCount {
		t.Errorf("Merge changed its input: segment 1/2's journey histogram holds %d; want %d", n, aCount)
	}
}

func TestMergeOneSegment(t *testing.T) {
	r := fixture()
	m, err := report.Merge([]*report.Results{r})
	if err != nil {
		t.Fatalf("Merge(one part): %v", err)
	}
	if len(m.Scenarios) != 1 || m.Scenarios[0].Metrics.Histograms["journey"].Count() != 40 || !slices.Equal(m.Segments, []string{"1/1"}) {
		t.Errorf("Merge(one part) = %d scenarios, segments %v; want the part unchanged", len(m.Scenarios), m.Segments)
	}
}

func TestMergeRefuses(t *testing.T) {
	s := stream(200)
	all := func(int) bool { return true }
	part := func(seg string) *report.Results { return segment(seg, s, all, 1, time.Second) }
	otherSLA := part("2/2")
	otherSLA.Options.SLA = []string{"login: p95 < 1s"}
	otherSuites := part("2/2")
	otherSuites.Options.Suites = []string{"integrated"}
	twice := part("1/2")
	twice.Segments = []string{"1/2", "1/2"}
	otherUsers := part("2/2")
	otherUsers.Options.Users += 5
	otherTarget := part("2/2")
	otherTarget.Target = report.Target{URL: "http://127.0.0.1:9999"}
	otherRun := part("1/1")
	runA, runB := part("1/2"), part("2/2")
	runA.Options.RunID, runB.Options.RunID = "nightly-41", "nightly-42"
	for _, tc := range []struct {
		name  string
		parts []*report.Results
		want  []string
	}{
		{"nothing", nil, []string{"report: nothing to merge"}},
		{"the same segment twice", []*report.Results{part("1/2"), part("1/2")}, []string{"segment 1/2 appears twice"}},
		{"a segment listed twice in one part", []*report.Results{twice}, []string{"segment 1/2 appears twice"}},
		{"another SLA", []*report.Results{part("1/2"), otherSLA}, []string{"segment 2/2 ran other suites or SLAs than 1/2"}},
		{"other suites", []*report.Results{part("1/2"), otherSuites}, []string{"segment 2/2 ran other suites or SLAs than 1/2"}},
		// Found by trying (issue 12): each of these merged with exit 0.
		{"a part alone", []*report.Results{part("1/2")}, []string{"segment 2/2 missing", "judged as the whole test"}},
		{"a part of another split", []*report.Results{part("1/2"), otherRun}, []string{"segment 1/1 belongs to a test split in 1", "split in 2"}},
		{"parts of two runs", []*report.Results{runA, runB}, []string{"segment 2/2 ran with other options than 1/2", `run_id "nightly-41" against "nightly-42"`}},
		{"other users", []*report.Results{part("1/2"), otherUsers}, []string{"segment 2/2 ran with other options than 1/2", "users "}},
		{"another target", []*report.Results{part("1/2"), otherTarget}, []string{"segment 2/2 ran against another target than 1/2", "url "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := report.Merge(tc.parts)
			if err == nil {
				t.Fatalf("Merge(%s) = %v, no error; want an error containing %q", tc.name, m.Segments, tc.want)
			}
			if m != nil {
				t.Errorf("Merge(%s) returned results beside error %v", tc.name, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Merge(%s) error = %q; want it to contain %q", tc.name, err, w)
				}
			}
		})
	}
}

func TestMergePhases(t *testing.T) {
	s := stream(1000)
	a := segment("1/2", s, func(i int) bool { return i < 300 }, 1, time.Second).Scenarios[0]
	b := segment("2/2", s, func(i int) bool { return i >= 300 }, 1, time.Second).Scenarios[0]
	whole := fixedSet()
	record(whole, s, func(int) bool { return true })
	got := report.MergePhases([]report.Scenario{a, b})
	want := whole.Snapshot().Summaries()
	if len(got) != len(want) {
		t.Errorf("MergePhases = %d phases; want %d", len(got), len(want))
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("MergePhases[%s] = %+v; want %+v, the summary of the whole stream", name, got[name], w)
		}
	}
	if got := report.MergePhases(nil); len(got) != 0 {
		t.Errorf("MergePhases(nil) = %v; want no phases", got)
	}
}
