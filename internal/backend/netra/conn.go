package netra

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/hub"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Close codes of NETRA.md section 8.
const (
	closeUnsupported    = 1003
	closeInvalidPayload = 1007 // RFC 6455: a text frame that is not UTF-8
	closePolicy         = 1008
	closeInternal       = 1011
)

// conn is one Netra main-mode socket.
type conn struct {
	s      *Server
	ws     *websocket.Conn
	user   string
	thread string // the connection's thread, as the handshake named it
	ctx    context.Context
	cancel context.CancelFunc
	// runCtx is the context of the socket's runs: it ends with the socket,
	// or earlier, with a cause, when a drain runs out of time.
	runCtx     context.Context
	cancelRuns context.CancelCauseFunc
	doomed     bool // fault close-1011

	wmu    sync.Mutex // one writer at a time
	ready  bool       // handshake_complete sent; read-loop only
	stored string     // the store's thread of this connection's runs; guarded by wmu
	runs   sync.WaitGroup
}

func newHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// offeredToken finds the token of an upgrade: the Authorization header,
// else the first subprotocol entry jwt.<t>, jwt-auth.<t> or bearer.<t>,
// <t> raw or base64url (padded or not). selected is the subprotocol to
// answer; usable is false when subprotocols were offered and none can be
// selected.
func offeredToken(r *http.Request) (token, selected string, usable bool) {
	var entries []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				entries = append(entries, p)
			}
		}
	}
	if scheme, rest, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(rest)
	}
	for _, e := range entries {
		for _, pre := range []string{"jwt.", "jwt-auth.", "bearer."} {
			t, ok := strings.CutPrefix(e, pre)
			if !ok {
				continue
			}
			if token == "" {
				token = decodeToken(t)
			}
			selected = "jwt-auth"
			if pre == "bearer." {
				selected = "bearer"
			}
			break
		}
		if selected != "" {
			break
		}
	}
	if selected == "" {
		for _, e := range entries {
			if e == "jwt-auth" || e == "bearer" {
				selected = e
				break
			}
		}
	}
	// Select only what was offered (RFC 6455).
	offered := false
	for _, e := range entries {
		offered = offered || e == selected
	}
	if !offered {
		selected = ""
	}
	return token, selected, len(entries) == 0 || selected != ""
}

// decodeToken reads a subprotocol's token: base64url of a JWT, or the JWT.
func decodeToken(t string) string {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding} {
		if b, err := enc.DecodeString(t); err == nil && strings.Count(string(b), ".") == 2 {
			return string(b)
		}
	}
	return t
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"detail": "Service is shutting down"})
		return
	}
	token, selected, usable := offeredToken(r)
	var hdr http.Header
	if selected != "" {
		hdr = http.Header{"Sec-WebSocket-Protocol": {selected}}
	}
	ws, err := s.upgrader.Upgrade(w, r, hdr)
	if err != nil {
		return // the upgrader has answered
	}
	s.handled.Add(1)
	defer s.handled.Done()
	defer ws.Close()
	ws.SetReadLimit(maxFrame)
	closeWith := func(code int, reason string) {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	}
	if !usable {
		closeWith(closeUnsupported, "No supported subprotocols")
		return
	}
	claims, err := s.o.Auth.Authenticate(r.Context(), token)
	if backend.ErrorCode(err) == backend.EUNAUTHORIZED {
		b, _ := json.Marshal(map[string]any{"type": "error_message", "error_code": "AUTH_FAILED", "error_message": "Authentication failed", "timestamp": unixNow()})
		_ = ws.WriteMessage(websocket.TextMessage, b)
		closeWith(closePolicy, "Authentication failed")
		return
	} else if err != nil {
		s.o.Log.Error("netra: authenticating a socket", "err", err)
		closeWith(closeInternal, "Service not ready: authentication unavailable")
		return
	}
	n := s.conns.Add(1)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	runCtx, cancelRuns := context.WithCancelCause(ctx)
	c := &conn{s: s, ws: ws, user: claims.UserID, ctx: ctx, cancel: cancel, runCtx: runCtx, cancelRuns: cancelRuns,
		thread: "thread_ws_" + strconv.FormatInt(n, 10) + "_" + newHex(4)}
	if p := s.o.Faults.Close1011; p > 0 {
		c.doomed = float64(n%1000) < p*1000
	}
	if s.o.Metrics != nil {
		s.o.Metrics.ConnectionsTotal.Inc()
		s.o.Metrics.ActiveConnections.Inc()
		defer s.o.Metrics.ActiveConnections.Dec()
	}
	s.add(c)
	defer func() {
		s.remove(c)
		cancel()
		c.runs.Wait()
	}()
	c.handshake(n)
	c.readLoop()
}

// handshake sends connection_established and handshake_response, in an
// order that changes from one connection to the next.
func (c *conn) handshake(n int64) {
	short := c.user
	if len(short) > 8 {
		short = short[:8] + "..."
	}
	now := time.Now()
	established := map[string]any{"type": "connection_established", "data": map[string]any{"mode": "main", "user_id": short,
		"connection_id": "ws_conn_" + newHex(8), "golden_path_events": []string{protocol.EventAgentStarted, protocol.EventAgentThinking,
			protocol.EventToolExecuting, protocol.EventToolCompleted, protocol.EventAgentCompleted}, "timestamp": timestamp(now)},
		"timestamp": unixNow(), "server_id": nil, "correlation_id": nil}
	response := map[string]any{"type": "handshake_response", "thread_id": c.thread, "run_id": "run_" + c.thread + "_" + newHex(4),
		"request_id": "req_" + newHex(8), "session_token": newHex(8), "timestamp": timestamp(now), "message": "Handshake initiated; acknowledge with handshake_acknowledged"}
	if n%2 == 0 {
		established, response = response, established
	}
	c.write(established)
	c.write(response)
}

// write sends one frame; it reports false when the socket is gone.
func (c *conn) write(v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, b) == nil
}

func unixNow() float64 {
	return math.Round(float64(time.Now().UnixMicro())) / 1e6
}

// errorMessage sends Netra's flat error frame.
func (c *conn) errorMessage(code, msg string) {
	c.write(map[string]any{"type": "error_message", "error_code": code, "error_message": msg, "details": map[string]any{}, "timestamp": unixNow()})
}

type clientFrame struct {
	Type     string          `json:"type"`
	ThreadID string          `json:"thread_id"`
	Text     string          `json:"text"`
	RunID    string          `json:"run_id"`
	Payload  json.RawMessage `json:"payload"`
}

type userPayload struct {
	Content  string `json:"content"`
	Text     string `json:"text"`
	ThreadID string `json:"thread_id"`
	RunID    string `json:"run_id"`
}

// readLoop reads client frames until the socket ends. Before
// handshake_complete every frame but the acknowledgement is dropped
// without a reply, as Netra does.
func (c *conn) readLoop() {
	_ = c.ws.SetReadDeadline(time.Now().Add(handshakeTimeout))
	for {
		typ, b, err := c.ws.ReadMessage()
		if err != nil {
			if !c.ready && isTimeout(err) {
				_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closePolicy, "Handshake timeout"), time.Now().Add(time.Second))
			}
			return
		}
		if typ == websocket.TextMessage && !utf8.Valid(b) {
			// RFC 6455 section 8.1: fail the connection, read no further.
			c.wmu.Lock()
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeInvalidPayload, "text frame is not valid UTF-8"), time.Now().Add(time.Second))
			c.wmu.Unlock()
			return
		}
		if typ != websocket.TextMessage {
			continue
		}
		var f clientFrame
		jerr := json.Unmarshal(b, &f)
		if !c.ready {
			if jerr == nil && f.Type == "handshake_acknowledged" {
				if f.ThreadID != c.thread {
					c.errorMessage("HANDSHAKE_FAILED", "thread_id does not match the handshake")
					continue
				}
				c.ready = true
				_ = c.ws.SetReadDeadline(time.Time{})
				c.write(map[string]any{"type": "handshake_complete", "thread_id": c.thread, "timestamp": timestamp(time.Now()), "message": "Handshake complete"})
			}
			continue
		}
		c.handle(b, f, jerr)
	}
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	t, ok := err.(timeout)
	return ok && t.Timeout()
}

// handle answers one frame after the handshake.
func (c *conn) handle(b []byte, f clientFrame, jerr error) {
	switch {
	case jerr != nil && len(strings.TrimSpace(string(b))) > 0 && strings.TrimSpace(string(b))[0] != '{':
		var v any
		if json.Unmarshal(b, &v) == nil {
			c.errorMessage("INVALID_MESSAGE", "message must be a JSON object")
			return
		}
		c.errorMessage("JSON_PARSE_ERROR", "invalid JSON")
		return
	case jerr != nil:
		c.errorMessage("JSON_PARSE_ERROR", "invalid JSON")
		return
	case len(b) > maxMessage:
		c.errorMessage("MESSAGE_TOO_LARGE", "message exceeds "+strconv.Itoa(maxMessage)+" bytes")
		return
	}
	switch f.Type {
	case "user_message", "user", "user_input", "chat_message", "message":
	case "ping":
		c.write(map[string]any{"type": "pong", "data": map[string]any{"user_id": c.user, "timestamp": unixNow()}, "timestamp": unixNow()})
		return
	case "heartbeat":
		c.write(map[string]any{"type": "heartbeat_ack", "timestamp": unixNow()})
		return
	default:
		c.write(map[string]any{"type": "ack", "received_type": f.Type, "status": "acknowledged", "timestamp": unixNow()})
		return
	}
	p := userPayload{Text: f.Text, ThreadID: f.ThreadID, RunID: f.RunID}
	if len(f.Payload) > 0 {
		_ = json.Unmarshal(f.Payload, &p)
	}
	content := p.Content
	if content == "" {
		content = p.Text
	}
	switch {
	case strings.TrimSpace(content) == "":
		c.write(map[string]any{"type": "error_message", "error_code": "VALIDATION_ERROR", "error_message": "Please enter a message", "timestamp": unixNow()})
		return
	case p.ThreadID != "" && p.ThreadID != c.thread:
		c.errorMessage("INVALID_THREAD", "thread_id is not this user's")
		return
	}
	runID := p.RunID
	if runID == "" {
		runID = "run_" + c.thread + "_" + newHex(4)
	}
	c.write(map[string]any{"type": "system_message", "data": map[string]any{"content": "Message received", "status": "acknowledged", "timestamp": unixNow()},
		"timestamp": unixNow(), "server_id": nil, "correlation_id": nil})
	c.wmu.Lock()
	stored := c.stored
	c.wmu.Unlock()
	em := &emitter{c: c, runID: runID, requestID: "req_" + newHex(8)}
	c.runs.Add(1)
	c.s.inflight.Add(1)
	go func() {
		defer c.s.inflight.Add(-1)
		defer c.runs.Done()
		err := c.s.o.Run(c.runCtx, hub.RunRequest{UserID: c.user, MessageID: runID, Content: content, ThreadID: stored}, em)
		if err != nil && !em.emitted {
			c.errorMessage("AGENT_ERROR", backend.PublicMessage(err))
		}
	}()
}
