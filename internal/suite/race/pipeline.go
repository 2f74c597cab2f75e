package race

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/load"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
	"github.com/goldenpath-dev/goldenpath/internal/results"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// scRacePipelined keeps several runs in flight on each socket.
const scRacePipelined = "race_ordering_pipelined"

// pipelinedRuns is how many runs each pipelined journey keeps in flight.
const pipelinedRuns = 3

// racePipelined runs two journeys per user in which a user types on while
// the agent works: the second and third requests leave the moment the
// first run's agent_started names the thread, so three runs stream on one
// socket at once. Frames that queue on a connection (a writer that batches,
// a per-connection queue shared by runs) are reordered or duplicated only
// then; journeys that wait for each answer never see it.
func racePipelined(ctx context.Context, e *suite.Env, n int, rt time.Duration) (results.Scenario, bool, error) {
	plan := load.Plan{Model: load.Closed, Users: n, Iterations: int64(2 * n), Duration: min(max(e.Duration, 5*time.Second), 10*time.Second)}
	return e.ScenarioFunc(ctx, scRacePipelined, Name, plan, func(it load.Iteration) journey.Options {
		return journey.Options{RunTimeout: rt, Messages: pipelinedRuns, Pipeline: true, DBOps: true, Nonce: nonceFor(it.VU), Foreign: foreignFor(it.VU)}
	}, nil)
}

// judgeOrdering judges the mixed load and the pipelined runs, with f the
// ordering findings of every race scenario's journeys.
func judgeOrdering(mixed, pipelined *results.Scenario, f findings) (string, string) {
	ev := requests(mixed)
	out := fmt.Sprintf("%d journeys under load", mixed.Journeys)
	var pev suite.Evidence
	if pipelined != nil {
		pev = requests(pipelined)
		out += fmt.Sprintf(", %d with %d runs in flight on one socket", pipelined.Journeys, pipelinedRuns)
	}
	switch {
	case f.n > 0:
		return results.Fail, out + ": " + f.String()
	case !ev.Enough():
		return results.Fail, ev.Lacking(mixed)
	case pipelined == nil:
		return results.Fail, out + "; the pipelined runs did not run, so frames queued on one socket were not judged"
	case !pev.Enough():
		return results.Fail, "pipelined runs: " + pev.Lacking(pipelined)
	}
	if lost := suite.PhaseErrors(*pipelined, journey.PhaseFirstEvent, journey.PhaseAgentExecution); lost > 0 {
		if refusedOnly(pipelined, lost) {
			// PROTOCOL's rate_limited: the target may refuse runs in
			// flight together; then queued frames cannot be judged here.
			return results.Pass, out + fmt.Sprintf(" (%s): seq +1 on every frame, the event grammar held and every request got its terminal event; the target refused runs in flight together on one socket (error_message rate_limited in %d of %d pipelined journeys), so frames queued on one socket were not judged",
				ev, lost, pipelined.Journeys)
		}
		out += fmt.Sprintf(": %d of %d journeys with %d runs in flight on one socket lost a run%s", lost, pipelined.Journeys, pipelinedRuns, suite.ErrorList(pipelined.Errors))
		if s := suite.FirstSample(pipelined, "timeout", "close", "protocol"); s != "" {
			out += "; e.g. " + s
		}
		return results.Fail, out
	}
	return results.Pass, out + fmt.Sprintf(" (%s; pipelined: %s): seq +1 on every frame, the event grammar held and every request got its terminal event, on every socket of the race scenarios' journeys", ev, pev)
}

// refusedOnly reports whether all lost runs of sc were refusals by
// error_message rate_limited, as far as its samples show: every lost run
// is a protocol failure, and every protocol sample kept is a rate_limited.
func refusedOnly(sc *results.Scenario, lost int64) bool {
	if sc.Errors[journey.FailProtocol] != lost {
		return false
	}
	seen := false
	for _, s := range sc.Samples {
		if s.Kind == journey.FailProtocol {
			if !strings.Contains(s.Detail, "error_message "+protocol.ErrRateLimited) {
				return false
			}
			seen = true
		}
	}
	return seen
}
