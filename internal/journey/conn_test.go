package journey_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

var upgrader = websocket.Upgrader{}

// fakeTarget is a target whose login always succeeds (as user u1) and
// whose /ws is served by ws; it stops when the test ends.
func fakeTarget(t *testing.T, ws http.HandlerFunc) *journey.Target {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc(protocol.PathLogin, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(protocol.LoginReply{AccessToken: "tok-u1", TokenType: "Bearer", User: protocol.User{ID: "u1"}})
	})
	mux.HandleFunc(protocol.PathWS, ws)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tgt, err := journey.NewTarget(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return tgt
}

// A Conn asks, follows runs to their answer (in a thread it chose), and
// closes with nothing for the oracle to report on a correct backend.
func TestConnAskAwaitClose(t *testing.T) {
	b := startBackend(t, "", nil)
	ctx := context.Background()
	c, err := journey.Dial(ctx, b.target, b.account(t))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if c.Session().UserID == "" || c.Session().Token == "" {
		t.Fatalf("Dial: Session() = %v; want a user id and a token", c.Session())
	}
	var th protocol.Thread
	if _, _, err := b.target.JSON(ctx, http.MethodPost, protocol.PathThreads, c.Session().Token, protocol.NewThread{Title: "conn"}, &th); err != nil || th.ID == "" {
		t.Fatalf("JSON(POST threads) = %+v, %v; want a thread", th, err)
	}
	for _, mid := range []string{"conn-1", "conn-2"} {
		if err := c.Ask(mid, "question "+mid, th.ID); err != nil {
			t.Fatalf("Ask(%s): %v", mid, err)
		}
		f, err := c.Await(mid, 10*time.Second)
		if err != nil || f.Type != protocol.EventAgentCompleted || f.ThreadID != th.ID {
			t.Fatalf("Await(%s) = type %q thread %q, %v; want agent_completed in thread %s", mid, f.Type, f.ThreadID, err, th.ID)
		}
	}
	if vs := c.Close(); len(vs) != 0 {
		t.Errorf("Close() = %v; want no violations", vs)
	}
}

// A client that vanishes mid-run can reconnect as the same user, and its
// new connection gets nothing of the old run.
func TestConnAbortThenReconnect(t *testing.T) {
	b := startBackend(t, "", map[string]string{"think_ms": "20"})
	ctx := context.Background()
	acct := b.account(t)
	c, err := journey.Dial(ctx, b.target, acct)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if err := c.Ask("old", "soon abandoned", ""); err != nil {
		t.Fatalf("Ask(old): %v", err)
	}
	if _, err := c.Next(10 * time.Second); err != nil {
		t.Fatalf("Next after Ask: %v", err)
	}
	c.Abort()
	if _, err := c.Next(time.Second); err == nil {
		t.Errorf("Next after Abort = no error; want the connection gone")
	}
	c2, err := journey.Dial(ctx, b.target, acct)
	if err != nil {
		t.Fatalf("Dial again: %v", err)
	}
	if err := c2.Ask("new", "after reconnect", ""); err != nil {
		t.Fatalf("Ask(new): %v", err)
	}
	if f, err := c2.Await("new", 10*time.Second); err != nil || f.Type != protocol.EventAgentCompleted {
		t.Fatalf("Await(new) = %q, %v; want agent_completed", f.Type, err)
	}
	if vs := c2.Close(); len(vs) != 0 {
		t.Errorf("Close() after reconnecting = %v; want no violations (nothing of the old run)", vs)
	}
}

// The oracle of a Conn judges every frame: a frame of a message this
// socket never sent is foreign.
func TestConnOracleJudgesFrames(t *testing.T) {
	srv := fakeTarget(t, func(w http.ResponseWriter, r *http.Request) {
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteMessage(1, []byte(`{"type":"connection_established","seq":1,"timestamp":"2025-01-01T00:00:00Z","data":{"connection_id":"c1","user_id":"u1","server_time":"2025-01-01T00:00:00Z"}}`))
		ws.ReadMessage()
		ws.WriteMessage(1, []byte(`{"type":"agent_started","seq":2,"timestamp":"2025-01-01T00:00:00Z","data":{"run_id":"r9","thread_id":"t9","message_id":"not-mine","user_id":"u1","agent_instance_id":"a"}}`))
		ws.ReadMessage()
	})
	c, err := journey.Dial(context.Background(), srv, journey.Account{Email: "a@example.test", Password: "pw"})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if err := c.Ask("mine", "question", ""); err != nil {
		t.Fatalf("Ask: %v", err)
	}
	if _, err := c.Await("mine", 300*time.Millisecond); err == nil {
		t.Errorf("Await(mine) on a target answering another message = no error; want a timeout")
	}
	vs := c.Close()
	if len(vs) == 0 || vs[0].Kind != journey.ViolationForeignMessage {
		t.Errorf("Close() = %v; want a %s first", vs, journey.ViolationForeignMessage)
	}
}

func TestDialErrors(t *testing.T) {
	refused := fakeTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no sockets today", http.StatusServiceUnavailable)
	})
	if _, err := journey.Dial(context.Background(), refused, journey.Account{Email: "a@example.test", Password: "pw"}); err == nil || !strings.HasPrefix(err.Error(), "dial: HTTP 503: ") {
		t.Errorf("Dial(upgrade refused with 503) = %v; want an error starting \"dial: HTTP 503: \"", err)
	}
	wrongFirst := fakeTarget(t, func(w http.ResponseWriter, r *http.Request) {
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteMessage(1, []byte(`{"type":"heartbeat","seq":1,"timestamp":"2025-01-01T00:00:00Z","data":{"server_time":"2025-01-01T00:00:00Z"}}`))
		ws.ReadMessage()
	})
	if _, err := journey.Dial(context.Background(), wrongFirst, journey.Account{Email: "a@example.test", Password: "pw"}); err == nil || err.Error() != "first frame is heartbeat, want connection_established" {
		t.Errorf("Dial(first frame heartbeat) = %v; want \"first frame is heartbeat, want connection_established\"", err)
	}
	b := startBackend(t, "", nil)
	_, err := journey.Dial(context.Background(), b.target, journey.Account{Email: "nobody@example.test", Password: "wrong"})
	var je *journey.Error
	if !errors.As(err, &je) || je.Phase != journey.PhaseLogin || je.Status != http.StatusUnauthorized {
		t.Errorf("Dial(unknown account) = %v; want a login *Error with status 401", err)
	}
}

func TestTargetJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			var in map[string]string
			_ = json.NewDecoder(r.Body).Decode(&in)
			json.NewEncoder(w).Encode(map[string]string{"auth": r.Header.Get("Authorization"), "type": r.Header.Get("Content-Type"), "got": in["x"]})
		case "/metrics":
			w.Write([]byte("goldenpath_active_runs 0\n"))
		default:
			http.Error(w, "nothing here", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	tgt, err := journey.NewTarget(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out map[string]string
	code, _, err := tgt.JSON(ctx, http.MethodPost, "/echo", "tok-123", map[string]string{"x": "y"}, &out)
	if err != nil || code != 200 || out["auth"] != "Bearer tok-123" || out["type"] != "application/json" || out["got"] != "y" {
		t.Errorf("JSON(POST /echo) = %d, %v, %v; want 200 with the bearer token, a JSON content type and the body", code, out, err)
	}
	code, body, err := tgt.JSON(ctx, http.MethodGet, "/metrics", "", nil, nil)
	if err != nil || code != 200 || string(body) != "goldenpath_active_runs 0\n" {
		t.Errorf("JSON(GET /metrics, nil out) = %d, %q, %v; want 200 and the text body", code, body, err)
	}
	code, _, err = tgt.JSON(ctx, http.MethodGet, "/nope", "", nil, nil)
	if code != http.StatusNotFound || err == nil || err.Error() != "GET /nope: HTTP 404: nothing here\n" {
		t.Errorf("JSON(GET /nope) = %d, %v; want 404 and \"GET /nope: HTTP 404: nothing here\\n\"", code, err)
	}
	if _, _, err := tgt.JSON(ctx, http.MethodGet, "/metrics", "", nil, &out); err == nil || !strings.Contains(err.Error(), "GET /metrics: reply is not the expected JSON") {
		t.Errorf("JSON(GET /metrics into a map) = %v; want a decoding error naming the call", err)
	}
}
