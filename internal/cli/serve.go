package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
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
	thinkSet  bool
	faults    faultFlag
	level     levelFlag
	logFormat choiceFlag
	jwtSecret string
}

func serveFlags(o *serveOptions, e *env) *flag.FlagSet {
	fs := newFlagSet("serve")
	o.logFormat = choiceFlag{value: "text", choices: []string{"text", "json"}}
	fs.StringVar(&o.cfg.Addr, "addr", server.DefaultAddr, "listen `HOST:PORT` (port 0 picks a free port; the URL is printed)")
	fs.StringVar(&o.cfg.DataDir, "data", "goldenpath-data", "`DIR` for the SQLite database and the generated JWT secret")
	fs.StringVar(&o.cfg.AdminToken, "admin-token", "", "`TOKEN` for PUT /api/v1/admin/config (env GOLDENPATH_ADMIN_TOKEN); empty disables admin calls")
	fs.Func("think", "total simulated model `DURATION` per run (sets config think_ms; default from config, 200ms)", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration >= 0 (e.g. 0, 250ms, 2s)", s)
		}
		o.think, o.thinkSet = d, true
		return nil
	})
	fs.Var(&o.faults, "fault", "comma-separated `FAULTS` NAME[=VALUE] to switch on (see above and docs/faults.md)")
	fs.StringVar(&o.cfg.ConfigFile, "config", "", "YAML or JSON `FILE` of configuration values (reloaded on SIGHUP)")
	fs.StringVar(&o.jwtSecret, "jwt-secret", "", "HS256 signing `SECRET`, at least 32 bytes (env GOLDENPATH_JWT_SECRET); empty: generated and kept in --data")
	fs.IntVar(&o.cfg.HashCost, "hash-cost", 10, "bcrypt `COST` for passwords, 4..31 (10 is the safe default; 4 makes mass test accounts cheap)")
	fs.Var(newDurationFlag(&o.cfg.TokenTTL, time.Hour, false), "token-ttl", "access token lifetime (`duration`)")
	fs.Var(newDurationFlag(&o.cfg.DrainTimeout, server.DefaultDrainTimeout, false), "drain-timeout", "how long running runs may finish after SIGTERM before sockets close with 1001 (`duration`)")
	fs.StringVar(&o.cfg.ModelURL, "model-url", "", "OpenAI-compatible streaming chat completions `URL` (e.g. http://127.0.0.1:8000/v1/chat/completions); empty: the simulated model")
	fs.StringVar(&o.cfg.ModelName, "model-name", "gpt-4o-mini", "model `NAME` sent to --model-url")
	fs.StringVar(&o.cfg.ModelKey, "model-key", "", "API `KEY` for --model-url (env GOLDENPATH_MODEL_KEY)")
	fs.Var(&o.level, "log-level", "log `LEVEL`: debug, info, warn or error")
	fs.Var(&o.logFormat, "log-format", "log `FORMAT`: text or json")
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
	o.cfg.JWTSecret = []byte(o.jwtSecret)
	o.cfg.Faults = o.faults.set
	o.cfg.Environ = e.environ
	if o.thinkSet {
		o.cfg.Overrides = map[string]string{"think_ms": strconv.FormatInt(o.think.Milliseconds(), 10)}
	}
	hopts := &slog.HandlerOptions{Level: o.level.level, ReplaceAttr: redact}
	if o.logFormat.value == "json" {
		o.cfg.Log = slog.New(slog.NewJSONHandler(e.stderr, hopts))
	} else {
		o.cfg.Log = slog.New(slog.NewTextHandler(e.stderr, hopts))
	}
	if o.cfg.Faults.Any() {
		fmt.Fprintf(e.stderr, "goldenpath serve: WARNING: FAULTS ON: %s — this backend is broken on purpose\n", o.cfg.Faults)
	}

	if err := o.cfg.Validate(); err != nil {
		return usageError(e, "serve", "%s", strings.TrimPrefix(err.Error(), "server: "))
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

// redact hides secrets from logs whatever attribute carries them.
func redact(_ []string, a slog.Attr) slog.Attr {
	switch strings.ToLower(a.Key) {
	case "token", "password", "secret", "authorization", "admin_token", "api_key":
		return slog.String(a.Key, "REDACTED")
	}
	return a
}

// orEnv returns v, or the environment variable name when v is empty.
func orEnv(v string, e *env, name string) string {
	if v != "" {
		return v
	}
	return e.getenv(name)
}
