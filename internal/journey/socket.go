package journey

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// socket is one WebSocket connection of a logged-in user with an [Oracle]
// judging every frame read: the part of the wire client that a journey
// ([Run]) and a [Conn] share. It is not safe for concurrent use.
type socket struct {
	ws       *websocket.Conn
	oracle   *Oracle
	buf      *bytes.Buffer // the current frame, from framePool while it is read and judged
	frame    Frame         // the current frame, decoded
	at       time.Time     // when the current frame had arrived whole, before anything judged it
	dialed   time.Time     // when the dial began and the upgrade ended: ws_connect is
	upgraded time.Time     // the dial alone, not the socket's setup around it
	unwatch  func() bool   // stops the context watcher that aborts ws
	aborted  chan struct{} // closed when the watcher, once started, has finished
}

// framePool holds the buffers frames are read into: a user waiting for its
// next frame holds none (docs/benchmarks.md, issue 11).
var framePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// noFrame is the buffer of a socket between frames: always empty, never
// written.
var noFrame = new(bytes.Buffer)

// maxPooledFrame is the largest buffer put back in framePool; a bigger
// one, grown by a rare big frame, is left to the collector.
const maxPooledFrame = 64 << 10

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
	dialed := time.Now()
	ws, resp, err := t.Dialer.DialContext(ctx, url, hdr)
	if resp != nil {
		noteReply(ctx, resp.StatusCode)
	}
	if err != nil {
		return nil, resp, err
	}
	s := &socket{ws: ws, buf: noFrame, aborted: make(chan struct{}), dialed: dialed, upgraded: time.Now()}
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
	s.putFrame() // the last frame's bytes are done with: wait holding none
	typ, r, err := s.ws.NextReader()
	if err != nil {
		return false, err
	}
	s.buf = framePool.Get().(*bytes.Buffer)
	s.buf.Reset()
	if _, err := s.buf.ReadFrom(r); err != nil {
		return false, err
	}
	s.at = time.Now()
	return typ == websocket.TextMessage, nil
}

// putFrame gives the current frame's buffer back to framePool.
func (s *socket) putFrame() {
	if s.buf != noFrame {
		if s.buf.Cap() <= maxPooledFrame {
			framePool.Put(s.buf)
		}
		s.buf = noFrame
	}
}

// next reads one frame and has the oracle judge it; it returns the
// violations found. The frame, and its bytes in s.buf, stay until the next
// read. A user parks in here for most of a run, so this frame and its
// callers' stay small: the judging, with its decoded Frame, is apart.
func (s *socket) next() (*Frame, []Violation, error) {
	text, err := s.read()
	if err != nil {
		return nil, nil, err
	}
	return s.judge(text)
}

// judge has the oracle judge the frame just read into s.frame; it is
// never inlined, to keep next's stack frame (a parked user's) small.
//
//go:noinline
func (s *socket) judge(text bool) (*Frame, []Violation, error) {
	var vs []Violation
	if !text {
		vs = append(vs, Violation{Kind: ViolationBadEnvelope, Detail: "a binary frame; the protocol sends text frames", Sample: sample(s.buf.Bytes())})
	}
	var ovs []Violation
	s.frame, ovs = s.oracle.Observe(s.buf.Bytes())
	for _, v := range ovs {
		if v.Kind == ViolationSeqDuplicate {
			s.frame.Type = "" // a repeat moves nothing on
		}
	}
	return &s.frame, append(vs, ovs...), nil
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
	s.putFrame()
}
