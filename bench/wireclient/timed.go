//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// timedConn remembers, for its last read, when the read returned and
// when the last byte it read arrived.
type timedConn struct {
	*net.TCPConn
	rc      syscall.RawConn
	last    time.Time // when the last read returned
	arrived time.Time // when the kernel received the last byte it read; last when the kernel did not say
	// the kernel's last time (Unix ns) and what it was read as: two reads
	// of one segment (the 101 and its frame merged while the 101 was
	// unread, read apart) get one time, as goldenpath's do, and not two a
	// few tens of nanoseconds apart by the jitter of reading the two clocks
	lastK       int64
	lastArrived time.Time
	oob         [64]byte
}

// newTimedConn asks the kernel to note when nc's segments arrive.
func newTimedConn(nc net.Conn) (*timedConn, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil, errors.New("not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1) }); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	return &timedConn{TCPConn: tc, rc: rc}, nil
}

// Read reads with recvmsg, the kernel's receive time in its control message.
func (c *timedConn) Read(p []byte) (int, error) { return c.recv(p, 0) }

// peek returns what is there to read, at least a byte, and leaves it there.
func (c *timedConn) peek(p []byte) (int, error) { return c.recv(p, syscall.MSG_PEEK) }

func (c *timedConn) recv(p []byte, flags int) (int, error) {
	var n, oobn int
	var err error
	rerr := c.rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, err = syscall.Recvmsg(int(fd), p, c.oob[:], flags)
		return err != syscall.EAGAIN
	})
	c.last = time.Now()
	c.arrived = c.last
	switch {
	case rerr != nil:
		return 0, rerr
	case err != nil:
		return 0, err
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	msgs, _ := syscall.ParseSocketControlMessage(c.oob[:oobn])
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
			if d := c.last.Sub(time.Unix(sec, nsec)); d >= 0 && d < time.Minute { // else the wall clock stepped
				if k := sec*1e9 + nsec; k != c.lastK {
					c.lastK, c.lastArrived = k, c.last.Add(-d)
				}
				c.arrived = c.lastArrived
			}
		}
	}
	return n, nil
}
