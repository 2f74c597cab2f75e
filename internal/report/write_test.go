package report_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goldenpath-dev/goldenpath/internal/report"
)

func TestWriteJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteJUnit(&b, fixture()); err != nil {
		t.Fatalf("WriteJUnit: %v", err)
	}
	golden(t, "junit.golden", b.Bytes())
}

func TestWriteSummaryGolden(t *testing.T) {
	var b bytes.Buffer
	report.WriteSummary(&b, fixture())
	golden(t, "summary.golden", b.Bytes())
}

// The JUnit shape a CI server reads, decoded independently of the writer.
type (
	xmlSuites struct {
		XMLName  xml.Name   `xml:"testsuites"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Time     float64    `xml:"time,attr"`
		Suites   []xmlSuite `xml:"testsuite"`
	}
	xmlSuite struct {
		Name     string    `xml:"name,attr"`
		Tests    int       `xml:"tests,attr"`
		Failures int       `xml:"failures,attr"`
		Skipped  int       `xml:"skipped,attr"`
		Cases    []xmlCase `xml:"testcase"`
	}
	xmlCase struct {
		Name      string  `xml:"name,attr"`
		Classname string  `xml:"classname,attr"`
		Failure   *xmlMsg `xml:"failure"`
		Skipped   *xmlMsg `xml:"skipped"`
		SystemOut string  `xml:"system-out"`
	}
	xmlMsg struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
)

func TestWriteJUnitIsValid(t *testing.T) {
	r := fixture()
	var b bytes.Buffer
	if err := report.WriteJUnit(&b, r); err != nil {
		t.Fatalf("WriteJUnit: %v", err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte(xml.Header)) {
		t.Errorf("WriteJUnit output starts %q; want the XML header", b.String()[:min(40, b.Len())])
	}
	var doc xmlSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("WriteJUnit wrote XML that does not parse: %v\n%s", err, b.String())
	}
	var cases, failures, skipped int
	var suites []string
	for _, s := range doc.Suites {
		suites = append(suites, s.Name)
		var sf, ss int
		for _, c := range s.Cases {
			if c.Failure != nil {
				sf++
			}
			if c.Skipped != nil {
				ss++
			}
			if want := "goldenpath." + s.Name; c.Classname != want {
				t.Errorf("testcase %s: classname %q; want %q", c.Name, c.Classname, want)
			}
		}
		if s.Tests != len(s.Cases) || s.Failures != sf || s.Skipped != ss {
			t.Errorf("testsuite %s says tests=%d failures=%d skipped=%d; its testcases are %d, %d failed, %d skipped",
				s.Name, s.Tests, s.Failures, s.Skipped, len(s.Cases), sf, ss)
		}
		cases, failures, skipped = cases+len(s.Cases), failures+sf, skipped+ss
	}
	if cases != 4 || failures != 1 || skipped != 1 {
		t.Errorf("junit.xml of 4 checks (2 pass, 1 fail, 1 skip) has %d testcases, %d failures, %d skipped", cases, failures, skipped)
	}
	if doc.Tests != cases || doc.Failures != failures || doc.Skipped != skipped {
		t.Errorf("testsuites says tests=%d failures=%d skipped=%d; want %d, %d, %d", doc.Tests, doc.Failures, doc.Skipped, cases, failures, skipped)
	}
	if !slices.Equal(suites, []string{"integrated", "load"}) {
		t.Errorf("testsuites = %v; want [integrated load], in the order of the checks", suites)
	}
	if doc.Time != 90.5 {
		t.Errorf("testsuites time = %g; want 90.5 (finished minus started)", doc.Time)
	}
	f := doc.Suites[0].Cases[1]
	if f.Name != "complete_golden_path_under_60_seconds" || f.Failure == nil {
		t.Fatalf("second integrated testcase = %+v; want the failed complete_golden_path_under_60_seconds", f)
	}
	if f.Failure.Text != failEvidence || f.SystemOut != failEvidence {
		t.Errorf("failure text %q, system-out %q; want the evidence unchanged after escaping, %q", f.Failure.Text, f.SystemOut, failEvidence)
	}
	if want := "journey p95 = 61.20s over 40 samples (limit 1m0s, margin -2.0%)"; f.Failure.Message != want {
		t.Errorf("failure message = %q; want the evidence's first clause %q", f.Failure.Message, want)
	}
}

func TestWriteJUnitNoChecks(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteJUnit(&b, &report.Results{}); err != nil {
		t.Fatalf("WriteJUnit(no checks): %v", err)
	}
	var doc xmlSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil || doc.Tests != 0 || len(doc.Suites) != 0 {
		t.Errorf("WriteJUnit(no checks) = %q (%v); want an empty, valid testsuites", b.String(), err)
	}
}

func TestWriteSummaryVerdict(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*report.Results)
		want   []string
	}{
		{"a failed check fails", func(*report.Results) {}, []string{"\nFAIL: 2 passed, 1 failed, 1 skipped\n"}},
		{"skips do not fail", func(r *report.Results) { r.Checks = slices.Delete(r.Checks, 1, 2) }, []string{"\nPASS: 2 passed, 0 failed, 1 skipped\n"}},
		{"an interrupted run says so", func(r *report.Results) { r.Interrupted = true }, []string{"FAIL (interrupted: partial results): 2 passed"}},
		{"capacity that never broke", func(r *report.Results) { r.Capacity.Broke, r.Capacity.Reason = 0, "raise --max-users" },
			[]string{"capacity: held 40 users (raise --max-users)\n"}},
		{"no capacity search", func(r *report.Results) { r.Capacity = nil }, []string{"SUITE"}},
		{"long evidence is cut", func(r *report.Results) { r.Checks[0].Evidence = strings.Repeat("x", 200) },
			[]string{strings.Repeat("x", 137) + "...\n", "FAIL: 2 passed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			tc.change(r)
			var b bytes.Buffer
			report.WriteSummary(&b, r)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("WriteSummary = %q; want it to contain %q", b.String(), w)
				}
			}
			if r.Capacity == nil && strings.Contains(b.String(), "capacity:") {
				t.Errorf("WriteSummary without a capacity result mentions capacity:\n%s", b.String())
			}
		})
	}
}

// TestBugTruncationSplitsRunes shows a bug: WriteSummary cuts long
// evidence at byte 137 (write.go, ev[:137]) and WriteJUnit cuts a failure
// message at byte 200 (firstLine, s[:200]), both in the middle of a rune
// when one straddles the cut. Evidence holds multi-byte runes ("µs" from
// sub-0.1 ms latencies, "—"), so the terminal summary gets invalid UTF-8 and
// the junit message gets a U+FFFD in place of the character.
func TestBugTruncationSplitsRunes(t *testing.T) {
	ev := strings.Repeat("a", 136) + "µs " + strings.Repeat("b", 100) // µ is bytes 136 and 137
	r := fixture()
	r.Checks = []report.Check{{Suite: "load", Name: "x", Status: report.Fail, Evidence: ev}}
	var sum bytes.Buffer
	report.WriteSummary(&sum, r)
	if !utf8.Valid(sum.Bytes()) {
		t.Errorf("WriteSummary of evidence with µ at bytes 136-137 wrote invalid UTF-8: %q", sum.String())
	}

	ev = strings.Repeat("a", 199) + "—" + strings.Repeat("b", 10) // — is bytes 199 to 201
	r.Checks[0].Evidence = ev
	var b bytes.Buffer
	if err := report.WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc xmlSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("WriteJUnit wrote XML that does not parse: %v", err)
	}
	if msg := doc.Suites[0].Cases[0].Failure.Message; !strings.HasPrefix(ev, msg) {
		t.Errorf("junit failure message = %q; want a prefix of the evidence (cut on a rune boundary)", msg)
	}
}

func TestWriteAll(t *testing.T) {
	dir := t.TempDir()
	if err := report.WriteAll(dir, fixture()); err != nil {
		t.Fatalf("WriteAll(%s): %v", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{report.JUnitFile, report.HTMLFile, report.MarkdownFile, report.ResultsFile}; !slices.Equal(names, want) {
		t.Errorf("WriteAll left %v in its directory; want exactly %v (no temporary files)", names, want)
	}
	f, err := os.Open(filepath.Join(dir, report.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if r, err := report.ReadJSON(f); err != nil || len(r.Checks) != 4 {
		t.Errorf("ReadJSON(results.json written by WriteAll) = %v; want the fixture's 4 checks back", err)
	}
	x, err := os.ReadFile(filepath.Join(dir, report.JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc xmlSuites
	if err := xml.Unmarshal(x, &doc); err != nil || doc.Tests != 4 {
		t.Errorf("junit.xml written by WriteAll: %d tests, %v; want 4 tests", doc.Tests, err)
	}

	// Writing again replaces both files whole.
	r := fixture()
	r.Checks = r.Checks[:1]
	if err := report.WriteAll(dir, r); err != nil {
		t.Fatalf("WriteAll again: %v", err)
	}
	if x, _ = os.ReadFile(filepath.Join(dir, report.JUnitFile)); bytes.Count(x, []byte("<testcase ")) != 1 {
		t.Errorf("junit.xml after writing 1 check over 4 = %s; want 1 testcase", x)
	}
}

func TestWriteAllMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := report.WriteAll(dir, fixture())
	if err == nil || !strings.Contains(err.Error(), "report: ") {
		t.Errorf("WriteAll(%s) = %v; want an error starting report:", dir, err)
	}
	if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
		t.Errorf("WriteAll(%s) created the directory or a file in it: %v", dir, statErr)
	}
}
