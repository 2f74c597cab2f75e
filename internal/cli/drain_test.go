package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// serveChild is `goldenpath serve` in a process of its own (this test
// binary, as TestMain lets it be), so that it can be sent SIGTERM.
type serveChild struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

// startServeChild starts serve with args after --addr 127.0.0.1:0 and
// returns once it is ready; it is killed if the test ends first.
func startServeChild(t *testing.T, args ...string) *serveChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--hash-cost", "4"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &serveChild{cmd: cmd, done: make(chan error, 1)}
	line, err := bufio.NewReader(out).ReadString('\n')
	m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(line)
	if err != nil || m == nil {
		_ = cmd.Process.Kill()
		t.Fatalf("serve printed %q, %v; want its URL", line, err)
	}
	c.url = m[1]
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-c.done:
			c.done <- err
		default:
			_ = cmd.Process.Kill()
		}
	})
	pollUntil(t, startBound, func() (bool, string) {
		resp, err := http.Get(c.url + protocol.PathReadyz)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, "GET /readyz = " + resp.Status
	})
	return c
}

// stop sends SIGTERM and waits for the process to exit.
func (c *serveChild) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		c.done <- err // for the cleanup
		if err != nil {
			t.Errorf("serve after SIGTERM: %v; want exit 0", err)
		}
	case <-time.After(stopBound):
		t.Fatalf("serve did not exit within %v of SIGTERM", stopBound)
	}
}

// call sends a JSON body (nil: none) and decodes a JSON reply into out.
func (c *serveChild) call(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (c *serveChild) login(t *testing.T, creds protocol.Credentials) string {
	t.Helper()
	var lr protocol.LoginReply
	if code := c.call(t, "POST", protocol.PathLogin, "", creds, &lr); code != http.StatusOK {
		t.Fatalf("login = %d; want 200", code)
	}
	return lr.AccessToken
}

type wsFrame struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

// TestServeDrainTimeoutFailsUnfinishedRuns: SIGTERM to a serve process
// whose run outlasts --drain-timeout. The client gets the run's
// agent_error before close 1001, and the question is stored with its
// failure, not left unanswered.
func TestServeDrainTimeoutFailsUnfinishedRuns(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	srv := startServeChild(t, "--data", data, "--think", "60s", "--drain-timeout", "300ms")
	creds := protocol.Credentials{Email: "drain@example.test", Password: "password-1"}
	if code := srv.call(t, "POST", protocol.PathRegister, "", creds, nil); code != http.StatusCreated {
		t.Fatalf("register = %d; want 201", code)
	}
	token := srv.login(t, creds)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.url, "http")+protocol.PathWS, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	read := func() (wsFrame, error) {
		var f wsFrame
		_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, b, err := ws.ReadMessage()
		if err == nil {
			err = json.Unmarshal(b, &f)
		}
		return f, err
	}
	if f, err := read(); err != nil || f.Type != protocol.EventConnectionEstablished {
		t.Fatalf("first frame %v, %v; want connection_established", f.Type, err)
	}
	msg := map[string]any{"type": protocol.MessageUser, "payload": map[string]any{"message_id": "m-drain", "content": "a long question"}}
	if err := ws.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	var thread string
	for thread == "" {
		f, err := read()
		if err != nil {
			t.Fatalf("before agent_started: %v", err)
		}
		if f.Type == protocol.EventAgentStarted {
			thread, _ = f.Data["thread_id"].(string)
		}
	}

	srv.stop(t)
	var types []string
	var agentError wsFrame
	closeCode := 0
	for {
		f, err := read()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				closeCode = ce.Code
			}
			break
		}
		types = append(types, f.Type)
		if f.Type == protocol.EventAgentError {
			agentError = f
		}
	}
	code, _ := agentError.Data["code"].(string)
	text, _ := agentError.Data["message"].(string)
	if agentError.Type == "" || code != "cancelled" || !strings.Contains(text, "shut down") || closeCode != protocol.CloseGoingAway {
		t.Errorf("after SIGTERM the client read %v (agent_error %v) then close %d; want agent_error cancelled saying the server shut down, then close 1001",
			types, agentError.Data, closeCode)
	}

	again := startServeChild(t, "--data", data)
	token = again.login(t, creds)
	var ml protocol.MessageList
	if c := again.call(t, "GET", protocol.PathThreads+"/"+thread+"/messages", token, nil, &ml); c != http.StatusOK {
		t.Fatalf("messages after the restart = %d; want 200", c)
	}
	var roles []string
	for _, m := range ml.Messages {
		roles = append(roles, m.Role)
	}
	failure := "agent_error " + code + ": "
	if len(ml.Messages) != 2 || ml.Messages[0].Role != "user" || ml.Messages[1].Role != "assistant" || ml.Messages[1].MessageID != "m-drain" ||
		!strings.HasPrefix(ml.Messages[1].Content, failure) {
		t.Errorf("thread after the restart holds roles %v (%+v); want the question, then its failure (assistant, %q...)", roles, ml.Messages, failure)
	}
	again.stop(t)
}
