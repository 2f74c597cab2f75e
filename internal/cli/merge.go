package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/goldenpath-dev/goldenpath"
)

func mergeMain(_ context.Context, e *env, args []string) int {
	fs := newFlagSet("merge")
	out := fs.String("out", "goldenpath-report", "`DIR` for the merged results.json, junit.xml, report.md and report.html")
	if code, done := parseArgs(fs, e, args); done {
		return code
	}
	files := fs.Args()
	if len(files) < 1 {
		return usageError(e, "merge", "name at least one results.json (usually one per segment)")
	}
	merged, err := goldenpath.MergeFiles(files...)
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath merge: %v\n", strings.TrimPrefix(err.Error(), "goldenpath: "))
		return ExitUsage
	}
	if err := merged.WriteReports(*out); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath merge: %v\n", err)
		return ExitFailed
	}
	merged.WriteSummary(e.stdout)
	fmt.Fprintf(e.stdout, "\nmerged %d results (segments %s) into %s/results.json\n", len(files), strings.Join(merged.Segments(), ", "), *out)
	if len(merged.Failed()) > 0 {
		return ExitFailed
	}
	return ExitOK
}
