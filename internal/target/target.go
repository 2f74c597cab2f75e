// Package target starts and checks the systems goldenpath loads: the
// embedded reference backend, run as a child process of its own (so that
// its memory can be watched apart from the load generator's), and any
// other target reached by URL.
package target

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Embedded is a reference backend running as a child process.
type Embedded struct {
	URL        string
	AdminToken string
	PID        int
	DataDir    string
	Faults     string

	cmd    *exec.Cmd
	waited chan error
	ownDir bool
}

// EmbeddedOptions configure [StartEmbedded].
type EmbeddedOptions struct {
	Binary   string        // the goldenpath executable; default os.Executable()
	Env      []string      // extra environment for the child
	DataDir  string        // default: a new temporary directory, removed on Stop
	Think    time.Duration // simulated model time per run; <0: the backend's default
	Faults   string        // --fault list
	HashCost int           // default 4: cheap hashes so thousands of test users register in seconds
	Stderr   io.Writer     // the child's logs (default: discarded)
	Ready    time.Duration // how long to wait for /readyz (default 30s)
}

// StartEmbedded starts `goldenpath serve` on a free loopback port with a
// temporary database and a random admin token, and waits until it is
// ready.
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*Embedded, error) {
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("target: cannot find the goldenpath executable to start the embedded backend: %w", err)
		}
		o.Binary = exe
	}
	if o.HashCost == 0 {
		o.HashCost = 4
	}
	if o.Ready == 0 {
		o.Ready = 30 * time.Second
	}
	e := &Embedded{AdminToken: randomToken(), Faults: o.Faults, waited: make(chan error, 1)}
	if o.DataDir == "" {
		dir, err := os.MkdirTemp("", "goldenpath-target-")
		if err != nil {
			return nil, fmt.Errorf("target: temporary data directory: %w", err)
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
	cmd := exec.Command(o.Binary, args...)
	cmd.Env = append(append(os.Environ(), o.Env...), "GOLDENPATH_ADMIN_TOKEN="+e.AdminToken)
	cmd.Stderr = o.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches us, not the child: we stop it in order
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		e.cleanup()
		return nil, fmt.Errorf("target: start %s serve: %w", o.Binary, err)
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
		return nil, fmt.Errorf("target: the embedded backend exited before listening: %v", err)
	case <-time.After(o.Ready):
		_ = e.Stop()
		return nil, fmt.Errorf("target: the embedded backend printed no URL within %s", o.Ready)
	case <-ctx.Done():
		_ = e.Stop()
		return nil, ctx.Err()
	}
	if err := WaitReady(ctx, e.URL, o.Ready); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return e, nil
}

// Stop sends SIGTERM, waits for a graceful exit (up to 30s, then kills),
// and removes a temporary data directory.
func (e *Embedded) Stop() error {
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
		return fmt.Errorf("target: the embedded backend exited with %v", ee)
	}
	return err
}

func (e *Embedded) cleanup() {
	if e.ownDir && e.DataDir != "" {
		_ = os.RemoveAll(e.DataDir)
	}
}

// ErrUnreachable wraps failures to reach a target or find it ready.
var ErrUnreachable = errors.New("target unreachable or not ready")

// WaitReady polls GET /readyz until it answers 200 or timeout passes. A
// target without /readyz (404) is accepted when /healthz or / answers.
func WaitReady(ctx context.Context, baseURL string, timeout time.Duration) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		resp, err := get(ctx, hc, baseURL+protocol.PathReadyz)
		switch {
		case err != nil:
			last = err.Error()
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode == http.StatusNotFound:
			if r2, err := get(ctx, hc, baseURL+protocol.PathHealthz); err == nil && r2.StatusCode == http.StatusOK {
				return nil
			}
			last = "/readyz and /healthz not found"
		default:
			last = fmt.Sprintf("/readyz answered %d", resp.StatusCode)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%w: %s: %s (waited %s)", ErrUnreachable, baseURL, last, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(ctx context.Context, hc *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp, nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "gp-admin-" + hex.EncodeToString(b)
}
