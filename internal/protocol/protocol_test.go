package protocol_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

func TestEventKinds(t *testing.T) {
	tests := []struct {
		typ           string
		run, terminal bool
	}{
		{protocol.EventConnectionEstablished, false, false},
		{protocol.EventAgentStarted, true, false},
		{protocol.EventAgentThinking, true, false},
		{protocol.EventToolExecuting, true, false},
		{protocol.EventToolCompleted, true, false},
		{protocol.EventAgentCompleted, true, true},
		{protocol.EventAgentError, true, true},
		{protocol.EventPong, false, false},
		{protocol.EventHeartbeat, false, false},
		{protocol.EventErrorMessage, false, false},
		{"", false, false},
		{"AGENT_STARTED", false, false},
		{"agent_completed ", false, false},
		{protocol.MessageUser, false, false},
		{protocol.MessagePing, false, false},
	}
	for _, tt := range tests {
		if got := protocol.IsRunEvent(tt.typ); got != tt.run {
			t.Errorf("IsRunEvent(%q) = %t; want %t", tt.typ, got, tt.run)
		}
		if got := protocol.IsTerminal(tt.typ); got != tt.terminal {
			t.Errorf("IsTerminal(%q) = %t; want %t", tt.typ, got, tt.terminal)
		}
	}
	want := []string{
		"connection_established", "agent_started", "agent_thinking", "tool_executing", "tool_completed",
		"agent_completed", "agent_error", "pong", "heartbeat", "error_message",
	}
	if !slices.Equal(protocol.EventTypes, want) {
		t.Errorf("EventTypes = %q; want %q (PROTOCOL.md section 4, in order)", protocol.EventTypes, want)
	}
}

var (
	when = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	ref  = protocol.RunRef{RunID: "r_1", ThreadID: "t_1", MessageID: "m_1", UserID: "u_1"}
)

// withRunRef returns keys and the fields every run event carries.
func withRunRef(keys ...string) []string {
	return append([]string{"run_id", "thread_id", "message_id", "user_id"}, keys...)
}

// TestJSONFields marshals every message of the protocol and checks its
// field names against docs/protocol.md (PROTOCOL.md), then decodes it back.
// Nested objects are named with dots (timings.factory_ms).
func TestJSONFields(t *testing.T) {
	tests := []struct {
		name string
		v    any
		keys []string
	}{
		// Section 4: run events.
		{"agent_started", protocol.AgentStarted{RunRef: ref, AgentName: "golden-agent", AgentInstanceID: "ai_1",
			Timings: protocol.StartTimings{FactoryMS: 1.5, ConfigMS: 0.25}},
			withRunRef("agent_name", "agent_instance_id", "timings.factory_ms", "timings.config_ms")},
		{"agent_thinking", protocol.AgentThinking{RunRef: ref, Reasoning: "hmm"},
			withRunRef("reasoning")},
		{"tool_executing", protocol.ToolExecuting{RunRef: ref, ToolName: "search", ToolCallID: "tc_1"},
			withRunRef("tool_name", "tool_call_id")},
		{"tool_completed", protocol.ToolCompleted{RunRef: ref, ToolName: "search", ToolCallID: "tc_1", Result: "42"},
			withRunRef("tool_name", "tool_call_id", "result")},
		{"agent_completed", protocol.AgentCompleted{RunRef: ref, Result: protocol.Result{Content: "you said: hi"},
			CompletedAt: when, Timings: protocol.CompletedTimings{ExecutionMS: 200.5, DBMS: 0.75}},
			withRunRef("result.content", "completed_at", "timings.execution_ms", "timings.db_ms")},
		{"agent_error", protocol.AgentError{RunRef: ref, Code: "internal_error", Message: "boom"},
			withRunRef("code", "message")},
		// Section 4: other frames, and the envelope.
		{"envelope", protocol.Envelope{Type: protocol.EventHeartbeat, Seq: 7, Timestamp: when, Data: json.RawMessage(`{"server_time":"2026-01-02T03:04:05.123456789Z"}`)},
			[]string{"type", "seq", "timestamp", "data.server_time"}},
		{"pong", protocol.Ping{Nonce: "n_1"}, []string{"nonce"}},
		{"heartbeat", protocol.Heartbeat{ServerTime: when}, []string{"server_time"}},
		{"error_message", protocol.ErrorMessage{Code: protocol.ErrUnknownType, Message: "no such type"}, []string{"code", "message"}},
		// Section 2.
		{"connection_established", protocol.ConnectionEstablished{ConnectionID: "c_1", UserID: "u_1", ServerTime: when},
			[]string{"connection_id", "user_id", "server_time"}},
		// Section 3.
		{"client message", protocol.ClientMessage{Type: protocol.MessagePing, Payload: json.RawMessage(`{"nonce":"n_1"}`)},
			[]string{"type", "payload.nonce"}},
		{"user_message", protocol.UserMessage{MessageID: "m_1", Content: "hi", ThreadID: "t_1"},
			[]string{"message_id", "content", "thread_id"}},
		{"user_message without thread", protocol.UserMessage{MessageID: "m_1", Content: "hi"},
			[]string{"message_id", "content"}},
		// Section 1.
		{"credentials", protocol.Credentials{Email: "a@example.com", Password: "password1"}, []string{"email", "password"}},
		{"register reply", protocol.RegisterReply{User: protocol.User{ID: "u_1", Email: "a@example.com"}},
			[]string{"user.id", "user.email"}},
		{"login reply", protocol.LoginReply{AccessToken: "tok", TokenType: "Bearer", ExpiresIn: 3600, User: protocol.User{ID: "u_1", Email: "a@example.com"}},
			[]string{"access_token", "token_type", "expires_in", "user.id", "user.email"}},
		{"http error", protocol.HTTPError{Error: protocol.ErrorBody{Code: "unauthorized", Message: "no token"}},
			[]string{"error.code", "error.message"}},
		// Section 5.
		{"config snapshot", protocol.ConfigSnapshot{Version: 2, Checksum: "sha256:00", Values: json.RawMessage(`{"think_ms":5}`)},
			[]string{"version", "checksum", "values.think_ms"}},
		{"config update", protocol.ConfigUpdate{Values: json.RawMessage(`{"think_ms":5}`)}, []string{"values.think_ms"}},
		{"thread", protocol.Thread{ID: "t_1", Title: "hello", CreatedAt: when}, []string{"id", "title", "created_at"}},
		{"thread list", protocol.ThreadList{Threads: []protocol.Thread{{ID: "t_1", CreatedAt: when}}}, []string{"threads"}},
		{"message", protocol.Message{ID: "msg_1", Role: "assistant", Content: "hi", MessageID: "m_1", CreatedAt: when},
			[]string{"id", "role", "content", "message_id", "created_at"}},
		{"message list", protocol.MessageList{Messages: []protocol.Message{{ID: "msg_1", CreatedAt: when}}}, []string{"messages"}},
		// Section 6.
		{"ready", protocol.Ready{Phase: "draining"}, []string{"phase"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatalf("json.Marshal(%T) = %v; want no error", tt.v, err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("json.Unmarshal(%s) = %v; want an object", b, err)
			}
			got, want := flatten("", m), slices.Sorted(slices.Values(tt.keys))
			if !slices.Equal(got, want) {
				t.Errorf("json.Marshal(%T) = %s;\nhas the fields %q; want %q", tt.v, b, got, want)
			}
			back := reflect.New(reflect.TypeOf(tt.v))
			if err := json.Unmarshal(b, back.Interface()); err != nil || !reflect.DeepEqual(back.Elem().Interface(), tt.v) {
				t.Errorf("json.Unmarshal(%s) = %+v, %v; want %+v", b, back.Elem().Interface(), err, tt.v)
			}
		})
	}
}

// flatten returns the sorted dotted names of the leaves of m; an empty
// object is a leaf.
func flatten(prefix string, m map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
			out = append(out, flatten(prefix+k+".", sub)...)
			continue
		}
		out = append(out, prefix+k)
	}
	slices.Sort(out)
	return out
}

func TestTimesAreRFC3339NanoUTC(t *testing.T) {
	b, err := json.Marshal(protocol.ConnectionEstablished{ConnectionID: "c_1", UserID: "u_1", ServerTime: when})
	if err != nil {
		t.Fatal(err)
	}
	const want = `"server_time":"2026-01-02T03:04:05.123456789Z"`
	if !strings.Contains(string(b), want) {
		t.Errorf("json.Marshal(ConnectionEstablished) = %s; want it to contain %s", b, want)
	}
}
