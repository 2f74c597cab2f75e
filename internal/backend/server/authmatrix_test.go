package server_test

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/backend/server"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// The auth matrix of docs/security.md (issue 13, part 3): every route of
// the reference backend against every way a request can carry the wrong
// credentials, over real TCP. A change here belongs in that table too.

// mint re-signs good with key and method after edit has changed its header
// and claims, so that the token differs from one the server issued in that
// one respect.
func mint(t *testing.T, good string, method jwt.SigningMethod, key any, edit func(hdr, claims jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{}
	parsed, _, err := jwt.NewParser().ParseUnverified(good, claims)
	if err != nil {
		t.Fatalf("parse the server's token: %v", err)
	}
	hdr := jwt.MapClaims(maps.Clone(parsed.Header))
	claims["jti"] = "minted-" + randHex(8)
	edit(hdr, claims)
	tok := jwt.NewWithClaims(method, claims)
	maps.Copy(tok.Header, hdr)
	tok.Header["alg"] = method.Alg()
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// credential is one way of presenting the wrong token.
type credential struct{ name, token string }

// badTokens are the tokens every authenticated route refuses, made from
// good, an access token of user u; refresh is a refresh token of u, or ""
// when the face issues none (one is then minted with the server's key).
func badTokens(t *testing.T, good, refresh string) []credential {
	t.Helper()
	now := time.Now()
	same := func(jwt.MapClaims, jwt.MapClaims) {}
	if refresh == "" {
		refresh = mint(t, good, jwt.SigningMethodHS256, []byte(testSecret), func(h, c jwt.MapClaims) {
			h["typ"], c["token_type"] = "rt+jwt", "refresh"
		})
	}
	return []credential{
		{"no token", ""},
		{"garbage", "garbage-" + randHex(8)},
		{"three dots of nothing", "a.b.c"},
		{"alg none", mint(t, good, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, same)},
		{"wrong key", mint(t, good, jwt.SigningMethodHS256, []byte("another-secret-another-secret-0123456789"), same)},
		{"HS512 with the right key", mint(t, good, jwt.SigningMethodHS512, []byte(testSecret), same)},
		{"expired", mint(t, good, jwt.SigningMethodHS256, []byte(testSecret), func(_, c jwt.MapClaims) {
			c["exp"], c["iat"] = now.Add(-time.Minute).Unix(), now.Add(-time.Hour).Unix()
		})},
		{"no exp", mint(t, good, jwt.SigningMethodHS256, []byte(testSecret), func(_, c jwt.MapClaims) { delete(c, "exp") })},
		{"foreign issuer", mint(t, good, jwt.SigningMethodHS256, []byte(testSecret), func(_, c jwt.MapClaims) { c["iss"] = "https://issuer.example" })},
		{"foreign audience", mint(t, good, jwt.SigningMethodHS256, []byte(testSecret), func(_, c jwt.MapClaims) { c["aud"] = "someone-else" })},
		{"refresh token as access token", refresh},
		{"user that does not exist", mint(t, good, jwt.SigningMethodHS256, []byte(testSecret), func(_, c jwt.MapClaims) { c["sub"] = "u_" + randHex(12) })},
	}
}

// route is one HTTP route of a face, with a request that succeeds for the
// right caller.
type route struct {
	method, path string
	body         any
	ok           int
}

func TestAuthMatrixGoldenpath(t *testing.T) {
	h := start(t)
	a, b := h.newUser(), h.newUser()
	thread := h.dial(a).run("mine", "")[0].str("thread_id")
	bad := badTokens(t, a.token, "")

	userRoutes := []route{
		{"GET", protocol.PathConfig, nil, 200},
		{"POST", protocol.PathThreads, map[string]any{"title": "t"}, 201},
		{"GET", protocol.PathThreads, nil, 200},
		{"GET", protocol.PathThreads + "/" + thread + "/messages", nil, 200},
	}
	for _, rt := range userRoutes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			for _, c := range bad {
				r := h.do(rt.method, rt.path, c.token, rt.body)
				if r.code != http.StatusUnauthorized || r.errorCode(t) != "unauthorized" || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: %d %.200s (WWW-Authenticate %q); want 401 unauthorized with a Bearer challenge", c.name, r.code, r.body, r.header.Get("WWW-Authenticate"))
				}
			}
			if r := h.do(rt.method, rt.path, a.token, rt.body); r.code != rt.ok {
				t.Errorf("the owner's access token: %d %.200s; want %d", r.code, r.body, rt.ok)
			}
		})
	}

	t.Run("GET /ws", func(t *testing.T) {
		for _, c := range bad {
			for _, sub := range []bool{false, true} {
				if _, err := h.tryDial(c.token, sub); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
					t.Errorf("%s (subprotocol %t): upgrade %v; want HTTP 401", c.name, sub, err)
				}
			}
		}
		h.dial(a).ws.Close()
	})

	t.Run("BOLA", func(t *testing.T) {
		// Another user's thread is answered as no thread at all (404, not
		// 403), so that ids cannot be probed for existence (OWASP API1).
		if r := h.do("GET", protocol.PathThreads+"/"+thread+"/messages", b.token, nil); r.code != http.StatusNotFound || r.errorCode(t) != "not_found" {
			t.Errorf("GET another user's thread: %d %.200s; want 404 not_found", r.code, r.body)
		}
		if r := h.do("GET", protocol.PathThreads+"/t_"+randHex(12)+"/messages", b.token, nil); r.code != http.StatusNotFound {
			t.Errorf("GET a thread that does not exist: %d; want 404 as for another user's", r.code)
		}
		if r := h.do("POST", protocol.PathThreads+"/"+thread+"/messages", b.token, map[string]any{"content": "x"}); r.code != http.StatusNotFound {
			t.Errorf("POST to another user's thread: %d %.200s; want 404 (no such route: messages go over the socket)", r.code, r.body)
		}
		evs := h.dial(b).run("intrude", thread)
		if last := evs[len(evs)-1]; len(evs) != 1 || last.Type != protocol.EventErrorMessage || last.str("code") != protocol.ErrBadRequest {
			t.Errorf("user_message into another user's thread: %v; want one error_message bad_request", types(evs))
		}
		var ml protocol.MessageList
		h.do("GET", protocol.PathThreads+"/"+thread+"/messages", a.token, nil).decode(t, &ml)
		if len(ml.Messages) != 2 {
			t.Errorf("the owner's thread holds %d messages after the intrusion; want 2", len(ml.Messages))
		}
	})

	t.Run("PUT "+protocol.PathAdminConfig, func(t *testing.T) {
		body := map[string]any{"values": map[string]any{"think_ms": 0}}
		for _, c := range []struct {
			name, token string
			want        int
		}{
			{"no token", "", 401},
			{"garbage", "garbage", 403},
			{"a user's access token", a.token, 403},
			{"a wrong admin token", "admin-secreT", 403},
			{"the admin token", "admin-secret", 200},
		} {
			if r := h.do("PUT", protocol.PathAdminConfig, c.token, body); r.code != c.want {
				t.Errorf("%s: %d %.200s; want %d", c.name, r.code, r.body, c.want)
			}
		}
		off := start(t, func(c *server.Config) { c.AdminToken = "" })
		if r := off.do("PUT", protocol.PathAdminConfig, "admin-secret", body); r.code != http.StatusForbidden {
			t.Errorf("admin calls disabled (no --admin-token): %d; want 403", r.code)
		}
	})

	t.Run("public", func(t *testing.T) {
		for _, rt := range []route{
			{"POST", protocol.PathRegister, protocol.Credentials{Email: "p-" + randHex(4) + "@example.test", Password: "password-1"}, 201},
			{"POST", protocol.PathLogin, protocol.Credentials{Email: a.email, Password: a.password}, 200},
			{"GET", protocol.PathHealthz, nil, 200},
			{"GET", protocol.PathReadyz, nil, 200},
			{"GET", protocol.PathMetrics, nil, 200},
			{"GET", "/v1/models", nil, 200},
			{"POST", "/v1/chat/completions", map[string]any{"model": "goldenpath-sim", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}, 200},
		} {
			if r := h.do(rt.method, rt.path, "", rt.body); r.code != rt.ok {
				t.Errorf("%s %s without a token: %d %.200s; want %d", rt.method, rt.path, r.code, r.body, rt.ok)
			}
		}
	})

	t.Run("frames", func(t *testing.T) {
		big, _ := json.Marshal(userMessage("m-big", strings.Repeat("x", 64<<10), ""))
		if code, err := h.wsCloseCode(a, big); err != nil || code != protocol.CloseTooBig {
			t.Errorf("a 64 KiB frame: close %d, %v; want 1009", code, err)
		}
		if code, err := h.wsCloseCode(a, []byte("{\"type\":\"ping\",\"payload\":{\"nonce\":\"\xff\"}}")); err != nil || code != protocol.CloseInvalidPayload {
			t.Errorf("a frame that is not UTF-8: close %d, %v; want 1007", code, err)
		}
	})
}

// netraLogin registers and logs in a user on the Netra face and returns its
// access and refresh tokens.
func netraLogin(t *testing.T, h *harness) (email, access, refresh string) {
	t.Helper()
	email = "n-" + randHex(6) + "@example.test"
	if r := h.do("POST", "/auth/register", "", map[string]string{"email": email, "password": "password-1", "name": "N"}); r.code != 200 {
		t.Fatalf("netra register: %d %.200s", r.code, r.body)
	}
	var tr struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	h.do("POST", "/auth/login", "", map[string]string{"email": email, "password": "password-1"}).decode(t, &tr)
	return email, tr.Access, tr.Refresh
}

// netraDial opens Netra's /ws with token in the recommended subprotocol
// pair and returns the first frame's type (or "") and the close code.
func netraDial(t *testing.T, h *harness, token string) (first string, code int) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{"jwt-auth", "jwt." + base64.RawURLEncoding.EncodeToString([]byte(token))}}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(h.url, "http")+"/ws", nil)
	if err != nil {
		if resp != nil {
			return "", resp.StatusCode
		}
		t.Fatalf("dial netra: %v", err)
	}
	defer ws.Close()
	for {
		_ = ws.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, b, err := ws.ReadMessage()
		if err != nil {
			ce, _ := err.(*websocket.CloseError)
			if ce != nil {
				return first, ce.Code
			}
			return first, 0 // still open: authenticated
		}
		var f struct {
			Type      string `json:"type"`
			ErrorCode string `json:"error_code"`
		}
		_ = json.Unmarshal(b, &f)
		if first == "" {
			first = f.Type
			if f.ErrorCode != "" {
				first += " " + f.ErrorCode
			}
		}
	}
}

func TestAuthMatrixNetra(t *testing.T) {
	h := start(t, func(c *server.Config) { c.Protocol = server.ProtocolNetra; c.BypassKey = "bypass-secret" })
	_, access, refresh := netraLogin(t, h)
	if refresh == access {
		t.Errorf("netra login answered the access token as its refresh token; want two tokens of two types (RFC 8725 3.11)")
	}
	bad := badTokens(t, access, refresh)

	t.Run("GET /ws", func(t *testing.T) {
		for _, c := range bad {
			if first, code := netraDial(t, h, c.token); code != protocol.ClosePolicy || first != "error_message AUTH_FAILED" {
				t.Errorf("%s: first frame %q, close %d; want error_message AUTH_FAILED, then close 1008", c.name, first, code)
			}
		}
		if first, code := netraDial(t, h, access); code != 0 || first == "" || strings.HasPrefix(first, "error_message") {
			t.Errorf("the access token: first frame %q, close %d; want the handshake on an open socket", first, code)
		}
	})

	t.Run("POST /auth/refresh", func(t *testing.T) {
		asRefresh := []credential{{"access token as refresh token", access}}
		for _, c := range append(asRefresh, bad...) {
			if c.token == refresh {
				continue
			}
			if r := h.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": c.token}); r.code != http.StatusUnauthorized {
				t.Errorf("%s: %d %.200s; want 401", c.name, r.code, r.body)
			}
		}
		r := h.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": refresh})
		var tr struct {
			Access string `json:"access_token"`
		}
		if r.code != http.StatusOK {
			t.Fatalf("the refresh token: %d %.200s; want 200", r.code, r.body)
		}
		r.decode(t, &tr)
		if first, code := netraDial(t, h, tr.Access); code != 0 || strings.HasPrefix(first, "error_message") {
			t.Errorf("the refreshed access token on /ws: first frame %q, close %d; want accepted", first, code)
		}
	})

	t.Run("POST /auth/e2e/test-auth", func(t *testing.T) {
		body := map[string]any{"email": "e2e-" + randHex(4) + "@example.test", "name": "E"}
		for _, c := range []struct {
			name, key string
			want      int
		}{{"no key", "", 401}, {"a wrong key", "bypass-secreT", 401}, {"the key", "bypass-secret", 200}} {
			b, _ := json.Marshal(body)
			req, _ := http.NewRequest("POST", h.url+"/auth/e2e/test-auth", strings.NewReader(string(b)))
			if c.key != "" {
				req.Header.Set("X-E2E-Bypass-Key", c.key)
			}
			resp, err := h.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s: %d; want %d", c.name, resp.StatusCode, c.want)
			}
		}
		off := start(t, func(c *server.Config) { c.Protocol = server.ProtocolNetra })
		if r := off.do("POST", "/auth/e2e/test-auth", "", body); r.code != http.StatusServiceUnavailable {
			t.Errorf("bypass not configured: %d; want 503", r.code)
		}
	})

	t.Run("bodies and frames", func(t *testing.T) {
		if code, took := h.bodyTooLarge("POST", "/auth/login", "", 64<<20, false); code != http.StatusRequestEntityTooLarge || took > 5*time.Second {
			t.Errorf("POST /auth/login with Content-Length 64 MiB: %d after %v; want 413 at once", code, took)
		}
	})
}
