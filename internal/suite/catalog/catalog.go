// Package catalog lists every suite goldenpath has, in run order:
// integrated, load, race, memory, regression. Package suite cannot hold
// the list (the race, memory and regression suites import it), so its
// [suite.Lookup] and [suite.Evaluate] take the suites to consider; the
// functions here pass them all.
package catalog

import (
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
	"github.com/goldenpath-dev/goldenpath/internal/suite/memory"
	"github.com/goldenpath-dev/goldenpath/internal/suite/race"
	"github.com/goldenpath-dev/goldenpath/internal/suite/regression"
)

// All returns every suite, in run order.
func All() []suite.Suite {
	return []suite.Suite{suite.IntegratedSuite(), suite.LoadSuite(), race.Suite(), memory.Suite(), regression.Suite()}
}

// Names lists the names of every suite, in run order.
func Names() []string {
	all := All()
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name
	}
	return names
}

// Lookup returns the named suites in run order; an unknown name is an
// error that lists the known ones.
func Lookup(names []string) ([]suite.Suite, error) { return suite.Lookup(All(), names) }

// Evaluate recomputes every check (and the capacity result) of res from
// its scenarios and the SLA, as [suite.Evaluate] does over every suite:
// the checks of the suites res.Options.Suites names, and the race
// detector's findings even when the race suite is not among them.
func Evaluate(res *results.Results, sla suite.SLA) error { return suite.Evaluate(res, sla, All()) }
