package sqlite

import (
	"path/filepath"
	"testing"
	"time"
)

// TestConnectionPragmas asks the writer connection and a reader connection
// for the per-connection settings that the DSN is meant to give them.
func TestConnectionPragmas(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "test.db"), WithBusyTimeout(1234*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	tests := []struct {
		pragma         string
		writer, reader int
	}{
		{"busy_timeout", 1234, 1234},
		{"foreign_keys", 1, 1},
		{"synchronous", 1, -1}, // NORMAL; readers never write
		{"query_only", 0, 1},
	}
	for _, tt := range tests {
		var got int
		err := s.write(ctx, "pragma", func(wc *writeConn) error {
			return wc.conn.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got)
		})
		if err != nil || got != tt.writer {
			t.Errorf("writer: PRAGMA %s = (%d, %v); want (%d, nil)", tt.pragma, got, err, tt.writer)
		}
		if tt.reader < 0 {
			continue
		}
		err = s.readDB.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got)
		if err != nil || got != tt.reader {
			t.Errorf("reader: PRAGMA %s = (%d, %v); want (%d, nil)", tt.pragma, got, err, tt.reader)
		}
	}
}
