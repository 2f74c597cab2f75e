package journey

import (
	"context"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// DialTimeout bounds [Dial]'s wait for connection_established.
const DialTimeout = 10 * time.Second

// Conn is one logged-in user's raw WebSocket connection, for checks that
// need control a journey does not give: disconnecting mid-run, writing
// into chosen threads. It dials, reads and writes as [Run] does, and an
// [Oracle] judges every frame it reads by the same rules; [Conn.Close]
// returns what it found. A Conn is not safe for concurrent use.
type Conn struct {
	sess Session
	sock *socket
	viol []Violation
}

// Dial logs acct in on t, opens the WebSocket with the token in the
// Authorization header, and waits up to [DialTimeout] for
// connection_established. The connection is aborted when ctx ends. opts
// configure its oracle (e.g. [WithForeign]).
//
// Errors are a login's [*Error], "dial: HTTP status: ..." for a refused
// upgrade, "dial: ..." when the target cannot be reached, or the failure
// to read the first frame.
func Dial(ctx context.Context, t *Target, acct Account, opts ...OracleOption) (*Conn, error) {
	sess, err := Login(ctx, t, acct)
	if err != nil {
		return nil, err
	}
	sock, resp, err := dialSocket(ctx, t, sess, false, opts)
	if sock == nil {
		if resp != nil {
			return nil, fmt.Errorf("dial: HTTP %d: %w", resp.StatusCode, err)
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	c := &Conn{sess: sess, sock: sock}
	f, err := c.Next(DialTimeout)
	if err != nil {
		sock.release()
		return nil, err
	}
	if f.Type != protocol.EventConnectionEstablished {
		sock.release()
		return nil, fmt.Errorf("first frame is %s, want connection_established", f.Type)
	}
	return c, nil
}

// Session is the user the connection is logged in as; its token serves
// the HTTP calls of the same user ([Target.JSON]).
func (c *Conn) Session() Session { return c.sess }

// Next reads one frame, waiting at most timeout, and has the oracle judge
// it.
func (c *Conn) Next(timeout time.Duration) (Frame, error) {
	_ = c.sock.ws.SetReadDeadline(time.Now().Add(timeout))
	f, vs, err := c.sock.next()
	c.viol = append(c.viol, vs...)
	if err != nil {
		return Frame{}, err
	}
	return *f, nil
}

// Ask sends a user_message in threadID ("" for a new thread); the oracle
// then expects its run.
func (c *Conn) Ask(messageID, content, threadID string) error {
	_, err := c.sock.send(messageID, content, threadID)
	return err
}

// Await reads frames until the terminal event (agent_completed or
// agent_error) of messageID, for at most timeout, and returns it. An
// error_message frame ends the wait with an error.
func (c *Conn) Await(messageID string, timeout time.Duration) (Frame, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return Frame{}, fmt.Errorf("no terminal event for %s within %s", messageID, timeout)
		}
		f, err := c.Next(left)
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

// Abort drops the TCP connection without a close frame, as a client that
// vanishes mid-run does.
func (c *Conn) Abort() {
	_ = c.sock.ws.NetConn().Close()
	c.sock.release()
}

// Close ends the connection with a normal close frame, without waiting for
// the server's, and returns every violation the oracle found in the frames
// read.
func (c *Conn) Close() []Violation {
	_ = c.sock.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.sock.release()
	return c.viol
}
