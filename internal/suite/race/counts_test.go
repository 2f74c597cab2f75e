package race

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// referenceEnv starts the reference backend on a free loopback port, with
// a real SQLite database, registers accounts for users 0 to n-1 and 1000 to
// 1009 (the database scenario's), and returns an environment on it.
func referenceEnv(t *testing.T, n int) *suite.Env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), JWTSecret: []byte("0123456789abcdef0123456789abcdef-race-test"),
		HashCost: 4, DrainTimeout: 2 * time.Second, AdminToken: "admin-secret", Overrides: map[string]string{"think_ms": "0"},
	})
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if err := journey.WaitReady(ctx, srv.URL(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	tgt, err := journey.NewTarget(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	accounts := make([]journey.Account, 1010)
	for i := range accounts {
		if i >= n && i < 1000 {
			continue
		}
		accounts[i] = journey.Account{Email: "r-" + rand.Text()[:10] + "@example.test", Password: "pw-" + rand.Text()}
		if _, err := journey.Register(ctx, tgt, accounts[i]); err != nil {
			t.Fatalf("Register: %v", err)
		}
	}
	return &suite.Env{Target: tgt, Accounts: accounts, AdminToken: "admin-secret", SLA: suite.DefaultSLA(), Users: n,
		Duration: time.Second, RunTimeout: 10 * time.Second}
}

// TestDrivenScenariosCountUsersAndJourneys checks that the race scenarios
// the suite drives by hand say how many users they ran and what they did:
// each cleanup client's cycle and each database user's session is a
// journey, and the config scenario's reads and writes are operations.
func TestDrivenScenariosCountUsersAndJourneys(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference backend")
	}
	e := referenceEnv(t, 4)
	ctx := t.Context()
	cleanup, _, err := raceCleanup(ctx, e, 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	db, _, err := raceDB(ctx, e, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	config, _, err := raceConfig(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sc                 results.Scenario
		users, journeys    int
		operations, failed bool
	}{
		{cleanup, 4, 4, false, false},
		{db, 10, 10, false, false},
		{config, configReaders + 1, 0, true, false},
	} {
		sc := tc.sc
		if sc.Users != tc.users || sc.Journeys != int64(tc.journeys) || sc.Succeeded != int64(tc.journeys) || sc.Failed != 0 {
			t.Errorf("%s: %d users, %d journeys (%d ok, %d failed); want %d users, %d journeys, all ok (samples %+v)",
				sc.Name, sc.Users, sc.Journeys, sc.Succeeded, sc.Failed, tc.users, tc.journeys, sc.Samples)
		}
		if ops := sc.Metrics.Counters[results.CounterOperations]; (ops > 0) != tc.operations {
			t.Errorf("%s: %d operations; want them counted: %t", sc.Name, ops, tc.operations)
		}
	}
	if c := config.Metrics.Counters; c[results.CounterOperations] < c[cConfigReads]+c[cConfigWrites] {
		t.Errorf("race_config: %d operations, fewer than its %d reads and %d writes", c[results.CounterOperations], c[cConfigReads], c[cConfigWrites])
	}
}
