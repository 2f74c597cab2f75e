package report

import (
	"slices"
	"testing"
)

// TestTimeAxis checks that a time axis takes one unit from its span and
// round steps of it, and writes its ticks as plain numbers: never 100s
// then 2.08m.
func TestTimeAxis(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64 // seconds
		unit   string
		labels []string
	}{
		{0, 9, "s", []string{"0", "2", "4", "6", "8", "10"}},
		{0, 65, "s", []string{"0", "10", "20", "30", "40", "50", "60", "70"}},
		{3, 178, "s", []string{"0", "30", "60", "90", "120", "150", "180"}},
		{0, 250, "min", []string{"0", "1", "2", "3", "4", "5"}}, // was 0s, 50s, 100s, 2.5m, 3.33m, 4.17m
		{0, 7200, "min", []string{"0", "15", "30", "45", "60", "75", "90", "105", "120"}},
		{0, 36000, "h", []string{"0", "2", "4", "6", "8", "10"}},
		{0, 14 * 86400, "h", []string{"0", "50", "100", "150", "200", "250", "300", "350"}},
	} {
		u := timeUnit(tc.hi - tc.lo)
		ticks, d0, d1 := u.ticks(tc.lo, tc.hi, 8)
		var labels []string
		for _, v := range ticks {
			labels = append(labels, u.format(v))
		}
		if u.name != tc.unit || !slices.Equal(labels, tc.labels) {
			t.Errorf("time axis over [%g, %g] s: unit %s, ticks %q; want %s, %q", tc.lo, tc.hi, u.name, labels, tc.unit, tc.labels)
		}
		if d0 > tc.lo || d1 < tc.hi {
			t.Errorf("time axis over [%g, %g] s spans [%g, %g]; want it to cover the data", tc.lo, tc.hi, d0, d1)
		}
	}
}

func TestLatencyAxis(t *testing.T) {
	for _, tc := range []struct {
		hi     float64 // ms
		unit   string
		labels []string
	}{
		{0.4, "µs", []string{"0", "100", "200", "300", "400"}},
		{48, "ms", []string{"0", "10", "20", "30", "40", "50"}},
		{2400, "s", []string{"0", "0.5", "1", "1.5", "2", "2.5"}}, // was 0, 500ms, 1s, 1.5s
		{61000, "s", []string{"0", "20", "40", "60", "80"}},
	} {
		u := latencyUnit(tc.hi)
		ticks, _, _ := u.ticks(0, tc.hi, 5)
		var labels []string
		for _, v := range ticks {
			labels = append(labels, u.format(v))
		}
		if u.name != tc.unit || !slices.Equal(labels, tc.labels) {
			t.Errorf("latency axis to %g ms: unit %s, ticks %q; want %s, %q", tc.hi, u.name, labels, tc.unit, tc.labels)
		}
	}
	if got := (axisUnit{name: "MiB", per: 1}).title("resident memory"); got != "resident memory (MiB)" {
		t.Errorf("title = %q; want the unit named in it", got)
	}
	if got := countUnit.title("users"); got != "users" {
		t.Errorf("a count's title = %q; want no unit", got)
	}
}

func TestFmtCount(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 17320: "17,320", 1234567: "1,234,567",
		-2500: "-2,500", 2.5: "2.5", 43.6251: "43.63"} {
		if got := fmtCount(v); got != want {
			t.Errorf("fmtCount(%g) = %q; want %q", v, got, want)
		}
	}
}
