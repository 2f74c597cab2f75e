package server_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// checkRun checks one run's events against the grammar of PROTOCOL.md
// section 4 and returns the thread id and the answer.
func checkRun(t *testing.T, evs []event, userID, content string) (thread, answer string) {
	t.Helper()
	if len(evs) == 0 || evs[0].Type != protocol.EventAgentStarted {
		t.Fatalf("run began with %v; want agent_started", types(evs))
	}
	runID, mid := evs[0].str("run_id"), evs[0].str("message_id")
	thread = evs[0].str("thread_id")
	open := map[string]bool{}
	thinking := 0
	for i, e := range evs {
		for _, k := range []string{"run_id", "thread_id", "message_id", "user_id"} {
			if e.str(k) == "" {
				t.Fatalf("event %d (%s) lacks %s", i, e.Type, k)
			}
		}
		if e.str("run_id") != runID || e.str("thread_id") != thread || e.str("message_id") != mid {
			t.Fatalf("event %d (%s) changes run ids", i, e.Type)
		}
		if e.str("user_id") != userID {
			t.Fatalf("event %d (%s) user_id = %s; want %s", i, e.Type, e.str("user_id"), userID)
		}
		switch e.Type {
		case protocol.EventAgentThinking:
			thinking++
		case protocol.EventToolExecuting:
			open[e.str("tool_call_id")] = true
		case protocol.EventToolCompleted:
			if !open[e.str("tool_call_id")] {
				t.Fatalf("tool_completed %s before its tool_executing", e.str("tool_call_id"))
			}
			delete(open, e.str("tool_call_id"))
		case protocol.EventAgentCompleted:
			if i != len(evs)-1 || thinking == 0 || len(open) > 0 {
				t.Fatalf("agent_completed at %d of %d, thinking %d, open tools %v", i, len(evs), thinking, open)
			}
			res, _ := e.Data["result"].(map[string]any)
			answer, _ = res["content"].(string)
		}
	}
	if !strings.Contains(answer, content) {
		t.Fatalf("answer %.100q does not quote %q (events %v)", answer, content, types(evs))
	}
	return thread, answer
}

func types(evs []event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Type)
	}
	return s
}

func TestGoldenPathJourney(t *testing.T) {
	h := start(t)
	u := h.newUser()
	c := h.dial(u)
	content := "what is the nonce " + randHex(8) + " <&> \"quoted\""
	evs := c.run(content, "")
	thread, _ := checkRun(t, evs, u.id, content)

	// seq grew by exactly one over every frame so far.
	for i, e := range evs {
		if want := int64(i + 2); e.Seq != want {
			t.Fatalf("event %d seq = %d; want %d", i, e.Seq, want)
		}
	}
	// The thread holds the question and the answer, oldest first.
	r := h.do("GET", protocol.PathThreads+"/"+thread+"/messages", u.token, nil)
	var ml protocol.MessageList
	r.decode(t, &ml)
	if len(ml.Messages) != 2 || ml.Messages[0].Role != "user" || ml.Messages[0].Content != content || ml.Messages[1].Role != "assistant" {
		t.Fatalf("thread messages = %+v; want the question then the answer", ml.Messages)
	}
	if r.header.Get("Server-Timing") == "" {
		t.Errorf("GET messages has no Server-Timing header")
	}
	// A second run in the same thread gets a new agent instance.
	evs2 := c.run("second "+randHex(4), thread)
	if evs2[0].str("thread_id") != thread {
		t.Errorf("second run thread = %s; want %s", evs2[0].str("thread_id"), thread)
	}
	if evs2[0].str("agent_instance_id") == evs[0].str("agent_instance_id") {
		t.Errorf("agent_instance_id %s reused across runs", evs[0].str("agent_instance_id"))
	}
}

func TestTwoUsersSeveralConnectionsIsolated(t *testing.T) {
	h := start(t, withThink(20))
	users := []*user{h.newUser(), h.newUser()}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for _, u := range users {
		for range 3 {
			c := h.dial(u)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 4 {
					nonce := fmt.Sprintf("secret-%s-%s-%d", u.id, c.connID, i)
					mid := "m-" + randHex(6)
					c.send(userMessage(mid, nonce, ""))
					for {
						e, err := c.readFrame(10 * time.Second)
						if err != nil {
							errs <- err
							return
						}
						if e.str("user_id") != "" && e.str("user_id") != u.id {
							errs <- fmt.Errorf("user %s got an event of user %s", u.id, e.str("user_id"))
						}
						if e.str("message_id") != "" && e.str("message_id") != mid {
							errs <- fmt.Errorf("connection %s got an event of message %s, sent %s", c.connID, e.str("message_id"), mid)
						}
						for _, other := range users {
							if other != u && strings.Contains(string(e.raw), other.id) {
								errs <- fmt.Errorf("user %s received user %s's id: %.200s", u.id, other.id, e.raw)
							}
						}
						if protocol.IsTerminal(e.Type) {
							break
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Each user's thread list holds only its own 12 threads.
	for _, u := range users {
		var tl protocol.ThreadList
		h.do("GET", protocol.PathThreads, u.token, nil).decode(t, &tl)
		if len(tl.Threads) != 12 {
			t.Errorf("user %s lists %d threads; want 12", u.id, len(tl.Threads))
		}
	}
}

func TestAuthRefusals(t *testing.T) {
	h := start(t)
	a, b := h.newUser(), h.newUser()
	c := h.dial(a)
	evs := c.run("mine", "")
	thread := evs[0].str("thread_id")

	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	expired := sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": a.id, "exp": now.Add(-time.Minute).Unix(), "iat": now.Add(-time.Hour).Unix(), "jti": "x"})
	forged := sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-0123"), jwt.MapClaims{"sub": a.id, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": "y"})
	none := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": a.id, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": "z"})
	noExp := sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": a.id, "iat": now.Unix(), "jti": "w"})

	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
	}{
		{"wrong password", "POST", protocol.PathLogin, "", protocol.Credentials{Email: a.email, Password: "wrong-password"}, 401},
		{"unknown email", "POST", protocol.PathLogin, "", protocol.Credentials{Email: "nobody@example.test", Password: "whatever-pw"}, 401},
		{"no token", "GET", protocol.PathThreads, "", nil, 401},
		{"expired token", "GET", protocol.PathThreads, expired, nil, 401},
		{"forged signature", "GET", protocol.PathThreads, forged, nil, 401},
		{"alg none", "GET", protocol.PathThreads, none, nil, 401},
		{"token without exp", "GET", protocol.PathThreads, noExp, nil, 401},
		{"another user's thread", "GET", protocol.PathThreads + "/" + thread + "/messages", b.token, nil, 404},
		{"config put with a user token", "PUT", protocol.PathAdminConfig, a.token, map[string]any{"values": map[string]any{}}, 403},
		{"duplicate email", "POST", protocol.PathRegister, "", protocol.Credentials{Email: strings.ToUpper(a.email), Password: "password-1"}, 409},
		{"short password", "POST", protocol.PathRegister, "", protocol.Credentials{Email: "s@example.test", Password: "1234567"}, 400},
		{"bad json", "POST", protocol.PathRegister, "", "{not json", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(tc.method, tc.path, tc.token, tc.body)
			if r.code != tc.status {
				t.Fatalf("%s %s = %d %.200s; want %d", tc.method, tc.path, r.code, r.body, tc.status)
			}
			r.errorCode(t)
		})
	}
	for _, tok := range []string{expired, forged, none} {
		if _, err := h.tryDial(tok, false); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("dial with a bad token = %v; want HTTP 401", err)
		}
	}
	// Another user's thread_id in a user_message is refused, nothing stored.
	cb := h.dial(b)
	evs = cb.run("intrude", thread)
	if len(evs) != 1 || evs[0].Type != protocol.EventErrorMessage || evs[0].str("code") != protocol.ErrBadRequest {
		t.Fatalf("run in another user's thread = %v; want one error_message bad_request", types(evs))
	}
	var ml protocol.MessageList
	h.do("GET", protocol.PathThreads+"/"+thread+"/messages", a.token, nil).decode(t, &ml)
	if len(ml.Messages) != 2 {
		t.Errorf("owner's thread has %d messages after the intrusion; want 2", len(ml.Messages))
	}
}

func TestSubprotocolToken(t *testing.T) {
	h := start(t)
	u := h.newUser()
	c, err := h.tryDial(u.token, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.ws.Close()
	if got := c.ws.Subprotocol(); got != protocol.SubprotocolAuth {
		t.Fatalf("selected subprotocol %q; want %q", got, protocol.SubprotocolAuth)
	}
	if e := c.next(); e.Type != protocol.EventConnectionEstablished || e.str("user_id") != u.id {
		t.Fatalf("first frame %s for %s; want connection_established for %s", e.Type, e.str("user_id"), u.id)
	}
}

func TestBadFramesKeepConnection(t *testing.T) {
	h := start(t)
	u := h.newUser()
	c := h.dial(u)
	cases := []struct {
		name  string
		frame any
		code  string
	}{
		{"malformed json", []byte(`{"type":"ping",`), protocol.ErrInvalidJSON},
		{"not an object", []byte(`[1,2]`), protocol.ErrInvalidJSON},
		{"unknown type", map[string]any{"type": "launch_missiles", "payload": map[string]any{}}, protocol.ErrUnknownType},
		{"missing content", map[string]any{"type": "user_message", "payload": map[string]any{"message_id": "m1"}}, protocol.ErrBadRequest},
		{"missing message_id", map[string]any{"type": "user_message", "payload": map[string]any{"content": "hi"}}, protocol.ErrBadRequest},
		{"payload not an object", []byte(`{"type":"user_message","payload":"hi"}`), protocol.ErrBadRequest},
	}
	for _, tc := range cases {
		c.send(tc.frame)
		e := c.next()
		if e.Type != protocol.EventErrorMessage || e.str("code") != tc.code || e.str("message") == "" {
			t.Errorf("%s: got %s %v; want error_message %s with a message", tc.name, e.Type, e.Data, tc.code)
		}
	}
	c.send(map[string]any{"type": "ping", "payload": map[string]string{"nonce": "n-1"}})
	if e := c.next(); e.Type != protocol.EventPong || e.str("nonce") != "n-1" {
		t.Fatalf("after bad frames, ping got %s %v; want pong n-1", e.Type, e.Data)
	}
	checkRun(t, c.run("still works", ""), u.id, "still works")
}

func TestOversizeFrameCloses1009(t *testing.T) {
	h := start(t)
	u := h.newUser()
	for _, size := range []int{protocol.MaxContentBytes + 1, 40 << 10, 200 << 10} {
		c := h.dial(u)
		_ = c.ws.WriteJSON(userMessage("big", strings.Repeat("x", size), ""))
		code, err := c.closeCode(5 * time.Second)
		if err != nil || code != protocol.CloseTooBig {
			t.Errorf("content of %d bytes: close %d, %v; want 1009", size, code, err)
		}
	}
	// Exactly 32 KiB is allowed.
	c := h.dial(u)
	content := strings.Repeat("y", protocol.MaxContentBytes)
	checkRun(t, c.run(content, ""), u.id, content)
}

func TestConfigAdminAndSnapshot(t *testing.T) {
	h := start(t)
	u := h.newUser()
	var s1 protocol.ConfigSnapshot
	r := h.do("GET", protocol.PathConfig, u.token, nil)
	r.decode(t, &s1)
	if ok, err := protocol.VerifyChecksum(s1.Values, s1.Checksum); !ok || err != nil {
		t.Fatalf("checksum %s does not match values %s (%v)", s1.Checksum, s1.Values, err)
	}
	if !strings.Contains(r.header.Get("Server-Timing"), "config;dur=") {
		t.Errorf("Server-Timing %q lacks config", r.header.Get("Server-Timing"))
	}
	body := `{"values":{"think_ms":0,"note":"<b>1.50</b>","ratio":1.50}}`
	r = h.do("PUT", protocol.PathAdminConfig, "admin-secret", body)
	if r.code != 200 {
		t.Fatalf("admin PUT = %d %.200s; want 200", r.code, r.body)
	}
	var s2 protocol.ConfigSnapshot
	h.do("GET", protocol.PathConfig, u.token, nil).decode(t, &s2)
	if s2.Version != s1.Version+1 || !strings.Contains(string(s2.Values), `"ratio":1.50`) || !strings.Contains(string(s2.Values), `"<b>1.50</b>"`) {
		t.Fatalf("after PUT: version %d values %s; want version %d with ratio 1.50 as written", s2.Version, s2.Values, s1.Version+1)
	}
	r = h.do("PUT", protocol.PathAdminConfig, "admin-secret", `{"values":{"think_ms":"fast"}}`)
	if r.code != 400 {
		t.Errorf("PUT with think_ms \"fast\" = %d; want 400", r.code)
	}
	r = h.do("PUT", protocol.PathAdminConfig, "wrong-admin", `{"values":{}}`)
	if r.code != 403 {
		t.Errorf("PUT with the wrong admin token = %d; want 403", r.code)
	}
}

func TestOperations(t *testing.T) {
	h := start(t, func(c *server.Config) { c.Version = "v1.2.3-test" })
	u := h.newUser()
	h.dial(u).run("count me", "")
	// The run is counted as it ends, just after its agent_completed is
	// sent: a scrape may race it, so wait (boundedly) for the count.
	r := h.do("GET", protocol.PathMetrics, "", nil)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(string(r.body), `goldenpath_runs_total{outcome="completed"} 1`) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		r = h.do("GET", protocol.PathMetrics, "", nil)
	}
	for _, m := range []string{"goldenpath_active_connections 1", "goldenpath_runs_total{outcome=\"completed\"} 1", protocol.MetricActiveRuns, protocol.MetricEventsSentTotal, "process_resident_memory_bytes", "go_goroutines"} {
		if !strings.Contains(string(r.body), m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	if r := h.do("GET", protocol.PathHealthz, "", nil); r.code != 200 || !strings.Contains(string(r.body), `"version":"v1.2.3-test"`) {
		t.Errorf("healthz = %d %s; want 200 with the build version", r.code, r.body)
	}
	if r := h.do("GET", protocol.PathReadyz, "", nil); r.code != 200 {
		t.Errorf("readyz = %d; want 200", r.code)
	}
}

// TestShutdownLosesNoCommittedMessage stops the server while runs are in
// flight: every answer a client saw is stored, sockets close with 1001,
// and new connections are refused while draining.
func TestShutdownLosesNoCommittedMessage(t *testing.T) {
	h := start(t, withThink(300))
	u := h.newUser()
	type seen struct{ thread, content string }
	results := make(chan seen, 8)
	closes := make(chan int, 8)
	started := make(chan bool, 8)
	var wg sync.WaitGroup
	for i := range 8 {
		c := h.dial(u)
		content := fmt.Sprintf("in flight %d %s", i, randHex(4))
		c.send(userMessage("m-"+randHex(4), content, ""))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				e, err := c.readFrame(15 * time.Second)
				if err != nil {
					if code, cerr := closeCodeOf(err); cerr == nil {
						closes <- code
					}
					return
				}
				if e.Type == protocol.EventAgentStarted {
					started <- true
				}
				if e.Type == protocol.EventAgentCompleted {
					results <- seen{e.str("thread_id"), content}
				}
			}
		}()
	}
	for range 8 { // every run is under way before shutdown begins
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("runs did not start within 10s")
		}
	}
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	if err := <-stopped; err != nil {
		t.Fatalf("Run after shutdown = %v; want nil", err)
	}
	wg.Wait()
	close(results)
	close(closes)
	n := 0
	for code := range closes {
		if code == protocol.CloseGoingAway {
			n++
		}
	}
	if n != 8 {
		t.Errorf("%d of 8 sockets saw close 1001; want all 8", n)
	}
	// Reopen the same database: every answer a client saw is there.
	var got []seen
	for s := range results {
		got = append(got, s)
	}
	if len(got) != 8 {
		t.Errorf("%d of 8 in-flight runs completed within the drain timeout; want 8", len(got))
	}
	h2 := restart(t, h)
	r := h2.do("POST", protocol.PathLogin, "", protocol.Credentials{Email: u.email, Password: u.password})
	var lr protocol.LoginReply
	r.decode(t, &lr)
	for _, s := range got {
		var ml protocol.MessageList
		h2.do("GET", protocol.PathThreads+"/"+s.thread+"/messages", lr.AccessToken, nil).decode(t, &ml)
		if len(ml.Messages) != 2 || !strings.Contains(ml.Messages[1].Content, s.content) {
			t.Errorf("thread %s after restart = %+v; want question and answer", s.thread, ml.Messages)
		}
	}
}

func closeCodeOf(err error) (int, error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, nil
	}
	return 0, err
}
