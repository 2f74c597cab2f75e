package journey

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

// wsconn is the client side of one WebSocket connection whose frames are
// read for it, without a goroutine of its own while it waits: by the
// package's epoll loop (poll_linux.go) for a plain TCP connection on Linux,
// else by one reader goroutine. Every complete message goes to its
// handler, in the order the bytes arrived, with the time its last byte
// arrived (epoll mode, rxbuf.read) or the read that completed it returned. The handler is called with mu held, and every other
// use of the connection (writes, timers, cancellation, close) holds it too.
//
// It speaks RFC 6455 as a client: it reassembles fragmented messages,
// answers pings, echoes the server's close, and refuses what a server must
// not send (masked frames, reserved bits or opcodes, control frames that
// are fragmented or longer than 125 bytes, messages over maxFrame).
type wsconn struct {
	mu sync.Mutex
	h  frameHandler

	fd    int       // the socket, dup'd out of Go's poller (epoll mode); -1 when closed or unused
	p     *poller   // the epoll loop watching fd; nil in reader-goroutine mode
	nc    net.Conn  // the connection in reader-goroutine mode; nil in epoll mode
	pend  []byte    // bytes of a frame not yet whole
	msg   []byte    // fragments of a message not yet whole
	msgOp ws.OpCode // the opcode of msg; 0 when none is open

	closeSent, ended bool
	lag              time.Duration // the longest an epoll loop's read of it came after its bytes arrived (rxbuf.read)
	inReady          bool          // an epoll loop's read is being handled
	after            func()        // set during it: run by the loop once mu is released

	// Epoll mode's writes never wait: what the socket cannot take yet
	// waits in out, in order, and the loop writes it when the socket is
	// writable (wsconn.flush); a loop blocked on one server that does not
	// read would stall every other connection it reads.
	out      []byte
	wtimer   *time.Timer   // ends the connection when out waits longer than wtimeout
	wtimeout time.Duration // 0: writeTimeout
}

// frameHandler is told what a wsconn reads; both calls come with
// wsconn.mu held, and nothing comes after ended.
type frameHandler interface {
	// message is one whole data message; payload is valid only during
	// the call. at is when its last byte arrived, as the kernel noted it
	// (rxbuf.read), else when the read that completed it returned.
	message(text bool, payload []byte, at time.Time)
	// ended is the end of reading: the server's close frame (a
	// *websocket.CloseError), io.EOF, a read error or a breach of RFC 6455
	// (an *Error of kind FailProtocol).
	ended(err error)
}

// errWriteTimeout is a write that found no room in time.
var errWriteTimeout error = os.ErrDeadlineExceeded

// errTooBig is a message over maxFrame, read as classify reads gorilla's.
var errTooBig = websocket.ErrReadLimit

// rfcError is a breach of RFC 6455 by the server.
func rfcError(msg string) error {
	return &Error{Kind: FailProtocol, Message: "websocket: " + msg + " (RFC 6455)"}
}

// consume parses data, read at at, into frames; partial frames wait in
// c.pend for the next read. mu is held.
func (c *wsconn) consume(data []byte, at time.Time) {
	if len(c.pend) > 0 {
		c.pend = append(c.pend, data...)
		data = c.pend
	}
	for !c.ended {
		n, need := c.frame(data, at)
		if n == 0 {
			if need > maxFrame+14 {
				c.fail(errTooBig, 1009)
				return
			}
			break
		}
		data = data[n:]
	}
	switch {
	case c.ended || len(data) == 0:
		c.pend = nil // a parked connection holds no buffer
	default:
		c.pend = append(c.pend[:0], data...) // may overlap c.pend: append copies with memmove
	}
}

// frame handles the first frame of data when it is whole and returns its
// length; else it returns 0 and the length it needs (0: unknown yet).
func (c *wsconn) frame(data []byte, at time.Time) (n, need int) {
	if len(data) < 2 {
		return 0, 0
	}
	b0, b1 := data[0], data[1]
	fin, rsv, op := b0&0x80 != 0, b0&0x70, ws.OpCode(b0&0x0f)
	hl, plen := 2, int64(b1&0x7f)
	switch plen {
	case 126:
		if len(data) < 4 {
			return 0, 0
		}
		plen, hl = int64(binary.BigEndian.Uint16(data[2:])), 4
	case 127:
		if len(data) < 10 {
			return 0, 0
		}
		plen, hl = int64(binary.BigEndian.Uint64(data[2:])), 10
	}
	switch {
	case b1&0x80 != 0:
		c.fail(rfcError("the server masked a frame"), 1002)
		return 0, 0
	case rsv != 0:
		c.fail(rfcError("reserved bits set without an extension"), 1002)
		return 0, 0
	case plen < 0 || plen > maxFrame:
		c.fail(errTooBig, 1009)
		return 0, 0
	case op.IsControl() && (!fin || plen > 125):
		c.fail(rfcError("a control frame fragmented or over 125 bytes"), 1002)
		return 0, 0
	}
	if int64(len(data)) < int64(hl)+plen {
		return 0, hl + int(plen)
	}
	payload := data[hl : hl+int(plen)]
	c.dispatch(op, fin, payload, at)
	return hl + int(plen), 0
}

// dispatch acts on one whole frame.
func (c *wsconn) dispatch(op ws.OpCode, fin bool, payload []byte, at time.Time) {
	switch op {
	case ws.OpText, ws.OpBinary:
		if c.msgOp != 0 {
			c.fail(rfcError("a new message before the last one's final fragment"), 1002)
			return
		}
		if fin {
			c.h.message(op == ws.OpText, payload, at)
			return
		}
		c.msgOp, c.msg = op, append([]byte(nil), payload...)
	case ws.OpContinuation:
		if c.msgOp == 0 {
			c.fail(rfcError("a continuation frame with no message open"), 1002)
			return
		}
		if len(c.msg)+len(payload) > maxFrame {
			c.fail(errTooBig, 1009)
			return
		}
		c.msg = append(c.msg, payload...)
		if fin {
			op, msg := c.msgOp, c.msg
			c.msgOp, c.msg = 0, nil
			c.h.message(op == ws.OpText, msg, at)
		}
	case ws.OpPing:
		_ = c.write(ws.OpPong, payload)
	case ws.OpPong:
	case ws.OpClose:
		code, text := 1005, ""
		switch {
		case len(payload) == 1:
			c.fail(rfcError("a close frame of one byte"), 1002)
			return
		case len(payload) >= 2:
			code, text = int(binary.BigEndian.Uint16(payload)), string(payload[2:])
			if !utf8.ValidString(text) {
				c.fail(rfcError("a close reason that is not UTF-8"), 1007)
				return
			}
		}
		if !c.closeSent {
			echo := 1000
			if code != 1005 {
				echo = code
			}
			c.sendClose(echo)
		}
		c.end(&websocket.CloseError{Code: code, Text: text})
	default:
		c.fail(rfcError("reserved opcode "+strconv.Itoa(int(op))), 1002)
	}
}

// fail ends reading for a breach: it sends close code, then tells the
// handler.
func (c *wsconn) fail(err error, code int) {
	if !c.closeSent {
		c.sendClose(code)
	}
	c.end(err)
}

// end tells the handler, once, that reading ended.
func (c *wsconn) end(err error) {
	if c.ended {
		return
	}
	c.ended = true
	c.pend, c.msg = nil, nil
	c.h.ended(err)
}

// readFailed turns a read's outcome into the end of reading.
func (c *wsconn) readFailed(err error) {
	if err == nil || errors.Is(err, io.EOF) {
		c.end(&websocket.CloseError{Code: websocket.CloseAbnormalClosure, Text: io.ErrUnexpectedEOF.Error()})
		return
	}
	c.end(err)
}

// sendClose sends a close frame with code; mu is held.
func (c *wsconn) sendClose(code int) {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], uint16(code))
	c.closeSent = true
	_ = c.write(ws.OpClose, b[:])
}

// write sends one masked frame of op with payload, within writeTimeout;
// mu is held. In epoll mode it never waits: what the socket cannot take
// yet is written by the loop (send), and a failure to write it in time
// ends reading (the handler's ended) rather than returning here.
func (c *wsconn) write(op ws.OpCode, payload []byte) error {
	if c.fd < 0 && c.nc == nil {
		return net.ErrClosed
	}
	b := make([]byte, 0, 14+len(payload)) // a journey writes two or three frames: none is kept
	b = append(b, 0x80|byte(op))
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	// As gorilla/websocket and gobwas/ws make theirs: math/rand/v2's
	// generator (ChaCha8, seeded from the system's entropy per thread).
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
	b = append(b, mask[:]...)
	start := len(b)
	b = append(b, payload...)
	ws.Cipher(b[start:], mask, 0)
	if c.nc != nil {
		_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err := c.nc.Write(b)
		return err
	}
	return c.send(b)
}

// shut closes the connection, once; mu is held. Reading ends without
// telling the handler: whoever shuts knows why.
func (c *wsconn) shut() {
	c.ended = true
	c.pend, c.msg, c.out = nil, nil, nil
	if c.wtimer != nil {
		c.wtimer.Stop()
	}
	switch {
	case c.p != nil && c.fd >= 0:
		c.p.remove(c.fd)
		closeFD(c.fd)
		c.fd = -1
	case c.nc != nil:
		_ = c.nc.Close()
		c.nc = nil
	}
}

// attach starts reading nc for h, first the bytes the handshake read past
// its end (rest); nc is taken over: a plain TCP connection moves into the
// epoll loop where there is one, any other gets a reader goroutine.
func (c *wsconn) attach(nc net.Conn, rest []byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended { // shut before it was attached (cancelled, timed out)
		_ = nc.Close()
		return
	}
	if tc, ok := nc.(*net.TCPConn); ok && pollable() {
		if fd, err := detach(tc); err == nil {
			c.fd = fd
			if err := pollerFor().add(fd, c); err != nil {
				c.fd = -1
				closeFD(fd)
				c.readFailed(err)
				return
			}
			if len(rest) > 0 { // before any event of fd: those wait for mu
				c.consume(rest, at)
			}
			return
		}
	}
	c.nc = nc
	if len(rest) > 0 {
		c.consume(rest, at)
	}
	go c.readLoop(nc)
}

// readLoop reads nc until it fails or the connection is shut (reader
// goroutine mode).
func (c *wsconn) readLoop(nc net.Conn) {
	buf := make([]byte, 4<<10)
	for {
		n, err := nc.Read(buf)
		at := time.Now()
		c.mu.Lock()
		if c.nc != nc || c.ended {
			c.mu.Unlock()
			return
		}
		if n > 0 {
			c.consume(buf[:n], at)
		}
		if err != nil && !c.ended {
			c.readFailed(err)
		}
		done := c.ended
		c.mu.Unlock()
		if done {
			return
		}
	}
}

// adopt starts reading fd, a socket of the raw path whose upgrade p's loop
// just read (with rest, the bytes past the 101, read at at), from the
// event that read it: fd's events are c's from now on.
func (c *wsconn) adopt(fd int, p *poller, rest []byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended { // shut before it was adopted (cancelled, timed out)
		closeRaw(p, fd)
		return
	}
	c.fd, c.p = fd, p
	p.handOver(fd, c)
	if len(rest) > 0 {
		c.consume(rest, at)
	}
}
