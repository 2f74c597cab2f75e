package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath"
)

// mergePoll is how often merge --wait looks for the parts again.
const mergePoll = 2 * time.Second

func mergeMain(ctx context.Context, e *env, args []string) int {
	flags := newFlagSet("merge")
	out := flags.String("out", "goldenpath-report", "`DIR` for the merged results.json, junit.xml, report.md and report.html")
	from := flags.String("from", "", "merge every `DIR`/*/results.json (one folder a segment, as the Kubernetes Job writes them) instead of naming the files")
	wait := flags.Int("wait", 0, "with --from: wait until `N` parts are there (the test's segment count), then merge")
	waitTimeout := flags.Duration("wait-timeout", time.Hour, "with --wait: how long to wait for the parts before giving up (exit 2, naming the folders found; `duration`)")
	if code, done := parseArgs(flags, e, args); done {
		return code
	}
	files := flags.Args()
	switch {
	case *from != "" && len(files) > 0:
		return usageError(e, "merge", "give --from DIR or the results.json files, not both")
	case *wait < 0:
		return usageError(e, "merge", "--wait must be a number of parts, 1 or more (got %d)", *wait)
	case *wait > 0 && *from == "":
		return usageError(e, "merge", "--wait needs --from DIR: the folder the parts arrive in")
	case *waitTimeout <= 0:
		return usageError(e, "merge", "--wait-timeout must be positive (got %s)", *waitTimeout)
	case *from != "":
		var err error
		files, err = awaitParts(ctx, e, *from, *out, *wait, *waitTimeout)
		if err != nil {
			fmt.Fprintf(e.stderr, "goldenpath merge: %v\n", err)
			if ctx.Err() != nil {
				return ExitInterrupted
			}
			return ExitUsage
		}
	case len(files) < 1:
		return usageError(e, "merge", "name at least one results.json (usually one per segment), or --from DIR")
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

// partsIn lists dir/*/results.json, leaving out the merge's own output
// folder out when it is inside dir.
func partsIn(dir, out string) ([]string, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("--from %s is not a folder: give the folder holding one folder a segment", dir)
	}
	found, err := filepath.Glob(filepath.Join(dir, "*", "results.json"))
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	own, _ := filepath.Abs(filepath.Join(out, "results.json"))
	found = slices.DeleteFunc(found, func(p string) bool {
		abs, _ := filepath.Abs(p)
		return abs == own
	})
	slices.Sort(found)
	return found, nil
}

// awaitParts returns the parts in dir; with want > 0 it first waits,
// at most timeout, until there are want of them. Reports are written
// atomically (a temporary file, then a rename), so a part that is there is
// whole.
func awaitParts(ctx context.Context, e *env, dir, out string, want int, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	said := -1
	for {
		found, err := partsIn(dir, out)
		if err != nil && !(want > 0 && errors.Is(err, fs.ErrNotExist)) {
			return nil, err // a folder not there yet is none of the parts waited for
		}
		if want == 0 {
			if len(found) == 0 {
				return nil, fmt.Errorf("--from %s: no */results.json in it: each segment writes DIR/FOLDER/results.json", dir)
			}
			return found, nil
		}
		if len(found) >= want {
			return found, nil
		}
		if len(found) != said {
			fmt.Fprintf(e.stderr, "goldenpath merge: %d of %d parts in %s%s; waiting (until %s)\n",
				len(found), want, dir, folders(found), deadline.UTC().Format(time.RFC3339))
			said = len(found)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("--wait %d: only %d parts arrived in %s within %s%s: a segment failed or is still running; merge what is there with --wait %d, or wait longer with --wait-timeout",
				want, len(found), dir, timeout, folders(found), len(found))
		}
		t := time.NewTimer(min(mergePoll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("interrupted while waiting for %d parts in %s (%d there)", want, dir, len(found))
		case <-t.C:
		}
	}
}

// folders names the segment folders of parts, for messages.
func folders(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = filepath.Base(filepath.Dir(p))
	}
	return " (" + strings.Join(names, ", ") + ")"
}
