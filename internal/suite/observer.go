package suite

import (
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
)

// Outcomes of an [Observation].
const (
	OutcomeSucceeded = "succeeded" // completed without an error or a finding
	OutcomeFailed    = "failed"    // ended by an error, or completed with a finding
	OutcomeCancelled = "cancelled" // stopped by goldenpath (an interrupt, a scenario's end): not the target's fault
)

// An Observer watches a run while it runs, for live telemetry (package
// internal/live implements it): it is told of every journey that a
// scenario of [Env.Scenario] or [Env.ScenarioFunc] runs, and of the load
// engine's live counts. Journeys of [Env.Quiet] are not observed, as they
// are not recorded.
//
// Its methods are called on the journeys' path, from many goroutines at
// once: they must be quick and must not block.
type Observer interface {
	// Scenario is called as scenario name of suite suiteName starts; what
	// it returns sees that scenario.
	Scenario(name, suiteName string) ScenarioObserver
}

// A ScenarioObserver sees one scenario.
type ScenarioObserver interface {
	// Journey is told how one journey ended.
	Journey(o Observation)
	// Load is told the engine's counts about once a second while the
	// scenario runs, and once when it has ended (active 0): the users
	// running a journey, and the open model's arrivals dropped so far
	// because every user slot was busy.
	Load(active, dropped int64)
}

// Observation is what an [Observer] learns of one journey. Every string
// in it comes from a bounded set, fit for a metric's label: an outcome, an
// error class as results count them (kind, with the HTTP status or close
// code), phase names and finding kinds of package journey.
type Observation struct {
	Outcome string // OutcomeSucceeded, OutcomeFailed or OutcomeCancelled
	// ErrorClass is the class of the error that failed the journey
	// ("http_status:503", "timeout", "violation:seq_gap" for a journey
	// that completed with a finding); "" unless Outcome is OutcomeFailed.
	ErrorClass string
	// Findings are the oracle's findings, the violations (at most 64).
	Findings []journey.Violation
	phases   []journey.Sample
	derived  [2]journey.Sample // ws_handshake, journey_from_intended; Name "" when not measured
}

// EachPhase calls f with each phase the journey measured, in order
// (inter_event several times), then the phases the suites derive:
// ws_handshake and, for a success, journey_from_intended. A cancelled
// journey has none.
func (o *Observation) EachPhase(f func(name string, d time.Duration)) {
	for _, s := range o.phases {
		f(s.Name, s.D)
	}
	for _, s := range o.derived {
		if s.Name != "" {
			f(s.Name, s.D)
		}
	}
}

// Observe tells so how the journey of it ended, as the scenarios'
// recorder does for each journey; a nil so is told nothing.
func Observe(so ScenarioObserver, it load.Iteration, res *journey.Result) {
	if so == nil {
		return
	}
	o := Observation{Outcome: OutcomeSucceeded}
	switch {
	case res.Err != nil && res.Err.Kind == journey.FailCancelled:
		so.Journey(Observation{Outcome: OutcomeCancelled})
		return
	case res.Err != nil:
		o.Outcome, o.ErrorClass = OutcomeFailed, errorClass(res.Err)
	case !res.OK():
		o.Outcome = OutcomeFailed
		if len(res.Violations) > 0 {
			o.ErrorClass = prefixViolation + res.Violations[0].Kind
		} else {
			o.ErrorClass = prefixViolation + "dropped"
		}
	}
	o.Findings, o.phases = res.Violations, res.Phases
	var handshake time.Duration
	for _, s := range res.Phases {
		if s.Name == journey.PhaseWSConnect || s.Name == journey.PhaseWSReady {
			handshake += s.D
		}
	}
	if handshake > 0 {
		o.derived[0] = journey.Sample{Name: PhaseWSHandshake, D: handshake}
	}
	if o.Outcome == OutcomeSucceeded {
		o.derived[1] = journey.Sample{Name: PhaseJourneyIntended, D: res.End.Sub(it.Intended)}
	}
	so.Journey(o)
}
