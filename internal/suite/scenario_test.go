package suite

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// startBackend starts the reference backend on a free loopback port, with
// a real SQLite database in a temporary directory, and stops it when the
// test ends.
func startBackend(t *testing.T) *journey.Target { return startBackendWith(t, "") }

// startBackendWith is [startBackend] with the faults named as --fault
// names them ("" for none).
func startBackendWith(t *testing.T, faults string) *journey.Target {
	t.Helper()
	fs, err := fault.Parse(faults)
	if err != nil {
		t.Fatalf("fault.Parse(%q): %v", faults, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), JWTSecret: []byte("0123456789abcdef0123456789abcdef-suite-test"),
		HashCost: 4, DrainTimeout: 2 * time.Second, Overrides: map[string]string{"think_ms": "0"}, Faults: fs,
	})
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("backend Run: %v", err)
		}
	})
	if err := journey.WaitReady(ctx, srv.URL(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	tgt, err := journey.NewTarget(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return tgt
}

func TestEnvScenarioOnTheReferenceBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference backend")
	}
	tgt := startBackend(t)
	var accounts []journey.Account
	for range 2 {
		a := journey.Account{Email: "u-" + rand.Text()[:10] + "@example.test", Password: "pw-" + rand.Text()}
		if _, err := journey.Register(context.Background(), tgt, a); err != nil {
			t.Fatalf("Register: %v", err)
		}
		accounts = append(accounts, a)
	}
	env := &Env{Target: tgt, Accounts: accounts, SLA: DefaultSLA(), RunTimeout: 30 * time.Second}
	plan := load.Plan{Model: load.Closed, Users: 2, Iterations: 4}
	sc, interrupted, err := env.Scenario(context.Background(), "probe", Integrated, plan, FullJourney())
	if err != nil || interrupted {
		t.Fatalf("Scenario(2 users, 4 journeys) = interrupted %t, %v; want it to finish", interrupted, err)
	}
	if sc.Name != "probe" || sc.Suite != Integrated || sc.Model != "closed" || sc.Users != 2 || sc.DurationS <= 0 {
		t.Errorf("Scenario = name %q, suite %q, model %q, users %d, duration %gs; want probe, integrated, closed, 2, > 0",
			sc.Name, sc.Suite, sc.Model, sc.Users, sc.DurationS)
	}
	if sc.Journeys != 4 || sc.Succeeded != 4 || sc.Failed != 0 || len(sc.Errors) != 0 || len(sc.Violations) != 0 {
		t.Fatalf("Scenario: %d journeys, %d ok, %d failed, errors %v, violations %v, samples %+v; want 4 journeys, all ok",
			sc.Journeys, sc.Succeeded, sc.Failed, sc.Errors, sc.Violations, sc.Samples)
	}
	// One sample per journey of these phases; at least one of the others.
	for _, p := range []string{journey.PhaseLogin, journey.PhaseJourney, journey.PhaseConfigAccess, journey.PhaseFirstEvent,
		journey.PhaseAgentExecution, PhaseWSHandshake, PhaseJourneyIntended, PhaseSchedulingDelay} {
		if got := sc.Phases[p].Count; got != 4 {
			t.Errorf("Scenario phase %s has %d samples; want 4, one per journey", p, got)
		}
	}
	for _, p := range []string{journey.PhaseDBOperation, journey.PhaseWSConnect, journey.PhaseResponseDelivery,
		"server_factory", "server_execution", "server_http_auth", "server_http_app"} {
		if sc.Phases[p].Count == 0 {
			t.Errorf("Scenario phases %v lack %s", keys(sc.Phases), p)
		}
	}
	// Each journey's ws_ready is a sample or, when its 101 and
	// connection_established came in one read, counted as unseen.
	if got, unseen := sc.Phases[journey.PhaseWSReady].Count, sc.Metrics.Counters[CounterWSReadyUnseen]; got+unseen != 4 {
		t.Errorf("ws_ready: %d samples and %d unseen; want 4 in all, one per journey", got, unseen)
	}
	for p := range sc.Phases {
		if strings.HasSuffix(p, "_ms") {
			t.Errorf("Scenario phase %q keeps the _ms of its timing name", p)
		}
	}
	if h := sc.Metrics.Histograms[journey.PhaseJourney]; h == nil || h.Count() != 4 || sc.Metrics.Counters[CounterJourneys] != 4 {
		t.Errorf("Scenario metrics: journey histogram %v, journeys counter %d; want the raw data of 4 journeys", h, sc.Metrics.Counters[CounterJourneys])
	}
	for _, c := range []results.Check{protocolCheck(Integrated, "protocol", &sc), readBackCheck(Integrated, "read_back", &sc)} {
		if c.Status != results.Pass || c.Samples != 4 {
			t.Errorf("%s on the clean reference backend = %s over %d journeys (%s); want pass over 4", c.Name, c.Status, c.Samples, c.Evidence)
		}
	}
}

func TestEnvScenarioCountsFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"code":"unavailable","message":"down for <maintenance>"}}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	tgt, err := journey.NewTarget(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Target: tgt, Accounts: []journey.Account{{Email: "a@example.test", Password: "secret-pw"}}}
	sc, _, err := env.Scenario(context.Background(), "down", Load, load.Plan{Model: load.Closed, Users: 3, Iterations: 15}, FullJourney())
	if err != nil {
		t.Fatalf("Scenario on a target answering 503: %v", err)
	}
	if sc.Journeys != 15 || sc.Failed != 15 || sc.Succeeded != 0 {
		t.Errorf("Scenario on a target answering 503: %d journeys, %d failed, %d ok; want 15, 15, 0", sc.Journeys, sc.Failed, sc.Succeeded)
	}
	if got := sc.Errors; len(got) != 1 || got[journey.FailHTTPStatus+":503"] != 15 {
		t.Errorf("Scenario errors = %v; want map[http_status:503:15]", got)
	}
	if got := sc.Metrics.Counters[prefixErrorPhase+journey.PhaseLogin]; got != 15 {
		t.Errorf("Scenario counter %s = %d; want 15", prefixErrorPhase+journey.PhaseLogin, got)
	}
	if n := len(sc.Samples); n == 0 || n > MaxSamples {
		t.Errorf("Scenario kept %d samples; want 1 to %d", n, MaxSamples)
	}
	for _, s := range sc.Samples {
		if s.Kind != "http_status:503" || s.Phase != journey.PhaseLogin || strings.Contains(s.Frame, "secret-pw") {
			t.Errorf("Scenario sample = %+v; want kind http_status:503 in phase login, password redacted", s)
		}
	}
	if _, ok := sc.Phases[PhaseJourneyIntended]; ok {
		t.Errorf("Scenario recorded %s for failed journeys; want it only for successful ones", PhaseJourneyIntended)
	}
	if c := rateCheck(Load, "x", DefaultSLA()[RateSuccess], &sc); c.Status != results.Fail {
		t.Errorf("success rate of a scenario where every journey failed = %s (%s); want fail", c.Status, c.Evidence)
	}
}

// registered returns n fresh accounts on tgt.
func registered(t *testing.T, tgt *journey.Target, n int) []journey.Account {
	t.Helper()
	var accounts []journey.Account
	for range n {
		a := journey.Account{Email: "u-" + rand.Text()[:10] + "@example.test", Password: "pw-" + rand.Text()}
		if _, err := journey.Register(context.Background(), tgt, a); err != nil {
			t.Fatalf("Register: %v", err)
		}
		accounts = append(accounts, a)
	}
	return accounts
}

// faultScenario runs the full journey of the integrated and load suites
// against the reference backend with faults: 16 users (twice the 8
// buckets of cross-user, whose events reach another user only while two
// of a bucket are connected at once), 64 journeys.
func faultScenario(t *testing.T, faults, name, suiteName string) results.Scenario {
	t.Helper()
	tgt := startBackendWith(t, faults)
	env := &Env{Target: tgt, Accounts: registered(t, tgt, 16), SLA: DefaultSLA(), RunTimeout: 2 * time.Second}
	sc, interrupted, err := env.Scenario(context.Background(), name, suiteName, load.Plan{Model: load.Closed, Users: 16, Iterations: 64}, FullJourney())
	if err != nil || interrupted {
		t.Fatalf("Scenario(--fault %s) = interrupted %t, %v; want it to finish", faults, interrupted, err)
	}
	return sc
}

// Every frame counts everywhere: a journey with a finding of the frame
// oracle (a reordered, lost, repeated or foreign frame) is not a success,
// and the finding fails a check of the integrated and of the load suite.
func TestFindingsFailIntegratedAndLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference backend")
	}
	for _, tc := range []struct {
		fault, kind string
	}{
		{"reorder-events=3", journey.ViolationSeqReorder},
		{"drop-events=7", journey.ViolationSeqGap},
		{"duplicate-events=3", journey.ViolationSeqDuplicate},
		{"cross-user", journey.ViolationForeignUser},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			for _, s := range []struct{ suite, scenario, check string }{
				{Integrated, scenarioIntegrated, "golden_path_protocol_conformance"},
				{Load, scenarioUsers5, "protocol_conformance_under_load"},
			} {
				sc := faultScenario(t, tc.fault, s.scenario, s.suite)
				if sc.Violations[tc.kind] == 0 {
					t.Fatalf("--fault %s: %s found no %s (violations %v, errors %v); the fault did not show", tc.fault, s.scenario, tc.kind, sc.Violations, sc.Errors)
				}
				flawed := sc.Errors[results.CounterViolationPrefix+tc.kind]
				if flawed == 0 || sc.Succeeded+sc.Failed != sc.Journeys || sc.Succeeded > sc.Journeys-flawed {
					t.Errorf("--fault %s: %d journeys, %d ok, %d failed, errors %v; want the %s journeys failed, not successes",
						tc.fault, sc.Journeys, sc.Succeeded, sc.Failed, sc.Errors, tc.kind)
				}
				checks := byName(mustSuite(t, s.suite).Checks([]results.Scenario{sc}, DefaultSLA()))
				c, ok := checks[s.check]
				if !ok || c.Status != results.Fail || !strings.Contains(c.Evidence, tc.kind+" x") || !strings.Contains(c.Evidence, "e.g. violation:") {
					t.Errorf("--fault %s: %s/%s = %s (%s); want fail naming %s with an example", tc.fault, s.suite, s.check, c.Status, c.Evidence, tc.kind)
				}
			}
		})
	}
}

// Every acknowledged write is read back: an answer that was acknowledged
// with agent_completed and not stored, or stored twice, fails a check of
// the integrated and of the load suite that names the message and the
// thread.
func TestLostWritesFailIntegratedAndLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference backend")
	}
	for _, tc := range []struct{ fault, want string }{
		{"lose-writes=4", `thread \S+ lacks the answer of message m1-\S+`},
		{"duplicate-writes=4", `thread \S+ holds the answer of message m1-\S+ 2 times`},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			for _, s := range []struct{ suite, scenario, check string }{
				{Integrated, scenarioIntegrated, "golden_path_writes_read_back"},
				{Load, scenarioUsers5, "writes_read_back_under_load"},
			} {
				sc := faultScenario(t, tc.fault, s.scenario, s.suite)
				checks := byName(mustSuite(t, s.suite).Checks([]results.Scenario{sc}, DefaultSLA()))
				c, ok := checks[s.check]
				if !ok || c.Status != results.Fail || !regexp.MustCompile(tc.want).MatchString(c.Evidence) {
					t.Errorf("--fault %s: %s/%s = %s (%s); want fail matching %q", tc.fault, s.suite, s.check, c.Status, c.Evidence, tc.want)
				}
			}
		})
	}
}

func TestEnvScenarioNeedsAccounts(t *testing.T) {
	env := &Env{}
	_, _, err := env.Scenario(context.Background(), "x", Load, load.Plan{Model: load.Closed, Users: 1, Iterations: 1}, FullJourney())
	if err == nil || !strings.Contains(err.Error(), "no accounts") {
		t.Errorf("Scenario without accounts = %v; want an error saying there are no accounts", err)
	}
}

func keys[V any](m map[string]V) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return sortStrings(k)
}

// A run says goldenpath was short of CPU when it read late, and only then:
// a missing read_lag (no socket read by goldenpath itself) says nothing.
func TestReadLagNote(t *testing.T) {
	for _, tc := range []struct {
		name   string
		phases map[string]metrics.Summary
		want   string
	}{
		{"none measured", map[string]metrics.Summary{"login": {Count: 5, P99: 50}}, ""},
		{"prompt", map[string]metrics.Summary{PhaseReadLag: {Count: 100, P99: 0.4, Max: 12}}, ""},
		{"just under", map[string]metrics.Summary{PhaseReadLag: {Count: 100, P99: 9.99, Max: 30}}, ""},
		{"late", map[string]metrics.Summary{PhaseReadLag: {Count: 100, P99: 14.25, Max: 80}}, "up to 14.2 ms after they arrived (read_lag p99; max 80.0 ms)"},
		{"late, journeys on time", map[string]metrics.Summary{PhaseReadLag: {Count: 100, P99: 14.25, Max: 80}, PhaseSchedulingDelay: {Count: 100, P99: 0.001}}, "in none of them"},
		{"late, journeys late", map[string]metrics.Summary{PhaseReadLag: {Count: 100, P99: 14.25, Max: 80}, PhaseSchedulingDelay: {Count: 100, P99: 25}}, "scheduling_delay p99 25.0 ms"},
	} {
		got := ReadLagNote(tc.phases)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: note %q, want one with %q", tc.name, got, tc.want)
		}
		if late := strings.Contains(got, "scheduling_delay"); late != (tc.name == "late, journeys late") {
			t.Errorf("%s: note %q says journeys started late: %v", tc.name, got, late)
		}
	}
}

// A target's Server-Timing names make histograms "server_NAME" (less a
// "_ms"), at most maxServerNames of them however many names it invents,
// and the same name always goes to the same histogram.
func TestServerNamesAreBounded(t *testing.T) {
	r := &recorder{}
	if got := r.serverName("db_ms"); got != "server_db" {
		t.Fatalf("db_ms goes to %q, want server_db", got)
	}
	if got := r.serverName("db"); got != "server_db" {
		t.Fatalf("db goes to %q, want server_db (the same histogram as db_ms)", got)
	}
	for i := range 10 * maxServerNames {
		r.serverName(fmt.Sprintf("n%d_ms", i))
	}
	if len(r.serverNames) != maxServerNames {
		t.Fatalf("%d histograms kept, want the bound %d", len(r.serverNames), maxServerNames)
	}
	if got := r.serverName(fmt.Sprintf("n%d_ms", 10*maxServerNames-1)); got != "" {
		t.Fatalf("a name past the bound goes to %q, want none", got)
	}
	if got := r.serverName("n0_ms"); got != "server_n0" {
		t.Fatalf("n0_ms, kept before the bound, goes to %q", got)
	}
	if got := r.serverName("db_ms"); got != "server_db" {
		t.Fatalf("db_ms now goes to %q", got)
	}
}
