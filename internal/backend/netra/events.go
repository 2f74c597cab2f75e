package netra

import (
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// subAgent is the agent whose events come between the supervisor's start
// and its completion.
const subAgent = "triage"

// emitter turns one run's PROTOCOL v1 events into Netra's and fans them
// out to every socket of the run's user.
type emitter struct {
	c                *conn
	runID, requestID string
	emitted          bool // read by the run's goroutine only
	step             int
}

// Emit implements hub.Emitter.
func (e *emitter) Emit(typ string, data any) error {
	e.emitted = true
	now := time.Now()
	d := map[string]any{"run_id": e.runID, "thread_id": e.c.thread, "request_id": e.requestID, "user_id": e.c.user, "timestamp": timestamp(now)}
	meta := map[string]any{"agent_name": subAgent}
	switch v := data.(type) {
	case protocol.AgentStarted:
		e.c.wmu.Lock()
		if e.c.stored == "" {
			e.c.stored = v.ThreadID
		}
		e.c.wmu.Unlock()
		d["agent_name"], d["status"], d["message"] = "Supervisor", "started", "Supervisor started"
		meta["agent_name"] = "Supervisor"
	case protocol.AgentThinking:
		e.step++
		d["reasoning"], d["type"] = v.Reasoning, "reasoning"
		meta["step_number"] = e.step
	case protocol.ToolExecuting:
		d["tool_name"], d["status"], d["parameters"] = v.ToolName, "executing", map[string]any{}
	case protocol.ToolCompleted:
		d["tool_name"], d["status"], d["result"] = v.ToolName, "completed", v.Result
		meta["result"], meta["execution_time_ms"] = v.Result, 0
	case protocol.AgentCompleted:
		sub := map[string]any{"run_id": e.runID, "thread_id": e.c.thread, "request_id": e.requestID, "user_id": e.c.user, "timestamp": timestamp(now),
			"agent_name": subAgent, "status": "completed", "result": map[string]any{"summary": "triage done"}, "metadata": map[string]any{"agent_name": subAgent}}
		e.send(protocol.EventAgentCompleted, sub, false)
		d["agent_name"], d["status"] = "Supervisor", "completed"
		d["result"] = map[string]any{"final_response": v.Result.Content}
		meta["agent_name"], meta["execution_time_ms"] = "Supervisor", v.Timings.ExecutionMS
	case protocol.AgentError:
		d["error"], d["error_code"] = v.Message, v.Code
		meta["agent_name"] = "Supervisor"
	}
	d["metadata"] = meta
	if !e.send(typ, d, typ == protocol.EventAgentThinking) {
		return errGone
	}
	return nil
}

type gone struct{}

func (gone) Error() string { return "netra: no socket of the user is open" }

var errGone error = gone{}

// send writes one event to every socket of the user; it reports whether
// one took it. thinking marks the frame at which a doomed socket (fault
// close-1011) is closed instead.
func (e *emitter) send(typ string, data map[string]any, thinking bool) bool {
	frame := map[string]any{"type": typ, "data": data, "timestamp": timestamp(time.Now()), "critical": true, "attempt": nil}
	if n := e.c.s.o.Faults.DropEvents; n > 0 && e.c.s.frames.Add(1)%int64(n) == 0 {
		return true // fault drop-events: lost on the way
	}
	ok := false
	for _, c := range e.c.s.fanout(e.c.user) {
		if thinking && c.doomed {
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeInternal, "internal error (fault close-1011)"), time.Now().Add(time.Second))
			c.cancel()
			_ = c.ws.Close()
			continue
		}
		ok = c.write(frame) || ok
	}
	return ok
}
