// Package suite runs goldenpath's suites as named checks over scenarios.
//
// A scenario is one load pattern (a [load.Plan] and journey options); its
// measurements are kept raw and mergeable in the results. Checks are
// computed from scenarios and the SLA alone ([Evaluate]), so results merged
// from several segments are judged exactly as a single process's would be.
//
// This package holds what every suite shares — the [Env] they run with,
// the scenario runner ([Env.Scenario]), the [SLA] and its parser, the
// check helpers — and the integrated and load suites with the capacity
// search. The race, memory and regression suites each live in a package
// of their own below this one (internal/suite/race, .../memory,
// .../regression), which import this one; internal/suite/catalog lists
// all five. A [Suite] is a value, so [Lookup] and [Evaluate] take the
// suites to consider.
package suite

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/monitor"
	"github.com/goldenpath-dev/goldenpath/internal/procs"
	"github.com/goldenpath-dev/goldenpath/internal/results"
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
	// PhaseReadLag is, per journey, the longest its replies and frames
	// waited in the kernel before goldenpath read them ([journey.Result.ReadLag]):
	// the generator's own delay, which no other phase includes.
	PhaseReadLag = "read_lag"
)

// Counters kept per scenario.
const (
	CounterJourneys  = "journeys"
	CounterSucceeded = "succeeded"
	CounterFailed    = "failed"
	CounterCancelled = "cancelled"
	CounterDropped   = "dropped"
	// CounterJourneyMS and CounterFailingMS are the time spent in
	// journeys and in failed journeys, summed over users, in
	// milliseconds; CounterBackoffMS the time users backed off after
	// failed journeys ([load.Plan.Backoff]), CounterBackoffs how often.
	CounterJourneyMS = "journey_time_ms"
	CounterFailingMS = "failing_time_ms"
	CounterBackoffMS = "backoff_time_ms"
	CounterBackoffs  = "backoffs"
	// CounterGeneratorCPUUS is goldenpath's own CPU time (user + system)
	// while the scenario ran, in microseconds.
	CounterGeneratorCPUUS = "generator_cpu_us"
	// CounterWSReadyUnseen counts the journeys whose HTTP 101 and
	// connection_established could not be told apart in time
	// ([journey.Result.ReadyUnseen]): they have no ws_ready sample.
	CounterWSReadyUnseen = "ws_ready_unseen"
	// CounterTargetPeakRSS is the target's peak resident memory during the
	// scenario, in bytes, when the target can be watched.
	CounterTargetPeakRSS = "target_peak_rss"
	prefixError          = results.CounterErrorPrefix
	prefixErrorPhase     = results.CounterErrorPhasePrefix
	prefixViolation      = results.CounterViolationPrefix
)

// ReadLagNoteAt is the read_lag p99 from which a run's results say that
// goldenpath was short of CPU ([ReadLagNote]); a scheduling_delay p99 from
// it on says the load it offered fell behind too.
const ReadLagNoteAt = 10 * time.Millisecond

// ReadLagNote is what a reader of the results should know when goldenpath
// read what arrived late (read_lag p99 of at least [ReadLagNoteAt] over
// the run's phases); "" otherwise.
func ReadLagNote(phases map[string]metrics.Summary) string {
	at := float64(ReadLagNoteAt) / float64(time.Millisecond)
	s, ok := phases[PhaseReadLag]
	if !ok || s.Count == 0 || s.P99 < at {
		return ""
	}
	n := fmt.Sprintf("goldenpath read replies and frames up to %.1f ms after they arrived (read_lag p99; max %.1f ms): "+
		"the machine was short of CPU for it. Phases are timed to arrival, so this wait is in none of them", s.P99, s.Max)
	if d, ok := phases[PhaseSchedulingDelay]; ok && d.Count > 0 && d.P99 >= at {
		n += fmt.Sprintf("; but journeys also started late (scheduling_delay p99 %.1f ms): the load offered fell behind its schedule. "+
			"Give goldenpath more CPU, or run fewer users per process", d.P99)
	}
	return n
}

// MaxSamples bounds the evidence samples kept per scenario.
const MaxSamples = 12

// Scenario runs one plan and returns its measurements. interrupted is true
// when ctx ended before the plan did.
func (e *Env) Scenario(ctx context.Context, name, suiteName string, plan load.Plan, jo journey.Options) (sc results.Scenario, interrupted bool, err error) {
	return e.ScenarioFunc(ctx, name, suiteName, plan, func(load.Iteration) journey.Options { return jo }, nil)
}

// ScenarioFunc is [Env.Scenario] with journey options per iteration;
// onResult, when set, sees every journey's result that was not cancelled
// before it is recorded, with the scenario's metrics, for checks of a
// suite's own (it may be called from many goroutines at once).
func (e *Env) ScenarioFunc(ctx context.Context, name, suiteName string, plan load.Plan, optsFor func(load.Iteration) journey.Options,
	onResult func(load.Iteration, *journey.Result, *metrics.Set)) (sc results.Scenario, interrupted bool, err error) {
	if len(e.Accounts) == 0 {
		return sc, false, fmt.Errorf("suite: no accounts to run %s with", name)
	}
	plan.Segment = e.Segment
	set := newSet()
	rec := &recorder{env: e, set: set, optsFor: optsFor, onResult: onResult}
	if e.Observer != nil {
		rec.obs = e.Observer.Scenario(name, suiteName)
	}
	live := &load.Live{}
	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	if e.Progress != nil || rec.obs != nil {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			start := time.Now()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					if e.Progress != nil {
						e.Progress(Progress{Scenario: name, Elapsed: time.Since(start), Live: live, Set: set})
					}
					if rec.obs != nil {
						rec.obs.Load(live.Active.Load(), live.Dropped.Load())
					}
				case <-stopProgress:
					return
				}
			}
		}()
	}
	cpu0, cpuOK := procs.ProcessCPU()
	// The users in a journey each second, for the report's active users:
	// read at each journey's start (the peaks) and polled (the seconds
	// in which none starts).
	stopActive := set.Poll(results.GaugeActiveUsers, 250*time.Millisecond, rec.active.Load)
	st, err := load.Run(ctx, plan, rec, load.WithLive(live))
	stopActive()
	flushJourneyLog()
	if cpu1, ok := procs.ProcessCPU(); ok && cpuOK {
		// goldenpath's own CPU while the scenario ran: what a journey costs
		// the generator (the whole process: the engine, the journeys, the
		// monitor's scrapes).
		set.Add(CounterGeneratorCPUUS, (cpu1 - cpu0).Microseconds())
	}
	close(stopProgress)
	pwg.Wait()
	if rec.obs != nil {
		rec.obs.Load(0, live.Dropped.Load())
	}
	if err != nil {
		return sc, false, err
	}
	set.Add(CounterDropped, st.Dropped)
	set.Add(CounterBackoffs, st.Backoffs)
	set.Add(CounterBackoffMS, st.BackoffTime.Milliseconds())
	if e.Monitor != nil { // the target's memory during this scenario
		end := time.Now()
		recordTargetMemory(ctx, e.Monitor, set, end.Add(-st.Elapsed), end)
	}
	sc = results.Scenario{
		Name: name, Suite: suiteName, Model: string(plan.Model), Users: plan.Users, Rate: plan.Rate,
		DurationS:  st.Elapsed.Seconds(),
		Samples:    rec.samples,
		Metrics:    set.Snapshot(),
		Unmeasured: Unmeasured(e.Profile),
	}
	if e.Journey == JourneyMinimal {
		jo := optsFor(load.Iteration{})
		lacks := func(ph string) {
			if sc.Unmeasured == nil {
				sc.Unmeasured = map[string]string{}
			}
			if _, set := sc.Unmeasured[ph]; !set {
				sc.Unmeasured[ph] = "--journey minimal leaves out the config read and the store checks"
			}
		}
		if !jo.ConfigAccess {
			lacks(journey.PhaseConfigAccess)
		}
		if !jo.DBOps {
			lacks(journey.PhaseDBOperation)
			lacks(StepReadBack)
		}
	}
	if e.Profile != nil {
		sc.Profile = e.Profile.Profile.Name
	}
	Summarise(&sc)
	return sc, st.Stopped, nil
}

func newSet() *metrics.Set {
	return metrics.NewSet(metrics.WithSeries(time.Now()), metrics.WithSeriesHistograms(journey.PhaseJourney, journey.PhaseFirstEvent, journey.PhaseLogin))
}

// Summarise fills a scenario's counts, phases, errors and violations from
// its raw metrics (after a run, and after merging segments).
func Summarise(sc *results.Scenario) {
	c := sc.Metrics.Counters
	sc.Journeys, sc.Succeeded, sc.Failed, sc.Dropped = c[CounterJourneys], c[CounterSucceeded], c[CounterFailed], c[CounterDropped]
	sc.Operations = c[results.CounterOperations]
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
	obs      ScenarioObserver // nil: not observed
	active   atomic.Int64     // journeys running

	mu           sync.Mutex
	samples      []results.Sample
	serverNames  map[string]bool   // the server_* histograms kept
	serverNameOf map[string]string // a timing's name: its histogram's, "" for none
}

// maxServerNames bounds the server_* histograms one scenario keeps: their
// names come from the target's Server-Timing headers, and a target that
// invents a new name per reply must not grow our memory without limit.
const maxServerNames = 32

// serverName is the histogram a server timing named raw goes to
// ("server_" and raw less a "_ms"), or "" once the scenario keeps
// maxServerNames others. What each raw name goes to is kept, up to a
// bound, so that a journey's timings make no new strings.
func (r *recorder) serverName(raw string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name, ok := r.serverNameOf[raw]; ok {
		return name
	}
	if r.serverNames == nil {
		r.serverNames, r.serverNameOf = map[string]bool{}, map[string]string{}
	}
	name := "server_" + strings.TrimSuffix(raw, "_ms")
	if !r.serverNames[name] {
		if len(r.serverNames) >= maxServerNames {
			name = ""
		} else {
			r.serverNames[name] = true
		}
	}
	if len(r.serverNameOf) < 4*maxServerNames {
		r.serverNameOf[raw] = name
	}
	return name
}

// sample keeps s as evidence: the first MaxSamples samples, except that
// a sample of a kind not yet kept replaces the last kept one of the most
// frequent kind, so that every kind found has an example (a lost write
// among a hundred timeouts is named).
func (r *recorder) sample(s results.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = keepSample(r.samples, s)
}

// keepSample adds s to kept as [recorder.sample] describes.
func keepSample(kept []results.Sample, s results.Sample) []results.Sample {
	if len(kept) < MaxSamples {
		return append(kept, s)
	}
	n := map[string]int{}
	for _, k := range kept {
		n[k.Kind]++
	}
	if n[s.Kind] > 0 {
		return kept
	}
	most := ""
	for k, c := range n {
		if c > n[most] || c == n[most] && k < most {
			most = k
		}
	}
	if n[most] < 2 {
		return kept // one of each kind already: keep the first found
	}
	for i := len(kept) - 1; i >= 0; i-- {
		if kept[i].Kind == most {
			return append(append(kept[:i:i], kept[i+1:]...), s)
		}
	}
	return kept
}

// Execute runs one journey and reports whether it succeeded (a cancelled
// one is not a failure: the engine must not back off for it).
func (r *recorder) Execute(ctx context.Context, it load.Iteration) bool {
	return load.Await(ctx, it, r.Start)
}

// Start begins one journey and calls done with what Execute returns: the
// engine holds no goroutine for the user while the journey waits
// ([load.Starter]).
func (r *recorder) Start(ctx context.Context, it load.Iteration, done func(bool)) {
	r.set.Gauge(results.GaugeActiveUsers, r.active.Add(1))
	jo := r.optsFor(it)
	if jo.RunTimeout == 0 {
		jo.RunTimeout = r.env.RunTimeout
	}
	foreign := new(foreignOwners)
	jo.Foreign = foreign.watch(jo.Foreign)
	jo.LocalPort = journeyLogOn()
	journey.Start(ctx, r.env.Target, r.env.Account(it.VU), jo, func(res *journey.Result) {
		ok := r.record(ctx, it, res, foreign)
		r.active.Add(-1)
		done(ok)
	})
}

// record takes one journey's result into the scenario's metrics and
// reports whether it succeeded.
func (r *recorder) record(ctx context.Context, it load.Iteration, res *journey.Result, foreign *foreignOwners) bool {
	Observe(r.obs, it, res)
	if res.LocalPort != 0 {
		logJourney(res)
	}
	at := r.set.At() // every value below is of this journey's end
	if res.Err != nil && res.Err.Kind == journey.FailCancelled {
		at.Add(CounterCancelled, 1) // stopped by us (Ctrl-C, grace), not the target's fault
		return true
	}
	if r.onResult != nil {
		r.onResult(it, res, r.set)
	}
	at.Add(CounterJourneys, 1)
	recordTraffic(at, res)
	took := res.End.Sub(res.Start).Milliseconds()
	at.Add(CounterJourneyMS, took)
	if !res.OK() {
		at.Add(CounterFailingMS, took)
	}
	at.Record(PhaseSchedulingDelay, it.Started.Sub(it.Intended))
	if res.ReadLag > 0 {
		at.Record(PhaseReadLag, res.ReadLag)
	}
	if res.ReadyUnseen {
		at.Add(CounterWSReadyUnseen, 1)
	}
	recordChat(at, res, r.env.SLA)
	var handshake time.Duration
	for _, s := range res.Phases {
		at.Record(s.Name, s.D)
		if s.Name == journey.PhaseWSConnect || s.Name == journey.PhaseWSReady {
			handshake += s.D
		}
	}
	if handshake > 0 {
		at.Record(PhaseWSHandshake, handshake)
	}
	for _, st := range res.Server {
		if name := r.serverName(st.Name); name != "" {
			at.Record(name, time.Duration(st.MS*float64(time.Millisecond)))
		}
	}
	for _, v := range res.Violations {
		at.Add(prefixViolation+v.Kind, 1)
		r.sample(results.Sample{Kind: prefixViolation + v.Kind, Detail: v.Detail, Frame: v.Sample,
			Users: foreign.users(it, res, v.Kind == journey.ViolationForeignData)})
	}
	if res.Err != nil {
		at.Add(CounterFailed, 1)
		at.Add(prefixError+errorClass(res.Err), 1)
		phase := res.Err.Phase
		if phase == "" {
			phase = "none"
		}
		at.Add(prefixErrorPhase+phase, 1)
		r.sample(results.Sample{Kind: errorClass(res.Err), Phase: res.Err.Phase, Detail: res.Err.Message, Frame: res.Err.Sample,
			Users: foreign.users(it, res, false)})
		return false
	}
	if !res.OK() {
		// Completed, but with a finding: not a success. It fails as its
		// first finding (error class violation:KIND), in no phase.
		at.Add(CounterFailed, 1)
		at.Add(prefixError+prefixViolation+res.Violations[0].Kind, 1)
		return false
	}
	at.Add(CounterSucceeded, 1)
	at.Record(PhaseJourneyIntended, res.End.Sub(it.Intended))
	return true
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

// PhaseErrors is how many journeys of sc failed in one of phases.
func PhaseErrors(sc results.Scenario, phases ...string) int64 {
	var n int64
	for _, p := range phases {
		n += sc.Metrics.Counters[prefixErrorPhase+p]
	}
	return n
}

// Find returns the scenario named name, or nil.
func Find(scs []results.Scenario, name string) *results.Scenario {
	i := slices.IndexFunc(scs, func(s results.Scenario) bool { return s.Name == name })
	if i < 0 {
		return nil
	}
	return &scs[i]
}

// Quiet runs a plan of journeys without progress output or recording;
// count, when set, sees the outcome of each journey that was not
// interrupted: nil when it completed without a violation, else why not.
// The memory suite measures under such load, the regression suite warms up
// with it.
func (e *Env) Quiet(ctx context.Context, plan load.Plan, jo journey.Options, count func(error)) error {
	plan.Segment = e.Segment
	_, err := load.Run(ctx, plan, quietExec{e: e, jo: jo, count: count})
	return err
}

// quietExec is Quiet's executor: journeys counted, nothing recorded.
type quietExec struct {
	e     *Env
	jo    journey.Options
	count func(error)
}

func (q quietExec) Execute(ctx context.Context, it load.Iteration) bool {
	return load.Await(ctx, it, q.Start)
}

func (q quietExec) Start(ctx context.Context, it load.Iteration, done func(bool)) {
	journey.Start(ctx, q.e.Target, q.e.Account(it.VU), q.jo, func(res *journey.Result) {
		done(q.outcome(ctx, res))
	})
}

// outcome counts res and reports whether it succeeded.
func (q quietExec) outcome(ctx context.Context, res *journey.Result) bool {
	if q.count == nil || ctx.Err() != nil { // interrupted: neither done nor failed
		return res.OK() || ctx.Err() != nil
	}
	switch {
	case res.Err != nil:
		q.count(res.Err)
	case len(res.Violations) > 0:
		q.count(fmt.Errorf("protocol violation: %s", res.Violations[0].Detail))
	case !res.OK():
		q.count(fmt.Errorf("journey not completed"))
	default:
		q.count(nil)
	}
	return res.OK()
}

// RSS is a sample's resident memory of the target: from /proc when the
// target is goldenpath's child, else from its /metrics; NaN when neither
// has it.
func RSS(s monitor.Sample) float64 {
	if s.HasProc {
		return float64(s.RSS)
	}
	if v, ok := s.Metrics["process_resident_memory_bytes"]; ok {
		return v
	}
	return math.NaN()
}
