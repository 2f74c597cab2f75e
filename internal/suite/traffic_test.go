package suite

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// TestScenarioRecordsTrafficAndActiveUsers runs 4 full journeys of 2
// users and checks the figures the HTML report draws: the HTTP replies by
// status, the frames by type, the users in a journey each second, and the
// login's latency each second.
func TestScenarioRecordsTrafficAndActiveUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference backend")
	}
	tgt := startBackend(t)
	var accounts []journey.Account
	for range 2 {
		a := journey.Account{Email: "t-" + rand.Text()[:10] + "@example.test", Password: "pw-" + rand.Text()}
		if _, err := journey.Register(context.Background(), tgt, a); err != nil {
			t.Fatalf("Register: %v", err)
		}
		accounts = append(accounts, a)
	}
	env := &Env{Target: tgt, Accounts: accounts, SLA: DefaultSLA(), RunTimeout: 30 * time.Second}
	sc, _, err := env.Scenario(context.Background(), "traffic", Integrated, load.Plan{Model: load.Closed, Users: 2, Iterations: 4}, FullJourney())
	if err != nil || sc.Journeys != 4 {
		t.Fatalf("Scenario = %d journeys, %v; want 4", sc.Journeys, err)
	}
	c := sc.Metrics.Counters
	// Each full journey: login, config, thread create, list, read back, and
	// the upgrade; one request, so one user_message and one agent_completed.
	for name, want := range map[string]int64{
		results.CounterHTTPPrefix + "101": 4, results.CounterHTTPPrefix + "201": 4, results.CounterHTTPPrefix + "200": 16,
		results.CounterWSSentPrefix + "user_message": 4, results.CounterWSReceivedPrefix + "agent_completed": 4,
		results.CounterWSReceivedPrefix + "connection_established": 4,
	} {
		if c[name] != want {
			t.Errorf("counter %s = %d; want %d", name, c[name], want)
		}
	}
	var logins int64
	var peak int64
	for _, pt := range sc.Metrics.Series {
		logins += pt.Latency[journey.PhaseLogin].Count
		peak = max(peak, pt.Gauges[results.GaugeActiveUsers])
	}
	if logins != 4 {
		t.Errorf("the series holds %d logins; want all 4, second by second", logins)
	}
	if peak < 1 || peak > 2 {
		t.Errorf("the series' most users in a journey = %d; want 1 or 2 of the 2 users", peak)
	}
}
