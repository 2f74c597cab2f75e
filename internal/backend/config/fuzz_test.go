package config_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend/config"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// FuzzLoadFile reads --config files (YAML or JSON). A file that loads
// gives canonical values that a store accepts and whose settings are
// valid; those values, written back as a file (JSON is YAML), load to the
// same values. A file that does not load is refused with an error that
// names it.
func FuzzLoadFile(f *testing.F) {
	if files, err := filepath.Glob("testdata/*.yaml"); err == nil {
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"agent_name":"a","think_ms":1e3,"tool_calls":2.0}`))
	f.Add([]byte("think_ms: 0x10\nheartbeat_ms: 1_000\nagent_name: \"\\u00e9t\\u00e9\"\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("? [think_ms]\n: 1\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		values, err := config.Load(path, nil, nil)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("Load(%q) = %v; want an error naming the file", data, err)
			}
			return
		}
		if c, err := protocol.Canonical(values); err != nil || !bytes.Equal(c, values) {
			t.Fatalf("Load(%q) = %s; want canonical values (got %s, %v)", data, values, c, err)
		}
		s, err := config.ParseSettings(values)
		if err != nil || s.Validate() != nil {
			t.Fatalf("ParseSettings(Load(%q) = %s) = %+v, %v; want valid settings", data, values, s, err)
		}
		if _, err := config.New(values); err != nil {
			t.Fatalf("config.New(Load(%q) = %s): %v", data, values, err)
		}
		if err := os.WriteFile(path, values, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := config.Load(path, nil, nil)
		if err != nil || !bytes.Equal(again, values) {
			t.Fatalf("Load(%s) = %s, %v; want the same values (first loaded from %q)", values, again, err, data)
		}
	})
}

// FuzzReplace puts values objects as PUT /api/v1/admin/config does. A
// store takes exactly the values ParseSettings accepts; the snapshot's
// checksum verifies against its values, its settings are the parsed ones,
// valid, and encoded as JSON they parse back to themselves. Refused values
// leave the settings at their defaults and the store as it was.
func FuzzReplace(f *testing.F) {
	f.Add([]byte(`{"agent_name":"staging-agent","think_ms":0,"thinking_events":3,"tool_calls":0,"heartbeat_ms":5000,"max_runs_per_connection":4096,"send_queue":1024}`))
	f.Add([]byte(`{"think_ms":1.0e2,"unknown":{"nested":[1,"<&>"]}}`))
	f.Add([]byte(`{"agent_name":"\ud800","think_ms":-0}`))
	f.Add([]byte(`{"send_queue":65537}`))
	f.Add([]byte(`{} `))
	f.Add([]byte(`null`))
	initial, err := config.Load("", nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, values []byte) {
		st, err := config.New(initial)
		if err != nil {
			t.Fatal(err)
		}
		before := st.Snapshot()
		s, perr := config.ParseSettings(values)
		snap, err := st.Replace(values)
		if (err == nil) != (perr == nil) {
			t.Fatalf("Replace(%q) = %v but ParseSettings = %v; want both to accept or both to refuse", values, err, perr)
		}
		if err != nil {
			if s != config.Defaults() || st.Snapshot() != before {
				t.Fatalf("refused %q: settings %+v, store at version %d; want the defaults, the store unchanged", values, s, st.Snapshot().Version)
			}
			return
		}
		if ok, err := protocol.VerifyChecksum(snap.Values, snap.Checksum); !ok || err != nil {
			t.Fatalf("Replace(%q): checksum %s does not verify against %s (%v)", values, snap.Checksum, snap.Values, err)
		}
		if snap.Settings != s || s.Validate() != nil || snap.Version != before.Version+1 {
			t.Fatalf("Replace(%q) = version %d, settings %+v; want version %d, %+v, valid", values, snap.Version, snap.Settings, before.Version+1, s)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := config.ParseSettings(b); err != nil || back != s {
			t.Fatalf("ParseSettings(%s) = %+v, %v; want %+v back", b, back, err, s)
		}
	})
}
