package journey_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// A real HS256 token shape: header.payload.signature, base64url.
const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1XzEyMyIsImV4cCI6MTc2NzIyNTYwMH0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"token " + jwt + " end", "token [REDACTED] end"},
		{"Authorization: Bearer abc.def-123", "Authorization: Bearer [REDACTED]"},
		{`{"access_token":"opaque-secret","user":{"id":"u_1"}}`, `{"access_token":"[REDACTED]","user":{"id":"u_1"}}`},
		{`{"email":"a@b","password":"hunter22"}`, `{"email":"a@b","password":"[REDACTED]"}`},
		{"jwt-auth, jwt." + jwt, "jwt-auth, jwt.[REDACTED]"},
		{"version 1.2.3 at example.com", "version 1.2.3 at example.com"},
		{`{"type":"agent_thinking","seq":3}`, `{"type":"agent_thinking","seq":3}`},
	} {
		if got := journey.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestViolationSampleRedacted: a frame that carries a token is reported
// without it, truncated.
func TestViolationSampleRedacted(t *testing.T) {
	o := journey.NewOracle("u_me")
	frame := `{"type":"agent_thinking","seq":1,"timestamp":"bad","data":{"reasoning":"` + jwt + strings.Repeat("x", 1000) + `"}}`
	_, vs := o.Observe([]byte(frame))
	if len(vs) == 0 {
		t.Fatal("no violation for a bad frame")
	}
	for _, v := range vs {
		if strings.Contains(v.Sample, jwt[:20]) || !strings.Contains(v.Sample, journey.Redacted) || len(v.Sample) > journey.MaxSample+len("…") {
			t.Errorf("sample %q (%d bytes); want the JWT redacted and at most %d bytes", v.Sample, len(v.Sample), journey.MaxSample)
		}
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	a := journey.Account{Email: "a@example.test", Password: "hunter2-secret"}
	s := journey.Session{UserID: "u_1", Token: jwt}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("user", "account", a, "session", s)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s", a, a, a, a)
	if strings.Contains(out, a.Password) || strings.Contains(out, jwt) || !strings.Contains(out, a.Email) {
		t.Errorf("printed %q; want the email and no password or token", out)
	}
}
