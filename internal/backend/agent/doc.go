// Package agent runs the agent of the reference backend: one user_message
// becomes one run, which streams its events to the asking connection and
// stores the answer.
//
// A [Runner] executes runs. For each request it reads the live [Params],
// commits the thread and the user message through a [backend.Store], builds a
// fresh [Agent] with its [Factory], and emits, through the run's [Emitter]:
//
//	agent_started
//	agent_thinking (>= 1), tool_executing / tool_completed pairs (>= 0), interleaved
//	agent_completed, or agent_error
//
// The answer is committed before agent_completed is emitted, so an answer a
// client has seen is never lost. Every run that emitted agent_started ends
// with exactly one terminal event.
//
// # Models
//
// An agent answers through a [Model]. [Simulated] is deterministic and
// costs nothing but the configured think time; [OpenAI] streams from any
// OpenAI-compatible chat completions endpoint. Both quote the request's
// content verbatim in the answer, which is what lets a load tool prove that
// every answer went to the user who asked.
//
// # Faults
//
// Three options switch on deliberate defects for the load side to find:
// [WithFactoryDelay] (slow-factory), [WithSharedInstance] (shared-agent:
// one agent for every run, whose events go to whichever run started last)
// and [WithLeak] (memory-leak). Off by default; the clean path never
// touches them.
package agent
