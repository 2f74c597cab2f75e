//go:build unix

package suite

import "syscall"

// fileLimit is the process's soft limit of open files; ok is false where
// it cannot be read.
func fileLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return rl.Cur, true
}
