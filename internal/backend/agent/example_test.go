package agent_test

import (
	"context"
	"fmt"

	"github.com/goldenpath-dev/goldenpath/internal/backend/agent"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

func ExampleSimulated() {
	in := agent.Input{
		RunRef:  protocol.RunRef{RunID: "r_1"},
		Content: "What is 6 x 7? nonce-42",
		Params:  agent.Params{AgentName: "demo", ThinkingEvents: 2, ToolCalls: 1},
	}
	answer, _ := agent.Simulated{}.Respond(context.Background(), in, printer{})
	fmt.Println(answer)
	// Output:
	// thinking: step 1/2: working on "What is 6 x 7? nonce-42"
	// tool_executing: search_docs call_1_r_1
	// tool_completed: search_docs call_1_r_1 {What is 6 x 7? nonce-42 1}
	// thinking: step 2/2: working on "What is 6 x 7? nonce-42"
	// Simulated answer (thinking steps: 2, tool calls: 1).
	//
	// You asked: "What is 6 x 7? nonce-42"
}

func ExampleRunner_Run() {
	store := newFakeStore() // any backend.Store
	settings := func() agent.Params { return agent.Params{AgentName: "demo", ThinkingEvents: 1, ToolCalls: 1} }
	r := agent.NewRunner(store, agent.NewFactory(agent.Simulated{}), settings)
	emit := agent.EmitterFunc(func(eventType string, data any) error {
		fmt.Println(eventType)
		return nil
	})
	err := r.Run(context.Background(), agent.Request{UserID: "u_1", MessageID: "m_1", Content: "hello"}, emit)
	fmt.Println("error:", err)
	// Output:
	// agent_started
	// agent_thinking
	// tool_executing
	// tool_completed
	// agent_completed
	// error: <nil>
}

// printer prints what a model reports.
type printer struct{}

func (printer) Thinking(text string) error { fmt.Println("thinking:", text); return nil }
func (printer) ToolStart(name, id string) error {
	fmt.Println("tool_executing:", name, id)
	return nil
}
func (printer) ToolDone(name, id string, result any) error {
	fmt.Println("tool_completed:", name, id, result)
	return nil
}
