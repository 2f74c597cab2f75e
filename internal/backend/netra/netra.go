// Package netra makes the reference backend speak the Netra Apex wire
// protocol as a client sees it (../shared/targets/NETRA.md): its auth
// routes with the token reply, the test-only bypass login, and the
// main-mode WebSocket with the subprotocol token, the server-driven
// handshake, the acknowledgement that is not an answer, per-user fan-out,
// sub-agent completions before the supervisor's, and no sequence numbers.
//
// Runs go through the same runner, store and auth as PROTOCOL v1, so the
// backend's runner, store and auth faults reach a Netra client too; the
// socket faults drop-events, close-1011 and cross-user are re-done here,
// on Netra's fan-out.
package netra

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/auth"
	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/backend/hub"
	"github.com/goldenpath-dev/goldenpath/internal/backend/telemetry"
)

// Header of the bypass login's key.
const BypassHeader = "X-E2E-Bypass-Key"

// Limits from NETRA.md.
const (
	maxFrame         = 1 << 20 // larger: close 1009
	maxMessage       = 8192    // larger: error_message MESSAGE_TOO_LARGE
	handshakeTimeout = 15 * time.Second
	writeTimeout     = 10 * time.Second
	maxBody          = 64 << 10
)

// Options are what a Netra face needs from the backend.
type Options struct {
	Auth *auth.Service
	Run  hub.RunFunc
	// BypassKey enables POST /auth/e2e/test-auth; empty answers it 503.
	BypassKey string
	Faults    fault.Set
	Metrics   *telemetry.Metrics
	Log       *slog.Logger
}

// Server serves Netra's /auth/ routes and its /ws.
type Server struct {
	o        Options
	upgrader websocket.Upgrader

	mu     sync.Mutex
	users  map[string]map[*conn]bool // the open sockets of each user: events fan out to all
	latest *conn                     // fault cross-user: the socket opened last, of anyone

	conns    atomic.Int64 // connections ever, for ids
	frames   atomic.Int64 // run frames sent, for drop-events
	inflight atomic.Int64 // runs going
	draining atomic.Bool  // new sockets are refused
	handled  sync.WaitGroup
}

// New returns a Netra face over o.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{o: o, users: map[string]map[*conn]bool{}}
	s.upgrader = websocket.Upgrader{
		ReadBufferSize: 2048, WriteBufferSize: 2048,
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return s
}

// Routes adds Netra's routes to mux.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /auth/register", s.register)
	mux.HandleFunc("POST /auth/login", s.login)
	mux.HandleFunc("POST /auth/e2e/test-auth", s.bypass)
	mux.HandleFunc("POST /auth/refresh", s.refresh)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "healthy"})
	})
	mux.HandleFunc("GET /ws", s.serveWS)
}

// Wait returns when every connection handler has ended.
func (s *Server) Wait() { s.handled.Wait() }

type tokenReply struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    int       `json:"expires_in"`
	User         replyUser `json:"user"`
}

type replyUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

func reply(sess auth.Session) tokenReply {
	name, _, _ := strings.Cut(sess.User.Email, "@")
	return tokenReply{AccessToken: sess.Token, RefreshToken: sess.RefreshToken, TokenType: "Bearer", ExpiresIn: int(sess.ExpiresIn.Seconds()),
		User: replyUser{ID: sess.User.ID, Email: sess.User.Email, Name: name}}
}

type credentials struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	Name         string `json:"name"`
	RefreshToken string `json:"refresh_token"`
}

// decode reads a JSON body, answering 422 as FastAPI does when it is not,
// and 413 when it is over maxBody: unread when its Content-Length says so.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	tooLarge := func() bool {
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"detail": "Request body too large"})
		return false
	}
	if r.ContentLength > maxBody {
		return tooLarge()
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{{"type": "json_invalid", "loc": []string{"body"}, "msg": "JSON decode error"}}})
		return false
	}
	return true
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !decode(w, r, &c) {
		return
	}
	if _, err := s.o.Auth.Register(r.Context(), auth.ClientOf(r), c.Email, c.Password); err != nil {
		s.fail(w, err)
		return
	}
	s.loginWith(w, r, c)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if decode(w, r, &c) {
		s.loginWith(w, r, c)
	}
}

func (s *Server) loginWith(w http.ResponseWriter, r *http.Request, c credentials) {
	sess, err := s.o.Auth.Login(r.Context(), auth.ClientOf(r), c.Email, c.Password)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, reply(sess))
}

func (s *Server) bypass(w http.ResponseWriter, r *http.Request) {
	if s.o.BypassKey == "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"detail": "E2E bypass is not configured on this deployment"})
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(BypassHeader)), []byte(s.o.BypassKey)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Invalid E2E bypass key"})
		return
	}
	var c credentials
	if !decode(w, r, &c) {
		return
	}
	sess, err := s.o.Auth.Bypass(r.Context(), c.Email)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, reply(sess))
}

// refresh exchanges a refresh token (never an access token) for a new
// pair.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !decode(w, r, &c) {
		return
	}
	sess, err := s.o.Auth.Refresh(r.Context(), c.RefreshToken)
	if backend.ErrorCode(err) == backend.EUNAUTHORIZED {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Invalid refresh token"})
		return
	} else if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, reply(sess))
}

// fail answers a backend error in FastAPI's shape.
func (s *Server) fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch backend.ErrorCode(err) {
	case backend.EINVALID:
		status = http.StatusBadRequest
	case backend.EUNAUTHORIZED:
		status = http.StatusUnauthorized
	case backend.ECONFLICT:
		status = http.StatusConflict
	case backend.ERATELIMITED:
		status = http.StatusTooManyRequests
	}
	msg := backend.PublicMessage(err)
	switch {
	case status == http.StatusUnauthorized:
		msg = "Invalid credentials"
	case status == http.StatusInternalServerError || msg != backend.ErrorMessage(err):
		s.o.Log.Warn("netra: error answered without its details", "status", status, "err", err)
	}
	var th *auth.Throttled
	if errors.As(err, &th) {
		w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds())))
	}
	writeJSON(w, status, map[string]any{"detail": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// add and remove keep the fan-out table.
func (s *Server) add(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[c.user] == nil {
		s.users[c.user] = map[*conn]bool{}
	}
	s.users[c.user][c] = true
	s.latest = c
}

func (s *Server) remove(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users[c.user], c)
	if len(s.users[c.user]) == 0 {
		delete(s.users, c.user)
	}
	if s.latest == c {
		s.latest = nil
	}
}

// fanout is every open socket of user (fault cross-user: the socket
// opened last, whoever's it is).
func (s *Server) fanout(user string) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.o.Faults.CrossUser && s.latest != nil {
		return []*conn{s.latest}
	}
	out := make([]*conn, 0, len(s.users[user]))
	for c := range s.users[user] {
		out = append(out, c)
	}
	return out
}

// timestamp is Netra's: ISO 8601 without a zone, in UTC.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// ctxDone reports whether ctx has ended.
func ctxDone(ctx context.Context) bool { return ctx.Err() != nil }

// Drain refuses new sockets, waits until the runs going finish or ctx ends,
// then stops those still going with [hub.ErrShutdown], lets them send their
// agent_error (for at most two seconds), and closes every socket with 1001
// ([Server.Close]).
func (s *Server) Drain(ctx context.Context) {
	s.draining.Store(true)
	wait := func(stop <-chan struct{}) bool {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for s.inflight.Load() > 0 {
			select {
			case <-tick.C:
			case <-stop:
				return s.inflight.Load() == 0
			}
		}
		return true
	}
	if !wait(ctx.Done()) {
		s.o.Log.Warn("netra: drain timeout; stopping the runs still going", "runs", s.inflight.Load())
		s.mu.Lock()
		for _, cs := range s.users {
			for c := range cs {
				c.cancelRuns(hub.ErrShutdown)
			}
		}
		s.mu.Unlock()
		fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		wait(fctx.Done())
	}
	s.Close()
}

// Close ends every socket with 1001 (going away) and cancels its runs,
// then waits for the handlers.
func (s *Server) Close() {
	s.mu.Lock()
	var all []*conn
	for _, cs := range s.users {
		for c := range cs {
			all = append(all, c)
		}
	}
	s.mu.Unlock()
	for _, c := range all {
		c.wmu.Lock()
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		c.wmu.Unlock()
		c.cancel()
		_ = c.ws.Close()
	}
	s.handled.Wait()
}
