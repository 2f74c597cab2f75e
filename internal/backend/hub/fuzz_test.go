package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/backend/hub"
	"github.com/goldenpath-dev/goldenpath/internal/backend/telemetry"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

const fuzzUser = "u_fuzz"

// readLimit is the hub's limit on a client frame: a larger one is closed
// with 1009 before it is read whole.
const readLimit = protocol.MaxContentBytes + 4<<10

// echo is a run that answers at once with agent_completed quoting its
// request, so the client can see how the hub decoded it.
func echo(_ context.Context, req hub.RunRequest, emit hub.Emitter) error {
	return emit.Emit(protocol.EventAgentCompleted, protocol.AgentCompleted{
		RunRef: protocol.RunRef{RunID: "r_" + req.MessageID, ThreadID: req.ThreadID, MessageID: req.MessageID, UserID: req.UserID},
		Result: protocol.Result{Content: req.Content}, CompletedAt: time.Now().UTC()})
}

// client is one WebSocket connection to a hub, dialled again after the
// hub closes it.
type client struct {
	url   string
	ws    *websocket.Conn
	pings int
}

func (c *client) conn(t *testing.T) *websocket.Conn {
	if c.ws != nil {
		return c.ws
	}
	ws, resp, err := websocket.DefaultDialer.Dial(c.url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", c.url, err)
	}
	resp.Body.Close()
	var e protocol.Envelope
	if err := ws.ReadJSON(&e); err != nil || e.Type != protocol.EventConnectionEstablished {
		t.Fatalf("first frame %+v, %v; want connection_established", e, err)
	}
	c.ws = ws
	return ws
}

// read returns the next frame, or the close error.
func (c *client) read(t *testing.T) (protocol.Envelope, error) {
	var e protocol.Envelope
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("the hub sent %q, not an envelope: %v", b, err)
	}
	return e, nil
}

// FuzzClientFrame sends client frames to a hub over a real WebSocket and
// reads what each one got back, judged by the client contract decoded
// independently (json.Unmarshal into protocol.ClientMessage): a text
// frame that is not UTF-8 closes the connection with 1007, a frame over
// the read limit or a user_message over 32 KiB with 1009; otherwise the connection stays open
// and the frame gets exactly its reply: invalid_json for a frame that is
// not a message, unknown_type, bad_request for a payload that does not
// decode or lacks its ids, a pong echoing a ping's nonce, or a run of
// exactly the message_id, content and thread_id sent.
func FuzzClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"user_message","payload":{"message_id":"m1","content":"hello <world>","thread_id":"t1"}}`,
		`{"type":"ping","payload":{"nonce":"p1"}}`,
		`{"type":"ping"}`,
		`{"type":"ping","payload":[1]}`,
		`{"type":"user_message","payload":{"message_id":"","content":"x"}}`,
		`{"type":"user_message","payload":"x"}`,
		`{"type":"subscribe","payload":{}}`,
		`not json`,
		`{"type":""}`,
		"{\"type\":\"user_message\",\"payload\":{\"message_id\":\"m\",\"content\":\"\xff\"}}",
		`{"TYPE":"user_message","Payload":{"Message_ID":"m2","CONTENT":"\u0000\ud800"}}`,
	} {
		f.Add([]byte(s))
	}
	big := strings.Repeat("x", protocol.MaxContentBytes)
	f.Add([]byte(`{"type":"user_message","payload":{"message_id":"m","content":"` + big + `"}}`))
	f.Add([]byte(`{"type":"user_message","payload":{"message_id":"m","content":"` + big + `y"}}`))
	f.Add([]byte(`{"type":"ping","payload":{"nonce":"` + big + big + `"}}`))
	h := hub.New(func(*http.Request) (string, error) { return fuzzUser, nil }, echo, telemetry.New())
	srv := httptest.NewServer(h)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Drain(ctx)
		srv.Close()
	})
	c := &client{url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	f.Fuzz(func(t *testing.T, frame []byte) {
		ws := c.conn(t)
		if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			t.Fatalf("write %q: %v", frame, err)
		}
		switch {
		case len(frame) > readLimit:
			c.wantClose(t, frame, protocol.CloseTooBig)
			return
		case !utf8.Valid(frame):
			c.wantClose(t, frame, protocol.CloseInvalidPayload)
			return
		}
		var m protocol.ClientMessage
		switch err := json.Unmarshal(frame, &m); {
		case err != nil || m.Type == "":
			c.wantError(t, frame, protocol.ErrInvalidJSON)
		case m.Type == protocol.MessagePing:
			var p protocol.Ping
			if len(m.Payload) > 0 && json.Unmarshal(m.Payload, &p) != nil {
				c.wantError(t, frame, protocol.ErrBadRequest)
				break
			}
			e, err := c.read(t)
			var got protocol.Ping
			if err != nil || e.Type != protocol.EventPong || json.Unmarshal(e.Data, &got) != nil || got.Nonce != p.Nonce {
				t.Fatalf("ping %q got %+v, %v; want a pong with nonce %q", frame, e, err, p.Nonce)
			}
		case m.Type == protocol.MessageUser:
			var u protocol.UserMessage
			switch err := json.Unmarshal(m.Payload, &u); {
			case err != nil:
				c.wantError(t, frame, protocol.ErrBadRequest)
			case len(u.Content) > protocol.MaxContentBytes:
				c.wantClose(t, frame, protocol.CloseTooBig)
				return
			case u.MessageID == "" || u.Content == "":
				c.wantError(t, frame, protocol.ErrBadRequest)
			default:
				e, err := c.read(t)
				var done protocol.AgentCompleted
				if err != nil || e.Type != protocol.EventAgentCompleted || json.Unmarshal(e.Data, &done) != nil ||
					done.MessageID != u.MessageID || done.Result.Content != u.Content || done.ThreadID != u.ThreadID || done.UserID != fuzzUser {
					t.Fatalf("user_message %q got %+v, %v; want the run of message_id %q, content %q, thread_id %q", frame, e, err, u.MessageID, u.Content, u.ThreadID)
				}
			}
		default:
			c.wantError(t, frame, protocol.ErrUnknownType)
		}
		c.sync(t, frame)
	})
}

// wantError reads the next frame and wants an error_message of code.
func (c *client) wantError(t *testing.T, frame []byte, code string) {
	t.Helper()
	e, err := c.read(t)
	var em protocol.ErrorMessage
	if err != nil || e.Type != protocol.EventErrorMessage || json.Unmarshal(e.Data, &em) != nil || em.Code != code || em.Message == "" {
		t.Fatalf("%q got %+v, %v; want error_message %s", frame, e, err, code)
	}
}

// wantClose wants the connection closed with code, and forgets it.
func (c *client) wantClose(t *testing.T, frame []byte, code int) {
	t.Helper()
	_, err := c.read(t)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("%q got %v; want the connection closed with %d", frame, err, code)
	}
	c.ws.Close()
	c.ws = nil
}

// sync sends a ping and wants its pong next: nothing else was sent in
// reply to frame, and the connection is still open.
func (c *client) sync(t *testing.T, frame []byte) {
	t.Helper()
	c.pings++
	nonce := "sync-" + strconv.Itoa(c.pings)
	if err := c.ws.WriteJSON(map[string]any{"type": protocol.MessagePing, "payload": protocol.Ping{Nonce: nonce}}); err != nil {
		t.Fatalf("after %q: write a ping: %v", frame, err)
	}
	e, err := c.read(t)
	var p protocol.Ping
	if err != nil || e.Type != protocol.EventPong || json.Unmarshal(e.Data, &p) != nil || p.Nonce != nonce {
		t.Fatalf("after %q: got %+v, %v; want only the pong of %s: one reply to a frame, and the connection open", frame, e, err, nonce)
	}
}
