package goldenpath

import (
	"fmt"
	"os"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
	"github.com/goldenpath-dev/goldenpath/internal/suite/catalog"
)

// MergeFiles merges the results.json files of the segments of one
// distributed test (runs with Config.Segment "1/n" ... "n/n") into one,
// losslessly — histograms, counters and time series are merged — and
// judges every check again on the whole.
func MergeFiles(paths ...string) (*Results, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("goldenpath: no results to merge")
	}
	var parts []*results.Results
	for _, p := range paths {
		fh, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("goldenpath: %w", err)
		}
		r, err := report.ReadJSON(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("goldenpath: %s: %w", p, err)
		}
		parts = append(parts, r)
	}
	merged, err := report.Merge(parts)
	if err != nil {
		return nil, fmt.Errorf("goldenpath: %w", err)
	}
	sla, err := suite.ParseSLA([]byte(strings.Join(merged.Options.SLA, "\n")))
	if err != nil {
		return nil, fmt.Errorf("goldenpath: the SLA stored in the results does not parse: %w", err)
	}
	for i := range merged.Scenarios {
		suite.Summarise(&merged.Scenarios[i])
	}
	merged.Phases = results.MergePhases(merged.Scenarios)
	if err := catalog.Evaluate(merged, sla); err != nil {
		return nil, fmt.Errorf("goldenpath: %w", err)
	}
	return fromModel(merged), nil
}

// Segments lists the segments merged into r ("1/1" for one process).
func (r *Results) Segments() []string {
	if r.model == nil {
		return nil
	}
	return r.model.Segments
}
