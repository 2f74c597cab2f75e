package goldenpath_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath"
)

// TestConfigValidate: every field out of range is a *ConfigError that
// names it and says what is wrong.
func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*goldenpath.Config)
		field string
		want  string
	}{
		{"no suite", func(c *goldenpath.Config) { c.Suites = []string{} }, "Suites", "names no suite"},
		{"unknown suite", func(c *goldenpath.Config) { c.Suites = []string{"soak"} }, "Suites", `unknown suite "soak"`},
		{"no users", func(c *goldenpath.Config) { c.Users = 0 }, "Users", "must be at least 1 (got 0)"},
		{"no duration", func(c *goldenpath.Config) { c.Duration = 0 }, "Duration", "must be positive"},
		{"negative rate", func(c *goldenpath.Config) { c.Rate = -3 }, "Rate", "must not be negative (got -3)"},
		{"negative think", func(c *goldenpath.Config) { c.Think = -time.Second }, "Think", "must not be negative"},
		{"bad segment", func(c *goldenpath.Config) { c.Segment = "3/2" }, "Segment", `segment "3/2"`},
		{"no step", func(c *goldenpath.Config) { c.StepDuration = 0 }, "StepDuration", "must be positive"},
		{"no run timeout", func(c *goldenpath.Config) { c.RunTimeout = -time.Second }, "RunTimeout", "must be positive"},
		{"target not a URL", func(c *goldenpath.Config) { c.Target = "localhost:8080" }, "Target", "is not an http(s) URL"},
		{"faults with a target", func(c *goldenpath.Config) { c.Target, c.Faults = "http://127.0.0.1:1", "slow-db=1s" }, "Faults", "embedded backend only"},
		{"race detector with a target", func(c *goldenpath.Config) { c.Target, c.RaceDetector = "http://127.0.0.1:1", true }, "RaceDetector", "cannot instrument"},
		{"unknown fault", func(c *goldenpath.Config) { c.Faults = "nope" }, "Faults", `unknown fault "nope"`},
		{"bad SLA rule", func(c *goldenpath.Config) { c.SLA = []string{"login: p95 > 5s"} }, "SLA", "bounds from above"},
		{"SLA of an unknown metric", func(c *goldenpath.Config) { c.SLA = []string{"latency: p95 < 5s"} }, "SLA", `unknown metric "latency"`},
		{"no rounds", func(c *goldenpath.Config) { c.Regression.Rounds = 0 }, "Regression.Rounds", "must be at least 1"},
		{"bad thresholds", func(c *goldenpath.Config) { c.Regression.Thresholds = "latency=lots" }, "Regression.Thresholds", "latency"},
		{"bad baseline name", func(c *goldenpath.Config) { c.Regression.Save = "../x" }, "Regression.Save", ""},
		{"k6's --out form", func(c *goldenpath.Config) { c.Out = "json=x.json" }, "Out", "looks like k6's --out NAME=FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := goldenpath.DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			var ce *goldenpath.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v; want a *ConfigError of field %s containing %q", err, tt.field, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "goldenpath: Config."+tt.field+": ") {
				t.Errorf("Validate() = %q; want it to start with %q", err, "goldenpath: Config."+tt.field+": ")
			}
		})
	}
	if err := goldenpath.DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v; want nil", err)
	}
}

// TestRunBadConfigStartsNothing: Run refuses a bad Config before it
// starts a backend, and fills zero fields with defaults rather than
// refusing them.
func TestRunBadConfigStartsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // anything that would start would stop at once
	_, err := goldenpath.Run(ctx, goldenpath.Config{Rate: -1})
	var ce *goldenpath.ConfigError
	if !errors.As(err, &ce) || ce.Field != "Rate" {
		t.Errorf("Run(Config{Rate: -1}) = %v; want a *ConfigError of Rate", err)
	}
	if res, err := goldenpath.Run(ctx, goldenpath.Config{}); errors.As(err, &ce) {
		t.Errorf("Run(Config{}) = %v, %v; want the zero Config to take the defaults, not a ConfigError", res, err)
	}
}
