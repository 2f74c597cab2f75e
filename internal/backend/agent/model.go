package agent

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Params is what a run is configured with. The server fills it from the live
// configuration snapshot, once per run.
type Params struct {
	// AgentName is reported as agent_name in agent_started.
	AgentName string
	// Think is the total simulated model time of one run, spread evenly
	// over its steps; zero means no waiting at all.
	Think time.Duration
	// ThinkingEvents is the number of agent_thinking events of a simulated
	// run, at least 1.
	ThinkingEvents int
	// ToolCalls is the number of tool call pairs (tool_executing, then
	// tool_completed) of a simulated run, at least 0.
	ToolCalls int
}

// DefaultParams returns the parameters of the smallest valid run: agent
// "goldenpath-agent", one thinking event, no tools, no think time.
func DefaultParams() Params {
	return Params{AgentName: "goldenpath-agent", ThinkingEvents: 1}
}

// Validate reports the first field of p that is out of range, as an
// [*backend.Error] with code [backend.EINVALID].
func (p Params) Validate() error {
	switch {
	case p.AgentName == "":
		return backend.Errorf(backend.EINVALID, "agent: params: AgentName is empty")
	case p.Think < 0:
		return backend.Errorf(backend.EINVALID, "agent: params: Think is %s; want >= 0", p.Think)
	case p.ThinkingEvents < 1:
		return backend.Errorf(backend.EINVALID, "agent: params: ThinkingEvents is %d; want >= 1", p.ThinkingEvents)
	case p.ToolCalls < 0:
		return backend.Errorf(backend.EINVALID, "agent: params: ToolCalls is %d; want >= 0", p.ToolCalls)
	}
	return nil
}

// Input is what a model answers: the request and the run it belongs to.
type Input struct {
	protocol.RunRef        // run, thread, message and user ids of the run
	Content         string // the request's content
	Params          Params // the run's parameters
}

// Observer receives a model's progress; each call emits one event of the
// run. An error means the run's connection is gone: the model must stop and
// return it. A model calls its observer from one goroutine at a time.
type Observer interface {
	// Thinking reports a piece of reasoning (agent_thinking).
	Thinking(text string) error
	// ToolStart reports that a tool call began (tool_executing). callID
	// must be unique within the run.
	ToolStart(name, callID string) error
	// ToolDone reports that the started call callID ended with result
	// (tool_completed); result is encoded as JSON.
	ToolDone(name, callID string, result any) error
}

// Model produces the answer of one run, reporting its progress to obs. It
// returns promptly once ctx is done.
type Model interface {
	Respond(ctx context.Context, in Input, obs Observer) (answer string, err error)
}

// ModelFunc adapts a function to [Model].
type ModelFunc func(ctx context.Context, in Input, obs Observer) (string, error)

// Respond calls f.
func (f ModelFunc) Respond(ctx context.Context, in Input, obs Observer) (string, error) {
	return f(ctx, in, obs)
}

// quotePrefixBytes is how much of the request content reasoning text and
// tool results mention.
const quotePrefixBytes = 128

// answerFor is text followed by a line quoting content verbatim: the
// protocol's proof that an answer belongs to its request.
func answerFor(text, content string) string {
	return text + quoteIntro + content + quoteOutro
}

// The line of an answer that quotes the request.
const (
	quoteIntro = "\n\nYou asked: \""
	quoteOutro = "\""
)

// prefix returns at most n bytes of s, cut at a rune boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// firstRunes returns the first n runes of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
