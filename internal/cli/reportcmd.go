package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/report"
)

func reportMain(_ context.Context, e *env, args []string) int {
	fs := newFlagSet("report")
	out := fs.String("out", "", "`DIR` for the reports (default: the results file's directory)")
	// The results file may come before or after the flags.
	var files []string
	for {
		if code, done := parseArgs(fs, e, args); done {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	switch {
	case len(files) == 0:
		return usageError(e, "report", "name the results.json to report on (goldenpath report results.json [--out DIR])")
	case len(files) > 1:
		return usageError(e, "report", "one results file at a time (got %d); merge segments first with goldenpath merge", len(files))
	}
	paths, err := report.Rebuild(files[0], *out)
	switch {
	case errors.Is(err, report.ErrInput):
		fmt.Fprintf(e.stderr, "goldenpath report: %s\n", strings.TrimPrefix(err.Error(), report.ErrInput.Error()+": "))
		return ExitUsage
	case err != nil:
		fmt.Fprintf(e.stderr, "goldenpath report: %v\n", err)
		return ExitFailed
	}
	fmt.Fprintln(e.stdout, strings.Join(paths, "\n"))
	return ExitOK
}
