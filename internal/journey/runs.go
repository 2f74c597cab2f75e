package journey

import (
	"strconv"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// inflight is one request on the socket and what its run has shown so far.
type inflight struct {
	req                          request
	sent, started, thought, last time.Time
	done                         bool
}

// converseRuns sends the journey's requests and follows their runs to
// their terminal events: one after another, each after the previous
// answer, or, with Options.Pipeline, the rest the moment the first run's
// agent_started names its thread, so that several runs are in flight on
// the socket at once.
func (u *user) converseRuns() *Error {
	if !u.opts.Pipeline {
		for i := range u.opts.Messages {
			p, err := u.send(i)
			if err != nil {
				return err
			}
			one := []*inflight{p}
			if err := u.await(&one, 1, nil); err != nil {
				return err
			}
		}
		return nil
	}
	first, err := u.send(0)
	if err != nil {
		return err
	}
	runs := make([]*inflight, 1, u.opts.Messages)
	runs[0] = first
	rest := func(p *inflight) *Error {
		if p != first || len(runs) > 1 {
			return nil
		}
		for i := 1; i < u.opts.Messages; i++ {
			q, err := u.send(i)
			if err != nil {
				return err
			}
			runs = append(runs, q)
		}
		return nil
	}
	return u.await(&runs, u.opts.Messages, rest)
}

// send sends request i (in the journey's thread once it has one) and sets
// the read deadline to its RunTimeout.
func (u *user) send(i int) (*inflight, *Error) {
	nonce := u.opts.Nonce()
	req := request{messageID: "m" + strconv.Itoa(i+1) + "-" + nonce, content: "golden path question " + strconv.Itoa(i+1) + ": " + nonce}
	u.asked = append(u.asked, req)
	sent, err := u.sock.send(req.messageID, req.content, u.thread)
	if e, ok := err.(*Error); ok {
		return nil, e
	}
	if err != nil {
		return nil, classify(u.ctx, PhaseFirstEvent, err)
	}
	u.res.Sent.add(protocol.MessageUser)
	_ = u.sock.ws.SetReadDeadline(sent.Add(u.opts.RunTimeout))
	return &inflight{req: req, sent: sent}, nil
}

// await reads frames until want runs of *runs (a handful: a journey's
// requests in flight) have ended with agent_completed. started, when set,
// is called at each run's agent_started (after the journey learnt its
// thread) and may add runs.
func (u *user) await(runs *[]*inflight, want int, started func(*inflight) *Error) *Error {
	for answered := 0; answered < want; {
		f, err := u.next()
		if err != nil {
			return u.awaitFailed(*runs, err)
		}
		now := u.sock.at // the frame's arrival: the oracle's time is ours, not the target's
		if f.Type == protocol.EventErrorMessage {
			return &Error{Kind: FailProtocol, Phase: awaitPhase(*runs), Message: "error_message " + f.Code + ": " + f.Message, Sample: sample(u.sock.buf.Bytes())}
		}
		p := find(*runs, f.MessageID)
		if p == nil || p.done || !protocol.IsRunEvent(f.Type) {
			continue
		}
		if !p.last.IsZero() {
			u.sample(PhaseInterEvent, now.Sub(p.last))
		}
		p.last = now
		switch f.Type {
		case protocol.EventAgentStarted:
			if p.started.IsZero() {
				p.started = now
				u.res.Instances = append(u.res.Instances, f.AgentInstanceID)
				u.sample(PhaseFirstEvent, now.Sub(p.sent))
				u.res.Server = append(u.res.Server, f.Timings...)
				if u.thread == "" {
					u.thread = f.ThreadID
				}
				if started != nil {
					if err := started(p); err != nil {
						return err
					}
				}
			}
		case protocol.EventAgentThinking:
			if p.thought.IsZero() {
				p.thought = now
				u.sample(PhaseFirstToken, now.Sub(p.sent))
			}
		case protocol.EventAgentCompleted:
			if !p.started.IsZero() {
				u.sample(PhaseAgentExecution, now.Sub(p.started))
			}
			u.sample(PhaseAnswer, now.Sub(p.sent))
			if u.clk.ok && !f.CompletedAt.IsZero() {
				d, clamped := u.clk.delivery(now, f.CompletedAt)
				u.sample(PhaseResponseDelivery, d)
				if clamped {
					u.res.Clamped++
				}
			}
			u.res.Server = append(u.res.Server, f.Timings...)
			if u.thread == "" {
				u.thread = f.ThreadID
			}
			p.done = true
			answered++
			u.res.Runs++
			u.answer = now
		case protocol.EventAgentError:
			return &Error{Kind: FailProtocol, Phase: PhaseAgentExecution, Message: "agent_error " + f.Code + ": " + f.Message, Sample: sample(u.sock.buf.Bytes())}
		}
	}
	return nil
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
