package gotest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath"
	"github.com/goldenpath-dev/goldenpath/goldenpathtest"
)

// TestMain lets this test binary serve as the embedded reference backend,
// which goldenpath starts as a child process of its own.
func TestMain(m *testing.M) { goldenpathtest.Main(m) }

func TestGoldenPath(t *testing.T) {
	res := goldenpathtest.Run(t, goldenpath.Config{
		Suites:   []string{"integrated"},
		Users:    5,
		Duration: 3 * time.Second,
		// A 10 ms config budget is the seed's; a loaded CI machine runs the
		// load generator and the target on the same two cores.
		SLA: []string{"config_access: p95 < 250ms"},
	})
	for _, name := range []string{"authentication_under_5_seconds", "golden_path_success_rate", "agent_execution_under_45_seconds"} {
		c, ok := res.Check("integrated", name)
		if !ok {
			t.Errorf("no check integrated/%s in the results:\n%s", name, res)
			continue
		}
		if c.Status != goldenpath.Pass {
			t.Errorf("integrated/%s = %s (%s); want pass", name, c.Status, c.Evidence)
		}
	}
	login, ok := res.Phase("login")
	if !ok || login.Count == 0 {
		t.Fatalf("no login was measured:\n%s", res)
	}
	if login.P50 <= 0 || login.P50 > login.P95 || login.P95 > login.Max {
		t.Errorf("login p50 %s, p95 %s, max %s; want 0 < p50 <= p95 <= max", login.P50, login.P95, login.Max)
	}
	if c, _ := res.Check("integrated", "golden_path_success_rate"); c.Unit != "ratio" || c.Observed < 0.98 || c.Threshold != 0.98 {
		t.Errorf("success rate check: observed %v %s against %v; want a ratio >= 0.98 against 0.98", c.Observed, c.Unit, c.Threshold)
	}
}

// TestBadConfig: a Config out of range is an error that names the field,
// before anything starts.
func TestBadConfig(t *testing.T) {
	_, err := goldenpath.Run(t.Context(), goldenpath.Config{Users: -1})
	var ce *goldenpath.ConfigError
	if !errors.As(err, &ce) || ce.Field != "Users" {
		t.Fatalf("Run(Config{Users: -1}) = %v; want a *ConfigError naming Users", err)
	}
}
