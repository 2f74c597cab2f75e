package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// TestNetraDrainTimeoutFailsUnfinishedRuns: on the Netra face too, a run
// that outlasts the drain timeout ends with agent_error before its socket
// closes with 1001 (the goldenpath face: internal/cli's
// TestServeDrainTimeoutFailsUnfinishedRuns, on a real serve process).
func TestNetraDrainTimeoutFailsUnfinishedRuns(t *testing.T) {
	h := start(t, withThink(60_000), func(c *server.Config) { c.Protocol = server.ProtocolNetra; c.DrainTimeout = 300 * time.Millisecond })
	var tr struct {
		Access string `json:"access_token"`
	}
	h.do("POST", "/auth/register", "", map[string]string{"email": "d-" + randHex(6) + "@example.test", "password": "password-1"}).decode(t, &tr)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{"jwt-auth", "jwt." + tr.Access}}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(h.url, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	type frame struct {
		Type     string         `json:"type"`
		ThreadID string         `json:"thread_id"`
		Data     map[string]any `json:"data"`
	}
	read := func() (frame, error) {
		var f frame
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := ws.ReadMessage()
		if err == nil {
			err = json.Unmarshal(b, &f)
		}
		return f, err
	}
	until := func(typ string) frame {
		t.Helper()
		for {
			f, err := read()
			if err != nil {
				t.Fatalf("waiting for %s: %v", typ, err)
			}
			if f.Type == typ {
				return f
			}
		}
	}
	hs := until("handshake_response")
	_ = ws.WriteJSON(map[string]any{"type": "handshake_acknowledged", "thread_id": hs.ThreadID})
	until("handshake_complete")
	_ = ws.WriteJSON(map[string]any{"type": "user_message", "payload": map[string]any{"content": "a long question"}})
	until(protocol.EventAgentStarted)

	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	var types []string
	var agentError frame
	code := 0
	for {
		f, err := read()
		if err != nil {
			code, _ = closeCodeOf(err)
			break
		}
		types = append(types, f.Type)
		if f.Type == protocol.EventAgentError {
			agentError = f
		}
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run after shutdown = %v; want nil", err)
	}
	if agentError.Type == "" || agentError.Data["error_code"] != "cancelled" || code != protocol.CloseGoingAway {
		t.Errorf("after shutdown the client read %v (agent_error %v), then close %d; want agent_error cancelled, then close 1001", types, agentError.Data, code)
	}
}
