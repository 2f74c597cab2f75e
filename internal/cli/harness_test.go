package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/embedded"
	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// childEnv makes the test binary act as the goldenpath binary.
const childEnv = "GOLDENPATH_CLI_CHILD"

// runBound bounds one short `goldenpath run` (registration, 1 s scenarios,
// stopping the embedded backend), so that a hang fails the test instead of
// the test binary's -timeout. It is generous and asserts nothing about speed.
const runBound = 60 * time.Second

// TestMain doubles as the goldenpath binary. `goldenpath run` without
// --target starts `<os.Executable()> serve ...` as a child process; inside
// `go test` that executable is this test binary, so with GOLDENPATH_CLI_CHILD=1
// it runs Main on its arguments instead of the tests, as Prometheus
// re-executes its test binary. The variable is set for the tests, so every
// child they start inherits it. After the tests, no child may be left.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(childMain())
	}
	if err := os.Setenv(childEnv, "1"); err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		os.Exit(2)
	}
	code := m.Run()
	if left := childProcesses(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "TestMain: child processes outlived the tests; killing them: %v\n", left)
		for pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		code = max(code, 1)
	}
	os.Exit(code)
}

// childMain is the goldenpath binary: Main with the arguments it was started
// with (e.g. `serve --addr 127.0.0.1:0 ...`), ending on SIGINT or SIGTERM as
// cmd/goldenpath does — or when the tests that started it die without
// stopping it (embedded.Start puts the child in its own process group,
// so no signal of theirs reaches it).
func childMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parent := os.Getppid()
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != parent { // orphaned: the tests are gone
					cancel()
					return
				}
			}
		}
	}()
	return Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// childProcesses returns this process's children (pid to "comm state"),
// read from /proc; nil where there is no /proc.
func childProcesses() map[int]string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // state ppid ...
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			out[pid] = string(b[:i+1]) + " " + f[0]
		}
	}
	return out
}

// noChildrenLeft fails t if a child process is still there when t ends.
// Register it first, so that it runs after every other cleanup.
func noChildrenLeft(t *testing.T) {
	t.Cleanup(func() {
		if left := childProcesses(); len(left) > 0 {
			t.Errorf("child processes still running after the test: %v; want every embedded backend stopped", left)
		}
	})
}

// lockedBuffer is an io.Writer safe for Main's goroutines, the embedded
// backend's log copier and the test; changed is signalled after each write.
type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{changed: make(chan struct{}, 1)} }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	n, err := b.b.Write(p)
	b.mu.Unlock()
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor waits until the buffer holds text; false if ctx ends first.
func (b *lockedBuffer) waitFor(ctx context.Context, text string) bool {
	for !strings.Contains(b.String(), text) {
		select {
		case <-b.changed:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// outcome is what one call of Main did.
type outcome struct {
	args           []string
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

func (o outcome) String() string {
	return fmt.Sprintf("Main(%q) = %d after %s\nstdout:\n%s\nstderr:\n%s", o.args, o.code, o.elapsed.Round(time.Millisecond), o.stdout, o.stderr)
}

// gp runs goldenpath with args, as cmd/goldenpath would but with an empty
// environment (no GOLDENPATH_* variable of the machine leaks in).
func gp(ctx context.Context, args ...string) outcome {
	return gpTo(ctx, newLockedBuffer(), args...)
}

func gpTo(ctx context.Context, stderr *lockedBuffer, args ...string) outcome {
	return gpEnv(ctx, stderr, nil, args...)
}

// gpEnv is gpTo in an environment of vars alone.
func gpEnv(ctx context.Context, stderr *lockedBuffer, vars map[string]string, args ...string) outcome {
	stdout := newLockedBuffer()
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: func(k string) string { return vars[k] }}
	start := time.Now()
	code := mainEnv(ctx, args, e)
	return outcome{args: args, code: code, stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
}

// boundedContext is t's context, ended after bound.
func boundedContext(t *testing.T, bound time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	t.Cleanup(cancel)
	return ctx
}

// startBackend starts the reference backend as a child process (this test
// binary in child mode) for tests that bring their own target; it is
// stopped when the test ends.
func startBackend(t *testing.T) *embedded.Backend {
	t.Helper()
	logs := newLockedBuffer()
	emb, err := embedded.Start(boundedContext(t, runBound), embedded.Options{Binary: os.Args[0], Think: 20 * time.Millisecond, Stderr: logs})
	if err != nil {
		t.Fatalf("embedded.Start = %v; want a running backend\nits log:\n%s", err, logs)
	}
	t.Cleanup(func() {
		if err := emb.Stop(); err != nil {
			t.Logf("stopping the backend: %v\nits log:\n%s", err, logs)
		}
	})
	return emb
}

// register creates accounts on the backend at url.
func register(t *testing.T, url string, accts ...journey.Account) {
	t.Helper()
	tgt, err := journey.NewTarget(url)
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.HTTP.CloseIdleConnections()
	for _, a := range accts {
		if _, err := journey.Register(t.Context(), tgt, a); err != nil {
			t.Fatalf("journey.Register(%s) = %v", a, err)
		}
	}
}

// longEnv, when "1", runs the long proofs: the fault matrix, the live
// comparisons and the race-detector build, minutes each. .ci/run sets it;
// a developer's `go test ./...` leaves them out to stay quick.
const longEnv = "GOLDENPATH_LONG_TESTS"

// long skips a long proof unless longEnv is set.
func long(t *testing.T) {
	t.Helper()
	if os.Getenv(longEnv) != "1" {
		t.Skipf("a long proof; set %s=1 to run it (.ci/run does)", longEnv)
	}
}
