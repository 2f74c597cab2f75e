package report_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/report"
)

// chromium returns Debian's chromium, or skips the test without it.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (neither /usr/bin/chromium nor chromium on PATH); .ci/run installs it with apt-get")
	}
	return p
}

// dumpDOM loads page in headless chromium and returns the DOM after its
// scripts ran, and chromium's log (console messages included).
func dumpDOM(t *testing.T, bin, page string) (dom, log string) {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(home, "profile"), "--enable-logging=stderr", "--v=0",
		"--dump-dom", "file://"+page)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", page, err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// consoleLine finds a console message (an error, a warning or a log) in
// chromium's log, as "INFO:CONSOLE(12)] ..." or "INFO:CONSOLE:12] ...".
var consoleLine = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

var chartsRendered = regexp.MustCompile(`data-charts-rendered="(\d+)"`)

// TestHTMLInChromium loads the HTML report of a fully populated run in a
// real browser: the page must run without a console message, and every
// chart must be drawn with a non-empty bounding box (the page's own
// script measures each with getBBox and marks the body).
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, report.HTMLFile)
	if err := os.WriteFile(page, writeHTML(t, populated()), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, log := dumpDOM(t, bin, page)
	if m := consoleLine.FindAllString(log, -1); len(m) > 0 {
		t.Errorf("chromium logged console messages loading the report:\n%s", strings.Join(m, "\n"))
	}
	if strings.Contains(dom, "data-errors=") {
		t.Errorf("the page recorded script errors: %s", regexp.MustCompile(`data-errors="[^"]*"`).FindString(dom))
	}
	for _, id := range chartIDs {
		if !regexp.MustCompile(`<svg [^>]*id="` + id + `"`).MatchString(dom) {
			t.Errorf("the DOM has no <svg id=%q>", id)
		}
	}
	m := chartsRendered.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page's script did not mark data-charts-rendered; did it run?\n%.2000s", dom)
	}
	if n, _ := strconv.Atoi(m[1]); n != len(chartIDs) {
		t.Errorf("data-charts-rendered = %d; want all %d charts drawn with a non-empty bounding box", n, len(chartIDs))
	}
	checkDrawn(t, dom)
	checkAxisUnits(t, dom)
	for _, id := range []string{"over-time", "distribution", "traffic", "capacity"} {
		if !strings.Contains(dom, `<h2 id="`+id+`">`) || !strings.Contains(dom, `<a href="#`+id+`">`) {
			t.Errorf("the page has no section %s, or no link to it", id)
		}
	}
	for _, suite := range []string{"integrated", "load", "race", "memory"} {
		if !strings.Contains(dom, ">"+suite+" suite</text>") {
			t.Errorf("no time chart's legend names the %s suite's band", suite)
		}
	}

	// The same checks catch a broken page: a chart that draws nothing is
	// not counted and is reported, and a script error is logged and
	// recorded on the body.
	t.Run("a broken page is caught", func(t *testing.T) {
		broken := filepath.Join(dir, "broken.html")
		b, _ := os.ReadFile(page)
		b = bytes.Replace(b, []byte("<h2 id=\"sla\">"), []byte(`<svg class="chart" id="chart-empty" viewBox="0 0 10 10"></svg><h2 id="sla">`), 1)
		b = bytes.Replace(b, []byte("</body>"), []byte(`<script>undefinedFunction();</script></body>`), 1)
		if err := os.WriteFile(broken, b, 0o644); err != nil {
			t.Fatal(err)
		}
		dom, log := dumpDOM(t, bin, broken)
		if m := chartsRendered.FindStringSubmatch(dom); m == nil || m[1] != strconv.Itoa(len(chartIDs)) {
			t.Errorf("with an empty chart added, data-charts-rendered = %v; want %d, the charts that draw", m, len(chartIDs))
		}
		errs := regexp.MustCompile(`data-errors="[^"]*"`).FindString(dom)
		if !strings.Contains(errs, "chart-empty has an empty bounding box") || !strings.Contains(errs, "undefinedFunction") {
			t.Errorf("the broken page recorded %q; want the empty chart and the undefined function", errs)
		}
		if !consoleLine.MatchString(log) {
			t.Errorf("chromium's log of the broken page has no console line; the test would not see a real error:\n%s", log)
		}
	})
}

// svgOf returns the <svg> element of id in a dumped DOM, "" without one.
func svgOf(dom, id string) string {
	m := regexp.MustCompile(`(?s)<svg [^>]*id="` + id + `"[^>]*>.*?</svg>`).FindString(dom)
	return m
}

// lineCharts are the charts drawn with lines: each must draw one of
// non-zero length.
var lineCharts = []string{"chart-active-users", "chart-throughput-time", "chart-latency-time", "chart-first-event-time",
	"chart-login-time", "chart-latency-distribution", "chart-capacity", "chart-memory"}

// checkDrawn checks what the page's script found drawn in each chart:
// lines of non-zero length in the line charts, marks (lines, bars, dots)
// of non-zero size in every chart.
func checkDrawn(t *testing.T, dom string) {
	t.Helper()
	attr := func(svg, name string) int {
		m := regexp.MustCompile(name + `="(\d+)"`).FindStringSubmatch(svg)
		if m == nil {
			return -1
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	for _, id := range chartIDs {
		svg := svgOf(dom, id)
		if n := attr(svg, "data-marks"); n < 1 {
			t.Errorf("%s: data-marks = %d; want lines, bars or dots of non-zero size", id, n)
		}
	}
	for _, id := range lineCharts {
		if n := attr(svgOf(dom, id), "data-paths"); n < 1 {
			t.Errorf("%s: data-paths = %d; want a line of non-zero length", id, n)
		}
	}
}

// timeCharts are the charts over the run's time.
var timeCharts = []string{"chart-active-users", "chart-throughput-time", "chart-latency-time", "chart-first-event-time", "chart-login-time", "chart-memory"}

var (
	textRE   = regexp.MustCompile(`<text class="(tick|axis)"[^>]*text-anchor="(middle|end)"[^>]*>([^<]*)</text>`)
	plainNum = regexp.MustCompile(`^-?[0-9][0-9,]*(\.[0-9]+)?$`)
	unitRE   = regexp.MustCompile(`\((s|min|h|ms|µs|MiB)\)$`)
)

// checkAxisUnits checks that every linear axis of a time chart writes its
// ticks as plain numbers of one unit, which its title names: "time since
// the start of the run (s)" with 0, 10, 20, not 100s then 2.08m.
func checkAxisUnits(t *testing.T, dom string) {
	t.Helper()
	for _, id := range timeCharts {
		svg := svgOf(dom, id)
		var xTitle string
		var ticks []string
		for _, m := range textRE.FindAllStringSubmatch(svg, -1) {
			switch {
			case m[1] == "axis" && strings.HasPrefix(m[3], "time since the start of the run"):
				xTitle = m[3]
			case m[1] == "axis":
				if !unitRE.MatchString(m[3]) && id != "chart-active-users" && id != "chart-throughput-time" {
					t.Errorf("%s: y axis title %q names no unit", id, m[3])
				}
			case m[1] == "tick":
				ticks = append(ticks, m[3])
			}
		}
		if !unitRE.MatchString(xTitle) {
			t.Errorf("%s: time axis title %q; want it to name its one unit, e.g. (s)", id, xTitle)
		}
		if len(ticks) < 4 {
			t.Errorf("%s: %d tick labels; want both axes labelled", id, len(ticks))
		}
		for _, tk := range ticks {
			if !plainNum.MatchString(tk) {
				t.Errorf("%s: tick label %q; want a plain number of the axis's unit", id, tk)
			}
		}
	}
}
