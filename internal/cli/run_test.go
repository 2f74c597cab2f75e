package cli

import (
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/report"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// readResults reads dir/results.json with report.ReadJSON.
func readResults(t *testing.T, dir string) *results.Results {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, report.ResultsFile))
	if err != nil {
		t.Fatalf("reading the results: %v", err)
	}
	defer f.Close()
	r, err := report.ReadJSON(f)
	if err != nil {
		t.Fatalf("report.ReadJSON(%s) = %v; want the results of the run", f.Name(), err)
	}
	return r
}

// junitCases reads junit.xml and returns its testcases as "suite/name".
func junitCases(t *testing.T, dir string) (cases []string, failures int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.JUnitFile))
	if err != nil {
		t.Fatalf("reading the JUnit report: %v", err)
	}
	var ju struct {
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &ju); err != nil {
		t.Fatalf("junit.xml does not parse as XML: %v\n%s", err, b)
	}
	for _, s := range ju.Suites {
		for _, c := range s.Cases {
			cases = append(cases, s.Name+"/"+c.Name)
		}
	}
	return cases, ju.Failures
}

func checkNames(r *results.Results) []string {
	var n []string
	for _, c := range r.Checks {
		n = append(n, c.Suite+"/"+c.Name)
	}
	return n
}

func findCheck(r *results.Results, suiteName, name string) *results.Check {
	i := slices.IndexFunc(r.Checks, func(c results.Check) bool { return c.Suite == suiteName && c.Name == name })
	if i < 0 {
		return nil
	}
	return &r.Checks[i]
}

func findScenario(r *results.Results, name string) *results.Scenario {
	i := slices.IndexFunc(r.Scenarios, func(s results.Scenario) bool { return s.Name == name })
	if i < 0 {
		return nil
	}
	return &r.Scenarios[i]
}

// The seed's checks of the integrated and load suites.
var seedChecks = []string{
	"integrated/complete_golden_path_under_60_seconds", "integrated/authentication_under_5_seconds",
	"integrated/websocket_connection_under_3_seconds", "integrated/agent_execution_under_45_seconds",
	"integrated/response_delivery_under_2_seconds", "integrated/configuration_access_under_10ms",
	"integrated/agent_factory_under_500ms", "integrated/database_operations_under_1_second",
	"integrated/golden_path_success_rate",
	"load/5_concurrent_users_golden_path", "load/10_concurrent_users_sustained_load",
	"load/15_concurrent_users_peak_load", "load/concurrent_websocket_connections",
	"load/concurrent_agent_executions", "load/concurrent_database_operations",
	"load/error_rate_under_load", "load/memory_usage_under_load", "load/capacity_search",
}

var verdictLine = regexp.MustCompile(`(?m)^(PASS|FAIL)(?: \(interrupted: partial results\))?: (\d+) passed, (\d+) failed, (\d+) skipped$`)

func TestRunPassesAgainstTheEmbeddedBackend(t *testing.T) {
	t.Parallel() // with TestRunUnreachableTarget, which only waits
	noChildrenLeft(t)
	out := t.TempDir()
	// The embedded backend is this test binary, built with -race in CI on
	// a shared 2-core machine: its config reads' p95 came out at 10 ms
	// once, the default limit. This test proves the pipeline, not speed.
	sla := filepath.Join(t.TempDir(), "sla.yaml")
	if err := os.WriteFile(sla, []byte("config_access: p95 < 250ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := gp(boundedContext(t, runBound), "run", "--suite", "integrated,load", "--duration", "1s", "--users", "3",
		"--max-users", "0", "--target-think", "20ms", "--sla", sla, "--out", out, "--quiet")
	if o.code != ExitOK {
		t.Fatalf("%s\nwant %d: every check passes against the reference backend", o, ExitOK)
	}
	r := readResults(t, out)

	m := verdictLine.FindStringSubmatch(o.stdout)
	if m == nil || m[1] != "PASS" || m[3] != "0" {
		t.Errorf("%s\nwant a final line \"PASS: N passed, 0 failed, M skipped\"", o)
	} else if n, _ := strconv.Atoi(m[2]); n == 0 || strconv.Itoa(len(r.Checks)-n) != m[4] {
		t.Errorf("the verdict line %q does not count the %d checks of results.json", m[0], len(r.Checks))
	}
	if !strings.Contains(o.stdout, "SUITE") || !strings.Contains(o.stdout, "EVIDENCE") {
		t.Errorf("%s\nwant the checks table on stdout", o)
	}

	if r.Schema != results.Schema || r.Status != results.Pass || r.Interrupted {
		t.Errorf("results: schema %q, status %q, interrupted %t; want %q, %q, false", r.Schema, r.Status, r.Interrupted, results.Schema, results.Pass)
	}
	if !r.Target.Embedded || !strings.HasPrefix(r.Target.URL, "http://127.0.0.1:") {
		t.Errorf("results.target = %+v; want the embedded backend on a loopback URL", r.Target)
	}
	if !slices.Equal(r.Segments, []string{"1/1"}) || r.Options.Users != 3 || r.Options.Duration != "1s" {
		t.Errorf("results: segments %q, options %+v; want segment 1/1, 3 users, 1s", r.Segments, r.Options)
	}
	for _, name := range seedChecks {
		s, n, _ := strings.Cut(name, "/")
		c := findCheck(r, s, n)
		switch {
		case c == nil:
			t.Errorf("results hold no check %s; want every seed check (got %q)", name, checkNames(r))
		case c.Status != results.Pass && c.Status != results.Skip:
			t.Errorf("check %s: %s (%s); want pass or skip", name, c.Status, c.Evidence)
		case c.Evidence == "":
			t.Errorf("check %s has no evidence; want it to say why it is %s", name, c.Status)
		}
	}
	for _, ph := range []string{"login", "ws_connect", "first_event", "agent_execution", "journey", "journey_from_intended"} {
		if r.Phases[ph].Count == 0 {
			t.Errorf("results.phases[%q].count = 0; want the phase measured", ph)
		}
	}
	cases, failures := junitCases(t, out)
	if !slices.Equal(cases, checkNames(r)) || failures != 0 {
		t.Errorf("junit.xml has testcases %q with %d failures; want one per check, %q, and none failed", cases, failures, checkNames(r))
	}
}

func TestRunFailsABrokenSLA(t *testing.T) {
	noChildrenLeft(t)
	out := t.TempDir()
	o := gp(boundedContext(t, runBound), "run", "--suite", "integrated", "--duration", "1s", "--users", "8",
		"--target-think", "20ms", "--fault", "slow-login=20ms", "--sla", "testdata/run/login-p95-1ms.yaml", "--out", out, "--quiet")
	if o.code != ExitFailed {
		t.Fatalf("%s\nwant %d: a 20 ms login cannot keep login: p95 < 1ms", o, ExitFailed)
	}
	if m := verdictLine.FindStringSubmatch(o.stdout); m == nil || m[1] != "FAIL" || m[3] == "0" {
		t.Errorf("%s\nwant a final line \"FAIL: N passed, F failed, M skipped\" with F > 0", o)
	}
	r := readResults(t, out)
	if r.Status != results.Fail || r.Target.Faults != "slow-login=20ms" || !slices.Contains(r.Options.SLA, "login: p95 < 1ms") {
		t.Errorf("results: status %q, faults %q, SLA %q; want fail, slow-login=20ms, and the rule login: p95 < 1ms", r.Status, r.Target.Faults, r.Options.SLA)
	}
	c := findCheck(r, "integrated", "authentication_under_5_seconds")
	if c == nil {
		t.Fatalf("results hold no check integrated/authentication_under_5_seconds (got %q)", checkNames(r))
	}
	if c.Status != results.Fail || c.Rule.String() != "login: p95 < 1ms" || !strings.Contains(c.Evidence, "login p95 = ") || c.Observed < 20 {
		t.Errorf("check authentication_under_5_seconds = %+v; want it failed by rule login: p95 < 1ms, with evidence naming the login p95 (>= 20 ms)", *c)
	}
	if _, failures := junitCases(t, out); failures == 0 {
		t.Errorf("junit.xml reports no failure; want the failed check as a <failure>")
	}
}

func TestRunBadUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown suite", []string{"--suite", "nope"}, `goldenpath run: --suite: suite: unknown suite "nope"; known suites: integrated, load`},
		{"no suite", []string{"--suite", ","}, "goldenpath run: --suite names no suite"},
		{"no users", []string{"--users", "0"}, "goldenpath run: --users must be at least 1 (got 0)"},
		{"negative users", []string{"--users", "-4"}, "goldenpath run: --users must be at least 1 (got -4)"},
		{"no duration", []string{"--duration", "0"}, "goldenpath run: --duration must be positive (got 0s)"},
		{"duration without unit", []string{"--duration", "10"}, `goldenpath run: --duration "10": a duration needs a unit: write e.g. 10s, 10ms or 10m`},
		{"duration that is not one", []string{"--duration", "soon"}, `goldenpath run: --duration "soon": not a duration; write e.g. 10s, 500ms or 2m`},
		{"negative rate", []string{"--rate", "-3"}, "goldenpath run: --rate must not be negative (got -3); 0 runs the closed model"},
		{"negative think", []string{"--think", "-1s"}, "goldenpath run: --think must not be negative (got -1s)"},
		{"negative iterations", []string{"--iterations", "-5"}, "goldenpath run: --iterations must not be negative (got -5)"},
		{"negative target think", []string{"--target-think", "-1s"}, "goldenpath run: --target-think must not be negative (got -1s)"},
		{"k6's --out form", []string{"--out", "json=x.json"}, `goldenpath run: --out "json=x.json" looks like k6's --out NAME=FILE`},
		{"regression rounds", []string{"--rounds", "0"}, "goldenpath run: --rounds must be at least 1 (got 0)"},
		{"segment beyond its count", []string{"--segment", "3/2"}, `goldenpath run: --segment: load: segment "3/2" is not i/n with 1 <= i <= n`},
		{"segment not i/n", []string{"--segment", "half"}, `goldenpath run: --segment: load: segment "half" is not i/n`},
		{"missing SLA file", []string{"--sla", "testdata/run/missing.yaml"}, "goldenpath run: --sla: open testdata/run/missing.yaml: no such file"},
		{"SLA with an unknown metric", []string{"--sla", "testdata/run/unknown-metric.yaml"},
			`goldenpath run: --sla testdata/run/unknown-metric.yaml: sla: line 2: unknown metric "latency"; known: agent_execution,`},
		{"SLA with two rules for one metric", []string{"--sla", "testdata/run/duplicate-rule.yaml"},
			`goldenpath run: --sla testdata/run/duplicate-rule.yaml: sla: line 4: a second rule for login; line 2 has one ("login: p95 < 1s")`},
		{"SLA bounding latency from below", []string{"--sla", "testdata/run/latency-lower-bound.yaml"}, "login: a latency rule bounds from above; use < or <="},
		{"missing users file", []string{"--users-file", "testdata/run/missing.csv"}, "goldenpath run: --users-file: open testdata/run/missing.csv: no such file"},
		{"users file with three fields", []string{"--users-file", "testdata/run/users-three-fields.csv"},
			"goldenpath run: --users-file: testdata/run/users-three-fields.csv: record on line 2: wrong number of fields (want email,password on each line)"},
		{"users file without an address", []string{"--users-file", "testdata/run/users-no-email.csv"},
			`goldenpath run: --users-file: testdata/run/users-no-email.csv:2: want email,password; got "not-an-address,secret-one"`},
		{"users file without accounts", []string{"--users-file", "testdata/run/users-header-only.csv"}, "testdata/run/users-header-only.csv holds no accounts"},
		{"users file with fewer accounts than the run's bursts", []string{"--users-file", "testdata/run/users-too-few.csv"},
			"goldenpath run: --users-file: testdata/run/users-too-few.csv holds 3 accounts, but this run needs 50, one per virtual user running at once (the concurrency bursts, 50 users at once)"},
		{"users file with fewer accounts than an explicit --max-users", []string{"--users-file", "testdata/run/users-too-few.csv", "--max-users", "160"},
			"goldenpath run: --users-file: testdata/run/users-too-few.csv holds 3 accounts, but this run needs 160, one per virtual user running at once (the capacity search's ceiling, --max-users 160)"},
		{"--start-at not a time", []string{"--start-at", "tomorrow"}, `goldenpath run: --start-at "tomorrow" is not an RFC 3339 time such as 2026-12-04T21:30:00Z`},
		{"--max-users neither a number nor auto", []string{"--max-users", "lots"}, `goldenpath run: --max-users "lots": want a number of users (0 or more) or auto`},
		{"users file with fewer accounts than --users", []string{"--users-file", "testdata/run/users-too-few.csv", "--suite", "integrated", "--users", "4"},
			"goldenpath run: --users-file: testdata/run/users-too-few.csv holds 3 accounts, but this run needs 4, one per virtual user running at once (the integrated scenario's --users 4)"},
		{"target without a scheme", []string{"--target", "localhost:8080"}, `goldenpath run: --target "localhost:8080" is not an http(s) URL such as http://127.0.0.1:8080`},
		{"target of another scheme", []string{"--target", "ftp://127.0.0.1:21"}, `--target "ftp://127.0.0.1:21" is not an http(s) URL`},
		{"fault with a target", []string{"--target", "http://127.0.0.1:1", "--fault", "slow-login=1s"},
			"goldenpath run: --fault applies to the embedded backend only; drop it, or drop the target URL"},
		{"an argument", []string{"extra"}, `goldenpath run: unexpected argument "extra" (flags go before arguments)`},
		{"unknown flag", []string{"--nosuch"}, "goldenpath run: unknown flag --nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noChildrenLeft(t)
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"run", "--out", out}, tt.args...)
			o := gp(boundedContext(t, runBound), args...)
			if o.code != ExitUsage || !strings.Contains(o.stderr, tt.wantErr) {
				t.Errorf("%s\nwant %d and an error containing %q", o, ExitUsage, tt.wantErr)
			}
			// One line that names the problem, then where the help is:
			// not the whole help, which would bury it.
			if lines := strings.Split(strings.TrimSpace(o.stderr), "\n"); len(lines) != 2 || lines[1] != "see goldenpath run -h" {
				t.Errorf("%s\nwant two lines on stderr: the error, then \"see goldenpath run -h\"", o)
			}
			if o.stdout != "" {
				t.Errorf("%s\nwant nothing on stdout when the usage is bad", o)
			}
			if _, err := os.Stat(filepath.Join(out, report.ResultsFile)); err == nil {
				t.Errorf("Main(%q) wrote results; want none from a run that never started", args)
			}
		})
	}
}

// TestRunUnknownFaultIsUsageError: an unknown --fault is bad usage (2),
// found before any backend starts, not an unreachable target (3).
func TestRunUnknownFaultIsUsageError(t *testing.T) {
	noChildrenLeft(t)
	o := gp(boundedContext(t, runBound), "run", "--fault", "nope", "--duration", "1s", "--out", t.TempDir())
	if o.code != ExitUsage || !strings.Contains(o.stderr, `unknown fault "nope"`) {
		t.Errorf("%s\nwant %d and an error naming the unknown fault", o, ExitUsage)
	}
	if strings.Contains(o.stderr, "gp-admin-") {
		t.Errorf("%s\nwant no admin token in the output", o)
	}
}

func TestRunUnreachableTarget(t *testing.T) {
	t.Parallel() // it mostly waits; see TestRunPassesAgainstTheEmbeddedBackend
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // a port nothing listens on
	out := t.TempDir()
	o := gp(boundedContext(t, runBound), "run", "--target", url, "--duration", "1s", "--out", out, "--quiet")
	if o.code != ExitUnreachable || !strings.Contains(o.stderr, "target unreachable or not ready: "+url) {
		t.Errorf("%s\nwant %d and an error naming the unreachable %s", o, ExitUnreachable, url)
	}
	if _, err := os.Stat(filepath.Join(out, report.ResultsFile)); err == nil {
		t.Errorf("Main(%q) wrote results; want none when the target never answered", o.args)
	}
	// run.go waits up to 10 s for /readyz, also when every connection is
	// refused; allow it, but no more.
	if o.elapsed > 15*time.Second {
		t.Errorf("Main(%q) took %s to give up on a closed port; want at most the 10 s readiness wait", o.args, o.elapsed)
	}
	t.Logf("giving up on a closed port took %s", o.elapsed.Round(time.Millisecond))
}

func TestRunInterrupted(t *testing.T) {
	noChildrenLeft(t)
	out := t.TempDir()
	ctx, cancel := context.WithCancel(boundedContext(t, runBound))
	defer cancel()
	stderr := newLockedBuffer()
	done := make(chan outcome, 1)
	go func() {
		done <- gpTo(ctx, stderr, "run", "--suite", "integrated,load", "--duration", "30s", "--users", "3",
			"--max-users", "0", "--target-think", "20ms", "--out", out, "--quiet")
	}()
	if !stderr.waitFor(ctx, "goldenpath run: suite integrated") {
		cancel()
		t.Fatalf("%s\nthe integrated scenario never began", <-done)
	}
	// Let the scenario run a moment, so that its partial results hold some
	// journeys (with 3 users and 20 ms runs, dozens; one is asked for).
	time.Sleep(time.Second)
	cancel()
	interrupted := time.Now()
	o := <-done
	if o.code != ExitInterrupted {
		t.Fatalf("%s\nwant %d for an interrupted run", o, ExitInterrupted)
	}
	// Stopping takes the journeys in flight and the backend's drain; a 30 s
	// scenario must not run on.
	if d := time.Since(interrupted); d > 20*time.Second {
		t.Errorf("Main returned %s after its context ended; want it to stop promptly", d)
	}
	if !strings.Contains(o.stderr, "goldenpath run: interrupted; partial results written") || !strings.Contains(o.stdout, "(interrupted: partial results)") {
		t.Errorf("%s\nwant the run to say it was interrupted and its results are partial", o)
	}
	r := readResults(t, out)
	var names []string
	for _, sc := range r.Scenarios {
		names = append(names, sc.Name)
	}
	// The status judges the checks alone, so it may say pass; "interrupted"
	// and the exit code are what mark the results partial.
	if !r.Interrupted || !slices.Equal(names, []string{"integrated"}) {
		t.Fatalf("results: interrupted %t, scenarios %q; want true, and only the integrated scenario", r.Interrupted, names)
	}
	if sc := r.Scenarios[0]; sc.DurationS >= 30 || sc.Journeys == 0 {
		t.Errorf("the interrupted scenario ran %.1fs with %d journeys; want part of its 30 s, with journeys", sc.DurationS, sc.Journeys)
	}
	// The embedded backend is gone: its process and its port.
	var pid int
	for _, n := range r.Notes {
		if _, err := fmt.Sscanf(n, "embedded reference backend (pid %d)", &pid); err == nil {
			break
		}
	}
	if pid == 0 {
		t.Fatalf("results notes %q name no embedded backend pid", r.Notes)
	}
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("signal 0 to the embedded backend (pid %d) = %v; want ESRCH, the process stopped", pid, err)
	}
	if resp, err := http.Get(r.Target.URL + "/readyz"); err == nil {
		resp.Body.Close()
		t.Errorf("GET %s/readyz answered %s after the run; want the embedded backend stopped", r.Target.URL, resp.Status)
	}
}

func TestRunExternalTargetWithUsersFile(t *testing.T) {
	noChildrenLeft(t)
	emb := startBackend(t)
	accts := []journey.Account{{Email: "ada@example.test", Password: "ada-secret-1"}, {Email: "bob@example.test", Password: "bob-secret-2"}}
	register(t, emb.URL, accts...)
	users := filepath.Join(t.TempDir(), "users.csv")
	csv := "email,password\n" + accts[0].Email + "," + accts[0].Password + "\n" + accts[1].Email + ", " + accts[1].Password + "\n"
	if err := os.WriteFile(users, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	o := gp(boundedContext(t, runBound), "run", "--target", emb.URL+"/", "--users-file", users, "--suite", "integrated",
		"--duration", "2s", "--users", "2", "--out", out, "--quiet") // 2 s: 20 samples for every percentile
	if o.code != ExitOK {
		t.Fatalf("%s\nwant %d: every check passes against a backend we started", o, ExitOK)
	}
	if strings.Contains(o.stderr, "registering") || strings.Contains(o.stderr, "embedded") {
		t.Errorf("%s\nwant neither test users registered nor a backend started: the users file and the target were given", o)
	}
	r := readResults(t, out)
	if r.Target.Embedded || r.Target.URL != emb.URL {
		t.Errorf("results.target = %+v; want %s, not embedded", r.Target, emb.URL)
	}
	if sc := findScenario(r, "integrated"); sc == nil || sc.Succeeded == 0 || sc.Failed != 0 {
		t.Errorf("results scenarios %+v; want an integrated scenario of successful journeys by the file's users", r.Scenarios)
	}
}

func TestRunSegmentsThenMerge(t *testing.T) {
	noChildrenLeft(t)
	emb := startBackend(t)
	dir := t.TempDir()
	var parts []*results.Results
	// A common start: segment 1 waits for it, segment 2, run after
	// segment 1, is late by at least segment 1's 2 s. Segment 2 runs as a
	// pod of an Indexed Job does (--segment job/2, JOB_COMPLETION_INDEX=1),
	// and a merge waiting for both parts (--from, --wait 2) is started
	// before it, as the merge Job of deploy/kubernetes is.
	startAt := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)
	waited := make(chan outcome, 1)
	outs := t.TempDir() // the merges' outputs, apart from the parts --from reads
	for _, seg := range []string{"1/2", "2/2"} {
		out := filepath.Join(dir, "segment-"+seg[:1])
		arg, vars := seg, map[string]string(nil)
		if seg == "2/2" {
			arg, vars = "job/2", map[string]string{"JOB_COMPLETION_INDEX": "1"}
			go func() {
				waited <- gp(boundedContext(t, runBound), "merge", "--from", dir, "--wait", "2", "--wait-timeout", "2m", "--out", filepath.Join(outs, "waited"))
			}()
		}
		o := gpEnv(boundedContext(t, runBound), newLockedBuffer(), vars, "run", "--target", emb.URL, "--segment", arg, "--suite", "integrated",
			"--duration", "2s", "--users", "4", "--start-at", startAt, "--out", out, "--quiet") // 2 s: 20 samples for every percentile in each part
		if o.code != ExitOK {
			t.Fatalf("%s\nwant %d for segment %s", o, ExitOK, seg)
		}
		p := readResults(t, out)
		if !slices.Equal(p.Segments, []string{seg}) || findScenario(p, "integrated") == nil {
			t.Fatalf("segment %s results: segments %q, scenarios %d; want [%s] and the integrated scenario", seg, p.Segments, len(p.Scenarios), seg)
		}
		if len(p.Starts) != 1 || p.Starts[0].Segment != seg || p.Options.StartAt == "" {
			t.Fatalf("segment %s: starts %+v, options.start_at %q; want its one start and the common start", seg, p.Starts, p.Options.StartAt)
		}
		parts = append(parts, p)
	}
	if late := parts[1].Starts[0].LateMS; late < 1000 {
		t.Errorf("segment 2/2, run after segment 1/2's 2 s, was %.0f ms late; want at least 1000", late)
	}
	a, b := filepath.Join(dir, "segment-1", report.ResultsFile), filepath.Join(dir, "segment-2", report.ResultsFile)

	merged := filepath.Join(outs, "merged")
	o := gp(t.Context(), "merge", "--out", merged, a, b)
	if o.code != ExitOK || !strings.Contains(o.stdout, "merged 2 results (segments 1/2, 2/2)") {
		t.Fatalf("%s\nwant %d and a line naming the merged segments", o, ExitOK)
	}
	m := readResults(t, merged)
	if len(m.Starts) != 2 || !slices.ContainsFunc(m.Notes, func(n string) bool { return strings.Contains(n, "common start skew") }) {
		t.Errorf("merged starts %+v, notes %q; want both segments' starts and a note of the skew", m.Starts, m.Notes)
	}
	if !slices.Equal(m.Segments, []string{"1/2", "2/2"}) || m.Status != results.Pass {
		t.Errorf("merged results: segments %q, status %q; want [1/2 2/2], pass", m.Segments, m.Status)
	}
	sa, sb, sm := findScenario(parts[0], "integrated"), findScenario(parts[1], "integrated"), findScenario(m, "integrated")
	if sm == nil {
		t.Fatalf("merged results hold no integrated scenario (got %d scenarios)", len(m.Scenarios))
	}
	if sm.Journeys != sa.Journeys+sb.Journeys || sm.Succeeded != sa.Succeeded+sb.Succeeded {
		t.Errorf("merged journeys %d (%d succeeded); want %d + %d (%d + %d succeeded), the parts' sum",
			sm.Journeys, sm.Succeeded, sa.Journeys, sb.Journeys, sa.Succeeded, sb.Succeeded)
	}
	for name, h := range sm.Metrics.Histograms {
		var want int64
		for _, p := range []*results.Scenario{sa, sb} {
			if ph := p.Metrics.Histograms[name]; ph != nil {
				want += ph.Count()
			}
		}
		if h.Count() != want {
			t.Errorf("merged histogram %s counts %d; want %d, the parts' sum", name, h.Count(), want)
		}
	}
	if sm.Metrics.Histograms["journey"] == nil || sm.Phases["journey"].Count != sm.Metrics.Histograms["journey"].Count() {
		t.Errorf("merged journey phase %+v; want it summarised from the merged histogram", sm.Phases["journey"])
	}
	cases, _ := junitCases(t, merged)
	if !slices.Equal(cases, checkNames(m)) {
		t.Errorf("merged junit.xml has testcases %q; want one per check, %q", cases, checkNames(m))
	}
	t.Run("merged scenario counts the test's users once", func(t *testing.T) {
		// Each segment records the whole test's users (4), and Merge adds
		// them up: the merged scenario claims 8 users for a 4-user test.
		if sm.Users != m.Options.Users {
			t.Errorf("merged integrated scenario has %d users (parts: %d and %d); want %d, the users of the test (--users %d)",
				sm.Users, sa.Users, sb.Users, m.Options.Users, m.Options.Users)
		}
	})

	w := <-waited
	if w.code != ExitOK || !strings.Contains(w.stdout, "merged 2 results (segments 1/2, 2/2)") || !strings.Contains(w.stderr, "1 of 2 parts in") {
		t.Errorf("%s\nwant %d: merge --from --wait 2, started before segment 2/2, waits for it (saying 1 of 2 parts are in), then merges both", w, ExitOK)
	}
	if wm := readResults(t, filepath.Join(outs, "waited")); findScenario(wm, "integrated").Journeys != sm.Journeys {
		t.Errorf("merge --from counted %d integrated journeys; merge of the two files %d: want the same", findScenario(wm, "integrated").Journeys, sm.Journeys)
	}

	o = gp(t.Context(), "merge", "--out", filepath.Join(outs, "twice"), a, a)
	if o.code != ExitUsage || !strings.Contains(o.stderr, "goldenpath merge: report: segment 1/2 appears twice") {
		t.Errorf("%s\nwant %d: one segment merged twice would count its journeys twice", o, ExitUsage)
	}
}

func TestMergeBadUsage(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		wantErr string
	}{
		{"no results", nil, "goldenpath merge: name at least one results.json"},
		{"missing results", []string{"testdata/run/missing.json"}, "goldenpath merge: open testdata/run/missing.json: no such file"},
		{"not results", []string{"testdata/run/users-no-email.csv"}, "goldenpath merge: testdata/run/users-no-email.csv: report: not a results file"},
		{"results of another schema", []string{"testdata/run/other-schema.json"}, `report: schema "something/else", want "goldenpath.results/v1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"merge", "--out", t.TempDir()}, tt.files...)
			o := gp(t.Context(), args...)
			if o.code != ExitUsage || !strings.Contains(o.stderr, tt.wantErr) || o.stdout != "" {
				t.Errorf("%s\nwant %d, nothing on stdout, and an error containing %q", o, ExitUsage, tt.wantErr)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	runFlags := []string{
		"Usage: goldenpath run [flags]", "Exit codes: 0 every check",
		"-target URL", "-users N", "-duration duration", "-rate R", "-sla FILE", "-out DIR",
		"-admin-token TOKEN", "-segment i/n", "-users-file FILE", "-suite SUITES",
	}
	mergeFlags := []string{"Usage: goldenpath merge [flags]", "goldenpath merge --out DIR seg1/results.json", "-out DIR"}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"help", "run"}, runFlags},
		{[]string{"run", "-h"}, runFlags},
		{[]string{"run", "--help"}, runFlags},
		{[]string{"help", "merge"}, mergeFlags},
		{[]string{"merge", "-h"}, mergeFlags},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o := gp(t.Context(), tt.args...)
			if o.code != ExitOK {
				t.Errorf("%s\nwant %d", o, ExitOK)
			}
			for _, w := range tt.want {
				if !strings.Contains(o.stdout+o.stderr, w) {
					t.Errorf("%s\nwant the help to contain %q", o, w)
				}
			}
		})
	}
}

// TestRunHelpHidesTheAdminToken: the admin token is a secret; help that
// shows GOLDENPATH_ADMIN_TOKEN as the flag's default puts it in CI logs.
func TestRunHelpHidesTheAdminToken(t *testing.T) {
	const secret = "gp-admin-0123456789abcdef"
	stdout, stderr := newLockedBuffer(), newLockedBuffer()
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: func(k string) string {
		if k == "GOLDENPATH_ADMIN_TOKEN" {
			return secret
		}
		return ""
	}}
	if code := mainEnv(t.Context(), []string{"run", "-h"}, e); code != ExitOK {
		t.Fatalf("Main([run -h]) = %d; want %d", code, ExitOK)
	}
	if out := stdout.String() + stderr.String(); strings.Contains(out, secret) {
		t.Errorf("Main([run -h]) with GOLDENPATH_ADMIN_TOKEN=%s printed the token:\n%s\nwant it hidden", secret, out)
	}
}
