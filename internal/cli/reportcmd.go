package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goldenpath-dev/goldenpath/internal/report"
)

const reportSynopsis = `
Rebuild every report of a saved run from its results.json: the results
file itself (copied unchanged), junit.xml, report.md (GitHub-flavoured
Markdown, for a CI job summary or a pull-request comment) and report.html
(one self-contained page with charts that opens offline). The results may
be one run's or merged from segments (goldenpath merge); the checks are
reported as the file records them, not judged again.

  goldenpath report results.json [--out DIR]

--out defaults to the results file's directory. Exit codes: 0 the reports
were written, 1 they could not be, 2 bad usage or a file that is not a
results.json of this version.`

func reportMain(_ context.Context, e *env, args []string) int {
	fs := newFlagSet("report", reportSynopsis)
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
	src := files[0]
	data, err := os.ReadFile(src)
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath report: %v\n", err)
		return ExitUsage
	}
	r, err := report.ReadJSON(bytes.NewReader(data))
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath report: %s: %v\n", src, err)
		return ExitUsage
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(src)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath report: --out: %v\n", err)
		return ExitUsage
	}
	dst := filepath.Join(dir, report.ResultsFile)
	if !sameFile(src, dst) {
		if err := writeAtomic(dst, data); err != nil {
			fmt.Fprintf(e.stderr, "goldenpath report: %v\n", err)
			return ExitFailed
		}
	}
	if err := report.WriteReports(dir, r); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath report: %v\n", err)
		return ExitFailed
	}
	for _, name := range []string{report.ResultsFile, report.JUnitFile, report.MarkdownFile, report.HTMLFile} {
		fmt.Fprintln(e.stdout, filepath.Join(dir, name))
	}
	return ExitOK
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// writeAtomic writes data to a temporary file beside path and renames it,
// so that a reader never sees half a file.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
