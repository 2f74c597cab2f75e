package journey_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
)

// chatServer streams events over real loopback TCP, each written in two
// halves with a flush between (a client must buffer to the blank line).
func chatServer(t *testing.T, events []string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		fl := w.(http.Flusher)
		for _, ev := range events {
			half := len(ev) / 2
			fmt.Fprint(w, ev[:half])
			fl.Flush()
			time.Sleep(2 * time.Millisecond)
			fmt.Fprint(w, ev[half:])
			fl.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func chunk(id, delta, finish string) string {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	return fmt.Sprintf(`data: {"id":%q,"object":"chat.completion.chunk","choices":[{"index":0,"delta":%s,"finish_reason":%s}],"usage":null}`+"\n\n", id, delta, f)
}

func usage(prompt, completion, total int) string {
	return fmt.Sprintf(`data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n", prompt, completion, total)
}

// sound is a complete stream of three tokens, with a keep-alive comment.
func sound() []string {
	return []string{
		chunk("c1", `{"role":"assistant","content":""}`, ""),
		": keep-alive\n\n",
		chunk("c1", `{"content":"n7f3a"}`, ""),
		chunk("c1", `{"content":" here"}`, ""),
		chunk("c1", `{"content":" it is"}`, ""),
		chunk("c1", `{}`, "stop"),
		usage(5, 3, 8),
		"data: [DONE]\n\n",
	}
}

func TestReadChatStream(t *testing.T) {
	replace := func(i int, ev string) []string { evs := sound(); evs[i] = ev; return evs }
	for _, tc := range []struct {
		name   string
		events []string
		want   string // in Problems; "" for a sound stream
	}{
		{"sound", sound(), ""},
		{"no [DONE]", sound()[:7], "ended without [DONE]"},
		{"no finish_reason", replace(5, chunk("c1", `{}`, "")), "no finish_reason"},
		{"usage disagrees with the tokens", replace(6, usage(5, 64, 69)), "usage.completion_tokens 64, but 3 tokens were streamed"},
		{"usage does not add up", replace(6, usage(5, 3, 9)), "usage.total_tokens 9 is not prompt_tokens 5 + completion_tokens 3"},
		{"an event after [DONE]", append(sound(), chunk("c1", `{"content":"x"}`, "")), "an event after [DONE]"},
		{"another stream's chunk", replace(3, chunk("c2", `{"content":" here"}`, "")), `chunk id "c2" in stream "c1"`},
		{"content before the role", replace(0, chunk("c1", `{"content":"n7f3a"}`, "")), "content before the role chunk"},
		{"not JSON", replace(4, "data: {oops\n\n"), "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := chatServer(t, tc.events)
			sent := time.Now()
			resp, err := http.Post(url, "application/json", strings.NewReader(`{"stream":true}`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			s, err := journey.ReadChatStream(resp.Body, nil)
			if err != nil {
				t.Fatalf("ReadChatStream = %v; want the stream read", err)
			}
			got := strings.Join(s.Problems, "; ")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("problems %q; want %q", got, tc.want)
			}
			if tc.want != "" {
				return
			}
			ttft, ok := s.TTFT(sent)
			tpot, ok2 := s.TPOT()
			if s.Content != "n7f3a here it is" || s.FinishReason != "stop" || !s.Done || len(s.Tokens) != 3 || !ok || ttft <= 0 || !ok2 || tpot <= 0 || len(s.ITL()) != 2 {
				t.Errorf("stream = %+v, TTFT %s, TPOT %s, ITL %v; want 3 tokens, stop, [DONE], positive timings", s, ttft, tpot, s.ITL())
			}
			if s.End.Before(s.Tokens[2]) {
				t.Errorf("end %v before the last token %v", s.End, s.Tokens[2])
			}
		})
	}
}

func FuzzReadChatStream(f *testing.F) {
	f.Add([]byte(strings.Join(sound(), "")))
	f.Add([]byte("data: [DONE]\n\ndata: x\n"))
	f.Add([]byte(":\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := journey.ReadChatStream(strings.NewReader(string(body)), nil)
		if err == nil && !s.Done && len(s.Problems) == 0 {
			t.Errorf("a stream without [DONE] has no problem: %q", body)
		}
	})
}

// The reference backend's OpenAI-compatible face streams a sound
// completion whose first token is the prompt's first word, the nonce.
func TestReadChatStreamFromTheReferenceBackend(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "", map[string]string{"think_ms": "40"})
	sent := time.Now()
	resp, err := http.Post(b.url+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"goldenpath-sim","messages":[{"role":"user","content":"n7f3a what limits my p99?"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":8}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, Content-Type %q; want 200 and an event stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s, err := journey.ReadChatStream(resp.Body, nil)
	if err != nil {
		t.Fatal(err)
	}
	ttft, _ := s.TTFT(sent)
	if len(s.Problems) > 0 || len(s.Tokens) != 8 || !strings.HasPrefix(s.Content, "n7f3a ") || s.Usage == nil || s.Usage.CompletionTokens != 8 || ttft <= 0 {
		t.Errorf("stream = %+v (TTFT %s); want 8 tokens starting with the nonce, usage of 8, no problem", s, ttft)
	}
}
