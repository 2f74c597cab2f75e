// Package hub is the reference backend's WebSocket hub: it authenticates and
// upgrades connections, sends connection_established first, numbers every
// server frame of a connection with seq, starts one agent run per
// user_message, and routes each run's events back to the connection that
// asked.
//
// # Writers and slow consumers
//
// Each connection has exactly one writer goroutine that owns the socket's
// write side and the seq counter, fed by a bounded queue (the config key
// send_queue, 256 frames by default). Frames are never silently dropped: a
// consumer that lets its queue fill up is disconnected with close 1013 (try
// again later) and counted in goldenpath_slow_consumer_disconnects_total.
//
// # Closing
//
// Every close goes through one path: a close frame with the code, then the
// socket is half-closed and drained briefly so the peer reads the close
// frame rather than a reset. Shutdown ([Hub.Drain]) refuses new upgrades,
// lets running runs finish within the drain timeout, stops those still
// going so that each sends its agent_error, then closes every socket with
// 1001. A text frame that is not UTF-8 fails its connection with 1007
// (RFC 6455 section 8.1), a frame over the read limit with 1009, both
// before anything of it is handled.
package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/backend/telemetry"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Emitter receives one run's events; the hub gives each run one.
type Emitter interface {
	Emit(eventType string, data any) error
}

// RunRequest is one user_message as the hub hands it to the runner.
type RunRequest struct {
	UserID, MessageID, Content, ThreadID string
}

// RunFunc executes one run, emitting its events through emit. An error
// returned before anything was emitted is reported to the client as an
// error_message; after that the runner itself sends agent_error.
type RunFunc func(ctx context.Context, req RunRequest, emit Emitter) error

// AuthFunc authenticates an upgrade request and returns the user id.
type AuthFunc func(r *http.Request) (userID string, err error)

// Settings are the live knobs the hub reads from the configuration.
type Settings struct {
	Heartbeat time.Duration // heartbeat frame interval
	SendQueue int           // frames queued per connection before it is a slow consumer
	MaxRuns   int           // concurrent runs per connection
}

// Defaults used when a Settings field is zero.
const (
	DefaultHeartbeat = 15 * time.Second
	DefaultSendQueue = 256
	DefaultMaxRuns   = 64
	writeTimeout     = 10 * time.Second
	lingerTimeout    = time.Second
	flushTimeout     = 2 * time.Second // how long Drain lets writers empty their queues before closing
	readSlack        = 3               // read deadline = readSlack heartbeats without any frame or pong
)

// Hub serves /ws.
type Hub struct {
	auth     AuthFunc
	run      RunFunc
	settings func() Settings
	faults   fault.Set
	metrics  *telemetry.Metrics
	log      *slog.Logger
	upgrader websocket.Upgrader
	sentBy   map[string]prometheus.Counter // events_sent_total by type, resolved once

	draining  atomic.Bool
	mu        sync.Mutex
	conns     map[string]*conn // every open connection, by id
	router    map[string]*conn // where run events go, by routeKey
	handlers  sync.WaitGroup   // one per upgraded connection
	inflight  atomic.Int64     // runs in flight
	runFrames atomic.Int64     // run frames written, for the every-N faults
	racyRuns  int              // fault data-race: written by every run, unsynchronised
}

// Option configures a Hub.
type Option func(*Hub)

// WithFaults switches on the hub's faults: handshake-race, cross-user,
// cleanup-leak, drop/duplicate/reorder-events and close-1011.
func WithFaults(f fault.Set) Option { return func(h *Hub) { h.faults = f } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(h *Hub) { h.log = l } }

// WithSettings sets where live settings come from (default: the Default*
// values).
func WithSettings(f func() Settings) Option { return func(h *Hub) { h.settings = f } }

// New returns a hub that authenticates with auth, runs with run, and
// reports to m.
func New(auth AuthFunc, run RunFunc, m *telemetry.Metrics, opts ...Option) *Hub {
	h := &Hub{
		auth: auth, run: run, metrics: m,
		log:      slog.New(slog.DiscardHandler),
		settings: func() Settings { return Settings{} },
		conns:    map[string]*conn{},
		router:   map[string]*conn{},
	}
	for _, o := range opts {
		o(h)
	}
	h.sentBy = make(map[string]prometheus.Counter, len(protocol.EventTypes))
	for _, t := range protocol.EventTypes {
		h.sentBy[t] = m.EventsSent.WithLabelValues(t)
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024, // small: idle connections stay light; big frames take more reads
		WriteBufferSize:  4096,
		WriteBufferPool:  &sync.Pool{}, // idle connections hold no write buffer
		Subprotocols:     []string{protocol.SubprotocolAuth},
		// Tokens, not cookies, authenticate a socket, so a cross-origin
		// page gains nothing it could not do with the token itself.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			writeHTTPError(w, status, "bad_handshake", reason.Error())
		},
	}
	return h
}

func (h *Hub) live() Settings {
	s := h.settings()
	if s.Heartbeat <= 0 {
		s.Heartbeat = DefaultHeartbeat
	}
	if s.SendQueue <= 0 {
		s.SendQueue = DefaultSendQueue
	}
	if s.MaxRuns <= 0 {
		s.MaxRuns = DefaultMaxRuns
	}
	return s
}

// ServeHTTP authenticates and upgrades one connection and serves it until
// it closes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		writeHTTPError(w, http.StatusServiceUnavailable, backend.EUNAVAILABLE, "server is draining; reconnect to another instance or retry later")
		return
	}
	userID, err := h.auth(r)
	if code := backend.ErrorCode(err); code == backend.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="goldenpath"`)
		writeHTTPError(w, http.StatusUnauthorized, code, backend.PublicMessage(err))
		return
	} else if err != nil {
		h.log.Error("hub: authenticating an upgrade", "err", err)
		writeHTTPError(w, http.StatusServiceUnavailable, backend.EUNAVAILABLE, "could not authenticate now; retry later")
		return
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has replied
	}
	h.handlers.Add(1)
	defer h.handlers.Done()
	c := h.newConn(ws, userID)
	c.serve()
}

// ErrShutdown is the cause with which a drain that ran out of time stops
// the runs still going: each ends with agent_error (code cancelled, this
// message) and its failure stored, before its socket closes with 1001.
var ErrShutdown = backend.Errorf(backend.EUNAVAILABLE, "the server shut down before the run finished; ask again")

// Drain refuses new connections, waits until running runs finish or ctx
// ends, then stops the runs still going with [ErrShutdown] and lets them
// send their agent_error (bounded by flushTimeout), closes every
// connection with 1001 and waits (bounded by lingerTimeout) for their
// handlers to exit.
func (h *Hub) Drain(ctx context.Context) {
	h.draining.Store(true)
	if !h.waitRuns(ctx.Done()) {
		h.log.Warn("hub: drain timeout; stopping the runs still going", "runs", h.inflight.Load())
		for _, c := range h.all() {
			c.cancelRuns(ErrShutdown)
		}
		fctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		if !h.waitRuns(fctx.Done()) {
			h.log.Warn("hub: runs still going after they were stopped", "runs", h.inflight.Load())
		}
	}
	all := h.all()
	// A run that has ended may still have its last frames (agent_completed)
	// in its connection's queue: the close frame must not overtake them.
	flushBy := time.Now().Add(flushTimeout)
	for _, c := range all {
		c.waitFlushed(flushBy)
		c.closeWith(protocol.CloseGoingAway, "server shutting down")
	}
	hd := make(chan struct{})
	go func() { h.handlers.Wait(); close(hd) }()
	select {
	case <-hd:
	case <-time.After(2*lingerTimeout + time.Second):
		h.log.Warn("hub: connection handlers still running after shutdown")
	}
}

// waitRuns waits until no run is in flight, or until stop delivers; it
// reports whether the runs ended.
func (h *Hub) waitRuns(stop <-chan struct{}) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for h.inflight.Load() > 0 {
		select {
		case <-tick.C:
		case <-stop:
			return h.inflight.Load() == 0
		}
	}
	return true
}

// all returns every open connection.
func (h *Hub) all() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	all := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		all = append(all, c)
	}
	return all
}

// Connections returns the number of connections the hub holds.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// routeKey is where a connection's run events are routed. Clean: the
// connection id, unique. Fault cross-user: a small hash of the user id, not
// unique, so the last connection registered in a bucket gets every event
// routed to that bucket.
func (h *Hub) routeKey(c *conn) string {
	if h.faults.CrossUser {
		f := fnv.New32a()
		f.Write([]byte(c.userID))
		return "bucket-" + strconv.Itoa(int(f.Sum32()%8))
	}
	return c.id
}

func (h *Hub) register(c *conn) {
	h.mu.Lock()
	h.conns[c.id] = c
	h.mu.Unlock()
	h.metrics.ActiveConnections.Inc()
	h.metrics.ConnectionsTotal.Inc()
	if h.faults.HandshakeRace > 0 {
		// fault handshake-race: the router learns of the connection late;
		// until then the reader drops what the client sends.
		time.AfterFunc(h.faults.HandshakeRace, func() { h.route(c) })
		return
	}
	h.route(c)
}

func (h *Hub) route(c *conn) {
	h.mu.Lock()
	if _, open := h.conns[c.id]; open {
		h.router[h.routeKey(c)] = c
		c.routed.Store(true)
	}
	h.mu.Unlock()
}

func (h *Hub) unregister(c *conn) {
	if h.faults.CleanupLeak {
		return // fault cleanup-leak: the closed connection stays in the hub
	}
	h.mu.Lock()
	delete(h.conns, c.id)
	if k := h.routeKey(c); h.router[k] == c {
		delete(h.router, k)
	}
	h.mu.Unlock()
	h.metrics.ActiveConnections.Dec()
}

func (h *Hub) lookup(key string) *conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.router[key]
}

func (h *Hub) sent(typ string) {
	if c, ok := h.sentBy[typ]; ok {
		c.Inc()
	}
}

func writeHTTPError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(protocol.HTTPError{Error: protocol.ErrorBody{Code: code, Message: msg}})
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

var errGone = errors.New("hub: connection closed")
