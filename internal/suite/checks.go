package suite

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// MinSamples is the fewest samples a percentile check accepts; with fewer
// the check fails for insufficient evidence, never passes.
const MinSamples = 20

// serverReported are the metrics measured from what the target reports of
// itself (its event timings, Server-Timing, completed_at and server_time):
// a target that reports none has nothing to judge, which is not a failure.
func serverReported(metric string) bool {
	return strings.HasPrefix(metric, "server_") || metric == journey.PhaseResponseDelivery
}

// slaCheck judges one latency rule on one scenario.
func slaCheck(suiteName, name string, sc *results.Scenario, r Rule) results.Check {
	rule := r.Typed()
	c := results.Check{Suite: suiteName, Name: name, Rule: &rule, Unit: rule.Unit}
	if sc == nil {
		c.Status, c.Evidence = results.Skip, "its scenario did not run"
		return c
	}
	c.Scenario = sc.Name
	s, ok := sc.Phases[r.Metric]
	c.Samples = s.Count
	// What the target could have reported it on: its answered runs, or
	// for Server-Timing its HTTP replies (every journey's first is login).
	answered, unit := max(sc.Phases[journey.PhaseAnswer].Count, sc.Phases[journey.PhaseAgentExecution].Count), "answered runs"
	if strings.HasPrefix(r.Metric, "server_http_") {
		answered, unit = sc.Phases[journey.PhaseLogin].Count, "logins and other HTTP replies"
	}
	if why, lacks := sc.Unmeasured[r.Metric]; lacks && s.Count == 0 {
		c.Status, c.Evidence = results.Skip, why
		return c
	}
	switch {
	case s.Count == 0 && serverReported(r.Metric) && answered > 0:
		c.Status = results.Skip
		c.Evidence = fmt.Sprintf("the target reported no %s in %d %s (%s)", r.Metric, answered, unit, reportedBy(r.Metric))
		return c
	case !ok || s.Count < MinSamples:
		c.Status = results.Fail
		c.Evidence = fmt.Sprintf("insufficient evidence: only %d samples of %s in %d journeys; a %s needs at least %d — run longer (--duration) or with more users",
			s.Count, r.Metric, sc.Journeys, r.Stat, MinSamples)
		if len(sc.Errors) > 0 {
			c.Evidence += ErrorList(sc.Errors)
		}
		return c
	}
	c.Observed = r.Observe(s)
	c.Status = Verdict(r.Holds(c.Observed))
	margin := (rule.Limit - c.Observed) / rule.Limit * 100
	c.Evidence = fmt.Sprintf("%s %s = %s over %d samples (limit %s, margin %.1f%%)", r.Metric, r.Stat, FormatMS(c.Observed), s.Count, r.Limit, margin)
	return c
}

// reportedBy says where the target would report metric.
func reportedBy(metric string) string {
	switch {
	case metric == journey.PhaseResponseDelivery:
		return "agent_completed's completed_at with connection_established's server_time"
	case strings.HasPrefix(metric, "server_http_"):
		return "a Server-Timing entry " + strings.TrimPrefix(metric, "server_http_")
	}
	return "timings." + strings.TrimPrefix(metric, "server_") + "_ms of its run events"
}

// rateCheck judges the success (or error) rate of the given scenarios.
func rateCheck(suiteName, name string, r Rule, scs ...*results.Scenario) results.Check {
	rule := r.Typed()
	c := results.Check{Suite: suiteName, Name: name, Rule: &rule, Unit: rule.Unit}
	var journeys, ok, failed int64
	var names []string
	var present []*results.Scenario
	errs := map[string]int64{}
	for _, sc := range scs {
		if sc == nil {
			continue
		}
		present = append(present, sc)
		names = append(names, sc.Name)
		journeys += sc.Journeys
		ok += sc.Succeeded
		failed += sc.Failed
		for k, v := range sc.Errors {
			errs[k] += v
		}
	}
	c.Scenario, c.Samples = strings.Join(names, ","), journeys
	if journeys == 0 {
		c.Status, c.Evidence = results.Fail, "no journey completed, so no rate can be judged"
		if len(names) == 0 {
			c.Status, c.Evidence = results.Skip, "its scenarios did not run"
		}
		return c
	}
	if r.Metric == RateError {
		c.Observed = float64(failed) / float64(journeys)
	} else {
		c.Observed = float64(ok) / float64(journeys)
	}
	c.Status = Verdict(r.Holds(c.Observed))
	c.Evidence = fmt.Sprintf("%s = %.2f%% (%d ok, %d failed of %d journeys; limit %s)%s", r.Metric, c.Observed*100, ok, failed, journeys, strings.TrimPrefix(r.String(), r.Metric+": "), ErrorList(errs))
	if f := Failing(present...); f.Failed > 0 {
		c.Evidence += "; " + f.String()
	}
	return c
}

// FailingTime is how much of the users' time scenarios spent failing:
// in journeys that failed, and backing off after them.
type FailingTime struct {
	Failed           int64
	Journeys         time.Duration // in every journey, summed over users
	Failing, Backoff time.Duration
}

// Failing sums scs's failing time.
func Failing(scs ...*results.Scenario) FailingTime {
	var f FailingTime
	for _, sc := range scs {
		c := sc.Metrics.Counters
		f.Failed += sc.Failed
		f.Journeys += time.Duration(c[CounterJourneyMS]) * time.Millisecond
		f.Failing += time.Duration(c[CounterFailingMS]) * time.Millisecond
		f.Backoff += time.Duration(c[CounterBackoffMS]) * time.Millisecond
	}
	return f
}

// Share is the failing time's share of the time users spent in journeys
// or backing off; 0 when there was none.
func (f FailingTime) Share() float64 {
	if total := f.Journeys + f.Backoff; total > 0 {
		return float64(f.Failing+f.Backoff) / float64(total)
	}
	return 0
}

// String says it in words, e.g. "time spent failing: 96% of the users'
// time (1.9s in 40 failed journeys, 1.7s backing off after them)".
func (f FailingTime) String() string {
	return fmt.Sprintf("time spent failing: %.0f%% of the users' time (%s in %d failed journeys, %s backing off after them)",
		100*f.Share(), f.Failing.Round(time.Millisecond), f.Failed, f.Backoff.Round(time.Millisecond))
}

// Steps of a journey that checks count as their evidence: how many
// journeys got that far ([Reached]).
const (
	// StepUserMessage: the journey sent its first user_message (it did not
	// fail in login, the config read or the WebSocket handshake).
	StepUserMessage = "user_message"
	// StepReadBack: the journey read its thread back from the store after
	// its runs (a journey with [journey.Options].DBOps that ended without
	// an error).
	StepReadBack = "read_back"
)

// phasesBeforeRequest are the phases a journey can fail in before it
// sends its first request; "none" is a failure of no phase (bad options,
// a goldenpath bug), which never sends one.
var phasesBeforeRequest = []string{journey.PhaseRegister, journey.PhaseLogin, journey.PhaseConfigAccess, journey.PhaseWSConnect, journey.PhaseWSReady, "none"}

// Reached is how many of sc's journeys reached step, counted from how far
// its failed journeys got (so results of any version can be judged).
func Reached(sc *results.Scenario, step string) int64 {
	if sc == nil {
		return 0
	}
	switch step {
	case StepUserMessage:
		return max(0, sc.Journeys-PhaseErrors(*sc, phasesBeforeRequest...))
	case StepReadBack:
		var ended int64 // journeys ended by an error, in whatever phase
		for k, v := range sc.Metrics.Counters {
			if strings.HasPrefix(k, prefixErrorPhase) {
				ended += v
			}
		}
		return max(0, sc.Journeys-ended)
	}
	return 0
}

// Evidence is what a check judges and how much of it the check needs:
// Have of Of journeys (or operations) reached Step, and the check needs
// Need of them. With fewer it never passes.
type Evidence struct {
	Have, Of, Need int64
	Unit           string // what is counted: "journeys"
	Step           string // how far they got: "reached user_message"
}

// JourneysReaching is the evidence of a check that judges sc's journeys
// that reached step, and needs need of them (at least 1).
func JourneysReaching(sc *results.Scenario, step string, need int64) Evidence {
	ev := Evidence{Need: max(need, 1), Unit: "journeys", Step: "reached " + step}
	if sc != nil {
		ev.Have, ev.Of = Reached(sc, step), sc.Journeys
	}
	return ev
}

// Add returns ev with o's counts added (evidence of the same kind from
// another scenario); the need stays ev's.
func (ev Evidence) Add(o Evidence) Evidence {
	ev.Have, ev.Of = ev.Have+o.Have, ev.Of+o.Of
	if ev.Unit == "" {
		ev.Unit, ev.Step = o.Unit, o.Step
	}
	return ev
}

// Enough reports whether there is as much evidence as the check needs.
func (ev Evidence) Enough() bool { return ev.Have >= max(ev.Need, 1) }

// String renders the evidence: "10 of 10 journeys reached user_message".
func (ev Evidence) String() string {
	return fmt.Sprintf("%d of %d %s %s", ev.Have, ev.Of, ev.Unit, ev.Step)
}

// Lacking is the evidence sentence of a check that lacks evidence:
// "insufficient evidence: 0 of 10 journeys reached user_message (the check
// needs 10)", with why the journeys of scs stopped short.
func (ev Evidence) Lacking(scs ...*results.Scenario) string {
	s := fmt.Sprintf("insufficient evidence: %s (the check needs %d)", ev, max(ev.Need, 1))
	errs := map[string]int64{}
	var eg string
	for _, sc := range scs {
		if sc == nil {
			continue
		}
		for k, v := range sc.Errors {
			errs[k] += v
		}
		for _, smp := range sc.Samples {
			if eg == "" && !strings.HasPrefix(smp.Kind, prefixViolation) {
				eg = smp.Kind + ": " + smp.Detail
			}
		}
	}
	s += ErrorList(errs)
	if eg != "" {
		s += "; e.g. " + eg
	}
	return s
}

// KindsOf sums the counts of m whose keys begin with one of prefixes, in
// key order, and lists them ("seq_gap x3").
func KindsOf(m map[string]int64, prefixes ...string) (n int64, parts []string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for _, k := range sortStrings(keys) {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) && m[k] > 0 {
				n += m[k]
				parts = append(parts, fmt.Sprintf("%s x%d", k, m[k]))
				break
			}
		}
	}
	return n, parts
}

// frameKind reports whether protocolCheck judges findings of kind: every
// violation kind but the store's (readBackCheck judges those).
func frameKind(kind string) bool { return kind != journey.ViolationStoreMismatch }

// protocolCheck judges the oracle's findings in the journeys of scs: seq
// gaps, duplicates and reorders, broken envelopes and grammar, foreign
// frames, answers that do not quote their request, missing terminal
// events, config reads whose checksum does not match. Any finding fails
// it; it needs one journey that sent its request.
func protocolCheck(suiteName, name string, scs ...*results.Scenario) results.Check {
	c := results.Check{Suite: suiteName, Name: name}
	var ev Evidence
	var names, parts []string
	var found, journeys, flawed int64
	kinds := map[string]int64{}
	var eg string
	for _, sc := range scs {
		if sc == nil {
			continue
		}
		names = append(names, sc.Name)
		ev = ev.Add(JourneysReaching(sc, StepUserMessage, 0))
		journeys += sc.Journeys
		n, _ := KindsOf(sc.Errors, prefixViolation)
		flawed += n
		for k, v := range sc.Violations {
			if frameKind(k) {
				kinds[k] += v
			}
		}
		if eg == "" {
			eg = firstSampleWhere(sc, func(kind string) bool {
				return strings.HasPrefix(kind, prefixViolation) && frameKind(strings.TrimPrefix(kind, prefixViolation))
			})
		}
	}
	c.Scenario, c.Samples = strings.Join(names, ","), ev.Have
	if len(names) == 0 {
		c.Status, c.Evidence = results.Skip, "its scenarios did not run"
		return c
	}
	found, parts = KindsOf(kinds, "")
	c.Observed = float64(found)
	switch {
	case found > 0:
		c.Status = results.Fail
		c.Evidence = fmt.Sprintf("%d findings of the frame oracle in %d journeys (%d that completed with one count as failed): %s", found, journeys, flawed, strings.Join(parts, ", "))
		if eg != "" {
			c.Evidence += "; e.g. " + eg
		}
	case !ev.Enough():
		c.Status, c.Evidence = results.Fail, ev.Lacking(scs...)
	default:
		c.Status = results.Pass
		c.Evidence = fmt.Sprintf("%s; every frame judged (seq, envelope, event grammar, ownership, answers quoting their request) and every config read's checksum verified: no finding", ev)
		if sc := scs[0]; sc != nil && sc.Profile != "" {
			c.Evidence = fmt.Sprintf("%s; every frame or chunk judged as profile %s reads it (envelope, grammar, ownership by user and run ids%s): no finding",
				ev, sc.Profile, orderBy(sc))
		}
	}
	return c
}

// orderBy says how a profile's frames were ordered and owned.
func orderBy(sc *results.Scenario) string {
	if _, chat := sc.Unmeasured[UnmeasuredChat]; chat {
		return ", the first token being the request's nonce, [DONE], finish_reason and usage"
	}
	if _, noSeq := sc.Unmeasured[UnmeasuredSeq]; noSeq {
		return ", order by each run's grammar, as it has no sequence numbers"
	}
	return ", seq"
}

// readBackCheck judges the read-back of the journeys of scs: every
// acknowledged question and answer must be in its thread exactly once
// (the journey's store_mismatch findings name the message and the
// thread). It needs one journey that read its thread back.
func readBackCheck(suiteName, name string, scs ...*results.Scenario) results.Check {
	c := results.Check{Suite: suiteName, Name: name}
	var ev Evidence
	var names, egs []string
	var found int64
	for _, sc := range scs {
		if sc == nil {
			continue
		}
		names = append(names, sc.Name)
		ev = ev.Add(JourneysReaching(sc, StepReadBack, 0))
		found += sc.Violations[journey.ViolationStoreMismatch]
		for _, s := range sc.Samples {
			if s.Kind == prefixViolation+journey.ViolationStoreMismatch && len(egs) < 3 {
				egs = append(egs, s.Detail)
			}
		}
	}
	c.Scenario, c.Samples, c.Observed = strings.Join(names, ","), ev.Have, float64(found)
	if len(names) == 0 {
		c.Status, c.Evidence = results.Skip, "its scenarios did not run"
		return c
	}
	for _, sc := range scs {
		if sc == nil {
			continue
		}
		if why, lacks := sc.Unmeasured[StepReadBack]; lacks {
			c.Status, c.Evidence = results.Skip, why
			return c
		}
	}
	switch {
	case found > 0:
		c.Status = results.Fail
		c.Evidence = fmt.Sprintf("%s: %d acknowledged writes missing, stored twice or out of order on read-back", ev, found)
		if len(egs) > 0 {
			c.Evidence += ": " + strings.Join(egs, "; ")
		}
	case !ev.Enough():
		c.Status, c.Evidence = results.Fail, ev.Lacking(scs...)
	default:
		c.Status = results.Pass
		c.Evidence = fmt.Sprintf("%s: every acknowledged question and answer was in its thread once, in order", ev)
	}
	return c
}

// allOf combines sub-verdicts into one check: fail if any failed, skip if
// none failed but one was skipped.
func allOf(suiteName, name string, parts ...results.Check) results.Check {
	c := results.Check{Suite: suiteName, Name: name, Status: results.Pass}
	var ev []string
	for _, p := range parts {
		switch {
		case p.Status == results.Fail:
			c.Status = results.Fail
		case p.Status == results.Skip && c.Status == results.Pass:
			c.Status = results.Skip
		}
		ev = append(ev, fmt.Sprintf("[%s] %s", p.Status, p.Evidence))
		if c.Scenario == "" {
			c.Scenario = p.Scenario
		}
	}
	c.Evidence = strings.Join(ev, "; ")
	return c
}

// zeroCheck passes when n is zero.
func zeroCheck(what string, n int64, sc *results.Scenario) results.Check {
	c := results.Check{Status: results.Pass, Evidence: fmt.Sprintf("no %s", what)}
	if sc == nil {
		return results.Check{Status: results.Skip, Evidence: "its scenario did not run"}
	}
	c.Scenario = sc.Name
	if n > 0 {
		c.Status, c.Evidence = results.Fail, fmt.Sprintf("%d %s%s", n, what, ErrorList(sc.Errors))
	}
	return c
}

// Verdict is [results.Pass] when ok, else [results.Fail].
func Verdict(ok bool) string {
	if ok {
		return results.Pass
	}
	return results.Fail
}

// FormatMS renders a duration in milliseconds for evidence: "1.50s",
// "42ms", "3.20ms", "50µs"; "n/a" for NaN.
func FormatMS(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0fms", v)
	case v < 0.1:
		return fmt.Sprintf("%.0fµs", v*1000)
	}
	return fmt.Sprintf("%.2fms", v)
}

// ErrorList renders error counts for evidence, sorted:
// "; errors: close:1011 x2, timeout x1"; "" when there are none.
func ErrorList(errs map[string]int64) string {
	if len(errs) == 0 {
		return ""
	}
	var parts []string
	for k, v := range errs {
		parts = append(parts, fmt.Sprintf("%s x%d", k, v))
	}
	return "; errors: " + strings.Join(sortStrings(parts), ", ")
}

// FormatMiB renders bytes in MiB for evidence: "12.5 MiB".
func FormatMiB(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// firstSampleWhere renders the first of sc's samples whose kind ok
// accepts, as [FirstSample] does, or "".
func firstSampleWhere(sc *results.Scenario, ok func(kind string) bool) string {
	for _, s := range sc.Samples {
		if ok(s.Kind) {
			out := s.Kind + ": " + s.Detail
			if s.Frame != "" {
				out += " | frame: " + s.Frame
			}
			return out
		}
	}
	return ""
}

// FirstSample returns the first of sc's samples whose kind starts with one
// of kinds, as evidence ("kind: detail | frame: ..."), or "".
func FirstSample(sc *results.Scenario, kinds ...string) string {
	return firstSampleWhere(sc, func(kind string) bool {
		for _, k := range kinds {
			if strings.HasPrefix(kind, k) {
				return true
			}
		}
		return false
	})
}
