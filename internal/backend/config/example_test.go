package config_test

import (
	"fmt"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/config"
)

func Example() {
	values, err := config.Load("", []string{"GOLDENPATH_THINK_MS=0"}, map[string]string{"agent_name": "demo"})
	if err != nil {
		panic(err)
	}
	store, err := config.New(values)
	if err != nil {
		panic(err)
	}
	snap := store.Snapshot()
	fmt.Println(snap.Version, snap.Settings.AgentName, snap.Settings.Think())

	// An update replaces the values: unknown keys are kept, numbers stay as
	// written, and known keys left out take their defaults.
	snap, err = store.Replace([]byte(`{"think_ms": 1.5e3, "probe_nonce": "<p-1>"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(snap.Version, snap.Settings.AgentName, snap.Settings.Think())
	fmt.Printf("%s\n", snap.Values)
	fmt.Println(snap.Checksum)

	_, err = store.Replace([]byte(`{"tool_calls": 51}`))
	fmt.Println(backend.ErrorCode(err), backend.ErrorMessage(err))
	fmt.Println(store.Snapshot().Version)
	// Output:
	// 1 demo 0s
	// 2 golden-agent 1.5s
	// {"agent_name":"golden-agent","heartbeat_ms":15000,"max_runs_per_connection":64,"probe_nonce":"<p-1>","send_queue":256,"think_ms":1.5e3,"thinking_events":1,"tool_calls":1}
	// sha256:71c1fec25d352db662093064f0460f978bba2600c0673a9c0f4d0de9c698b223
	// invalid_input config: tool_calls = 51 is out of range, want an integer from 0 to 50
	// 2
}
