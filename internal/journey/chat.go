package journey

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// ChatStream is what one OpenAI-compatible streaming chat completion
// (server-sent chat.completion.chunk events, ../shared/targets/OPENAI.md)
// showed: its timing points, its text, and what was wrong with it.
type ChatStream struct {
	ID           string
	Chunks       int         // data events, [DONE] excluded
	Tokens       []time.Time // arrival of each chunk with non-empty delta.content
	Content      string      // the content deltas, joined
	FirstToken   string      // the first content delta
	FinishReason string
	Usage        *ChatUsage // the usage chunk, when the server sent one
	Done         bool       // data: [DONE] arrived
	End          time.Time  // [DONE] or the end of the body
	Problems     []string   // broken promises of the stream; empty for a sound one
}

// ChatUsage is a stream's usage object.
type ChatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chatChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Choices []struct {
		Delta struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *ChatUsage `json:"usage"`
}

// maxSSELine bounds one server-sent-event line.
const maxSSELine = 1 << 20

// ReadChatStream reads a chat completion's event stream from r to its
// end, timing each event on arrival with now (time.Now when nil). It
// returns an error only when r fails; everything the stream got wrong is
// in Problems: a body that ends without [DONE] or without a
// finish_reason, anything after [DONE], a chunk that is not JSON or not a
// chat.completion.chunk, an id that changes, a content chunk before the
// role chunk, and usage that disagrees with the tokens streamed (one per
// content chunk) or does not add up.
func ReadChatStream(r io.Reader, now func() time.Time) (ChatStream, error) {
	if now == nil {
		now = time.Now
	}
	var s ChatStream
	problem := func(f string, a ...any) {
		if len(s.Problems) < maxViolations {
			s.Problems = append(s.Problems, fmt.Sprintf(f, a...))
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSSELine)
	var data []byte // the current event's data lines
	roleSeen := false
	dispatch := func() {
		if data == nil {
			return
		}
		ev := data
		data = nil
		at := now()
		if s.Done {
			problem("an event after [DONE]: %.80q", ev)
			return
		}
		if bytes.Equal(ev, []byte("[DONE]")) {
			s.Done, s.End = true, at
			return
		}
		var c chatChunk
		if err := json.Unmarshal(ev, &c); err != nil {
			problem("an event that is not JSON: %.80q", ev)
			return
		}
		s.Chunks++
		switch {
		case c.Object != "chat.completion.chunk":
			problem("a chunk of object %q, want chat.completion.chunk", c.Object)
		case s.ID == "":
			s.ID = c.ID
		case c.ID != s.ID:
			problem("chunk id %q in stream %q", c.ID, s.ID)
		}
		if c.Usage != nil {
			s.Usage = c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Delta.Role != "" {
				roleSeen = true
			}
			if ch.Delta.Content != nil && *ch.Delta.Content != "" {
				if !roleSeen {
					problem("content before the role chunk")
					roleSeen = true
				}
				if len(s.Tokens) == 0 {
					s.FirstToken = *ch.Delta.Content
				}
				s.Tokens = append(s.Tokens, at)
				s.Content += *ch.Delta.Content
			}
			if ch.FinishReason != nil && *ch.FinishReason != "" {
				if s.FinishReason != "" {
					problem("a second finish_reason %q after %q", *ch.FinishReason, s.FinishReason)
				}
				s.FinishReason = *ch.FinishReason
			}
		}
	}
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			dispatch()
		case line[0] == ':': // a comment: a keep-alive
		case bytes.HasPrefix(line, []byte("data:")):
			v := bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("data:")), []byte(" "))
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, v...)
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	dispatch() // a last event without its blank line
	if !s.Done {
		s.End = now()
		problem("the stream ended without [DONE]")
	}
	if s.FinishReason == "" {
		problem("the stream has no finish_reason")
	}
	if u := s.Usage; u != nil {
		if u.CompletionTokens != len(s.Tokens) {
			problem("usage.completion_tokens %d, but %d tokens were streamed", u.CompletionTokens, len(s.Tokens))
		}
		if u.TotalTokens != u.PromptTokens+u.CompletionTokens {
			problem("usage.total_tokens %d is not prompt_tokens %d + completion_tokens %d", u.TotalTokens, u.PromptTokens, u.CompletionTokens)
		}
	}
	return s, nil
}

// TTFT is the time from sent to the first token; ok is false without one.
func (s ChatStream) TTFT(sent time.Time) (time.Duration, bool) {
	if len(s.Tokens) == 0 {
		return 0, false
	}
	return s.Tokens[0].Sub(sent), true
}

// ITL are the gaps between consecutive tokens.
func (s ChatStream) ITL() []time.Duration {
	var out []time.Duration
	for i := 1; i < len(s.Tokens); i++ {
		out = append(out, s.Tokens[i].Sub(s.Tokens[i-1]))
	}
	return out
}

// TPOT is the time per output token after the first: (last - first) /
// (tokens - 1); ok is false with fewer than two tokens.
func (s ChatStream) TPOT() (time.Duration, bool) {
	n := len(s.Tokens)
	if n < 2 {
		return 0, false
	}
	return s.Tokens[n-1].Sub(s.Tokens[0]) / time.Duration(n-1), true
}
