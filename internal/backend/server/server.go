// Package server assembles the reference backend from its parts (store,
// auth, config, agent runner, hub, HTTP API, metrics) and runs it. It is the
// one start-up path for `goldenpath serve`, for `goldenpath run` without a
// target, and for end-to-end tests.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/agent"
	"github.com/goldenpath-dev/goldenpath/internal/backend/auth"
	"github.com/goldenpath-dev/goldenpath/internal/backend/chatapi"
	"github.com/goldenpath-dev/goldenpath/internal/backend/config"
	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/backend/httpapi"
	"github.com/goldenpath-dev/goldenpath/internal/backend/hub"
	"github.com/goldenpath-dev/goldenpath/internal/backend/netra"
	"github.com/goldenpath-dev/goldenpath/internal/backend/postgres"
	"github.com/goldenpath-dev/goldenpath/internal/backend/sqlite"
	"github.com/goldenpath-dev/goldenpath/internal/backend/telemetry"
)

// Defaults for [Config].
const (
	DefaultAddr         = "127.0.0.1:8080"
	DefaultDrainTimeout = 10 * time.Second
	DBFile              = "goldenpath.db"
	DefaultDBPool       = postgres.DefaultPoolSize
)

// Protocols the backend's /ws speaks ([Config].Protocol).
const (
	ProtocolGoldenpath = "goldenpath"
	ProtocolNetra      = "netra"
)

// Config is everything the backend starts with. The zero value of each
// field means its default.
type Config struct {
	Addr         string        // listen address; DefaultAddr when empty
	DataDir      string        // database and JWT secret; required
	DB           string        // a postgres:// URL: the store is that database; empty: SQLite in DataDir
	DBPool       int           // connections to DB's server, 2..1000; 0: DefaultDBPool
	AdminToken   string        // token for PUT /api/v1/admin/config; empty disables it
	JWTSecret    []byte        // empty: read or create DataDir/jwt.secret
	HashCost     int           // bcrypt cost; 0: auth.DefaultHashCost
	TokenTTL     time.Duration // 0: auth.DefaultTTL
	DrainTimeout time.Duration // 0: DefaultDrainTimeout
	ConfigFile   string        // optional YAML/JSON file of configuration values
	Environ      []string      // environment for GOLDENPATH_* configuration values
	Overrides    map[string]string
	Faults       fault.Set
	ModelURL     string // OpenAI-compatible chat completions endpoint; empty: simulated model
	ModelName    string
	ModelKey     string
	// Protocol is what /ws (and the auth routes) speak: "goldenpath"
	// (PROTOCOL v1, the default) or "netra" (../shared/targets/NETRA.md,
	// with its /auth/ routes). The OpenAI-compatible /v1/ is always served.
	Protocol string
	// BypassKey enables Netra's test-only login (protocol netra).
	BypassKey string
	Log       *slog.Logger
	Version   string // build version reported by /healthz; empty: none
	// Reload, when it delivers, makes Run reload the configuration file
	// (serve sends SIGHUP here); nil never does.
	Reload <-chan os.Signal
}

// Validate reports the first field of c out of range, in the words of the
// serve flag that sets it.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("server: no data directory; pass --data DIR")
	case c.DB != "" && !postgres.IsURL(c.DB):
		return errors.New("server: --db takes a postgres://USER@HOST:PORT/DATABASE (or postgresql://) URL; omit it for SQLite in --data")
	case c.DBPool != 0 && (c.DBPool < 2 || c.DBPool > 1000):
		return fmt.Errorf("server: --db-pool %d is outside 2..1000 (one connection writes, the others read)", c.DBPool)
	case len(c.JWTSecret) > 0 && len(c.JWTSecret) < 32:
		return fmt.Errorf("server: --jwt-secret is %d bytes; use at least 32 (or omit it to have one generated)", len(c.JWTSecret))
	case c.HashCost != 0 && (c.HashCost < 4 || c.HashCost > 31):
		return fmt.Errorf("server: --hash-cost %d is outside bcrypt's 4..31 (10 is the safe default)", c.HashCost)
	case c.TokenTTL < 0 || c.DrainTimeout < 0:
		return errors.New("server: --token-ttl and --drain-timeout must be positive durations")
	case c.Protocol != "" && c.Protocol != ProtocolGoldenpath && c.Protocol != ProtocolNetra:
		return fmt.Errorf("server: --protocol %q is not one of goldenpath, netra", c.Protocol)
	}
	return nil
}

// Server is a running reference backend.
type Server struct {
	cfg     Config
	ln      net.Listener
	http    *http.Server
	hub     *hub.Hub
	netra   *netra.Server // protocol netra: /ws and /auth/
	store   backend.Store
	config  *config.Store
	metrics *telemetry.Metrics
	phase   atomic.Value // string
	log     *slog.Logger
}

// New opens the store, builds every part and listens on cfg.Addr; the
// server accepts connections once [Server.Run] is called.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: create data directory: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Log, metrics: telemetry.New()}
	s.phase.Store(httpapi.PhaseStarting)

	values, err := config.Load(cfg.ConfigFile, cfg.Environ, cfg.Overrides)
	if err != nil {
		return nil, err
	}
	var copts []config.Option
	if cfg.Faults.ConfigTorn {
		copts = append(copts, config.WithTorn(true))
	}
	if cfg.Faults.SlowConfig > 0 {
		copts = append(copts, config.WithDelay(cfg.Faults.SlowConfig))
	}
	if s.config, err = config.New(values, copts...); err != nil {
		return nil, err
	}

	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.store = fault.LossyStore(fault.SlowStore(db, cfg.Faults.SlowDB), cfg.Faults.LoseWrites, cfg.Faults.DuplicateWrites)

	secret := cfg.JWTSecret
	if len(secret) == 0 {
		if secret, err = auth.LoadOrCreateSecret(cfg.DataDir); err != nil {
			db.Close()
			return nil, err
		}
	}
	aopts := []auth.Option{}
	if cfg.HashCost > 0 {
		aopts = append(aopts, auth.WithHashCost(cfg.HashCost))
	}
	if cfg.TokenTTL > 0 {
		aopts = append(aopts, auth.WithTTL(cfg.TokenTTL))
	}
	if cfg.Faults.SlowLogin > 0 {
		aopts = append(aopts, auth.WithLoginDelay(cfg.Faults.SlowLogin))
	}
	authn, err := auth.New(s.store, secret, aopts...)
	if err != nil {
		db.Close()
		return nil, err
	}

	runner, err := s.newRunner()
	if err != nil {
		db.Close()
		return nil, err
	}
	runFunc := func(ctx context.Context, req hub.RunRequest, emit hub.Emitter) error {
		err := runner.Run(ctx, agent.Request{UserID: req.UserID, MessageID: req.MessageID, Content: req.Content, ThreadID: req.ThreadID}, emit)
		if re := (*agent.RunError)(nil); errors.As(err, &re) && re.Code != agent.CodeCancelled {
			cfg.Log.Warn("server: run failed", "code", re.Code, "err", re.Err) // its agent_error says less
		}
		return err
	}
	s.hub = hub.New(
		func(r *http.Request) (string, error) {
			tok, _ := auth.TokenFromRequest(r)
			if tok == "" {
				return "", backend.Errorf(backend.EUNAUTHORIZED, "missing token: send Authorization: Bearer <token> or subprotocols jwt-auth, jwt.<token>")
			}
			c, err := authn.Authenticate(r.Context(), tok)
			return c.UserID, err
		},
		runFunc,
		s.metrics,
		hub.WithFaults(cfg.Faults),
		hub.WithLogger(cfg.Log),
		hub.WithSettings(func() hub.Settings {
			st := s.config.Snapshot().Settings
			return hub.Settings{Heartbeat: time.Duration(st.HeartbeatMS) * time.Millisecond, SendQueue: st.SendQueue, MaxRuns: st.MaxRunsPerConnection}
		}),
	)
	handler := httpapi.New(httpapi.Deps{
		Auth: authn, Store: s.store, Config: s.config, AdminToken: cfg.AdminToken,
		Registry: s.metrics.Registry, Phase: s.Phase, WebSocket: s.hub, Log: cfg.Log,
		IDs: newID, Version: cfg.Version,
		Chat: chatapi.New(chatapi.Options{Think: func() time.Duration {
			return time.Duration(s.config.Snapshot().Settings.ThinkMS) * time.Millisecond
		}, Faults: chatapi.Faults{FirstTokenDelay: cfg.Faults.SlowFactory, DropTokens: cfg.Faults.DropEvents,
			CrossUser: cfg.Faults.CrossUser, CutStreams: cfg.Faults.Close1011}}),
	})
	if cfg.Protocol == ProtocolNetra {
		s.netra = netra.New(netra.Options{Auth: authn, Run: runFunc, BypassKey: cfg.BypassKey, Faults: cfg.Faults, Metrics: s.metrics, Log: cfg.Log})
		mux := http.NewServeMux()
		s.netra.Routes(mux)
		mux.Handle("/", handler)
		handler = mux
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}
	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		db.Close()
		return nil, fmt.Errorf("server: listen on %s: %w (is another server using it? pick another with --addr)", cfg.Addr, err)
	}
	return s, nil
}

// openStore opens the store cfg names: PostgreSQL's database at cfg.DB, or
// SQLite's file in cfg.DataDir.
func openStore(ctx context.Context, cfg Config) (backend.Store, error) {
	if cfg.DB == "" {
		return sqlite.Open(ctx, filepath.Join(cfg.DataDir, DBFile))
	}
	pool := cfg.DBPool
	if pool == 0 {
		pool = DefaultDBPool
	}
	return postgres.Open(ctx, cfg.DB, postgres.WithPoolSize(pool))
}

func (s *Server) newRunner() (*agent.Runner, error) {
	var model agent.Model = agent.Simulated{}
	if s.cfg.ModelURL != "" {
		m, err := agent.NewOpenAI(s.cfg.ModelURL, s.cfg.ModelName, s.cfg.ModelKey, &http.Client{Timeout: 5 * time.Minute})
		if err != nil {
			return nil, err
		}
		model = m
	}
	var fopts []agent.FactoryOption
	if s.cfg.Faults.SlowFactory > 0 {
		fopts = append(fopts, agent.WithFactoryDelay(s.cfg.Faults.SlowFactory))
	}
	if s.cfg.Faults.SharedAgent {
		fopts = append(fopts, agent.WithSharedInstance(true))
	}
	ropts := []agent.RunnerOption{agent.WithObserver(runObserver{s.metrics})}
	if s.cfg.Faults.MemoryLeak > 0 {
		ropts = append(ropts, agent.WithLeak(s.cfg.Faults.MemoryLeak))
	}
	if s.cfg.Faults.SerialRuns {
		ropts = append(ropts, agent.WithSerialRuns(true))
	}
	settings := func() agent.Params {
		st := s.config.Snapshot().Settings
		return agent.Params{AgentName: st.AgentName, Think: time.Duration(st.ThinkMS) * time.Millisecond, ThinkingEvents: st.ThinkingEvents, ToolCalls: st.ToolCalls}
	}
	return agent.NewRunner(s.store, agent.NewFactory(model, fopts...), settings, ropts...), nil
}

// URL is the base URL the server listens on, e.g. http://127.0.0.1:8080.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Phase is the readiness phase: starting, ready or draining.
func (s *Server) Phase() string { return s.phase.Load().(string) }

// Reload re-reads the configuration file and environment and swaps them in
// as a new configuration version (SIGHUP).
func (s *Server) Reload() error {
	values, err := config.Load(s.cfg.ConfigFile, s.cfg.Environ, s.cfg.Overrides)
	if err != nil {
		return err
	}
	snap, err := s.config.Replace(values)
	if err != nil {
		return err
	}
	s.log.Info("server: configuration reloaded", "version", snap.Version, "checksum", snap.Checksum)
	return nil
}

// Run serves until ctx ends, then shuts down gracefully: /readyz turns 503,
// new upgrades are refused, running runs get the drain timeout to finish,
// sockets close with 1001, and the database is closed. It returns nil after
// a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	if err := s.store.Ping(ctx); err != nil {
		s.stop()
		return fmt.Errorf("server: database not answering: %w", err)
	}
	s.phase.Store(httpapi.PhaseReady)
	s.log.Info("server: ready", "url", s.URL(), "faults", s.cfg.Faults.String())
wait:
	for {
		select {
		case err := <-errc:
			s.stop()
			return fmt.Errorf("server: %w", err)
		case <-s.cfg.Reload:
			if err := s.Reload(); err != nil {
				s.log.Error("serve: reload failed; keeping the current configuration", "err", err)
			}
		case <-ctx.Done():
			break wait
		}
	}
	s.phase.Store(httpapi.PhaseDraining)
	s.log.Info("server: draining", "timeout", s.cfg.DrainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	s.hub.Drain(dctx)
	if s.netra != nil {
		s.netra.Drain(dctx)
	}
	// Runs are drained and sockets closed; what is left are idle HTTP
	// connections, which Shutdown closes, and connections dialled but never
	// used, which it would wait 5 s for: give it a moment, then close.
	sctx, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	var err error
	if serr := s.http.Shutdown(sctx); errors.Is(serr, context.DeadlineExceeded) {
		_ = s.http.Close()
	} else {
		err = serr
	}
	if cerr := s.store.Close(); err == nil {
		err = cerr
	}
	s.log.Info("server: stopped")
	return err
}

func (s *Server) stop() {
	_ = s.http.Close()
	_ = s.store.Close()
}

// runObserver feeds the run gauges and counters.
type runObserver struct{ m *telemetry.Metrics }

func (o runObserver) RunStarted() { o.m.ActiveRuns.Inc() }
func (o runObserver) RunEnded(outcome string) {
	o.m.ActiveRuns.Dec()
	o.m.RunsTotal.WithLabelValues(outcome).Inc()
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
