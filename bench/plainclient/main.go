// Command plainclient is the yardstick of scripts/bench-load.sh: the
// plainest Go client of PROTOCOL v1 (../shared/PROTOCOL.md) one would write
// by hand, a goroutine per user with net/http and gorilla/websocket, doing
// goldenpath's minimal journey (log in, open the WebSocket, wait for
// connection_established, send one user_message, read until its
// agent_completed, close), or with -journey full its full one (plus the
// config read and, after the socket, a thread created, the threads listed
// and the run's thread read back), in a loop. It judges nothing and keeps no
// histogram. It registers its users first, then runs the load and prints
// one line:
//
//	journeys N failed F seconds S cpu_us_per_journey C median_ms PHASE MS ...
//
// where C is this process's user + system CPU during the load divided by
// the journeys, and each PHASE the median of the successful journeys'
// timing points, named as goldenpath names them, each frame timed at its
// arrival (read whole, before it is decoded), as goldenpath times them. It is not part of goldenpath, and it imports nothing of
// it: it is written from the protocol alone.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type creds struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func post(c *http.Client, url string, body any, out any) (int, error) {
	b, _ := json.Marshal(body)
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, err
}

// phases are the timing points the plain client measures, as goldenpath
// names them: login (the POST), ws_connect (dial to HTTP 101), ws_ready
// (101 to connection_established), first_event (user_message written to
// agent_started), answer (to agent_completed), journey (login start to
// the answer).
var phases = []string{"login", "ws_connect", "ws_ready", "first_event", "answer", "journey"}

// timings are one user's measurements, by phase, in milliseconds.
type timings map[string][]float64

func (t timings) add(phase string, d time.Duration) {
	t[phase] = append(t[phase], float64(d)/float64(time.Millisecond))
}

// journey is one minimal journey of acct; it reports success and adds
// its phases to t when it succeeded.
func journey(c *http.Client, d *websocket.Dialer, base, wsURL string, acct creds, n int, t timings) bool {
	mine := timings{}
	begin := time.Now()
	var lr struct {
		AccessToken string `json:"access_token"`
	}
	if code, err := post(c, base+"/api/v1/auth/login", acct, &lr); err != nil || code != http.StatusOK {
		return false
	}
	mine.add("login", time.Since(begin))
	dialed := time.Now()
	ws, _, err := d.Dial(wsURL, http.Header{"Authorization": {"Bearer " + lr.AccessToken}})
	if err != nil {
		return false
	}
	upgraded := time.Now()
	mine.add("ws_connect", upgraded.Sub(dialed))
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var f struct {
		Type string `json:"type"`
	}
	at, err := readFrame(ws, &f)
	if err != nil || f.Type != "connection_established" {
		return false
	}
	mine.add("ws_ready", at.Sub(upgraded))
	id := fmt.Sprintf("%s-%d", acct.Email, n)
	msg, _ := json.Marshal(map[string]any{"type": "user_message", "payload": map[string]any{"message_id": id, "content": "plain question " + id}})
	sent := time.Now()
	if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
		return false
	}
	var thread string
	for done := false; !done; {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				MessageID string `json:"message_id"`
				ThreadID  string `json:"thread_id"`
			} `json:"data"`
		}
		at, err := readFrame(ws, &ev)
		if err != nil {
			return false
		}
		if ev.Data.MessageID != id {
			continue
		}
		switch ev.Type {
		case "agent_started":
			mine.add("first_event", at.Sub(sent))
		case "agent_completed":
			thread, done = ev.Data.ThreadID, true
			mine.add("answer", at.Sub(sent))
			mine.add("journey", at.Sub(begin))
		case "agent_error":
			return false
		}
	}
	// Close as the protocol asks: close 1000, then read until the server's
	// close frame (at most a second) before the TCP connection goes.
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = ws.SetReadDeadline(time.Now().Add(time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	if !full {
		t.merge(mine)
		return true
	}
	// The full journey's HTTP steps: the config read, after the socket a
	// thread created, the threads listed and the run's thread read back.
	for _, step := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/config"}, {http.MethodPost, "/api/v1/threads"}, {http.MethodGet, "/api/v1/threads"},
		{http.MethodGet, "/api/v1/threads/" + thread + "/messages"},
	} {
		var body *bytes.Reader
		if step.method == http.MethodPost {
			body = bytes.NewReader([]byte(`{"title":"plain"}`))
		} else {
			body = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(step.method, base+step.path, body)
		req.Header.Set("Authorization", "Bearer "+lr.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return false
		}
		var v any
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil || resp.StatusCode/100 != 2 {
			return false
		}
	}
	t.merge(mine)
	return true
}

// readFrame reads one whole frame, notes when it had arrived, then decodes
// it into v: a frame's time is its arrival, as goldenpath times it.
func readFrame(ws *websocket.Conn, v any) (time.Time, error) {
	_, b, err := ws.ReadMessage()
	at := time.Now()
	if err != nil {
		return at, err
	}
	return at, json.Unmarshal(b, v)
}

func (t timings) merge(o timings) {
	for k, v := range o {
		t[k] = append(t[k], v...)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// full makes each journey goldenpath's full one (-journey full).
var full bool

func main() {
	target := flag.String("target", "http://127.0.0.1:8080", "base URL of a PROTOCOL v1 server")
	users := flag.Int("users", 50, "concurrent users")
	duration := flag.Duration("duration", 10*time.Second, "how long the load runs")
	kind := flag.String("journey", "minimal", "minimal, or full (with the config read and the thread calls)")
	flag.Parse()
	full = *kind == "full"
	base := strings.TrimRight(*target, "/")
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *users}}
	d := &websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	tag := time.Now().UnixNano()
	accts := make([]creds, *users)
	for i := range accts {
		accts[i] = creds{Email: fmt.Sprintf("plain-%x-%d@example.test", tag, i), Password: "plain-password-1"}
		if code, err := post(c, base+"/api/v1/auth/register", accts[i], nil); err != nil || code != http.StatusCreated {
			log.Fatalf("register %s: status %d, %v", accts[i].Email, code, err)
		}
	}
	var ok, failed atomic.Int64
	start, cpu0 := time.Now(), cpu()
	deadline := start.Add(*duration)
	var wg sync.WaitGroup
	per := make([]timings, len(accts))
	for i := range accts {
		wg.Add(1)
		per[i] = timings{}
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				if journey(c, d, base, wsURL, accts[i], n, per[i]) {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took, used := time.Since(start), cpu()-cpu0
	n := ok.Load() + failed.Load()
	all := timings{}
	for _, t := range per {
		all.merge(t)
	}
	fmt.Printf("journeys %d failed %d seconds %.1f cpu_us_per_journey %.1f median_ms", n, failed.Load(), took.Seconds(), float64(used.Microseconds())/float64(max(n, 1)))
	for _, ph := range phases {
		fmt.Printf(" %s %.3f", ph, median(all[ph]))
	}
	fmt.Println()
}
