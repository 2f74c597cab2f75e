package journey

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// socket is one WebSocket connection of a logged-in user with an [Oracle]
// judging every frame read: the part of the wire client that a journey
// ([Run]) and a [Conn] share. It is not safe for concurrent use.
type socket struct {
	ws      *websocket.Conn
	oracle  *Oracle
	buf     bytes.Buffer  // the current frame; reused
	at      time.Time     // when the current frame had arrived whole, before anything judged it
	unwatch func() bool   // stops the context watcher that aborts ws
	aborted chan struct{} // closed when the watcher, once started, has finished
}

// userMessage is the client frame of a request.
type userMessage struct {
	Type    string               `json:"type"`
	Payload protocol.UserMessage `json:"payload"`
}

// dialSocket opens the WebSocket of sess on t, offering the token in the
// Authorization header or, with subprotocol, as the subprotocol pair. The
// socket is aborted when ctx ends. On failure the response of a refused
// upgrade, when there was one, is returned with the error.
func dialSocket(ctx context.Context, t *Target, sess Session, subprotocol bool, oo []OracleOption) (*socket, *http.Response, error) {
	hdr := make(http.Header, 1)
	if subprotocol {
		hdr.Set("Sec-WebSocket-Protocol", protocol.SubprotocolAuth+", "+protocol.SubprotocolTokenPrefix+sess.Token)
	} else {
		hdr.Set("Authorization", "Bearer "+sess.Token)
	}
	s, resp, err := dialWS(ctx, t, t.wsURL, hdr)
	if err != nil {
		return nil, resp, err
	}
	s.oracle = NewOracle(sess.UserID, oo...)
	ws := s.ws
	if subprotocol && ws.Subprotocol() != protocol.SubprotocolAuth {
		return s, resp, &Error{Kind: FailProtocol, Phase: PhaseWSConnect,
			Message: fmt.Sprintf("server selected subprotocol %q, want %q", ws.Subprotocol(), protocol.SubprotocolAuth)}
	}
	return s, resp, nil
}

// dialWS opens a WebSocket to url with the upgrade's header hdr; the
// socket, which has no oracle yet, is aborted when ctx ends.
func dialWS(ctx context.Context, t *Target, url string, hdr http.Header) (*socket, *http.Response, error) {
	ws, resp, err := t.Dialer.DialContext(ctx, url, hdr)
	if err != nil {
		return nil, resp, err
	}
	s := &socket{ws: ws, aborted: make(chan struct{})}
	s.unwatch = context.AfterFunc(ctx, func() {
		defer close(s.aborted)
		_ = ws.NetConn().Close()
	})
	ws.SetReadLimit(maxFrame)
	return s, resp, nil
}

// read reads one frame into s.buf, unjudged, and says whether it was a
// text frame.
func (s *socket) read() (text bool, err error) {
	typ, r, err := s.ws.NextReader()
	if err != nil {
		return false, err
	}
	s.buf.Reset()
	if _, err := s.buf.ReadFrom(r); err != nil {
		return false, err
	}
	s.at = time.Now()
	return typ == websocket.TextMessage, nil
}

// next reads one frame and has the oracle judge it; it returns the
// violations found. The frame's bytes stay in s.buf until the next read.
func (s *socket) next() (Frame, []Violation, error) {
	text, err := s.read()
	if err != nil {
		return Frame{}, nil, err
	}
	var vs []Violation
	if !text {
		vs = append(vs, Violation{Kind: ViolationBadEnvelope, Detail: "a binary frame; the protocol sends text frames", Sample: sample(s.buf.Bytes())})
	}
	f, ovs := s.oracle.Observe(s.buf.Bytes())
	for _, v := range ovs {
		if v.Kind == ViolationSeqDuplicate {
			f.Type = "" // a repeat moves nothing on
		}
	}
	return f, append(vs, ovs...), nil
}

// send writes a user_message that the oracle then expects an answer to,
// within writeTimeout; it returns when the write began. An encoding
// failure is an [*Error] of kind [FailInternal].
func (s *socket) send(messageID, content, threadID string) (sent time.Time, err error) {
	s.oracle.Expect(messageID, content)
	msg, err := json.Marshal(userMessage{Type: protocol.MessageUser,
		Payload: protocol.UserMessage{MessageID: messageID, Content: content, ThreadID: threadID}})
	if err != nil {
		return time.Time{}, &Error{Kind: FailInternal, Phase: PhaseFirstEvent, Message: "encode user_message: " + err.Error()}
	}
	sent = time.Now()
	_ = s.ws.SetWriteDeadline(sent.Add(writeTimeout))
	return sent, s.ws.WriteMessage(websocket.TextMessage, msg)
}

// release stops the context watcher and closes the connection; it is
// idempotent.
func (s *socket) release() {
	if s.unwatch != nil {
		if !s.unwatch() {
			<-s.aborted // the watcher ran: let it finish first
		}
		s.unwatch = nil
	}
	_ = s.ws.Close()
}
