package journey

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

// converseRuns sends the journey's requests and follows their runs to
// their end, one after another or, with Options.Pipeline, the rest the
// moment the first run has started (see [Options.Pipeline]).
func (u *puser) converseRuns() *Error {
	if !u.opts.Pipeline {
		for i := range u.opts.Messages {
			if err := u.send(i); err != nil {
				return err
			}
			if err := u.await(i+1, nil); err != nil {
				return err
			}
		}
		return nil
	}
	if err := u.send(0); err != nil {
		return err
	}
	rest := func(p *pinflight) *Error {
		if p != u.runs[0] || len(u.runs) > 1 {
			return nil
		}
		for i := 1; i < u.opts.Messages; i++ {
			if err := u.send(i); err != nil {
				return err
			}
		}
		return nil
	}
	return u.await(u.opts.Messages, rest)
}

// send renders and sends request i; its id is both {{.MessageID}} and
// {{.RunID}}, so that whichever the target echoes names it.
func (u *puser) send(i int) *Error {
	nonce := u.opts.Nonce()
	p := &pinflight{id: "m" + strconv.Itoa(i+1) + "-" + nonce, nonce: nonce, content: "golden path question " + strconv.Itoa(i+1) + ": " + nonce}
	f := u.fields
	f.MessageID, f.RunID, f.Content, f.ThreadID, f.Captured = p.id, p.id, p.content, u.thread, u.captured
	body, err := profile.Render(u.p.Request.Body, f)
	if err != nil {
		return &Error{Kind: FailOptions, Phase: PhaseFirstEvent, Message: "request.body: " + err.Error()}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return &Error{Kind: FailInternal, Phase: PhaseFirstEvent, Message: "encode request: " + err.Error()}
	}
	u.po.expect(p.id, nonce)
	u.asked = append(u.asked, request{messageID: p.id, content: p.content})
	u.runs = append(u.runs, p)
	u.trace("request "+strconv.Itoa(i+1), b)
	p.sent = time.Now()
	_ = u.sock.ws.SetWriteDeadline(p.sent.Add(writeTimeout))
	if err := u.sock.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return classify(u.ctx, PhaseFirstEvent, err)
	}
	u.res.Sent.add(frameType(body))
	_ = u.sock.ws.SetReadDeadline(p.sent.Add(u.opts.RunTimeout))
	return nil
}

func (u *puser) find(id string) *pinflight {
	for _, p := range u.runs {
		if p.id == id {
			return p
		}
	}
	return nil
}

// await reads frames until want runs have ended by the profile's end
// rule. started, when set, is called at each run's start and may send
// more requests.
func (u *puser) await(want int, started func(*pinflight) *Error) *Error {
	answered := 0
	for _, p := range u.runs {
		if p.done {
			answered++
		}
	}
	var last []byte
	for answered < want {
		e, err := u.next()
		if err != nil {
			return u.awaitFailed(err, last)
		}
		now := u.sock.at // the frame's arrival: reading it through the profile is ours, not the target's
		raw := u.sock.buf.Bytes()
		id := e.MessageID
		if id == "" {
			id = e.RunID
		}
		p := u.find(id)
		switch {
		case e.Kind == profile.KindError && (p != nil || id == ""):
			u.trace("run event: "+e.Type, raw)
			return &Error{Kind: FailProtocol, Phase: u.awaitPhase(), Message: e.Type + " (an error event in the profile's map)", Sample: sample(raw)}
		case p == nil || p.done || e.Kind == profile.KindIgnore || e.Kind == profile.KindUnknown:
			why := ""
			switch {
			case e.Kind == profile.KindUnknown:
				why = " (a type not in events.map)"
			case p == nil && e.Kind != profile.KindIgnore:
				why = " (of no request of this journey: " + strconv.Quote(id) + ")"
			}
			u.trace("skipped: "+e.Type+why, raw)
			last = append(last[:0], raw...)
			continue
		}
		what := "run event: " + string(e.Kind) + " " + e.Type
		if e.Kind == profile.KindCompleted {
			what += map[bool]string{true: " (the end of the run)", false: " (not the end: events.end; the run goes on)"}[e.Ends]
		}
		u.trace(what, raw)
		if !p.last.IsZero() {
			u.sample(PhaseInterEvent, now.Sub(p.last))
		}
		p.last = now
		if u.thread == "" && e.ThreadID != "" {
			u.thread = e.ThreadID
		}
		switch e.Kind {
		case profile.KindStarted:
			if p.started.IsZero() {
				p.started = now
				u.sample(PhaseFirstEvent, now.Sub(p.sent))
				if started != nil {
					if err := started(p); err != nil {
						return err
					}
				}
			}
		case profile.KindThinking:
			if p.thought.IsZero() {
				p.thought = now
				u.sample(PhaseFirstToken, now.Sub(p.sent))
			}
		case profile.KindCompleted:
			if !e.Ends {
				continue
			}
			if !p.started.IsZero() {
				u.sample(PhaseAgentExecution, now.Sub(p.started))
			}
			u.sample(PhaseAnswer, now.Sub(p.sent))
			p.done = true
			answered++
			u.res.Runs++
			u.answer = now
		}
	}
	return nil
}

// awaitPhase is the phase a failure while awaiting runs is in.
func (u *puser) awaitPhase() string {
	for _, p := range u.runs {
		if !p.done && p.started.IsZero() {
			return PhaseFirstEvent
		}
	}
	return PhaseAgentExecution
}

// awaitFailed classifies a read error while runs were in flight, naming
// the first run still open and the last frame that did not move it.
func (u *puser) awaitFailed(err error, last []byte) *Error {
	e := classify(u.ctx, u.awaitPhase(), err)
	if e.Kind != FailTimeout {
		return e
	}
	for _, p := range u.runs {
		if p.done {
			continue
		}
		what := "no end of run (events.map.completed"
		if u.p.Events.End.Path != "" {
			what += " with " + u.p.Events.End.Path + " in " + strings.Join(u.p.Events.End.Values, ", ")
		}
		what += ")"
		if p.started.IsZero() && len(u.p.Events.Map.Started) > 0 {
			what = "no start of run (" + strings.Join(u.p.Events.Map.Started, ", ") + ")"
		}
		e.Message = what + " for request " + p.id + " within " + u.opts.RunTimeout.String() + " (RunTimeout)"
		if last != nil {
			e.Message += "; the last frame that did not match was " + sample(last)
		}
		break
	}
	return e
}

// history reads the journey's thread back as the profile says and checks
// that it holds every question and, when answers quote their request,
// every answer.
func (u *puser) history() *Error {
	start := time.Now()
	b, err := u.call(u.p.History, PhaseDBOperation, "history")
	if err != nil {
		return err
	}
	u.sample(PhaseDBOperation, time.Since(start))
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return &Error{Kind: FailProtocol, Phase: PhaseDBOperation, Message: "history reply is not JSON: " + err.Error(), Sample: sample(b)}
	}
	msgs, ok := profile.Lookup(v, u.p.History.Messages).([]any)
	if !ok {
		return &Error{Kind: FailProtocol, Phase: PhaseDBOperation, Message: "history reply has no list at " + strconv.Quote(u.p.History.Messages) + " (history.messages)", Sample: sample(b)}
	}
	want := 1
	if u.p.Oracle.QuotesNonce {
		want = 2 // the question, and the answer quoting it
	}
	for _, p := range u.runs {
		n := 0
		for _, m := range msgs {
			mb, _ := json.Marshal(m)
			if strings.Contains(string(mb), p.nonce) {
				n++
			}
		}
		switch {
		case n < want:
			u.violate(Violation{Kind: ViolationStoreMismatch, Detail: "thread " + u.thread + " holds " + strconv.Itoa(n) + " messages with the nonce of request " + p.id + ", want " + strconv.Itoa(want) + " (" + strconv.Itoa(len(msgs)) + " messages)"})
		case n > want:
			u.violate(Violation{Kind: ViolationStoreMismatch, Detail: "thread " + u.thread + " holds " + strconv.Itoa(n) + " messages with the nonce of request " + p.id + ", want " + strconv.Itoa(want) + ": a duplicated write"})
		}
	}
	return nil
}
