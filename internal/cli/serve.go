package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goldenpath-dev/goldenpath"
	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
)

type serveOptions struct {
	cfg       server.Config
	think     time.Duration
	faults    faultFlag
	level     levelFlag
	logFormat string
	jwtSecret string
}

func serveFlags(o *serveOptions, e *env) *flag.FlagSet {
	fs := newFlagSet("serve")
	fs.StringVar(&o.cfg.Addr, "addr", server.DefaultAddr, "listen `HOST:PORT` (port 0 picks a free port; the URL is printed)")
	fs.StringVar(&o.cfg.DataDir, "data", "goldenpath-data", "`DIR` for the SQLite database and the generated JWT secret")
	fs.StringVar(&o.cfg.DB, "db", "", "PostgreSQL database `URL` for the store instead of SQLite: postgres://USER@HOST:PORT/DATABASE?sslmode=... (the password may come from PGPASSWORD or ~/.pgpass)")
	fs.IntVar(&o.cfg.DBPool, "db-pool", server.DefaultDBPool, "`N` connections to --db's server, 2..1000: one writes, the others read")
	fs.StringVar(&o.cfg.AdminToken, "admin-token", "", "`TOKEN` for PUT /api/v1/admin/config (env GOLDENPATH_ADMIN_TOKEN); empty disables admin calls")
	fs.DurationVar(&o.think, "think", 0, "total simulated model `DURATION` per run (sets config think_ms; default from config, 200ms)")
	fs.Var(&o.faults, "fault", "comma-separated `FAULTS` NAME[=VALUE] to switch on (see above and docs/faults.md)")
	fs.StringVar(&o.cfg.ConfigFile, "config", "", "YAML or JSON `FILE` of configuration values (reloaded on SIGHUP)")
	fs.StringVar(&o.jwtSecret, "jwt-secret", "", "HS256 signing `SECRET`, at least 32 bytes (env GOLDENPATH_JWT_SECRET); empty: generated and kept in --data")
	fs.IntVar(&o.cfg.HashCost, "hash-cost", 10, "bcrypt `COST` for passwords, 4..31 (10 is the safe default; 4 makes mass test accounts cheap)")
	fs.DurationVar(&o.cfg.TokenTTL, "token-ttl", time.Hour, "access token lifetime (`duration`)")
	fs.DurationVar(&o.cfg.DrainTimeout, "drain-timeout", server.DefaultDrainTimeout, "how long running runs may finish after SIGTERM before sockets close with 1001 (`duration`)")
	fs.StringVar(&o.cfg.ModelURL, "model-url", "", "OpenAI-compatible streaming chat completions `URL` (e.g. http://127.0.0.1:8000/v1/chat/completions); empty: the simulated model")
	fs.StringVar(&o.cfg.ModelName, "model-name", "gpt-4o-mini", "model `NAME` sent to --model-url")
	fs.StringVar(&o.cfg.ModelKey, "model-key", "", "API `KEY` for --model-url (env GOLDENPATH_MODEL_KEY)")
	fs.StringVar(&o.cfg.Protocol, "protocol", server.ProtocolGoldenpath, "what /ws speaks: `PROTOCOL` goldenpath (PROTOCOL v1) or netra (Netra Apex, with its /auth/ routes); /v1/chat/completions is always served")
	fs.StringVar(&o.cfg.BypassKey, "bypass-key", "", "`KEY` that enables Netra's test login POST /auth/e2e/test-auth (env GOLDENPATH_BYPASS_KEY; --protocol netra)")
	fs.Var(&o.level, "log-level", "log `LEVEL`: debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log `FORMAT`: text or json")
	return fs
}

func serveMain(ctx context.Context, e *env, args []string) int {
	var o serveOptions
	fs := serveFlags(&o, e)
	if code, done := parse(fs, e, args); done {
		return code
	}
	// Secrets from the environment are read after parsing, never shown as
	// flag defaults (help text would print them).
	o.cfg.AdminToken = orEnv(o.cfg.AdminToken, e, "GOLDENPATH_ADMIN_TOKEN")
	o.cfg.Version = goldenpath.Version()
	o.jwtSecret = orEnv(o.jwtSecret, e, "GOLDENPATH_JWT_SECRET")
	o.cfg.ModelKey = orEnv(o.cfg.ModelKey, e, "GOLDENPATH_MODEL_KEY")
	o.cfg.BypassKey = orEnv(o.cfg.BypassKey, e, "GOLDENPATH_BYPASS_KEY")
	o.cfg.JWTSecret = []byte(o.jwtSecret)
	o.cfg.Faults = o.faults.set
	o.cfg.Environ = e.environ
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "think" {
			o.cfg.Overrides = map[string]string{"think_ms": strconv.FormatInt(o.think.Milliseconds(), 10)}
		}
	})
	if o.think < 0 {
		return usageError(e, "serve", "--think %s is not a duration >= 0 (e.g. 0, 250ms, 2s)", o.think)
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return usageError(e, "serve", "--log-format %q is not one of text, json", o.logFormat)
	}
	if err := o.cfg.Validate(); err != nil {
		return usageError(e, "serve", "%s", strings.TrimPrefix(err.Error(), "server: "))
	}
	o.cfg.Log = server.NewLogger(e.stderr, o.level.level, o.logFormat == "json")
	if o.cfg.Faults.Any() {
		fmt.Fprintf(e.stderr, "goldenpath serve: WARNING: FAULTS ON: %s — this backend is broken on purpose\n", o.cfg.Faults)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	o.cfg.Reload = hup
	srv, err := server.New(ctx, o.cfg)
	if err != nil {
		fmt.Fprintf(e.stderr, "goldenpath serve: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(e.stdout, "goldenpath serve: listening on %s\n", srv.URL())
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintf(e.stderr, "goldenpath serve: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

// orEnv returns v, or the environment variable name when v is empty.
func orEnv(v string, e *env, name string) string {
	if v != "" {
		return v
	}
	return e.getenv(name)
}
