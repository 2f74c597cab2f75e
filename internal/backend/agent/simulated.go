package agent

import (
	"context"
	"strconv"
	"time"
)

// Simulated is the default, deterministic model: no randomness, no I/O.
// It takes Params.ThinkingEvents thinking steps and Params.ToolCalls tool
// steps, interleaved (thinking, tool, thinking, tool, ...; the rest of
// whichever kind remains comes last), and spends Params.Think spread evenly
// over them: a thinking step waits, then reports; a tool step reports
// tool_executing, waits, then reports tool_completed. With no think time it
// never starts a timer.
//
// Reasoning text and tool results mention the first 128 bytes of the
// request content, so one user's content found in another user's events
// betrays cross-user contamination. The answer quotes the content verbatim.
//
// The zero value is ready to use and safe for concurrent use.
type Simulated struct{}

// simulatedTools are the tool names a simulated run cycles through.
var simulatedTools = [...]string{"search_docs", "lookup_account", "calculator"}

// toolResult is the result of a simulated tool call.
type toolResult struct {
	Query   string `json:"query"`
	Matches int    `json:"matches"`
}

// Respond implements [Model].
func (Simulated) Respond(ctx context.Context, in Input, obs Observer) (string, error) {
	thinks, tools := max(in.Params.ThinkingEvents, 1), max(in.Params.ToolCalls, 0)
	p := pacer{ctx: ctx, total: in.Params.Think, steps: thinks + tools}
	defer p.stop()
	about := prefix(in.Content, quotePrefixBytes)
	steps := strconv.Itoa(thinks)
	for th, tc := 0, 0; th < thinks || tc < tools; {
		if tc >= tools || (th < thinks && th <= tc) {
			th++
			if err := p.wait(); err != nil {
				return "", err
			}
			text := "step " + strconv.Itoa(th) + "/" + steps + ": working on \"" + about + "\""
			if err := obs.Thinking(text); err != nil {
				return "", err
			}
			continue
		}
		name, id := simulatedTools[tc%len(simulatedTools)], "call_"+strconv.Itoa(tc+1)+"_"+in.RunID
		tc++
		if err := obs.ToolStart(name, id); err != nil {
			return "", err
		}
		if err := p.wait(); err != nil {
			return "", err
		}
		if err := obs.ToolDone(name, id, toolResult{Query: about, Matches: tc}); err != nil {
			return "", err
		}
	}
	return "Simulated answer (thinking steps: " + steps + ", tool calls: " + strconv.Itoa(tools) + ")." +
		quoteIntro + in.Content + quoteOutro, nil // answerFor, in one allocation
}

// pacer spreads total over steps waits, honouring ctx, on one reused
// timer; the last wait takes the remainder, so they add up to total. With
// no total it only checks ctx.
type pacer struct {
	ctx   context.Context
	total time.Duration
	steps int
	done  int // waits so far
	timer *time.Timer
}

func (p *pacer) wait() error {
	if p.total <= 0 {
		return p.ctx.Err()
	}
	step := p.total / time.Duration(p.steps)
	if p.done++; p.done == p.steps {
		step = p.total - step*time.Duration(p.steps-1)
	}
	if p.timer == nil {
		p.timer = time.NewTimer(step)
	} else {
		p.timer.Reset(step)
	}
	select {
	case <-p.ctx.Done():
		return p.ctx.Err()
	case <-p.timer.C:
		return nil
	}
}

func (p *pacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}
