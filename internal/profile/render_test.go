package profile

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRenderRequests(t *testing.T) {
	f := Fields{MessageID: "m1-x", Content: `n7f3a "quoted" <b>`, ThreadID: "t_1", RunID: "vu1-1", Model: "goldenpath-sim",
		Captured: map[string]string{"thread_id": "thread_ws_1"}}
	for _, tc := range []struct{ profile, want string }{
		{"goldenpath", `{"payload":{"content":"n7f3a \"quoted\" \u003cb\u003e","message_id":"m1-x","thread_id":"t_1"},"type":"user_message"}`},
		{"netra", `{"payload":{"content":"n7f3a \"quoted\" \u003cb\u003e","run_id":"vu1-1","thread_id":"thread_ws_1"},"type":"user_message"}`},
		{"openai", `{"max_tokens":64,"messages":[{"content":"n7f3a \"quoted\" \u003cb\u003e","role":"user"}],"model":"goldenpath-sim","stream":true,"stream_options":{"include_usage":true}}`},
	} {
		p, err := Load(tc.profile)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Render(p.Request.Body, f)
		if err != nil {
			t.Fatalf("%s: Render = %v", tc.profile, err)
		}
		b, err := json.Marshal(v)
		if err != nil || string(b) != tc.want {
			t.Errorf("%s request = %s, %v; want %s", tc.profile, b, err, tc.want)
		}
	}
	p, _ := Load("netra")
	hdr, err := Render(p.Auth.Bypass.Header, Fields{BypassKey: "k-123"})
	if err != nil || hdr.(map[string]string)["X-E2E-Bypass-Key"] != "k-123" {
		t.Errorf("netra bypass header = %v, %v; want the key", hdr, err)
	}
	if _, err := Render(map[string]any{"a": []any{"{{.Nope}}"}}, f); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("Render of an unknown field = %v; want an error naming it", err)
	}
	if _, err := Render("{{.Captured.missing}}", f); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Render of a capture never made = %v; want an error naming it", err)
	}
}
