package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/goldenpath-dev/goldenpath/internal/backend/auth"
	"github.com/goldenpath-dev/goldenpath/internal/backend/chatapi"
	"github.com/goldenpath-dev/goldenpath/internal/backend/config"
	"github.com/goldenpath-dev/goldenpath/internal/backend/httpapi"
	"github.com/goldenpath-dev/goldenpath/internal/backend/sqlite"
	"github.com/goldenpath-dev/goldenpath/internal/backend/telemetry"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

const adminToken = "fuzz-admin-token"

// api is the reference backend's HTTP handler on a real SQLite store in
// dir, with the OpenAI-compatible face under /v1/, and the access token
// of a user it has registered.
func api(tb testing.TB, dir string) (http.Handler, string) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "goldenpath.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	authn, err := auth.New(store, bytes.Repeat([]byte("k"), auth.MinSecretBytes), auth.WithHashCost(bcrypt.MinCost))
	if err != nil {
		tb.Fatal(err)
	}
	values, err := config.Load("", nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.New(values)
	if err != nil {
		tb.Fatal(err)
	}
	var n atomic.Int64
	h := httpapi.New(httpapi.Deps{Auth: authn, Store: store, Config: cfg, AdminToken: adminToken,
		Registry: telemetry.New().Registry, Phase: func() string { return httpapi.PhaseReady },
		Chat: chatapi.New(chatapi.Options{}),
		IDs:  func(prefix string) string { return prefix + strconv.FormatInt(n.Add(1), 10) }})
	owner := []byte(`{"email":"owner@example.test","password":"password1"}`)
	if rec := do(h, http.MethodPost, protocol.PathRegister, owner, ""); rec.Code != http.StatusCreated {
		tb.Fatalf("register the owner: %d %s", rec.Code, rec.Body.Bytes())
	}
	rec := do(h, http.MethodPost, protocol.PathLogin, owner, "")
	var lr protocol.LoginReply
	if err := json.Unmarshal(rec.Body.Bytes(), &lr); err != nil || rec.Code != http.StatusOK {
		tb.Fatalf("log the owner in: %d %s", rec.Code, rec.Body.Bytes())
	}
	return h, lr.AccessToken
}

// routes are the requests FuzzHTTPBodies sends, by the route byte.
var routes = []struct{ method, path string }{
	{http.MethodPost, protocol.PathRegister},
	{http.MethodPost, protocol.PathLogin},
	{http.MethodPost, protocol.PathThreads},
	{http.MethodPut, protocol.PathAdminConfig},
	{http.MethodGet, protocol.PathThreads + "/{body}/messages"},
	{http.MethodPost, "/v1/chat/completions"},
}

// FuzzHTTPBodies sends bodies to the reference backend's routes through
// its real handler and SQLite store: register, login, a new thread, the
// admin config, a thread's messages (the body as its id) and a chat
// completion. No body makes it fail on its own side (5xx) or panic; every
// error is the JSON error shape with a code and a message; every success
// is its route's reply; an account registered logs in with the same
// credentials, and its token is accepted.
func FuzzHTTPBodies(f *testing.F) {
	for _, seed := range []struct {
		route uint8
		body  string
	}{
		{0, `{"email":"a@example.test","password":"password1"}`},
		{0, `{"email":" MiXeD@Example.TEST ","password":"pässwörd\u0000"}`},
		{0, `{"email":"a@b","password":"` + strings.Repeat("x", 73) + `"}`},
		{1, `{"email":"owner@example.test","password":"password1"}`},
		{1, `{"email":"owner@example.test","password":"wrong-password"}`},
		{2, `{"title":"  a thread  "}`},
		{2, `{"title":"` + strings.Repeat("é", 101) + `"}`},
		{3, `{"values":{"think_ms":0,"agent_name":"x"}}`},
		{3, `{"values":{"think_ms":-1}}`},
		{4, `t_1`},
		{4, `../../etc`},
		{5, `{"model":"goldenpath-sim","messages":[{"role":"user","content":"n1 hello"}],"stream":true,"max_tokens":2}`},
		{5, `{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"max_tokens":-1}`},
		{0, `{"email":"a@b","password":"password1","extra":1}`},
		{1, `{"email":"a@b"} trailing`},
	} {
		f.Add(seed.route, []byte(seed.body))
	}
	h, token := api(f, f.TempDir())
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		path := rt.path
		if strings.Contains(path, "{body}") {
			path = strings.Replace(path, "{body}", url.PathEscape(string(body)), 1)
		}
		rec := do(h, rt.method, path, body, token)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q = %d %s; want no server error for a client's body", rt.method, path, body, rec.Code, rec.Body.Bytes())
		}
		if rt.path == "/v1/chat/completions" {
			checkChat(t, rec, body)
			return
		}
		if rec.Code >= 300 && rec.Code < 400 && rec.Header().Get("Location") != "" {
			return // the mux's redirect to the clean path (an empty id: //messages)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s %q = %d: Content-Type %q; want application/json", rt.method, path, body, rec.Code, ct)
		}
		if rec.Code >= 300 {
			var e protocol.HTTPError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s %s %q = %d %s; want {\"error\":{\"code\",\"message\"}} (%v)", rt.method, path, body, rec.Code, rec.Body.Bytes(), err)
			}
			return
		}
		switch rt.path {
		case protocol.PathRegister:
			var reply protocol.RegisterReply
			var c protocol.Credentials
			if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || reply.User.ID == "" || json.Unmarshal(body, &c) != nil ||
				reply.User.Email != strings.ToLower(strings.TrimSpace(c.Email)) {
				t.Fatalf("register %q = %d %s; want the user, email %q", body, rec.Code, rec.Body.Bytes(), strings.ToLower(strings.TrimSpace(c.Email)))
			}
			login := do(h, http.MethodPost, protocol.PathLogin, body, "")
			if login.Code == http.StatusTooManyRequests {
				return
			}
			var lr protocol.LoginReply
			if login.Code != http.StatusOK || json.Unmarshal(login.Body.Bytes(), &lr) != nil || lr.User.ID != reply.User.ID {
				t.Fatalf("login %q, just registered as %s = %d %s; want 200 and the user", body, reply.User.ID, login.Code, login.Body.Bytes())
			}
			if got := do(h, http.MethodGet, protocol.PathThreads, nil, lr.AccessToken); got.Code != http.StatusOK {
				t.Fatalf("GET %s with the token of %q = %d %s; want 200", protocol.PathThreads, body, got.Code, got.Body.Bytes())
			}
		case protocol.PathLogin:
			var lr protocol.LoginReply
			if err := json.Unmarshal(rec.Body.Bytes(), &lr); err != nil || lr.AccessToken == "" || lr.TokenType != "Bearer" || lr.ExpiresIn <= 0 {
				t.Fatalf("login %q = %d %s; want a bearer token", body, rec.Code, rec.Body.Bytes())
			}
		case protocol.PathThreads:
			var th protocol.Thread
			if err := json.Unmarshal(rec.Body.Bytes(), &th); err != nil || th.ID == "" || th.Title == "" || len(th.Title) > 200 {
				t.Fatalf("POST %s %q = %d %s; want a thread with a title of 1 to 200 bytes", protocol.PathThreads, body, rec.Code, rec.Body.Bytes())
			}
		case protocol.PathAdminConfig:
			var snap protocol.ConfigSnapshot
			if err := json.Unmarshal(rec.Body.Bytes(), &snap); err != nil {
				t.Fatalf("PUT %s %q = %d %s; want a snapshot", protocol.PathAdminConfig, body, rec.Code, rec.Body.Bytes())
			}
			if ok, err := protocol.VerifyChecksum(snap.Values, snap.Checksum); !ok || err != nil {
				t.Fatalf("PUT %s %q = %s; its checksum does not verify (%v)", protocol.PathAdminConfig, body, rec.Body.Bytes(), err)
			}
		default: // a thread's messages
			var ml protocol.MessageList
			if err := json.Unmarshal(rec.Body.Bytes(), &ml); err != nil || ml.Messages == nil {
				t.Fatalf("GET %s = %d %s; want a list of messages", path, rec.Code, rec.Body.Bytes())
			}
		}
	})
}

// do sends one request to h: the admin token to the admin route, else
// token (none when empty).
func do(h http.Handler, method, path string, body []byte, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://backend.test"+path, bytes.NewReader(body))
	if path == protocol.PathAdminConfig {
		token = adminToken
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// checkChat checks an OpenAI-compatible reply: an event stream or a
// completion on success, {"error":{"message",...}} otherwise.
func checkChat(t *testing.T, rec *httptest.ResponseRecorder, body []byte) {
	t.Helper()
	ct := rec.Header().Get("Content-Type")
	switch {
	case rec.Code == http.StatusOK && strings.HasPrefix(ct, "text/event-stream"):
		if !bytes.HasSuffix(rec.Body.Bytes(), []byte("data: [DONE]\n\n")) {
			t.Fatalf("chat %q: a stream that does not end with [DONE]: %q", body, rec.Body.Bytes())
		}
	case rec.Code == http.StatusOK:
		var c struct {
			Object string `json:"object"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || c.Object != "chat.completion" {
			t.Fatalf("chat %q = 200 %s; want a chat.completion", body, rec.Body.Bytes())
		}
	default:
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
			t.Fatalf("chat %q = %d %s; want an OpenAI error with a message", body, rec.Code, rec.Body.Bytes())
		}
	}
}
