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
//	journeys N failed F seconds S cpu_us_per_journey C
//
// where C is this process's user + system CPU during the load divided by
// the journeys. It is not part of goldenpath, and it imports nothing of
// it: it is written from the protocol alone.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
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

// journey is one minimal journey of acct; it reports success.
func journey(c *http.Client, d *websocket.Dialer, base, wsURL string, acct creds, n int) bool {
	var lr struct {
		AccessToken string `json:"access_token"`
	}
	if code, err := post(c, base+"/api/v1/auth/login", acct, &lr); err != nil || code != http.StatusOK {
		return false
	}
	ws, _, err := d.Dial(wsURL, http.Header{"Authorization": {"Bearer " + lr.AccessToken}})
	if err != nil {
		return false
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var f struct {
		Type string `json:"type"`
	}
	if err := ws.ReadJSON(&f); err != nil || f.Type != "connection_established" {
		return false
	}
	id := fmt.Sprintf("%s-%d", acct.Email, n)
	msg := map[string]any{"type": "user_message", "payload": map[string]any{"message_id": id, "content": "plain question " + id}}
	if err := ws.WriteJSON(msg); err != nil {
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
		if err := ws.ReadJSON(&ev); err != nil {
			return false
		}
		if ev.Data.MessageID != id {
			continue
		}
		switch ev.Type {
		case "agent_completed":
			thread, done = ev.Data.ThreadID, true
		case "agent_error":
			return false
		}
	}
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	if !full {
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
	return true
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
	for i := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				if journey(c, d, base, wsURL, accts[i], n) {
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
	fmt.Printf("journeys %d failed %d seconds %.1f cpu_us_per_journey %.1f\n", n, failed.Load(), took.Seconds(), float64(used.Microseconds())/float64(max(n, 1)))
}
