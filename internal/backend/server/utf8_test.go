package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Probe finding (issue 13, part 5): invalid UTF-8 in a text frame was
// stored as U+FFFD instead of failing the connection with 1007.

// TestInvalidUTF8Closes1007: a text frame that is not UTF-8 fails the
// connection with 1007 (RFC 6455 section 8.1) and nothing is stored.
func TestInvalidUTF8Closes1007(t *testing.T) {
	h := start(t)
	u := h.newUser()
	c := h.dial(u)
	c.send([]byte(`{"type":"user_message","payload":{"message_id":"m1","content":"caf` + "\xe9" + ` au lait"}}`))
	code, err := c.closeCode(5 * time.Second)
	if err != nil || code != protocol.CloseInvalidPayload {
		t.Errorf("text frame with invalid UTF-8: close %d, %v; want %d", code, err, protocol.CloseInvalidPayload)
	}
	var tl protocol.ThreadList
	h.do("GET", protocol.PathThreads, u.token, nil).decode(t, &tl)
	if len(tl.Threads) != 0 {
		t.Errorf("after the invalid frame the user has %d threads; want none stored", len(tl.Threads))
	}
}

// wsCloseCode dials the socket as u, writes one text frame and returns the
// close code the client sees.
func (h *harness) wsCloseCode(u *user, frame []byte) (int, error) {
	h.t.Helper()
	c := h.dial(u)
	if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		return 0, err
	}
	return c.closeCode(5 * time.Second)
}

// TestInvalidUTF8Closes1007Netra: the Netra face fails the connection with
// 1007 too.
func TestInvalidUTF8Closes1007Netra(t *testing.T) {
	h := start(t, func(c *server.Config) { c.Protocol = server.ProtocolNetra })
	var tr struct {
		Access string `json:"access_token"`
	}
	h.do("POST", "/auth/register", "", map[string]string{"email": "n-" + randHex(6) + "@example.test", "password": "password-1"}).decode(t, &tr)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{"jwt-auth", "jwt." + tr.Access}}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(h.url, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte("{\"type\":\"handshake_acknowledged\",\"thread_id\":\"\xc3\x28\"}")); err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, ws: ws}
	if code, err := c.closeCode(5 * time.Second); err != nil || code != protocol.CloseInvalidPayload {
		t.Errorf("text frame with invalid UTF-8: close %d, %v; want %d", code, err, protocol.CloseInvalidPayload)
	}
}
