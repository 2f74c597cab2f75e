package server_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/fault"
	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
)

// TestMain doubles as the reference backend when GOLDENPATH_CHILD_SERVE is
// set, so benchmarks can load a server running in a separate process (as
// Prometheus re-executes its test binary) and measure its memory apart from
// the load generator's.
func TestMain(m *testing.M) {
	if os.Getenv("GOLDENPATH_CHILD_SERVE") == "1" {
		os.Exit(childServe())
	}
	os.Exit(m.Run())
}

func childServe() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cost, _ := strconv.Atoi(os.Getenv("GOLDENPATH_CHILD_HASH_COST"))
	cfg := server.Config{
		Addr: "127.0.0.1:0", DataDir: os.Getenv("GOLDENPATH_CHILD_DATA"),
		JWTSecret: []byte(testSecret), HashCost: cost, AdminToken: "admin-secret",
		Overrides: map[string]string{"think_ms": os.Getenv("GOLDENPATH_CHILD_THINK_MS"), "send_queue": "1024"},
	}
	cfg.DB = os.Getenv("GOLDENPATH_CHILD_DB") // a postgres:// URL, or SQLite in the data folder
	if list := os.Getenv("GOLDENPATH_CHILD_FAULTS"); list != "" {
		f, err := fault.Parse(list)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 2
		}
		cfg.Faults = f
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	fmt.Printf("URL %s\n", srv.URL())
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// child is a reference backend in its own process.
type child struct {
	*harness
	cmd *exec.Cmd
}

// startChild starts the backend in a child process and returns a harness
// pointing at it; the process is stopped with SIGTERM when the test ends.
func startChild(tb testing.TB, hashCost, thinkMS int) *child {
	tb.Helper()
	return startChildOn(tb, tb.TempDir(), hashCost, thinkMS)
}

// startChildOn is startChild on the data in dir, which a later child can
// start on again (after a crash, say); env adds variables to the child's.
func startChildOn(tb testing.TB, dir string, hashCost, thinkMS int, env ...string) *child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"GOLDENPATH_CHILD_SERVE=1",
		"GOLDENPATH_CHILD_DATA="+dir,
		"GOLDENPATH_CHILD_HASH_COST="+strconv.Itoa(hashCost),
		"GOLDENPATH_CHILD_THINK_MS="+strconv.Itoa(thinkMS),
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "URL ") {
		_ = cmd.Process.Kill()
		tb.Fatalf("child server did not print its URL: %q %v", line, err)
	}
	h := &harness{t: tb, url: strings.TrimSpace(strings.TrimPrefix(line, "URL ")), hc: newHTTPClient()}
	h.waitReady()
	c := &child{harness: h, cmd: cmd}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	return c
}
