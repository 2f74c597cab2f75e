package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// userHZ is the unit of the CPU times in /proc/PID/stat: clock ticks of
// USER_HZ, which Linux fixes at 100 a second for user space on every
// architecture goldenpath runs on (what sysconf(_SC_CLK_TCK) returns there).
const userHZ = 100

// ErrGone is the cause of the error a [ProcSource] returns when its process
// no longer exists: it has exited and been reaped, or it has exited and is a
// zombie waiting to be reaped. Test for it with errors.Is.
var ErrGone = errors.New("process is gone")

// A ProcError is an error reading one file of a process under /proc.
type ProcError struct {
	PID  int
	File string // such as "/proc/42/status"
	Err  error  // the cause: ErrGone, a system call error, or a parse error
}

// Error returns "monitor: pid PID: FILE: CAUSE".
func (e *ProcError) Error() string {
	return fmt.Sprintf("monitor: pid %d: %s: %v", e.PID, e.File, e.Err)
}

// Unwrap returns e.Err.
func (e *ProcError) Unwrap() error { return e.Err }

// ProcSource returns a [Source] that reads the process pid from Linux's
// /proc, filling in RSS, HWM and Threads (from /proc/PID/status), PSS (from
// /proc/PID/smaps_rollup, if readable; see [Sample].HasPSS), CPUSeconds
// (utime plus stime from /proc/PID/stat) and FDs (the entries of
// /proc/PID/fd), and setting HasProc.
//
// Its errors are [*ProcError]s that name the pid and the file. When the
// process has exited, the error wraps [ErrGone]. The process must be one the
// caller may inspect (one of the same user, such as a child, or any process
// when running as root): /proc/PID/fd is readable only then. A PID the kernel has reused for a new
// process is not detected; watch a child goldenpath started and has not yet
// reaped.
func ProcSource(pid int) Source { return procSource{pid: pid, root: "/proc"} }

type procSource struct {
	pid  int
	root string // "/proc", or a fixture directory in tests
}

func (p procSource) Read(_ context.Context, s *Sample) error {
	if runtime.GOOS != "linux" && p.root == "/proc" {
		return &ProcError{PID: p.pid, File: p.root, Err: fmt.Errorf("needs Linux, not %s", runtime.GOOS)}
	}
	var r Sample
	if err := p.readStat(&r); err != nil {
		return err
	}
	if err := p.readStatus(&r); err != nil {
		return err
	}
	if err := p.readPSS(&r); err != nil {
		return err
	}
	if err := p.countFDs(&r); err != nil {
		return err
	}
	s.RSS, s.HWM, s.Threads, s.CPUSeconds, s.FDs = r.RSS, r.HWM, r.Threads, r.CPUSeconds, r.FDs
	s.PSS, s.HasPSS = r.PSS, r.HasPSS
	s.HasProc = true
	return nil
}

func (p procSource) path(name string) string {
	return filepath.Join(p.root, strconv.Itoa(p.pid), name)
}

// fail returns the ProcError for reading file, mapping "no such file or
// process" to ErrGone.
func (p procSource) fail(file string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		err = ErrGone
	} else if pe, ok := errors.AsType[*fs.PathError](err); ok {
		err = pe.Err // the path is already in the message
	}
	return &ProcError{PID: p.pid, File: file, Err: err}
}

func (p procSource) read(name string) (string, []byte, error) {
	file := p.path(name)
	b, err := os.ReadFile(file)
	if err != nil {
		return file, nil, p.fail(file, err)
	}
	return file, b, nil
}

// readStat reads the process state and CPU time from /proc/PID/stat:
//
//	pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
//	majflt cmajflt utime stime ...
//
// comm may itself hold spaces and parentheses, so fields are counted from
// the last ')'.
func (p procSource) readStat(r *Sample) error {
	file, b, err := p.read("stat")
	if err != nil {
		return err
	}
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return &ProcError{PID: p.pid, File: file, Err: errors.New("no ')' after comm")}
	}
	f := strings.Fields(string(b[end+1:]))
	const state, utime, stime = 0, 11, 12 // fields 3, 14 and 15, counted from 1
	if len(f) <= stime {
		return &ProcError{PID: p.pid, File: file, Err: fmt.Errorf("%d fields after comm; want at least %d", len(f), stime+1)}
	}
	if f[state] == "Z" || f[state] == "X" {
		return &ProcError{PID: p.pid, File: file, Err: fmt.Errorf("%w (state %s)", ErrGone, f[state])}
	}
	var ticks uint64
	for _, i := range []int{utime, stime} {
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return &ProcError{PID: p.pid, File: file, Err: fmt.Errorf("field %d: %w", i+3, err)}
		}
		ticks += n
	}
	r.CPUSeconds = float64(ticks) / userHZ
	return nil
}

// readStatus reads VmRSS, VmHWM and Threads from /proc/PID/status.
func (p procSource) readStatus(r *Sample) error {
	file, b, err := p.read("status")
	if err != nil {
		return err
	}
	var found int
	for line := range strings.Lines(string(b)) {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if key != "VmRSS" && key != "VmHWM" && key != "Threads" {
			continue
		}
		v, err := parseKB(val, key != "Threads")
		if err != nil {
			return &ProcError{PID: p.pid, File: file, Err: fmt.Errorf("%s: %w", key, err)}
		}
		switch key {
		case "VmRSS":
			r.RSS = v
		case "VmHWM":
			r.HWM = v
		default:
			r.Threads = int(v)
		}
		found++
	}
	if found != 3 {
		return &ProcError{PID: p.pid, File: file, Err: errors.New("missing VmRSS, VmHWM or Threads")}
	}
	return nil
}

// readPSS reads Pss from /proc/PID/smaps_rollup. A file that is missing
// (Linux before 4.14) or unreadable (no ptrace access) leaves HasPSS false;
// a missing file is ErrGone only if the process itself has gone.
func (p procSource) readPSS(r *Sample) error {
	file := p.path("smaps_rollup")
	b, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, serr := os.Stat(p.path("")); serr != nil {
			return p.fail(file, serr)
		}
		return nil
	case errors.Is(err, fs.ErrPermission):
		return nil
	case err != nil:
		return p.fail(file, err)
	}
	for line := range strings.Lines(string(b)) {
		if val, ok := strings.CutPrefix(line, "Pss:"); ok {
			v, err := parseKB(val, true)
			if err != nil {
				return &ProcError{PID: p.pid, File: file, Err: fmt.Errorf("Pss: %w", err)}
			}
			r.PSS, r.HasPSS = v, true
			return nil
		}
	}
	return nil
}

// countFDs counts the entries of /proc/PID/fd, a batch at a time.
func (p procSource) countFDs(r *Sample) error {
	file := p.path("fd")
	d, err := os.Open(file)
	if err != nil {
		return p.fail(file, err)
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(1024)
		n += len(names)
		if err == io.EOF {
			break
		}
		if err != nil {
			return p.fail(file, err)
		}
	}
	r.FDs = n
	return nil
}

// parseKB parses a status value such as "  1234 kB" (to bytes) or, when
// !kB, a plain count such as "\t17".
func parseKB(val string, kB bool) (int64, error) {
	f := strings.Fields(val)
	if kB && (len(f) != 2 || f[1] != "kB") || !kB && len(f) != 1 {
		return 0, fmt.Errorf("%q is not a value", strings.TrimSpace(val))
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, err
	}
	if kB {
		n *= 1024
	}
	return n, nil
}
