package baseline

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// round is a synthetic round scenario: n journeys of which failed failed,
// each phase recorded n times at d (with a little spread).
func round(name string, users, n, failed int, d time.Duration, counters map[string]int64) results.Scenario {
	set := metrics.NewSet()
	for i := range n {
		jitter := time.Duration(i%5) * d / 100
		for _, p := range []string{"journey", "db_operation", "ws_handshake", "first_event"} {
			set.Record(p, d+jitter)
		}
	}
	set.Add("journeys", int64(n))
	set.Add("succeeded", int64(n-failed))
	set.Add("failed", int64(failed))
	if failed > 0 {
		set.Add("error:close:1011", int64(failed))
	}
	for k, v := range counters {
		set.Add(k, v)
	}
	return results.Scenario{Name: name, Suite: "regression", Model: "closed", Users: users, DurationS: 2, Metrics: set.Snapshot()}
}

// rounds is k steady rounds and their bursts.
func rounds(k int, d time.Duration) []results.Scenario {
	var scs []results.Scenario
	for i := 1; i <= k; i++ {
		scs = append(scs,
			round(RoundName(i), 10, 120, 0, d, map[string]int64{CounterTargetPeakRSS: 40 << 20, CounterTargetCPU: 240_000}),
			round(BurstName(i), 50, 50, 5, 2*d, map[string]int64{CounterTargetPeakRSS: 48 << 20}))
	}
	return scs
}

var testSettings = Settings{Users: 10, Round: "2s", BurstUsers: 50}

func TestRoundValues(t *testing.T) {
	r := Rounds(rounds(1, 10*time.Millisecond))
	if len(r) != 1 || r[0].Steady == nil || r[0].Burst == nil {
		t.Fatalf("Rounds(one round) = %+v; want one round with both scenarios", r)
	}
	v := RoundValues(r[0])
	want := map[string]float64{
		"throughput": 60, "error_rate": 0, "target_peak_rss": 48, "target_cpu": 2,
		"burst.throughput": 22.5, "burst.error_rate": 10,
	}
	for k, w := range want {
		if got, ok := v[k]; !ok || math.Abs(got-w) > 1e-9 {
			t.Errorf("RoundValues()[%s] = %v (present %t); want %v", k, got, ok, w)
		}
	}
	for _, k := range []string{"journey.p50", "journey.p95", "journey.mean", "burst.journey.p50", "burst.journey.mean"} {
		if _, ok := v[k]; !ok {
			t.Errorf("RoundValues() lacks %s", k)
		}
	}
	// 120 steady journeys: enough for a p95, too few for a p99; 50 burst
	// journeys: too few for a p95.
	for _, k := range []string{"journey.p99", "burst.journey.p95", "burst.journey.p99"} {
		if _, ok := v[k]; ok {
			t.Errorf("RoundValues() has %s from too few samples", k)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	env := Environment{Goldenpath: "devel+abc", Commit: "abc", Go: "go1.26.8", Platform: "linux/amd64", CPUs: 2, TargetURL: "http://127.0.0.1:1", TargetVersion: "1.2.3"}
	b, err := New(rounds(6, 10*time.Millisecond), env, testSettings, at)
	if err != nil {
		t.Fatalf("New(6 rounds) = %v", err)
	}
	b.Name = "main"
	if b.Rounds != 6 || len(b.Metrics["journey.p50"]) != 6 || b.Errors.Journeys != 6*170 || b.Errors.Failed != 30 ||
		b.Errors.Classes["close:1011"] != 30 || b.Memory.PeakRSS != 48<<20 || b.Memory.Rounds != 6 {
		t.Errorf("New(6 rounds) = rounds %d, %d journey.p50 values, errors %+v, memory %+v; want 6 rounds, 6 values, 1020 journeys with 30 close:1011, peak 48 MiB",
			b.Rounds, len(b.Metrics["journey.p50"]), b.Errors, b.Memory)
	}
	if h := b.Histograms["burst.journey"]; h == nil || h.Count() != 300 {
		t.Errorf("New(6 rounds).Histograms[burst.journey] = %v; want the 6 bursts' 300 journeys merged", h)
	}
	path := filepath.Join(t.TempDir(), "sub", "main.json")
	if err := Save(path, b); err != nil {
		t.Fatalf("Save(%s) = %v", path, err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s) = %v", path, err)
	}
	if !reflect.DeepEqual(got.Metrics, b.Metrics) || got.Env != b.Env || got.Settings != b.Settings || !got.CreatedAt.Equal(at) ||
		got.Name != "main" || got.Schema != Schema || !reflect.DeepEqual(got.Errors, b.Errors) || got.Memory != b.Memory {
		t.Errorf("Load(Save(b)) = %+v; want %+v", got, b)
	}
	for name, h := range b.Histograms {
		if g := got.Histograms[name]; g == nil || g.Summary() != h.Summary() {
			t.Errorf("Load(Save(b)).Histograms[%s] = %v; want %v", name, g, h.Summary())
		}
	}
}

func TestLoadResults(t *testing.T) {
	res := &results.Results{Schema: results.Schema, Tool: results.Tool{Name: "goldenpath", Version: "devel+0123456789ab", Go: "go1.26.8", CPUs: 2},
		Options: results.Options{Duration: "12s"}, Scenarios: rounds(6, 10*time.Millisecond)}
	path := filepath.Join(t.TempDir(), "results.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := results.WriteJSON(f, res); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := Load(path)
	if err != nil {
		t.Fatalf("Load(results.json with rounds) = %v", err)
	}
	if b.Settings != testSettings || b.Rounds != 6 || b.Env.Commit != "0123456789ab" || len(b.Metrics["db_operation.p50"]) != 6 {
		t.Errorf("Load(results.json) = settings %+v, %d rounds, env %+v; want %+v, 6 rounds, commit 0123456789ab", b.Settings, b.Rounds, b.Env, testSettings)
	}
}

func TestLoadBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noRounds := filepath.Join(dir, "norounds.json")
	f, _ := os.Create(noRounds)
	_ = results.WriteJSON(f, &results.Results{Schema: results.Schema})
	f.Close()
	tests := []struct {
		name, path string
		want       []string
	}{
		{"missing", filepath.Join(dir, "nightly.json"), []string{"no baseline at " + filepath.Join(dir, "nightly.json"), "goldenpath run --suite regression --save-baseline nightly"}},
		{"not JSON", write("text.json", "hello"), []string{"text.json", "not a baseline file"}},
		{"another schema", write("v0.json", `{"schema":"goldenpath.baseline/v0","metrics":{}}`), []string{`schema "goldenpath.baseline/v0", want "goldenpath.baseline/v1"`}},
		{"no schema", write("plain.json", `{"metrics":{"journey.p50":[1]}}`), []string{`schema "", want`}},
		{"no metrics", write("empty.json", `{"schema":"goldenpath.baseline/v1","metrics":{}}`), []string{"holds no metrics"}},
		{"a metric without values", write("novals.json", `{"schema":"goldenpath.baseline/v1","metrics":{"journey.p50":[]}}`), []string{`metric "journey.p50" has no values`}},
		{"a bad histogram", write("hist.json", `{"schema":"goldenpath.baseline/v1","metrics":{"journey.p50":[1]},"histograms":{"journey":"nope"}}`), []string{"hist.json"}},
		{"results without rounds", noRounds, []string{"carry no rounds", "--suite regression"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path)
			if err == nil {
				t.Fatalf("Load(%s) = no error; want one", tc.path)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%s) error = %q; want it to contain %q", tc.path, err, w)
				}
			}
			if tc.name == "missing" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Load(missing) error = %v; want it to wrap fs.ErrNotExist", err)
			}
		})
	}
}

func TestNewWithoutRounds(t *testing.T) {
	if _, err := New([]results.Scenario{round("integrated", 10, 40, 0, time.Millisecond, nil)}, Environment{}, testSettings, time.Now()); err == nil {
		t.Errorf("New(no round scenario) = no error; want one")
	}
}

func TestSamplesSurviveCounters(t *testing.T) {
	s := Samples(rounds(6, 1234567*time.Nanosecond))
	got := DecodeSamples("old:", EncodeSamples("old:", s), 1)
	if !reflect.DeepEqual(got, s) {
		t.Errorf("DecodeSamples(EncodeSamples(s)) = %v; want %v", got, s)
	}
	// Two merged copies add their counters; dividing by the copies gives
	// the values back.
	c := EncodeSamples("old:", s)
	for k, v := range c {
		c[k] = 2 * v
	}
	if got := DecodeSamples("old:", c, 2); !reflect.DeepEqual(got, s) {
		t.Errorf("DecodeSamples(2 copies) = %v; want %v", got, s)
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"default", "main", "v1.2-rc_3"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "a/b", "../x", "with space", strings.Repeat("x", 101)} {
		if err := ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) = nil; want an error", bad)
		}
	}
}

func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, in := range Catalog() {
		if seen[in.Name] {
			t.Errorf("Catalog() lists %s twice", in.Name)
		}
		seen[in.Name] = true
		if got, ok := Lookup(in.Name); !ok || got != in {
			t.Errorf("Lookup(%s) = %+v, %t; want %+v", in.Name, got, ok, in)
		}
	}
	if _, ok := Lookup("burst.first_event.p50"); ok {
		t.Errorf("Lookup(burst.first_event.p50) found it; the burst's own phases are not judged")
	}
	for _, tc := range []struct {
		metric string
		v      float64
		want   string
	}{
		{"journey.p50", 0.4321, "432µs"}, {"journey.p50", 12.34, "12.3ms"}, {"journey.p50", 2500, "2.5s"},
		{"throughput", 31.234, "31.23/s"}, {"error_rate", 1.5, "1.50%"}, {"target_peak_rss", 40.25, "40.2MiB"},
		{"target_cpu", 2.3, "2.30ms/journey"}, {"journey.p50", math.NaN(), "n/a"},
	} {
		in, _ := Lookup(tc.metric)
		if got := in.Format(tc.v); got != tc.want {
			t.Errorf("Lookup(%s).Format(%v) = %q; want %q", tc.metric, tc.v, got, tc.want)
		}
	}
}
