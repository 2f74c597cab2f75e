package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Emitter delivers one run's events to its connection; the WebSocket hub
// implements it. data is one of the protocol structs, by value (e.g.
// [protocol.AgentThinking]). An error means the connection is gone (the run
// stops; its ctx is cancelled too). Emit must be safe for concurrent use.
type Emitter interface {
	Emit(eventType string, data any) error
}

// EmitterFunc adapts a function to [Emitter].
type EmitterFunc func(eventType string, data any) error

// Emit calls f.
func (f EmitterFunc) Emit(eventType string, data any) error { return f(eventType, data) }

// Request is one user_message, as the hub hands it to the runner.
type Request struct {
	UserID    string // the authenticated user
	MessageID string // client-chosen, echoed on every event
	Content   string // at most protocol.MaxContentBytes
	ThreadID  string // empty: start a new thread
}

// Validate reports a request the runner refuses, as an [*backend.Error]
// with code [backend.EINVALID].
func (r Request) Validate() error {
	switch {
	case r.UserID == "":
		return backend.Errorf(backend.EINVALID, "agent: request has no user")
	case r.MessageID == "":
		return backend.Errorf(backend.EINVALID, "agent: message_id is empty")
	case r.Content == "":
		return backend.Errorf(backend.EINVALID, "agent: content is empty")
	case len(r.Content) > protocol.MaxContentBytes:
		return backend.Errorf(backend.EINVALID, "agent: content is %d bytes; the limit is %d", len(r.Content), protocol.MaxContentBytes)
	}
	return nil
}

// Codes of agent_error events.
const (
	CodeModelError = "model_error" // the model failed
	CodeStoreError = "store_error" // the answer could not be stored
	CodeCancelled  = "cancelled"   // the client went away or the server is shutting down
	CodeTimeout    = "timeout"     // the run's deadline passed
)

// FailurePrefix begins the content of the message that records a failed
// run in the store: "agent_error <code>: <message>", under the run's
// message_id and the assistant's role, in place of the answer.
const FailurePrefix = "agent_error "

// recordTimeout bounds the store write that records a failed run; it
// outlives the run's context, whose end is often the failure.
const recordTimeout = 5 * time.Second

// Outcomes a [RunObserver] is told about.
const (
	OutcomeCompleted = "completed" // ended with agent_completed
	OutcomeError     = "error"     // ended with agent_error, or its connection is gone
)

// RunObserver is told when runs start and end, e.g. to feed the
// active-runs gauge and the runs counter. A run starts when agent_started
// is emitted; requests refused before that are neither started nor ended.
// Its methods must be safe for concurrent use.
type RunObserver interface {
	// RunStarted is called just before a run emits agent_started.
	RunStarted()
	// RunEnded is called once per started run, with OutcomeCompleted or
	// OutcomeError.
	RunEnded(outcome string)
}

type nopObserver struct{}

func (nopObserver) RunStarted()     {}
func (nopObserver) RunEnded(string) {}

// RunError is what [Runner.Run] returns for a run that failed after
// agent_started: its agent_error has been emitted already (or could not
// be, the connection being gone), so the caller must not report it again.
type RunError struct {
	Code string // the agent_error code, e.g. CodeModelError
	Err  error  // the cause
}

// Error implements the error interface.
func (e *RunError) Error() string { return "agent: run failed: " + e.Code + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *RunError) Unwrap() error { return e.Err }

// Runner executes runs. It is safe for concurrent use.
type Runner struct {
	store    backend.Store
	factory  *Factory
	settings func() Params
	now      func() time.Time
	ids      func(prefix string) string
	obs      RunObserver
	leak     *leak         // fault memory-leak; nil on the clean path
	serial   chan struct{} // fault serial-runs: one run at a time; nil on the clean path
}

// RunnerOption configures a [Runner].
type RunnerOption func(*Runner)

// WithNow sets the clock of timestamps and timings (default time.Now).
func WithNow(now func() time.Time) RunnerOption { return func(r *Runner) { r.now = now } }

// WithIDs sets the generator of run ("r_"), thread ("t_") and stored
// message ("m_") ids (default: the prefix and 24 hex digits from
// crypto/rand).
func WithIDs(ids func(prefix string) string) RunnerOption {
	return func(r *Runner) { r.ids = ids }
}

// WithObserver sets the observer told about started and ended runs
// (default: none).
func WithObserver(o RunObserver) RunnerOption { return func(r *Runner) { r.obs = o } }

// WithLeak makes every run allocate size bytes, touch every page of them,
// and keep them forever: the memory-leak fault, visible as growing RSS.
// See [Runner.Leaked]. Default 0: off.
func WithLeak(size int) RunnerOption {
	return func(r *Runner) {
		if size > 0 {
			r.leak = &leak{size: size}
		}
	}
}

// WithSerialRuns, when on, makes every run hold one lock of the runner's
// from before its store write to its last event: the serial-runs fault.
// Runs wait for one another before agent_started, so each run's events
// look right and only the time from request to answer shows the queue.
// Default off.
func WithSerialRuns(on bool) RunnerOption {
	return func(r *Runner) {
		if on {
			r.serial = make(chan struct{}, 1)
		}
	}
}

// NewRunner returns a runner that stores through store, builds agents with
// factory and reads each run's parameters from settings. It panics when one
// of them is nil.
func NewRunner(store backend.Store, factory *Factory, settings func() Params, opts ...RunnerOption) *Runner {
	if store == nil || factory == nil || settings == nil {
		panic("agent: NewRunner needs a store, a factory and settings")
	}
	r := &Runner{store: store, factory: factory, settings: settings}
	for _, opt := range opts {
		opt(r)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.ids == nil {
		r.ids = newID
	}
	if r.obs == nil {
		r.obs = nopObserver{}
	}
	return r
}

// Run executes one run of req and emits its events through emit.
//
// A request refused before agent_started (invalid, not the caller's
// thread, store or factory failure) returns an [*backend.Error] and emits
// nothing: EINVALID for a bad request, ENOTFOUND for a thread that is not
// the user's. Once agent_started is emitted, the run ends with exactly one
// agent_completed or agent_error, and a failure returns a [*RunError]. A
// done ctx stops the run promptly.
func (r *Runner) Run(ctx context.Context, req Request, emit Emitter) error {
	if err := req.Validate(); err != nil {
		return err
	}
	if r.leak != nil {
		r.leak.add() // FAULT memory-leak
	}
	if r.serial != nil { // FAULT serial-runs
		select {
		case r.serial <- struct{}{}:
			defer func() { <-r.serial }()
		case <-ctx.Done():
			return &backend.Error{Code: backend.EUNAVAILABLE, Message: "agent: run cancelled while waiting for the run lock", Err: ctx.Err()}
		}
	}
	t := r.now()
	params := r.settings()
	config := r.now().Sub(t)
	if err := params.Validate(); err != nil {
		return &backend.Error{Code: backend.EINTERNAL, Message: "agent: invalid run settings", Err: err}
	}

	ref := protocol.RunRef{RunID: r.ids("r_"), ThreadID: req.ThreadID, MessageID: req.MessageID, UserID: req.UserID}
	thread := backend.Thread{ID: req.ThreadID, UserID: req.UserID}
	create := req.ThreadID == ""
	t = r.now()
	if create {
		ref.ThreadID = r.ids("t_")
		thread = backend.Thread{ID: ref.ThreadID, UserID: req.UserID, Title: firstRunes(req.Content, 60), CreatedAt: t.UTC()}
	}
	asked := backend.Message{ID: r.ids("m_"), ThreadID: ref.ThreadID, UserID: req.UserID, Role: backend.RoleUser,
		Content: req.Content, MessageID: req.MessageID, CreatedAt: t.UTC()}
	err := r.store.StartRun(ctx, thread, create, asked)
	db := r.now().Sub(t)
	if err != nil {
		return err
	}

	t = r.now()
	agent, err := r.factory.New(ctx, UserContext{UserID: ref.UserID, ThreadID: ref.ThreadID, RunID: ref.RunID, MessageID: ref.MessageID})
	started := r.now()
	if err != nil {
		code, msg := failure(ctx, CodeModelError, err)
		r.record(ctx, ref, code, msg)
		return err
	}
	r.obs.RunStarted()
	err = emit.Emit(protocol.EventAgentStarted, protocol.AgentStarted{RunRef: ref, AgentName: params.AgentName,
		AgentInstanceID: agent.ID(), Timings: protocol.StartTimings{FactoryMS: ms(started.Sub(t)), ConfigMS: ms(config)}})
	if err != nil {
		r.record(ctx, ref, CodeCancelled, "the connection closed before the run started")
		r.obs.RunEnded(OutcomeError)
		return &RunError{Code: CodeCancelled, Err: goneError{err}}
	}

	answer, err := agent.Run(ctx, Input{RunRef: ref, Content: req.Content, Params: params}, emit)
	if err != nil {
		return r.fail(ctx, emit, ref, CodeModelError, err)
	}
	t = r.now()
	err = r.store.AppendMessage(ctx, backend.Message{ID: r.ids("m_"), ThreadID: ref.ThreadID, UserID: req.UserID,
		Role: backend.RoleAssistant, Content: answer, MessageID: req.MessageID, CreatedAt: t.UTC()})
	end := r.now()
	db += end.Sub(t)
	if err != nil {
		return r.fail(ctx, emit, ref, CodeStoreError, err)
	}
	err = emit.Emit(protocol.EventAgentCompleted, protocol.AgentCompleted{RunRef: ref, Result: protocol.Result{Content: answer},
		CompletedAt: end.UTC(), Timings: protocol.CompletedTimings{ExecutionMS: ms(end.Sub(started)), DBMS: ms(db)}})
	if err != nil {
		r.obs.RunEnded(OutcomeError)
		return &RunError{Code: CodeCancelled, Err: goneError{err}}
	}
	r.obs.RunEnded(OutcomeCompleted)
	return nil
}

// fail ends a started run with agent_error, after recording the failure in
// the store. The code is stage's unless the run was cancelled or timed
// out, or its connection is gone.
func (r *Runner) fail(ctx context.Context, emit Emitter, ref protocol.RunRef, stage string, err error) error {
	code, msg := failure(ctx, stage, err)
	r.record(ctx, ref, code, msg)
	_ = emit.Emit(protocol.EventAgentError, protocol.AgentError{RunRef: ref, Code: code, Message: msg}) // fails only if the connection is gone
	r.obs.RunEnded(OutcomeError)
	return &RunError{Code: code, Err: err}
}

// failure names the agent_error of a run that failed at stage with err. A
// run cancelled with a [*backend.Error] cause (a server shutting down)
// says that cause's message.
func failure(ctx context.Context, stage string, err error) (code, msg string) {
	var gone goneError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout, "run timed out"
	case ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.As(err, &gone):
		var cause *backend.Error
		if errors.As(context.Cause(ctx), &cause) {
			return CodeCancelled, backend.PublicMessage(cause)
		}
		return CodeCancelled, "run cancelled"
	case stage == CodeStoreError:
		return stage, "the answer could not be stored"
	}
	if msg := backend.PublicMessage(err); msg == backend.ErrorMessage(err) {
		return stage, msg
	}
	return stage, "the model failed" // its own words name internals (a host, a package): the server logs them
}

// record stores the failure of a run whose question is stored, in place of
// its answer (see [FailurePrefix]), so that no question is left without an
// outcome. It is best effort: a store that fails here has failed already.
func (r *Runner) record(ctx context.Context, ref protocol.RunRef, code, msg string) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	_ = r.store.AppendMessage(wctx, backend.Message{ID: r.ids("m_"), ThreadID: ref.ThreadID, UserID: ref.UserID,
		Role: backend.RoleAssistant, Content: FailurePrefix + code + ": " + msg, MessageID: ref.MessageID, CreatedAt: r.now().UTC()})
}

// ms is d in milliseconds, with sub-millisecond precision.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// FAULT memory-leak -------------------------------------------------------

// leak keeps size bytes per run forever.
type leak struct {
	size int
	mu   sync.Mutex
	kept [][]byte
}

// pageSize is the stride of the writes that make leaked memory resident.
const pageSize = 4096

func (l *leak) add() {
	b := make([]byte, l.size)
	for i := 0; i < len(b); i += pageSize {
		b[i] = 1
	}
	l.mu.Lock()
	l.kept = append(l.kept, b)
	l.mu.Unlock()
}

// Leaked reports how many runs leaked memory through [WithLeak] and how
// many bytes they keep; both are zero without the fault.
func (r *Runner) Leaked() (runs int, bytes int64) {
	if r.leak == nil {
		return 0, 0
	}
	r.leak.mu.Lock()
	defer r.leak.mu.Unlock()
	return len(r.leak.kept), int64(len(r.leak.kept)) * int64(r.leak.size)
}

// END FAULT ---------------------------------------------------------------
