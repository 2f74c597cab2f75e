package monitor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// helperEnv makes the test binary, run as a child, act as a target: it says
// "ready" and waits for its standard input to close.
const helperEnv = "GOLDENPATH_MONITOR_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestProcSourceFixtures(t *testing.T) {
	tests := []struct {
		pid  int
		want Sample
		err  string // a part of the error, or "" for none
		gone bool
	}{
		{pid: 100, want: Sample{RSS: 27648 << 10, HWM: 40960 << 10, PSS: 20480 << 10, HasPSS: true,
			CPUSeconds: 18, Threads: 9, FDs: 4, HasProc: true}},
		{pid: 101, want: Sample{RSS: 27648 << 10, HWM: 40960 << 10, CPUSeconds: 18, Threads: 9, FDs: 1, HasProc: true}},
		{pid: 102, err: "monitor: pid 102: testdata/proc/102/stat: process is gone (state Z)", gone: true},
		{pid: 103, err: "monitor: pid 103: testdata/proc/103/stat: 3 fields after comm; want at least 13"},
		{pid: 104, err: "monitor: pid 104: testdata/proc/104/status: missing VmRSS, VmHWM or Threads"},
		{pid: 999, err: "monitor: pid 999: testdata/proc/999/stat: process is gone", gone: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.pid), func(t *testing.T) {
			var got Sample
			err := procSource{pid: tt.pid, root: "testdata/proc"}.Read(t.Context(), &got)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("Read(pid %d) = %v; want no error", tt.pid, err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("Read(pid %d) = %v; want an error containing %q", tt.pid, err, tt.err)
			case errors.Is(err, ErrGone) != tt.gone:
				t.Fatalf("errors.Is(Read(pid %d), ErrGone) = %t; want %t", tt.pid, !tt.gone, tt.gone)
			}
			if pe, ok := errors.AsType[*ProcError](err); err != nil && (!ok || pe.PID != tt.pid) {
				t.Errorf("Read(pid %d) error %v is not a *ProcError for the pid", tt.pid, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Read(pid %d) sample = %+v; want %+v", tt.pid, got, tt.want)
			}
		})
	}
}

func TestParseKB(t *testing.T) {
	tests := []struct {
		val  string
		kB   bool
		want int64
		err  bool
	}{
		{"\t  1234 kB\n", true, 1234 << 10, false},
		{"\t9\n", false, 9, false},
		{" 12 MB", true, 0, true},
		{" 12", true, 0, true},
		{" 1 kB", false, 0, true},
		{" x kB", true, 0, true},
	}
	for _, tt := range tests {
		got, err := parseKB(tt.val, tt.kB)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("parseKB(%q, %t) = (%d, %v); want (%d, error %t)", tt.val, tt.kB, got, err, tt.want, tt.err)
		}
	}
}

// checkLive reads pid and checks that its figures are those of a live
// process.
func checkLive(t *testing.T, pid int) Sample {
	t.Helper()
	var s Sample
	if err := ProcSource(pid).Read(t.Context(), &s); err != nil {
		t.Fatalf("ProcSource(%d).Read: %v", pid, err)
	}
	if !s.HasProc || s.RSS <= 0 || s.HWM < s.RSS || s.Threads <= 0 || s.FDs <= 0 || s.CPUSeconds < 0 ||
		s.HasPSS && s.PSS <= 0 {
		t.Errorf("ProcSource(%d).Read = %+v; want positive RSS, HWM ≥ RSS, threads and FDs", pid, s)
	}
	return s
}

func TestProcSourceSelf(t *testing.T) {
	open := func() {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
	}
	open() // the first open may also start the runtime's poller, with its own descriptors
	s := checkLive(t, os.Getpid())
	open()
	if s2 := checkLive(t, os.Getpid()); s2.FDs != s.FDs+1 {
		t.Errorf("FDs = %d after opening one more file; want %d", s2.FDs, s.FDs+1)
	}
}

// TestProcSourceChild watches a child process through its life: alive,
// exited but not yet reaped (a zombie), and reaped.
func TestProcSourceChild(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("child said %q, %v; want \"ready\"", line, err)
	}
	checkLive(t, pid)

	stdin.Close()
	waitExited(t, pid)
	var s Sample
	if err := ProcSource(pid).Read(context.Background(), &s); !errors.Is(err, ErrGone) || s.HasProc {
		t.Errorf("ProcSource(%d) of a zombie: Read = %v, sample %+v; want ErrGone and no figures", pid, err, s)
	}

	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	err = ProcSource(pid).Read(context.Background(), &s)
	if !errors.Is(err, ErrGone) {
		t.Fatalf("ProcSource(%d) of a reaped process: Read = %v; want ErrGone", pid, err)
	}
	if want := fmt.Sprintf("monitor: pid %d: /proc/%d/stat: process is gone", pid, pid); err.Error() != want {
		t.Errorf("error = %q; want %q", err, want)
	}
}

// waitExited blocks until the child pid has exited, leaving it a zombie
// (waitid with WNOWAIT does not reap it).
func waitExited(t *testing.T, pid int) {
	t.Helper()
	const pPID = 1     // P_PID
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info)),
			syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			t.Fatalf("waitid(%d): %v", pid, errno)
		}
		return
	}
}
