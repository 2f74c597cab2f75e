package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/backend/agent"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

const apiKey = "sk-test-secret-key"

// chunk is one SSE event carrying a content delta.
func chunk(text string) string {
	b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"delta": map[string]string{"content": text}}}})
	return "data: " + string(b) + "\n\n"
}

const done = "data: [DONE]\n\n"

// captured is what the fake endpoint received.
type captured struct {
	method, path, auth, accept string
	body                       struct {
		Model    string `json:"model"`
		Messages []struct {
			Role, Content string
		} `json:"messages"`
		Stream bool `json:"stream"`
	}
}

// endpoint starts a real HTTP server answering every request with status
// and body, flushed in one piece per SSE event.
func endpoint(t *testing.T, status int, body string) (*agent.OpenAI, *captured) {
	t.Helper()
	var got captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.auth, got.accept = r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Accept")
		_ = json.NewDecoder(r.Body).Decode(&got.body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(status)
		for ev := range strings.SplitAfterSeq(body, "\n\n") {
			_, _ = io.WriteString(w, ev)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	m, err := agent.NewOpenAI(srv.URL+"/v1/chat/completions", "test-model", apiKey, srv.Client())
	if err != nil {
		t.Fatalf("NewOpenAI(%s) = %v; want nil", srv.URL, err)
	}
	return m, &got
}

// thoughts records the Thinking calls of a model.
type thoughts struct{ got []string }

func (o *thoughts) Thinking(text string) error        { o.got = append(o.got, text); return nil }
func (o *thoughts) ToolStart(_, _ string) error       { return nil }
func (o *thoughts) ToolDone(_, _ string, _ any) error { return nil }
func (o *thoughts) String() string                    { return fmt.Sprintf("%q", o.got) }

func TestOpenAIStreamsDeltasAsThinking(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		want  []string // Thinking calls
		model string   // the model's text in the answer
	}{
		{"deltas", `data: {"choices":[{"delta":{"role":"assistant"}}]}` + "\n\n" + chunk("Hel") + chunk("") + ": keep-alive\n\n" +
			chunk("lo <&>") + `data: {"choices":[]}` + "\n\n" + done, []string{"Hel", "lo <&>"}, "Hello <&>"},
		{"an event over two data lines", "data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"split\"}}]}\n\n" + done, []string{"split"}, "split"},
		{"fields besides data", "event: message\nid: 7\nretry: 10\n" + chunk("x") + done, []string{"x"}, "x"},
		{"no blank line after [DONE]", chunk("x") + "data: [DONE]", []string{"x"}, "x"},
		{"an empty stream", done, []string{"(the model sent no text)"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, got := endpoint(t, http.StatusOK, tt.body)
			obs := &thoughts{}
			answer, err := m.Respond(t.Context(), agent.Input{Content: content}, obs)
			if err != nil {
				t.Fatalf("Respond = %v; want nil", err)
			}
			if fmt.Sprintf("%q", obs.got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("Thinking calls = %s; want %q", obs, tt.want)
			}
			if !strings.HasPrefix(answer, tt.model) || !strings.Contains(answer, content) {
				t.Errorf("answer = %q; want the model's text %q, then the request %q verbatim", answer, tt.model, content)
			}
			b := got.body
			if got.method != http.MethodPost || got.path != "/v1/chat/completions" || got.auth != "Bearer "+apiKey ||
				got.accept != "text/event-stream" || b.Model != "test-model" || !b.Stream ||
				len(b.Messages) != 1 || b.Messages[0].Role != "user" || b.Messages[0].Content != content {
				t.Errorf("endpoint received %+v; want a streaming POST of the user's content to test-model with the Bearer key", *got)
			}
		})
	}
}

func TestOpenAIReportsFailures(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantMsg string
	}{
		{"error status", http.StatusServiceUnavailable, `{"error":"overloaded, try later"}`, `answered 503 Service Unavailable: "{\"error\":\"overloaded, try later\"}"`},
		{"malformed chunk", http.StatusOK, chunk("ok") + "data: {\"choices\":[\n\n" + done, `malformed stream chunk "{\"choices\":["`},
		{"error in the stream", http.StatusOK, `data: {"error":{"message":"context length exceeded"}}` + "\n\n", "the stream reported an error: context length exceeded"},
		{"no [DONE]", http.StatusOK, chunk("half an ans"), "the stream ended without data: [DONE]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := endpoint(t, tt.status, tt.body)
			_, err := m.Respond(t.Context(), agent.Input{Content: content}, &thoughts{})
			var be *backend.Error
			if !errors.As(err, &be) || !strings.Contains(be.Message, tt.wantMsg) {
				t.Fatalf("Respond = %v; want a *backend.Error saying %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), apiKey) {
				t.Errorf("error %q shows the API key", err)
			}
		})
	}
}

func TestOpenAIStopsWhenCancelledMidStream(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, chunk("first"))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the model "thinks" until the client leaves
	}))
	defer srv.Close()
	m, err := agent.NewOpenAI(srv.URL+"/v1/chat/completions", "test-model", "", srv.Client())
	if err != nil {
		t.Fatalf("NewOpenAI = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	obs := funcObserver{thinking: func(string) error { cancel(); return nil }}
	_, err = m.Respond(ctx, agent.Input{Content: content}, obs)
	var be *backend.Error
	if !errors.As(err, &be) || !errors.Is(err, context.Canceled) || !strings.Contains(be.Message, "cancelled") {
		t.Errorf("Respond cancelled after the first chunk = %v; want a *backend.Error saying cancelled, wrapping context.Canceled", err)
	}
}

func TestOpenAIUnderTheRunner(t *testing.T) {
	m, _ := endpoint(t, http.StatusOK, chunk("Hel")+chunk("lo")+done)
	rec := &recorder{}
	r := agent.NewRunner(newFakeStore(), agent.NewFactory(m), func() agent.Params { return params(1, 0) })
	if err := r.Run(t.Context(), ask, rec); err != nil {
		t.Fatalf("Run = %v; want nil", err)
	}
	if got := strings.Join(rec.types(), " "); got != "agent_started agent_thinking agent_thinking agent_completed" {
		t.Errorf("run emitted %s; want agent_started, a thought per chunk, agent_completed", got)
	}
	if a := rec.last().data.(protocol.AgentCompleted).Result.Content; !strings.HasPrefix(a, "Hello") || !strings.Contains(a, content) {
		t.Errorf("answer = %q; want Hello, then the request quoted", a)
	}
}

func TestNewOpenAIValidates(t *testing.T) {
	tests := []struct {
		endpoint, model, wantMsg string
	}{
		{"://nope", "m", "not a URL"},
		{"/v1/chat/completions", "m", "not an absolute http or https URL"},
		{"ftp://host/v1", "m", "not an absolute http or https URL"},
		{"http://user:hunter2@host/v1", "", "model name is empty"},
		{"http:///v1", "m", "not an absolute http or https URL"},
	}
	for _, tt := range tests {
		_, err := agent.NewOpenAI(tt.endpoint, tt.model, apiKey, nil)
		if backend.ErrorCode(err) != backend.EINVALID || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("NewOpenAI(%q, %q) = %v; want invalid input saying %q", tt.endpoint, tt.model, err, tt.wantMsg)
		}
	}
	m, err := agent.NewOpenAI("http://user:hunter2@host/v1/chat/completions", "m", apiKey, nil)
	if err != nil {
		t.Fatalf("NewOpenAI = %v; want nil", err)
	}
	for _, s := range []string{fmt.Sprint(m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m)} {
		if strings.Contains(s, apiKey) || strings.Contains(s, "hunter2") {
			t.Errorf("%q shows a secret; want the key and the URL's password redacted", s)
		}
	}
}
