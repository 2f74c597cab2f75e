package journey

import (
	"time"
)

// inflight is one request on the socket and what its run has shown so far.
type inflight struct {
	req                          request
	sent, started, thought, last time.Time
	done                         bool
}

// find returns the run of messageID, or nil.
func find(runs []*inflight, messageID string) *inflight {
	for _, p := range runs {
		if p.req.messageID == messageID {
			return p
		}
	}
	return nil
}

// awaitPhase is the phase a failure while awaiting runs is in: first_event
// until every run in flight has started.
func awaitPhase(runs []*inflight) string {
	for _, p := range runs {
		if !p.done && p.started.IsZero() {
			return PhaseFirstEvent
		}
	}
	return PhaseAgentExecution
}

// awaitFailed classifies a read error while runs were in flight, naming
// the first message still unanswered on a timeout.
func (u *user) awaitFailed(runs []*inflight, err error) *Error {
	e := classify(u.ctx, awaitPhase(runs), err)
	if e.Kind == FailTimeout {
		for _, req := range u.asked {
			if p := find(runs, req.messageID); p != nil && !p.done {
				e.Message = "no agent_completed for message " + req.messageID + " within " + u.opts.RunTimeout.String() + " (RunTimeout)"
				break
			}
		}
	}
	return e
}
