package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/config"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// defaultValues is the canonical JSON of the defaults.
const defaultValues = `{"agent_name":"golden-agent","heartbeat_ms":15000,"max_runs_per_connection":64,` +
	`"send_queue":256,"think_ms":200,"thinking_events":1,"tool_calls":1}`

// verify fails unless the snapshot's checksum is that of its values and its
// values are canonical.
func verify(t *testing.T, name string, s *config.Snapshot) {
	t.Helper()
	if ok, err := protocol.VerifyChecksum(s.Values, s.Checksum); !ok || err != nil {
		t.Errorf("%s: checksum %s does not verify against values %s (%v)", name, s.Checksum, s.Values, err)
	}
	if c, err := protocol.Canonical(s.Values); err != nil || !bytes.Equal(c, s.Values) {
		t.Errorf("%s: values %s are not canonical; want %s (%v)", name, s.Values, c, err)
	}
}

func TestNewDefaults(t *testing.T) {
	for _, initial := range []string{"", "{}", " { } "} {
		store, err := config.New([]byte(initial))
		if err != nil {
			t.Fatalf("New(%q) = %v; want the defaults", initial, err)
		}
		s := store.Snapshot()
		if s.Version != 1 || string(s.Values) != defaultValues || s.Settings != config.Defaults() {
			t.Errorf("New(%q).Snapshot() = version %d, values %s, settings %+v;\nwant version 1, values %s, settings %+v",
				initial, s.Version, s.Values, s.Settings, defaultValues, config.Defaults())
		}
		verify(t, fmt.Sprintf("New(%q).Snapshot()", initial), s)
	}
}

func TestNewOptions(t *testing.T) {
	if _, err := config.New(nil, config.WithDelay(-time.Second)); err == nil {
		t.Error("New(nil, WithDelay(-1s)) succeeded; want an error")
	}
	if _, err := config.New([]byte(`{"think_ms":-1}`)); backend.ErrorCode(err) != backend.EINVALID {
		t.Errorf("New(think_ms -1) = %v; want an %s error", err, backend.EINVALID)
	}
}

func TestReplace(t *testing.T) {
	tests := []struct {
		name   string
		values string
		want   string // values of the snapshot
		check  func(config.Settings) bool
	}{
		{name: "unknown key kept, known keys default", values: `{"probe_nonce":"n-1"}`,
			want: `{"agent_name":"golden-agent","heartbeat_ms":15000,"max_runs_per_connection":64,` +
				`"probe_nonce":"n-1","send_queue":256,"think_ms":200,"thinking_events":1,"tool_calls":1}`,
			check: func(s config.Settings) bool { return s == config.Defaults() }},
		{name: "numbers as written", values: `{"think_ms": 1e3, "ratio": 1.50, "big": 123456789012345678901234567890, "neg": -0.0, "tool_calls": 2.0E0}`,
			want: `{"agent_name":"golden-agent","big":123456789012345678901234567890,"heartbeat_ms":15000,"max_runs_per_connection":64,` +
				`"neg":-0.0,"ratio":1.50,"send_queue":256,"think_ms":1e3,"thinking_events":1,"tool_calls":2.0E0}`,
			check: func(s config.Settings) bool { return s.ThinkMS == 1000 && s.ToolCalls == 2 }},
		{name: "HTML not escaped", values: `{"agent_name":"<a&b>","note":"x<y>&z\u2028"}`,
			want: `{"agent_name":"<a&b>","heartbeat_ms":15000,"max_runs_per_connection":64,` +
				`"note":"x<y>&z\u2028","send_queue":256,"think_ms":200,"thinking_events":1,"tool_calls":1}`,
			check: func(s config.Settings) bool { return s.AgentName == "<a&b>" }},
		{name: "nested unknown keys sorted", values: `{"z":{"b":[1,{"z":true,"a":null}],"a":"é"}}`,
			want: `{"agent_name":"golden-agent","heartbeat_ms":15000,"max_runs_per_connection":64,` +
				`"send_queue":256,"think_ms":200,"thinking_events":1,"tool_calls":1,"z":{"a":"é","b":[1,{"a":null,"z":true}]}}`,
			check: func(s config.Settings) bool { return s == config.Defaults() }},
		{name: "bounds", values: `{"agent_name":"` + strings.Repeat("é", 64) + `","think_ms":600000,"thinking_events":100,` +
			`"tool_calls":0,"heartbeat_ms":100,"max_runs_per_connection":4096,"send_queue":16}`,
			want: `{"agent_name":"` + strings.Repeat("é", 64) + `","heartbeat_ms":100,"max_runs_per_connection":4096,` +
				`"send_queue":16,"think_ms":600000,"thinking_events":100,"tool_calls":0}`,
			check: func(s config.Settings) bool {
				return s.ThinkMS == 600000 && s.ThinkingEvents == 100 && s.ToolCalls == 0 &&
					s.HeartbeatMS == 100 && s.MaxRunsPerConnection == 4096 && s.SendQueue == 16
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, err := config.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			for version := int64(2); version <= 3; version++ {
				got, err := store.Replace([]byte(tt.values))
				if err != nil {
					t.Fatalf("Replace(%s) = %v; want it accepted", tt.values, err)
				}
				if got.Version != version || string(got.Values) != tt.want || !tt.check(got.Settings) {
					t.Errorf("Replace(%s) = version %d, values %s, settings %+v;\nwant version %d, values %s",
						tt.values, got.Version, got.Values, got.Settings, version, tt.want)
				}
				if now := store.Snapshot(); now != got {
					t.Errorf("after Replace, Snapshot() = version %d; want the snapshot Replace returned, version %d", now.Version, got.Version)
				}
				verify(t, "Replace", got)
			}
		})
	}
}

func TestReplaceInvalid(t *testing.T) {
	tests := []struct {
		values string
		want   string // message of the EINVALID error
	}{
		{`{"think_ms":700000}`, "config: think_ms = 700000 is out of range, want an integer from 0 to 600000"},
		{`{"think_ms":-1}`, "config: think_ms = -1 is out of range, want an integer from 0 to 600000"},
		{`{"think_ms":"200"}`, `config: think_ms = "200" is a string, want an integer from 0 to 600000`},
		{`{"think_ms":1.5}`, "config: think_ms = 1.5 is not an integer, want an integer from 0 to 600000"},
		{`{"think_ms":1.0000000000000000001}`, "config: think_ms = 1.0000000000000000001 is not an integer, want an integer from 0 to 600000"},
		{`{"think_ms":null}`, "config: think_ms = null is null, want an integer from 0 to 600000"},
		{`{"max_runs_per_connection":1e400}`, "config: max_runs_per_connection = 1e400 is out of range, want an integer from 1 to 4096"},
		{`{"thinking_events":0}`, "config: thinking_events = 0 is out of range, want an integer from 1 to 100"},
		{`{"tool_calls":true}`, "config: tool_calls = true is a boolean, want an integer from 0 to 50"},
		{`{"send_queue":[1]}`, "config: send_queue = [1] is an array, want an integer from 16 to 65536"},
		{`{"heartbeat_ms":{"ms":1}}`, `config: heartbeat_ms = {"ms":1} is an object, want an integer from 100 to 3600000`},
		{`{"agent_name":""}`, `config: agent_name = "" is empty, want a string of 1 to 64 characters`},
		{`{"agent_name":42}`, "config: agent_name = 42 is a number, want a string of 1 to 64 characters"},
		{`{"agent_name":"` + strings.Repeat("a", 65) + `"}`,
			`config: agent_name = "` + strings.Repeat("a", 39) + `… is 65 characters long, want a string of 1 to 64 characters`},
		{`{"tool_calls":51,"agent_name":"ok","send_queue":15}`,
			"config: send_queue = 15 is out of range, want an integer from 16 to 65536; tool_calls = 51 is out of range, want an integer from 0 to 50"},
		{`[]`, "config: values must be one JSON object"},
		{`null`, "config: values must be one JSON object"},
		{`{} {}`, "config: values must be one JSON object"},
		{`{"think_ms":1`, "config: values must be one JSON object"},
		{``, "config: values must be one JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.values, func(t *testing.T) {
			store, err := config.New([]byte(`{"probe_nonce":"before"}`))
			if err != nil {
				t.Fatal(err)
			}
			before := store.Snapshot()
			got, err := store.Replace([]byte(tt.values))
			if backend.ErrorCode(err) != backend.EINVALID || backend.ErrorMessage(err) != tt.want {
				t.Errorf("Replace(%s) = %v, %v;\nwant an %s error %q", tt.values, got, err, backend.EINVALID, tt.want)
			}
			if after := store.Snapshot(); after != before {
				t.Errorf("after a refused Replace(%s), Snapshot() = version %d, values %s; want version %d, values %s unchanged",
					tt.values, after.Version, after.Values, before.Version, before.Values)
			}
		})
	}
}

// checksumMismatch returns what is wrong when the snapshot's checksum is
// not that of its values, which one GET /api/v1/config shows, or "".
func checksumMismatch(s *config.Snapshot) string {
	if ok, err := protocol.VerifyChecksum(s.Values, s.Checksum); !ok || err != nil {
		return fmt.Sprintf("version %d: checksum %s is not that of values %s", s.Version, s.Checksum, s.Values)
	}
	return ""
}

// inconsistency returns what is wrong with a snapshot written by hammer,
// whose values hold the version that carries them as "gen" and as think_ms,
// or "" when nothing is.
func inconsistency(s *config.Snapshot) string {
	if bad := checksumMismatch(s); bad != "" {
		return bad
	}
	var v struct {
		Gen     int64 `json:"gen"`
		ThinkMS int   `json:"think_ms"`
	}
	if err := json.Unmarshal(s.Values, &v); err != nil {
		return fmt.Sprintf("version %d: values %s: %v", s.Version, s.Values, err)
	}
	if v.Gen != s.Version || s.Settings.ThinkMS != v.ThinkMS {
		return fmt.Sprintf("version %d carries values of version %d and settings with think_ms %d", s.Version, v.Gen, s.Settings.ThinkMS)
	}
	return ""
}

// hammer makes readers read s while it replaces its values up to n times
// or for d, stopping early at the first read that check faults when stop
// is set. It returns that read, or "", and the number of replacements.
// Readers fail the test if versions step back.
func hammer(t *testing.T, s *config.Store, n int, d time.Duration, check func(*config.Snapshot) string, stop bool) (string, int) {
	t.Helper()
	const readers = 4
	var (
		done  atomic.Bool
		first atomic.Pointer[string]
		wg    sync.WaitGroup
	)
	for range readers {
		wg.Go(func() {
			var last int64
			for !done.Load() {
				snap := s.Snapshot()
				if snap.Version < last {
					t.Errorf("a reader saw version %d after version %d; want versions that never step back", snap.Version, last)
					return
				}
				last = snap.Version
				if bad := check(snap); bad != "" {
					first.CompareAndSwap(nil, &bad)
				}
			}
		})
	}
	replaces := 0
	deadline := time.Now().Add(d)
	for replaces < n && time.Now().Before(deadline) && (!stop || first.Load() == nil) {
		gen := int64(replaces + 2)
		if _, err := s.Replace(fmt.Appendf(nil, `{"gen":%d,"think_ms":%d,"pad":"%s"}`, gen, gen%600000, strings.Repeat("x", replaces%50))); err != nil {
			t.Fatalf("Replace = %v; want it accepted", err)
		}
		replaces++
	}
	done.Store(true)
	wg.Wait()
	if bad := first.Load(); bad != nil {
		return *bad, replaces
	}
	return "", replaces
}

func TestConcurrentReadersSeeWholeSnapshots(t *testing.T) {
	store, err := config.New([]byte(`{"gen":1,"think_ms":1}`))
	if err != nil {
		t.Fatal(err)
	}
	n := 1000
	if testing.Short() {
		n = 100
	}
	if bad, replaces := hammer(t, store, n, 10*time.Second, inconsistency, false); bad != "" {
		t.Errorf("during %d replacements a reader saw a torn snapshot: %s; want whole snapshots", replaces, bad)
	}
}

func TestTornStoreTearsSnapshots(t *testing.T) {
	tests := []struct {
		name  string
		check func(*config.Snapshot) string
	}{
		{"checksum of other values", checksumMismatch},
		{"any tear", inconsistency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, err := config.New([]byte(`{"gen":1,"think_ms":1}`), config.WithTorn(true))
			if err != nil {
				t.Fatal(err)
			}
			bad, replaces := hammer(t, store, 2000, 2*time.Second, tt.check, true)
			if bad == "" {
				t.Fatalf("with WithTorn(true), %d replacements showed no torn snapshot; want at least one", replaces)
			}
			t.Logf("torn read after %d replacements: %s", replaces, bad)
		})
	}
}

func TestDelaySlowsSnapshot(t *testing.T) {
	const d = 20 * time.Millisecond
	store, err := config.New(nil, config.WithDelay(d))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	store.Snapshot()
	if took := time.Since(start); took < d {
		t.Errorf("with WithDelay(%v), Snapshot() took %v; want at least %v", d, took, d)
	}
}

func BenchmarkSnapshot(b *testing.B) {
	store, err := config.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if store.Snapshot().Version != 1 {
				b.Error("Snapshot().Version != 1")
			}
		}
	})
}

func BenchmarkReplace(b *testing.B) {
	store, err := config.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	values := []byte(`{"agent_name":"bench","think_ms":1e3,"tool_calls":3,"probe_nonce":"p-1","extra":{"list":[1,2.50,"<x>"]}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Replace(values); err != nil {
			b.Fatal(err)
		}
	}
}
