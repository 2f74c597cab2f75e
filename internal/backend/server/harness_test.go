package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

const testSecret = "0123456789abcdef0123456789abcdef-test-secret"

type harness struct {
	t      testing.TB
	cfg    server.Config
	srv    *server.Server
	url    string
	cancel context.CancelFunc
	done   chan error
	hc     *http.Client
}

type serverOpt func(*server.Config)

func withFaults(list string) serverOpt {
	return func(c *server.Config) {
		f, err := fault.Parse(list)
		if err != nil {
			panic(err)
		}
		c.Faults = f
	}
}

func withThink(ms int) serverOpt {
	return func(c *server.Config) {
		if c.Overrides == nil {
			c.Overrides = map[string]string{}
		}
		c.Overrides["think_ms"] = fmt.Sprint(ms)
	}
}

func withOverride(k, v string) serverOpt {
	return func(c *server.Config) {
		if c.Overrides == nil {
			c.Overrides = map[string]string{}
		}
		c.Overrides[k] = v
	}
}

// start runs a real backend on a free loopback port with a real SQLite
// database in a temporary directory, and stops it when the test ends.
func start(t testing.TB, opts ...serverOpt) *harness {
	t.Helper()
	cfg := server.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminToken: "admin-secret",
		JWTSecret: []byte(testSecret), HashCost: 4, DrainTimeout: 5 * time.Second,
		Overrides: map[string]string{"think_ms": "0"},
	}
	for _, o := range opts {
		o(&cfg)
	}
	return startConfig(t, cfg)
}

// restart starts a new server on the data directory of a stopped one.
func restart(t testing.TB, old *harness) *harness {
	t.Helper()
	cfg := old.cfg
	cfg.Addr = "127.0.0.1:0"
	return startConfig(t, cfg)
}

func startConfig(t testing.TB, cfg server.Config) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	h := &harness{t: t, cfg: cfg, srv: srv, url: srv.URL(), cancel: cancel, done: make(chan error, 1), hc: newHTTPClient()}
	go func() { h.done <- srv.Run(ctx) }()
	h.waitReady()
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *harness) waitReady() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r, err := h.hc.Get(h.url + protocol.PathReadyz)
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatalf("server at %s never became ready", h.url)
}

// stop shuts the server down and returns Run's result; it is idempotent.
func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		return err
	case <-time.After(30 * time.Second):
		h.t.Errorf("server did not stop within 30s")
		return nil
	}
}

func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
}

type reply struct {
	code   int
	header http.Header
	body   []byte
}

func (h *harness) do(method, path, token string, body any) reply {
	h.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		b, _ := json.Marshal(v)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %.200s: %v", r.body, err)
	}
}

func (r reply) errorCode(t testing.TB) string {
	t.Helper()
	var e protocol.HTTPError
	r.decode(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %.200s lacks code or message", r.body)
	}
	return e.Error.Code
}

type user struct {
	id, email, password, token string
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUser registers and logs in a fresh user.
func (h *harness) newUser() *user {
	h.t.Helper()
	u := &user{email: "u-" + randHex(6) + "@example.test", password: "pw-" + randHex(8)}
	r := h.do("POST", protocol.PathRegister, "", protocol.Credentials{Email: u.email, Password: u.password})
	if r.code != 201 {
		h.t.Fatalf("register = %d %.200s; want 201", r.code, r.body)
	}
	r = h.do("POST", protocol.PathLogin, "", protocol.Credentials{Email: u.email, Password: u.password})
	if r.code != 200 {
		h.t.Fatalf("login = %d %.200s; want 200", r.code, r.body)
	}
	var lr protocol.LoginReply
	r.decode(h.t, &lr)
	u.id, u.token = lr.User.ID, lr.AccessToken
	return u
}

// event is a decoded server frame with its data kept as a map.
type event struct {
	Type string         `json:"type"`
	Seq  int64          `json:"seq"`
	Data map[string]any `json:"data"`
	raw  []byte
}

func (e event) str(k string) string { s, _ := e.Data[k].(string); return s }

type client struct {
	t      testing.TB
	ws     *websocket.Conn
	userID string
	connID string
	mu     sync.Mutex
	seq    int64
}

func (h *harness) dial(u *user) *client {
	h.t.Helper()
	c, err := h.tryDial(u.token, false)
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	c.userID = u.id
	e := c.next()
	if e.Type != protocol.EventConnectionEstablished || e.Seq != 1 {
		h.t.Fatalf("first frame = %s seq %d; want connection_established seq 1", e.Type, e.Seq)
	}
	c.connID = e.str("connection_id")
	h.t.Cleanup(func() { c.ws.Close() })
	return c
}

func (h *harness) tryDial(token string, subprotocol bool) (*client, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	hdr := http.Header{}
	if subprotocol {
		d.Subprotocols = []string{protocol.SubprotocolAuth, protocol.SubprotocolTokenPrefix + token}
	} else {
		hdr.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(h.url, "http")+protocol.PathWS, hdr)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	return &client{t: h.t, ws: ws}, nil
}

// readFrame reads one frame, skipping heartbeats.
func (c *client) readFrame(timeout time.Duration) (event, error) {
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return event{}, err
		}
		var e event
		if err := json.Unmarshal(b, &e); err != nil {
			return event{}, fmt.Errorf("frame %.200s: %v", b, err)
		}
		e.raw = b
		if e.Type != protocol.EventHeartbeat {
			return e, nil
		}
	}
}

func (c *client) next() event {
	c.t.Helper()
	e, err := c.readFrame(10 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return e
}

func (c *client) send(v any) {
	c.t.Helper()
	var err error
	if b, ok := v.([]byte); ok {
		err = c.ws.WriteMessage(websocket.TextMessage, b)
	} else {
		err = c.ws.WriteJSON(v)
	}
	if err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func userMessage(mid, content, thread string) map[string]any {
	p := map[string]any{"message_id": mid, "content": content}
	if thread != "" {
		p["thread_id"] = thread
	}
	return map[string]any{"type": protocol.MessageUser, "payload": p}
}

// run sends one user_message and collects frames until its terminal event.
func (c *client) run(content, thread string) []event {
	c.t.Helper()
	mid := "m-" + randHex(6)
	c.send(userMessage(mid, content, thread))
	var evs []event
	for {
		e := c.next()
		evs = append(evs, e)
		if protocol.IsTerminal(e.Type) || e.Type == protocol.EventErrorMessage {
			return evs
		}
	}
}

// closeCode reads until the connection ends and returns the close code.
func (c *client) closeCode(timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, err := c.readFrame(time.Until(deadline))
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code, nil
			}
			return 0, err
		}
	}
	return 0, fmt.Errorf("no close within %s", timeout)
}
