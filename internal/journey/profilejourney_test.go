package journey_test

import (
	"context"
	"crypto/rand"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

// profileTarget is b's URL spoken to through the built-in profile name.
func profileTarget(tb testing.TB, url, name string, spec journey.ProfileSpec) *journey.Target {
	tb.Helper()
	p, err := profile.Load(name)
	if err != nil {
		tb.Fatal(err)
	}
	spec.Profile = p
	t, err := journey.NewTarget(url, journey.WithProfile(spec))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestProfileJourneyGoldenpathOnTheReferenceBackend(t *testing.T) {
	b := startBackend(t, "", nil)
	tgt := profileTarget(t, b.url, "goldenpath", journey.ProfileSpec{})
	var steps []string
	opts := journey.Options{Messages: 2, ConfigAccess: true, DBOps: true, RunTimeout: 10 * time.Second,
		Trace: func(step string, _ []byte) { steps = append(steps, step) }}
	res := journey.Run(context.Background(), tgt, b.account(t), opts)
	if !res.OK() {
		t.Fatalf("journey failed: %v %+v", res.Err, res.Violations)
	}
	if res.Runs != 2 {
		t.Errorf("Runs = %d, want 2", res.Runs)
	}
	for _, ph := range []string{journey.PhaseLogin, journey.PhaseConfigAccess, journey.PhaseWSConnect, journey.PhaseWSReady,
		journey.PhaseFirstEvent, journey.PhaseFirstToken, journey.PhaseAgentExecution, journey.PhaseAnswer, journey.PhaseJourney, journey.PhaseDBOperation} {
		if count(res, ph) == 0 {
			t.Errorf("no %s sample", ph)
		}
	}
	if count(res, journey.PhaseAnswer) != 2 {
		t.Errorf("answer samples = %d, want 2", count(res, journey.PhaseAnswer))
	}
	joined := strings.Join(steps, "\n")
	for _, want := range []string{"handshake[0] wait: matched connection_established", "request 2", "run event: completed agent_completed"} {
		if !strings.Contains(joined, want) {
			t.Errorf("trace lacks %q:\n%s", want, joined)
		}
	}
}

func TestProfileJourneyGoldenpathSeesDroppedEvents(t *testing.T) {
	b := startBackend(t, "drop-events=2", nil)
	tgt := profileTarget(t, b.url, "goldenpath", journey.ProfileSpec{})
	found := map[string]int{}
	for range 4 {
		res := journey.Run(context.Background(), tgt, b.account(t), journey.Options{RunTimeout: 500 * time.Millisecond})
		for _, k := range kinds(res.Violations) {
			found[k]++
		}
		if res.Err != nil {
			found["error:"+res.Err.Kind]++
		}
	}
	if found[journey.ViolationSeqGap] == 0 {
		t.Errorf("4 journeys with every 2nd event dropped: no seq_gap; found %v", found)
	}
}

func TestProfileJourneyOpenAIOnTheReferenceBackend(t *testing.T) {
	b := startBackend(t, "", map[string]string{"think_ms": "20"})
	tgt := profileTarget(t, b.url, "openai", journey.ProfileSpec{Model: "goldenpath-sim"})
	res := journey.Run(context.Background(), tgt, journey.Account{}, journey.Options{Messages: 2, RunTimeout: 10 * time.Second})
	if !res.OK() {
		t.Fatalf("journey failed: %v %+v", res.Err, res.Violations)
	}
	if res.Runs != 2 || res.Tokens < 4 {
		t.Errorf("Runs = %d, Tokens = %d; want 2 runs of several tokens", res.Runs, res.Tokens)
	}
	for _, ph := range []string{journey.PhaseFirstToken, journey.PhaseInterToken, journey.PhaseTPOT, journey.PhaseAnswer, journey.PhaseJourney} {
		if count(res, ph) == 0 {
			t.Errorf("no %s sample", ph)
		}
	}
	if count(res, journey.PhaseLogin) != 0 || count(res, journey.PhaseWSConnect) != 0 {
		t.Errorf("an openai journey has no login and no socket, yet measured them: %+v", res.Phases)
	}
}

func TestProfileJourneyOpenAIWrongModelNamesTheError(t *testing.T) {
	b := startBackend(t, "", nil)
	tgt := profileTarget(t, b.url, "openai", journey.ProfileSpec{Model: "no-such-model"})
	res := journey.Run(context.Background(), tgt, journey.Account{}, journey.Options{RunTimeout: 5 * time.Second})
	if res.Err == nil || res.Err.Status != 404 || !strings.Contains(res.Err.Message, "model") {
		t.Fatalf("Err = %v, want a 404 naming the model", res.Err)
	}
}

const testBypassKey = "bypass-key-for-tests"

// startNetra starts the reference backend speaking Netra.
func startNetra(tb testing.TB, faults string) *backend {
	return startBackend(tb, faults, nil, func(c *server.Config) {
		c.Protocol, c.BypassKey = server.ProtocolNetra, testBypassKey
	})
}

func TestProfileJourneyNetraOnTheReferenceBackend(t *testing.T) {
	b := startNetra(t, "")
	for _, bypass := range []string{"", testBypassKey} {
		t.Run("bypass="+strconv.FormatBool(bypass != ""), func(t *testing.T) {
			tgt := profileTarget(t, b.url, "netra", journey.ProfileSpec{BypassKey: bypass})
			acct := journey.Account{Email: "vu-" + rand.Text()[:8] + "@example.test", Password: "pw-" + rand.Text()}
			if bypass == "" {
				if err := journey.ProfileRegister(context.Background(), tgt, acct); err != nil {
					t.Fatal(err)
				}
			}
			var steps []string
			res := journey.Run(context.Background(), tgt, acct, journey.Options{Messages: 2, RunTimeout: 10 * time.Second,
				Trace: func(step string, _ []byte) { steps = append(steps, step) }})
			if !res.OK() {
				t.Fatalf("journey failed: %v %+v\n%s", res.Err, res.Violations, strings.Join(steps, "\n"))
			}
			if res.Runs != 2 {
				t.Errorf("Runs = %d, want 2", res.Runs)
			}
			if bypass != "" && !strings.HasPrefix(res.UserID, "e2e-") {
				t.Errorf("bypass user id %q, want e2e-<local part>", res.UserID)
			}
			for _, ph := range []string{journey.PhaseLogin, journey.PhaseWSConnect, journey.PhaseWSReady, journey.PhaseFirstEvent, journey.PhaseAnswer} {
				if count(res, ph) == 0 {
					t.Errorf("no %s sample", ph)
				}
			}
			joined := strings.Join(steps, "\n")
			for _, want := range []string{"handshake[1] send", "handshake[2] wait: matched handshake_complete", "skipped: system_message"} {
				if !strings.Contains(joined, want) {
					t.Errorf("trace lacks %q:\n%s", want, joined)
				}
			}
		})
	}
}

func TestProfileJourneyNetraCatchesCrossUserEvents(t *testing.T) {
	b := startNetra(t, "cross-user")
	tgt := profileTarget(t, b.url, "netra", journey.ProfileSpec{BypassKey: testBypassKey})
	var mu sync.Mutex
	found := map[string]int{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acct := journey.Account{Email: "x" + strconv.Itoa(i) + "-" + rand.Text()[:6] + "@example.test"}
			res := journey.Run(context.Background(), tgt, acct, journey.Options{RunTimeout: 2 * time.Second})
			mu.Lock()
			defer mu.Unlock()
			for _, k := range kinds(res.Violations) {
				found[k]++
			}
		}()
	}
	wg.Wait()
	if found[journey.ViolationForeignUser] == 0 {
		t.Errorf("8 concurrent journeys on a backend that routes events to the wrong user: no foreign_user; found %v", found)
	}
}
