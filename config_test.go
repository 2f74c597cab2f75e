package goldenpath_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath"
	"github.com/goldenpath-dev/goldenpath/internal/results"
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

// TestRunUsersFileTooSmall: a users file with fewer accounts than the
// virtual users that run at once is a *ConfigError of UsersFile, before
// anything starts, naming the number needed and how to get there; shared
// accounts would make the isolation and database checks fail falsely.
func TestRunUsersFileTooSmall(t *testing.T) {
	usersFile := func(t *testing.T, n int, repeat bool) string {
		var b strings.Builder
		b.WriteString("email,password\n")
		for i := range n {
			if repeat && i > 0 {
				i = 0
			}
			fmt.Fprintf(&b, "user%d@example.test,secret-%d\n", i, i)
		}
		path := filepath.Join(t.TempDir(), "users.csv")
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name     string
		accounts int
		repeat   bool // every line repeats the first address
		edit     func(*goldenpath.Config)
		want     []string // in the error; none: the file is big enough
	}{
		{"an explicit ceiling of the capacity search", 3, false, func(c *goldenpath.Config) { c.MaxUsers = 160 },
			[]string{"holds 3 accounts, but this run needs 160", "--max-users 160", "add 157 accounts", "--max-users 0"}},
		// By default the file's accounts bound the search: the bursts are
		// what needs the most at once.
		{"the default ceiling asks for the bursts' accounts", 3, false, func(*goldenpath.Config) {},
			[]string{"holds 3 accounts, but this run needs 50", "50 users at once"}},
		{"enough for the bursts with the default ceiling", 50, false, func(*goldenpath.Config) {}, nil},
		{"the concurrency burst", 20, false, func(c *goldenpath.Config) { c.MaxUsers = -1 },
			[]string{"holds 20 accounts, but this run needs 50", "50 users at once", "add 30 accounts"}},
		{"the users", 20, false, func(c *goldenpath.Config) { c.Users, c.MaxUsers = 200, -1 },
			[]string{"holds 20 accounts, but this run needs 200", "--users 200", "add 180 accounts", "lower --users"}},
		{"the integrated suite alone", 4, false, func(c *goldenpath.Config) { c.Suites, c.Users = []string{"integrated"}, 5 },
			[]string{"holds 4 accounts, but this run needs 5", "--users 5"}},
		{"a repeated address counts once", 60, true, func(c *goldenpath.Config) { c.MaxUsers = -1 },
			[]string{"holds 1 account (60 lines, repeating addresses), but this run needs 50"}},
		{"enough for the integrated suite alone", 2, false, func(c *goldenpath.Config) { c.Suites, c.Users = []string{"integrated"}, 2 }, nil},
		{"enough for the bursts", 50, false, func(c *goldenpath.Config) { c.MaxUsers = -1 }, nil},
		{"enough for the ceiling without the load suite", 50, false, func(c *goldenpath.Config) { c.Suites = []string{"race", "regression"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel() // anything that would start would stop at once
			cfg := goldenpath.Config{UsersFile: usersFile(t, tt.accounts, tt.repeat), Target: "http://127.0.0.1:1", WaitReady: time.Millisecond}
			tt.edit(&cfg)
			_, err := goldenpath.Run(ctx, cfg)
			var ce *goldenpath.ConfigError
			isUsersFile := errors.As(err, &ce) && ce.Field == "UsersFile"
			if tt.want == nil {
				if isUsersFile {
					t.Errorf("Run(%d accounts) = %v; want no UsersFile error: the file is big enough", tt.accounts, err)
				}
				return
			}
			if !isUsersFile {
				t.Fatalf("Run(%d accounts) = %v; want a *ConfigError of UsersFile", tt.accounts, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Run(%d accounts) = %q; want it to contain %q", tt.accounts, err, w)
				}
			}
		})
	}
}

// TestRunRecordsChangedOptions: the results record every option that
// changed the run from the defaults, so that the command printed to
// reproduce a finding can repeat it; the admin token is recorded as given,
// never its value.
func TestRunRecordsChangedOptions(t *testing.T) {
	usersFile := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(usersFile, []byte("ada@example.test,ada-secret-1\nbob@example.test,bob-secret-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A target that is ready and refuses every login: the run is short
	// and its options are what is looked at.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	zero := 0
	tests := []struct {
		name string
		cfg  goldenpath.Config
		want results.Options
	}{
		{"a target by URL", goldenpath.Config{Target: srv.URL, AdminToken: "s3cret-admin-token", UsersFile: usersFile,
			Suites: []string{"integrated"}, Users: 2, Duration: 500 * time.Millisecond, Rate: 4, Think: 10 * time.Millisecond,
			RunTimeout: 5 * time.Second, MaxUsers: -1, StepDuration: 2 * time.Second, TargetThink: -1,
			SLA: []string{"login: p95 < 4s", "journey: p95 < 60s"}},
			results.Options{Suites: []string{"integrated"}, Users: 2, Duration: "500ms", Rate: 4, Segment: "1/1",
				SLAOverrides: []string{"login: p95 < 4s"}, Think: "10ms", RunTimeout: "5s", MaxUsers: &zero, StepDuration: "2s",
				UsersFile: usersFile, AdminTokenGiven: true}},
		{"the embedded backend without model time", goldenpath.Config{Suites: []string{"integrated"}, Users: 2, Duration: 500 * time.Millisecond, TargetThink: -1},
			results.Options{Suites: []string{"integrated"}, Users: 2, Duration: "500ms", Segment: "1/1", TargetThink: "0s"}},
		{"the defaults record nothing more", goldenpath.Config{Suites: []string{"integrated"}, Users: 2, Duration: 500 * time.Millisecond},
			results.Options{Suites: []string{"integrated"}, Users: 2, Duration: "500ms", Segment: "1/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			tt.cfg.Out, tt.cfg.Quiet = out, true
			if _, err := goldenpath.Run(t.Context(), tt.cfg); err != nil {
				t.Fatalf("Run: %v", err)
			}
			raw, err := os.ReadFile(filepath.Join(out, goldenpath.ResultsFile))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), "s3cret-admin-token") {
				t.Errorf("results.json holds the admin token's value")
			}
			res, err := results.ReadJSON(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			got := res.Options
			got.SLA = nil // the rules in force, defaults and all
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("results options = %s; want %s", optionsJSON(got), optionsJSON(tt.want))
			}
		})
	}
}

func optionsJSON(o results.Options) string {
	b, _ := json.Marshal(o)
	return string(b)
}
