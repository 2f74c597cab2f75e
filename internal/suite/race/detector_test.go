package race

import (
	"errors"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/embedded"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// A race detector whose logs cannot be read has not shown that there is
// no data race: its check fails, saying why.
func TestRaceDetectorUnreadableLog(t *testing.T) {
	for _, tc := range []struct {
		name   string
		races  []embedded.Race
		err    error
		status string
		want   string
	}{
		{"clean", nil, nil, results.Pass, "no data race reported"},
		{"a race", []embedded.Race{{Signature: "Write at a / Previous read at b", Count: 2}}, nil, results.Fail, "reported 1 distinct data races"},
		{"unreadable log", nil, errors.New("open /tmp/r/race.42: permission denied"), results.Fail,
			"the race detector's logs could not be read: open /tmp/r/race.42: permission denied"},
		{"unreadable log after a race", []embedded.Race{{Signature: "Write at a / Previous read at b", Count: 1}},
			errors.New("read /tmp/r/race.43: input/output error"), results.Fail, "input/output error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := DetectorScenarioFrom(tc.races, tc.err)
			cs := detectorChecks([]results.Scenario{sc}, suite.DefaultSLA())
			if len(cs) != 1 {
				t.Fatalf("detectorChecks = %d checks; want 1", len(cs))
			}
			if c := cs[0]; c.Status != tc.status || !strings.Contains(c.Evidence, tc.want) {
				t.Errorf("go_race_detector_reports = %s (%s); want %s, saying %q", c.Status, c.Evidence, tc.status, tc.want)
			}
		})
	}
	// A scenario without the detector's count (not made by
	// DetectorScenarioFrom) is no evidence either.
	c := detectorChecks([]results.Scenario{{Name: scRaceDetector, Suite: Name}}, suite.DefaultSLA())[0]
	if c.Status != results.Fail || !strings.Contains(c.Evidence, "insufficient evidence") {
		t.Errorf("go_race_detector_reports of a scenario without counts = %s (%s); want fail for insufficient evidence", c.Status, c.Evidence)
	}
}
