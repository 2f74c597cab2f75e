package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// HTMLFile is the name of the HTML report in the output directory.
const HTMLFile = "report.html"

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"px":  px,
	"add": func(a, b float64) float64 { return a + b },
}).Parse(htmlSource))

// WriteHTML writes the run's report as one self-contained HTML page that
// opens offline: the sections of [WriteMarkdown], and charts drawn as
// inline SVG — latency percentiles per phase against their SLA; over the
// run's time, with every suite's stretch shaded and named, the active
// users, the throughput, and the p50, p95 and p99 of the journey, the
// first event and the login; the latency distribution of those three
// phases; the HTTP replies by status and the WebSocket messages by type;
// errors by kind; users against latency from the capacity search; the
// target's memory with a Theil-Sen trend; and the regression comparison
// when the results carry one. It loads nothing: no script, style sheet,
// font or image from elsewhere. Every piece of text from the results is
// escaped by html/template.
//
// A small inline script records script errors on the body
// (data-errors) and counts the charts that drew something
// (data-charts-rendered, to compare with data-charts), for a headless
// browser to check.
func WriteHTML(w io.Writer, r *Results) error {
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, newHTMLPage(analyse(r))); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// htmlPage is the view of an analysis the template reads.
type htmlPage struct {
	Verdict, VerdictClass       string
	Counts, TargetURL, Duration string
	Tool                        string
	SLA                         []htmlRow
	Unjudged                    []string
	Gaps                        []htmlRow
	OtherFails                  []htmlRow
	Capacity                    string
	Findings                    []htmlFinding
	RaceNote                    string
	Roadmap                     []htmlRow
	Thin                        string
	Summary                     []kv
	Scenarios                   []Scenario
	Phases                      []htmlPhase
	PhaseSource                 string
	ReadyNote                   string // how few handshakes ws_ready timed (analysis.readyNote)
	Notes                       []string
	Checks                      []Check
	HasOperations               bool // a scenario drove operations that are not journeys
	PhaseFigure                 figure
	Groups                      []figureGroup
	ChartCount                  int
}

// figureGroup is one section of charts.
type figureGroup struct {
	ID, Title string
	Figures   []figure
}

type htmlRow struct {
	N                                    int
	Check, Rule, Measured, Gap, Scenario string
	Evidence, Margin, MarginClass        string
	Status, StatusWord, Kind, KindClass  string
	Target, Where                        string
}

type htmlFinding struct {
	N                                                  int
	Check, Suite, Evidence, Affected, FirstSeen, Repro string
	Samples                                            []Sample
}

type htmlPhase struct {
	Name, P50, P95, P99, Max, Rule string
	Count                          int64
}

func rowView(s slaRow) htmlRow {
	v := htmlRow{Check: s.check.Suite + "/" + s.check.Name, Rule: s.rule.String(), Measured: s.measured, Gap: s.gap,
		Scenario: orDash(s.check.Scenario), Evidence: clip(s.check.Evidence, 4*maxCell), Margin: fmtMargin(s),
		Status: s.check.Status, StatusWord: s.check.Status, Target: orDash(s.target)}
	if s.check.Status == Skip {
		v.Measured = "— " + clip(s.check.Evidence, 120)
	}
	switch {
	case s.hasMargin && s.margin < 0:
		v.MarginClass = "neg"
	case s.hasMargin && s.margin < ThinMargin:
		v.MarginClass = "thin"
	}
	return v
}

func newHTMLPage(a *analysis) *htmlPage {
	r := a.r
	p := &htmlPage{Verdict: a.verdict(), VerdictClass: "pass", Counts: a.counts.String(), TargetURL: orDash(r.Target.URL),
		Duration: orDash(runDuration(r)), Tool: r.Tool.Name + " " + r.Tool.Version, Unjudged: a.unjudged,
		Thin: fmt.Sprintf("%.0f%%", ThinMargin*100), Scenarios: r.Scenarios, Notes: r.Notes, Checks: r.Checks}
	if strings.HasPrefix(p.Verdict, "FAIL") {
		p.VerdictClass = "fail"
	}
	for _, s := range a.sla {
		p.SLA = append(p.SLA, rowView(s))
	}
	for _, g := range a.gaps {
		if g.hasMargin {
			p.Gaps = append(p.Gaps, rowView(g))
		} else {
			p.OtherFails = append(p.OtherFails, rowView(g))
		}
	}
	if c := r.Capacity; c != nil && c.Broke > 0 {
		p.Capacity = fmt.Sprintf("held %d users, broke at %d — %s.", c.Held, c.Broke, c.Reason)
	}
	for i, f := range a.findings {
		p.Findings = append(p.Findings, htmlFinding{N: i + 1, Check: f.check.Name, Suite: f.check.Suite, Evidence: clip(f.check.Evidence, 2000),
			Affected: f.affected, FirstSeen: f.firstSeen, Repro: f.repro, Samples: clipSamples(f.samples)})
	}
	p.RaceNote = raceNote(r)
	for i, it := range a.roadmap {
		v := rowView(it.row)
		v.N, v.Kind, v.Where = i+1, it.kind, it.where
		v.KindClass = "neg"
		if it.kind != "fail" {
			v.KindClass = "thin"
		}
		p.Roadmap = append(p.Roadmap, v)
	}
	p.Summary = summaryRows(a)
	p.PhaseSource = "all scenarios together"
	if a.phaseSource != "" {
		p.PhaseSource = "scenario " + a.phaseSource + ", the one the SLA checks judge"
	}
	p.ReadyNote = a.readyNote
	for _, ph := range a.phases {
		p.Phases = append(p.Phases, htmlPhase{Name: ph.name, Count: ph.sum.count, P50: fmtLatency(ph.sum.p50), P95: fmtLatency(ph.sum.p95),
			P99: fmtLatency(ph.sum.p99), Max: fmtLatency(ph.sum.max), Rule: ph.rule})
	}
	for _, sc := range r.Scenarios {
		p.HasOperations = p.HasOperations || sc.Operations > 0
	}
	figs := figures(a)
	for _, g := range figureGroups {
		p.Groups = append(p.Groups, figureGroup{ID: g[0], Title: g[1]})
	}
	for _, f := range figs {
		if f.Chart != nil {
			p.ChartCount++
		}
		if f.Group == "" {
			p.PhaseFigure = f
			continue
		}
		for i := range p.Groups {
			if p.Groups[i].ID == f.Group {
				p.Groups[i].Figures = append(p.Groups[i].Figures, f)
			}
		}
	}
	return p
}

func clipSamples(ss []Sample) []Sample {
	out := make([]Sample, len(ss))
	for i, s := range ss {
		out[i] = Sample{Kind: s.Kind, Phase: s.Phase, Detail: clip(s.Detail, maxCell), Frame: clip(s.Frame, maxCell)}
	}
	return out
}
