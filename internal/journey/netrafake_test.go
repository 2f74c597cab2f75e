package journey_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// fakeNetra is a server written for the tests that speaks Netra as
// NETRA.md describes it, with one behaviour switched by mode: what section
// 10 says a load tool must catch.
func fakeNetra(t *testing.T, mode string) string {
	t.Helper()
	up := websocket.Upgrader{Subprotocols: []string{"jwt-auth"}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/login", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "aaaa.bbbb.cccc", "user": map[string]any{"id": "e2e-vu"}})
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		if mode == "too-many" {
			ws, err := up.Upgrade(w, r, nil)
			if err == nil {
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1013, "Too many connections for user (max 3)"), time.Now().Add(time.Second))
				ws.Close()
			}
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		send := func(v map[string]any) { _ = ws.WriteJSON(v) }
		send(map[string]any{"type": "handshake_response", "thread_id": "thread_1"})
		send(map[string]any{"type": "connection_established", "data": map[string]any{"user_id": "e2e-vu..."}})
		send(map[string]any{"type": "connection_established", "data": map[string]any{"user_id": "e2e-vu..."}}) // the repeat NETRA.md warns of
		for {
			var f struct {
				Type string `json:"type"`
			}
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			_ = json.Unmarshal(b, &f)
			var p struct {
				Payload struct {
					Content string `json:"content"`
					RunID   string `json:"run_id"`
				} `json:"payload"`
			}
			_ = json.Unmarshal(b, &p)
			switch {
			case f.Type == "handshake_acknowledged" && mode != "no-complete":
				send(map[string]any{"type": "handshake_complete", "thread_id": "thread_1"})
			case f.Type == "user_message":
				run, content := p.Payload.RunID, p.Payload.Content
				ev := func(typ string, data map[string]any) {
					data["run_id"], data["user_id"], data["thread_id"] = run, "e2e-vu", "thread_1"
					if mode == "wrapped" {
						send(map[string]any{"type": "system_message", "event": typ, "payload": data})
						return
					}
					send(map[string]any{"type": typ, "data": data})
				}
				send(map[string]any{"type": "system_message", "data": map[string]any{"content": "Message received", "status": "acknowledged"}})
				if mode == "ack-only" {
					continue
				}
				ev("agent_started", map[string]any{"agent_name": "Supervisor"})
				ev("agent_thinking", map[string]any{"reasoning": "triage"})
				ev("agent_completed", map[string]any{"agent_name": "triage", "result": map[string]any{"summary": "done"}})
				if mode == "subagents-only" {
					continue
				}
				ev("agent_completed", map[string]any{"agent_name": "Supervisor", "result": map[string]any{"final_response": "You asked: " + content}})
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestProfileNetraAgainstServersWrittenForTheTests(t *testing.T) {
	for _, tc := range []struct {
		mode, want string // want: "" for a clean journey, else what the error says
	}{
		{"clean", ""},
		{"wrapped", ""},
		{"ack-only", "no start of run (agent_started)"},
		{"subagents-only", "no end of run (events.map.completed with agent_name in Supervisor, WorkflowOrchestrator)"},
		{"no-complete", "handshake[2]: no handshake_complete within"},
		{"too-many", "connection closed with 1013 (server error)"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			tgt := profileTarget(t, fakeNetra(t, tc.mode), "netra", journey.ProfileSpec{})
			res := journey.Run(context.Background(), tgt, journey.Account{Email: "vu@example.test", Password: "pw-12345678"}, journey.Options{RunTimeout: 500 * time.Millisecond})
			switch {
			case tc.want == "" && !res.OK():
				t.Fatalf("journey failed: %v %+v", res.Err, res.Violations)
			case tc.want == "" && res.Runs != 1:
				t.Errorf("Runs = %d, want 1", res.Runs)
			case tc.want != "" && (res.Err == nil || !strings.Contains(res.Err.Error()+" "+res.Err.Sample, tc.want)):
				t.Errorf("Err = %v; want one saying %q", res.Err, tc.want)
			}
		})
	}
}
