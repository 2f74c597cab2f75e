// Package chatapi is the reference backend's OpenAI-compatible face
// (../shared/targets/OPENAI.md): GET /v1/models and POST
// /v1/chat/completions, streamed as server-sent chat.completion.chunk
// events or answered whole, from a deterministic simulated model. Its
// first token is the first word of the last user message, so a load tool
// can tell whose answer it got; the rest are numbered words, paced so
// that a reply takes the configured think time. Requests beyond the
// in-flight limit get 429 with Retry-After.
package chatapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of [Options].
const (
	DefaultModel       = "goldenpath-sim"
	DefaultMaxInFlight = 256
	DefaultMaxTokens   = 16
	maxTokensLimit     = 8192
	maxBody            = 1 << 20
)

// Options configure the handler.
type Options struct {
	Model       string               // the one model served (default DefaultModel)
	APIKey      string               // when set, requests need "Authorization: Bearer APIKey"
	MaxInFlight int                  // completions at once; more get 429 (default DefaultMaxInFlight)
	Think       func() time.Duration // a reply's total generation time (nil: none)
	Faults      Faults
}

// Faults are the backend's faults as a chat server shows them
// (docs/faults.md): each breaks a promise of OPENAI.md that a check on
// every stream judges.
type Faults struct {
	FirstTokenDelay time.Duration // slow-factory: the first token comes this much later (TTFT)
	DropTokens      int           // drop-events=N: one content chunk in N is not sent; usage still counts it
	CrossUser       bool          // cross-user: a reply answers the request before it (its first token is that prompt's)
	CutStreams      float64       // close-1011=P: a fraction P of streams ends mid-reply, without finish_reason or [DONE]
}

type handler struct {
	o        Options
	inFlight atomic.Int64
	chunks   atomic.Int64           // content chunks, for DropTokens
	streams  atomic.Int64           // streams, for CutStreams
	last     atomic.Pointer[string] // the previous request's prompt, for CrossUser
}

// New returns the handler of /v1/models and /v1/chat/completions.
func New(o Options) http.Handler {
	if o.Model == "" {
		o.Model = DefaultModel
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Think == nil {
		o.Think = func() time.Duration { return 0 }
	}
	h := &handler{o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", h.authed(h.models))
	mux.HandleFunc("POST /v1/chat/completions", h.authed(h.completions))
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "invalid_request_error", nil, fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
	})
	return mux
}

func (h *handler) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.o.APIKey != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+h.o.APIKey)) != 1 {
			code := "invalid_api_key"
			if r.Header.Get("Authorization") == "" {
				fail(w, http.StatusUnauthorized, "invalid_request_error", nil, "You didn't provide an API key.")
				return
			}
			fail(w, http.StatusUnauthorized, "invalid_request_error", &code, "Incorrect API key provided.")
			return
		}
		w.Header().Set("X-Request-Id", "req_"+newID())
		next(w, r)
	}
}

func (h *handler) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{
		map[string]any{"id": h.o.Model, "object": "model", "created": 1796290000, "owned_by": "goldenpath"}}})
}

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int `json:"max_tokens"`
	MaxCompletionTokens *int `json:"max_completion_tokens"`
	N                   *int `json:"n"`
}

func (h *handler) completions(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if r.ContentLength > maxBody {
		w.Header().Set("Connection", "close") // the body is not read
		fail(w, http.StatusRequestEntityTooLarge, "invalid_request_error", nil, fmt.Sprintf("The request body is over %d bytes.", maxBody))
		return
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(w, http.StatusRequestEntityTooLarge, "invalid_request_error", nil, fmt.Sprintf("The request body is over %d bytes.", maxBody))
			return
		}
		fail(w, http.StatusBadRequest, "invalid_request_error", nil, "We could not parse the JSON body of your request.")
		return
	}
	n := DefaultMaxTokens
	if req.MaxTokens != nil {
		n = *req.MaxTokens
	}
	if req.MaxCompletionTokens != nil {
		n = *req.MaxCompletionTokens
	}
	switch {
	case req.Model == "":
		fail(w, http.StatusBadRequest, "invalid_request_error", nil, "you must provide a model parameter")
		return
	case req.Model != h.o.Model:
		code := "model_not_found"
		fail(w, http.StatusNotFound, "invalid_request_error", &code, fmt.Sprintf("The model `%s` does not exist.", req.Model))
		return
	case len(req.Messages) == 0:
		fail(w, http.StatusBadRequest, "invalid_request_error", nil, "messages must be a non-empty array")
		return
	case req.StreamOptions != nil && !req.Stream:
		fail(w, http.StatusBadRequest, "invalid_request_error", nil, "stream_options is only allowed when stream is true")
		return
	case n < 1 || n > maxTokensLimit:
		fail(w, http.StatusBadRequest, "invalid_request_error", nil, fmt.Sprintf("max_tokens must be between 1 and %d", maxTokensLimit))
		return
	case req.N != nil && *req.N != 1:
		fail(w, http.StatusBadRequest, "invalid_request_error", nil, "n must be 1")
		return
	}
	if h.inFlight.Add(1) > int64(h.o.MaxInFlight) {
		h.inFlight.Add(-1)
		w.Header().Set("Retry-After", "1")
		w.Header().Set("X-Ratelimit-Limit-Requests", fmt.Sprint(h.o.MaxInFlight))
		w.Header().Set("X-Ratelimit-Remaining-Requests", "0")
		code := "rate_limit_exceeded"
		fail(w, http.StatusTooManyRequests, "requests", &code, fmt.Sprintf("Rate limit reached: more than %d requests in flight. Please retry after 1s.", h.o.MaxInFlight))
		return
	}
	defer h.inFlight.Add(-1)
	prompt0 := req.lastUser()
	if h.o.Faults.CrossUser {
		if prev := h.last.Swap(&prompt0); prev != nil {
			prompt0 = *prev // fault cross-user: answered with another request's prompt
		}
	}
	tokens := reply(prompt0, n)
	prompt := 0
	for _, m := range req.Messages {
		prompt += len(strings.Fields(contentText(m.Content))) + 4
	}
	id, created := "chatcmpl-"+newID(), time.Now().Unix()
	usage := map[string]int{"prompt_tokens": prompt, "completion_tokens": len(tokens), "total_tokens": prompt + len(tokens)}
	gap := h.o.Think() / time.Duration(len(tokens))
	if !req.Stream {
		if !sleep(r, gap*time.Duration(len(tokens))) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "chat.completion", "created": created, "model": h.o.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": strings.Join(tokens, ""), "refusal": nil},
				"logprobs": nil, "finish_reason": "stop"}}, "usage": usage})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	send := func(v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		c := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": h.o.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
			c["usage"] = nil
		}
		return c
	}
	if !send(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	cut := -1
	if p := h.o.Faults.CutStreams; p > 0 && float64(h.streams.Add(1)%1000) < p*1000 {
		cut = len(tokens) / 2 // fault close-1011: the stream ends here
	}
	if !sleep(r, h.o.Faults.FirstTokenDelay) {
		return
	}
	for i, tok := range tokens {
		if i == cut {
			return
		}
		if n := h.o.Faults.DropTokens; n > 0 && h.chunks.Add(1)%int64(n) == 0 {
			continue // fault drop-events: a token lost on the way, still billed
		}
		if !sleep(r, gap) || !send(chunk(map[string]any{"content": tok}, nil)) {
			return // the client left: generation stops
		}
	}
	if !send(chunk(map[string]any{}, "stop")) {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		if !send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": h.o.Model, "choices": []any{}, "usage": usage}) {
			return
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}

// lastUser is the text of the last user message.
func (req chatRequest) lastUser() string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			return contentText(req.Messages[i].Content)
		}
	}
	return ""
}

// contentText reads a message's content: a string, null, or text parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type, Text string
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			if p.Type == "text" {
				b.WriteString(p.Text)
			}
		}
		return b.String()
	}
	return ""
}

// reply is n tokens: the first word of prompt ("Hello" if none), then
// " t2", " t3", ...
func reply(prompt string, n int) []string {
	first := "Hello"
	if f := strings.Fields(prompt); len(f) > 0 {
		first = f[0]
	}
	toks := make([]string, n)
	toks[0] = first
	for i := 1; i < n; i++ {
		toks[i] = fmt.Sprintf(" t%d", i+1)
	}
	return toks
}

// sleep waits d unless the client leaves first; it reports whether to go on.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return r.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func fail(w http.ResponseWriter, status int, typ string, code *string, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
