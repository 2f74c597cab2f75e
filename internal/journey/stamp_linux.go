//go:build linux

package journey

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Arrival times from the kernel.
//
// A reading stamped when a read returns includes how long the bytes sat
// in the socket's queue before the reader got to them: on a loaded
// machine, the loop's own delay, which is the generator's and not the
// target's. The sockets the epoll loops read ask the kernel (SO_TIMESTAMPNS)
// to note when each segment arrived, and every read takes that note with
// the bytes (recvmsg's control message, the time the last segment read
// arrived). A reply or frame is then stamped when its last byte reached
// the socket, as a packet capture would see it on loopback, whatever the
// loop was doing; how much later the loop read it is the read's lag, kept
// apart ([Result.ReadLag]) as evidence of the generator's own delay.

// maxLag bounds a lag taken as such: beyond it, or below 0, the wall clock
// stepped between the kernel's note and the read (both are CLOCK_REALTIME),
// and the read's own time stands.
const maxLag = time.Minute

// rxbuf is a loop's read buffer and the recvmsg(2) header that reads
// into it; one per loop, used only by it.
type rxbuf struct {
	b     []byte
	n     int // what the last read returned (-1 on error), for the loop (poller.handle)
	limit int // what the last read asked for: len(b), or less (readUpTo)

	lastK  int64     // the last kernel note read, in Unix nanoseconds,
	lastAt time.Time // and the time it was taken to be
	oob    [8]uint64 // the control messages, 8-byte aligned as cmsghdr wants
	iov    unix.Iovec
	msg    unix.Msghdr
}

func newRxbuf(size int) *rxbuf {
	r := &rxbuf{b: make([]byte, size)}
	r.iov.Base = &r.b[0]
	r.iov.SetLen(len(r.b))
	r.msg.Iov = &r.iov
	r.msg.SetIovlen(1)
	return r
}

// read reads what fd has into r.b, as read(2) does, and returns when its
// bytes arrived: the kernel's note of the last segment read, else (no
// note: the socket was not asked, or the clock stepped) when the read
// returned, with lag 0.
func (r *rxbuf) read(fd int) (n int, at time.Time, lag time.Duration, err error) {
	return r.readUpTo(fd, len(r.b))
}

// readUpTo is read, of at most want bytes (1 to len(r.b)): a read that
// stops where one message ends keeps the next one's arrival time, which
// a read of both would lose (it takes the last segment's).
func (r *rxbuf) readUpTo(fd int, want int) (n int, at time.Time, lag time.Duration, err error) {
	want = min(max(want, 1), len(r.b))
	r.limit = want
	r.iov.SetLen(want)
	r.msg.Control = (*byte)(unsafe.Pointer(&r.oob[0]))
	r.msg.SetControllen(len(r.oob) * 8)
	r.msg.Flags = 0
	m, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.msg)), 0)
	at = time.Now()
	n, err = rawResult(m, e)
	r.n = n // -1 on error (rawResult)
	if n <= 0 {
		return n, at, 0, err
	}
	if k, ok := r.arrival(); ok {
		if d := time.Duration(at.UnixNano() - k); d >= 0 && d < maxLag {
			// at keeps its monotonic reading, moved back by the lag. Two
			// reads of one segment (a read that stopped inside it) give
			// the same time: the same note, however the clocks moved in
			// between.
			if k != r.lastK {
				r.lastK, r.lastAt = k, at.Add(-d)
			}
			return n, r.lastAt, d, nil
		}
	}
	return n, at, 0, nil
}

// more reports whether fd, just read for an event ev, may still hold
// what the read did not take: the read filled what it asked for, or the
// peer's end came with the data (edge-triggered sockets report neither
// again).
func (r *rxbuf) more(ev uint32) bool {
	return r.n == r.limit || (r.n > 0 && ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0)
}

// arrival is the SCM_TIMESTAMPNS of the last read, in Unix nanoseconds.
func (r *rxbuf) arrival() (int64, bool) {
	used := int(r.msg.Controllen)
	oob := unsafe.Slice((*byte)(unsafe.Pointer(&r.oob[0])), len(r.oob)*8)
	for off := 0; off+unix.SizeofCmsghdr <= used; {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[off]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || off+l > used {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && l >= unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
			ts := (*unix.Timespec)(unsafe.Pointer(&oob[off+unix.CmsgLen(0)]))
			return ts.Nano(), true
		}
		off += unix.CmsgSpace(l - unix.CmsgLen(0))
	}
	return 0, false
}

// stampArrivals asks the kernel to note when fd's segments arrive. A
// socket that refuses is read with the read's own time.
func stampArrivals(fd int) {
	one := int32(1)
	_, _, _ = unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, uintptr(unsafe.Pointer(&one)), 4, 0)
}

// localPort is fd's local TCP port, 0 if it cannot be read.
func localPort(fd int) int {
	switch sa, err := unix.Getsockname(fd); a := sa.(type) {
	case *unix.SockaddrInet4:
		if err == nil {
			return a.Port
		}
	case *unix.SockaddrInet6:
		if err == nil {
			return a.Port
		}
	}
	return 0
}
