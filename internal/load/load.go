// Package load schedules journeys: the closed model (a number of virtual
// users, each running journeys back to back, ramped by stages) and the open
// model (journeys arriving at a rate, constant or ramping, Poisson or
// uniform, with a cap on concurrent users).
//
// The engine knows nothing of what a journey does: it calls an [Executor]
// for each iteration and tells it when the iteration was *intended* to start
// and when it actually started, so the caller can measure latency from the
// intended start (correcting coordinated omission, as wrk2 does) as well as
// from the actual start.
//
// # Bounds
//
// Every run is bounded by a duration, an iteration count, or both; [Plan]
// validation refuses a plan with neither. When ctx ends (Ctrl-C), no new
// iteration starts and running ones get [Plan.Grace] to finish before their
// context is cancelled.
//
// # Segments
//
// A [Segment] i/n makes this process run exactly its share of the plan, so
// n processes together run the whole test: virtual user k belongs to
// segment k mod n, and in the open model every process draws the same
// arrival schedule (same seed) and takes arrival k when k mod n = i. The
// parts are disjoint and their union is the whole, so their measurements
// merge losslessly.
package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Iteration is one scheduled journey.
type Iteration struct {
	VU       int       // virtual user number, global across segments
	Seq      int64     // arrival number (open model) or the VU's iteration count (closed)
	Intended time.Time // when the schedule wanted it to start
	Started  time.Time // when it started
}

// Executor runs one iteration; it must return when ctx ends. It reports
// whether the iteration succeeded: after a failed one a closed-model
// virtual user backs off (see [Plan.Backoff]) before its next.
type Executor interface {
	Execute(ctx context.Context, it Iteration) (ok bool)
}

// Starter is an [Executor] that begins an iteration without holding the
// caller's goroutine: Start returns at once and calls done, once and on
// any goroutine, with what Execute would have returned. The engine holds
// no goroutine for a user whose iteration is a Starter's (a closed-model
// user between iterations holds none either), so a process holds as many
// users as its file limit allows (docs/benchmarks.md, issue 11). An
// Executor that is not a Starter runs each iteration on a goroutine.
type Starter interface {
	Executor
	Start(ctx context.Context, it Iteration, done func(ok bool))
}

// Await begins one iteration with start (a Starter's Start) and waits for
// its outcome: the Execute of a Starter.
func Await(ctx context.Context, it Iteration, start func(context.Context, Iteration, func(bool))) bool {
	ch := make(chan bool, 1)
	start(ctx, it, func(ok bool) { ch <- ok })
	return <-ch
}

// ExecutorFunc adapts a function to [Executor].
type ExecutorFunc func(ctx context.Context, it Iteration) bool

// Execute calls f.
func (f ExecutorFunc) Execute(ctx context.Context, it Iteration) bool { return f(ctx, it) }

// Model is the load model of a plan.
type Model string

// Models.
const (
	Closed Model = "closed" // N users, each running journeys back to back
	Open   Model = "open"   // journeys arriving at a rate
)

// Distribution is how open-model arrivals are spaced.
type Distribution string

// Distributions.
const (
	Uniform Distribution = "uniform" // evenly spaced at the current rate
	Poisson Distribution = "poisson" // exponential gaps at the current rate
)

// Validate reports whether d is a known distribution.
func (d Distribution) Validate() error {
	switch d {
	case Uniform, Poisson:
		return nil
	}
	return fmt.Errorf("load: unknown arrival distribution %q; use uniform or poisson", d)
}

// Stage ramps the target (users in the closed model, arrivals per second in
// the open model) linearly to Target over Duration.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// Segment is this process's share of a distributed test: Index of Count.
type Segment struct {
	Index, Count int
}

// Whole is the segment of a single-process test.
var Whole = Segment{Index: 0, Count: 1}

// ParseSegment reads "i/n" with 1 <= i <= n (1-based on the command line).
func ParseSegment(s string) (Segment, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Segment{}, fmt.Errorf("load: segment %q is not i/n with 1 <= i <= n (e.g. 2/4)", s)
	}
	return Segment{Index: i - 1, Count: n}, nil
}

// String renders the segment as "i/n", 1-based.
func (s Segment) String() string { return fmt.Sprintf("%d/%d", s.Index+1, s.Count) }

// Owns reports whether global item k (a VU or an arrival) is this segment's.
func (s Segment) Owns(k int64) bool {
	if s.Count <= 1 {
		return true
	}
	return k%int64(s.Count) == int64(s.Index)
}

// Share returns how many of the first n global items this segment owns.
func (s Segment) Share(n int64) int64 {
	if s.Count <= 1 {
		return n
	}
	q, r := n/int64(s.Count), n%int64(s.Count)
	if int64(s.Index) < r {
		q++
	}
	return q
}

// Plan describes one load run. Zero fields take the defaults documented on
// each.
type Plan struct {
	Model Model
	// Users is the closed model's number of virtual users (when Stages is
	// empty), and the open model's cap on concurrent journeys (0: 10,000).
	Users int
	// Rate is the open model's arrivals per second (when Stages is empty).
	Rate float64
	// Stages ramp the target from 0 (closed: users; open: rate). When set,
	// Duration defaults to their total.
	Stages       []Stage
	Distribution Distribution  // open model; default Poisson
	Seed         uint64        // open model arrival schedule; default 1
	Think        time.Duration // closed model: pause between a VU's journeys
	Duration     time.Duration // stop starting journeys after this long
	Iterations   int64         // stop after this many journeys in all (across segments)
	Grace        time.Duration // time running journeys get to finish at the end (default 30s)
	// Backoff bounds the pause of a closed-model virtual user after a
	// failed iteration, on top of Think, so that a target that refuses
	// everything is not hammered by users retrying at once: the k-th
	// failure in a row waits a random time between half and all of
	// min(Backoff, BackoffBase x 2^(k-1)); a success resets k. 0 means
	// DefaultBackoff; a negative Backoff turns it off. The open model keeps
	// its arrival schedule whatever the outcomes: its rate bounds the load.
	Backoff time.Duration
	Segment Segment
}

// Back-off after failed iterations: see [Plan.Backoff].
const (
	BackoffBase    = 50 * time.Millisecond
	DefaultBackoff = 2 * time.Second
)

// DefaultMaxUsers caps concurrent open-model journeys when Plan.Users is 0.
const DefaultMaxUsers = 10000

// DefaultGrace is the default Plan.Grace.
const DefaultGrace = 30 * time.Second

// Validate checks a plan once, before it runs, and fills its defaults.
func (p *Plan) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf("load: "+f, a...)) }
	switch p.Model {
	case Closed:
		if len(p.Stages) == 0 && p.Users < 1 {
			bad("closed model needs users >= 1 (got %d) or stages", p.Users)
		}
	case Open:
		if len(p.Stages) == 0 && !(p.Rate > 0) {
			bad("open model needs a rate > 0 (got %g) or stages", p.Rate)
		}
		if p.Users == 0 {
			p.Users = DefaultMaxUsers
		}
		if p.Distribution == "" {
			p.Distribution = Poisson
		}
		if err := p.Distribution.Validate(); err != nil {
			errs = append(errs, err)
		}
	default:
		bad("unknown model %q; use closed or open", p.Model)
	}
	var total time.Duration
	for i, s := range p.Stages {
		if s.Duration <= 0 || s.Target < 0 || math.IsNaN(s.Target) || math.IsInf(s.Target, 0) {
			bad("stage %d (%s to %g) needs a positive duration and a target >= 0", i+1, s.Duration, s.Target)
		}
		total += s.Duration
	}
	if p.Duration == 0 && len(p.Stages) > 0 {
		p.Duration = total
	}
	if p.Duration < 0 || p.Iterations < 0 || p.Think < 0 || p.Grace < 0 {
		bad("duration, iterations, think and grace must not be negative")
	}
	if p.Duration == 0 && p.Iterations == 0 {
		bad("a run needs a bound: a duration, an iteration count, or both")
	}
	if p.Grace == 0 {
		p.Grace = DefaultGrace
	}
	if p.Backoff == 0 {
		p.Backoff = DefaultBackoff
	}
	if p.Seed == 0 {
		p.Seed = 1
	}
	if p.Segment.Count == 0 {
		p.Segment = Whole
	}
	if p.Segment.Count < 1 || p.Segment.Index < 0 || p.Segment.Index >= p.Segment.Count {
		bad("segment %d of %d is not valid", p.Segment.Index+1, p.Segment.Count)
	}
	return errors.Join(errs...)
}

// target returns the stage target at elapsed time t (linear ramps from 0),
// or the flat value when there are no stages.
func (p *Plan) target(t time.Duration, flat float64) float64 {
	if len(p.Stages) == 0 {
		return flat
	}
	from := 0.0
	for _, s := range p.Stages {
		if t < s.Duration {
			return from + (s.Target-from)*float64(t)/float64(s.Duration)
		}
		t -= s.Duration
		from = s.Target
	}
	return from
}

// Stats are the engine's own counts for one run.
type Stats struct {
	Started   int64         // iterations started
	Completed int64         // iterations that returned
	Dropped   int64         // open model: arrivals that found every user slot busy
	Elapsed   time.Duration // from start to the last iteration's end
	Stopped   bool          // ctx ended before the plan did
	MaxActive int64         // most iterations running at once
	Failed    int64         // iterations the executor reported failed
	Backoffs  int64         // pauses after a failed iteration (closed model)
	// BackoffTime is the time virtual users spent backing off, summed over
	// users.
	BackoffTime time.Duration
}
