package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Oversized request bodies are refused early (issue 13, part 3; OWASP API4).

// slowBody sends a JSON prefix, then trickles bytes until ctx ends.
type slowBody struct {
	ctx  context.Context
	sent bool
}

func (b *slowBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, `{"email":"`), nil
	}
	select {
	case <-b.ctx.Done():
		return 0, io.EOF
	case <-time.After(100 * time.Millisecond):
		p[0] = 'a'
		return 1, nil
	}
}

// bodyTooLarge sends path a body that declares (or, chunked, grows to) more
// than the server takes, and returns the status and how long it took.
func (h *harness) bodyTooLarge(method, path, token string, declared int64, chunked bool) (int, time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	var body io.Reader = &slowBody{ctx: ctx}
	if chunked {
		body = io.MultiReader(strings.NewReader(`{"email":"`), strings.NewReader(strings.Repeat("a", int(declared))), &slowBody{ctx: ctx, sent: true})
	}
	req, _ := http.NewRequestWithContext(ctx, method, h.url+path, body)
	if !chunked {
		req.ContentLength = declared
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Errorf("%s %s with a body over the limit: %v", method, path, err)
		return 0, time.Since(start)
	}
	defer resp.Body.Close()
	var e protocol.HTTPError
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, time.Since(start)
}

// TestOversizedBodiesRefusedEarly: a body over the limit gets 413 without
// the server waiting for it whole: at once when Content-Length says so,
// and at the limit when the body is chunked.
func TestOversizedBodiesRefusedEarly(t *testing.T) {
	h := start(t)
	u := h.newUser()
	for _, tc := range []struct {
		method, path, token string
		declared            int64
		chunked             bool
	}{
		{"POST", protocol.PathLogin, "", 64 << 20, false},
		{"POST", protocol.PathRegister, "", 64 << 20, false},
		{"POST", protocol.PathThreads, u.token, 64 << 20, false},
		{"PUT", protocol.PathAdminConfig, "admin-secret", 64 << 20, false},
		{"POST", protocol.PathLogin, "", 2 << 20, true},
		{"PUT", protocol.PathAdminConfig, "admin-secret", 2 << 20, true},
	} {
		code, took := h.bodyTooLarge(tc.method, tc.path, tc.token, tc.declared, tc.chunked)
		if code != http.StatusRequestEntityTooLarge || took > 5*time.Second {
			t.Errorf("%s %s with %d bytes (chunked %t) = %d after %v; want 413 at once", tc.method, tc.path, tc.declared, tc.chunked, code, took.Round(time.Millisecond))
		}
	}
}
