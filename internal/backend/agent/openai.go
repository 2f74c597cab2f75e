package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
)

// OpenAI is a model served by any OpenAI-compatible chat completions
// endpoint, streamed with server-sent events. Every non-empty content delta
// becomes one agent_thinking event (so the gaps between events are the
// model's token latency), and the answer is the model's text followed by a
// line quoting the request verbatim.
//
// Failures are [*backend.Error] values with code [backend.EINTERNAL]. The
// API key is sent as a Bearer token and appears in no message or string.
// An OpenAI is safe for concurrent use.
type OpenAI struct {
	endpoint string // validated absolute http(s) URL
	shown    string // endpoint with any password redacted
	model    string
	apiKey   string
	client   *http.Client
}

// NewOpenAI returns a model that POSTs to endpoint, the full URL of the
// chat completions resource (e.g. http://host/v1/chat/completions), asking
// for model. An empty apiKey sends no Authorization header; a nil client
// means a new http.Client without a timeout (each run's ctx bounds it).
func NewOpenAI(endpoint, model, apiKey string, client *http.Client) (*OpenAI, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, backend.Errorf(backend.EINVALID, "agent: openai endpoint is not a URL: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, backend.Errorf(backend.EINVALID, "agent: openai endpoint %q is not an absolute http or https URL", u.Redacted())
	}
	if model == "" {
		return nil, backend.Errorf(backend.EINVALID, "agent: openai model name is empty")
	}
	if client == nil {
		client = &http.Client{}
	}
	return &OpenAI{endpoint: u.String(), shown: u.Redacted(), model: model, apiKey: apiKey, client: client}, nil
}

// String describes m without its API key.
func (m *OpenAI) String() string { return "openai model " + m.model + " at " + m.shown }

// GoString is String, so that %#v does not print the API key either.
func (m *OpenAI) GoString() string { return m.String() }

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Stream   bool          `json:"stream"`
}

type chatChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// maxLine is the longest SSE line accepted; excerptBytes is how much of a
// bad reply an error message shows.
const (
	maxLine      = 1 << 20
	excerptBytes = 512
)

// Respond implements [Model].
func (m *OpenAI) Respond(ctx context.Context, in Input, obs Observer) (string, error) {
	body, err := json.Marshal(chatRequest{Model: m.model, Messages: []chatMessage{{Role: "user", Content: in.Content}}, Stream: true})
	if err != nil {
		return "", &backend.Error{Code: backend.EINTERNAL, Message: "openai: encoding the request", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", &backend.Error{Code: backend.EINTERNAL, Message: "openai: building the request", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if m.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+m.apiKey)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return "", m.failed(ctx, "the request failed", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, excerptBytes))
		return "", backend.Errorf(backend.EINTERNAL, "openai: %s answered %s: %q", m.shown, resp.Status, excerpt)
	}
	text, err := m.stream(resp.Body, obs)
	if err != nil {
		return "", m.failed(ctx, "reading the stream failed", err)
	}
	return answerFor(text, in.Content), nil
}

// failed wraps err, saying so when it is ctx's doing.
func (m *OpenAI) failed(ctx context.Context, doing string, err error) error {
	var be *backend.Error
	switch {
	case ctx.Err() != nil:
		return &backend.Error{Code: backend.EINTERNAL, Message: "openai: cancelled: " + doing, Err: ctx.Err()}
	case errors.As(err, &be) || errors.As(err, new(goneError)):
		return err
	}
	return &backend.Error{Code: backend.EINTERNAL, Message: "openai: " + doing + " (" + m.shown + ")", Err: err}
}

// stream reads server-sent events until "data: [DONE]", reporting each
// non-empty content delta to obs, and returns the whole text.
func (m *OpenAI) stream(r io.Reader, obs Observer) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 16<<10), maxLine)
	var (
		text    strings.Builder
		data    []byte // the data lines of the event being read
		pending bool
		told    bool // at least one Thinking
	)
	dispatch := func() (done bool, err error) {
		if !pending {
			return false, nil
		}
		pending = false
		if string(data) == "[DONE]" {
			return true, nil
		}
		var c chatChunk
		if err := json.Unmarshal(data, &c); err != nil {
			return false, backend.Errorf(backend.EINTERNAL, "openai: malformed stream chunk %q: %v", excerpt(data), err)
		}
		if c.Error != nil {
			return false, backend.Errorf(backend.EINTERNAL, "openai: the stream reported an error: %s", c.Error.Message)
		}
		if len(c.Choices) == 0 || c.Choices[0].Delta.Content == "" {
			return false, nil
		}
		told = true
		text.WriteString(c.Choices[0].Delta.Content)
		return false, obs.Thinking(c.Choices[0].Delta.Content)
	}
	done := false
	for !done && sc.Scan() {
		line := sc.Bytes()
		var err error
		switch {
		case len(line) == 0:
			done, err = dispatch()
			data = data[:0]
		case line[0] == ':': // a comment
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			if string(field) != "data" {
				break // event, id, retry: not used here
			}
			value, _ = bytes.CutPrefix(value, []byte(" "))
			if pending {
				data = append(data, '\n')
			}
			data, pending = append(data, value...), true
		}
		if err != nil {
			return "", err
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if !done {
		var err error
		if done, err = dispatch(); err != nil { // a last event without its blank line
			return "", err
		} else if !done {
			return "", backend.Errorf(backend.EINTERNAL, "openai: the stream ended without data: [DONE]")
		}
	}
	if !told {
		if err := obs.Thinking("(the model sent no text)"); err != nil {
			return "", err
		}
	}
	return text.String(), nil
}

func excerpt(b []byte) []byte {
	if len(b) > excerptBytes {
		return b[:excerptBytes]
	}
	return b
}
