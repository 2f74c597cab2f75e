package race

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// factoryUsers is how many runs the factory scenario starts at one instant.
const factoryUsers = 10

// cSimultaneous counts the factory scenario's requests that left at one
// instant: those its gate released together.
const cSimultaneous = "factory_simultaneous_requests"

// gate holds each journey that reaches it until n have, or until wait has
// passed since the first one did, so that n users who logged in and
// connected one after another send their requests at one instant.
type gate struct {
	n    int
	wait time.Duration
	once sync.Once
	open chan struct{}

	mu      sync.Mutex
	arrived int
	timer   *time.Timer
	// released is how many had arrived when the gate opened.
	released int
}

func newGate(n int, wait time.Duration) *gate {
	return &gate{n: n, wait: wait, open: make(chan struct{})}
}

// Wait is a journey.Options.Ready hook: it returns when the gate opens or
// ctx ends.
func (g *gate) Wait(ctx context.Context) {
	g.mu.Lock()
	g.arrived++
	if g.arrived == 1 {
		g.timer = time.AfterFunc(g.wait, g.release)
	}
	full := g.arrived >= g.n
	g.mu.Unlock()
	if full {
		g.release()
	}
	select {
	case <-g.open:
	case <-ctx.Done():
	}
}

func (g *gate) release() {
	g.once.Do(func() {
		g.mu.Lock()
		g.released = g.arrived
		if g.timer != nil {
			g.timer.Stop()
		}
		g.mu.Unlock()
		close(g.open)
	})
}

// Released reports how many journeys the gate let go together (0 while it
// is shut).
func (g *gate) Released() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.released
}

// raceFactory runs factoryUsers journeys whose requests leave at one
// instant, recording every agent_instance_id seen twice.
func raceFactory(ctx context.Context, e *suite.Env, rt time.Duration) (results.Scenario, bool, error) {
	g := newGate(factoryUsers, rt)
	var seen sync.Map
	instances := func(_ load.Iteration, res *journey.Result, set *metrics.Set) {
		for _, id := range res.Instances {
			if _, dup := seen.LoadOrStore(id, true); dup {
				set.Add(cDuplicateInstances, 1)
			}
		}
	}
	sc, stopped, err := e.ScenarioFunc(ctx, scRaceFactory, Name, load.Plan{Model: load.Closed, Users: factoryUsers, Iterations: factoryUsers},
		func(load.Iteration) journey.Options { return journey.Options{RunTimeout: rt, Ready: g.Wait} }, instances)
	if err == nil {
		if sc.Metrics.Counters == nil {
			sc.Metrics.Counters = map[string]int64{}
		}
		sc.Metrics.Counters[cSimultaneous] = int64(g.Released())
	}
	return sc, stopped, err
}

// judgeFactory judges concurrent agent instantiation: no instance serves
// two runs, and runs started together do not wait for one another. Both
// are judged on what a user lives, the request -> answer time (a server
// that queues runs before agent_started hides the wait from the
// agent_started -> agent_completed time): together its median stays near a
// lone run's, and 90% of the batch is answered about when one run would
// be, so throughput grows with the users. Serialised, the k-th of n
// waits k runs: the median is about n/2 runs and the batch takes n.
func judgeFactory(sc, base *results.Scenario) (string, string) {
	ev := requests(sc)
	if !ev.Enough() {
		return results.Fail, ev.Lacking(sc)
	}
	dups := sc.Metrics.Counters[cDuplicateInstances]
	out := fmt.Sprintf("%d simultaneous runs: %d reused an agent_instance_id", ev.Have, dups)
	status := results.Pass
	if dups > 0 {
		status = results.Fail
	}
	if n := suite.PhaseErrors(*sc, journey.PhaseFirstEvent, journey.PhaseAgentExecution); n > 0 {
		return results.Fail, out + fmt.Sprintf("; %d runs failed%s", n, suite.ErrorList(sc.Errors))
	}
	if base == nil {
		return results.Fail, out + "; serialisation not judged: the lone runs did not run"
	}
	lone, conc := base.Phases[journey.PhaseAnswer], sc.Phases[journey.PhaseAnswer]
	if lone.Count == 0 {
		bev := suite.Evidence{Of: base.Journeys, Need: 1, Unit: "lone journeys", Step: "got an answer"}
		return results.Fail, out + "; " + bev.Lacking(base)
	}
	if conc.Count < 2 {
		return results.Fail, out + fmt.Sprintf("; serialisation not judged: %d of the simultaneous runs got an answer (need 2)", conc.Count)
	}
	b := lone.P50
	out += fmt.Sprintf("; request to answer alone p50 %s, %d at once p50 %s, last %s", suite.FormatMS(b), conc.Count, suite.FormatMS(conc.P50), suite.FormatMS(conc.Max))
	if k := sc.Metrics.Counters[cSimultaneous]; k > 0 && k < int64(conc.Count) {
		out += fmt.Sprintf(" (only %d requests left at one instant)", k)
	}
	if conc.P50 > 2*b+50 {
		status = results.Fail
		out += fmt.Sprintf(" — runs serialise (median %.1fx the lone run)", conc.P50/b)
	}
	// Throughput: a lone user gets 1/b runs a second; n at once, 90% of
	// them answered by conc.P90 (not the last, which one hiccup of the
	// machine moves), get 0.9n/conc.P90. Concurrent runs give about n times
	// the lone throughput, serialised ones about 1x.
	n := float64(conc.Count)
	alone, together := 1000/b, 0.9*n*1000/conc.P90
	out += fmt.Sprintf("; throughput %.1f runs/s alone, %.1f runs/s with %d users (%.1fx", alone, together, conc.Count, together/alone)
	if conc.P90 > 3*b+100 {
		status = results.Fail
		out += fmt.Sprintf("; it does not grow with the users: 90%% of %d runs at once took %.1fx one run, where concurrent runs take about 1x and serialised ones %.0fx)", conc.Count, conc.P90/b, 0.9*n)
	} else {
		out += ")"
	}
	return status, out
}
