package journey

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gobwas/ws"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// The built-in journey on the raw path (rawnet_linux.go): its login and
// its upgrade are exchanges whose replies arrive on an epoll loop, where
// the journey goes on without a goroutine of its own. They judge what
// login and open judge, with the same errors.

// loginRaw sends the login; loggedIn goes on when the reply comes.
func (u *auser) loginRaw(rt *rawTarget, acct Account) {
	body, err := encodeCredentials(protocol.Credentials{Email: acct.Email, Password: acct.Password})
	if err != nil {
		u.fail(&Error{Kind: FailInternal, Phase: PhaseLogin, Message: "encode request: " + err.Error()})
		return
	}
	rt.do(u, postJSON(rt.host, rt.prefix+protocol.PathLogin, body), false, rt.timeout,
		func(r reply) { u.loggedIn(rt, r) })
}

// loggedIn takes the login's reply, then reads the configuration (on a
// worker: that call blocks) or opens the WebSocket.
func (u *auser) loggedIn(rt *rawTarget, r reply) {
	defer u.recoverStep()
	if r.err != nil {
		u.fail(classify(u.ctx, PhaseLogin, r.err))
		return
	}
	u.res.ReadLag = max(u.res.ReadLag, r.lag)
	status := r.code
	noteReply(u.ctx, status)
	var st [2]string
	u.res.Server = appendTimings(u.res.Server, r.values("Server-Timing", st[:0]))
	what := http.MethodPost + " " + protocol.PathLogin
	if status != http.StatusOK {
		u.fail(statusError(PhaseLogin, what, status, r.body))
		return
	}
	var lr protocol.LoginReply
	if !fastLoginReply(r.body, &lr) { // not in the plain form: read as encoding/json would
		lr = protocol.LoginReply{}
		if err := jsonv1.Unmarshal(r.body, &lr); err != nil {
			u.fail(&Error{Kind: FailProtocol, Phase: PhaseLogin, Message: what + ": reply is not the expected JSON: " + err.Error(), Sample: sample(r.body)})
			return
		}
	}
	sess, e := sessionOf(lr)
	if e != nil {
		u.fail(e)
		return
	}
	u.sample(PhaseLogin, r.at.Sub(u.res.Start))
	u.sess, u.res.UserID = sess, sess.UserID
	if u.opts.ConfigAccess {
		work.push(func() {
			defer u.recoverStep()
			if err := u.config(); err != nil {
				u.complete(err)
				return
			}
			u.openRaw(rt)
		})
		return
	}
	u.openRaw(rt)
}

// openRaw dials and sends the upgrade; upgradedRaw goes on with its reply.
func (u *auser) openRaw(rt *rawTarget) {
	auth, protos := u.wsAuthRaw()
	u.dialed = time.Now()
	req, key, err := upgradeRequest(rt.host, rt.wsPath, auth, protos)
	if err != nil {
		u.fail(classify(u.ctx, PhaseWSConnect, err))
		return
	}
	timeout := u.t.Dialer.HandshakeTimeout
	if timeout <= 0 {
		timeout = rt.timeout
	}
	rt.do(u, req, true, timeout, func(r reply) { u.upgradedRaw(r, key, protos) })
}

// upgradedRaw judges the upgrade's reply and hands its socket to the
// journey's wsconn.
func (u *auser) upgradedRaw(r reply, key string, protos []string) {
	defer u.recoverStep()
	u.upgraded = time.Now()
	if r.err == nil {
		u.upgraded = r.at
		u.res.ReadLag = max(u.res.ReadLag, r.lag)
		noteReply(u.ctx, r.code)
	}
	switch {
	case r.err != nil:
		u.fail(classify(u.ctx, PhaseWSConnect, r.err))
		return
	case r.code != http.StatusSwitchingProtocols && u.ctx.Err() == nil:
		u.fail(statusError(PhaseWSConnect, "GET "+protocol.PathWS, r.code, r.body))
		return
	case u.ctx.Err() != nil:
		closeRaw(r.p, r.fd)
		u.fail(classify(u.ctx, PhaseWSConnect, u.ctx.Err()))
		return
	}
	if err := checkUpgrade(&r.replyHead, key, protos); err != nil {
		closeRaw(r.p, r.fd)
		if errors.Is(err, ws.ErrHandshakeBadSubProtocol) {
			u.fail(&Error{Kind: FailProtocol, Phase: PhaseWSConnect, Message: "server selected a subprotocol that was not offered"})
			return
		}
		u.fail(classify(u.ctx, PhaseWSConnect, err))
		return
	}
	u.sample(PhaseWSConnect, u.upgraded.Sub(u.dialed))
	if u.opts.LocalPort {
		u.res.LocalPort = localPort(r.fd)
	}
	if e := u.checkProtocol(r.get("Sec-Websocket-Protocol")); e != nil {
		closeRaw(r.p, r.fd)
		u.fail(e)
		return
	}
	u.listen(func(c *wsconn) { c.adopt(r.fd, r.p, r.rest, r.at) })
}

// fail completes a journey that failed before its socket was read, on a
// goroutine of its own: the caller may be an epoll loop.
func (u *auser) fail(err *Error) { go u.complete(err) }

// recoverStep turns a panic in a step before the socket is read into the
// journey's failure.
func (u *auser) recoverStep() {
	if p := recover(); p != nil {
		u.fail(&Error{Kind: FailInternal, Message: fmt.Sprintf("panic (a goldenpath bug, not the target's): %v", p)})
	}
}
