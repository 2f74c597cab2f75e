package agent_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/agent"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// The tests in this file run in a synctest bubble: time is fake, and a run
// that thinks for a second takes exactly a second.

var ask = agent.Request{UserID: "u_1", MessageID: "m", Content: content}

func TestSimulatedSpreadsThinkTimeOverItsSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := params(2, 2)
		p.Think = time.Second // 4 steps of 250ms
		rec := &recorder{}
		if err := newRunner(newFakeStore(), p, nil).Run(t.Context(), ask, rec); err != nil {
			t.Fatalf("Run = %v; want nil", err)
		}
		events := rec.all()
		checkGrammar(t, events, ask, p, "think tool think tool")
		want := []time.Duration{0, 250, 250, 500, 750, 750, 1000, 1000} // ms after agent_started
		for i, e := range events {
			if got := e.at.Sub(events[0].at); got != want[i]*time.Millisecond {
				t.Errorf("event %d (%s) came %v after agent_started; want %v", i, e.typ, got, want[i]*time.Millisecond)
			}
		}
		if got := rec.last().data.(protocol.AgentCompleted).Timings.ExecutionMS; got != 1000 {
			t.Errorf("execution_ms = %v; want 1000", got)
		}
	})
}

func TestRunWithoutThinkTimeTakesNoTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		rec := &recorder{}
		if err := newRunner(newFakeStore(), params(5, 5), nil).Run(t.Context(), ask, rec); err != nil {
			t.Fatalf("Run = %v; want nil", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("a run with no think time took %v; want 0", d)
		}
		checkGrammar(t, rec.all(), ask, params(5, 5), "think tool think tool think tool think tool think tool")
	})
}

func TestRunReportsItsTimings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newFakeStore()
		store.writeDelay = 5 * time.Millisecond // StartRun and AppendMessage: db_ms 10
		p := params(1, 0)
		p.Think = 100 * time.Millisecond
		settings := func() agent.Params { time.Sleep(2 * time.Millisecond); return p }
		r := agent.NewRunner(store, agent.NewFactory(nil, agent.WithFactoryDelay(30*time.Millisecond)), settings)
		rec := &recorder{}
		if err := r.Run(t.Context(), ask, rec); err != nil {
			t.Fatalf("Run = %v; want nil", err)
		}
		started := rec.all()[0].data.(protocol.AgentStarted).Timings
		if started.FactoryMS != 30 || started.ConfigMS != 2 {
			t.Errorf("agent_started timings = %+v; want factory_ms 30, config_ms 2", started)
		}
		done := rec.last().data.(protocol.AgentCompleted).Timings
		if done.DBMS != 10 || done.ExecutionMS != 105 {
			t.Errorf("agent_completed timings = %+v; want db_ms 10, execution_ms 105 (think 100 + store 5)", done)
		}
	})
}

func TestRunStopsPromptlyWhenItsContextEnds(t *testing.T) {
	p := params(10, 0)
	p.Think = 10 * time.Second
	tests := []struct {
		name     string
		ctx      func(context.Context) (context.Context, context.CancelFunc)
		wantCode string
		wantAt   time.Duration
	}{
		{"cancelled", func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(1500*time.Millisecond, cancel)
			return ctx, cancel
		}, agent.CodeCancelled, 1500 * time.Millisecond},
		{"past its deadline", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 2500*time.Millisecond)
		}, agent.CodeTimeout, 2500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := tt.ctx(t.Context())
				defer cancel()
				start, rec := time.Now(), &recorder{}
				err := newRunner(newFakeStore(), p, nil).Run(ctx, ask, rec)
				if d := time.Since(start); d != tt.wantAt {
					t.Errorf("Run returned after %v; want %v", d, tt.wantAt)
				}
				var re *agent.RunError
				if !errors.As(err, &re) || re.Code != tt.wantCode {
					t.Errorf("Run = %v; want a *RunError with code %s", err, tt.wantCode)
				}
				if ae, ok := rec.last().data.(protocol.AgentError); !ok || ae.Code != tt.wantCode {
					t.Errorf("last event = %s %+v; want agent_error with code %s", rec.last().typ, rec.last().data, tt.wantCode)
				}
			})
		})
	}
}

func TestRunStopsAtTheFirstFailedEmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := params(10, 0)
		p.Think = 10 * time.Second // a thought a second
		start, rec := time.Now(), &recorder{failAt: 3}
		err := newRunner(newFakeStore(), p, nil).Run(t.Context(), ask, rec)
		if d := time.Since(start); d != 2*time.Second || !errors.Is(err, errConnClosed) {
			t.Errorf("Run = %v after %v; want the emitter's error after 2s (the second thought)", err, d)
		}
	})
}

func TestSlowFactoryHonoursCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		store, rec := newFakeStore(), &recorder{}
		start := time.Now()
		err := newRunner(store, params(1, 0), []agent.FactoryOption{agent.WithFactoryDelay(time.Hour)}).Run(ctx, ask, rec)
		if d := time.Since(start); d != time.Second || !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v after %v; want context.Canceled after 1s", err, d)
		}
		var be *backend.Error
		if !errors.As(err, &be) || len(rec.types()) != 0 {
			t.Errorf("Run = %v, emitting %v; want a *backend.Error and no events", err, rec.types())
		}
	})
}

func TestActiveRunsAreObserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &countingObserver{}
		p := params(1, 0)
		p.Think = time.Second
		r := newRunner(newFakeStore(), p, nil, agent.WithObserver(obs))
		go func() { _ = r.Run(t.Context(), ask, &recorder{}) }()
		time.Sleep(500 * time.Millisecond)
		obs.mu.Lock()
		mid := obs.active
		obs.mu.Unlock()
		time.Sleep(time.Second)
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if mid != 1 || obs.active != 0 || obs.outcomes[agent.OutcomeCompleted] != 1 {
			t.Errorf("active runs mid-run %d, after %d, outcomes %v; want 1, 0, 1 completed", mid, obs.active, obs.outcomes)
		}
	})
}

func TestSimulatedReasoningMentionsAPrefixOfLongContent(t *testing.T) {
	long := "nonce-1 " + strings.Repeat("ö", 200)
	var got []string
	obs := funcObserver{thinking: func(s string) error { got = append(got, s); return nil }}
	answer, err := agent.Simulated{}.Respond(t.Context(), agent.Input{Content: long, Params: params(2, 0)}, obs)
	if err != nil || !strings.Contains(answer, long) {
		t.Fatalf("Respond = %q, %v; want an answer quoting the content", answer, err)
	}
	for _, s := range got {
		if !strings.Contains(s, "nonce-1 ööö") || len(s) > 200 {
			t.Errorf("reasoning %q; want a short text with a prefix of the content", s)
		}
	}
}

// funcObserver is an agent.Observer made of functions; nil ones accept.
type funcObserver struct {
	thinking func(string) error
}

func (o funcObserver) Thinking(text string) error {
	if o.thinking == nil {
		return nil
	}
	return o.thinking(text)
}
func (funcObserver) ToolStart(string, string) error     { return nil }
func (funcObserver) ToolDone(string, string, any) error { return nil }
