package journey

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// Start begins one journey like [Run] and returns at once; done gets its
// Result, once, on another goroutine. The built-in PROTOCOL v1 journey
// holds no goroutine while it waits for the target: its active steps
// (login, the upgrade, the store checks) run on a bounded pool of
// workers, and its socket is read by the package's epoll loop, every frame
// judged by the oracle as it arrives (docs/architecture.md). A journey of a
// profile ([WithProfile]) runs on a goroutine of its own, as Run does.
func Start(ctx context.Context, t *Target, acct Account, opts Options, done func(*Result)) {
	if t == nil || t.spec != nil {
		go func() { done(Run(ctx, t, acct, opts)) }()
		return
	}
	u := newAUser(ctx, t, done)
	if rawFor(t) != nil { // nothing blocks until the login's reply
		u.begin(acct, opts)
		return
	}
	work.push(func() { u.begin(acct, opts) })
}

// astate is where a built-in journey is once its socket is open.
type astate uint8

const (
	stHello    astate = iota // waiting for connection_established
	stSettling               // a goroutine waits out SettleDelay and the Ready hook
	stRuns                   // requests sent, runs awaited
	stGap                    // every answer in, reading on while the oracle misses a seq
	stClosing                // close sent, reading until the server's
	stOver                   // the socket is shut; the journey completes
)

// auser is a built-in journey driven by its socket's frames: begin runs
// its first steps on a worker, then each frame, deadline or cancellation
// moves it on, with its wsconn's mutex held, until over hands it to
// complete.
type auser struct {
	user
	done     func(*Result)
	c        *wsconn
	st       astate
	dialed   time.Time // when the dial began,
	upgraded time.Time // and when the upgrade ended
	runs     []*inflight
	sentN    int // requests sent
	answered int
	deadline time.Time // of the wait the state is in
	// One timer and one context watch per journey: before its socket is
	// read they end the exchange under way (xcur, rawnet_linux.go), from
	// then on the wait the state is in (timedOut, cancelled). xmu guards
	// them, xcur and socket.
	xmu     sync.Mutex
	timer   *time.Timer
	unwatch func() bool
	xcur    exchangeRef
	socket  bool
	// result and server are the journey's Result and the first of its
	// server timings (a login's and two runs' events have about six), held
	// here so that a journey makes one allocation for the three.
	result Result
	server [8]ServerTiming
	// The first request's record, and its run's: a journey of one request
	// makes no allocation for either.
	askedBuf    [1]request
	runsBuf     [1]*inflight
	inflightBuf [1]inflight
}

func newAUser(ctx context.Context, t *Target, done func(*Result)) *auser {
	u := &auser{done: done}
	res := &u.result
	res.Server = u.server[:0]
	u.user = user{ctx: countingReplies(ctx, res), t: t, res: res}
	u.asked, u.runs = u.askedBuf[:0], u.runsBuf[:0]
	return u
}

// begin logs in, reads the configuration, dials and upgrades, and hands
// the socket to the reader; any failure completes the journey.
func (u *auser) begin(acct Account, opts Options) {
	u.res.Start = time.Now()
	defer func() {
		if p := recover(); p != nil {
			u.fail(&Error{Kind: FailInternal, Message: fmt.Sprintf("panic (a goldenpath bug, not the target's): %v", p)})
		}
	}()
	if err := u.prepare(&opts); err != nil {
		u.fail(err)
		return
	}
	if err := u.ctx.Err(); err != nil {
		u.fail(classify(u.ctx, PhaseLogin, err))
		return
	}
	if rt := rawFor(u.t); rt != nil {
		u.loginRaw(rt, acct)
		return
	}
	sess, hdr, err := login(u.ctx, u.t, acct)
	u.res.Server = appendServerTiming(u.res.Server, hdr)
	if err != nil {
		u.fail(err)
		return
	}
	u.sample(PhaseLogin, time.Since(u.res.Start))
	u.sess, u.res.UserID = sess, sess.UserID
	if u.opts.ConfigAccess {
		if err := u.config(); err != nil {
			u.fail(err)
			return
		}
	}
	if err := u.open(); err != nil {
		u.fail(err)
	}
}

// open dials and upgrades the WebSocket and hands it to a wsconn, which
// reads it from then on; the journey waits for connection_established.
func (u *auser) open() *Error {
	hdr, protos := u.wsAuth()
	u.dialed = time.Now()
	up, err := upgrade(u.ctx, u.t, hdr, protos)
	u.upgraded = time.Now()
	if up.status != 0 {
		noteReply(u.ctx, up.status)
	}
	switch {
	case err == nil:
	case up.status != 0 && up.status != http.StatusSwitchingProtocols && u.ctx.Err() == nil:
		return statusError(PhaseWSConnect, "GET "+protocol.PathWS, up.status, up.body)
	case errors.Is(err, ws.ErrHandshakeBadSubProtocol) && u.ctx.Err() == nil:
		return &Error{Kind: FailProtocol, Phase: PhaseWSConnect, Message: "server selected a subprotocol that was not offered"}
	default:
		return classify(u.ctx, PhaseWSConnect, err)
	}
	u.sample(PhaseWSConnect, u.upgraded.Sub(u.dialed))
	if e := u.checkProtocol(up.protocol); e != nil {
		_ = up.conn.Close()
		return e
	}
	u.listen(func(c *wsconn) { c.attach(up.conn, up.rest, u.upgraded) })
	return nil
}

// wsAuth is how the journey's token goes with its upgrade: a header, or
// subprotocols.
func (u *auser) wsAuth() (http.Header, []string) {
	hdr := make(http.Header, 1)
	if u.opts.Subprotocol {
		return hdr, []string{protocol.SubprotocolAuth, protocol.SubprotocolTokenPrefix + u.sess.Token}
	}
	hdr.Set("Authorization", "Bearer "+u.sess.Token)
	return hdr, nil
}

// wsAuthRaw is wsAuth for the raw path: the Authorization header's value
// ("" when the token goes as a subprotocol) and the subprotocols.
func (u *auser) wsAuthRaw() (string, []string) {
	if u.opts.Subprotocol {
		return "", []string{protocol.SubprotocolAuth, protocol.SubprotocolTokenPrefix + u.sess.Token}
	}
	return "Bearer " + u.sess.Token, nil
}

// checkProtocol judges the subprotocol the server selected.
func (u *auser) checkProtocol(selected string) *Error {
	if u.opts.Subprotocol && selected != protocol.SubprotocolAuth {
		return &Error{Kind: FailProtocol, Phase: PhaseWSConnect,
			Message: fmt.Sprintf("server selected subprotocol %q, want %q", selected, protocol.SubprotocolAuth)}
	}
	return nil
}

// listen starts the journey's reading of its upgraded socket, which
// attach hands to the new wsconn; the journey waits for
// connection_established.
func (u *auser) listen(attach func(*wsconn)) {
	var oo []OracleOption
	if u.opts.Foreign != nil {
		oo = append(oo, WithForeign(u.opts.Foreign))
	}
	u.oracle = NewOracle(u.sess.UserID, oo...)
	u.st, u.deadline = stHello, u.upgraded.Add(u.opts.RunTimeout)
	u.c = &wsconn{h: u, fd: -1}
	u.c.mu.Lock() // the callbacks wait until the socket's state is set, whenever they fire
	u.xmu.Lock()
	u.socket, u.xcur = true, exchangeRef{}
	u.xmu.Unlock()
	u.arm(u.opts.RunTimeout)
	u.c.mu.Unlock()
	attach(u.c) // shut meanwhile: it closes the connection
	if u.ctx.Err() != nil {
		go u.cancelled() // the watch may have fired before the socket, with nothing to end
	}
}

// message judges one frame and moves the journey on (wsconn.mu held).
func (u *auser) message(text bool, payload []byte, at time.Time) {
	defer u.recoverPanic()
	if u.st == stOver {
		return
	}
	if !text {
		u.violate(Violation{Kind: ViolationBadEnvelope, Detail: "a binary frame; the protocol sends text frames", Sample: sample(payload)})
	}
	f, vs := u.oracle.Observe(payload)
	for _, v := range vs {
		if v.Kind == ViolationSeqDuplicate {
			f.Type = "" // a repeat moves nothing on
		}
	}
	u.res.Frames++
	u.res.Received.add(f.Type)
	u.violate(vs...)
	switch u.st {
	case stHello:
		u.hello(&f, payload, at)
	case stRuns:
		u.event(&f, payload, at)
	case stGap:
		if !u.oracle.HasGap() {
			u.closing()
		}
	}
}

// hello takes connection_established, then waits out the settling or
// sends the first request.
func (u *auser) hello(f *Frame, payload []byte, at time.Time) {
	if f.Type != protocol.EventConnectionEstablished {
		u.over(&Error{Kind: FailProtocol, Phase: PhaseWSReady, Message: "first frame is " + strconv.Quote(f.Type) + ", want connection_established", Sample: sample(payload)})
		return
	}
	// Only a frame that arrived after the 101 splits the two. Both in
	// one segment, or merged by the kernel while the 101 waited unread
	// (it keeps the later time), or (the usual path) a 101 timed when
	// gobwas's read of it returned and a frame read later by an epoll
	// loop with its earlier arrival time, leave the split unseen
	// (Result.ReadyUnseen). The raw path reads a 101 on its own
	// (rxbuf.readUpTo), so that a frame queued behind it, not merged,
	// keeps its own time.
	if at.After(u.upgraded) {
		u.sample(PhaseWSReady, at.Sub(u.upgraded))
	} else {
		u.res.ReadyUnseen = true
	}
	if u.clk = newClockSync(u.dialed, at, f.ServerTime); u.clk.ok {
		u.res.ClockOffset = ClockOffset(u.dialed, at, f.ServerTime)
	}
	if u.opts.SettleDelay > 0 || u.opts.Ready != nil {
		u.st = stSettling
		go u.settleThenSend()
		return
	}
	u.sendNext()
}

// settleThenSend waits out the SettleDelay and the Ready hook, then sends
// the first request (on a goroutine of its own: Ready may hold it long).
func (u *auser) settleThenSend() {
	err := u.settle()
	u.c.mu.Lock()
	defer u.c.mu.Unlock()
	defer u.recoverPanic()
	switch {
	case u.st != stSettling: // over meanwhile
	case err != nil:
		u.over(err)
	default:
		u.sendNext()
	}
}

// sendNext sends the next request and awaits its run.
func (u *auser) sendNext() {
	i := u.sentN
	nonce, n := u.opts.Nonce(), strconv.Itoa(i+1)
	// "m1-NONCE" and "golden path question 1: NONCE", made as one string
	both := "m" + n + "-" + nonce + "golden path question " + n + ": " + nonce
	id := len("m") + len(n) + len("-") + len(nonce)
	req := request{messageID: both[:id], content: both[id:]}
	u.asked = append(u.asked, req)
	u.oracle.Expect(req.messageID, req.content)
	msg, err := encodeUserMessage(protocol.UserMessage{MessageID: req.messageID, Content: req.content, ThreadID: u.thread})
	if err != nil {
		u.over(&Error{Kind: FailInternal, Phase: PhaseFirstEvent, Message: "encode user_message: " + err.Error()})
		return
	}
	sent := time.Now()
	if err := u.c.write(ws.OpText, msg); err != nil {
		u.over(classify(u.ctx, PhaseFirstEvent, err))
		return
	}
	u.res.Sent.add(protocol.MessageUser)
	u.sentN++
	p := &inflight{}
	if len(u.runs) < len(u.inflightBuf) {
		p = &u.inflightBuf[len(u.runs)]
	}
	*p = inflight{req: req, sent: sent}
	u.runs = append(u.runs, p)
	u.st = stRuns
	u.setDeadline(sent.Add(u.opts.RunTimeout))
}

// event follows the runs' events: the per-frame body of a wait for the
// answers.
func (u *auser) event(f *Frame, payload []byte, now time.Time) {
	if f.Type == protocol.EventErrorMessage {
		u.over(&Error{Kind: FailProtocol, Phase: awaitPhase(u.runs), Message: "error_message " + f.Code + ": " + f.Message, Sample: sample(payload)})
		return
	}
	p := find(u.runs, f.MessageID)
	if p == nil || p.done || !protocol.IsRunEvent(f.Type) {
		return
	}
	if !p.last.IsZero() {
		u.sample(PhaseInterEvent, now.Sub(p.last))
	}
	p.last = now
	switch f.Type {
	case protocol.EventAgentStarted:
		if !p.started.IsZero() {
			return
		}
		p.started = now
		u.res.Instances = append(u.res.Instances, f.AgentInstanceID)
		u.sample(PhaseFirstEvent, now.Sub(p.sent))
		u.res.Server = append(u.res.Server, f.Timings...)
		if u.thread == "" {
			u.thread = f.ThreadID
		}
		if u.opts.Pipeline && p == u.runs[0] { // the rest go the moment the thread is known
			for u.sentN < u.opts.Messages && u.st == stRuns {
				u.sendNext()
			}
		}
	case protocol.EventAgentThinking:
		if p.thought.IsZero() {
			p.thought = now
			u.sample(PhaseFirstToken, now.Sub(p.sent))
		}
	case protocol.EventAgentCompleted:
		if !p.started.IsZero() {
			u.sample(PhaseAgentExecution, now.Sub(p.started))
		}
		u.sample(PhaseAnswer, now.Sub(p.sent))
		if u.clk.ok && !f.CompletedAt.IsZero() {
			d, clamped := u.clk.delivery(now, f.CompletedAt)
			u.sample(PhaseResponseDelivery, d)
			if clamped {
				u.res.Clamped++
			}
		}
		u.res.Server = append(u.res.Server, f.Timings...)
		if u.thread == "" {
			u.thread = f.ThreadID
		}
		p.done = true
		u.answered++
		u.res.Runs++
		u.answer = now
		switch {
		case u.answered == u.opts.Messages:
			u.answeredAll()
		case !u.opts.Pipeline:
			u.sendNext()
		}
	case protocol.EventAgentError:
		u.over(&Error{Kind: FailProtocol, Phase: PhaseAgentExecution, Message: "agent_error " + f.Code + ": " + f.Message, Sample: sample(payload)})
	}
}

// answeredAll times the journey and closes the socket, after reading on
// for gapGrace while the oracle still misses a seq: a reordered frame may
// still come.
func (u *auser) answeredAll() {
	u.sample(PhaseJourney, u.answer.Sub(u.res.Start))
	if u.oracle.HasGap() {
		u.st = stGap
		u.setDeadline(time.Now().Add(gapGrace))
		return
	}
	u.closing()
}

// closing sends close 1000 and reads (and judges) what still arrives
// until the server's close frame, for at most closeWait.
func (u *auser) closing() {
	u.st = stClosing
	if !u.c.closeSent {
		u.c.sendClose(1000)
	}
	u.setDeadline(time.Now().Add(closeWait))
}

// ended is the end of reading (wsconn.mu held).
func (u *auser) ended(err error) {
	defer u.recoverPanic()
	switch u.st {
	case stHello:
		u.over(failure(u.ctx, PhaseWSReady, err))
	case stSettling:
		u.over(failure(u.ctx, PhaseFirstEvent, err))
	case stRuns:
		if e, ok := err.(*Error); ok {
			e.Phase = awaitPhase(u.runs)
			u.over(e)
			return
		}
		u.over(u.awaitFailed(u.runs, err))
	case stGap, stClosing:
		u.over(nil)
	}
}

// failure is the Error of a read's end err in phase.
func failure(ctx context.Context, phase string, err error) *Error {
	if e, ok := err.(*Error); ok && ctx.Err() == nil {
		e.Phase = phase
		return e
	}
	return classify(ctx, phase, err)
}

// timedOut is the deadline of the current wait.
func (u *auser) timedOut() {
	u.c.mu.Lock()
	defer u.c.mu.Unlock()
	defer u.recoverPanic()
	if u.st == stOver || u.st == stSettling {
		return
	}
	if left := time.Until(u.deadline); left > 0 {
		u.timer.Reset(left) // moved on since the timer was set
		return
	}
	switch u.st {
	case stHello:
		e := classify(u.ctx, PhaseWSReady, os.ErrDeadlineExceeded)
		if e.Kind == FailTimeout {
			e.Message = "no connection_established within " + u.opts.RunTimeout.String() + " (RunTimeout)"
		}
		u.over(e)
	case stRuns:
		u.over(u.awaitFailed(u.runs, os.ErrDeadlineExceeded))
	case stGap:
		u.closing()
	case stClosing:
		u.over(nil)
	}
}

// cancelled is the end of the journey's context.
func (u *auser) cancelled() {
	u.c.mu.Lock()
	defer u.c.mu.Unlock()
	defer u.recoverPanic()
	switch u.st {
	case stOver:
	case stGap, stClosing:
		u.over(nil)
	case stRuns:
		u.over(classify(u.ctx, awaitPhase(u.runs), u.ctx.Err()))
	default:
		u.over(classify(u.ctx, PhaseWSReady, u.ctx.Err()))
	}
}

// setDeadline starts the current wait's deadline.
func (u *auser) setDeadline(t time.Time) {
	u.deadline = t
	u.timer.Reset(time.Until(t))
}

// over shuts the socket and completes the journey with err (nil: it
// completed) on a goroutine of its own (wsconn.mu held).
func (u *auser) over(err *Error) {
	if u.st == stOver {
		return
	}
	u.st = stOver
	// Whatever happens below, the journey completes: on the epoll loop
	// that read its last frame, once the socket's lock is released, or on
	// a goroutine of its own (its store checks block; a timer or a
	// cancellation ended it).
	defer func() {
		if u.c.inReady && !(err == nil && u.opts.DBOps) {
			u.c.after = func() { u.complete(err) }
			return
		}
		go u.complete(err)
	}()
	u.res.ReadLag = max(u.res.ReadLag, u.c.lag)
	u.disarm()
	u.c.shut()
}

// recoverPanic turns a panic in a frame's handling into the journey's
// failure (wsconn.mu held).
func (u *auser) recoverPanic() {
	if p := recover(); p != nil && u.st != stOver {
		u.over(&Error{Kind: FailInternal, Message: fmt.Sprintf("panic (a goldenpath bug, not the target's): %v", p)})
	}
}

// complete ends the journey: the oracle's last findings, the store checks
// of a journey that got its answers, and done.
func (u *auser) complete(err *Error) {
	defer func() {
		if p := recover(); p != nil {
			u.res.Err = &Error{Kind: FailInternal, Message: fmt.Sprintf("panic (a goldenpath bug, not the target's): %v", p)}
			u.res.End = time.Now()
			u.done(u.res)
		}
	}()
	u.disarm() // a journey that ended before its socket was read
	if u.oracle != nil {
		for _, v := range u.oracle.Done() {
			if err == nil || v.Kind != ViolationMissingTerm { // a failed run is the Error already
				u.violate(v)
			}
		}
	}
	if err == nil && u.opts.DBOps {
		err = u.dbOps()
	}
	if err != nil {
		u.res.Err = err
	}
	u.res.End = time.Now()
	done := u.done
	u.done = nil
	done(u.res)
}
