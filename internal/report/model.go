// Package report writes the reports of one goldenpath run from its results
// (package results): results.json (versioned, documented in
// docs/results-schema.md), junit.xml (one testcase per check), report.md,
// report.html and the terminal summary; and it merges the results of
// several segments.
//
// The results model itself lives in package results; the names below are
// kept so that code written against this package goes on compiling.
package report

import (
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// Schema is the version tag of results.json that [WriteJSON] writes
// ([results.Schema]).
const Schema = results.Schema

// Check statuses.
const (
	Pass = results.Pass
	Fail = results.Fail
	Skip = results.Skip
)

// The results model, as package results defines it.
type (
	Results      = results.Results
	Check        = results.Check
	Rule         = results.Rule
	Scenario     = results.Scenario
	Sample       = results.Sample
	User         = results.User
	Capacity     = results.Capacity
	CapacityStep = results.CapacityStep
	MemoryPoint  = results.MemoryPoint
	Options      = results.Options
	Target       = results.Target
	SegmentStart = results.SegmentStart
	Tool         = results.Tool
)

// MergePhases summarises every phase over all scenarios
// ([results.MergePhases]).
func MergePhases(scs []Scenario) map[string]metrics.Summary { return results.MergePhases(scs) }
