package report

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// File names written to the output directory.
const (
	ResultsFile = "results.json"
	JUnitFile   = "junit.xml"
)

// WriteAll writes results.json, junit.xml, report.md and report.html into
// dir. Each file is written to a temporary name and renamed, so a reader
// never sees half a file.
func WriteAll(dir string, r *Results) error {
	return errors.Join(
		writeFile(filepath.Join(dir, ResultsFile), func(w io.Writer) error { return WriteJSON(w, r) }),
		WriteReports(dir, r),
	)
}

// WriteReports writes the reports made from r — junit.xml, report.md and
// report.html — into dir, as [WriteAll] does, but not results.json.
func WriteReports(dir string, r *Results) error {
	return errors.Join(
		writeFile(filepath.Join(dir, JUnitFile), func(w io.Writer) error { return WriteJUnit(w, r) }),
		writeFile(filepath.Join(dir, MarkdownFile), func(w io.Writer) error { return WriteMarkdown(w, r) }),
		writeFile(filepath.Join(dir, HTMLFile), func(w io.Writer) error { return WriteHTML(w, r) }),
	)
}

func writeFile(path string, fn func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := fn(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	// Synced before the rename: after a crash of the machine, the report
	// is the old one or the new one, whole, never a truncated one.
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return os.Rename(tmp, path)
}

// WriteJSON writes r as results.json of the current schema
// ([results.WriteJSON]).
func WriteJSON(w io.Writer, r *Results) error { return results.WriteJSON(w, r) }

// ReadJSON reads results.json of the current schema or an earlier one
// ([results.ReadJSON]), refusing another schema.
func ReadJSON(rd io.Reader) (*Results, error) {
	r, err := results.ReadJSON(rd)
	if re, ok := errors.AsType[*results.ReadError](err); ok {
		re.Op = "report"
	}
	return r, err
}

// ---- JUnit ----

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     float64      `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes one testcase per check, grouped by suite.
func WriteJUnit(w io.Writer, r *Results) error {
	out := junitSuites{Name: "goldenpath", Time: r.FinishedAt.Sub(r.StartedAt).Seconds()}
	idx := map[string]int{}
	for _, c := range r.Checks {
		i, ok := idx[c.Suite]
		if !ok {
			i = len(out.Suites)
			idx[c.Suite] = i
			out.Suites = append(out.Suites, junitSuite{Name: c.Suite})
		}
		s := &out.Suites[i]
		tc := junitCase{Name: c.Name, Classname: "goldenpath." + c.Suite, SystemOut: c.Evidence}
		switch c.Status {
		case Fail:
			tc.Failure = &junitMessage{Message: firstLine(c.Evidence), Text: c.Evidence}
			s.Failures++
			out.Failures++
		case Skip:
			tc.Skipped = &junitMessage{Message: firstLine(c.Evidence)}
			s.Skipped++
			out.Skipped++
		}
		s.Tests++
		out.Tests++
		s.Cases = append(s.Cases, tc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, ";\n"); i > 0 {
		s = s[:i]
	}
	return truncate(s, 200)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ---- terminal ----

// WriteSummary writes the human summary: the checks table, the key
// phases, the capacity, and the verdict.
func WriteSummary(w io.Writer, r *Results) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nSUITE\tCHECK\tSTATUS\tEVIDENCE\n")
	for _, c := range r.Checks {
		ev := c.Evidence
		if len(ev) > 140 {
			ev = truncate(ev, 137) + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Suite, c.Name, strings.ToUpper(c.Status), ev)
	}
	tw.Flush()

	names := make([]string, 0, len(r.Phases))
	for n := range r.Phases {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(tw, "\nPHASE\tCOUNT\tP50\tP95\tP99\tMAX\n")
	for _, n := range names {
		s := r.Phases[n]
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", n, s.Count, fmtMS(s.P50), fmtMS(s.P95), fmtMS(s.P99), fmtMS(s.Max))
	}
	tw.Flush()
	if r.Capacity != nil {
		fmt.Fprintf(w, "\ncapacity: held %d users", r.Capacity.Held)
		if r.Capacity.Broke > 0 {
			fmt.Fprintf(w, ", broke at %d", r.Capacity.Broke)
		}
		fmt.Fprintf(w, " (%s)\n", r.Capacity.Reason)
	}
	var pass, fail, skip int
	for _, c := range r.Checks {
		switch c.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			skip++
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	verdict := "PASS"
	if fail > 0 {
		verdict = "FAIL"
	}
	if r.Interrupted {
		verdict += " (interrupted: partial results)"
	}
	fmt.Fprintf(w, "\n%s: %d passed, %d failed, %d skipped\n", verdict, pass, fail, skip)
}

func fmtMS(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.3fms", v)
}
