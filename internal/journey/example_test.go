package journey_test

import (
	"context"
	"fmt"
	"os"

	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// exampleBackend starts a reference backend on a free port and returns its
// URL and a function that stops it.
func exampleBackend() (string, func()) {
	dir, err := os.MkdirTemp("", "journey-example-")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: dir, HashCost: 4,
		JWTSecret: []byte(testSecret), Overrides: map[string]string{"think_ms": "0"}})
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	return srv.URL(), func() { cancel(); <-done; os.RemoveAll(dir) }
}

func ExampleRun() {
	url, stop := exampleBackend()
	defer stop()

	ctx := context.Background()
	target, err := journey.NewTarget(url) // one Target for every virtual user
	if err != nil {
		panic(err)
	}
	acct := journey.Account{Email: "ada@example.test", Password: "correct horse"}
	if _, err := journey.Register(ctx, target, acct); err != nil {
		panic(err)
	}
	r := journey.Run(ctx, target, acct, journey.Options{Messages: 2, DBOps: true})
	fmt.Println("ok:", r.OK(), "runs:", r.Runs, "violations:", len(r.Violations))
	for _, s := range r.Phases {
		if s.Name == journey.PhaseFirstEvent {
			fmt.Println("time to first event measured")
		}
	}
	// Output:
	// ok: true runs: 2 violations: 0
	// time to first event measured
	// time to first event measured
}

func ExampleOracle() {
	o := journey.NewOracle("u_1")
	o.Expect("m1", "hello 42")
	frames := []string{
		`{"type":"connection_established","seq":1,"timestamp":"2026-01-02T03:04:05Z","data":{"connection_id":"c_1","user_id":"u_1","server_time":"2026-01-02T03:04:05Z"}}`,
		`{"type":"agent_started","seq":2,"timestamp":"2026-01-02T03:04:05Z","data":{"run_id":"r_1","thread_id":"t_1","message_id":"m1","user_id":"u_1","agent_instance_id":"a_1"}}`,
		// seq 3 is lost on the way
		`{"type":"agent_completed","seq":4,"timestamp":"2026-01-02T03:04:06Z","data":{"run_id":"r_1","thread_id":"t_1","message_id":"m1","user_id":"u_1","result":{"content":"you said: hello 42"},"completed_at":"2026-01-02T03:04:06Z"}}`,
		`{"type":"agent_thinking","seq":5,"timestamp":"2026-01-02T03:04:06Z","data":{"run_id":"r_9","thread_id":"t_9","message_id":"m9","user_id":"u_2"}}`,
	}
	for _, f := range frames {
		_, vs := o.Observe([]byte(f))
		for _, v := range vs {
			fmt.Println(v)
		}
	}
	for _, v := range o.Done() {
		fmt.Println(v)
	}
	// Output:
	// seq_gap: seq 3 never arrived (seq 4 did)
	// foreign_user (run r_9): agent_thinking carries user_id u_2, want u_1
}
