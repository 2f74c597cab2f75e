package server_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
)

// Probe finding (issue 13, part 5): goldenpath.db, which holds password
// hashes, was created 0644.

// TestDataFilesArePrivate: the data directory is 0700 and the database
// files, which hold password hashes, are 0600 whatever the umask.
func TestDataFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	h := start(t, func(c *server.Config) { c.DataDir = dir; c.JWTSecret = nil })
	h.newUser() // a write, so that the log and its index exist
	want := map[string]fs.FileMode{
		dir:                                      0o700,
		filepath.Join(dir, server.DBFile):        0o600,
		filepath.Join(dir, server.DBFile+"-wal"): 0o600,
		filepath.Join(dir, server.DBFile+"-shm"): 0o600,
		filepath.Join(dir, "jwt.secret"):         0o600,
	}
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("stat %s: %v", path, err)
			continue
		}
		if got := fi.Mode().Perm(); got != mode {
			t.Errorf("%s has mode %04o; want %04o", filepath.Base(path), got, mode)
		}
	}
}
