//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// The journey's wire: what the floor reads and writes on its sockets.

// drain reads all fd has onto buf; closed is whether the peer's end came.
func (c *client) drain(fd int, buf []byte) (_ []byte, closed bool, err error) {
	for {
		k, err := unix.Read(fd, c.rx)
		switch {
		case k > 0:
			buf = append(buf, c.rx[:k]...)
			if k < len(c.rx) {
				return buf, false, nil
			}
		case k == 0:
			return buf, true, nil
		case errors.Is(err, unix.EAGAIN):
			return buf, false, nil
		case errors.Is(err, unix.EINTR):
		default:
			return buf, false, err
		}
	}
}

func (c *client) ready(u *user, fd int, ev uint32) {
	if fd == u.hfd {
		c.loginReady(u, ev)
		return
	}
	if fd != u.wfd {
		return
	}
	if u.step == connecting {
		if ev&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			c.end(u, false)
			return
		}
		if ev&unix.EPOLLOUT == 0 {
			return
		}
		u.step = upgrading
		req := fmt.Appendf(nil, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: Zmxvb3JjbGllbnQga2V5IQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n", c.host, u.token)
		if _, err := unix.Write(fd, req); err != nil {
			c.end(u, false)
		}
		return
	}
	var closed bool
	var err error
	if u.wbuf, closed, err = c.drain(fd, u.wbuf); err != nil {
		c.end(u, false)
		return
	}
	if u.step == upgrading {
		h := bytes.Index(u.wbuf, []byte("\r\n\r\n"))
		if h < 0 {
			if closed {
				c.end(u, false)
			}
			return
		}
		if !bytes.HasPrefix(u.wbuf, []byte("HTTP/1.1 101 ")) {
			c.end(u, false)
			return
		}
		u.wbuf = append(u.wbuf[:0], u.wbuf[h+4:]...)
		u.step = ready
	}
	c.frames(u, fd)
	if closed && u.wfd == fd {
		c.end(u, u.step == closing)
	}
}

// frames reads the whole frames u.wbuf holds.
func (c *client) frames(u *user, fd int) {
	for u.wfd == fd {
		b := u.wbuf
		if len(b) < 2 {
			return
		}
		op, n, h := b[0]&0x0f, int(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return
			}
			n, h = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return
			}
			n, h = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		if len(b) < h+n {
			return
		}
		c.frame(u, fd, op, b[h:h+n])
		if u.wfd == fd {
			u.wbuf = u.wbuf[:copy(u.wbuf, b[h+n:])]
		}
	}
}

// mask is the frames' mask: the floor's frames need one, not a random one.
var mask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// send writes one masked client frame.
func send(fd int, op byte, payload []byte) error {
	f := make([]byte, 0, 14+len(payload))
	f = append(f, 0x80|op)
	switch {
	case len(payload) < 126:
		f = append(f, 0x80|byte(len(payload)))
	case len(payload) < 1<<16:
		f = append(f, 0x80|126, byte(len(payload)>>8), byte(len(payload)))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(len(payload)))
	}
	f = append(f, mask[:]...)
	for i, b := range payload {
		f = append(f, b^mask[i&3])
	}
	_, err := unix.Write(fd, f)
	return err
}

func (c *client) frame(u *user, fd int, op byte, p []byte) {
	switch op {
	case 0x8: // close: the server's answer to ours, or its own
		if u.step == closing {
			c.end(u, true)
			return
		}
		c.end(u, false)
	case 0x9:
		_ = send(fd, 0xA, p)
	case 0x1:
		switch u.step {
		case ready:
			if !bytes.Contains(p, []byte("connection_established")) {
				return
			}
			u.step = running
			msg := fmt.Appendf(nil, `{"type":"user_message","payload":{"message_id":"%s","content":"floor question %s"}}`, u.id, u.id)
			if send(fd, 0x1, msg) != nil {
				c.end(u, false)
			}
		case running:
			if !bytes.Contains(p, u.id) {
				return
			}
			if bytes.Contains(p, []byte(`"agent_error"`)) {
				c.end(u, false)
				return
			}
			if bytes.Contains(p, []byte(`"agent_completed"`)) {
				u.step = closing
				if send(fd, 0x8, []byte{0x03, 0xe8}) != nil {
					c.end(u, false)
				}
			}
		}
	}
}

// loginReady reads the login's reply: its token, cut out of the body.
func (c *client) loginReady(u *user, ev uint32) {
	if u.step != loggingIn {
		return // the kept-alive connection between logins: its close shows at the next
	}
	if ev&unix.EPOLLERR != 0 {
		c.end(u, false)
		return
	}
	if !u.loginSent && ev&unix.EPOLLOUT != 0 { // connected now: begin's write met EAGAIN
		if _, err := unix.Write(u.hfd, u.login); err != nil {
			c.end(u, false)
			return
		}
		u.loginSent = true
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP) == 0 {
		return
	}
	var closed bool
	var err error
	if u.hbuf, closed, err = c.drain(u.hfd, u.hbuf); err != nil {
		c.end(u, false)
		return
	}
	h := bytes.Index(u.hbuf, []byte("\r\n\r\n"))
	if h < 0 {
		if closed {
			c.end(u, false)
		}
		return
	}
	head := u.hbuf[:h]
	i := bytes.Index(bytes.ToLower(head), []byte("\r\ncontent-length:"))
	if i < 0 {
		c.end(u, false)
		return
	}
	line := head[i+17:]
	if j := bytes.IndexByte(line, '\r'); j >= 0 {
		line = line[:j]
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil || len(u.hbuf) < h+4+n {
		if err != nil || closed {
			c.end(u, false)
		}
		return
	}
	body := u.hbuf[h+4 : h+4+n]
	ok := bytes.HasPrefix(head, []byte("HTTP/1.1 200 "))
	const key = `"access_token":"`
	t := bytes.Index(body, []byte(key))
	if ok && t >= 0 {
		rest := body[t+len(key):]
		if e := bytes.IndexByte(rest, '"'); e >= 0 {
			u.token = append(u.token[:0], rest[:e]...)
		} else {
			ok = false
		}
	} else {
		ok = false
	}
	u.hbuf = u.hbuf[:copy(u.hbuf, u.hbuf[h+4+n:])]
	if closed {
		c.shut(u.hfd)
		u.hfd = -1
	}
	if !ok {
		c.end(u, false)
		return
	}
	fd, err := c.socket(u)
	if err != nil {
		c.end(u, false)
		return
	}
	u.wfd, u.step = fd, connecting
}
