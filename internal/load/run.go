package load

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Live holds a running engine's counters; read them at any time for
// progress output.
type Live struct {
	Started, Completed, Dropped, Active atomic.Int64
	Target                              atomic.Int64 // current users (closed) or milli-arrivals/s (open)
	Failed, Backoffs                    atomic.Int64 // iterations that failed; back-offs after them
	BackoffNanos                        atomic.Int64 // time spent backing off, summed over users
}

// Option configures [Run].
type Option func(*runner)

// WithLive makes the engine keep l up to date.
func WithLive(l *Live) Option { return func(r *runner) { r.live = l } }

// WithClock sets the engine's clock and timer (for tests; default real
// time).
func WithClock(now func() time.Time) Option { return func(r *runner) { r.now = now } }

type runner struct {
	p     Plan
	exec  Executor
	live  *Live
	now   func() time.Time
	start time.Time

	maxActive atomic.Int64
	wg        sync.WaitGroup
	iterCtx   context.Context
}

// Run executes the plan, calling exec once per iteration from many
// goroutines, and returns when every iteration it started has returned. It
// returns an error only for an invalid plan. While it runs, the garbage
// collector's headroom is bounded ([GCHeadroom]).
func Run(ctx context.Context, p Plan, exec Executor, opts ...Option) (Stats, error) {
	if err := p.Validate(); err != nil {
		return Stats{}, err
	}
	defer tuneGC()()
	r := &runner{p: p, exec: exec, live: &Live{}, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	iterCtx, cancelIters := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelIters()
	r.iterCtx = iterCtx
	r.start = r.now()

	// schedCtx ends when the plan's duration is over or ctx ends.
	schedCtx, cancelSched := context.WithCancel(ctx)
	defer cancelSched()
	if p.Duration > 0 {
		var c context.CancelFunc
		schedCtx, c = context.WithTimeout(schedCtx, p.Duration)
		defer c()
	}
	// Grace: once scheduling ends, running iterations may finish within
	// p.Grace; then their context is cancelled.
	finished := make(chan struct{})
	go func() {
		select {
		case <-schedCtx.Done():
		case <-finished:
			return
		}
		t := time.NewTimer(p.Grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelIters()
		case <-finished:
		}
	}()
	if p.Model == Closed {
		r.closed(schedCtx) // returns when every VU has left
	} else {
		r.open(schedCtx)
	}
	cancelSched() // scheduling is over (also when the iteration budget ran out)
	r.wg.Wait()
	close(finished)
	stopped := ctx.Err() != nil
	return Stats{
		Started: r.live.Started.Load(), Completed: r.live.Completed.Load(), Dropped: r.live.Dropped.Load(),
		Elapsed: r.now().Sub(r.start), Stopped: stopped, MaxActive: r.maxActive.Load(),
		Failed: r.live.Failed.Load(), Backoffs: r.live.Backoffs.Load(), BackoffTime: time.Duration(r.live.BackoffNanos.Load()),
	}, nil
}

// begin starts one iteration; after is called with its outcome when it
// ends, on any goroutine.
func (r *runner) begin(it Iteration, after func(ok bool)) {
	r.live.Started.Add(1)
	if a := r.live.Active.Add(1); a > r.maxActive.Load() {
		r.maxActive.Store(a) // a high-water mark; a lost race only under-reports by one
	}
	finish := func(ok bool) {
		if !ok {
			r.live.Failed.Add(1)
		}
		r.live.Active.Add(-1)
		r.live.Completed.Add(1)
		after(ok)
	}
	if s, ok := r.exec.(Starter); ok {
		s.Start(r.iterCtx, it, finish)
		return
	}
	go func() { finish(r.exec.Execute(r.iterCtx, it)) }()
}

// backoff is the pause after the fails-th failed iteration in a row: a
// random time between half and all of min(p.Backoff, BackoffBase x
// 2^(fails-1)); 0 when back-off is off or fails is 0.
func (p *Plan) backoff(fails int, rng *rand.Rand) time.Duration {
	if p.Backoff < 0 || fails <= 0 {
		return 0
	}
	d := p.Backoff
	if fails < 30 {
		d = min(d, BackoffBase<<(fails-1))
	}
	return d/2 + time.Duration(rng.Int64N(int64(d/2)+1))
}

// pauseThen calls then after d, or leave if ctx ends first; spent, when
// set, gets the time waited either way. It holds no goroutine while it
// waits.
func pauseThen(ctx context.Context, d time.Duration, then, leave func(), spent func(time.Duration)) {
	if d <= 0 {
		then()
		return
	}
	began := time.Now()
	var (
		mu      sync.Mutex // held until t and unwatch are set: either may fire at once
		ended   bool
		t       *time.Timer
		unwatch func() bool
	)
	end := func(next func()) {
		mu.Lock()
		first := !ended
		ended = true
		mu.Unlock()
		if !first {
			return
		}
		t.Stop()
		unwatch()
		if spent != nil {
			spent(time.Since(began))
		}
		next()
	}
	mu.Lock()
	t = time.AfterFunc(d, func() { end(then) })
	unwatch = context.AfterFunc(ctx, func() { end(leave) })
	mu.Unlock()
}

// ---- closed model ----

// closed runs VUs: VU k of this segment runs while the stage target exceeds
// k; a controller starts and stops VUs as the target moves.
func (r *runner) closed(ctx context.Context) {
	var budget atomic.Int64 // this segment's remaining iterations; <0: unbounded
	budget.Store(-1)
	if r.p.Iterations > 0 {
		budget.Store(r.p.Segment.Share(r.p.Iterations))
	}
	claim := func() bool {
		for {
			b := budget.Load()
			if b < 0 {
				return true
			}
			if b == 0 {
				return false
			}
			if budget.CompareAndSwap(b, b-1) {
				return true
			}
		}
	}
	// A VU is a chain of callbacks, not a goroutine: each iteration's end
	// pauses (think time, back-off) on timers and begins the next.
	type vu struct {
		k     int
		ctx   context.Context // ends when the VU must leave
		stop  context.CancelFunc
		rng   *rand.Rand
		fails int // failed iterations in a row
		seq   int64
	}
	running := map[int]*vu{}
	var vwg sync.WaitGroup
	exhausted := make(chan struct{})
	var exhaustOnce sync.Once
	var next func(v *vu)
	leave := func(v *vu) func() { return func() { v.stop(); vwg.Done() } }
	backedOff := func(d time.Duration) { r.live.BackoffNanos.Add(int64(d)) }
	next = func(v *vu) {
		if v.ctx.Err() != nil {
			leave(v)()
			return
		}
		if !claim() {
			exhaustOnce.Do(func() { close(exhausted) })
			leave(v)()
			return
		}
		now := r.now()
		r.wg.Add(1)
		r.begin(Iteration{VU: v.k, Seq: v.seq, Intended: now, Started: now}, func(ok bool) {
			r.wg.Done()
			v.seq++
			if ok {
				v.fails = 0
			} else {
				v.fails++
			}
			pauseThen(v.ctx, r.p.Think, func() {
				d := r.p.backoff(v.fails, v.rng)
				if d <= 0 {
					next(v)
					return
				}
				r.live.Backoffs.Add(1)
				pauseThen(v.ctx, d, func() { next(v) }, leave(v), backedOff)
			}, leave(v), nil)
		})
	}
	startVU := func(k int) {
		v := &vu{k: k, rng: rand.New(rand.NewPCG(r.p.Seed, uint64(k)))}
		v.ctx, v.stop = context.WithCancel(ctx)
		running[k] = v
		vwg.Add(1)
		go next(v)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		want := int(math.Ceil(r.p.target(r.now().Sub(r.start), float64(r.p.Users)) - 1e-9))
		r.live.Target.Store(int64(want))
		for k := range want {
			if _, ok := running[k]; !ok && r.p.Segment.Owns(int64(k)) {
				startVU(k)
			}
		}
		for k, v := range running {
			if k >= want {
				v.stop() // finishes its journey, then leaves
				delete(running, k)
			}
		}
		select {
		case <-ctx.Done():
			vwg.Wait()
			return
		case <-exhausted:
			vwg.Wait()
			return
		case <-tick.C:
		}
	}
}

// ---- open model ----

// open starts arrival k at the time where the integral of the rate reaches
// the k-th point of the schedule; every segment computes the same
// schedule and keeps the arrivals it owns.
func (r *runner) open(ctx context.Context) {
	slots := make(chan int, r.p.Users)
	for i := range r.p.Users {
		slots <- i
	}
	rng := rand.New(rand.NewPCG(r.p.Seed, r.p.Seed^0x9e3779b97f4a7c15))
	lambda := 0.0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for k := int64(0); r.p.Iterations == 0 || k < r.p.Iterations; k++ {
		if r.p.Distribution == Poisson {
			lambda += rng.ExpFloat64()
		} else if k > 0 {
			lambda++
		}
		at, ok := r.arrival(lambda)
		if !ok || (r.p.Duration > 0 && at >= r.p.Duration) {
			return
		}
		if !r.p.Segment.Owns(k) {
			continue
		}
		intended := r.start.Add(at)
		if d := intended.Sub(r.now()); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		} else if ctx.Err() != nil {
			return
		}
		r.live.Target.Store(int64(1000 * r.p.target(at, r.p.Rate)))
		select {
		case slot := <-slots:
			r.wg.Add(1)
			r.begin(Iteration{VU: slot, Seq: k, Intended: intended, Started: r.now()}, func(bool) {
				slots <- slot
				r.wg.Done()
			}) // the open model does not back off: its schedule is the load
		default:
			r.live.Dropped.Add(1) // every user slot is busy: the journey cannot start on time
		}
	}
}

// arrival inverts the cumulative rate: the elapsed time at which the
// integral of the rate reaches lambda. ok is false when it never does.
func (r *runner) arrival(lambda float64) (time.Duration, bool) {
	if len(r.p.Stages) == 0 {
		return time.Duration(lambda / r.p.Rate * float64(time.Second)), true
	}
	var t0 float64 // seconds at the stage start
	from := 0.0
	for _, s := range r.p.Stages {
		d := s.Duration.Seconds()
		area := (from + s.Target) / 2 * d
		if lambda <= area {
			a := (s.Target - from) / (2 * d)
			var t float64
			if math.Abs(a) < 1e-12 {
				t = lambda / from
			} else {
				disc := from*from + 4*a*lambda
				t = (-from + math.Sqrt(math.Max(disc, 0))) / (2 * a)
			}
			return time.Duration((t0 + t) * float64(time.Second)), true
		}
		lambda -= area
		t0 += d
		from = s.Target
	}
	if from <= 0 {
		return 0, false
	}
	return time.Duration((t0 + lambda/from) * float64(time.Second)), true
}
