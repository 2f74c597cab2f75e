package chatapi_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/backend/chatapi"
)

func post(t *testing.T, url, key, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var e struct {
		Error struct {
			Code *string `json:"code"`
			Type string  `json:"type"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error.Type == "" {
		t.Fatalf("error body: %v; want {\"error\":{...}}", err)
	}
	if e.Error.Code == nil {
		return ""
	}
	return *e.Error.Code
}

// Bad requests get the OpenAI error shape with the right status.
func TestErrors(t *testing.T) {
	srv := httptest.NewServer(chatapi.New(chatapi.Options{APIKey: "sk-test"}))
	defer srv.Close()
	for _, tc := range []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"no key", "", `{"model":"goldenpath-sim","messages":[{"role":"user","content":"hi"}]}`, 401, ""},
		{"wrong key", "sk-wrong", `{"model":"goldenpath-sim","messages":[{"role":"user","content":"hi"}]}`, 401, "invalid_api_key"},
		{"unknown model", "sk-test", `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`, 404, "model_not_found"},
		{"no messages", "sk-test", `{"model":"goldenpath-sim","messages":[]}`, 400, ""},
		{"stream_options without stream", "sk-test", `{"model":"goldenpath-sim","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, 400, ""},
		{"max_tokens out of range", "sk-test", `{"model":"goldenpath-sim","messages":[{"role":"user","content":"hi"}],"max_tokens":0}`, 400, ""},
		{"not JSON", "sk-test", `{oops`, 400, ""},
		{"body over 1 MiB", "sk-test", `{"model":"goldenpath-sim","messages":[{"role":"user","content":"` + strings.Repeat("x", 1<<20) + `"}]}`, 413, ""},
		{"key as a prefix of the right one", "sk-tes", `{"model":"goldenpath-sim","messages":[{"role":"user","content":"hi"}]}`, 401, "invalid_api_key"},
	} {
		resp := post(t, srv.URL, tc.key, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d; want %d", tc.name, resp.StatusCode, tc.status)
		}
		if code := errorCode(t, resp); code != tc.code {
			t.Errorf("%s: error.code %q; want %q", tc.name, code, tc.code)
		}
	}
}

// More completions in flight than the limit: the excess gets 429 at once
// with Retry-After, before any stream starts.
func TestInFlightLimit(t *testing.T) {
	srv := httptest.NewServer(chatapi.New(chatapi.Options{MaxInFlight: 2, Think: func() time.Duration { return 300 * time.Millisecond }}))
	defer srv.Close()
	body := `{"model":"goldenpath-sim","messages":[{"role":"user","content":"n1 go"}],"stream":true,"max_tokens":3}`
	var wg sync.WaitGroup
	started := make(chan struct{}, 2)
	for range 2 {
		wg.Go(func() {
			resp := post(t, srv.URL, "", body)
			defer resp.Body.Close()
			started <- struct{}{}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
			}
		})
	}
	<-started
	<-started // both streams have their headers: both are in flight
	resp := post(t, srv.URL, "", body)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("a third completion: status %d, Retry-After %q; want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code := errorCode(t, resp); code != "rate_limit_exceeded" {
		t.Errorf("error.code %q; want rate_limit_exceeded", code)
	}
	wg.Wait()
}
