package suite

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// capacitySteps are the user counts the search tries: doubling from 20 up
// to max, with max itself last.
func capacitySteps(maxUsers int) []int {
	var s []int
	for u := 20; u < maxUsers; u *= 2 {
		s = append(s, u)
	}
	return append(s, maxUsers)
}

// capacitySearch raises users step by step until a step breaks an SLA or
// the error budget; every step is its own scenario.
func capacitySearch(ctx context.Context, e *Env, add func(results.Scenario)) (bool, error) {
	if e.MaxUsers <= 0 {
		return false, nil
	}
	if e.Segment.Count > 1 {
		return false, nil // adaptive: it cannot be split across processes
	}
	step := func(u int) (held, stopped bool, err error) {
		plan := load.Plan{Model: load.Closed, Users: u, Duration: e.StepDuration, Think: e.Think}
		sc, stopped, err := e.Scenario(ctx, capacityPrefix+strconv.Itoa(u), Load, plan, e.MainJourney())
		if err != nil {
			return false, false, err
		}
		add(sc)
		held, _ = stepHeld(&sc, e.SLA)
		return held, stopped, nil
	}
	return searchCapacity(min(e.MaxUsers, usersCeiling()), step)
}

// searchCapacity walks the capacity steps up to ceiling, doubling, until
// one breaks; then it bisects between the last load that held and the
// first that broke, to within an eighth (at least 5 users), at most
// bisectSteps times. step runs one load and says whether it held and
// whether the run was stopped.
func searchCapacity(ceiling int, step func(users int) (held, stopped bool, err error)) (bool, error) {
	last := 0 // the most users that held
	for _, u := range capacitySteps(ceiling) {
		held, stopped, err := step(u)
		if err != nil || stopped {
			return stopped, err
		}
		if held {
			last = u
			continue
		}
		broke := u
		for range bisectSteps {
			mid := (last + broke) / 2
			if last == 0 || broke-last <= max(last/8, 5) || mid <= last {
				break
			}
			held, stopped, err := step(mid)
			if err != nil || stopped {
				return stopped, err
			}
			if held {
				last = mid
			} else {
				broke = mid
			}
		}
		return false, nil
	}
	return false, nil
}

// bisectSteps bounds the capacity search's bisection after the first
// break.
const bisectSteps = 3

// fdsPerUser is what one virtual user holds open at most: its WebSocket
// and a kept-alive HTTP connection.
const fdsPerUser = 2

// usersCeiling is the most users one process can hold: its open-file
// limit, less a reserve, over what each user holds (no bound where it
// cannot be read).
func usersCeiling() int {
	n, ok := fileLimit()
	if !ok || n > 1<<30 {
		return math.MaxInt
	}
	return max(1, (int(n)-64)/fdsPerUser)
}

// stepHeld judges one capacity step: the success rate and every latency
// rule with enough samples must hold, and no journey may be dropped.
func stepHeld(sc *results.Scenario, sla SLA) (bool, string) {
	if c := rateCheck(Load, "", sla[RateSuccess], sc); c.Status != results.Pass {
		return false, c.Evidence
	}
	if sc.Dropped > 0 {
		return false, fmt.Sprintf("%d journeys could not start on time", sc.Dropped)
	}
	for _, k := range capacityMetrics {
		r, ok := sla[k]
		if !ok {
			continue
		}
		// Too few samples to judge a percentile is not a break.
		if c := slaCheck(Load, "", sc, r); c.Status == results.Fail && c.Samples >= MinSamples {
			return false, c.Evidence
		}
	}
	return true, ""
}

// capacityMetrics are the user-facing SLAs a capacity step must keep: the
// journey and its phases as a user lives them. Component budgets
// (config_access, server_factory) are judged by the integrated suite, not
// used to define capacity: on a machine shared by the load generator and
// the target, a 10 ms component budget measured over HTTP breaks long
// before users notice anything.
var capacityMetrics = []string{"journey", "login", "ws_handshake", "agent_execution", "response_delivery", "db_operation"}

// capacityOf rebuilds the capacity result from the capacity scenarios.
func capacityOf(scs []results.Scenario, sla SLA) *results.Capacity {
	var steps []results.Scenario
	for _, sc := range scs {
		if strings.HasPrefix(sc.Name, capacityPrefix) {
			steps = append(steps, sc)
		}
	}
	if len(steps) == 0 {
		return nil
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].Users < steps[j].Users })
	c := &results.Capacity{}
	for i := range steps {
		sc := &steps[i]
		held, why := stepHeld(sc, sla)
		var er float64
		if sc.Journeys > 0 {
			er = float64(sc.Failed) / float64(sc.Journeys)
		}
		c.Steps = append(c.Steps, results.CapacityStep{Users: sc.Users, Throughput: sc.Throughput,
			JourneyP95: sc.Phases["journey"].P95, ErrorRate: er, Held: held, Reason: why})
		if held && c.Broke == 0 {
			c.Held = sc.Users
		} else if !held && c.Broke == 0 {
			c.Broke, c.Reason = sc.Users, why
		}
	}
	if c.Broke == 0 {
		c.Reason = fmt.Sprintf("never broke: %d users, the most tried, held; the ceiling was --max-users; raise --max-users to search further", c.Held)
		if ceil := usersCeiling(); c.Held >= ceil {
			c.Reason = fmt.Sprintf("never broke: %d users, the most tried, held; the ceiling was this process's open-file limit (ulimit -n), which holds about %d users at %d files each", c.Held, ceil, fdsPerUser)
		}
	}
	return c
}

func capacityCheck(c *results.Capacity) results.Check {
	ch := results.Check{Suite: Load, Name: "capacity_search"}
	switch {
	case c == nil:
		ch.Status, ch.Evidence = results.Skip, "the capacity search did not run (--max-users 0, or a segmented run: an adaptive search cannot be split)"
	case c.Held == 0:
		ch.Status = results.Fail
		ch.Evidence = fmt.Sprintf("even the first step (%d users) broke: %s", c.Broke, c.Reason)
	default:
		ch.Status = results.Pass
		last := c.Steps[0]
		for _, s := range c.Steps {
			if s.Users == c.Held {
				last = s
			}
		}
		ch.Evidence = fmt.Sprintf("held %d users (%.1f journeys/s, journey p95 %s)", c.Held, last.Throughput, FormatMS(last.JourneyP95))
		if c.Broke > 0 {
			ch.Evidence += fmt.Sprintf("; broke at %d users: %s", c.Broke, c.Reason)
		} else {
			ch.Evidence += "; " + c.Reason
		}
		ch.Observed, ch.Unit, ch.Samples = float64(c.Held), results.UnitUsers, int64(len(c.Steps))
	}
	return ch
}
