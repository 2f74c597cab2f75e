// Package suite runs goldenpath's suites — integrated, load (and, later,
// race, memory and regression) — as named checks over scenarios.
//
// A scenario is one load pattern (a [load.Plan] and journey options); its
// measurements are kept raw and mergeable in the results. Checks are
// computed from scenarios and the SLA alone ([Evaluate]), so results merged
// from several segments are judged exactly as a single process's would be.
package suite

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/report"
)

// Phases recorded by the suites on top of the journey's own.
const (
	// PhaseWSHandshake is dial start to connection_established: the
	// WebSocket connection as a user experiences it.
	PhaseWSHandshake = "ws_handshake"
	// PhaseJourneyIntended is the journey measured from its intended
	// start (coordinated-omission corrected, as wrk2 does).
	PhaseJourneyIntended = "journey_from_intended"
	// PhaseSchedulingDelay is how late journeys started.
	PhaseSchedulingDelay = "scheduling_delay"
)

// Counters kept per scenario.
const (
	CounterJourneys  = "journeys"
	CounterSucceeded = "succeeded"
	CounterFailed    = "failed"
	CounterCancelled = "cancelled"
	CounterDropped   = "dropped"
	// CounterTargetPeakRSS is the target's peak resident memory during the
	// scenario, in bytes, when the target can be watched.
	CounterTargetPeakRSS = "target_peak_rss"
	prefixError          = "error:"
	prefixErrorPhase     = "error_phase:"
	prefixViolation      = "violation:"
)

// maxSamples bounds the evidence kept per scenario.
const maxSamples = 12

// Progress is a scenario's state, reported about once a second.
type Progress struct {
	Scenario string
	Elapsed  time.Duration
	Live     *load.Live
	Set      *metrics.Set
}

// Env is what the suites run with.
type Env struct {
	Target     *journey.Target
	Accounts   []journey.Account
	AdminToken string
	SLA        SLA
	// Users is the base concurrency (integrated scenario and the
	// concurrency burst of the load suite).
	Users int
	// Duration is how long each scenario runs.
	Duration time.Duration
	// Rate, when > 0, runs the integrated scenario in the open model at
	// this many journeys per second.
	Rate float64
	// Think is the closed model's pause between a user's journeys.
	Think time.Duration
	// MaxUsers is the capacity search's ceiling; StepDuration its step.
	MaxUsers     int
	StepDuration time.Duration
	Segment      load.Segment
	// RunTimeout bounds one run's terminal event.
	RunTimeout time.Duration
	Progress   func(Progress)
	// Monitor watches the target's process and /metrics; nil when neither
	// can be watched. The memory suite needs it.
	Monitor *monitor.Monitor
	// RaceBuild says the target runs with Go's race detector, whose
	// memory and speed are not the target's: memory checks are skipped.
	RaceBuild bool
	// Regression configures the regression suite: rounds and baselines.
	Regression RegressionOptions
}

// account returns the account of virtual user vu.
func (e *Env) account(vu int) journey.Account { return e.Accounts[vu%len(e.Accounts)] }

// Scenario runs one plan and returns its measurements. interrupted is true
// when ctx ended before the plan did.
func (e *Env) Scenario(ctx context.Context, name, suiteName string, plan load.Plan, jo journey.Options) (sc report.Scenario, interrupted bool, err error) {
	return e.scenario(ctx, name, suiteName, plan, func(load.Iteration) journey.Options { return jo }, nil)
}

// scenario runs a plan with per-iteration journey options; onResult, if
// set, sees every journey's result (for checks of their own).
func (e *Env) scenario(ctx context.Context, name, suiteName string, plan load.Plan, optsFor func(load.Iteration) journey.Options,
	onResult func(load.Iteration, *journey.Result, *metrics.Set)) (sc report.Scenario, interrupted bool, err error) {
	if len(e.Accounts) == 0 {
		return sc, false, fmt.Errorf("suite: no accounts to run %s with", name)
	}
	plan.Segment = e.Segment
	set := newSet()
	rec := &recorder{env: e, set: set, optsFor: optsFor, onResult: onResult}
	live := &load.Live{}
	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	if e.Progress != nil {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			start := time.Now()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					e.Progress(Progress{Scenario: name, Elapsed: time.Since(start), Live: live, Set: set})
				case <-stopProgress:
					return
				}
			}
		}()
	}
	st, err := load.Run(ctx, plan, rec, load.WithLive(live))
	close(stopProgress)
	pwg.Wait()
	if err != nil {
		return sc, false, err
	}
	set.Add(CounterDropped, st.Dropped)
	if e.Monitor != nil { // the target's memory during this scenario
		if p, ok := monitor.PeakOf(e.Monitor.Window(time.Now().Add(-st.Elapsed-time.Second), time.Now()), monitor.FieldRSS); ok {
			if v := rss(p); !math.IsNaN(v) {
				set.Add(CounterTargetPeakRSS, int64(v))
			}
		}
	}
	sc = report.Scenario{
		Name: name, Suite: suiteName, Model: string(plan.Model), Users: plan.Users, Rate: plan.Rate,
		DurationS: st.Elapsed.Seconds(),
		Samples:   rec.samples,
		Metrics:   set.Snapshot(),
	}
	Summarise(&sc)
	return sc, st.Stopped, nil
}

func newSet() *metrics.Set {
	return metrics.NewSet(metrics.WithSeries(time.Now()), metrics.WithSeriesHistograms(journey.PhaseJourney, journey.PhaseFirstEvent))
}

// Summarise fills a scenario's counts, phases, errors and violations from
// its raw metrics (after a run, and after merging segments).
func Summarise(sc *report.Scenario) {
	c := sc.Metrics.Counters
	sc.Journeys, sc.Succeeded, sc.Failed, sc.Dropped = c[CounterJourneys], c[CounterSucceeded], c[CounterFailed], c[CounterDropped]
	if sc.DurationS > 0 {
		sc.Throughput = float64(sc.Succeeded) / sc.DurationS
	}
	sc.Phases = sc.Metrics.Summaries()
	sc.Errors, sc.Violations = map[string]int64{}, map[string]int64{}
	for k, v := range c {
		switch {
		case strings.HasPrefix(k, prefixError):
			sc.Errors[strings.TrimPrefix(k, prefixError)] = v
		case strings.HasPrefix(k, prefixViolation):
			sc.Violations[strings.TrimPrefix(k, prefixViolation)] = v
		}
	}
}

// recorder runs one journey per iteration and records what it measured.
type recorder struct {
	env      *Env
	set      *metrics.Set
	optsFor  func(load.Iteration) journey.Options
	onResult func(load.Iteration, *journey.Result, *metrics.Set)

	mu          sync.Mutex
	samples     []report.Sample
	serverNames map[string]bool
}

// maxServerNames bounds the server_* histograms one scenario keeps: their
// names come from the target's Server-Timing headers, and a target that
// invents a new name per reply must not grow our memory without limit.
const maxServerNames = 32

func (r *recorder) allowServerName(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.serverNames == nil {
		r.serverNames = map[string]bool{}
	}
	if r.serverNames[name] {
		return true
	}
	if len(r.serverNames) >= maxServerNames {
		return false
	}
	r.serverNames[name] = true
	return true
}

func (r *recorder) sample(s report.Sample) {
	r.mu.Lock()
	if len(r.samples) < maxSamples {
		r.samples = append(r.samples, s)
	}
	r.mu.Unlock()
}

func (r *recorder) Execute(ctx context.Context, it load.Iteration) {
	jo := r.optsFor(it)
	if jo.RunTimeout == 0 {
		jo.RunTimeout = r.env.RunTimeout
	}
	res := journey.Run(ctx, r.env.Target, r.env.account(it.VU), jo)
	if res.Err != nil && res.Err.Kind == journey.FailCancelled {
		r.set.Add(CounterCancelled, 1) // stopped by us (Ctrl-C, grace), not the target's fault
		return
	}
	if r.onResult != nil {
		r.onResult(it, res, r.set)
	}
	r.set.Add(CounterJourneys, 1)
	r.set.Record(PhaseSchedulingDelay, it.Started.Sub(it.Intended))
	var handshake time.Duration
	for _, s := range res.Phases {
		r.set.Record(s.Name, s.D)
		if s.Name == journey.PhaseWSConnect || s.Name == journey.PhaseWSReady {
			handshake += s.D
		}
	}
	if handshake > 0 {
		r.set.Record(PhaseWSHandshake, handshake)
	}
	for _, st := range res.Server {
		if name := "server_" + strings.TrimSuffix(st.Name, "_ms"); r.allowServerName(name) {
			r.set.Record(name, time.Duration(st.MS*float64(time.Millisecond)))
		}
	}
	for _, v := range res.Violations {
		r.set.Add(prefixViolation+v.Kind, 1)
		r.sample(report.Sample{Kind: "violation:" + v.Kind, Detail: v.Detail, Frame: v.Sample})
	}
	if res.Err != nil {
		r.set.Add(CounterFailed, 1)
		r.set.Add(prefixError+errorClass(res.Err), 1)
		phase := res.Err.Phase
		if phase == "" {
			phase = "none"
		}
		r.set.Add(prefixErrorPhase+phase, 1)
		r.sample(report.Sample{Kind: errorClass(res.Err), Phase: res.Err.Phase, Detail: res.Err.Message, Frame: res.Err.Sample})
		return
	}
	r.set.Add(CounterSucceeded, 1)
	r.set.Record(PhaseJourneyIntended, res.End.Sub(it.Intended))
}

// errorClass is a bounded label for an error: its kind, with the status or
// close code where there is one.
func errorClass(e *journey.Error) string {
	switch {
	case e.Status != 0:
		return fmt.Sprintf("%s:%d", e.Kind, e.Status)
	case e.CloseCode != 0:
		return fmt.Sprintf("%s:%d", e.Kind, e.CloseCode)
	}
	return e.Kind
}

// phaseErrors is how many journeys failed in one of phases.
func phaseErrors(sc report.Scenario, phases ...string) int64 {
	var n int64
	for _, p := range phases {
		n += sc.Metrics.Counters[prefixErrorPhase+p]
	}
	return n
}

// find returns the scenario named name, or nil.
func find(scs []report.Scenario, name string) *report.Scenario {
	i := slices.IndexFunc(scs, func(s report.Scenario) bool { return s.Name == name })
	if i < 0 {
		return nil
	}
	return &scs[i]
}
