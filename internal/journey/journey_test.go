package journey_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

func TestRunClean(t *testing.T) {
	b := startBackend(t, "", nil)
	for _, tc := range []struct {
		name string
		opts journey.Options
	}{
		{"one message", journey.Options{}},
		{"three messages", journey.Options{Messages: 3}},
		{"subprotocol", journey.Options{Subprotocol: true, Messages: 2}},
		{"config and db", journey.Options{ConfigAccess: true, DBOps: true, Messages: 2}},
		{"settle delay", journey.Options{SettleDelay: 5 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := journey.Run(context.Background(), b.target, b.account(t), tc.opts)
			if !r.OK() {
				t.Fatalf("Run = err %v, violations %v; want OK", r.Err, r.Violations)
			}
			msgs := max(tc.opts.Messages, 1)
			if r.Runs != msgs || r.UserID == "" {
				t.Errorf("Runs = %d, UserID = %q; want %d and an id", r.Runs, r.UserID, msgs)
			}
			want := map[string]int{
				journey.PhaseLogin: 1, journey.PhaseWSConnect: 1, journey.PhaseWSReady: 1, journey.PhaseJourney: 1,
				journey.PhaseFirstEvent: msgs, journey.PhaseFirstToken: msgs, journey.PhaseAgentExecution: msgs,
				journey.PhaseAnswer: msgs, journey.PhaseResponseDelivery: msgs,
				// five events per run (started, thinking, tool pair, completed): four gaps
				journey.PhaseInterEvent: 4 * msgs,
			}
			if tc.opts.ConfigAccess {
				want[journey.PhaseConfigAccess] = 1
			}
			if tc.opts.DBOps {
				want[journey.PhaseDBOperation] = 3
			}
			if r.ReadyUnseen { // the 101 and connection_established came in one read
				want[journey.PhaseWSReady] = 0
			}
			for _, p := range journey.PhaseNames {
				if got := count(r, p); got != want[p] {
					t.Errorf("%s samples = %d; want %d", p, got, want[p])
				}
			}
			for _, s := range r.Phases {
				if s.D < 0 {
					t.Errorf("%s = %s; want >= 0", s.Name, s.D)
				}
			}
			// Each run: request -> agent_started <= request -> first
			// agent_thinking <= request -> agent_completed, and the answer
			// wait holds the execution.
			first, token, exec, answer := samples(r, journey.PhaseFirstEvent), samples(r, journey.PhaseFirstToken), samples(r, journey.PhaseAgentExecution), samples(r, journey.PhaseAnswer)
			for i := range min(len(first), len(token), len(exec), len(answer)) {
				if first[i] > token[i] || token[i] > answer[i] || exec[i] > answer[i] {
					t.Errorf("run %d: first_event %s, first_token %s, agent_execution %s, answer %s; want first_event <= first_token <= answer and agent_execution <= answer",
						i+1, first[i], token[i], exec[i], answer[i])
				}
			}
			names := map[string]bool{}
			for _, s := range r.Server {
				names[s.Name] = true
			}
			for _, n := range []string{journey.TimingFactory, journey.TimingConfig, journey.TimingExecution, journey.TimingDB, "http_auth", "http_app"} {
				if !names[n] {
					t.Errorf("server timings %v lack %s", r.Server, n)
				}
			}
			if r.Frames < 1+5*msgs || !r.End.After(r.Start) {
				t.Errorf("Frames = %d, Start %v End %v; want >= %d frames and End after Start", r.Frames, r.Start, r.End, 1+5*msgs)
			}
			if r.ClockOffset > time.Second || r.ClockOffset < -time.Second {
				t.Errorf("ClockOffset = %s against a loopback server on the same clock; want |offset| < 1s", r.ClockOffset)
			}
		})
	}
}

func TestRunFailures(t *testing.T) {
	b := startBackend(t, "", map[string]string{"think_ms": "3000"})
	acct := b.account(t)

	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable, _ := journey.NewTarget("http://" + free.Addr().String())
	free.Close()

	// A target that logs anyone in and refuses every upgrade with 503.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == protocol.PathLogin {
			_, _ = w.Write([]byte(`{"access_token":"t","token_type":"Bearer","expires_in":60,"user":{"id":"u_1","email":"a@b"}}`))
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"draining"}}`))
	}))
	defer refusing.Close()
	refusingTarget, _ := journey.NewTarget(refusing.URL)

	for _, tc := range []struct {
		name   string
		cancel time.Duration // cancel the context after this long; 0: never
		target *journey.Target
		acct   journey.Account
		opts   journey.Options
		want   journey.Error // Kind, Phase and Status are compared
	}{
		{"wrong password", 0, b.target, journey.Account{Email: acct.Email, Password: "wrong-password"}, journey.Options{},
			journey.Error{Kind: journey.FailHTTPStatus, Phase: journey.PhaseLogin, Status: 401}},
		{"unreachable", 0, unreachable, acct, journey.Options{},
			journey.Error{Kind: journey.FailConnect, Phase: journey.PhaseLogin}},
		{"upgrade refused", 0, refusingTarget, acct, journey.Options{},
			journey.Error{Kind: journey.FailHTTPStatus, Phase: journey.PhaseWSConnect, Status: 503}},
		{"run timeout", 0, b.target, acct, journey.Options{RunTimeout: 100 * time.Millisecond},
			journey.Error{Kind: journey.FailTimeout, Phase: journey.PhaseAgentExecution}},
		{"cancelled", 200 * time.Millisecond, b.target, acct, journey.Options{},
			journey.Error{Kind: journey.FailCancelled, Phase: journey.PhaseAgentExecution}},
		{"bad options", 0, b.target, acct, journey.Options{Messages: -1},
			journey.Error{Kind: journey.FailOptions}},
		{"nil target", 0, nil, acct, journey.Options{},
			journey.Error{Kind: journey.FailOptions}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			start := time.Now()
			r := journey.Run(ctx, tc.target, tc.acct, tc.opts)
			if r.Err == nil {
				t.Fatalf("Run = OK; want %s in %s", tc.want.Kind, tc.want.Phase)
			}
			if got := *r.Err; got.Kind != tc.want.Kind || got.Phase != tc.want.Phase || got.Status != tc.want.Status {
				t.Fatalf("Run error = %s (%+v); want kind %s phase %s status %d", r.Err, got, tc.want.Kind, tc.want.Phase, tc.want.Status)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Run took %s to fail; want it prompt", d)
			}
			var e *journey.Error
			if !errors.As(error(r.Err), &e) || !strings.HasPrefix(e.Error(), "journey: ") {
				t.Errorf("error text %q; want it to start with journey:", r.Err)
			}
			if strings.Contains(r.Err.Error()+r.Err.Sample, acct.Password) {
				t.Errorf("error %q sample %q leaks the password", r.Err, r.Err.Sample)
			}
		})
	}
}

// TestRunFaults shows each fault's symptom on a faulty backend and its
// absence on a clean one.
func TestRunFaults(t *testing.T) {
	clean := startBackend(t, "", nil)
	for _, tc := range []struct {
		fault   string
		symptom func(r *journey.Result) string // "" when absent, else what was seen
	}{
		{"drop-events=3", onlyViolation(journey.ViolationSeqGap)},
		{"duplicate-events=3", onlyViolation(journey.ViolationSeqDuplicate)},
		{"reorder-events=3", onlyViolation(journey.ViolationSeqReorder)},
		{"close-1011=1", func(r *journey.Result) string {
			if r.Err != nil && r.Err.Kind == journey.FailClose && r.Err.CloseCode == 1011 {
				return r.Err.Error()
			}
			return ""
		}},
		{"slow-login=100ms", func(r *journey.Result) string {
			for _, s := range r.Phases {
				if s.Name == journey.PhaseLogin && s.D >= 100*time.Millisecond {
					return "login took " + s.D.String()
				}
			}
			return ""
		}},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			r := journey.Run(context.Background(), clean.target, clean.account(t), journey.Options{})
			if s := tc.symptom(r); s != "" || !r.OK() {
				t.Errorf("clean backend: %s (err %v, violations %v); want no symptom", s, r.Err, r.Violations)
			}
			faulty := startBackend(t, tc.fault, nil)
			r = journey.Run(context.Background(), faulty.target, faulty.account(t), journey.Options{})
			s := tc.symptom(r)
			if s == "" {
				t.Fatalf("--fault %s: err %v, violations %v; want the symptom", tc.fault, r.Err, r.Violations)
			}
			t.Logf("--fault %s: %s", tc.fault, s)
		})
	}
}

// onlyViolation is a symptom: violations of kind and no other, and no error.
func onlyViolation(kind string) func(r *journey.Result) string {
	return func(r *journey.Result) string {
		ks := kinds(r.Violations)
		if r.Err != nil || !slices.Contains(ks, kind) {
			return ""
		}
		for _, k := range ks {
			if k != kind {
				return "unexpected " + k + " besides " + kind
			}
		}
		return r.Violations[0].String()
	}
}

func TestRegisterTwice(t *testing.T) {
	b := startBackend(t, "", nil)
	a := b.account(t)
	ctx := context.Background()
	s, err := journey.Login(ctx, b.target, a)
	if err != nil {
		t.Fatal(err)
	}
	id, err := journey.Register(ctx, b.target, a)
	if err != nil || id != s.UserID {
		t.Errorf("Register(existing) = %q, %v; want %q, nil", id, err, s.UserID)
	}
	_, err = journey.Register(ctx, b.target, journey.Account{Email: a.Email, Password: "another-password"})
	var e *journey.Error
	if !errors.As(err, &e) || e.Status != 401 {
		t.Errorf("Register(existing, wrong password) = %v; want a 401 error", err)
	}
}

func TestNewTarget(t *testing.T) {
	for _, tc := range []struct {
		url, ws, err string
	}{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws", ""},
		{"https://example.test/prefix/", "wss://example.test/prefix/ws", ""},
		{"ftp://example.test", "", "use http:// or https://"},
		{"127.0.0.1:8080", "", "use http:// or https://"},
		{"http://", "", "no host"},
		{"http://h/?q=1", "", "query"},
	} {
		tg, err := journey.NewTarget(tc.url)
		switch {
		case tc.err == "" && (err != nil || tg.WebSocketURL() != tc.ws):
			t.Errorf("NewTarget(%q) = %v; want ws URL %s", tc.url, err, tc.ws)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("NewTarget(%q) error = %v; want one containing %q", tc.url, err, tc.err)
		}
	}
	if _, err := journey.NewTarget("http://h", journey.WithRequestTimeout(-time.Second)); err == nil {
		t.Error("NewTarget with a negative timeout succeeded; want an error")
	}
}

// TestRunReadyHoldsTheFirstRequest: a Ready hook runs once, after
// connection_established, and the request leaves only when it returns; a
// context that ends while it holds the journey is a cancellation.
func TestRunReadyHoldsTheFirstRequest(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "", nil)
	const hold = 150 * time.Millisecond
	var calls int
	var released time.Time
	r := journey.Run(context.Background(), b.target, b.account(t), journey.Options{Messages: 2, Ready: func(ctx context.Context) {
		calls++
		time.Sleep(hold)
		released = time.Now()
	}})
	if !r.OK() || calls != 1 {
		t.Fatalf("Run = err %v, Ready called %d times; want OK and once", r.Err, calls)
	}
	// The journey's clock: login to the last answer holds the hold.
	if j := samples(r, journey.PhaseJourney); len(j) != 1 || j[0] < hold || released.IsZero() {
		t.Errorf("journey samples %v; want one of at least %s: the request waits for Ready", j, hold)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r = journey.Run(ctx, b.target, b.account(t), journey.Options{Ready: func(ctx context.Context) {
		cancel()
		<-ctx.Done()
	}})
	if r.Err == nil || r.Err.Kind != journey.FailCancelled || r.Runs != 0 {
		t.Errorf("Run cancelled in Ready = err %v, %d runs; want a %s error and no run", r.Err, r.Runs, journey.FailCancelled)
	}
}

// TestRunPipeline: with Pipeline the second and third requests leave the
// moment the first run's agent_started names the thread, so the three runs
// are in flight together and the journey takes about one run, not three;
// all three land in one thread and are read back; the oracle, which
// judges interleaved runs by message_id, finds nothing on a clean backend.
func TestRunPipeline(t *testing.T) {
	t.Parallel()
	const think = 200 * time.Millisecond // the simulated model's time per run
	b := startBackend(t, "", map[string]string{"think_ms": "200"})
	run := func(pipeline bool) (time.Duration, *journey.Result) {
		r := journey.Run(context.Background(), b.target, b.account(t), journey.Options{Messages: 3, Pipeline: pipeline, DBOps: true, RunTimeout: 10 * time.Second})
		if !r.OK() || r.Runs != 3 {
			t.Fatalf("Run(pipeline %t) = err %v, violations %v, %d runs; want OK and 3 runs", pipeline, r.Err, r.Violations, r.Runs)
		}
		return samples(r, journey.PhaseJourney)[0] - samples(r, journey.PhaseLogin)[0], r
	}
	seq, _ := run(false)
	pipe, r := run(true)
	if seq < 3*think {
		t.Errorf("three runs one after another took %s; want at least %s", seq, 3*think)
	}
	// One run takes about think; three pipelined ones end soon after it.
	// Two runs' time is a wide margin that only a journey waiting for
	// each answer exceeds.
	if pipe >= 2*think {
		t.Errorf("three pipelined runs took %s; want under %s (sequential: %s): the requests did not overlap", pipe, 2*think, seq)
	}
	if n := len(samples(r, journey.PhaseAnswer)); n != 3 {
		t.Errorf("pipelined journey has %d answer samples; want 3", n)
	}
}

// TestRunPipelineSeesQueuedReorders: the queue-reorder fault writes the
// frames of runs queued together grouped by run; journeys that wait for
// each answer never have two runs queued and see nothing, pipelined ones
// see seq step back.
func TestRunPipelineSeesQueuedReorders(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "queue-reorder", map[string]string{"think_ms": "20"})
	reorders := func(pipeline bool) (n int) {
		for range 10 {
			r := journey.Run(context.Background(), b.target, b.account(t), journey.Options{Messages: 3, Pipeline: pipeline, RunTimeout: 5 * time.Second})
			if r.Err != nil {
				t.Fatalf("Run(pipeline %t) = err %v; want the runs answered", pipeline, r.Err)
			}
			for _, v := range r.Violations {
				if v.Kind != journey.ViolationSeqReorder {
					t.Errorf("Run(pipeline %t): violation %s (%s); want only seq_reorder", pipeline, v.Kind, v.Detail)
				}
				n++
			}
		}
		return n
	}
	if n := reorders(false); n != 0 {
		t.Errorf("10 journeys of 3 runs one after another on queue-reorder: %d reorders; want 0 (never two runs queued)", n)
	}
	n := reorders(true)
	t.Logf("10 pipelined journeys on queue-reorder: %d reorders", n)
	if n == 0 {
		t.Errorf("10 journeys of 3 pipelined runs on queue-reorder: no reorder found; want some")
	}
}
