package journey

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

// puser is one profile-driven journey over a WebSocket in progress.
type puser struct {
	*user
	spec     *ProfileSpec
	p        *profile.Profile
	po       *profileOracle
	fields   profile.Fields
	captured map[string]string
	runs     []*pinflight
	// handshaken is when the last handshake step was done: the arrival
	// of the frame it waited for, or the write of the one it sent.
	handshaken time.Time
}

// pinflight is one request of a profile-driven journey on its socket.
type pinflight struct {
	id, nonce, content           string
	sent, started, thought, last time.Time
	done                         bool
}

// Trace, when set in [Options], is told each step of a profile-driven
// journey and each frame as it was read: the step ("login", "handshake[0]
// wait", "request 1", ...) and the frame's bytes (nil for a step), secrets
// redacted. goldenpath profile check prints them.
type Trace func(step string, frame []byte)

// walkProfile is a journey as u.t's profile says: login, [config], the
// stream and its handshake, the runs, [history read-back].
func (u *puser) walk(acct Account) *Error {
	var sess Session
	var err *Error
	if u.p.Auth.APIKey {
		u.trace("no login: the API key is the token", nil)
		sess.Token = u.spec.APIKey
	} else {
		u.trace("login "+acct.Email, nil)
		if sess, err = ProfileLogin(u.ctx, u.t, u.p, acct, u.spec.authURL(), u.spec.BypassKey); err != nil {
			return err
		}
		u.sample(PhaseLogin, time.Since(u.res.Start))
	}
	u.sess, u.res.UserID = sess, sess.UserID
	u.fields = profile.Fields{Email: acct.Email, Password: acct.Password, Name: nameOf(acct.Email), BypassKey: u.spec.BypassKey,
		Model: u.spec.Model, Token: sess.Token, TokenBase64URL: base64.RawURLEncoding.EncodeToString([]byte(sess.Token))}
	if u.opts.ConfigAccess && u.p.Config != nil {
		start := time.Now()
		if _, err := u.call(u.p.Config, PhaseConfigAccess, "config"); err != nil {
			return err
		}
		u.sample(PhaseConfigAccess, time.Since(start))
	}
	err = u.converse()
	if u.po != nil {
		for _, v := range u.po.done() {
			if err == nil || v.Kind != ViolationMissingTerm {
				u.violate(v)
			}
		}
	}
	if err != nil || !u.opts.DBOps || u.p.History == nil {
		return err
	}
	return u.history()
}

// call sends one of the profile's calls with the session's token and
// returns the reply's body.
func (u *puser) call(c *profile.Call, phase, what string) ([]byte, *Error) {
	f := u.fields
	f.ThreadID = u.thread
	return profileCall(u.ctx, u.t, c, f, "", phase, what, u.sess.Token)
}

// converse opens the stream, shakes hands, runs every request and closes.
func (u *puser) converse() *Error {
	if err := u.connect(); err != nil {
		return err
	}
	if err := u.settle(); err != nil {
		return err
	}
	if err := u.converseRuns(); err != nil {
		return err
	}
	u.sample(PhaseJourney, u.answer.Sub(u.res.Start))
	u.close()
	return nil
}

// upgradeHeader places the token as the profile says, and returns the
// URL to dial and the subprotocols offered.
func (u *puser) upgradeHeader() (string, http.Header, []string, *Error) {
	hdr := make(http.Header, 1)
	wsURL := u.t.wsURL
	var offered []string
	switch u.p.Stream.Token {
	case profile.TokenHeader:
		hdr.Set("Authorization", "Bearer "+u.sess.Token)
	case profile.TokenSubprotocol:
		r, err := profile.Render(anySlice(u.p.Stream.Subprotocols), u.fields)
		if err != nil {
			return "", nil, nil, &Error{Kind: FailOptions, Phase: PhaseWSConnect, Message: "stream.subprotocols: " + err.Error()}
		}
		for _, s := range r.([]any) {
			offered = append(offered, s.(string))
		}
		hdr.Set("Sec-WebSocket-Protocol", strings.Join(offered, ", "))
	case profile.TokenQuery:
		sep := "?"
		if strings.Contains(wsURL, "?") {
			sep = "&"
		}
		wsURL += sep + url.QueryEscape(u.p.Stream.Query) + "=" + url.QueryEscape(u.sess.Token)
	}
	return wsURL, hdr, offered, nil
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// connect dials, checks the upgrade and walks the handshake.
func (u *puser) connect() *Error {
	wsURL, hdr, offered, e := u.upgradeHeader()
	if e != nil {
		return e
	}
	u.trace("connect "+u.p.Stream.Path+" (token: "+u.p.Stream.Token+")", nil)
	sock, resp, err := dialWS(u.ctx, u.t, wsURL, hdr)
	if sock == nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && u.ctx.Err() == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			return statusError(PhaseWSConnect, "GET "+u.p.Stream.Path, resp.StatusCode, body)
		}
		return classify(u.ctx, PhaseWSConnect, err)
	}
	upgraded := sock.upgraded
	u.sample(PhaseWSConnect, upgraded.Sub(sock.dialed))
	u.sock = sock
	u.po = newProfileOracle(u.p, u.sess.UserID, u.opts.Foreign)
	if len(offered) > 0 {
		// RFC 6455: a server that selects a subprotocol selects one offered.
		if got := sock.ws.Subprotocol(); got != "" && !slices.Contains(offered, got) {
			return &Error{Kind: FailProtocol, Phase: PhaseWSConnect, Message: "server selected subprotocol " + strconv.Quote(got) + ", which the client did not offer (RFC 6455)"}
		}
	}
	for i, st := range u.p.Handshake {
		if err := u.step(i, st, upgraded); err != nil {
			return err
		}
	}
	if len(u.p.Handshake) > 0 {
		u.sample(PhaseWSReady, u.handshaken.Sub(upgraded))
	}
	return nil
}

// step walks one handshake step: send a frame, or wait for frames of
// every type it names (in any order), capturing fields from them.
func (u *puser) step(i int, st profile.Step, upgraded time.Time) *Error {
	name := "handshake[" + strconv.Itoa(i) + "]"
	if st.Send != nil {
		f := u.fields
		f.Captured = u.captured
		frame, err := profile.Render(st.Send, f)
		if err != nil {
			return &Error{Kind: FailOptions, Phase: PhaseWSReady, Message: name + ".send: " + err.Error()}
		}
		b, _ := json.Marshal(frame)
		u.trace(name+" send", b)
		_ = u.sock.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := u.sock.ws.WriteMessage(websocket.TextMessage, b); err != nil {
			return classify(u.ctx, PhaseWSReady, err)
		}
		u.res.Sent.add(frameType(frame))
		u.handshaken = time.Now()
		return nil
	}
	timeout := u.opts.RunTimeout
	if d, err := time.ParseDuration(st.Timeout); err == nil && d > 0 {
		timeout = min(d, timeout) // the profile's budget, within the journey's
	}
	_ = u.sock.ws.SetReadDeadline(time.Now().Add(timeout))
	waiting := slices.Clone(st.Wait)
	var last []byte
	for len(waiting) > 0 {
		e, err := u.next()
		if err != nil {
			pe := classify(u.ctx, PhaseWSReady, err)
			if pe.Kind == FailTimeout {
				pe.Message = name + ": no " + strings.Join(waiting, ", ") + " within " + timeout.String()
				if last != nil {
					pe.Message += "; the last frame was " + sample(last)
				} else {
					pe.Message += "; no frame arrived"
				}
			}
			return pe
		}
		last = slices.Clone(u.sock.buf.Bytes())
		j := slices.Index(waiting, e.Type)
		if j < 0 {
			u.trace(name+" wait "+strings.Join(waiting, ", ")+": skipped", u.sock.buf.Bytes())
			continue
		}
		u.trace(name+" wait: matched "+e.Type, u.sock.buf.Bytes())
		waiting = slices.Delete(waiting, j, j+1)
		u.handshaken = u.sock.at
		if len(st.Capture) > 0 {
			var v any
			_ = json.Unmarshal(u.sock.buf.Bytes(), &v)
			for cname, path := range st.Capture {
				if _, have := u.captured[cname]; have {
					continue
				}
				if s, ok := capture(v, path, u.p.Events.Data); ok {
					if u.captured == nil {
						u.captured = map[string]string{}
					}
					u.captured[cname] = s
				}
			}
		}
	}
	for cname, path := range st.Capture {
		if _, ok := u.captured[cname]; !ok {
			return &Error{Kind: FailProtocol, Phase: PhaseWSReady, Message: name + ": captures " + cname + " at " + strconv.Quote(path) + ", which none of " + strings.Join(st.Wait, ", ") + " held", Sample: sample(last)}
		}
	}
	return nil
}

// capture reads a string (or a number, as text) at path in frame v, or in
// one of its data envelopes.
func capture(v any, path string, envelopes []string) (string, bool) {
	for _, root := range append([]string{""}, envelopes...) {
		at := v
		if root != "" {
			at = profile.Lookup(v, root)
		}
		switch x := profile.Lookup(at, path).(type) {
		case string:
			return x, true
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), true
		}
	}
	return "", false
}

// next reads one frame and has the profile oracle judge it.
func (u *puser) next() (profile.Event, error) {
	text, err := u.sock.read()
	if err != nil {
		return profile.Event{}, err
	}
	u.res.Frames++
	e, vs := u.po.observe(u.sock.buf.Bytes(), text)
	u.res.Received.add(e.Type)
	u.violate(vs...)
	return e, nil
}

// close sends close 1000 and judges what still arrives until the server's
// close frame, for at most closeWait.
func (u *puser) close() {
	u.closeReading(func() error { _, err := u.next(); return err })
}
