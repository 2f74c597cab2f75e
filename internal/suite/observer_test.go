package suite

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
)

// seen is a ScenarioObserver that keeps what it is told.
type seen struct {
	mu                  sync.Mutex
	obs                 []Observation
	phases              [][]string
	loads               int
	lastActive, dropped int64
}

func (s *seen) Journey(o Observation) {
	var ph []string
	o.EachPhase(func(name string, d time.Duration) { ph = append(ph, name+"="+d.String()) })
	s.mu.Lock()
	defer s.mu.Unlock()
	s.obs, s.phases = append(s.obs, o), append(s.phases, ph)
}

func (s *seen) Load(active, dropped int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	s.lastActive, s.dropped = active, dropped
}

// observerFunc adapts a function to Observer.
type observerFunc func(name, suiteName string) ScenarioObserver

func (f observerFunc) Scenario(name, suiteName string) ScenarioObserver { return f(name, suiteName) }

// TestScenarioTellsItsObserver: Env.Scenario tells Env.Observer of every
// journey it records and, at its end, of the arrivals it dropped, the same
// counts as the scenario's results.
func TestScenarioTellsItsObserver(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(40 * time.Millisecond) // one user slot, busy: most arrivals are dropped
		http.Error(w, `{"error":{"code":"unavailable","message":"down"}}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	tgt, err := journey.NewTarget(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var so seen
	var named []string
	env := &Env{Target: tgt, Accounts: []journey.Account{{Email: "a@example.test", Password: "secret-pw"}},
		Observer: observerFunc(func(name, suiteName string) ScenarioObserver {
			named = append(named, name+"/"+suiteName)
			return &so
		})}
	plan := load.Plan{Model: load.Open, Rate: 200, Users: 1, Duration: 1500 * time.Millisecond}
	sc, _, err := env.Scenario(context.Background(), "open", Integrated, plan, FullJourney())
	if err != nil {
		t.Fatalf("Scenario: %v", err)
	}
	failed := 0
	for _, o := range so.obs {
		if o.Outcome == OutcomeFailed && o.ErrorClass == "http_status:503" {
			failed++
		}
	}
	if !slices.Equal(named, []string{"open/integrated"}) || int64(failed) != sc.Failed || sc.Failed == 0 || int64(len(so.obs)) != sc.Journeys+sc.Metrics.Counters[CounterCancelled] {
		t.Errorf("the observer was asked for %q and told of %d journeys, %d failed with http_status:503; the scenario counts %d journeys, %d failed, %d cancelled: want one scenario, every journey told",
			named, len(so.obs), failed, sc.Journeys, sc.Failed, sc.Metrics.Counters[CounterCancelled])
	}
	if so.dropped != sc.Dropped || sc.Dropped == 0 || so.lastActive != 0 || so.loads < 2 {
		t.Errorf("the observer's last Load was (%d active, %d dropped) after %d calls; the scenario dropped %d: want the same count, 0 active at the end, and a call a second while it ran",
			so.lastActive, so.dropped, so.loads, sc.Dropped)
	}
}

func TestObserveTellsTheOutcome(t *testing.T) {
	start := time.Now()
	phases := []journey.Sample{{Name: journey.PhaseLogin, D: 3 * time.Millisecond}, {Name: journey.PhaseWSConnect, D: 2 * time.Millisecond},
		{Name: journey.PhaseWSReady, D: time.Millisecond}}
	it := load.Iteration{Intended: start.Add(-time.Millisecond), Started: start}
	tests := []struct {
		name       string
		res        *journey.Result
		outcome    string
		class      string
		wantPhases []string
	}{
		{"success", &journey.Result{Start: start, End: start.Add(9 * time.Millisecond), Phases: phases}, OutcomeSucceeded, "",
			[]string{"login=3ms", "ws_connect=2ms", "ws_ready=1ms", "ws_handshake=3ms", "journey_from_intended=10ms"}},
		{"an error with a status", &journey.Result{Phases: phases[:1], Err: &journey.Error{Kind: journey.FailHTTPStatus, Status: 503}}, OutcomeFailed, "http_status:503",
			[]string{"login=3ms"}},
		{"a close code", &journey.Result{Err: &journey.Error{Kind: journey.FailClose, CloseCode: 1006}}, OutcomeFailed, "close:1006", nil},
		{"completed with a finding", &journey.Result{Start: start, End: start, Phases: phases[:1], Violations: []journey.Violation{{Kind: journey.ViolationSeqGap}}},
			OutcomeFailed, "violation:seq_gap", []string{"login=3ms"}},
		{"cancelled", &journey.Result{Phases: phases, Err: &journey.Error{Kind: journey.FailCancelled}}, OutcomeCancelled, "", nil},
	}
	for _, tt := range tests {
		var s seen
		Observe(&s, it, tt.res)
		Observe(nil, it, tt.res) // nil-safe
		if len(s.obs) != 1 {
			t.Fatalf("%s: Observe told the observer %d times; want once", tt.name, len(s.obs))
		}
		o := s.obs[0]
		if o.Outcome != tt.outcome || o.ErrorClass != tt.class || !slices.Equal(s.phases[0], tt.wantPhases) {
			t.Errorf("%s: Observe told outcome %q, class %q, phases %q; want %q, %q, %q", tt.name, o.Outcome, o.ErrorClass, s.phases[0], tt.outcome, tt.class, tt.wantPhases)
		}
		if len(o.Findings) != len(tt.res.Violations) && tt.outcome != OutcomeCancelled {
			t.Errorf("%s: %d findings told; want the journey's %d", tt.name, len(o.Findings), len(tt.res.Violations))
		}
	}
}
