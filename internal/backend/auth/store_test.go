package auth

import (
	"context"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/sqlite"
)

// TestWithSQLiteStore runs the account cases on the real store, whose codes
// (ECONFLICT for a taken email, ENOTFOUND for an unknown one) Register and
// Login rely on.
func TestWithSQLiteStore(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "goldenpath.db"))
	if err != nil {
		t.Fatalf("sqlite.Open() = %v", err)
	}
	t.Cleanup(func() { store.Close() })
	svc, err := New(store, testSecret, WithHashCost(bcrypt.MinCost))
	if err != nil {
		t.Fatalf("New(sqlite store) = %v", err)
	}
	user := mustRegister(t, svc, " Ada@Example.com", adaPW)
	if _, err := svc.Register(ctx, testClient, "ADA@example.com", "another password"); backend.ErrorCode(err) != backend.ECONFLICT {
		t.Errorf("Register(taken email) = %v; want %s", err, backend.ECONFLICT)
	}
	cases := []struct{ email, password, wantCode string }{
		{"ada@EXAMPLE.com", adaPW, ""},
		{ada, "wrong password", backend.EUNAUTHORIZED},
		{"nobody@example.com", adaPW, backend.EUNAUTHORIZED},
	}
	for _, tc := range cases {
		sess, err := svc.Login(ctx, testClient, tc.email, tc.password)
		if code := backend.ErrorCode(err); code != tc.wantCode {
			t.Errorf("Login(%q, %q) = %v; want code %q", tc.email, tc.password, err, tc.wantCode)
		} else if code == "" && sess.User.ID != user.ID {
			t.Errorf("Login(%q) = user %q; want %q", tc.email, sess.User.ID, user.ID)
		}
	}
}
