package journey

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// user is one journey in progress.
type user struct {
	ctx    context.Context
	t      *Target
	opts   Options
	res    *Result
	sess   Session
	sock   *socket // nil until connected, and after abort
	oracle *Oracle // the socket's, kept after it closes
	clk    clockSync
	thread string // the thread of the first run; later requests join it
	asked  []request
	answer time.Time // arrival of the last answer
}

type request struct{ messageID, content string }

func (u *user) sample(name string, d time.Duration) {
	u.res.Phases = append(u.res.Phases, Sample{Name: name, D: d})
}

func (u *user) violate(vs ...Violation) {
	for _, v := range vs {
		if len(u.res.Violations) >= maxViolations {
			u.res.ViolationsDropped++
			continue
		}
		u.res.Violations = append(u.res.Violations, v)
	}
}

// settle waits the SettleDelay and the Ready hook between the end of the
// handshake and the first request.
func (u *user) settle() *Error {
	if d := u.opts.SettleDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-u.ctx.Done():
			t.Stop()
			return classify(u.ctx, PhaseWSReady, u.ctx.Err())
		}
	}
	if u.opts.Ready != nil {
		u.opts.Ready(u.ctx)
		if err := u.ctx.Err(); err != nil {
			return classify(u.ctx, PhaseWSReady, err)
		}
	}
	return nil
}

// trace tells Options.Trace of a step of a profile-driven journey, and the
// frame (redacted) when there is one.
func (u *user) trace(step string, frame []byte) {
	switch {
	case u.opts.Trace == nil:
	case frame == nil:
		u.opts.Trace(step, nil)
	default:
		u.opts.Trace(step, []byte(Redact(string(frame))))
	}
}

// closeReading sends close 1000, reads with next (which judges each
// frame) until the server's close frame or closeWait, and releases the
// socket.
func (u *user) closeReading(next func() error) {
	_ = u.sock.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeWait))
	_ = u.sock.ws.SetReadDeadline(time.Now().Add(closeWait))
	for next() == nil {
	}
	u.abort()
}

// abort releases the socket and the context watcher; it is idempotent.
func (u *user) abort() {
	if u.sock != nil {
		u.sock.release() // waits for the context watcher: Run returns after it
		u.sock = nil
	}
}

// config reads the configuration once and verifies its checksum.
func (u *user) config() *Error {
	start := time.Now()
	var snap protocol.ConfigSnapshot
	hdr, err := u.t.call(u.ctx, PhaseConfigAccess, http.MethodGet, protocol.PathConfig, u.sess.Token, nil, http.StatusOK, &snap)
	u.res.Server = appendServerTiming(u.res.Server, hdr)
	if err != nil {
		return err
	}
	u.sample(PhaseConfigAccess, time.Since(start))
	ok, verr := protocol.VerifyChecksum(snap.Values, snap.Checksum)
	switch {
	case verr != nil:
		u.violate(Violation{Kind: ViolationConfigMismatch, Detail: fmt.Sprintf("config version %d: %v", snap.Version, verr), Sample: sample(snap.Values)})
	case !ok:
		u.violate(Violation{Kind: ViolationConfigMismatch, Detail: fmt.Sprintf("config version %d: checksum %s does not match its values", snap.Version, snap.Checksum), Sample: sample(snap.Values)})
	}
	return nil
}

// dbCall is one timed HTTP call of the DB operations.
func (u *user) dbCall(method, path string, body any, want int, out any) *Error {
	start := time.Now()
	hdr, err := u.t.call(u.ctx, PhaseDBOperation, method, path, u.sess.Token, body, want, out)
	u.res.Server = appendServerTiming(u.res.Server, hdr)
	if err == nil {
		u.sample(PhaseDBOperation, time.Since(start))
	}
	return err
}

// dbOps creates a thread, lists threads, and reads back the run's thread.
func (u *user) dbOps() *Error {
	var th protocol.Thread
	if err := u.dbCall(http.MethodPost, protocol.PathThreads, protocol.NewThread{Title: "golden path " + u.asked[0].messageID}, http.StatusCreated, &th); err != nil {
		return err
	}
	var list protocol.ThreadList
	if err := u.dbCall(http.MethodGet, protocol.PathThreads, nil, http.StatusOK, &list); err != nil {
		return err
	}
	u.scanForeign("GET "+protocol.PathThreads, list)
	for _, id := range []string{th.ID, u.thread} {
		found := false
		for _, t := range list.Threads {
			found = found || t.ID == id
		}
		if !found {
			u.violate(Violation{Kind: ViolationStoreMismatch, Detail: fmt.Sprintf("GET %s does not list thread %q (%d threads)", protocol.PathThreads, id, len(list.Threads))})
		}
	}
	var ml protocol.MessageList
	path := protocol.PathThreads + "/" + url.PathEscape(u.thread) + "/messages"
	if err := u.dbCall(http.MethodGet, path, nil, http.StatusOK, &ml); err != nil {
		return err
	}
	u.scanForeign("GET "+path, ml)
	for _, req := range u.asked { // every one answered: the journey got here
		q, a := -1, -1
		nq, na := 0, 0
		for i, m := range ml.Messages {
			switch {
			case m.MessageID != req.messageID:
			case m.Role == "user" && m.Content == req.content:
				q, nq = i, nq+1
			case m.Role == "assistant" && strings.Contains(m.Content, req.content):
				if a < 0 {
					a = i
				}
				na++
			}
		}
		var details []string
		switch {
		case q < 0:
			details = append(details, "lacks the question of message "+req.messageID)
		case nq > 1:
			details = append(details, fmt.Sprintf("holds the question of message %s %d times", req.messageID, nq))
		}
		switch {
		case a < 0:
			details = append(details, "lacks the answer of message "+req.messageID)
		case na > 1:
			details = append(details, fmt.Sprintf("holds the answer of message %s %d times", req.messageID, na))
		}
		if q >= 0 && a >= 0 && a < q {
			details = append(details, "lists the answer of message "+req.messageID+" before its question")
		}
		for _, d := range details {
			u.violate(Violation{Kind: ViolationStoreMismatch, Detail: fmt.Sprintf("thread %s %s (%d messages)", u.thread, d, len(ml.Messages))})
		}
	}
	return nil
}

// scanForeign runs the Foreign hook over an HTTP reply body (re-encoded):
// another user's data in a reply is contamination as much as in a frame.
func (u *user) scanForeign(where string, body any) {
	if u.opts.Foreign == nil {
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		return
	}
	if owner, found := u.opts.Foreign(b); found {
		u.violate(Violation{Kind: ViolationForeignData, Detail: fmt.Sprintf("%s reply carries data of %s", where, owner), Sample: sample(b)})
	}
}
