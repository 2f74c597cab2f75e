package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// probeDir finds shared/tools/protocol-probe beside the repository.
func probeDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Skipf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	dir := filepath.Join(root, "..", "shared", "tools", "protocol-probe")
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		t.Skipf("protocol-probe not found at %s (it ships in shared/ beside the repository)", dir)
	}
	return dir
}

// TestProtocolProbe runs the shared conformance probe against a real
// backend: every call, frame and close code of the protocol.
func TestProtocolProbe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the probe; skipped with -short")
	}
	dir := probeDir(t)
	bin := filepath.Join(t.TempDir(), "probe")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build probe: %v\n%s", err, out)
	}
	h := start(t, withThink(10))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-url", h.url, "-admin-token", "admin-secret").CombinedOutput()
	t.Logf("probe output:\n%s", out)
	if err != nil {
		t.Fatalf("protocol-probe failed: %v", err)
	}
	if !strings.Contains(string(out), " 0 failed") {
		t.Fatalf("probe did not report 0 failed")
	}
}
