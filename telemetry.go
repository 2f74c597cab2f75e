package goldenpath

import (
	"context"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/live"
	"github.com/goldenpath-dev/goldenpath/internal/suite"
)

// telemetry is a run's live telemetry (Config.MetricsAddr,
// Config.OTLPEndpoint); nil when the run has none.
type telemetry struct {
	metrics   *live.Metrics
	server    *live.Server
	dashboard *live.Server
	pusher    *live.Pusher
	say       func(format string, a ...any)
}

// validateTelemetry reports a MetricsAddr or OTLPEndpoint of c that is
// not one, as a [*ConfigError].
func (c Config) validateTelemetry() error {
	if c.MetricsAddr != "" {
		if err := live.ValidateAddr(c.MetricsAddr); err != nil {
			return &ConfigError{Field: "MetricsAddr", Err: err}
		}
	}
	if c.DashboardAddr != "" {
		if err := live.ValidateAddr(c.DashboardAddr); err != nil {
			return &ConfigError{Field: "DashboardAddr", Err: err}
		}
	}
	if c.OTLPEndpoint != "" {
		if _, err := live.ParseEndpoint(c.OTLPEndpoint); err != nil {
			return &ConfigError{Field: "OTLPEndpoint", Err: err}
		}
	}
	return nil
}

// startTelemetry starts serving and pushing the run's live metrics, as
// cfg asks, before anything else of the run starts: an address it cannot
// listen on is a [*ConfigError] naming MetricsAddr.
func startTelemetry(ctx context.Context, cfg Config, segment string, say func(format string, a ...any)) (*telemetry, error) {
	if cfg.MetricsAddr == "" && cfg.OTLPEndpoint == "" && cfg.DashboardAddr == "" {
		return nil, nil
	}
	info := live.Info{Version: Version(), Segment: segment, RunID: cfg.RunID}
	t := &telemetry{metrics: live.NewMetrics(info), say: say}
	if cfg.MetricsAddr != "" {
		srv, err := live.Listen(cfg.MetricsAddr, t.metrics.Gatherer())
		if err != nil {
			return nil, &ConfigError{Field: "MetricsAddr", Err: err}
		}
		t.server = srv
		say("metrics on %s", srv.URL())
	}
	if cfg.DashboardAddr != "" {
		srv, err := live.Listen(cfg.DashboardAddr, t.metrics.Gatherer())
		if err != nil {
			t.close()
			return nil, &ConfigError{Field: "DashboardAddr", Err: err}
		}
		t.dashboard = srv
		say("live dashboard on %s", srv.DashboardURL())
	}
	if cfg.OTLPEndpoint != "" {
		failing := false
		p, err := live.Push(ctx, cfg.OTLPEndpoint, t.metrics.Gatherer(), live.PushOptions{Info: info, OnError: func(err error) {
			if !failing { // once: the next interval retries
				say("OTLP export failed (retrying every %s): %v", live.DefaultPushInterval, err)
			}
			failing = true
		}})
		if err != nil {
			t.close()
			return nil, &ConfigError{Field: "OTLPEndpoint", Err: err}
		}
		t.pusher = p
		u, _ := live.ParseEndpoint(cfg.OTLPEndpoint)
		say("pushing metrics over OTLP/HTTP to %s every %s", u, live.DefaultPushInterval)
	}
	return t, nil
}

// attach makes env's scenarios report to t.
func (t *telemetry) attach(env *suite.Env) {
	if t != nil {
		env.Observer = t.metrics
	}
}

// close makes the final OTLP export and stops serving; it returns once
// both have stopped.
func (t *telemetry) close() {
	if t == nil {
		return
	}
	if t.pusher != nil {
		// The final export goes out even when the run was interrupted.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := t.pusher.Close(ctx); err != nil {
			t.say("%v", err)
		} else if made, failed := t.pusher.Exports(); failed > 0 {
			t.say("OTLP: %d of %d exports failed; the final one went through", failed, made)
		}
	}
	for _, s := range []*live.Server{t.server, t.dashboard} {
		if s == nil {
			continue
		}
		if err := s.Close(); err != nil {
			t.say("closing the metrics server: %v", err)
		}
	}
}
