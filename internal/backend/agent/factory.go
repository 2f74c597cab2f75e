package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// UserContext is the per-user execution context an agent is built for:
// which user asked, in which thread, for which run and message.
type UserContext struct {
	UserID    string
	ThreadID  string
	RunID     string
	MessageID string
}

// Factory builds the agent of each run. It is safe for concurrent use.
type Factory struct {
	model  Model
	delay  time.Duration // fault slow-factory
	shared bool          // fault shared-agent

	mu       sync.Mutex // guards instance
	instance *Agent     // fault shared-agent: the one agent of every run
}

// FactoryOption configures a [Factory].
type FactoryOption func(*Factory)

// WithFactoryDelay makes every [Factory.New] sleep d first, honouring its
// ctx: the slow-factory fault, visible as timings.factory_ms. Default 0.
func WithFactoryDelay(d time.Duration) FactoryOption {
	return func(f *Factory) { f.delay = d }
}

// WithSharedInstance, when on, makes [Factory.New] return one agent for
// every run: the shared-agent fault. That agent serialises runs behind its
// lock, and its events go to whichever run most recently asked for it, so
// under concurrency they reach the wrong user's connection with the wrong
// run ids. Default off.
func WithSharedInstance(on bool) FactoryOption {
	return func(f *Factory) { f.shared = on }
}

// NewFactory returns a factory of agents that answer through model; a nil
// model means [Simulated].
func NewFactory(model Model, opts ...FactoryOption) *Factory {
	if model == nil {
		model = Simulated{}
	}
	f := &Factory{model: model}
	for _, opt := range opts {
		opt(f)
	}
	return f
}

// New builds a fresh agent for one run of user, with its own execution
// context and no state shared with any other agent. It fails only when ctx
// ends during the factory delay.
func (f *Factory) New(ctx context.Context, user UserContext) (*Agent, error) {
	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, &backend.Error{Code: backend.EUNAVAILABLE, Message: "agent: factory cancelled", Err: ctx.Err()}
		case <-t.C:
		}
	}
	if f.shared {
		return f.sharedInstance(user), nil
	}
	return &Agent{id: newID("a_"), user: user, model: f.model}, nil
}

// sharedInstance returns the one agent of every run (fault shared-agent),
// built for whichever user asked first.
func (f *Factory) sharedInstance(user UserContext) *Agent {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.instance == nil {
		f.instance = &Agent{id: newID("a_"), user: user, model: f.model,
			shared: &sharedState{lock: make(chan struct{}, 1)}}
	}
	return f.instance
}

// Agent answers one run: it runs its model and turns the model's progress
// into the run's events. Build one per run with [Factory.New].
type Agent struct {
	id     string
	user   UserContext
	model  Model
	shared *sharedState // fault shared-agent; nil on the clean path
}

// ID returns the agent's instance id, "a_" and 24 hex digits, reported as
// agent_instance_id.
func (a *Agent) ID() string { return a.id }

// User returns the execution context the agent was built for.
func (a *Agent) User() UserContext { return a.user }

// Run answers in and emits the run's agent_thinking, tool_executing and
// tool_completed events, each carrying in.RunRef, through emit. It returns
// the answer, or the first error: the model's, a failed Emit, or ctx's. A
// clean agent refuses to run for another user or run than its own.
func (a *Agent) Run(ctx context.Context, in Input, emit Emitter) (string, error) {
	if a.shared != nil {
		return a.runShared(ctx, in, emit)
	}
	if in.UserID != a.user.UserID || in.RunID != a.user.RunID {
		return "", backend.Errorf(backend.EINTERNAL, "agent: agent %s was built for run %s of user %s, not run %s of user %s",
			a.id, a.user.RunID, a.user.UserID, in.RunID, in.UserID)
	}
	return respond(ctx, a.model, in, &observer{own: binding{emit: emit, ref: in.RunRef}})
}

// respond runs model and checks that it closed every tool call it opened.
func respond(ctx context.Context, model Model, in Input, o *observer) (string, error) {
	answer, err := model.Respond(ctx, in, o)
	if err != nil {
		return "", err
	}
	for _, c := range o.calls {
		if !c.done {
			return "", backend.Errorf(backend.EINTERNAL, "agent: model left tool call %q open", c.id)
		}
	}
	return answer, nil
}

// FAULT shared-agent ----------------------------------------------------

// sharedState is what makes the shared agent wrong: a "current run" that
// every run overwrites before it waits for the agent, and that events are
// emitted through at emit time. It is an atomic pointer, so the defect is
// semantic (wrong recipient), never a Go data race.
type sharedState struct {
	lock    chan struct{}           // the agent's mutex; a waiting run can still leave when its ctx ends
	current atomic.Pointer[binding] // whichever run asked last
}

func (a *Agent) runShared(ctx context.Context, in Input, emit Emitter) (string, error) {
	s := a.shared
	s.current.Store(&binding{emit: emit, ref: in.RunRef}) // before the lock: the defect
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.lock }()
	return respond(ctx, a.model, in, &observer{shared: s})
}

// END FAULT -------------------------------------------------------------

// binding is where a run's events go: its emitter and its ids.
type binding struct {
	emit Emitter
	ref  protocol.RunRef
}

// observer turns a model's progress into events and checks tool pairing.
type observer struct {
	own    binding
	shared *sharedState // fault shared-agent: emit through shared.current instead
	calls  []toolCall
}

type toolCall struct {
	id   string
	done bool
}

func (o *observer) target() *binding {
	if o.shared != nil {
		return o.shared.current.Load()
	}
	return &o.own
}

func (o *observer) Thinking(text string) error {
	b := o.target()
	return emitted(b.emit.Emit(protocol.EventAgentThinking, protocol.AgentThinking{RunRef: b.ref, Reasoning: text}))
}

func (o *observer) ToolStart(name, callID string) error {
	if callID == "" {
		return backend.Errorf(backend.EINTERNAL, "agent: tool call of %q has no id", name)
	}
	for _, c := range o.calls {
		if c.id == callID {
			return backend.Errorf(backend.EINTERNAL, "agent: tool call id %q used twice", callID)
		}
	}
	o.calls = append(o.calls, toolCall{id: callID})
	b := o.target()
	return emitted(b.emit.Emit(protocol.EventToolExecuting, protocol.ToolExecuting{RunRef: b.ref, ToolName: name, ToolCallID: callID}))
}

func (o *observer) ToolDone(name, callID string, result any) error {
	i := len(o.calls) - 1
	for i >= 0 && o.calls[i].id != callID {
		i--
	}
	if i < 0 || o.calls[i].done {
		return backend.Errorf(backend.EINTERNAL, "agent: tool call %q completed without being open", callID)
	}
	o.calls[i].done = true
	b := o.target()
	return emitted(b.emit.Emit(protocol.EventToolCompleted, protocol.ToolCompleted{RunRef: b.ref, ToolName: name, ToolCallID: callID, Result: result}))
}

// goneError is a failed Emit: the run's connection is gone.
type goneError struct{ err error }

func (e goneError) Error() string { return "agent: connection gone: " + e.err.Error() }
func (e goneError) Unwrap() error { return e.err }

func emitted(err error) error {
	if err != nil {
		return goneError{err}
	}
	return nil
}

// newID returns prefix followed by 24 hex digits from crypto/rand.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	if len(prefix) > 8 {
		return prefix + hex.EncodeToString(b[:])
	}
	var buf [32]byte
	n := copy(buf[:], prefix)
	hex.Encode(buf[n:], b[:])
	return string(buf[:n+24])
}
