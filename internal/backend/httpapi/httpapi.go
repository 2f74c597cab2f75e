// Package httpapi serves the reference backend's HTTP resources: accounts
// and login, threads and messages, the configuration, and the operational
// endpoints (/healthz, /readyz, /metrics). Every error reply has the shape
// {"error":{"code","message"}}, mapped from a [backend.Error] code in one
// place ([statusOf]); every reply carries a W3C Server-Timing header naming
// the server-side work it did.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/auth"
	"github.com/goldenpath-dev/goldenpath/internal/backend/config"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Deps are what the API serves from.
type Deps struct {
	Auth       *auth.Service
	Store      backend.Store
	Config     *config.Store
	AdminToken string // empty: admin calls are refused with 403
	Registry   *prometheus.Registry
	Phase      func() string // "starting", "ready" or "draining"
	WebSocket  http.Handler  // served at /ws
	Chat       http.Handler  // served under /v1/: the OpenAI-compatible face (nil: none)
	Log        *slog.Logger
	Now        func() time.Time
	IDs        func(prefix string) string
	Version    string // reported by /healthz as "version" (baselines record it); empty: left out
}

// Phases reported by /readyz.
const (
	PhaseStarting = "starting"
	PhaseReady    = "ready"
	PhaseDraining = "draining"
)

type api struct{ Deps }

// New returns the backend's HTTP handler.
func New(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	a := &api{d}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+protocol.PathRegister, a.register)
	mux.HandleFunc("POST "+protocol.PathLogin, a.login)
	mux.HandleFunc("GET "+protocol.PathConfig, a.authed(a.getConfig))
	mux.HandleFunc("PUT "+protocol.PathAdminConfig, a.putConfig)
	mux.HandleFunc("POST "+protocol.PathThreads, a.authed(a.createThread))
	mux.HandleFunc("GET "+protocol.PathThreads, a.authed(a.listThreads))
	mux.HandleFunc("GET "+protocol.PathThreads+"/{id}/messages", a.authed(a.threadMessages))
	mux.HandleFunc("GET "+protocol.PathHealthz, a.healthz)
	mux.HandleFunc("GET "+protocol.PathReadyz, a.readyz)
	mux.Handle("GET "+protocol.PathMetrics, promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	if d.WebSocket != nil {
		mux.Handle("GET "+protocol.PathWS, d.WebSocket)
	}
	if d.Chat != nil {
		mux.Handle("/v1/", d.Chat)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, backend.Errorf(backend.ENOTFOUND, "no route %s %s; see docs/protocol.md", r.Method, r.URL.Path))
	})
	return withTiming(a.limitBodies(mux))
}

// ---- Server-Timing ----

type timingKey struct{}

// timing collects the server-side durations of one request.
type timing struct {
	mu      sync.Mutex
	start   time.Time
	entries []string
}

func withTiming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := &timing{start: time.Now()}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), timingKey{}, t)))
	})
}

// measure runs fn and records its duration under name.
func measure[T any](r *http.Request, name string, fn func() (T, error)) (T, error) {
	start := time.Now()
	v, err := fn()
	if t, ok := r.Context().Value(timingKey{}).(*timing); ok {
		ms := float64(time.Since(start).Nanoseconds()) / 1e6
		t.mu.Lock()
		t.entries = append(t.entries, name+";dur="+strconv.FormatFloat(ms, 'f', 3, 64))
		t.mu.Unlock()
	}
	return v, err
}

func setServerTiming(w http.ResponseWriter, r *http.Request) {
	t, ok := r.Context().Value(timingKey{}).(*timing)
	if !ok {
		return
	}
	t.mu.Lock()
	entries := append([]string(nil), t.entries...)
	t.mu.Unlock()
	total := float64(time.Since(t.start).Nanoseconds()) / 1e6
	entries = append(entries, "app;dur="+strconv.FormatFloat(total, 'f', 3, 64))
	w.Header().Set("Server-Timing", strings.Join(entries, ", "))
}

// ---- replies ----

func (a *api) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	setServerTiming(w, r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// ---- auth ----

func (a *api) register(w http.ResponseWriter, r *http.Request) {
	var c protocol.Credentials
	if err := decode(w, r, &c, maxSmallBody); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := measure(r, "auth", func() (backend.User, error) {
		return a.Auth.Register(r.Context(), auth.ClientOf(r), c.Email, c.Password)
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusCreated, protocol.RegisterReply{User: protocol.User{ID: u.ID, Email: u.Email}})
}

func (a *api) login(w http.ResponseWriter, r *http.Request) {
	var c protocol.Credentials
	if err := decode(w, r, &c, maxSmallBody); err != nil {
		a.fail(w, r, err)
		return
	}
	s, err := measure(r, "auth", func() (auth.Session, error) {
		return a.Auth.Login(r.Context(), auth.ClientOf(r), c.Email, c.Password)
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, protocol.LoginReply{
		AccessToken: s.Token, TokenType: "Bearer", ExpiresIn: int64(s.ExpiresIn / time.Second),
		User: protocol.User{ID: s.User.ID, Email: s.User.Email},
	})
}

type userKey struct{}

// authed wraps a handler that needs a user's access token: verified, and
// its user existing (auth.Service.Authenticate).
func (a *api) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, _ := auth.TokenFromRequest(r)
		if tok == "" {
			a.fail(w, r, backend.Errorf(backend.EUNAUTHORIZED, "missing token: send Authorization: Bearer <access_token> from /api/v1/auth/login"))
			return
		}
		claims, err := measure(r, "auth", func() (auth.Claims, error) { return a.Auth.Authenticate(r.Context(), tok) })
		if err != nil {
			if backend.ErrorCode(err) == backend.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="goldenpath", error="invalid_token"`) // RFC 6750 section 3.1
			}
			a.fail(w, r, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), userKey{}, claims.UserID)))
	}
}

func userID(r *http.Request) string { s, _ := r.Context().Value(userKey{}).(string); return s }

// ---- config ----

func (a *api) getConfig(w http.ResponseWriter, r *http.Request) {
	s, _ := measure(r, "config", func() (*config.Snapshot, error) { return a.Config.Snapshot(), nil })
	a.reply(w, r, http.StatusOK, protocol.ConfigSnapshot{Version: s.Version, Checksum: s.Checksum, Values: s.Values})
}

func (a *api) putConfig(w http.ResponseWriter, r *http.Request) {
	tok, _ := auth.TokenFromRequest(r)
	switch {
	case tok == "":
		a.fail(w, r, backend.Errorf(backend.EUNAUTHORIZED, "missing admin token: send Authorization: Bearer <admin token>"))
		return
	case a.AdminToken == "":
		a.fail(w, r, backend.Errorf(backend.EFORBIDDEN, "admin calls are disabled: start the server with --admin-token"))
		return
	case subtle.ConstantTimeCompare([]byte(tok), []byte(a.AdminToken)) != 1:
		a.fail(w, r, backend.Errorf(backend.EFORBIDDEN, "token is not the admin token"))
		return
	}
	var u protocol.ConfigUpdate
	if err := decode(w, r, &u, maxBody); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(u.Values) == 0 {
		a.fail(w, r, backend.Errorf(backend.EINVALID, `body must be {"values":{...}}`))
		return
	}
	s, err := measure(r, "config", func() (*config.Snapshot, error) { return a.Config.Replace(u.Values) })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.Log.Info("httpapi: configuration replaced", "version", s.Version, "checksum", s.Checksum)
	a.reply(w, r, http.StatusOK, protocol.ConfigSnapshot{Version: s.Version, Checksum: s.Checksum, Values: s.Values})
}

// ---- threads ----

func (a *api) createThread(w http.ResponseWriter, r *http.Request) {
	var nt protocol.NewThread
	if r.ContentLength != 0 {
		if err := decode(w, r, &nt, maxSmallBody); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	title := strings.TrimSpace(nt.Title)
	if title == "" {
		title = "New thread"
	}
	if len(title) > 200 {
		a.fail(w, r, backend.Errorf(backend.EINVALID, "title is %d bytes; at most 200", len(title)))
		return
	}
	t := backend.Thread{ID: a.IDs("t_"), UserID: userID(r), Title: title, CreatedAt: a.Now().UTC()}
	if _, err := measure(r, "db", func() (struct{}, error) { return struct{}{}, a.Store.CreateThread(r.Context(), t) }); err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusCreated, protocol.Thread{ID: t.ID, Title: t.Title, CreatedAt: t.CreatedAt})
}

func (a *api) listThreads(w http.ResponseWriter, r *http.Request) {
	ts, err := measure(r, "db", func() ([]backend.Thread, error) { return a.Store.Threads(r.Context(), userID(r)) })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := protocol.ThreadList{Threads: make([]protocol.Thread, 0, len(ts))}
	for _, t := range ts {
		out.Threads = append(out.Threads, protocol.Thread{ID: t.ID, Title: t.Title, CreatedAt: t.CreatedAt})
	}
	a.reply(w, r, http.StatusOK, out)
}

func (a *api) threadMessages(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ms, err := measure(r, "db", func() ([]backend.Message, error) { return a.Store.Messages(r.Context(), userID(r), id) })
	if backend.ErrorCode(err) == backend.ENOTFOUND {
		// Another user's thread is no thread at all (OWASP API1): 404 either way.
		err = &backend.Error{Code: backend.ENOTFOUND, Message: "no thread with that id among yours", Err: err}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := protocol.MessageList{Messages: make([]protocol.Message, 0, len(ms))}
	for _, m := range ms {
		out.Messages = append(out.Messages, protocol.Message{ID: m.ID, Role: m.Role, Content: m.Content, MessageID: m.MessageID, CreatedAt: m.CreatedAt})
	}
	a.reply(w, r, http.StatusOK, out)
}

// ---- operations ----

func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	body := map[string]string{"status": "ok"}
	if a.Version != "" {
		body["version"] = a.Version
	}
	a.reply(w, r, http.StatusOK, body)
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	phase := a.Phase()
	if phase != PhaseReady {
		a.reply(w, r, http.StatusServiceUnavailable, protocol.Ready{Phase: phase})
		return
	}
	if _, err := measure(r, "db", func() (struct{}, error) { return struct{}{}, a.Store.Ping(r.Context()) }); err != nil {
		a.Log.Warn("httpapi: readiness: the database does not answer", "err", err)
		a.reply(w, r, http.StatusServiceUnavailable, map[string]string{"phase": phase, "error": "database: " + backend.PublicMessage(err)})
		return
	}
	a.reply(w, r, http.StatusOK, protocol.Ready{Phase: phase})
}
