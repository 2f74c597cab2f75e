package server_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Each fault is shown from outside: the same observation is made on a clean
// backend (no symptom) and on the faulty one (the symptom).
func TestFaultSymptoms(t *testing.T) {
	cases := []struct {
		fault string
		opts  []serverOpt
		// observe returns a description of the symptom, or "" when none.
		observe func(t *testing.T, h *harness) string
	}{
		{"handshake-race=300ms", nil, observeHandshakeLoss},
		{"shared-agent", []serverOpt{withThink(100)}, observeSharedAgent},
		{"config-torn", nil, observeTornConfig},
		{"cross-user", nil, observeCrossUser},
		{"cleanup-leak", nil, observeCleanupLeak},
		{"memory-leak=1MiB", nil, observeMemoryLeak},
		{"drop-events=3", []serverOpt{withOverride("thinking_events", "4")}, observeSeq("gap")},
		{"duplicate-events=3", []serverOpt{withOverride("thinking_events", "4")}, observeSeq("repeat")},
		{"reorder-events=3", []serverOpt{withOverride("thinking_events", "4")}, observeSeq("step back")},
		{"slow-login=150ms", nil, observeSlowLogin(150 * time.Millisecond)},
		{"slow-db=50ms", nil, observeTiming("agent_completed", "db_ms", 50)},
		{"slow-factory=80ms", nil, observeTiming("agent_started", "factory_ms", 80)},
		{"slow-config=30ms", nil, observeTiming("agent_started", "config_ms", 30)},
		{"close-1011=1", []serverOpt{withThink(50)}, observeClose1011},
		{"lose-writes=3", nil, observeWrites},
		{"duplicate-writes=3", nil, observeWrites},
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			clean := start(t, tc.opts...)
			if got := tc.observe(t, clean); got != "" {
				t.Errorf("clean backend shows the %s symptom: %s", tc.fault, got)
			}
			faulty := start(t, append([]serverOpt{withFaults(tc.fault)}, tc.opts...)...)
			if got := tc.observe(t, faulty); got == "" {
				t.Errorf("backend with --fault %s shows no symptom", tc.fault)
			} else {
				t.Logf("--fault %s: %s", tc.fault, got)
			}
		})
	}
}

// observeHandshakeLoss sends a request the instant connection_established
// arrives and reports when no reply comes.
func observeHandshakeLoss(t *testing.T, h *harness) string {
	u := h.newUser()
	c := h.dial(u)
	c.send(userMessage("m-fast", "right away", ""))
	e, err := c.readFrame(time.Second)
	if err != nil {
		return "a request sent right after connection_established got no reply within 1s: " + err.Error()
	}
	if e.Type != protocol.EventAgentStarted {
		return "first reply was " + e.Type
	}
	return ""
}

// observeSharedAgent runs four users at once and reports a shared agent
// instance or events reaching the wrong user.
func observeSharedAgent(t *testing.T, h *harness) string {
	const n = 4
	type out struct {
		instance string
		foreign  string
	}
	outs := make([]out, n)
	var wg sync.WaitGroup
	users := make([]*user, n)
	clients := make([]*client, n)
	for i := range n {
		users[i] = h.newUser()
		clients[i] = h.dial(users[i])
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, u := clients[i], users[i]
			c.send(userMessage("m-"+randHex(4), "nonce-"+u.id, ""))
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				e, err := c.readFrame(3 * time.Second)
				if err != nil {
					return // a starved run is a symptom only when paired with the others
				}
				if e.Type == protocol.EventAgentStarted && outs[i].instance == "" {
					outs[i].instance = e.str("agent_instance_id")
				}
				for j, o := range users {
					if j != i && strings.Contains(string(e.raw), o.id) && outs[i].foreign == "" {
						outs[i].foreign = fmt.Sprintf("user %d received %s carrying user %d's id", i, e.Type, j)
					}
				}
				if protocol.IsTerminal(e.Type) && e.str("user_id") == u.id {
					return
				}
			}
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	var symptoms []string
	for _, o := range outs {
		if o.instance != "" {
			ids[o.instance] = true
		}
		if o.foreign != "" {
			symptoms = append(symptoms, o.foreign)
		}
	}
	if len(ids) == 1 {
		symptoms = append(symptoms, fmt.Sprintf("%d concurrent runs shared one agent_instance_id", n))
	}
	return strings.Join(symptoms, "; ")
}

// observeTornConfig reads the config while an admin rewrites it and reports
// a read whose checksum does not match its values.
func observeTornConfig(t *testing.T, h *harness) string {
	u := h.newUser()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			h.do("PUT", protocol.PathAdminConfig, "admin-secret", fmt.Sprintf(`{"values":{"think_ms":0,"writer_seq":%d}}`, i))
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for i := range 400 {
		var s protocol.ConfigSnapshot
		h.do("GET", protocol.PathConfig, u.token, nil).decode(t, &s)
		if ok, _ := protocol.VerifyChecksum(s.Values, s.Checksum); !ok {
			return fmt.Sprintf("read %d: version %d checksum %s does not match values %s", i, s.Version, s.Checksum, s.Values)
		}
	}
	return ""
}

// observeCrossUser connects twenty users (more than any small hash has
// buckets) and reports events that reach a socket of another user.
func observeCrossUser(t *testing.T, h *harness) string {
	const n = 20
	users := make([]*user, n)
	clients := make([]*client, n)
	for i := range n {
		users[i] = h.newUser()
		clients[i] = h.dial(users[i])
	}
	var mu sync.Mutex
	var symptom string
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clients[i].send(userMessage("m-"+randHex(4), "x", ""))
			// Read on past this user's own terminal event until the socket
			// falls silent: another user's run routed here may have started
			// later (under load, its message went out later) and arrive
			// after it.
			for {
				e, err := clients[i].readFrame(time.Second)
				if err != nil {
					return
				}
				if uid := e.str("user_id"); uid != "" && uid != users[i].id {
					mu.Lock()
					symptom = fmt.Sprintf("user %s's socket received %s of user %s", users[i].id, e.Type, uid)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return symptom
}

var gaugeLine = regexp.MustCompile(`(?m)^goldenpath_active_connections ([0-9.e+]+)$`)

func (h *harness) gauge() float64 {
	m := gaugeLine.FindSubmatch(h.do("GET", protocol.PathMetrics, "", nil).body)
	if m == nil {
		h.t.Fatalf("no goldenpath_active_connections in /metrics")
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// observeCleanupLeak opens and closes ten connections and reports when the
// active-connection gauge does not come back to zero.
func observeCleanupLeak(t *testing.T, h *harness) string {
	u := h.newUser()
	for range 10 {
		c := h.dial(u)
		c.run("bye", "")
		c.ws.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if h.gauge() == 0 {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Sprintf("goldenpath_active_connections is %g after 10 connections closed; want 0", h.gauge())
}

var heapLine = regexp.MustCompile(`(?m)^go_memstats_heap_alloc_bytes ([0-9.e+]+)$`)

// observeMemoryLeak runs 60 runs and reports heap growth of ≥ 40 MiB.
func observeMemoryLeak(t *testing.T, h *harness) string {
	heap := func() float64 {
		m := heapLine.FindSubmatch(h.do("GET", protocol.PathMetrics, "", nil).body)
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}
	u := h.newUser()
	c := h.dial(u)
	before := heap()
	for range 60 {
		c.run("leak?", "")
	}
	if grown := heap() - before; grown >= 40<<20 {
		return fmt.Sprintf("heap grew %.1f MiB over 60 runs", grown/(1<<20))
	}
	return ""
}

// observeSeq runs a few runs and reports the first seq anomaly of a kind.
func observeSeq(kind string) func(t *testing.T, h *harness) string {
	return func(t *testing.T, h *harness) string {
		u := h.newUser()
		c := h.dial(u)
		last := int64(1)
		for range 5 {
			c.send(userMessage("m-"+randHex(4), "seq", ""))
			for {
				e, err := c.readFrame(2 * time.Second)
				if err != nil {
					return ""
				}
				switch {
				case e.Seq == last && kind == "repeat":
					return fmt.Sprintf("%s seq %d repeated", e.Type, e.Seq)
				case e.Seq < last && kind == "step back":
					return fmt.Sprintf("%s seq %d after %d", e.Type, e.Seq, last)
				case e.Seq > last+1 && kind == "gap":
					return fmt.Sprintf("%s seq %d after %d", e.Type, e.Seq, last)
				}
				last = e.Seq
				if protocol.IsTerminal(e.Type) {
					break
				}
			}
		}
		return ""
	}
}

func observeSlowLogin(d time.Duration) func(t *testing.T, h *harness) string {
	return func(t *testing.T, h *harness) string {
		u := h.newUser()
		start := time.Now()
		h.do("POST", protocol.PathLogin, "", protocol.Credentials{Email: u.email, Password: u.password})
		if took := time.Since(start); took >= d {
			return fmt.Sprintf("login took %s", took)
		}
		return ""
	}
}

// observeTiming reports when a server timing in an event reaches minMS.
func observeTiming(eventType, key string, minMS float64) func(t *testing.T, h *harness) string {
	return func(t *testing.T, h *harness) string {
		u := h.newUser()
		for _, e := range h.dial(u).run("timed", "") {
			if e.Type != eventType {
				continue
			}
			tm, _ := e.Data["timings"].(map[string]any)
			if v, _ := tm[key].(float64); v >= minMS {
				return fmt.Sprintf("%s timings.%s = %.1f ms", eventType, key, v)
			}
		}
		return ""
	}
}

func observeClose1011(t *testing.T, h *harness) string {
	u := h.newUser()
	c := h.dial(u)
	c.send(userMessage("m-1", "will it finish", ""))
	code, err := c.closeCode(2 * time.Second)
	if err == nil && code == protocol.CloseInternal {
		return "connection closed with 1011 mid-run"
	}
	return ""
}

// observeWrites runs six completed runs in one thread, then reads the thread
// back and reports any answer that is missing or stored more than once
// although its agent_completed arrived.
func observeWrites(t *testing.T, h *harness) string {
	u := h.newUser()
	c := h.dial(u)
	thread := ""
	var completed []string
	for i := range 6 {
		evs := c.run(fmt.Sprintf("keep me %d", i), thread)
		last := evs[len(evs)-1]
		if last.Type != protocol.EventAgentCompleted {
			t.Fatalf("run %d ended with %s; want agent_completed", i, last.Type)
		}
		thread = last.str("thread_id")
		completed = append(completed, last.str("message_id"))
	}
	var ml protocol.MessageList
	h.do("GET", protocol.PathThreads+"/"+thread+"/messages", u.token, nil).decode(t, &ml)
	answers := map[string]int{}
	for _, m := range ml.Messages {
		if m.Role == "assistant" {
			answers[m.MessageID]++
		}
	}
	var symptoms []string
	for _, mid := range completed {
		switch n := answers[mid]; {
		case n == 0:
			symptoms = append(symptoms, "the answer of completed run "+mid+" was never stored")
		case n > 1:
			symptoms = append(symptoms, fmt.Sprintf("the answer of run %s is stored %d times", mid, n))
		}
	}
	return strings.Join(symptoms, "; ")
}
