package baseline

import (
	"bytes"
	"strings"
	"testing"
)

// scaled returns xs times f.
func scaled(xs []float64, f float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * f
	}
	return out
}

var (
	steady = []float64{100, 101, 99, 100.5, 99.5, 100.2}   // 1% noise
	noisy  = []float64{40, 160, 70, 210, 100, 130}         // huge noise
	zeros  = []float64{0, 0, 0, 0, 0, 0}                   // no error at all
	tenPct = []float64{10, 11, 9, 10.5, 9.5, 10.2}         // 10% of journeys failed
	three  = []float64{3, 3.1, 2.9, 3.05, 2.95, 3.02}      // 3% of journeys failed
	few    = []float64{100, 101, 99}                       // too few rounds
	fewX2  = []float64{200, 202, 198}                      // twice as slow, as few
	mixed  = []float64{90, 180, 110, 240, 120, 150, 60, 5} // overlaps noisy*1.5
)

func TestCompareSamples(t *testing.T) {
	tests := []struct {
		name     string
		metric   string
		old, new []float64
		want     Verdict
		sig      bool
	}{
		{"identical samples", "db_operation.p50", steady, steady, Same, false},
		{"latency +50% with low noise", "db_operation.p50", steady, scaled(steady, 1.5), Regression, true},
		{"latency +50% with huge noise is not significant", "db_operation.p50", noisy, scaled(noisy, 1.5), Same, false},
		{"latency -30% is an improvement", "db_operation.p50", steady, scaled(steady, 0.7), Improvement, true},
		{"latency +10% is significant but within +20%", "ws_handshake.p95", steady, scaled(steady, 1.1), Same, true},
		{"response time +30% is within +50%", "journey.p50", steady, scaled(steady, 1.3), Same, true},
		{"response time +60% is beyond +50%", "journey.p50", steady, scaled(steady, 1.6), Regression, true},
		{"throughput -30% is a regression", "throughput", steady, scaled(steady, 0.7), Regression, true},
		{"throughput +30% is an improvement", "throughput", steady, scaled(steady, 1.3), Improvement, true},
		{"throughput -10% is within -20%", "throughput", steady, scaled(steady, 0.9), Same, true},
		{"memory +25% is within +30%", "target_peak_rss", steady, scaled(steady, 1.25), Same, true},
		{"memory +40% is beyond +30%", "target_peak_rss", steady, scaled(steady, 1.4), Regression, true},
		{"CPU -40% is an improvement", "target_cpu", steady, scaled(steady, 0.6), Improvement, true},
		{"error rate 0% -> 10% is +10 points", "error_rate", zeros, tenPct, Regression, true},
		{"error rate 0% -> 3% is within +5 points", "error_rate", zeros, three, Same, true},
		{"error rate 10% -> 0% is an improvement", "error_rate", tenPct, zeros, Improvement, true},
		{"burst error rate +10 points", "burst.error_rate", zeros, tenPct, Regression, true},
		{"three rounds can never be significant", "db_operation.p50", few, fewX2, Same, false},
		{"uneven samples", "db_operation.p50", noisy, mixed, Same, false},
		{"a sub-millisecond latency +50% moved less than the floor", "server_db.p50", scaled(steady, 0.001), scaled(steady, 0.0015), Same, true},
		{"a burst's throughput -30% is within -50%", "burst.throughput", steady, scaled(steady, 0.7), Same, true},
		{"a burst's journey +60% is beyond +50%", "burst.journey.p50", steady, scaled(steady, 1.6), Regression, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := CompareSamples(map[string][]float64{tc.metric: tc.old}, map[string][]float64{tc.metric: tc.new}, DefaultThresholds)
			if len(rows) != 1 {
				t.Fatalf("CompareSamples(%s) = %d rows; want 1", tc.metric, len(rows))
			}
			r := rows[0]
			if r.Verdict != tc.want || r.Significant != tc.sig {
				t.Errorf("CompareSamples(%s: %v -> %v) = (%s, significant %t, p=%.4f, delta %+.3f); want (%s, significant %t)",
					tc.metric, tc.old, tc.new, r.Verdict, r.Significant, r.P, r.Delta, tc.want, tc.sig)
			}
		})
	}
}

func TestCompareSamplesNeverCallsAnImprovementARegression(t *testing.T) {
	for _, in := range Catalog() {
		better := scaled(steady, 0.4)
		if !in.Kind.HigherIsWorse() {
			better = scaled(steady, 2.5)
		}
		old, new := map[string][]float64{in.Name: steady}, map[string][]float64{in.Name: better}
		if in.Kind == KindErrorRate {
			old, new = map[string][]float64{in.Name: tenPct}, map[string][]float64{in.Name: zeros}
		}
		rows := CompareSamples(old, new, DefaultThresholds)
		if len(rows) != 1 || rows[0].Verdict != Improvement {
			t.Errorf("CompareSamples(%s, %s better) = %+v; want one improvement", in.Name, in.Kind, rows)
		}
	}
}

func TestCompareSamplesSkipsMetricsOnOneSide(t *testing.T) {
	rows := CompareSamples(map[string][]float64{"journey.p50": steady, "login.p50": steady, "made_up": steady},
		map[string][]float64{"journey.p50": steady, "made_up": steady}, DefaultThresholds)
	if len(rows) != 1 || rows[0].Name != "journey.p50" {
		t.Errorf("CompareSamples with login.p50 old only and an unknown metric = %+v; want journey.p50 only", rows)
	}
}

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		in      string
		want    Thresholds
		wantErr string
	}{
		{"", DefaultThresholds, ""},
		{"latency=10%", Thresholds{Latency: 0.10, Response: 0.50, Memory: 0.30, ErrorPoints: 5, FloorMS: 1, Alpha: 0.01}, ""},
		{" response = 25% , memory=5%,error=2 ", Thresholds{Latency: 0.20, Response: 0.25, Memory: 0.05, ErrorPoints: 2, FloorMS: 1, Alpha: 0.01}, ""},
		{"floor=0s", Thresholds{Latency: 0.20, Response: 0.50, Memory: 0.30, ErrorPoints: 5, FloorMS: 0, Alpha: 0.01}, ""},
		{"floor=2.5ms", Thresholds{Latency: 0.20, Response: 0.50, Memory: 0.30, ErrorPoints: 5, FloorMS: 2.5, Alpha: 0.01}, ""},
		{"floor=-1ms", DefaultThresholds, "not a duration such as 1ms"},
		{"floor=1", DefaultThresholds, "not a duration such as 1ms"},
		{"latency=10", DefaultThresholds, "needs a % sign"},
		{"error=5%", DefaultThresholds, "without a % sign"},
		{"speed=10%", DefaultThresholds, `unknown threshold "speed"; known: latency, response, memory, error, floor`},
		{"latency", DefaultThresholds, "is not NAME=VALUE"},
		{"latency=ten%", DefaultThresholds, "is not a number"},
		{"latency=0%", DefaultThresholds, "must be positive"},
		{"latency=100%", DefaultThresholds, "must be under 100%"},
		{"error=0", DefaultThresholds, "must be in (0, 100] points"},
	}
	for _, tc := range tests {
		got, err := ParseThresholds(tc.in)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseThresholds(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("ParseThresholds(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if s := DefaultThresholds.String(); s != "latency=20%,response=50%,memory=30%,error=5,floor=1ms" {
		t.Errorf("DefaultThresholds.String() = %q", s)
	}
	if got, err := ParseThresholds(DefaultThresholds.String()); err != nil || got != DefaultThresholds {
		t.Errorf("ParseThresholds(DefaultThresholds.String()) = %+v, %v; want the defaults back", got, err)
	}
}

func TestCompareRefusesOtherSettings(t *testing.T) {
	a := &Baseline{Settings: Settings{Users: 10, Round: "2s", BurstUsers: 50}, Metrics: map[string][]float64{"journey.p50": steady}}
	b := &Baseline{Settings: Settings{Users: 20, Round: "2s", BurstUsers: 50}, Metrics: map[string][]float64{"journey.p50": steady}}
	if _, err := Compare(a, b, DefaultThresholds); err == nil || !strings.Contains(err.Error(), "10 users against 20") {
		t.Errorf("Compare(10 users, 20 users) error = %v; want one naming the users", err)
	}
	b.Settings.Users, b.Env.CPUs, a.Env.CPUs = 10, 8, 2
	c, err := Compare(a, b, DefaultThresholds)
	if err != nil || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "CPU count") {
		t.Errorf("Compare(2 CPUs, 8 CPUs) = %+v, %v; want a warning about the CPU count", c, err)
	}
}

func TestWriteTable(t *testing.T) {
	old := map[string][]float64{"db_operation.p50": steady, "journey.p50": steady, "error_rate": zeros}
	new := map[string][]float64{"db_operation.p50": scaled(steady, 1.5), "journey.p50": steady, "error_rate": zeros}
	var b bytes.Buffer
	WriteTable(&b, &Comparison{Thresholds: DefaultThresholds, Rows: CompareSamples(old, new, DefaultThresholds)})
	out := b.String()
	for _, want := range []string{
		"METRIC", "journey.p50", "100ms ± 1%", "~",
		"db_operation.p50", "150ms ± 1%", "+50.0%", "p=0.002", "n=6", "REGRESSION (limit +20%)",
		"error_rate", "0.00%",
		"thresholds: latency +20%, response time and bursts +50%", "latencies move at least 1ms",
		"1 regression: db_operation.p50 +50.0%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteTable output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	WriteTable(&b, &Comparison{Thresholds: DefaultThresholds, Rows: CompareSamples(map[string][]float64{"journey.p50": few}, map[string][]float64{"journey.p50": fewX2}, DefaultThresholds)})
	if !strings.Contains(b.String(), "too few rounds") {
		t.Errorf("WriteTable with 3 rounds a side does not warn that no change can be significant:\n%s", b.String())
	}
}

// TestCompareConfirmed: with a second set of rounds, a metric is flagged
// only when each set on its own shows the regression. Unit steps: the old
// side is steady in both sets; the new side is +50% (beyond +20%,
// significant) in the sets named.
func TestCompareConfirmed(t *testing.T) {
	th := DefaultThresholds
	slow := scaled(steady, 1.5)
	join := func(a, b []float64) []float64 { return append(append([]float64{}, a...), b...) }
	tests := []struct {
		name          string
		first, second []float64 // the new side's two sets
		want          Verdict
		unconfirmed   bool
	}{
		{"regressed in both sets", slow, slow, Regression, false},
		{"regressed in the first set only", slow, steady, Same, true},
		{"regressed in the second set only", steady, slow, Same, true},
		{"no change in either", steady, steady, Same, false},
		{"improved in both", scaled(steady, 0.5), scaled(steady, 0.5), Improvement, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := map[string][]float64{"db_operation.p50": join(steady, steady)}
			nw := map[string][]float64{"db_operation.p50": join(tc.first, tc.second)}
			rows := CompareConfirmed(old, nw, th, len(steady))
			if len(rows) != 1 {
				t.Fatalf("got %d rows; want 1", len(rows))
			}
			r := rows[0]
			if r.Verdict != tc.want || r.Unconfirmed != tc.unconfirmed {
				t.Errorf("verdict %s unconfirmed %v; want %s unconfirmed %v (row %+v)", r.Verdict, r.Unconfirmed, tc.want, tc.unconfirmed, r)
			}
			if r.Old.N != 2*len(steady) {
				t.Errorf("the row shows %d old values; want all %d", r.Old.N, 2*len(steady))
			}
		})
	}
	// Without a split the first set alone is judged, as CompareSamples.
	old := map[string][]float64{"db_operation.p50": steady}
	if r := CompareConfirmed(old, map[string][]float64{"db_operation.p50": slow}, th, 0); r[0].Verdict != Regression {
		t.Errorf("split 0: %s; want the plain comparison's REGRESSION", r[0].Verdict)
	}
	// A metric without values after the split is judged on what it has.
	if r := CompareConfirmed(old, map[string][]float64{"db_operation.p50": slow}, th, len(steady)); r[0].Verdict != Regression || r[0].Unconfirmed {
		t.Errorf("no second set: %s unconfirmed %v; want REGRESSION", r[0].Verdict, r[0].Unconfirmed)
	}
}

func TestWriteTableConfirmed(t *testing.T) {
	old := &Baseline{Metrics: map[string][]float64{"db_operation.p50": append(append([]float64{}, steady...), steady...)}}
	nw := &Baseline{Metrics: map[string][]float64{"db_operation.p50": append(scaled(steady, 1.5), steady...)}}
	c := &Comparison{Old: old, New: nw, Thresholds: DefaultThresholds}
	c.ConfirmAt(len(steady))
	var b bytes.Buffer
	WriteTable(&b, c)
	for _, want := range []string{"regressed in one set of rounds only", "confirmed: a regression must show in rounds 1-6 and again in rounds 7-12", "no regression in 1 metric"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
