package catalog_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/embedded"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
	"github.com/goldenpath-dev/goldenpath/internal/suite/catalog"
	"github.com/goldenpath-dev/goldenpath/internal/suite/race"
)

func TestNamesInRunOrder(t *testing.T) {
	want := []string{"integrated", "load", "race", "memory", "regression"}
	if got := catalog.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v; want %v", got, want)
	}
	for _, s := range catalog.All() {
		if s.Run == nil || s.Checks == nil {
			t.Errorf("suite %s has a nil Run or Checks", s.Name)
		}
	}
}

func TestLookup(t *testing.T) {
	ss, err := catalog.Lookup([]string{"regression", "race", "integrated"})
	if err != nil {
		t.Fatalf("Lookup([regression race integrated]): %v", err)
	}
	var got []string
	for _, s := range ss {
		got = append(got, s.Name)
	}
	if want := []string{"integrated", "race", "regression"}; !slices.Equal(got, want) {
		t.Errorf("Lookup([regression race integrated]) = %v; want run order %v", got, want)
	}
	_, err = catalog.Lookup([]string{"nope"})
	if err == nil || !strings.Contains(err.Error(), `unknown suite "nope"`) || !strings.Contains(err.Error(), strings.Join(catalog.Names(), ", ")) {
		t.Errorf("Lookup([nope]) error = %v; want one naming nope and every known suite", err)
	}
}

// Go's race detector's findings count whatever suites ran: with the race
// suite among them, in its checks; without it, all the same.
func TestEvaluateRaceDetector(t *testing.T) {
	for _, tc := range []struct {
		name   string
		suites []string
		races  []embedded.Race
		status string // of go_race_detector_reports; "" when absent
	}{
		{"a race without the race suite", []string{suite.Integrated}, []embedded.Race{{Signature: "x.go:1 vs y.go:2", Count: 3}}, results.Fail},
		{"no race without the race suite", []string{suite.Integrated}, nil, results.Pass},
		{"a race with the race suite", []string{race.Name}, []embedded.Race{{Signature: "x.go:1 vs y.go:2", Count: 1}}, results.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &results.Results{Options: results.Options{Suites: tc.suites}, Scenarios: []results.Scenario{race.DetectorScenario(tc.races)}}
			if err := catalog.Evaluate(res, suite.DefaultSLA()); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, c := range res.Checks {
				if c.Name != "go_race_detector_reports" {
					continue
				}
				n++
				if c.Suite != race.Name || c.Status != tc.status {
					t.Errorf("go_race_detector_reports = suite %s, %s (%s); want suite race, %s", c.Suite, c.Status, c.Evidence, tc.status)
				}
			}
			if n != 1 {
				t.Errorf("Evaluate(suites %v) gave %d go_race_detector_reports checks; want 1", tc.suites, n)
			}
		})
	}
	res := &results.Results{Options: results.Options{Suites: []string{suite.Integrated}}}
	if err := catalog.Evaluate(res, suite.DefaultSLA()); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(res.Checks, func(c results.Check) bool { return c.Suite == race.Name }) {
		t.Errorf("Evaluate(integrated, no race detector) has race checks %v; want none", res.Checks)
	}
}
