package agent_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/agent"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

func TestFactoryBuildsAFreshAgentPerRun(t *testing.T) {
	f := agent.NewFactory(nil)
	u := agent.UserContext{UserID: "u_1", ThreadID: "t_1", RunID: "r_1", MessageID: "m"}
	a, err := f.New(t.Context(), u)
	if err != nil {
		t.Fatalf("New = %v; want nil", err)
	}
	b, _ := f.New(t.Context(), u)
	if a == b || a.ID() == b.ID() || !strings.HasPrefix(a.ID(), "a_") || len(a.ID()) != 26 {
		t.Errorf("New twice = %s, %s; want two agents with distinct a_ ids of 24 hex digits", a.ID(), b.ID())
	}
	if a.User() != u {
		t.Errorf("User() = %+v; want %+v", a.User(), u)
	}
	in := agent.Input{RunRef: protocol.RunRef{RunID: "r_2", UserID: "u_2"}, Content: "hi", Params: params(1, 0)}
	if _, err := a.Run(t.Context(), in, &recorder{}); backend.ErrorCode(err) != backend.EINTERNAL {
		t.Errorf("agent of run r_1 asked to run r_2 of u_2: Run = %v; want an internal error", err)
	}
}

func TestSharedInstanceFaultUsesOneAgentForEveryRun(t *testing.T) {
	r := newRunner(newFakeStore(), params(1, 0), []agent.FactoryOption{agent.WithSharedInstance(true)})
	ids := map[string]bool{}
	for i := range 3 {
		rec := &recorder{}
		req := agent.Request{UserID: fmt.Sprintf("u_%d", i), MessageID: "m", Content: content}
		if err := r.Run(t.Context(), req, rec); err != nil {
			t.Fatalf("Run %d = %v; want nil", i, err)
		}
		checkGrammar(t, rec.all(), req, params(1, 0), "think") // one run at a time is still well-formed
		ids[rec.all()[0].data.(protocol.AgentStarted).AgentInstanceID] = true
	}
	if len(ids) != 1 {
		t.Errorf("3 runs of the shared agent reported instances %v; want one", ids)
	}
}

func TestSharedInstanceFaultSerialisesRuns(t *testing.T) {
	const runs, think = 4, 100 * time.Millisecond
	tests := []struct {
		shared bool
		want   time.Duration
	}{
		{false, think},
		{true, runs * think},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("shared=%t", tt.shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := params(2, 1)
				p.Think = think
				r := newRunner(newFakeStore(), p, []agent.FactoryOption{agent.WithSharedInstance(tt.shared)})
				start := time.Now()
				var wg sync.WaitGroup
				for i := range runs {
					wg.Go(func() {
						req := agent.Request{UserID: fmt.Sprintf("u_%d", i), MessageID: "m", Content: content}
						if err := r.Run(t.Context(), req, &recorder{}); err != nil {
							t.Errorf("Run %d = %v; want nil", i, err)
						}
					})
				}
				wg.Wait()
				if d := time.Since(start); d != tt.want {
					t.Errorf("%d concurrent runs thinking %v each took %v; want %v", runs, think, d, tt.want)
				}
			})
		})
	}
}

func TestSharedInstanceFaultSendsEventsToTheWrongUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := params(4, 0)
		p.Think = 400 * time.Millisecond
		r := newRunner(newFakeStore(), p, []agent.FactoryOption{agent.WithSharedInstance(true)})
		alice := agent.Request{UserID: "u_alice", MessageID: "m", Content: "nonce-alice"}
		bob := agent.Request{UserID: "u_bob", MessageID: "m", Content: "nonce-bob"}
		toAlice, toBob := &recorder{}, &recorder{}
		var wg sync.WaitGroup
		wg.Go(func() { _ = r.Run(t.Context(), alice, toAlice) })
		synctest.Wait() // alice holds the agent, in her first 100ms step
		wg.Go(func() { _ = r.Run(t.Context(), bob, toBob) })
		wg.Wait()

		bobsRun := toBob.all()[0].ref()
		var leaked []string
		for _, e := range toBob.all() {
			if th, ok := e.data.(protocol.AgentThinking); ok && strings.Contains(th.Reasoning, "nonce-alice") {
				leaked = append(leaked, th.Reasoning)
				if th.RunRef != bobsRun {
					t.Errorf("alice's reasoning reached bob with %+v; want it disguised as bob's run %+v", th.RunRef, bobsRun)
				}
			}
		}
		if len(leaked) != 4 {
			t.Errorf("bob's connection got %d of alice's 4 thoughts (%q); want all 4: the agent emits through the last run to ask", len(leaked), leaked)
		}
		if got := strings.Join(toAlice.types(), " "); got != "agent_started agent_completed" {
			t.Errorf("alice's connection got %s; want only agent_started and agent_completed", got)
		}
	})
}
