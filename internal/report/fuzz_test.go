package report_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/report"
)

// injected is a tag no report writes: text from a results file that shows
// up in report.html as this tag was not escaped.
const injected = "<x-fuzz-injected"

// FuzzReports rebuilds the reports of a results file, as `goldenpath
// report results.json` does, from a file someone else may have written:
// a file ReadJSON reads must render (junit.xml, report.md, report.html,
// the terminal summary) without a panic or an error; junit.xml must be
// well-formed XML; and no text of the file may reach report.html
// unescaped.
func FuzzReports(f *testing.F) {
	for _, r := range []*report.Results{fixture(), populated()} {
		var b bytes.Buffer
		if err := report.WriteJSON(&b, r); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	if b, err := os.ReadFile("testdata/results-v1.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"schema":"goldenpath.results/v2","status":"fail","checks":[{"suite":"<x-fuzz-injected>","name":"n\u0000","status":"fail","evidence":"<x-fuzz-injected>\n\u001b","rule":{"metric":"login","stat":"p95","op":"<","limit":-1,"unit":"ms"}}],` +
		`"scenarios":[{"name":"s","phases":{"login":{"count":1,"p95_ms":1e308}},"samples":[{"kind":"violation:x","detail":"<x-fuzz-injected>","users":[{"virtual_user":-1}]}],"metrics":{}}],` +
		`"capacity":{"held_users":-5,"steps":[{"users":0,"journey_p95_ms":-1}]},"target_memory":[{"t_s":-1,"rss_bytes":1e308},{"t_s":-1,"rss_bytes":0}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := report.ReadJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		var junit, md, html, summary bytes.Buffer
		if err := errors.Join(report.WriteJUnit(&junit, r), report.WriteMarkdown(&md, r), report.WriteHTML(&html, r)); err != nil {
			t.Fatalf("rendering ReadJSON(%q): %v", data, err)
		}
		report.WriteSummary(&summary, r)
		dec := xml.NewDecoder(&junit)
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("junit.xml of %q is not well-formed XML: %v\n%s", data, err, junit.Bytes())
			}
		}
		if bytes.Contains(html.Bytes(), []byte(injected)) {
			t.Fatalf("report.html of %q carries text of the file unescaped (%s)", data, injected)
		}
	})
}
