package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

const mergeSynopsis = `
Merge the results.json of the segments of one distributed test (goldenpath
run --segment i/n on n machines) into one, losslessly: histograms, counters
and time series are merged, then every check is judged again on the whole.

  goldenpath merge --out DIR seg1/results.json seg2/results.json ...`

func mergeMain(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("merge", mergeSynopsis)
	out := fs.String("out", "goldenpath-report", "`DIR` for the merged results.json and junit.xml")
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	files := fs.Args()
	if len(files) < 1 {
		fmt.Fprintln(e.stderr, "goldenpath merge: name at least one results.json (usually one per segment)")
		return ExitUsage
	}
	var parts []*report.Results
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			fmt.Fprintf(e.stderr, "goldenpath merge: %v\n", err)
			return ExitUsage
		}
		r, err := report.ReadJSON(fh)
		fh.Close()
		if err != nil {
			fmt.Fprintf(e.stderr, "goldenpath merge: %s: %v\n", f, err)
			return ExitUsage
		}
		parts = append(parts, r)
	}
	merged, err := report.Merge(parts)
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath merge: %v\n", err)
		return ExitUsage
	}
	sla, err := suite.ParseSLA([]byte(strings.Join(merged.Options.SLA, "\n")))
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath merge: the SLA stored in the results does not parse: %v\n", err)
		return ExitUsage
	}
	for i := range merged.Scenarios {
		suite.Summarise(&merged.Scenarios[i])
	}
	merged.Phases = report.MergePhases(merged.Scenarios)
	if err := suite.Evaluate(merged, sla); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath merge: %v\n", err)
		return ExitUsage
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath merge: --out: %v\n", err)
		return ExitUsage
	}
	if err := report.WriteAll(*out, merged); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath merge: %v\n", err)
		return ExitFailed
	}
	report.WriteSummary(e.stdout, merged)
	fmt.Fprintf(e.stdout, "\nmerged %d results (segments %s) into %s/results.json\n", len(parts), strings.Join(merged.Segments, ", "), *out)
	if slices.ContainsFunc(merged.Checks, func(c report.Check) bool { return c.Status == report.Fail }) {
		return ExitFailed
	}
	return ExitOK
}
