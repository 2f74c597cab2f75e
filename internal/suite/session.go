package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// session is one raw WebSocket connection with the journey's oracle judging
// every frame, for race checks that need control a journey does not give:
// disconnecting mid-run, writing into chosen threads.
type session struct {
	ws     *websocket.Conn
	user   journey.Session
	oracle *journey.Oracle
	viol   []journey.Violation
}

// openSession logs in and connects, and waits for connection_established.
func openSession(ctx context.Context, t *journey.Target, acct journey.Account, foreign journey.ForeignFunc) (*session, error) {
	us, err := journey.Login(ctx, t, acct)
	if err != nil {
		return nil, err
	}
	ws, resp, err := t.Dialer.DialContext(ctx, t.WebSocketURL(), http.Header{"Authorization": {"Bearer " + us.Token}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial: HTTP %d: %w", resp.StatusCode, err)
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	var oo []journey.OracleOption
	if foreign != nil {
		oo = append(oo, journey.WithForeign(foreign))
	}
	s := &session{ws: ws, user: us, oracle: journey.NewOracle(us.UserID, oo...)}
	f, err := s.next(10 * time.Second)
	if err != nil {
		ws.Close()
		return nil, err
	}
	if f.Type != protocol.EventConnectionEstablished {
		ws.Close()
		return nil, fmt.Errorf("first frame is %s, want connection_established", f.Type)
	}
	return s, nil
}

// next reads and judges one frame.
func (s *session) next(timeout time.Duration) (journey.Frame, error) {
	_ = s.ws.SetReadDeadline(time.Now().Add(timeout))
	_, b, err := s.ws.ReadMessage()
	if err != nil {
		return journey.Frame{}, err
	}
	f, vs := s.oracle.Observe(b)
	s.viol = append(s.viol, vs...)
	return f, nil
}

// ask sends a user_message that the oracle expects.
func (s *session) ask(messageID, content, threadID string) error {
	s.oracle.Expect(messageID, content)
	b, _ := json.Marshal(map[string]any{"type": protocol.MessageUser, "payload": protocol.UserMessage{MessageID: messageID, Content: content, ThreadID: threadID}})
	_ = s.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return s.ws.WriteMessage(websocket.TextMessage, b)
}

// await reads until the terminal event of messageID.
func (s *session) await(messageID string, timeout time.Duration) (journey.Frame, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return journey.Frame{}, fmt.Errorf("no terminal event for %s within %s", messageID, timeout)
		}
		f, err := s.next(left)
		if err != nil {
			return f, err
		}
		if f.Type == protocol.EventErrorMessage {
			return f, fmt.Errorf("error_message %s: %s", f.Code, f.Message)
		}
		if f.MessageID == messageID && protocol.IsTerminal(f.Type) {
			return f, nil
		}
	}
}

// abort drops the TCP connection without a close frame: a client that
// vanishes mid-run.
func (s *session) abort() { _ = s.ws.NetConn().Close() }

// close ends the connection normally and returns what the oracle found.
func (s *session) close() []journey.Violation {
	_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	s.ws.Close()
	return s.violations()
}

func (s *session) violations() []journey.Violation {
	return s.viol
}

// httpJSON does one JSON call and decodes a 2xx reply into out.
func httpJSON(ctx context.Context, t *journey.Target, method, path, token string, body, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.BaseURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, b, fmt.Errorf("%s %s: HTTP %d: %.200s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, b, fmt.Errorf("%s %s: reply is not the expected JSON: %w", method, path, err)
		}
	}
	return resp.StatusCode, b, nil
}

var errNoMetrics = errors.New("the target has no /metrics endpoint")
