package cli

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/embedded"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// TestRunEachProfileOnTheEmbeddedBackend: goldenpath run --profile netra
// and --profile openai with no --target start the reference backend
// speaking that protocol, and every check passes or skips saying why.
func TestRunEachProfileOnTheEmbeddedBackend(t *testing.T) {
	noChildrenLeft(t)
	for _, tc := range []struct {
		profile string
		pass    []string // checks that must pass: the profile's own evidence
		skip    map[string]string
	}{
		{"netra", []string{"authentication_under_5_seconds", "websocket_connection_under_3_seconds", "agent_execution_under_45_seconds", "golden_path_protocol_conformance"},
			map[string]string{"configuration_access_under_10ms": "profile netra has no config endpoint"}},
		{"openai", []string{"time_to_first_token", "time_per_output_token", "end_to_end_latency", "chat_goodput", "golden_path_protocol_conformance"},
			map[string]string{"authentication_under_5_seconds": "profile openai has no login", "golden_path_writes_read_back": "profile openai has no history read-back"}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			out := t.TempDir()
			o := gp(boundedContext(t, runBound), "run", "--profile", tc.profile, "--suite", "integrated", "--duration", "2s", "--users", "4",
				"--target-think", "20ms", "--out", out, "--quiet")
			if o.code != ExitOK {
				t.Fatalf("%s\nwant %d: every check passes or skips on the reference backend speaking %s", o, ExitOK, tc.profile)
			}
			r := readResults(t, out)
			if r.Target.Profile != tc.profile {
				t.Errorf("results.target.profile = %q, want %q", r.Target.Profile, tc.profile)
			}
			for _, name := range tc.pass {
				if c := findCheck(r, "integrated", name); c == nil || c.Status != results.Pass {
					t.Errorf("check %s = %+v; want it passed on the profile's evidence", name, c)
				}
			}
			for name, why := range tc.skip {
				if c := findCheck(r, "integrated", name); c == nil || c.Status != results.Skip || !strings.Contains(c.Evidence, why) {
					t.Errorf("check %s = %+v; want a skip saying %q", name, c, why)
				}
			}
		})
	}
}

// TestRunProfileBadFile: an unknown field in a profile is exit 2 naming
// the file, the line and the field.
func TestRunProfileBadFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nstream:\n  kidn: websocket\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"run"}, {"profile", "check"}, {"compare", "--a", "http://127.0.0.1:1"}} {
		o := gp(boundedContext(t, runBound), append(cmd, "--profile", bad)...)
		if o.code != ExitUsage || !strings.Contains(o.stderr, bad+": line 3: field kidn not found") {
			t.Errorf("goldenpath %s --profile bad.yaml: %s\nwant exit 2 naming the file, line 3 and the field kidn", cmd[0], o)
		}
	}
}

// TestProfileCheck: the check walks a journey step by step, exits 0 when
// the profile fits and 1 naming what did not match when it does not.
func TestProfileCheck(t *testing.T) {
	noChildrenLeft(t)
	o := gp(boundedContext(t, runBound), "profile", "check", "--profile", "netra")
	if o.code != ExitOK {
		t.Fatalf("%s\nwant exit 0: the netra profile fits the reference backend speaking Netra", o)
	}
	for _, want := range []string{"handshake[0] wait: matched", "handshake[1] send", "(not the end: events.end; the run goes on)", "(the end of the run)", "OK: one journey"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("profile check's output lacks %q:\n%s", want, o.stdout)
		}
	}
	// A profile whose start event the target never sends.
	b, err := os.ReadFile("../profile/builtin/goldenpath.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(t.TempDir(), "wrong.yaml")
	if err := os.WriteFile(wrong, []byte(strings.Replace(string(b), "started: [agent_started]", "started: [agent_begun]", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	o = gp(boundedContext(t, runBound), "profile", "check", "--profile", wrong, "--run-timeout", "2s")
	if o.code != ExitFailed || !strings.Contains(o.stdout, "FAIL:") || !strings.Contains(o.stdout, "before the run's start (agent_begun)") {
		t.Errorf("%s\nwant exit 1 with the finding that names the event and the start the profile expects", o)
	}
}

// TestUsersCreate: goldenpath users create registers accounts as CSV;
// the same prefix again reuses them.
func TestUsersCreate(t *testing.T) {
	noChildrenLeft(t)
	emb := startBackend(t)
	var first [][]string
	for range 2 {
		o := gp(boundedContext(t, runBound), "users", "create", "--target", emb.URL, "--count", "3", "--prefix", "gp-test")
		if o.code != ExitOK {
			t.Fatalf("%s\nwant exit 0", o)
		}
		rows, err := csv.NewReader(strings.NewReader(o.stdout)).ReadAll()
		if err != nil || len(rows) != 4 || rows[0][0] != "email" || rows[1][0] != "gp-test-0@example.test" {
			t.Fatalf("users create printed %q (%v); want a header and 3 accounts gp-test-N@example.test", o.stdout, err)
		}
		if first != nil && rows[1][1] != first[1][1] {
			t.Errorf("the same prefix gave another password: %q then %q", first[1][1], rows[1][1])
		}
		first = rows
	}
	if o := gp(boundedContext(t, runBound), "users", "create", "--count", "3"); o.code != ExitUsage || !strings.Contains(o.stderr, "--target is required") {
		t.Errorf("%s\nwant exit 2: users create needs --target", o)
	}
}

// TestProfileFaultsReachTheChecks: the reference backend's faults reach
// the checks through each profile: each row fails the check that names
// its defect, with its evidence.
func TestProfileFaultsReachTheChecks(t *testing.T) {
	long(t)
	noChildrenLeft(t)
	for _, tc := range []struct {
		profile, fault, check, evidence string
		slow                            bool // runs take seconds: longer run timeout and duration
	}{
		{"openai", "cross-user", "golden_path_protocol_conformance", "answer_mismatch", false},
		{"openai", "drop-events=10", "golden_path_protocol_conformance", "stream", false},
		{"openai", "close-1011=0.5", "golden_path_protocol_conformance", "stream", false},
		{"openai", "slow-factory=2200ms", "time_to_first_token", "first_token p95", true},
		{"netra", "cross-user", "golden_path_protocol_conformance", "foreign_user", false},
		{"netra", "drop-events=10", "golden_path_success_rate", "timeout", false},
		{"netra", "close-1011=0.5", "golden_path_success_rate", "close:1011", false},
	} {
		t.Run(tc.profile+"/"+tc.fault, func(t *testing.T) {
			out := t.TempDir()
			duration, users, timeout := "3s", "6", "1s"
			if tc.slow {
				duration, users, timeout = "6s", "12", "10s"
			}
			o := gp(boundedContext(t, runBound), "run", "--profile", tc.profile, "--fault", tc.fault, "--suite", "integrated", "--duration", duration,
				"--users", users, "--target-think", "20ms", "--run-timeout", timeout, "--out", out, "--quiet")
			if o.code != ExitFailed {
				t.Fatalf("%s\nwant exit 1: fault %s must fail a check", o, tc.fault)
			}
			r := readResults(t, out)
			c := findCheck(r, "integrated", tc.check)
			if c == nil || c.Status != results.Fail || !strings.Contains(c.Evidence, tc.evidence) {
				t.Errorf("check %s = %+v; want it failed, its evidence naming %q", tc.check, c, tc.evidence)
			}
		})
	}
}

// TestProfileSecretsStayOutOfReports: a bypass key and an API key given
// on the command line appear in no report.
func TestProfileSecretsStayOutOfReports(t *testing.T) {
	noChildrenLeft(t)
	for _, tc := range []struct{ profile, flag, secret string }{
		{"netra", "--bypass-key", "bypass-s3cr3t-4f7a9c"},
		{"openai", "--api-key", "sk-s3cr3t-api-8d2e61"},
	} {
		out := t.TempDir()
		o := gp(boundedContext(t, runBound), "run", "--profile", tc.profile, tc.flag, tc.secret, "--suite", "integrated", "--duration", "2s",
			"--users", "4", "--target-think", "20ms", "--out", out, "--quiet")
		if o.code != ExitOK {
			t.Fatalf("%s\nwant exit 0", o)
		}
		if strings.Contains(o.stdout+o.stderr, tc.secret) {
			t.Errorf("%s: the output shows the secret %s", tc.profile, tc.flag)
		}
		files, _ := filepath.Glob(filepath.Join(out, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), tc.secret) {
				t.Errorf("%s: %s holds the secret given as %s", tc.profile, filepath.Base(f), tc.flag)
			}
		}
		if r := readResults(t, out); tc.flag == "--api-key" && !r.Options.APIKeyGiven || tc.flag == "--bypass-key" && !r.Options.BypassKeyGiven {
			t.Errorf("%s: results.options = %+v; want it to say the secret was given", tc.profile, r.Options)
		}
	}
}

// TestRunMinimalJourney: --journey minimal leaves out the config read and
// the store checks, whose checks skip saying so; a bad kind is exit 2.
// --iterations ends the scenario on a count, before --duration.
func TestRunMinimalJourney(t *testing.T) {
	noChildrenLeft(t)
	out := t.TempDir()
	o := gp(boundedContext(t, runBound), "run", "--journey", "minimal", "--suite", "integrated", "--duration", "1m", "--iterations", "40",
		"--users", "4", "--target-think", "20ms", "--out", out, "--quiet")
	if o.code != ExitOK {
		t.Fatalf("%s\nwant exit 0", o)
	}
	r := readResults(t, out)
	for _, name := range []string{"configuration_access_under_10ms", "database_operations_under_1_second", "golden_path_writes_read_back"} {
		if c := findCheck(r, "integrated", name); c == nil || c.Status != results.Skip || !strings.Contains(c.Evidence, "--journey minimal") {
			t.Errorf("check %s = %+v; want a skip naming --journey minimal", name, c)
		}
	}
	if r.Phases["config_access"].Count != 0 || r.Phases["login"].Count == 0 || r.Options.Journey != "minimal" {
		t.Errorf("phases config_access %d, login %d, options.journey %q; want no config read, logins, and the option recorded",
			r.Phases["config_access"].Count, r.Phases["login"].Count, r.Options.Journey)
	}
	if sc := findScenario(r, "integrated"); sc == nil || sc.Journeys != 40 || r.Options.Iterations != 40 {
		t.Errorf("integrated scenario %+v, options.iterations %d; want 40 journeys, recorded", sc, r.Options.Iterations)
	}
	if o := gp(boundedContext(t, runBound), "run", "--journey", "quick"); o.code != ExitUsage || !strings.Contains(o.stderr, `--journey "quick" is not a journey; want full or minimal`) {
		t.Errorf("%s\nwant exit 2 naming --journey", o)
	}
}

// TestProfilesByURL: the profile checks judge a target reached by URL,
// goldenpath serve in its own process, the same way: all pass or skip on
// a clean one, and a fault fails the check that names it.
func TestProfilesByURL(t *testing.T) {
	noChildrenLeft(t)
	const key = "bypass-key-by-url-test"
	for _, tc := range []struct {
		profile, protocol, fault, check, evidence string
	}{
		{"netra", "netra", "", "", ""},
		{"netra", "netra", "cross-user", "golden_path_protocol_conformance", "foreign_user"},
		{"openai", "", "", "", ""},
		{"openai", "", "cross-user", "golden_path_protocol_conformance", "answer_mismatch"},
	} {
		t.Run(tc.profile+"/"+tc.fault, func(t *testing.T) {
			logs := newLockedBuffer()
			emb, err := embedded.Start(boundedContext(t, runBound), embedded.Options{Binary: os.Args[0], Think: 20 * time.Millisecond,
				Stderr: logs, Protocol: tc.protocol, BypassKey: key, Faults: tc.fault})
			if err != nil {
				t.Fatalf("embedded.Start = %v\n%s", err, logs)
			}
			t.Cleanup(func() { _ = emb.Stop() })
			out := t.TempDir()
			args := []string{"run", "--target", emb.URL, "--profile", tc.profile, "--suite", "integrated", "--duration", "2s", "--users", "4",
				"--run-timeout", "2s", "--out", out, "--quiet"}
			if tc.profile == "netra" {
				args = append(args, "--bypass-key", key)
			}
			o := gp(boundedContext(t, runBound), args...)
			r := readResults(t, out)
			if tc.fault == "" {
				if o.code != ExitOK {
					t.Fatalf("%s\nwant exit 0 on a clean target reached by URL", o)
				}
				if c := findCheck(r, "integrated", "golden_path_protocol_conformance"); c == nil || c.Status != results.Pass {
					t.Errorf("conformance = %+v; want a pass on the target's evidence", c)
				}
				return
			}
			c := findCheck(r, "integrated", tc.check)
			if o.code != ExitFailed || c == nil || c.Status != results.Fail || !strings.Contains(c.Evidence, tc.evidence) {
				t.Errorf("%s\ncheck %s = %+v; want exit 1 and the check failed naming %q", o, tc.check, c, tc.evidence)
			}
		})
	}
}
