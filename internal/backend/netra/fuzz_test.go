package netra_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/goldenpath-dev/goldenpath/internal/backend/auth"
	"github.com/goldenpath-dev/goldenpath/internal/backend/hub"
	"github.com/goldenpath-dev/goldenpath/internal/backend/netra"
	"github.com/goldenpath-dev/goldenpath/internal/backend/sqlite"
)

const bypassKey = "fuzz-bypass-key"

// face is the Netra face on a real SQLite store, served over HTTP; its
// runs answer nothing (the frames the socket itself sends are judged).
func face(tb testing.TB, dir string) *httptest.Server {
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "goldenpath.db"))
	if err != nil {
		tb.Fatal(err)
	}
	authn, err := auth.New(store, bytes.Repeat([]byte("k"), auth.MinSecretBytes), auth.WithHashCost(bcrypt.MinCost))
	if err != nil {
		tb.Fatal(err)
	}
	nop := func(context.Context, hub.RunRequest, hub.Emitter) error { return nil }
	s := netra.New(netra.Options{Auth: authn, Run: nop, BypassKey: bypassKey})
	mux := http.NewServeMux()
	s.Routes(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(func() {
		srv.Close()
		store.Close()
	})
	return srv
}

// post sends a JSON body to a route of srv, with the bypass key.
func post(tb testing.TB, srv *httptest.Server, path string, body []byte) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set(netra.BypassHeader, bypassKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// socket is a main-mode socket past its handshake, dialled again after
// the face closes it.
type socket struct {
	srv   *httptest.Server
	token string
	ws    *websocket.Conn
	syncs int
}

func (s *socket) conn(t *testing.T) *websocket.Conn {
	if s.ws != nil {
		return s.ws
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.srv.URL, "http")+"/ws", http.Header{"Authorization": {"Bearer " + s.token}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	s.ws = ws
	thread := ""
	for range 2 { // connection_established and handshake_response, in either order
		f := s.read(t)
		if f["type"] == "handshake_response" {
			thread, _ = f["thread_id"].(string)
		}
	}
	if err := ws.WriteJSON(map[string]string{"type": "handshake_acknowledged", "thread_id": thread}); err != nil {
		t.Fatal(err)
	}
	if f := s.read(t); f["type"] != "handshake_complete" {
		t.Fatalf("after the acknowledgement: %v; want handshake_complete", f)
	}
	return ws
}

func (s *socket) next(t *testing.T) (map[string]any, error) {
	_ = s.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := s.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("the face sent %q, not a JSON object: %v", b, err)
	}
	return f, nil
}

func (s *socket) read(t *testing.T) map[string]any {
	f, err := s.next(t)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return f
}

// replies are the frame types the face answers a frame with after the
// handshake.
var replies = map[string]bool{"error_message": true, "pong": true, "heartbeat_ack": true, "ack": true, "system_message": true}

// FuzzMainModeFrame sends frames to Netra's main-mode socket past its
// handshake. A text frame that is not UTF-8 closes it with 1007; any
// other frame gets one of Netra's replies (an error_message with an
// error_code, a pong, a heartbeat_ack, an ack naming the frame's type,
// or the system_message acknowledging a request), nothing the face would
// not send, and the socket stays open.
func FuzzMainModeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"user_message","payload":{"content":"hello","run_id":"vu1-1"}}`,
		`{"type":"message","text":"hi","thread_id":"thread_elsewhere"}`,
		`{"type":"chat_message","payload":"not an object"}`,
		`{"type":"user_input","payload":{"content":"   "}}`,
		`{"type":"ping"}`, `{"type":"heartbeat"}`, `{"type":"subscribe","topic":"x"}`,
		`[1,2]`, `"text"`, `{"type":5}`, `{bad`, ``, `   `,
		`{"type":"user","payload":{"text":"` + strings.Repeat("x", 9000) + `"}}`,
	} {
		f.Add([]byte(s))
	}
	srv := face(f, f.TempDir())
	code, body := post(f, srv, "/auth/e2e/test-auth", []byte(`{"email":"fuzz@example.test"}`))
	var session struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &session); err != nil || code != http.StatusOK || session.AccessToken == "" {
		f.Fatalf("bypass login: %d %s", code, body)
	}
	s := &socket{srv: srv, token: session.AccessToken}
	f.Fuzz(func(t *testing.T, frame []byte) {
		ws := s.conn(t)
		if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			t.Fatalf("write %q: %v", frame, err)
		}
		if !utf8.Valid(frame) {
			_, err := s.next(t)
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 1007 {
				t.Fatalf("%q got %v; want close 1007", frame, err)
			}
			s.ws.Close()
			s.ws = nil
			return
		}
		s.syncs++
		sync := "sync-" + strconv.Itoa(s.syncs)
		if err := ws.WriteJSON(map[string]string{"type": sync}); err != nil {
			t.Fatal(err)
		}
		var got []map[string]any
		for {
			r, err := s.next(t)
			if err != nil {
				t.Fatalf("%q: %v after %v; want replies and the socket open", frame, err, got)
			}
			if r["type"] == "ack" && r["received_type"] == sync {
				break
			}
			got = append(got, r)
		}
		if len(got) != 1 {
			t.Fatalf("%q got %v; want exactly one reply", frame, got)
		}
		typ, _ := got[0]["type"].(string)
		switch {
		case !replies[typ]:
			t.Fatalf("%q got %v; want one of Netra's replies", frame, got[0])
		case typ == "error_message" && got[0]["error_code"] == "":
			t.Fatalf("%q got %v; want an error_code", frame, got[0])
		case typ == "ack":
			var sent struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(frame, &sent) != nil || got[0]["received_type"] != sent.Type {
				t.Fatalf("%q got %v; want an ack naming the frame's type %q", frame, got[0], sent.Type)
			}
		}
	})
}

// FuzzAuthBodies sends bodies to Netra's /auth/ routes. None makes the
// face fail on its own side (5xx) or answer anything but a JSON object;
// a session it grants carries an access and a refresh token.
func FuzzAuthBodies(f *testing.F) {
	for _, s := range []struct {
		route uint8
		body  string
	}{
		{0, `{"email":"a@example.test","password":"password1","name":"A"}`},
		{1, `{"email":"a@example.test","password":"password1"}`},
		{2, `{"email":"b@example.test","name":"B","permissions":["read"],"simulate_oauth":true}`},
		{3, `{"refresh_token":"x.y.z"}`},
		{2, `{"email":"e2e-b@example.test"}`},
		{0, `{"email":"","password":""}`},
		{1, `[]`},
	} {
		f.Add(s.route, []byte(s.body))
	}
	srv := face(f, f.TempDir())
	paths := []string{"/auth/register", "/auth/login", "/auth/e2e/test-auth", "/auth/refresh"}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := paths[int(route)%len(paths)]
		code, reply := post(t, srv, path, body)
		var v map[string]any
		if code >= 500 || json.Unmarshal(reply, &v) != nil {
			t.Fatalf("POST %s %q = %d %s; want a JSON object and no server error", path, body, code, reply)
		}
		if code == http.StatusOK && path != "/auth/register" {
			if a, _ := v["access_token"].(string); a == "" {
				t.Fatalf("POST %s %q = 200 %s; want an access_token", path, body, reply)
			}
		}
	})
}

// Two emails with the same local part (a@example.test, then A@0) made the
// second bypass login fail with 500: its id, e2e-a, was the first's, and
// the store's conflict was taken for a race (found by FuzzAuthBodies;
// docs/fuzzing.md). Each gets its own user.
func TestBypassSameLocalPart(t *testing.T) {
	srv := face(t, t.TempDir())
	ids := map[string]bool{}
	for _, email := range []string{"a@example.test", "A@0", "a@example.test"} {
		code, reply := post(t, srv, "/auth/e2e/test-auth", []byte(`{"email":"`+email+`"}`))
		var s struct {
			AccessToken string `json:"access_token"`
			User        struct {
				ID    string `json:"id"`
				Email string `json:"email"`
			} `json:"user"`
		}
		if err := json.Unmarshal(reply, &s); err != nil || code != http.StatusOK || s.AccessToken == "" || s.User.Email != strings.ToLower(email) {
			t.Fatalf("bypass login of %s = %d %s; want 200 and its session", email, code, reply)
		}
		ids[s.User.ID] = true
	}
	if len(ids) != 2 {
		t.Errorf("bypass logins of a@example.test, A@0, a@example.test gave the users %v; want two", ids)
	}
}
