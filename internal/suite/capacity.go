package suite

import (
	"context"
	"fmt"
	"math"
	"os"
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

// AutoMaxUsers as [Env].MaxUsers lets the capacity search go as far as
// this process can hold: its open-file limit, the machine's available
// memory, and the accounts of a users file ([Env.capacityCeiling]).
const AutoMaxUsers = math.MaxInt32

// userMemory is what the capacity search counts a user to cost the
// machine: goldenpath's share (about 51 KiB, docs/benchmarks.md) and room
// for the target's when it runs on the same machine.
const userMemory = 128 << 10

// Names the capacity steps carry their ceiling under.
const (
	counterCeiling = "capacity_ceiling_users"
	kindCeiling    = "capacity_ceiling"
)

// capacitySearch raises users step by step until a step breaks an SLA or
// the error budget; every step is its own scenario, and carries the
// search's ceiling and what set it.
func capacitySearch(ctx context.Context, e *Env, add func(results.Scenario)) (bool, error) {
	if e.MaxUsers <= 0 {
		return false, nil
	}
	if e.Segment.Count > 1 {
		return false, nil // adaptive: it cannot be split across processes
	}
	ceiling, why := e.capacityCeiling()
	step := func(u int) (held, stopped bool, err error) {
		if len(e.Accounts) < u && e.MoreAccounts != nil {
			accts, err := e.MoreAccounts(ctx, u)
			if err != nil {
				if ctx.Err() != nil {
					return false, true, nil
				}
				return false, false, fmt.Errorf("capacity search: registering %d test users for the step of %d: %w", u-len(e.Accounts), u, err)
			}
			e.Accounts = accts
		}
		plan := load.Plan{Model: load.Closed, Users: u, Duration: e.StepDuration, Think: e.Think}
		sc, stopped, err := e.Scenario(ctx, capacityPrefix+strconv.Itoa(u), Load, plan, e.MainJourney())
		if err != nil {
			return false, false, err
		}
		if sc.Metrics.Counters == nil {
			sc.Metrics.Counters = map[string]int64{}
		}
		sc.Metrics.Counters[counterCeiling] = int64(ceiling)
		sc.Samples = append(sc.Samples, results.Sample{Kind: kindCeiling, Detail: why})
		add(sc)
		held, _ = stepHeld(&sc, e.SLA)
		return held, stopped, nil
	}
	return searchCapacity(ceiling, step)
}

// capacityCeiling is the most users the capacity search may try, and what
// sets it: the lowest of --max-users (unless [AutoMaxUsers]), what this
// process's open-file limit and the machine's available memory hold, and
// the accounts there are when no more can be registered.
func (e *Env) capacityCeiling() (int, string) {
	n, why := math.MaxInt, ""
	take := func(m int, w string) {
		if m < n {
			n, why = m, w
		}
	}
	if e.MaxUsers != AutoMaxUsers {
		take(e.MaxUsers, fmt.Sprintf("--max-users %d; raise --max-users to search further", e.MaxUsers))
	}
	if lim, ok := fileLimit(); ok {
		if u := usersCeiling(); u < math.MaxInt {
			take(u, fmt.Sprintf("this process's open-file limit (ulimit -n %d), which holds about %d users at %d files each", lim, u, fdsPerUser))
		}
	}
	if avail, ok := memAvailable(); ok {
		u := max(1, int(avail/userMemory))
		take(u, fmt.Sprintf("this machine's available memory (%d MiB), which holds about %d users at %d KiB each", avail>>20, u, userMemory>>10))
	}
	if e.MoreAccounts == nil {
		take(len(e.Accounts), fmt.Sprintf("the %d accounts of the users file, one per user; add accounts to search further", len(e.Accounts)))
	}
	if n == math.MaxInt {
		n, why = AutoMaxUsers, "no limit this process could read"
	}
	return n, why
}

// memAvailable is the machine's available memory (MemAvailable of
// /proc/meminfo); ok is false where it cannot be read.
func memAvailable() (uint64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
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
	if top := &steps[len(steps)-1]; c.Broke == 0 && top.Metrics.Counters[counterCeiling] > 0 {
		ceil := top.Metrics.Counters[counterCeiling]
		why := ""
		for _, s := range top.Samples {
			if s.Kind == kindCeiling {
				why = s.Detail
			}
		}
		c.Reason = fmt.Sprintf("never broke: %d users, the most tried, held; the ceiling was %s", c.Held, why)
		if int64(c.Held) < ceil {
			c.Reason = fmt.Sprintf("never broke: %d users, the most tried, held, but the search ended before its ceiling of %d users (%s)", c.Held, ceil, why)
		}
		return c
	}
	if c.Broke == 0 { // results written before the steps carried their ceiling
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
