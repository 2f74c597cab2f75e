package load

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is an executor that records every iteration and sleeps d.
type recorder struct {
	d   time.Duration
	mu  sync.Mutex
	its []Iteration
}

func (r *recorder) Execute(ctx context.Context, it Iteration) bool {
	r.mu.Lock()
	r.its = append(r.its, it)
	r.mu.Unlock()
	t := time.NewTimer(r.d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return true
}

func TestPlanValidate(t *testing.T) {
	cases := []struct {
		name string
		p    Plan
		want string // "" for valid
	}{
		{"closed ok", Plan{Model: Closed, Users: 5, Duration: time.Second}, ""},
		{"open ok", Plan{Model: Open, Rate: 10, Iterations: 5}, ""},
		{"stages give the duration", Plan{Model: Closed, Stages: []Stage{{time.Second, 3}}}, ""},
		{"no bound", Plan{Model: Closed, Users: 5}, "needs a bound"},
		{"no users", Plan{Model: Closed, Duration: time.Second}, "users >= 1"},
		{"no rate", Plan{Model: Open, Duration: time.Second}, "rate > 0"},
		{"bad model", Plan{Model: "zigzag", Duration: time.Second}, "unknown model"},
		{"bad distribution", Plan{Model: Open, Rate: 1, Duration: time.Second, Distribution: "gaussian"}, "unknown arrival distribution"},
		{"bad stage", Plan{Model: Closed, Stages: []Stage{{0, 3}}}, "positive duration"},
		{"negative think", Plan{Model: Closed, Users: 1, Duration: time.Second, Think: -1}, "must not be negative"},
	}
	for _, tc := range cases {
		err := tc.p.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v; want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Validate() = %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestParseSegment(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Segment
		ok   bool
	}{
		{"1/1", Segment{0, 1}, true}, {"2/4", Segment{1, 4}, true}, {"4/4", Segment{3, 4}, true},
		{"0/4", Segment{}, false}, {"5/4", Segment{}, false}, {"x/4", Segment{}, false}, {"2", Segment{}, false},
	} {
		got, err := ParseSegment(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSegment(%q) = %v, %v; want %v, ok=%t", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestSegmentShareSumsToWhole(t *testing.T) {
	for _, n := range []int64{0, 1, 7, 100, 101} {
		for count := 1; count <= 5; count++ {
			var sum int64
			for i := range count {
				sum += Segment{i, count}.Share(n)
			}
			if sum != n {
				t.Errorf("shares of %d over %d segments sum to %d; want %d", n, count, sum, n)
			}
		}
	}
}

func TestClosedModelUsersAndDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{d: 100 * time.Millisecond}
		st, err := Run(context.Background(), Plan{Model: Closed, Users: 5, Duration: 950 * time.Millisecond}, rec)
		if err != nil {
			t.Fatal(err)
		}
		// 5 users x 10 journeys of 100ms start within 950ms (the tenth at 900ms).
		if st.Started != 50 || st.Completed != 50 {
			t.Errorf("Run(5 users, 1s, 100ms journeys) started %d, completed %d; want 50, 50", st.Started, st.Completed)
		}
		if st.MaxActive != 5 {
			t.Errorf("max active = %d; want 5", st.MaxActive)
		}
	})
}

func TestClosedModelIterationBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{d: 10 * time.Millisecond}
		st, _ := Run(context.Background(), Plan{Model: Closed, Users: 4, Iterations: 37}, rec)
		if st.Completed != 37 {
			t.Errorf("Run(iterations 37) completed %d; want 37", st.Completed)
		}
	})
}

func TestClosedModelRampStages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		active, peak := 0, 0
		exec := ExecutorFunc(func(ctx context.Context, it Iteration) bool {
			mu.Lock()
			active++
			peak = max(peak, active)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			active--
			mu.Unlock()
			return true
		})
		st, _ := Run(context.Background(), Plan{Model: Closed, Stages: []Stage{{time.Second, 10}, {time.Second, 10}, {time.Second, 0}}}, exec)
		if peak != 10 {
			t.Errorf("peak concurrent users = %d; want 10", peak)
		}
		// Ramp up (avg 5 users) + hold (10) + ramp down (avg 5): about 20 user-seconds = 400 journeys.
		if st.Completed < 340 || st.Completed > 420 {
			t.Errorf("completed %d journeys over the stages; want about 400", st.Completed)
		}
	})
}

func TestOpenModelUniformRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{d: 10 * time.Millisecond}
		st, _ := Run(context.Background(), Plan{Model: Open, Rate: 50, Duration: 2 * time.Second, Distribution: Uniform}, rec)
		if st.Started != 100 {
			t.Errorf("uniform 50/s for 2s started %d; want 100", st.Started)
		}
		for i, it := range rec.its {
			if want := time.Duration(i) * 20 * time.Millisecond; it.Intended.Sub(rec.its[0].Intended) != want {
				t.Fatalf("arrival %d intended at +%s; want +%s", i, it.Intended.Sub(rec.its[0].Intended), want)
			}
		}
	})
}

func TestOpenModelPoissonRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{d: time.Millisecond}
		st, _ := Run(context.Background(), Plan{Model: Open, Rate: 200, Duration: 10 * time.Second}, rec)
		// 2000 expected; Poisson sd = sqrt(2000) ~ 45; allow 4 sd.
		if math.Abs(float64(st.Started)-2000) > 180 {
			t.Errorf("poisson 200/s for 10s started %d; want 2000 +- 180", st.Started)
		}
	})
}

func TestOpenModelRampingRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{d: time.Millisecond}
		st, _ := Run(context.Background(), Plan{Model: Open, Distribution: Uniform, Stages: []Stage{{2 * time.Second, 100}, {2 * time.Second, 100}}}, rec)
		// Area: ramp 0->100 over 2s (100) + 100/s for 2s (200) = 300.
		if st.Started < 298 || st.Started > 301 {
			t.Errorf("ramping rate started %d; want 300", st.Started)
		}
	})
}

func TestOpenModelDropsWhenUsersBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{d: time.Second}
		st, _ := Run(context.Background(), Plan{Model: Open, Rate: 100, Users: 10, Duration: time.Second, Distribution: Uniform}, rec)
		if st.Started != 10 || st.Dropped != 90 {
			t.Errorf("100 arrivals with 10 slots busy 1s: started %d dropped %d; want 10 and 90", st.Started, st.Dropped)
		}
	})
}

// Segments split the work disjointly and completely.
func TestSegmentsPartitionArrivals(t *testing.T) {
	for _, dist := range []Distribution{Uniform, Poisson} {
		var whole []int64
		parts := map[int64]int{}
		for seg := range 4 {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{d: time.Millisecond}
				p := Plan{Model: Open, Rate: 100, Duration: time.Second, Distribution: dist, Seed: 42, Segment: Segment{seg, 4}}
				if _, err := Run(context.Background(), p, rec); err != nil {
					t.Fatal(err)
				}
				for _, it := range rec.its {
					parts[it.Seq]++
				}
			})
		}
		synctest.Test(t, func(t *testing.T) {
			rec := &recorder{d: time.Millisecond}
			_, _ = Run(context.Background(), Plan{Model: Open, Rate: 100, Duration: time.Second, Distribution: dist, Seed: 42}, rec)
			for _, it := range rec.its {
				whole = append(whole, it.Seq)
			}
		})
		sort.Slice(whole, func(i, j int) bool { return whole[i] < whole[j] })
		if len(parts) != len(whole) {
			t.Errorf("%s: 4 segments ran %d distinct arrivals; the whole ran %d", dist, len(parts), len(whole))
		}
		for _, k := range whole {
			if parts[k] != 1 {
				t.Errorf("%s: arrival %d ran %d times across segments; want once", dist, k, parts[k])
			}
		}
	}
}

func TestClosedSegmentsSplitUsers(t *testing.T) {
	seen := map[int]int{}
	for seg := range 3 {
		synctest.Test(t, func(t *testing.T) {
			rec := &recorder{d: 100 * time.Millisecond}
			_, _ = Run(context.Background(), Plan{Model: Closed, Users: 10, Duration: 150 * time.Millisecond, Segment: Segment{seg, 3}}, rec)
			users := map[int]bool{}
			for _, it := range rec.its {
				users[it.VU] = true
			}
			for u := range users {
				seen[u]++
			}
		})
	}
	if len(seen) != 10 {
		t.Errorf("3 segments of 10 users ran %d distinct users; want 10", len(seen))
	}
	for u, n := range seen {
		if n != 1 {
			t.Errorf("user %d ran in %d segments; want 1", u, n)
		}
	}
}

// A journey that ignores the end is cancelled after the grace period.
func TestGraceCancelsStragglers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exec := ExecutorFunc(func(ctx context.Context, it Iteration) bool { <-ctx.Done(); return true })
		start := time.Now()
		st, _ := Run(context.Background(), Plan{Model: Closed, Users: 3, Duration: time.Second, Grace: 2 * time.Second}, exec)
		if took := time.Since(start); took != 3*time.Second {
			t.Errorf("Run took %s; want duration + grace = 3s", took)
		}
		if st.Completed != 3 {
			t.Errorf("completed %d; want 3 (cancelled at the grace)", st.Completed)
		}
	})
}

// Ctrl-C: no new journey starts, running ones finish, Stopped is set.
func TestInterruptStopsScheduling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		rec := &recorder{d: 100 * time.Millisecond}
		time.AfterFunc(250*time.Millisecond, cancel)
		st, _ := Run(ctx, Plan{Model: Closed, Users: 2, Duration: time.Hour}, rec)
		if !st.Stopped || st.Completed != 6 {
			t.Errorf("interrupted at 250ms: stopped %t completed %d; want true and 6", st.Stopped, st.Completed)
		}
	})
}

// A target that refuses everything: 2 users whose every journey fails at
// once back off, doubling from 25-50 ms to at most the bound, instead of
// retrying as fast as the target answers (1 ms). A success resets the
// pause; with back-off off the users hammer.
func TestClosedModelBacksOffAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refuse := ExecutorFunc(func(ctx context.Context, it Iteration) bool { time.Sleep(time.Millisecond); return false })
		st, _ := Run(context.Background(), Plan{Model: Closed, Users: 2, Duration: 2 * time.Second, Backoff: 500 * time.Millisecond}, refuse)
		// Per user: pauses of at least 25, 50, 100, 200, then 250 ms (half
		// the 500 ms bound): at most 5 + (2000-375)/250 = 11.5 journeys.
		if st.Completed < 6 || st.Completed > 24 || st.Failed != st.Completed || st.Backoffs < st.Completed-2 {
			t.Errorf("2 users, 2 s, every journey failing: %d journeys, %d failed, %d back-offs; want 6 to 24, all failed, one back-off after each",
				st.Completed, st.Failed, st.Backoffs)
		}
		if st.BackoffTime < 3*time.Second || st.BackoffTime > 4*time.Second+time.Millisecond*time.Duration(st.Completed) {
			t.Errorf("back-off time %s over 2 users x 2 s; want most of the 4 user-seconds", st.BackoffTime)
		}
		off, _ := Run(context.Background(), Plan{Model: Closed, Users: 2, Duration: 2 * time.Second, Backoff: -1}, refuse)
		if off.Completed < 3000 || off.Backoffs != 0 {
			t.Errorf("back-off off: %d journeys, %d back-offs; want about 4000 and none", off.Completed, off.Backoffs)
		}
		var n int
		var mu sync.Mutex
		flaky := ExecutorFunc(func(ctx context.Context, it Iteration) bool { // every other journey fails
			mu.Lock()
			defer mu.Unlock()
			n++
			time.Sleep(time.Millisecond)
			return n%2 == 0
		})
		st, _ = Run(context.Background(), Plan{Model: Closed, Users: 1, Duration: time.Second}, flaky)
		// Each failure is the first in a row: 25-50 ms; about 2 journeys per 39 ms.
		if st.Completed < 40 || st.BackoffTime > time.Duration(st.Failed)*50*time.Millisecond {
			t.Errorf("alternating outcomes: %d journeys, back-off %s after %d failures; want >= 40 and <= 50 ms each: a success resets the pause",
				st.Completed, st.BackoffTime, st.Failed)
		}
	})
}

func TestBackoffBounds(t *testing.T) {
	p := Plan{Backoff: time.Second}
	rng := rand.New(rand.NewPCG(1, 2))
	for fails := 1; fails <= 40; fails++ {
		want := min(time.Second, BackoffBase<<min(fails-1, 20))
		for range 100 {
			if d := p.backoff(fails, rng); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s; want in [%s, %s]", fails, d, want/2, want)
			}
		}
	}
	if d := (&Plan{Backoff: -1}).backoff(3, rng); d != 0 {
		t.Errorf("backoff with Backoff < 0 = %s; want 0", d)
	}
	if d := p.backoff(0, rng); d != 0 {
		t.Errorf("backoff after a success = %s; want 0", d)
	}
}
