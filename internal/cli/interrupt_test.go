package cli

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// TestRunSIGTERMWritesPartialResults: a run stopped by SIGTERM (as a
// Kubernetes pod is, or `kill`) writes its partial results, whole and
// marked interrupted, and exits 4, as it does on SIGINT (Ctrl-C,
// TestFaultMatrix's stopped rows). Reports are written to a temporary
// file and renamed, so none is ever left half-written.
func TestRunSIGTERMWritesPartialResults(t *testing.T) {
	long(t)
	noChildrenLeft(t)
	bin := plainBinary(t)
	out := t.TempDir()
	ctx := boundedContext(t, 2*time.Minute)
	stderr := newLockedBuffer()
	cmd := exec.CommandContext(ctx, bin, "run", "--suite", "integrated,load", "--duration", "30s", "--users", "4",
		"--max-users", "0", "--out", out, "--quiet")
	cmd.Stdout, cmd.Stderr = newLockedBuffer(), stderr
	cmd.WaitDelay = time.Minute
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOLDENPATH_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !stderr.waitFor(ctx, "suite integrated") {
		t.Fatalf("the run never started its first suite; stderr:\n%s", stderr)
	}
	time.Sleep(2 * time.Second) // journeys under way
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != ExitInterrupted {
		t.Fatalf("exit %d after SIGTERM; want %d\nstderr:\n%s", code, ExitInterrupted, stderr)
	}
	r := readResults(t, out) // fails on a truncated or missing results.json
	var done bool
	for _, c := range r.Checks {
		if c.Name == "run_completed" && c.Status == results.Fail {
			done = true
		}
	}
	sc := findScenario(r, "integrated")
	if !r.Interrupted || !done || sc == nil || sc.Journeys == 0 {
		t.Errorf("results after SIGTERM: interrupted %t, run_completed failed %t, integrated scenario %v; want partial results that say the run was interrupted, with the journeys done", r.Interrupted, done, sc != nil)
	}
	for _, f := range []string{"results.json.tmp", "junit.xml.tmp", "report.md.tmp", "report.html.tmp"} {
		if _, err := os.Stat(out + "/" + f); err == nil {
			t.Errorf("%s left behind: a report was not written whole", f)
		}
	}
}
