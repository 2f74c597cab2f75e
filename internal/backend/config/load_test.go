package config_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend/config"
)

const knownKeys = "agent_name, heartbeat_ms, max_runs_per_connection, send_queue, think_ms, thinking_events, tool_calls"

// settingsOf loads the values from the sources and makes a store of them,
// the way the server starts, and returns its settings.
func settingsOf(t *testing.T, file string, environ []string, overrides map[string]string) (config.Settings, error) {
	t.Helper()
	values, err := config.Load(file, environ, overrides)
	if err != nil {
		return config.Settings{}, err
	}
	store, err := config.New(values)
	if err != nil {
		t.Fatalf("New(Load(%q, ...)) = %v; want the values of Load accepted", file, err)
	}
	return store.Snapshot().Settings, nil
}

// with returns the defaults changed by f.
func with(f func(*config.Settings)) config.Settings {
	s := config.Defaults()
	f(&s)
	return s
}

func TestLoadGoodFiles(t *testing.T) {
	tests := map[string]config.Settings{
		"full.good.yaml": {AgentName: "staging-agent", ThinkMS: 0, ThinkingEvents: 3, ToolCalls: 0,
			HeartbeatMS: 5000, MaxRunsPerConnection: 4096, SendQueue: 1024},
		"empty.good.yaml": config.Defaults(),
		"flow.good.yaml": with(func(s *config.Settings) {
			s.AgentName, s.ThinkMS, s.SendQueue = "json-agent", 1000, 512
		}),
		"anchors.good.yaml": with(func(s *config.Settings) {
			s.ToolCalls, s.ThinkingEvents, s.AgentName = 2, 2, "007"
		}),
	}
	checkFixtures(t, "*.good.yaml", tests)
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			got, err := settingsOf(t, path, nil, nil)
			if err != nil || got != want {
				t.Errorf("Load(%q) gives settings %+v, %v; want %+v, no error", path, got, err, want)
			}
		})
	}
}

func TestLoadBadFiles(t *testing.T) {
	// The error of each file, whole or (for the YAML parser's) in part.
	tests := map[string]string{
		"unknown_key.bad.yaml":   `config: testdata/unknown_key.bad.yaml:2: unknown key "thinkms"; known keys are ` + knownKeys,
		"out_of_range.bad.yaml":  "config: testdata/out_of_range.bad.yaml:1: think_ms = 700000 is out of range, want an integer from 0 to 600000",
		"wrong_type.bad.yaml":    `config: testdata/wrong_type.bad.yaml:1: tool_calls = "3" is a string, want an integer from 0 to 50`,
		"fraction.bad.yaml":      "config: testdata/fraction.bad.yaml:1: heartbeat_ms = 150.5 is not an integer, want an integer from 100 to 3600000",
		"empty_name.bad.yaml":    `config: testdata/empty_name.bad.yaml:1: agent_name = "" is empty, want a string of 1 to 64 characters`,
		"number_name.bad.yaml":   "config: testdata/number_name.bad.yaml:1: agent_name = 7 is a number, want a string of 1 to 64 characters",
		"nested.bad.yaml":        `config: testdata/nested.bad.yaml:2: send_queue = {"size":10} is an object, want an integer from 16 to 65536`,
		"not_mapping.bad.yaml":   "config: testdata/not_mapping.bad.yaml:1: want a mapping of keys to values, got a list",
		"syntax.bad.yaml":        "config: testdata/syntax.bad.yaml: not valid YAML: yaml: line 1:",
		"duplicate.bad.yaml":     "config: testdata/duplicate.bad.yaml:2: key think_ms is repeated, first set on line 1; keep one",
		"two_documents.bad.yaml": "config: testdata/two_documents.bad.yaml:2: a second YAML document; want one mapping of keys to values",
		"infinite.bad.yaml":      "config: testdata/infinite.bad.yaml:1: max_runs_per_connection = +Inf is a number, want an integer from 1 to 4096",
		"several.bad.yaml": "config: testdata/several.bad.yaml:1: think_ms = -1 is out of range, want an integer from 0 to 600000\n" +
			"config: testdata/several.bad.yaml:2: tool_calls = 51 is out of range, want an integer from 0 to 50\n" +
			`config: testdata/several.bad.yaml:3: unknown key "probe_nonce"; known keys are ` + knownKeys,
	}
	checkFixtures(t, "*.bad.yaml", tests)
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			values, err := config.Load(path, nil, nil)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Load(%q) = %s, %v;\nwant the error %q", path, values, err, want)
			}
		})
	}
}

// checkFixtures fails when the fixtures matching pattern in testdata and
// the keys of tests differ, so that no fixture goes untested.
func checkFixtures[V any](t *testing.T, pattern string, tests map[string]V) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := tests[filepath.Base(f)]; !ok {
			t.Errorf("fixture %s has no case in the table; add one", f)
		}
	}
	if len(files) != len(tests) {
		t.Errorf("%d fixtures match testdata/%s, the table has %d cases; want one case per fixture", len(files), pattern, len(tests))
	}
}

func TestLoadPrecedence(t *testing.T) {
	const file = "testdata/precedence.yaml" // agent_name file-agent, think_ms 300, tool_calls 3
	fromFile := with(func(s *config.Settings) { s.AgentName, s.ThinkMS, s.ToolCalls = "file-agent", 300, 3 })
	tests := []struct {
		name      string
		file      string
		environ   []string
		overrides map[string]string
		want      config.Settings
	}{
		{name: "defaults", want: config.Defaults()},
		{name: "file over defaults", file: file, want: fromFile},
		{name: "environment over file", file: file,
			environ: []string{"GOLDENPATH_THINK_MS=400", "GOLDENPATH_AGENT_NAME=env agent"},
			want:    with(func(s *config.Settings) { s.AgentName, s.ThinkMS, s.ToolCalls = "env agent", 400, 3 })},
		{name: "flags over environment", file: file,
			environ:   []string{"GOLDENPATH_THINK_MS=400", "GOLDENPATH_SEND_QUEUE=16"},
			overrides: map[string]string{"think_ms": "500", "max_runs_per_connection": "+8"},
			want: with(func(s *config.Settings) {
				s.AgentName, s.ThinkMS, s.ToolCalls, s.SendQueue, s.MaxRunsPerConnection = "file-agent", 500, 3, 16, 8
			})},
		{name: "environment over defaults", environ: []string{"GOLDENPATH_THINK_MS=0"},
			want: with(func(s *config.Settings) { s.ThinkMS = 0 })},
		{name: "first entry of a variable", environ: []string{"GOLDENPATH_TOOL_CALLS=7", "GOLDENPATH_TOOL_CALLS=8"},
			want: with(func(s *config.Settings) { s.ToolCalls = 7 })},
		{name: "other variables ignored",
			environ: []string{"PATH=/bin", "GOLDENPATH_ADMIN_TOKEN=secret", "GOLDENPATH_think_ms=5", "GOLDENPATH_THINK_MS", "=x"},
			want:    config.Defaults()},
		{name: "flag string kept as written", overrides: map[string]string{"agent_name": " <agent> & co "},
			want: with(func(s *config.Settings) { s.AgentName = " <agent> & co " })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := settingsOf(t, tt.file, tt.environ, tt.overrides)
			if err != nil || got != tt.want {
				t.Errorf("Load(%q, %q, %v) gives settings %+v, %v;\nwant %+v, no error",
					tt.file, tt.environ, tt.overrides, got, err, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		environ   []string
		overrides map[string]string
		want      string
	}{
		{name: "variable not an integer", environ: []string{"GOLDENPATH_THINK_MS=fast"},
			want: `config: environment variable GOLDENPATH_THINK_MS: think_ms = "fast" is not an integer, want an integer from 0 to 600000`},
		{name: "variable in exponent form", environ: []string{"GOLDENPATH_THINK_MS=1e3"},
			want: `config: environment variable GOLDENPATH_THINK_MS: think_ms = "1e3" is not an integer, want an integer from 0 to 600000`},
		{name: "variable out of range", environ: []string{"GOLDENPATH_SEND_QUEUE=8"},
			want: "config: environment variable GOLDENPATH_SEND_QUEUE: send_queue = 8 is out of range, want an integer from 16 to 65536"},
		{name: "variable beyond int64", environ: []string{"GOLDENPATH_SEND_QUEUE=99999999999999999999"},
			want: `config: environment variable GOLDENPATH_SEND_QUEUE: send_queue = "99999999999999999999" is out of range, want an integer from 16 to 65536`},
		{name: "variable empty", environ: []string{"GOLDENPATH_AGENT_NAME="},
			want: `config: environment variable GOLDENPATH_AGENT_NAME: agent_name = "" is empty, want a string of 1 to 64 characters`},
		{name: "flag unknown", overrides: map[string]string{"thinkms": "1"},
			want: "config: flag thinkms: unknown key; known keys are " + knownKeys},
		{name: "flag not an integer", overrides: map[string]string{"tool_calls": "1.0"},
			want: `config: flag tool_calls: tool_calls = "1.0" is not an integer, want an integer from 0 to 50`},
		{name: "flag too long", overrides: map[string]string{"agent_name": strings.Repeat("é", 65)},
			want: `config: flag agent_name: agent_name = "` + strings.Repeat("é", 19) + `… is 65 characters long, want a string of 1 to 64 characters`},
		{name: "every problem reported", file: "testdata/out_of_range.bad.yaml",
			environ:   []string{"GOLDENPATH_HEARTBEAT_MS=99"},
			overrides: map[string]string{"thinking_events": "0", "tool_calls": "x"},
			want: "config: testdata/out_of_range.bad.yaml:1: think_ms = 700000 is out of range, want an integer from 0 to 600000\n" +
				"config: environment variable GOLDENPATH_HEARTBEAT_MS: heartbeat_ms = 99 is out of range, want an integer from 100 to 3600000\n" +
				"config: flag thinking_events: thinking_events = 0 is out of range, want an integer from 1 to 100\n" +
				`config: flag tool_calls: tool_calls = "x" is not an integer, want an integer from 0 to 50`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values, err := config.Load(tt.file, tt.environ, tt.overrides)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Load(%q, %q, %v) = %s, %v;\nwant the error %q", tt.file, tt.environ, tt.overrides, values, err, tt.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := config.Load(path, nil, nil)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(%q) = %v; want an error that names the file and wraps fs.ErrNotExist", path, err)
	}
}
