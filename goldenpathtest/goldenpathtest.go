// Package goldenpathtest runs goldenpath from a Go test.
//
// A test calls [Run] with a [goldenpath.Config]; a failed check fails the
// test with the check table as its message. To test against the embedded
// reference backend (an empty Config.Target), the test binary must be able
// to serve it, as the goldenpath command does: call [Main] from TestMain.
//
//	func TestMain(m *testing.M) { goldenpathtest.Main(m) }
//
//	func TestGoldenPath(t *testing.T) {
//		res := goldenpathtest.Run(t, goldenpath.Config{Suites: []string{"integrated"}, Duration: 3 * time.Second})
//		if p, ok := res.Phase("login"); ok && p.P95 > time.Second {
//			t.Errorf("login p95 = %s; want under 1s", p.P95)
//		}
//	}
package goldenpathtest

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/goldenpath-dev/goldenpath"
	"github.com/goldenpath-dev/goldenpath/internal/cli"
	"github.com/goldenpath-dev/goldenpath/internal/embedded"
)

// Main runs the tests, or, when goldenpath started this binary as its
// embedded reference backend, serves as that backend until it is told to
// stop. Call it from TestMain, in place of m.Run.
func Main(m *testing.M) {
	if embedded.IsChild() && len(os.Args) > 1 && os.Args[1] == "serve" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// Run runs cfg with the test's context and returns the results. It stops
// the test at once (t.Fatal) when the run cannot start — bad Config, or a
// target it cannot reach — and fails it (t.Error) with the check table when
// a check failed or the run was interrupted. Without cfg.Log, progress goes
// to the test's log.
func Run(t testing.TB, cfg goldenpath.Config) *goldenpath.Results {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = logWriter{t}
		cfg.Quiet = true
	}
	res, err := goldenpath.Run(t.Context(), cfg)
	if err != nil {
		if res == nil {
			t.Fatalf("goldenpath.Run: %v", err)
		}
		t.Errorf("goldenpath.Run: %v", err)
	}
	if !res.Passed() {
		t.Errorf("goldenpath: the run did not pass:\n%s", res)
	}
	return res
}

// logWriter writes to the test's log, a line a call.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	if n := len(p); n > 0 && p[n-1] == '\n' {
		return p[:n-1]
	}
	return p
}
