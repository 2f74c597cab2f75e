package report_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/report"
)

func TestWriteMarkdownGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		r      func() *report.Results
	}{
		{"markdown.golden", fixture},
		{"markdown_populated.golden", populated},
		{"markdown_empty.golden", func() *report.Results { return &report.Results{Schema: report.Schema, Status: report.Pass} }},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.WriteMarkdown(&b, tc.r()); err != nil {
				t.Fatalf("WriteMarkdown: %v", err)
			}
			golden(t, tc.golden, b.Bytes())
		})
	}
}

// TestWriteMarkdownSections checks what each section says of the
// populated fixture, so that a golden file rewritten by -update cannot
// quietly lose it.
func TestWriteMarkdownSections(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteMarkdown(&b, populated()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		// SLA compliance: target, measured, margin, verdict.
		"| `login: p95 < 5s` | `integrated/authentication_under_5_seconds` | 58ms | 98.8% | ✅ pass |",
		"| `journey: p95 < 1m0s` | `integrated/complete_golden_path_under_60_seconds` | 61.20s | −2.0% | ❌ fail |",
		// A success rate's margin is the share of its failure budget left.
		"| `success_rate: >= 98%` | `integrated/golden_path_success_rate` | 96.00% | −100.0% | ❌ fail |",
		"Rules in force that no check of this run judged: `error_rate: < 5%`.",
		// Gap analysis: by how much.
		"61.20s | 1.20s over the limit (+2.0%)",
		"2.00 points under; 200% of the failure budget used",
		"Capacity: held 40 users, broke at 80",
		// The race condition catalog.
		"### 1. `user_isolation_state_contamination` (race)",
		"- **Affected users:** named in the samples: user u_3ca4, user u_5bb7, virtual user 3; 8 concurrent users ran in scenario race_mixed_load",
		"- **First seen:** scenario race_mixed_load, first failure at +59s into the run (10:00:59 UTC)",
		"  goldenpath run --suite race --fault slow_factory --users 10 --duration 30s\n",
		"### 2. `memory_leak_detection` (memory)",
		"  goldenpath run --suite memory --fault slow_factory --users 10 --duration 30s\n",
		// The roadmap: correctness findings, then by margin; thin margins too.
		"| 1 | `race/user_isolation_state_contamination` | fail | — |",
		"| 3 | `regression/database_performance_regression` | fail | — | 31.00% |",
		"| 4 | `integrated/golden_path_success_rate` | fail | −100.0% |",
		"| 5 | `integrated/complete_golden_path_under_60_seconds` | fail | −2.0% |",
		"| 6 | `integrated/configuration_access_under_10ms` | thin margin | 13.0% |",
		// The execution summary.
		"| checks | 5 passed, 5 failed, 1 skipped |",
		"| capacity | held 40 users, broke at 80",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("WriteMarkdown(populated) lacks %q\n%s", want, md)
		}
	}
	order := []string{"## SLA compliance", "## Performance gap analysis", "## Race condition catalog", "## Optimisation roadmap", "## Execution summary"}
	last := -1
	for _, h := range order {
		i := strings.Index(md, h)
		if i < last {
			t.Errorf("section %q is at %d, before the one above it in %q", h, i, order)
		}
		last = i
	}
}

// TestWriteMarkdownEscapes puts Markdown, HTML and table syntax into every
// kind of text the results carry; none of it may reach the document
// unescaped.
func TestWriteMarkdownEscapes(t *testing.T) {
	const evil = "a | b <img src=x onerror=alert(1)> **bold** [link](http://x) `code`\n# heading"
	r := populated()
	r.Notes = []string{evil}
	r.Checks[1].Evidence = evil
	r.Checks = append(r.Checks, report.Check{Suite: "race", Name: "x|y", Status: report.Fail, Evidence: evil, Scenario: "race_mixed_load"})
	r.Target = report.Target{URL: "http://h/?q='a b'\n```"}
	var b bytes.Buffer
	if err := report.WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	// Each syntax character of the evil text, not preceded by a backslash.
	for _, bad := range []string{`<img`, `\*\*bold`, `\[link`, "\n# heading", `\| b`, "\n```\n"} {
		if loc := regexp.MustCompile(`(^|[^\\])` + bad).FindStringIndex(md); loc != nil {
			t.Errorf("WriteMarkdown copied %q from the results unescaped, at %q", bad, md[max(0, loc[0]-40):min(len(md), loc[1]+40)])
		}
	}
	for _, want := range []string{
		`a \| b \<img src=x onerror=alert(1)\> \*\*bold\*\* \[link\](http://x) \` + "`code\\`" + ` \# heading`,
		"### 3. `x|y` (race)",
		"| `race/x\\|y` | ❌ fail |",
		"goldenpath run --suite race --target 'http://h/?q='\\''a b'\\''?```' --users 10 --duration 30s\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("WriteMarkdown lacks the escaped %q\n%s", want, md)
		}
	}
	for i, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "|") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != strings.Count(firstTableRow(md, i), "|") {
			t.Errorf("line %d has another number of cells than its table's header: %q", i+1, line)
		}
	}
}

// firstTableRow returns the header row of the table around line i.
func firstTableRow(md string, i int) string {
	lines := strings.Split(md, "\n")
	for i > 0 && strings.HasPrefix(lines[i-1], "|") {
		i--
	}
	return strings.ReplaceAll(lines[i], `\|`, "")
}

func TestWriteMarkdownReproduce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*report.Results)
		want   string
	}{
		{"embedded with faults", func(*report.Results) {}, "goldenpath run --suite race --fault slow_factory --users 10 --duration 30s"},
		{"embedded without faults", func(r *report.Results) { r.Target.Faults = "" }, "goldenpath run --suite race --users 10 --duration 30s"},
		{"another target", func(r *report.Results) { r.Target = report.Target{URL: "http://10.0.0.7:8080"} },
			"goldenpath run --suite race --target http://10.0.0.7:8080 --users 10 --duration 30s"},
		{"the race detector", func(r *report.Results) {
			r.Scenarios = append(r.Scenarios, report.Scenario{Name: "race_detector", Suite: "race", Model: "race-detector"})
			r.Checks = append(r.Checks, report.Check{Suite: "race", Name: "go_race_detector_reports", Status: report.Fail, Scenario: "race_detector",
				Evidence: "Go's race detector reported 1 distinct data races (2 reports)"})
		}, "goldenpath run --suite race --fault slow_factory --race-detector --users 10 --duration 30s"},
		// Every flag that changed the run is repeated; the admin token by
		// name only, and the SLA's rules written to the file --sla reads.
		{"every flag that changed the run", func(r *report.Results) {
			r.Target = report.Target{URL: "http://10.0.0.7:8080"}
			maxUsers := 0
			r.Options.Rate, r.Options.Think, r.Options.RunTimeout, r.Options.MaxUsers = 2.5, "100ms", "5s", &maxUsers
			r.Options.StepDuration, r.Options.UsersFile, r.Options.AdminTokenGiven, r.Options.Segment = "2s", "ci/users.csv", true, "2/3"
			r.Options.SLAOverrides = []string{"first_event: p95 < 1s", "login: p95 < 1s"}
		}, `printf '%s\n' 'first_event: p95 < 1s' 'login: p95 < 1s' > goldenpath-sla.yaml && ` +
			`goldenpath run --suite race --target http://10.0.0.7:8080 --admin-token "$GOLDENPATH_ADMIN_TOKEN" --users-file ci/users.csv ` +
			`--users 10 --duration 30s --rate 2.5 --think 100ms --run-timeout 5s --max-users 0 --step-duration 2s --segment 2/3 --sla goldenpath-sla.yaml`},
		{"the embedded backend's model time", func(r *report.Results) { r.Options.TargetThink = "0s" },
			"goldenpath run --suite race --fault slow_factory --target-think 0s --users 10 --duration 30s"},
		{"a capacity ceiling of its own", func(r *report.Results) { n := 40; r.Options.MaxUsers = &n },
			"goldenpath run --suite race --fault slow_factory --users 10 --duration 30s --max-users 40"},
		{"merged segments run as one", func(r *report.Results) { r.Options.Segment = "1/2+2/2" },
			"goldenpath run --suite race --fault slow_factory --users 10 --duration 30s"},
		{"the race detector, for every finding of its run", func(r *report.Results) {
			r.Scenarios = append(r.Scenarios, report.Scenario{Name: "race_detector", Suite: "race", Model: "race-detector"})
		}, "goldenpath run --suite race --fault slow_factory --race-detector --users 10 --duration 30s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := populated()
			tc.change(r)
			var b bytes.Buffer
			if err := report.WriteMarkdown(&b, r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "  ```sh\n  "+tc.want+"\n  ```\n") {
				t.Errorf("WriteMarkdown's race catalog lacks the command %q:\n%s", tc.want, b.String())
			}
		})
	}
}

// When ws_ready timed fewer handshakes than ws_handshake, the phases say
// how many, in both documents; when it timed all, they say nothing.
func TestReadyNote(t *testing.T) {
	for _, tc := range []struct {
		name         string
		ready, hands int
		want         string
	}{
		{"few timed", 3, 60, "3 of 60 handshakes here (5%)"},
		{"none timed", 0, 60, "0 of 60 handshakes here (0%)"},
		{"all timed", 60, 60, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := metrics.NewSet()
			for i := range tc.hands {
				set.Record("ws_handshake", time.Duration(30+i)*time.Millisecond)
			}
			for i := range tc.ready {
				set.Record("ws_ready", time.Duration(40+i)*time.Microsecond)
			}
			snap := set.Snapshot()
			r := &report.Results{Phases: snap.Summaries()}
			var md, html bytes.Buffer
			if err := report.WriteMarkdown(&md, r); err != nil {
				t.Fatal(err)
			}
			if err := report.WriteHTML(&html, r); err != nil {
				t.Fatal(err)
			}
			for doc, b := range map[string]string{"markdown": md.String(), "html": html.String()} {
				has := strings.Contains(b, "ws_ready is timed only where")
				if tc.want == "" && has {
					t.Errorf("%s: a note though every handshake was timed", doc)
				}
				if tc.want != "" && !strings.Contains(b, tc.want) {
					t.Errorf("%s lacks %q", doc, tc.want)
				}
			}
		})
	}
}
