package hub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/backend"
	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// frame is one queued server frame: the event type and its encoded data;
// the writer adds seq and timestamp as it writes.
// queueReorderWait is how long the queue-reorder fault's writer lets the
// frames of several runs gather before it writes them.
const queueReorderWait = 5 * time.Millisecond

type frame struct {
	typ  string
	data []byte
	run  *emitter // the run that emitted it; nil for the connection's own frames
}

type conn struct {
	h      *Hub
	ws     *websocket.Conn
	id     string
	userID string
	ctx    context.Context // ends when the connection ends
	cancel context.CancelFunc
	// runs is the context of the connection's runs: it ends with the
	// connection, or earlier, with a cause, when a drain runs out of time.
	runs       context.Context
	cancelRuns context.CancelCauseFunc

	routed    atomic.Bool  // the router knows this connection (false briefly under handshake-race)
	running   atomic.Int64 // runs in flight
	closeOnce sync.Once
	closed    atomic.Bool
	doomed    bool // fault close-1011: this connection is closed with 1011 mid-run

	// The send queue. A writer goroutine runs only while frames wait (so an
	// idle connection costs one goroutine, its reader); writing says one
	// is running, and there is never more than one.
	qmu       sync.Mutex
	queue     []frame
	writing   bool
	stopped   bool // no more frames are accepted
	broken    bool // a write failed; later frames are discarded
	limit     int  // frames that may wait before the client is a slow consumer
	fw        frameWriter
	drained   sync.WaitGroup
	heartbeat *time.Timer
}

func (h *Hub) newConn(ws *websocket.Conn, userID string) *conn {
	s := h.live()
	ctx, cancel := context.WithCancel(context.Background())
	runs, cancelRuns := context.WithCancelCause(ctx)
	c := &conn{
		h: h, ws: ws, id: newID("c_"), userID: userID,
		ctx: ctx, cancel: cancel, runs: runs, cancelRuns: cancelRuns, limit: s.SendQueue,
	}
	c.fw.c = c
	if h.faults.Close1011 > 0 {
		c.doomed = rand.Float64() < h.faults.Close1011
	}
	return c
}

// serve runs the connection: connection_established first, then the writer
// goroutine, then the read loop on this goroutine until the socket ends.
func (c *conn) serve() {
	c.ws.SetReadLimit(protocol.MaxContentBytes + 4<<10)
	now := time.Now().UTC()
	est, _ := json.Marshal(protocol.ConnectionEstablished{ConnectionID: c.id, UserID: c.userID, ServerTime: now})
	_ = c.enqueueRaw(frame{typ: protocol.EventConnectionEstablished, data: est})
	c.h.register(c)
	c.heartbeat = time.AfterFunc(c.h.live().Heartbeat, c.beat)
	c.readLoop()
	c.finish()
}

func (c *conn) readDeadline() time.Time {
	return time.Now().Add(readSlack*c.h.live().Heartbeat + 5*time.Second)
}

func (c *conn) readLoop() {
	_ = c.ws.SetReadDeadline(c.readDeadline())
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(c.readDeadline()) })
	for {
		typ, b, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.closeOnce.Do(func() { c.closed.Store(true) }) // gorilla has sent 1009
				c.h.metrics.ClosesTotal.WithLabelValues("1009").Inc()
			}
			return
		}
		if typ == websocket.TextMessage && !utf8.Valid(b) {
			// RFC 6455 section 8.1: fail the connection, read no further.
			c.closeWith(protocol.CloseInvalidPayload, "text frame is not valid UTF-8")
			return
		}
		_ = c.ws.SetReadDeadline(c.readDeadline())
		if !c.routed.Load() {
			continue // fault handshake-race: not yet known to the router, the frame is lost
		}
		c.handle(b)
	}
}

func (c *conn) handle(b []byte) {
	var m protocol.ClientMessage
	if err := json.Unmarshal(b, &m); err != nil || m.Type == "" {
		c.errorMessage(protocol.ErrInvalidJSON, "frame is not JSON of the form {\"type\":...,\"payload\":{...}}")
		return
	}
	switch m.Type {
	case protocol.MessagePing:
		var p protocol.Ping
		if len(m.Payload) > 0 && json.Unmarshal(m.Payload, &p) != nil {
			c.errorMessage(protocol.ErrBadRequest, "ping payload must be {\"nonce\":\"...\"}")
			return
		}
		c.enqueue(protocol.EventPong, map[string]string{"nonce": p.Nonce})
	case protocol.MessageUser:
		var u protocol.UserMessage
		if err := json.Unmarshal(m.Payload, &u); err != nil {
			c.errorMessage(protocol.ErrBadRequest, "user_message payload must be {\"message_id\",\"content\",\"thread_id\"?}")
			return
		}
		if len(u.Content) > protocol.MaxContentBytes {
			c.closeWith(protocol.CloseTooBig, "content over 32 KiB")
			return
		}
		if u.MessageID == "" || u.Content == "" {
			c.errorMessage(protocol.ErrBadRequest, "user_message needs a non-empty message_id and content")
			return
		}
		if c.h.draining.Load() {
			c.h.metrics.RunsTotal.WithLabelValues("rejected").Inc()
			c.errorMessage(protocol.ErrRateLimited, "server is draining; retry on another instance or after restart")
			return
		}
		if int(c.running.Load()) >= c.h.live().MaxRuns {
			c.h.metrics.RunsTotal.WithLabelValues("rejected").Inc()
			c.errorMessage(protocol.ErrRateLimited, "too many concurrent runs on this connection; wait for one to finish")
			return
		}
		c.startRun(RunRequest{UserID: c.userID, MessageID: u.MessageID, Content: u.Content, ThreadID: u.ThreadID})
	default:
		c.errorMessage(protocol.ErrUnknownType, "unknown message type "+strconv.Quote(m.Type)+"; known: user_message, ping")
	}
}

func (c *conn) startRun(req RunRequest) {
	c.running.Add(1)
	c.h.inflight.Add(1)
	ctx := c.runs
	if c.h.faults.CleanupLeak {
		ctx = context.WithoutCancel(ctx) // fault cleanup-leak: runs outlive their connection
	}
	em := &emitter{c: c, key: c.h.routeKey(c)}
	go func() {
		defer c.h.inflight.Add(-1)
		if c.h.faults.DataRace {
			c.h.racyRuns++ // fault data-race: a real data race, on purpose
		}
		defer c.running.Add(-1)
		err := c.h.run(ctx, req, em)
		if err != nil && !em.emitted.Load() {
			code, msg := protocol.ErrBadRequest, backend.PublicMessage(err)
			switch backend.ErrorCode(err) {
			case backend.ENOTFOUND:
				msg = "thread_id is not one of your threads"
			case backend.EINTERNAL:
				code = backend.EINTERNAL // not the client's fault: say so
				c.h.log.Error("hub: run refused", "err", err)
			}
			c.errorMessage(code, msg)
		}
	}()
}

func (c *conn) errorMessage(code, msg string) {
	c.enqueue(protocol.EventErrorMessage, protocol.ErrorMessage{Code: code, Message: msg})
}

// enqueue encodes data and queues it for the writer. A full queue makes the
// connection a slow consumer, closed with 1013.
func (c *conn) enqueue(typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return c.enqueueRaw(frame{typ: typ, data: b})
}

func (c *conn) enqueueRaw(f frame) error {
	c.qmu.Lock()
	if c.stopped {
		c.qmu.Unlock()
		return errGone
	}
	if len(c.queue) >= c.limit {
		c.qmu.Unlock()
		c.h.metrics.SlowConsumers.Inc()
		c.closeWith(protocol.CloseTryAgainLate, "slow consumer: send queue full")
		return errGone
	}
	c.queue = append(c.queue, f)
	start := !c.writing
	c.writing = true
	if start {
		c.drained.Add(1) // under qmu: finish, having set stopped, waits for every drain
	}
	c.qmu.Unlock()
	if start {
		go c.drain()
	}
	return nil
}

// drain is the connection's only writer while it runs: it writes queued
// frames in order until the queue is empty, then exits.
func (c *conn) drain() {
	defer c.drained.Done()
	var batch []frame
	for {
		if c.h.faults.QueueReorder && c.running.Load() > 1 {
			// fault queue-reorder: with several runs in flight, the
			// writer lets frames gather for a moment, to write them grouped.
			time.Sleep(queueReorderWait)
		}
		c.qmu.Lock()
		batch, c.queue = c.queue, batch[:0]
		if len(batch) == 0 {
			c.writing = false
			c.queue = nil // an idle connection keeps no queue
			c.qmu.Unlock()
			return
		}
		broken := c.broken
		c.qmu.Unlock()
		if c.h.faults.QueueReorder && !broken && queuedRuns(batch) > 1 {
			// fault queue-reorder: frames of several runs queued at once
			// are numbered in queue order and written grouped by run.
			if err := c.fw.writeGrouped(batch); err != nil {
				c.qmu.Lock()
				c.broken = true
				c.qmu.Unlock()
				c.cancel()
			}
			clear(batch)
			continue
		}
		for i, f := range batch {
			if broken {
				break // discard: the socket is gone
			}
			if err := c.fw.write(f); err != nil {
				broken = true
				c.qmu.Lock()
				c.broken = true
				c.qmu.Unlock()
				if !c.h.faults.CleanupLeak {
					c.cancel()
				}
			}
			batch[i] = frame{}
		}
	}
}

// beat sends a heartbeat frame and a WebSocket ping, and re-arms itself.
func (c *conn) beat() {
	b, _ := json.Marshal(protocol.Heartbeat{ServerTime: time.Now().UTC()})
	if c.enqueueRaw(frame{typ: protocol.EventHeartbeat, data: b}) != nil {
		return
	}
	_ = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout))
	c.heartbeat.Reset(c.h.live().Heartbeat)
}

// emitter routes one run's events through the hub's router.
type emitter struct {
	c       *conn
	key     string
	emitted atomic.Bool
}

func (e *emitter) Emit(typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	e.emitted.Store(true)
	dst := e.c
	if e.c.h.faults.CrossUser {
		// fault cross-user: the destination is whatever the router holds
		// under this run's (non-unique) key.
		if dst = e.c.h.lookup(e.key); dst == nil {
			return errGone
		}
	}
	if dst.doomed && typ == protocol.EventAgentThinking {
		dst.closeWith(protocol.CloseInternal, "internal error (fault close-1011)")
		return errGone
	}
	return dst.enqueueRaw(frame{typ: typ, data: b, run: e})
}

// waitFlushed waits until the connection's writer has written every queued
// frame (or its socket broke), or until deadline.
func (c *conn) waitFlushed(deadline time.Time) {
	for {
		c.qmu.Lock()
		idle := !c.writing || c.broken
		c.qmu.Unlock()
		if idle || !time.Now().Before(deadline) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// closeWith sends a close frame with code once and makes the read loop end
// soon; the read loop's exit releases the socket.
func (c *conn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.h.metrics.ClosesTotal.WithLabelValues(strconv.Itoa(code)).Inc()
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		_ = c.ws.SetReadDeadline(time.Now().Add(lingerTimeout))
		if !c.h.faults.CleanupLeak {
			c.cancel()
		}
	})
}

// finish runs when the read loop has ended: it stops the writer and the
// connection's runs, unregisters the connection, and releases the socket
// after a lingering close.
func (c *conn) finish() {
	c.closed.Store(true)
	c.h.unregister(c)
	if c.h.faults.CleanupLeak {
		// fault cleanup-leak: nothing is released; a watcher goroutine
		// waits forever on a context nobody cancels, and the socket is
		// left to the kernel.
		go func() { <-c.ctx.Done() }()
		return
	}
	c.cancel()
	c.heartbeat.Stop()
	c.qmu.Lock()
	c.stopped = true
	c.qmu.Unlock()
	c.drained.Wait()
	c.closeOnce.Do(func() {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(protocol.CloseNormal, ""), time.Now().Add(time.Second))
	})
	linger(c.ws.NetConn())
	_ = c.ws.Close()
}

// linger half-closes a TCP connection and discards what the peer still
// sends for a moment, so a close frame is read rather than lost to a reset.
func linger(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.CloseWrite()
	_ = tc.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.Copy(io.Discard, io.LimitReader(tc, 1<<20))
}
