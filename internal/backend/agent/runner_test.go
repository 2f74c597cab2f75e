package agent_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/agent"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// content carries a nonce and the characters JSON and HTML escaping love.
const content = `nonce-3f9c <b>&amp;</b> "quoted" ünïcödé`

func params(thinks, tools int) agent.Params {
	return agent.Params{AgentName: "test-agent", ThinkingEvents: thinks, ToolCalls: tools}
}

func newRunner(store backend.Store, p agent.Params, fopts []agent.FactoryOption, ropts ...agent.RunnerOption) *agent.Runner {
	return agent.NewRunner(store, agent.NewFactory(agent.Simulated{}, fopts...), func() agent.Params { return p }, ropts...)
}

// expand turns "think tool" into the event types of those steps.
func expand(steps string) []string {
	want := []string{protocol.EventAgentStarted}
	for _, s := range strings.Fields(steps) {
		if s == "tool" {
			want = append(want, protocol.EventToolExecuting, protocol.EventToolCompleted)
		} else {
			want = append(want, protocol.EventAgentThinking)
		}
	}
	return append(want, protocol.EventAgentCompleted)
}

// checkGrammar checks one run's events event by event: the types in order,
// the same RunRef (the request's) on every event, tools paired, reasoning
// and answer mentioning the content. It returns the run's RunRef.
func checkGrammar(t *testing.T, events []event, req agent.Request, p agent.Params, steps string) protocol.RunRef {
	t.Helper()
	want := expand(steps)
	if len(events) != len(want) {
		t.Fatalf("run emitted %d events %v; want %d: %v", len(events), typesOf(events), len(want), want)
	}
	ref := events[0].ref()
	if ref.UserID != req.UserID || ref.MessageID != req.MessageID || !strings.HasPrefix(ref.RunID, "r_") ||
		(req.ThreadID != "" && ref.ThreadID != req.ThreadID) || (req.ThreadID == "" && !strings.HasPrefix(ref.ThreadID, "t_")) {
		t.Fatalf("agent_started carries %+v; want user %s, message %s, an r_ run and thread %q (t_ if empty)", ref, req.UserID, req.MessageID, req.ThreadID)
	}
	seen := map[string]bool{}
	var open protocol.ToolExecuting
	for i, e := range events {
		if e.typ != want[i] {
			t.Fatalf("event %d is %s; want %s (run: %v)", i, e.typ, want[i], typesOf(events))
		}
		if got := e.ref(); got != ref {
			t.Errorf("event %d (%s) carries %+v; want the run's %+v", i, e.typ, got, ref)
		}
		switch d := e.data.(type) {
		case protocol.AgentStarted:
			if d.AgentName != p.AgentName || !strings.HasPrefix(d.AgentInstanceID, "a_") || len(d.AgentInstanceID) != 26 {
				t.Errorf("agent_started has agent %q, instance %q; want %q and a_ with 24 hex digits", d.AgentName, d.AgentInstanceID, p.AgentName)
			}
		case protocol.AgentThinking:
			if !strings.Contains(d.Reasoning, req.Content) {
				t.Errorf("event %d reasons %q; want it to mention %q", i, d.Reasoning, req.Content)
			}
		case protocol.ToolExecuting:
			if seen[d.ToolCallID] || d.ToolCallID == "" || d.ToolName == "" {
				t.Errorf("event %d starts tool %q call %q; want a named tool and a new call id", i, d.ToolName, d.ToolCallID)
			}
			seen[d.ToolCallID], open = true, d
		case protocol.ToolCompleted:
			if d.ToolCallID != open.ToolCallID || d.ToolName != open.ToolName || d.Result == nil {
				t.Errorf("event %d completes %s/%s with %v; want the open call %s/%s with a result", i, d.ToolName, d.ToolCallID, d.Result, open.ToolName, open.ToolCallID)
			}
			if !strings.Contains(fmt.Sprint(d.Result), req.Content) {
				t.Errorf("event %d has tool result %v; want it to mention %q", i, d.Result, req.Content)
			}
			open = protocol.ToolExecuting{}
		case protocol.AgentCompleted:
			if !strings.Contains(d.Result.Content, req.Content) {
				t.Errorf("answer %q does not quote the request %q verbatim", d.Result.Content, req.Content)
			}
			if d.CompletedAt.Location() != time.UTC || d.CompletedAt.IsZero() {
				t.Errorf("completed_at = %v; want a UTC time", d.CompletedAt)
			}
			if d.Timings.ExecutionMS < 0 || d.Timings.DBMS < 0 {
				t.Errorf("agent_completed timings = %+v; want no negative figure", d.Timings)
			}
		}
	}
	return ref
}

func typesOf(events []event) []string {
	var ts []string
	for _, e := range events {
		ts = append(ts, e.typ)
	}
	return ts
}

func TestRunEmitsTheProtocolGrammar(t *testing.T) {
	tests := []struct {
		name   string
		params agent.Params
		steps  string
	}{
		{"one thought", params(1, 0), "think"},
		{"five thoughts", params(5, 0), "think think think think think"},
		{"one thought, three tools", params(1, 3), "think tool tool tool"},
		{"three thoughts, two tools", params(3, 2), "think tool think tool think"},
		{"two thoughts, three tools", params(2, 3), "think tool think tool tool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, rec := newFakeStore(), &recorder{}
			req := agent.Request{UserID: "u_1", MessageID: "msg-1", Content: content}
			if err := newRunner(store, tt.params, nil).Run(t.Context(), req, rec); err != nil {
				t.Fatalf("Run(%+v) = %v; want nil", tt.params, err)
			}
			ref := checkGrammar(t, rec.all(), req, tt.params, tt.steps)
			msgs, err := store.Messages(t.Context(), "u_1", ref.ThreadID)
			answer := rec.last().data.(protocol.AgentCompleted).Result.Content
			if err != nil || len(msgs) != 2 || msgs[0].Role != backend.RoleUser || msgs[0].Content != content ||
				msgs[1].Role != backend.RoleAssistant || msgs[1].Content != answer || msgs[0].MessageID != "msg-1" || msgs[1].MessageID != "msg-1" {
				t.Errorf("thread %s holds %+v, %v; want the question and the emitted answer, both of message msg-1", ref.ThreadID, msgs, err)
			}
		})
	}
}

func TestRunCreatesOrContinuesAThread(t *testing.T) {
	store, rec := newFakeStore(), &recorder{}
	r := newRunner(store, params(1, 0), nil)
	long := strings.Repeat("ü", 70) + " nonce-77"
	if err := r.Run(t.Context(), agent.Request{UserID: "u_1", MessageID: "m1", Content: long}, rec); err != nil {
		t.Fatalf("first Run = %v; want nil", err)
	}
	threadID := rec.all()[0].ref().ThreadID
	th, err := store.Thread(t.Context(), "u_1", threadID)
	if want := strings.Repeat("ü", 60); err != nil || th.Title != want {
		t.Fatalf("new thread %s = %+v, %v; want the title %q (60 runes)", threadID, th, err, want)
	}
	rec2 := &recorder{}
	req := agent.Request{UserID: "u_1", MessageID: "m2", Content: content, ThreadID: threadID}
	if err := r.Run(t.Context(), req, rec2); err != nil {
		t.Fatalf("Run in thread %s = %v; want nil", threadID, err)
	}
	checkGrammar(t, rec2.all(), req, params(1, 0), "think")
	msgs, _ := store.Messages(t.Context(), "u_1", threadID)
	var got []string
	for _, m := range msgs {
		got = append(got, m.Role+"/"+m.MessageID)
	}
	if want := "user/m1 assistant/m1 user/m2 assistant/m2"; strings.Join(got, " ") != want {
		t.Errorf("thread %s holds %v; want %s", threadID, got, want)
	}
}

func TestRunRefusesBeforeEmittingAnything(t *testing.T) {
	foreign := backend.Thread{ID: "t_theirs", UserID: "u_other"}
	tests := []struct {
		name     string
		req      agent.Request
		wantCode string
	}{
		{"no message id", agent.Request{UserID: "u_1", Content: "hi"}, backend.EINVALID},
		{"no content", agent.Request{UserID: "u_1", MessageID: "m"}, backend.EINVALID},
		{"content over 32 KiB", agent.Request{UserID: "u_1", MessageID: "m", Content: strings.Repeat("x", protocol.MaxContentBytes+1)}, backend.EINVALID},
		{"no user", agent.Request{MessageID: "m", Content: "hi"}, backend.EINVALID},
		{"another user's thread", agent.Request{UserID: "u_1", MessageID: "m", Content: "hi", ThreadID: foreign.ID}, backend.ENOTFOUND},
		{"a thread that does not exist", agent.Request{UserID: "u_1", MessageID: "m", Content: "hi", ThreadID: "t_nope"}, backend.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, rec, obs := newFakeStore(), &recorder{}, &countingObserver{}
			_ = store.CreateThread(t.Context(), foreign)
			err := newRunner(store, params(1, 1), nil, agent.WithObserver(obs)).Run(t.Context(), tt.req, rec)
			var be *backend.Error
			if !errors.As(err, &be) || be.Code != tt.wantCode {
				t.Errorf("Run = %v; want a *backend.Error with code %s", err, tt.wantCode)
			}
			if got := rec.types(); len(got) != 0 {
				t.Errorf("Run emitted %v; want nothing", got)
			}
			if n := store.messageCount(); n != 0 {
				t.Errorf("store holds %d messages; want none", n)
			}
			if obs.started != 0 || obs.ended != 0 {
				t.Errorf("observer saw %d started, %d ended; want no run", obs.started, obs.ended)
			}
		})
	}
	t.Run("content of exactly 32 KiB", func(t *testing.T) {
		req := agent.Request{UserID: "u_1", MessageID: "m", Content: strings.Repeat("x", protocol.MaxContentBytes)}
		if err := newRunner(newFakeStore(), params(1, 0), nil).Run(t.Context(), req, &recorder{}); err != nil {
			t.Errorf("Run with %d bytes of content = %v; want nil", len(req.Content), err)
		}
	})
}

func TestRunEndsAFailedRunWithAgentError(t *testing.T) {
	boom := agent.ModelFunc(func(_ context.Context, _ agent.Input, obs agent.Observer) (string, error) {
		if err := obs.Thinking("about to fail"); err != nil {
			return "", err
		}
		return "", backend.Errorf(backend.EINTERNAL, "model: out of tokens")
	})
	leaveOpen := agent.ModelFunc(func(_ context.Context, _ agent.Input, obs agent.Observer) (string, error) {
		_ = obs.Thinking("calling a tool")
		return "done", obs.ToolStart("search", "c1")
	})
	tests := []struct {
		name      string
		model     agent.Model
		appendErr error
		wantCode  string
		wantMsg   string
		wantTypes string
	}{
		{"model fails", boom, nil, agent.CodeModelError, "the model failed", "agent_started agent_thinking agent_error"},
		{"model leaves a tool call open", leaveOpen, nil, agent.CodeModelError, "the model failed", "agent_started agent_thinking tool_executing agent_error"},
		{"answer cannot be stored", agent.Simulated{}, backend.Errorf(backend.EINTERNAL, "disk full"), agent.CodeStoreError, "the answer could not be stored", "agent_started agent_thinking agent_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, rec, obs := newFakeStore(), &recorder{}, &countingObserver{}
			store.appendErr = tt.appendErr
			r := agent.NewRunner(store, agent.NewFactory(tt.model), func() agent.Params { return params(1, 0) }, agent.WithObserver(obs))
			err := r.Run(t.Context(), agent.Request{UserID: "u_1", MessageID: "m", Content: content}, rec)
			var re *agent.RunError
			if !errors.As(err, &re) || re.Code != tt.wantCode {
				t.Errorf("Run = %v; want a *RunError with code %s", err, tt.wantCode)
			}
			if got := strings.Join(rec.types(), " "); got != tt.wantTypes {
				t.Fatalf("run emitted %s; want %s", got, tt.wantTypes)
			}
			ae := rec.last().data.(protocol.AgentError)
			if ae.Code != tt.wantCode || ae.Message != tt.wantMsg || ae.RunRef != rec.all()[0].ref() {
				t.Errorf("agent_error = %+v; want code %s, message %q and the run's ids", ae, tt.wantCode, tt.wantMsg)
			}
			if obs.started != 1 || obs.outcomes[agent.OutcomeError] != 1 {
				t.Errorf("observer saw %d started, outcomes %v; want 1 started, 1 error", obs.started, obs.outcomes)
			}
			if tt.appendErr == nil {
				checkRecordedFailure(t, store, tt.wantCode)
			}
		})
	}
}

func TestRunStopsWhenTheEmitterFails(t *testing.T) {
	store, rec := newFakeStore(), &recorder{failAt: 3} // agent_started, one thought, then the connection is gone
	err := newRunner(store, params(1000, 1000), nil).Run(t.Context(), agent.Request{UserID: "u_1", MessageID: "m", Content: content}, rec)
	var re *agent.RunError
	if !errors.As(err, &re) || re.Code != agent.CodeCancelled || !errors.Is(err, errConnClosed) {
		t.Errorf("Run = %v; want a *RunError with code cancelled wrapping the emitter's error", err)
	}
	if rec.calls > 4 {
		t.Errorf("runner called Emit %d times; want it to stop after the failure (at most one agent_error attempt)", rec.calls)
	}
	checkRecordedFailure(t, store, agent.CodeCancelled)
}

// checkRecordedFailure checks that the store holds the run's question and,
// in place of its answer, its failure with code.
func checkRecordedFailure(t *testing.T, store *fakeStore, code string) {
	t.Helper()
	store.mu.Lock()
	defer store.mu.Unlock()
	for _, ms := range store.messages {
		if len(ms) != 2 || ms[0].Role != backend.RoleUser || ms[1].Role != backend.RoleAssistant || ms[1].MessageID != ms[0].MessageID ||
			!strings.HasPrefix(ms[1].Content, agent.FailurePrefix+code+": ") {
			t.Errorf("store holds %+v; want the question, then its failure %q...", ms, agent.FailurePrefix+code+": ")
		}
		return
	}
	t.Errorf("store holds no thread; want the question and its failure")
}

func TestRunGivesEveryRunItsOwnAgent(t *testing.T) {
	const runs = 50
	r := newRunner(newFakeStore(), params(2, 1), nil)
	recs := make([]*recorder, runs)
	var wg sync.WaitGroup
	for i := range recs {
		recs[i] = &recorder{}
		wg.Go(func() {
			req := agent.Request{UserID: fmt.Sprintf("u_%d", i), MessageID: "m", Content: fmt.Sprintf("nonce-%d-", i)}
			if err := r.Run(t.Context(), req, recs[i]); err != nil {
				t.Errorf("Run %d = %v; want nil", i, err)
			}
		})
	}
	wg.Wait()
	instances, runIDs := map[string]int{}, map[string]int{}
	for i, rec := range recs {
		req := agent.Request{UserID: fmt.Sprintf("u_%d", i), MessageID: "m", Content: fmt.Sprintf("nonce-%d-", i)}
		ref := checkGrammar(t, rec.all(), req, params(2, 1), "think tool think")
		id := rec.all()[0].data.(protocol.AgentStarted).AgentInstanceID
		if j, dup := instances[id]; dup {
			t.Errorf("runs %d and %d share agent_instance_id %s; want one instance per run", j, i, id)
		}
		if j, dup := runIDs[ref.RunID]; dup {
			t.Errorf("runs %d and %d share run_id %s", j, i, ref.RunID)
		}
		instances[id], runIDs[ref.RunID] = i, i
	}
}

func TestRunObserverCountsRuns(t *testing.T) {
	store, obs := newFakeStore(), &countingObserver{}
	r := newRunner(store, params(1, 0), nil, agent.WithObserver(obs))
	ok := agent.Request{UserID: "u_1", MessageID: "m", Content: "hi"}
	_ = r.Run(t.Context(), ok, &recorder{})
	_ = r.Run(t.Context(), ok, &recorder{})
	_ = r.Run(t.Context(), ok, &recorder{failAt: 2})                                                                  // connection gone after agent_started
	_ = r.Run(t.Context(), agent.Request{UserID: "u_1"}, &recorder{})                                                 // refused: not a run
	_ = r.Run(t.Context(), agent.Request{UserID: "u_1", MessageID: "m", Content: "hi", ThreadID: "t_x"}, &recorder{}) // refused
	if obs.started != 3 || obs.ended != 3 || obs.outcomes[agent.OutcomeCompleted] != 2 || obs.outcomes[agent.OutcomeError] != 1 {
		t.Errorf("observer saw %d started, %d ended, outcomes %v; want 3 started, 3 ended: 2 completed, 1 error", obs.started, obs.ended, obs.outcomes)
	}
}

func TestWithLeakRetainsMemory(t *testing.T) {
	const size = 1 << 20
	r := newRunner(newFakeStore(), params(1, 0), nil, agent.WithLeak(size))
	for range 3 {
		if err := r.Run(t.Context(), agent.Request{UserID: "u_1", MessageID: "m", Content: "hi"}, &recorder{}); err != nil {
			t.Fatalf("Run = %v; want nil", err)
		}
	}
	if runs, bytes := r.Leaked(); runs != 3 || bytes != 3*size {
		t.Errorf("Leaked() = (%d, %d); want (3, %d)", runs, bytes, 3*size)
	}
	clean := newRunner(newFakeStore(), params(1, 0), nil)
	_ = clean.Run(t.Context(), agent.Request{UserID: "u_1", MessageID: "m", Content: "hi"}, &recorder{})
	if runs, bytes := clean.Leaked(); runs != 0 || bytes != 0 {
		t.Errorf("Leaked() without the fault = (%d, %d); want (0, 0)", runs, bytes)
	}
}

func TestRunRejectsInvalidSettings(t *testing.T) {
	rec := &recorder{}
	err := newRunner(newFakeStore(), params(0, 0), nil).Run(t.Context(), agent.Request{UserID: "u_1", MessageID: "m", Content: "hi"}, rec)
	if backend.ErrorCode(err) != backend.EINTERNAL || len(rec.types()) != 0 {
		t.Errorf("Run with ThinkingEvents 0 = %v, emitting %v; want an internal error and no events", err, rec.types())
	}
}

// countingObserver counts runs by outcome.
type countingObserver struct {
	mu              sync.Mutex
	started, ended  int
	active, maxSeen int
	outcomes        map[string]int
}

func (o *countingObserver) RunStarted() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started++
	o.active++
	o.maxSeen = max(o.maxSeen, o.active)
}

func (o *countingObserver) RunEnded(outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.outcomes == nil {
		o.outcomes = map[string]int{}
	}
	o.ended++
	o.active--
	o.outcomes[outcome]++
}

func TestRunCommitsTheAnswerBeforeAgentCompleted(t *testing.T) {
	store := newFakeStore()
	var seen []backend.Message
	emit := agent.EmitterFunc(func(typ string, data any) error {
		if d, ok := data.(protocol.AgentCompleted); ok {
			seen, _ = store.Messages(context.Background(), d.UserID, d.ThreadID)
		}
		return nil
	})
	if err := newRunner(store, params(1, 0), nil).Run(t.Context(), ask, emit); err != nil {
		t.Fatalf("Run = %v; want nil", err)
	}
	if len(seen) != 2 || seen[1].Role != backend.RoleAssistant {
		t.Errorf("when agent_completed was emitted the thread held %+v; want the question and the committed answer", seen)
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		p    agent.Params
		want string // part of the error; "" for valid
	}{
		{agent.DefaultParams(), ""},
		{agent.Params{AgentName: "a", ThinkingEvents: 5, ToolCalls: 3, Think: time.Second}, ""},
		{agent.Params{ThinkingEvents: 1}, "AgentName is empty"},
		{agent.Params{AgentName: "a", ThinkingEvents: 0}, "ThinkingEvents is 0; want >= 1"},
		{agent.Params{AgentName: "a", ThinkingEvents: 1, ToolCalls: -1}, "ToolCalls is -1; want >= 0"},
		{agent.Params{AgentName: "a", ThinkingEvents: 1, Think: -time.Second}, "Think is -1s; want >= 0"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if (tt.want == "") != (err == nil) || err != nil && (!strings.Contains(err.Error(), tt.want) || backend.ErrorCode(err) != backend.EINVALID) {
			t.Errorf("%+v.Validate() = %v; want %q", tt.p, err, tt.want)
		}
	}
}

func TestRunUsesTheGivenClockAndIDs(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	n := 0
	ids := func(prefix string) string { n++; return fmt.Sprintf("%s%d", prefix, n) }
	store, rec := newFakeStore(), &recorder{}
	r := newRunner(store, params(1, 0), nil, agent.WithNow(func() time.Time { return at }), agent.WithIDs(ids))
	if err := r.Run(t.Context(), ask, rec); err != nil {
		t.Fatalf("Run = %v; want nil", err)
	}
	if ref := rec.all()[0].ref(); ref.RunID != "r_1" || ref.ThreadID != "t_2" {
		t.Errorf("run carries %+v; want run r_1 in thread t_2 from the given generator", ref)
	}
	d := rec.last().data.(protocol.AgentCompleted)
	if !d.CompletedAt.Equal(at) || d.CompletedAt.Location() != time.UTC || d.Timings.ExecutionMS != 0 {
		t.Errorf("agent_completed at %v after %vms; want %v in UTC after 0ms", d.CompletedAt, d.Timings.ExecutionMS, at.UTC())
	}
	msgs, _ := store.Messages(t.Context(), ask.UserID, "t_2")
	if len(msgs) != 2 || msgs[0].ID != "m_3" || msgs[1].ID != "m_4" || !msgs[0].CreatedAt.Equal(at) {
		t.Errorf("stored %+v; want messages m_3 and m_4 created at %v", msgs, at)
	}
}

// TestWithSerialRunsQueuesRunsBeforeAgentStarted: under the serial-runs
// fault, concurrent runs never overlap: each one's agent_started comes
// after the previous one's agent_completed. Without it they overlap.
func TestWithSerialRunsQueuesRunsBeforeAgentStarted(t *testing.T) {
	p := params(2, 0)
	p.Think = 20 * time.Millisecond
	overlaps := func(r *agent.Runner) int {
		const runs = 4
		recs := make([]*recorder, runs)
		var wg sync.WaitGroup
		for i := range recs {
			recs[i] = &recorder{}
			wg.Go(func() {
				if err := r.Run(t.Context(), agent.Request{UserID: fmt.Sprintf("u_%d", i), MessageID: "m", Content: "hi"}, recs[i]); err != nil {
					t.Errorf("Run %d = %v; want nil", i, err)
				}
			})
		}
		wg.Wait()
		n := 0
		for i, a := range recs {
			for j, b := range recs {
				if i != j && len(a.all()) > 0 && len(b.all()) > 0 && a.all()[0].at.Before(b.all()[0].at) && b.all()[0].at.Before(a.last().at) {
					n++ // b started while a was running
				}
			}
		}
		return n
	}
	if n := overlaps(newRunner(newFakeStore(), p, nil, agent.WithSerialRuns(true))); n != 0 {
		t.Errorf("serial-runs: %d runs started while another was running; want 0", n)
	}
	if n := overlaps(newRunner(newFakeStore(), p, nil)); n == 0 {
		t.Errorf("clean runner: no run started while another was running; want the 4 runs to overlap")
	}
}
