package suite

import (
	"slices"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
)

// seen is a ScenarioObserver that keeps what it is told.
type seen struct {
	obs    []Observation
	phases [][]string
}

func (s *seen) Journey(o Observation) {
	var ph []string
	o.EachPhase(func(name string, d time.Duration) { ph = append(ph, name+"="+d.String()) })
	s.obs, s.phases = append(s.obs, o), append(s.phases, ph)
}
func (s *seen) Load(active, dropped int64) {}

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
