// Package embedded starts goldenpath's reference backend as a child
// process of its own (`goldenpath serve` on a free loopback port), so that
// its memory can be watched apart from the load generator's, and builds it
// with Go's race detector when asked.
package embedded

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// ServeEnv is set to "1" in the environment of every embedded backend
// goldenpath starts: a program that finds it set was started to serve (a
// test binary's TestMain checks it through goldenpathtest.Main), and must
// not start an embedded backend of its own.
const ServeEnv = "GOLDENPATH_EMBEDDED_SERVE"

// IsChild reports whether this process was started as an embedded backend.
func IsChild() bool { return os.Getenv(ServeEnv) == "1" }

// Backend is a reference backend running as a child process.
type Backend struct {
	URL        string
	AdminToken string
	PID        int
	DataDir    string
	Faults     string
	BypassKey  string // protocol netra: the key of its test login

	cmd    *exec.Cmd
	waited chan error
	ownDir bool
}

// Options configure [Start].
type Options struct {
	Binary   string        // the goldenpath executable; default os.Executable()
	Env      []string      // extra environment for the child
	DataDir  string        // default: a new temporary directory, removed on Stop
	Think    time.Duration // simulated model time per run; <0: the backend's default
	Faults   string        // --fault list
	HashCost int           // default 4: cheap hashes so thousands of test users register in seconds
	Stderr   io.Writer     // the child's logs (default: discarded)
	Ready    time.Duration // how long to wait for /readyz (default 30s)
	// Protocol is what the backend's /ws speaks: goldenpath (default) or
	// netra, whose test login then takes a random bypass key
	// ([Backend].BypassKey), unless BypassKey gives one.
	Protocol  string
	BypassKey string
	// Args are further serve flags, after the ones Start passes, e.g.
	// --db postgres://... for a PostgreSQL store.
	Args []string
}

// Start starts `goldenpath serve` on a free loopback port with a
// temporary database and a random admin token, and waits until it is
// ready.
func Start(ctx context.Context, o Options) (*Backend, error) {
	if o.Binary == "" && IsChild() {
		return nil, errors.New("embedded: this process was itself started as an embedded backend and will not start another (a test binary whose TestMain does not call goldenpathtest.Main(m) runs its tests instead of serving)")
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("embedded: cannot find the goldenpath executable to start the embedded backend: %w", err)
		}
		o.Binary = exe
	}
	if o.HashCost == 0 {
		o.HashCost = 4
	}
	if o.Ready == 0 {
		o.Ready = 30 * time.Second
	}
	e := &Backend{AdminToken: randomToken(), Faults: o.Faults, waited: make(chan error, 1)}
	if o.DataDir == "" {
		dir, err := os.MkdirTemp("", "goldenpath-target-")
		if err != nil {
			return nil, fmt.Errorf("embedded: temporary data directory: %w", err)
		}
		o.DataDir, e.ownDir = dir, true
	}
	e.DataDir = o.DataDir
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data", o.DataDir,
		"--hash-cost", fmt.Sprint(o.HashCost), "--log-level", "warn"}
	if o.Think >= 0 {
		args = append(args, "--think", o.Think.String())
	}
	if o.Faults != "" {
		args = append(args, "--fault", o.Faults)
	}
	env := append(append(os.Environ(), o.Env...), "GOLDENPATH_ADMIN_TOKEN="+e.AdminToken, ServeEnv+"=1")
	if o.Protocol != "" {
		args = append(args, "--protocol", o.Protocol)
		if o.Protocol == "netra" {
			e.BypassKey = o.BypassKey
			if e.BypassKey == "" {
				e.BypassKey = randomToken()
			}
			env = append(env, "GOLDENPATH_BYPASS_KEY="+e.BypassKey)
		}
	}
	args = append(args, o.Args...)
	cmd := exec.Command(o.Binary, args...)
	cmd.Env = env
	cmd.Stderr = o.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches us, not the child: we stop it in order
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		e.cleanup()
		return nil, fmt.Errorf("embedded: start %s serve: %w", o.Binary, err)
	}
	e.cmd, e.PID = cmd, cmd.Process.Pid
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "listening on "); i >= 0 {
				urlc <- strings.TrimSpace(line[i+len("listening on "):])
			}
		}
	}()
	go func() { e.waited <- cmd.Wait() }()
	select {
	case e.URL = <-urlc:
	case err := <-e.waited:
		e.waited <- err
		e.cleanup()
		return nil, fmt.Errorf("embedded: the embedded backend (%s serve) exited before listening: %v; a test binary serves it only when its TestMain calls goldenpathtest.Main(m)", o.Binary, err)
	case <-time.After(o.Ready):
		_ = e.Stop()
		return nil, fmt.Errorf("embedded: the embedded backend printed no URL within %s", o.Ready)
	case <-ctx.Done():
		_ = e.Stop()
		return nil, ctx.Err()
	}
	if err := journey.WaitReady(ctx, e.URL, o.Ready); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return e, nil
}

// Stop sends SIGTERM, waits for a graceful exit (up to 30s, then kills),
// and removes a temporary data directory.
func (e *Backend) Stop() error {
	if e.cmd == nil || e.cmd.Process == nil {
		e.cleanup()
		return nil
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-e.waited:
	case <-time.After(30 * time.Second):
		_ = e.cmd.Process.Kill()
		err = <-e.waited
	}
	e.waited <- err
	e.cleanup()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("embedded: the embedded backend exited with %v", ee)
	}
	return err
}

func (e *Backend) cleanup() {
	if e.ownDir && e.DataDir != "" {
		_ = os.RemoveAll(e.DataDir)
	}
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "gp-admin-" + hex.EncodeToString(b)
}
