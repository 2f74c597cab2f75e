package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MarkdownFile is the name of the Markdown report in the output directory.
const MarkdownFile = "report.md"

// maxCell bounds the text of one table cell of the Markdown report; the
// whole text is in results.json, and in the catalog for race findings.
const maxCell = 300

// WriteMarkdown writes the run's report as GitHub-flavoured Markdown, fit
// for a CI job summary or a pull-request comment: the SLA compliance
// status, the performance gap analysis, the race condition catalog, the
// optimisation roadmap and the execution summary. Every piece of text
// from the results is escaped, so a frame or an error message cannot
// change the document's structure.
func WriteMarkdown(w io.Writer, r *Results) error {
	a := analyse(r)
	m := &mdWriter{}
	m.printf("# goldenpath report: %s\n\n", a.verdict())
	m.printf("**%s** · target %s · %s · %s\n", a.counts, mdCode(r.Target.URL), orDash(runDuration(r)), mdCell(strings.TrimSpace(r.Tool.Name+" "+r.Tool.Version)))
	m.slaSection(a)
	m.gapSection(a)
	m.catalogSection(a)
	m.roadmapSection(a)
	m.summarySection(a)
	_, err := w.Write(m.b.Bytes())
	return err
}

// mdWriter builds the document in memory, so that w sees it whole.
type mdWriter struct{ b bytes.Buffer }

func (m *mdWriter) printf(format string, args ...any) { fmt.Fprintf(&m.b, format, args...) }

// row writes one table row of already escaped cells.
func (m *mdWriter) row(cells ...string) {
	m.printf("| %s |\n", strings.Join(cells, " | "))
}

func (m *mdWriter) header(cells ...string) {
	m.row(cells...)
	m.printf("|%s\n", strings.Repeat("---|", len(cells)))
}

func (m *mdWriter) slaSection(a *analysis) {
	m.printf("\n## SLA compliance\n\n")
	if len(a.sla) == 0 {
		m.printf("No check of this run judged an SLA rule.\n")
	} else {
		m.header("SLA", "check", "measured", "margin", "verdict")
		for _, s := range a.sla {
			measured := mdCell(s.measured)
			if s.check.Status == Skip {
				measured = "— " + mdCell(clip(s.check.Evidence, 120))
			}
			m.row(mdCellCode(s.rule.String()), mdCellCode(s.check.Suite+"/"+s.check.Name), measured, fmtMargin(s), statusWord(s.check.Status))
		}
		m.printf("\nMargin: the share of the limit left (for a success rate, of its failure budget); negative when the rule is broken.\n")
	}
	if len(a.unjudged) > 0 {
		var rs []string
		for _, u := range a.unjudged {
			rs = append(rs, mdCode(u))
		}
		m.printf("\nRules in force that no check of this run judged: %s.\n", strings.Join(rs, ", "))
	}
}

func (m *mdWriter) gapSection(a *analysis) {
	m.printf("\n## Performance gap analysis\n\n")
	if len(a.gaps) == 0 {
		m.printf("Nothing fails: every check passed or was skipped.\n")
	}
	var measured, other []slaRow
	for _, g := range a.gaps {
		if g.hasMargin {
			measured = append(measured, g)
		} else {
			other = append(other, g)
		}
	}
	if len(measured) > 0 {
		m.printf("Broken rules, furthest from their limit first:\n\n")
		m.header("check", "rule", "measured", "gap", "scenario")
		for _, g := range measured {
			m.row(mdCellCode(g.check.Suite+"/"+g.check.Name), mdCellCode(g.rule.String()), mdCell(g.measured), mdCell(g.gap), mdCell(orDash(g.check.Scenario)))
		}
		m.printf("\n")
	}
	if len(other) > 0 {
		m.printf("Failed checks without one measure to rank by:\n\n")
		for _, g := range other {
			m.printf("- %s: %s\n", mdCode(g.check.Suite+"/"+g.check.Name), mdText(clip(g.check.Evidence, 4*maxCell)))
		}
		m.printf("\n")
	}
	if c := a.r.Capacity; c != nil && c.Broke > 0 {
		m.printf("Capacity: held %d users, broke at %d — %s.\n", c.Held, c.Broke, mdText(c.Reason))
	}
}

func (m *mdWriter) catalogSection(a *analysis) {
	m.printf("\n## Race condition catalog\n\n")
	if len(a.findings) == 0 {
		m.printf("%s\n", mdText(raceNote(a.r)))
		return
	}
	for i, f := range a.findings {
		m.printf("### %d. %s (%s)\n\n", i+1, mdCode(f.check.Name), mdText(f.check.Suite))
		m.printf("- **Evidence:** %s\n", mdText(clip(f.check.Evidence, 2000)))
		m.printf("- **Affected users:** %s\n", mdText(f.affected))
		m.printf("- **First seen:** %s\n", mdText(f.firstSeen))
		for _, s := range f.samples {
			m.printf("- **Sample** %s", mdCode(s.Kind))
			if s.Phase != "" {
				m.printf(" in %s", mdCode(s.Phase))
			}
			m.printf(": %s", mdText(clip(s.Detail, maxCell)))
			if s.Frame != "" {
				m.printf(" — frame %s", mdCode(clip(s.Frame, maxCell)))
			}
			m.printf("\n")
		}
		m.printf("- **Reproduce:**\n\n  ```sh\n  %s\n  ```\n\n", f.repro)
	}
}

func (m *mdWriter) roadmapSection(a *analysis) {
	m.printf("\n## Optimisation roadmap\n\n")
	if len(a.roadmap) == 0 {
		m.printf("Nothing to do: no check failed and every rule has at least %.0f%% of its limit to spare.\n", ThinMargin*100)
		return
	}
	m.printf("Failures first (those without a margin are correctness findings: any occurrence breaks them), then rules by the margin left; a rule with less than %.0f%% to spare is a thin margin.\n\n", ThinMargin*100)
	m.header("#", "check", "status", "margin", "measured", "target", "where to look")
	for i, it := range a.roadmap {
		m.row(fmt.Sprint(i+1), mdCellCode(it.row.check.Suite+"/"+it.row.check.Name), it.kind, fmtMargin(it.row),
			mdCell(it.row.measured), mdCell(orDash(it.row.target)), mdCell(it.where))
	}
}

func (m *mdWriter) summarySection(a *analysis) {
	r := a.r
	m.printf("\n## Execution summary\n\n")
	m.header("", "")
	for _, row := range summaryRows(a) {
		m.row(row.K, mdCell(row.V))
	}

	if len(r.Scenarios) > 0 {
		m.printf("\n### Scenarios\n\n")
		ops := false
		for _, sc := range r.Scenarios {
			ops = ops || sc.Operations > 0
		}
		cols := []string{"scenario", "suite", "model", "users", "journeys", "succeeded", "failed", "journeys/s"}
		if ops {
			cols = append(cols, "operations")
		}
		m.header(cols...)
		for _, sc := range r.Scenarios {
			cells := []string{mdCellCode(sc.Name), mdCell(sc.Suite), mdCell(sc.Model), fmt.Sprint(sc.Users), fmt.Sprint(sc.Journeys),
				fmt.Sprint(sc.Succeeded), fmt.Sprint(sc.Failed), fmt.Sprintf("%.2f", sc.Throughput)}
			if ops {
				cells = append(cells, "—")
				if sc.Operations > 0 {
					cells[len(cells)-1] = fmt.Sprint(sc.Operations)
				}
			}
			m.row(cells...)
		}
		if ops {
			m.printf("\nOperations: the requests of a race or memory workload that are not journeys (config reads and writes, connections opened, database calls).\n")
		}
	}
	if len(a.phases) > 0 {
		src := "all scenarios together"
		if a.phaseSource != "" {
			src = "scenario " + mdCode(a.phaseSource) + ", the one the SLA checks judge"
		}
		m.printf("\n### Phases (%s)\n\n", src)
		m.header("phase", "count", "p50", "p95", "p99", "max", "SLA")
		for _, p := range a.phases {
			rule := "—"
			if p.rule != "" {
				rule = mdCellCode(p.rule)
			}
			m.row(mdCellCode(p.name), fmt.Sprint(p.sum.count), fmtLatency(p.sum.p50), fmtLatency(p.sum.p95), fmtLatency(p.sum.p99), fmtLatency(p.sum.max), rule)
		}
		if a.readyNote != "" {
			m.printf("\n%s\n", mdText(a.readyNote))
		}
	}
	if len(r.Notes) > 0 {
		m.printf("\n### Notes\n\n")
		for _, n := range r.Notes {
			m.printf("- %s\n", mdText(n))
		}
	}
	if len(r.Checks) > 0 {
		m.printf("\n<details><summary>All %d checks</summary>\n\n", len(r.Checks))
		m.header("check", "status", "evidence")
		for _, c := range r.Checks {
			m.row(mdCellCode(c.Suite+"/"+c.Name), statusWord(c.Status), mdCell(clip(c.Evidence, maxCell)))
		}
		m.printf("\n</details>\n")
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// mdText escapes s for Markdown text: every character that could start
// emphasis, a link, HTML, code or a table cell is backslash-escaped, and
// line breaks become spaces. An underscore inside a word is left alone,
// as GitHub does not read it as emphasis (so check names stay readable).
func mdText(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '\\', '`', '*', '[', ']', '<', '>', '&', '|', '~', '!', '#':
			b.WriteByte('\\')
		case '_':
			prev, _ := utf8.DecodeLastRuneInString(s[:i])
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if !isWord(prev) || !isWord(next) {
				b.WriteByte('\\')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// mdCell is mdText, "—" for an empty cell.
func mdCell(s string) string {
	if s == "" {
		return "—"
	}
	return mdText(s)
}

// mdCode renders s as an inline code span, fenced by more backticks than
// it holds.
func mdCode(s string) string {
	s = oneLine(s)
	if s == "" {
		return "—"
	}
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdCellCode is mdCode for a table cell, where GitHub needs a pipe escaped
// even inside code.
func mdCellCode(s string) string { return strings.ReplaceAll(mdCode(s), "|", `\|`) }

// oneLine replaces line breaks and other control characters by spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
