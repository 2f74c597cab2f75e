package config_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/config"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

func TestDefaultsAreTheDefaultValues(t *testing.T) {
	b, err := json.Marshal(config.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	c, err := protocol.Canonical(b)
	if err != nil || string(c) != defaultValues {
		t.Errorf("Defaults() as canonical JSON = %s, %v; want %s", c, err, defaultValues)
	}
	if err := config.Defaults().Validate(); err != nil {
		t.Errorf("Defaults().Validate() = %v; want nil", err)
	}
	if d := config.Defaults(); d.Think() != 200*time.Millisecond || d.Heartbeat() != 15*time.Second {
		t.Errorf("Defaults() Think(), Heartbeat() = %v, %v; want 200ms, 15s", d.Think(), d.Heartbeat())
	}
}

func TestKeys(t *testing.T) {
	got := config.Keys()
	var fromJSON map[string]any
	b, _ := json.Marshal(config.Defaults())
	if err := json.Unmarshal(b, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if want := slices.Sorted(func(yield func(string) bool) {
		for k := range fromJSON {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, want) {
		t.Errorf("Keys() = %q; want the JSON keys of Settings, %q", got, want)
	}
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		name string
		s    config.Settings
		want string // message of the EINVALID error, "" for none
	}{
		{"defaults", config.Defaults(), ""},
		{"zero", config.Settings{},
			"config: agent_name = \"\" is empty, want a string of 1 to 64 characters; " +
				"heartbeat_ms = 0 is out of range, want an integer from 100 to 3600000; " +
				"max_runs_per_connection = 0 is out of range, want an integer from 1 to 4096; " +
				"send_queue = 0 is out of range, want an integer from 16 to 65536; " +
				"thinking_events = 0 is out of range, want an integer from 1 to 100"},
		{"too much thinking", with(func(s *config.Settings) { s.ThinkMS = 600001 }),
			"config: think_ms = 600001 is out of range, want an integer from 0 to 600000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (backend.ErrorCode(err) != backend.EINVALID || backend.ErrorMessage(err) != tt.want) {
				t.Errorf("%+v.Validate() = %v;\nwant %q", tt.s, err, tt.want)
			}
		})
	}
}

func TestParseSettings(t *testing.T) {
	tests := []struct {
		values string
		want   config.Settings
		err    string
	}{
		{`{}`, config.Defaults(), ""},
		{`{"think_ms":0,"agent_name":"a","unknown":[1]}`, with(func(s *config.Settings) { s.ThinkMS, s.AgentName = 0, "a" }), ""},
		{`{"think_ms":2e2}`, config.Defaults(), ""},
		{`{"think_ms":"0"}`, config.Defaults(), `config: think_ms = "0" is a string, want an integer from 0 to 600000`},
		{`"think_ms"`, config.Defaults(), "config: values must be one JSON object"},
	}
	for _, tt := range tests {
		got, err := config.ParseSettings([]byte(tt.values))
		if got != tt.want || backend.ErrorMessage(err) != tt.err || err != nil && backend.ErrorCode(err) != backend.EINVALID {
			t.Errorf("ParseSettings(%s) = %+v, %v;\nwant %+v, %q", tt.values, got, err, tt.want, tt.err)
		}
	}
}

func TestErrorsNameTheirKey(t *testing.T) {
	for _, key := range config.Keys() {
		_, err := config.ParseSettings([]byte(`{"` + key + `":false}`))
		if msg := backend.ErrorMessage(err); !strings.HasPrefix(msg, "config: "+key+" = false is a boolean, want ") {
			t.Errorf("ParseSettings({%q: false}) = %v; want an error naming %s, its value and what it accepts", key, err, key)
		}
	}
}
