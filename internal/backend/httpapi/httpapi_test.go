package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/goldenpath-dev/goldenpath/internal/backend/auth"
	"github.com/goldenpath-dev/goldenpath/internal/backend/config"
	"github.com/goldenpath-dev/goldenpath/internal/backend/httpapi"
	"github.com/goldenpath-dev/goldenpath/internal/backend/sqlite"
	"github.com/goldenpath-dev/goldenpath/internal/backend/telemetry"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// TestStoreErrorsShowNoInternals breaks the store under a running API (its
// database closed) and checks that no reply carries the store's words,
// while the log keeps them.
func TestStoreErrorsShowNoInternals(t *testing.T) {
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "goldenpath.db"))
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(store, []byte("0123456789abcdef0123456789abcdef"), auth.WithHashCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	values, err := config.Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.New(values)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{
		Auth: authn, Store: store, Config: cfg, Registry: telemetry.New().Registry,
		Phase: func() string { return httpapi.PhaseReady }, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		IDs: func(p string) string { return p + "1" },
	}))
	defer srv.Close()
	call := func(method, path, token string, body any) (int, string) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	creds := protocol.Credentials{Email: "a@example.test", Password: "password-1"}
	call("POST", protocol.PathRegister, "", creds)
	var lr protocol.LoginReply
	_, body := call("POST", protocol.PathLogin, "", creds)
	if err := json.Unmarshal([]byte(body), &lr); err != nil || lr.AccessToken == "" {
		t.Fatalf("login = %s; want a token", body)
	}
	if code, body := call("POST", protocol.PathRegister, "", creds); code != http.StatusConflict || strings.Contains(body, "sqlite") {
		t.Errorf("register a taken email = %d %s; want 409 without the store's words", code, body)
	}

	store.Close()
	for _, c := range []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"POST", protocol.PathRegister, "", protocol.Credentials{Email: "b@example.test", Password: "password-1"}, 500},
		{"POST", protocol.PathLogin, "", creds, 500},
		{"GET", protocol.PathThreads, lr.AccessToken, nil, 500},
		{"POST", protocol.PathThreads, lr.AccessToken, map[string]string{"title": "t"}, 500},
		{"GET", protocol.PathThreads + "/t_1/messages", lr.AccessToken, nil, 500},
		{"GET", protocol.PathReadyz, "", nil, 503},
	} {
		code, body := call(c.method, c.path, c.token, c.body)
		if code != c.want || strings.Contains(body, "sqlite") || strings.Contains(body, "closed") {
			t.Errorf("%s %s with the database closed = %d %s; want %d without the store's words", c.method, c.path, code, body, c.want)
		}
	}
	if !strings.Contains(logs.String(), "sqlite: store is closed") {
		t.Errorf("the log lacks the store's error; it holds:\n%s", logs.String())
	}
}
