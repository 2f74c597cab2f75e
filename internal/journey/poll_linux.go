//go:build linux

package journey

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// poller is one epoll loop: a goroutine that waits, parked in Go's
// netpoller, until some of the sockets in its epoll set are ready, then
// reads each ready one (edge-triggered, up to 64 KiB at a time into one
// buffer of its own). A connected user so holds no goroutine, no stack and
// no read buffer while it waits (docs/benchmarks.md, issue 11).
type poller struct {
	epfd  int
	f     *os.File        // epfd as a pollable file: keeps it open and in Go's netpoller
	rc    syscall.RawConn // f's, whose Read parks until epfd is readable
	mu    sync.Mutex
	conns []pollee // by descriptor: a process's descriptors are small numbers, reused
}

// pollee is what a socket in an epoll set belongs to: a WebSocket
// (wsconn) or an HTTP/1.1 connection of the raw client (hconn). ready is
// called on the loop's goroutine for each event of fd; rx is the loop's
// read buffer, valid only during the call.
type pollee interface {
	ready(fd int, events uint32, rx *rxbuf)
	// wants is the events fd is watched for now (watchEvents).
	wants() uint32
}

var pollers struct {
	once sync.Once
	ps   []*poller
	next atomic.Uint32
	err  error
}

// pollable reports whether the epoll loops run (they start on first use).
func pollable() bool {
	pollers.once.Do(startPollers)
	return pollers.err == nil
}

// pollerFor picks a loop for a new connection, round robin.
func pollerFor() *poller {
	return pollers.ps[int(pollers.next.Add(1))%len(pollers.ps)]
}

// startProcs is GOMAXPROCS as the process started: the Ps the loops
// may have, though a run may give Go fewer while it is light
// (internal/procs).
var startProcs = runtime.GOMAXPROCS(0)

// startPollers starts one loop per P the process started with, at most 8. Each epoll descriptor
// is itself watched by Go's netpoller (an epoll set is readable while it
// has ready sockets): a loop parks as any goroutine waiting for a socket
// does, instead of holding a thread blocked in epoll_wait that the
// runtime must hand its P away from and back to at every wake-up.
func startPollers() {
	n := min(max(startProcs, 1), 8)
	for range n {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err == nil {
			err = unix.SetNonblock(fd, true)
		}
		if err != nil {
			pollers.err = err
			return
		}
		f := os.NewFile(uintptr(fd), "goldenpath-epoll")
		rc, err := f.SyscallConn()
		if err != nil {
			pollers.err = err
			return
		}
		p := &poller{epfd: fd, f: f, rc: rc}
		pollers.ps = append(pollers.ps, p)
		go p.loop()
	}
}

// add watches fd for c.
func (p *poller) add(fd int, c *wsconn) error {
	c.p = p
	if err := p.watch(fd, c, false); err != nil {
		c.p = nil
		return err
	}
	return nil
}

// watch adds fd to the set for pe: readable, and writable too when out.
func (p *poller) watch(fd int, pe pollee, out bool) error {
	p.set(fd, pe)
	ev := unix.EpollEvent{Events: watchEvents(out), Fd: int32(fd)}
	if err := rawEpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.remove(fd)
		return err
	}
	return nil
}

// rewatch asks for fd's writability too (out) or no longer.
func (p *poller) rewatch(fd int, out bool) error {
	ev := unix.EpollEvent{Events: watchEvents(out), Fd: int32(fd)}
	return rawEpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}

// handOver gives fd's events to pe from now on; the loop calling it
// (from an event of fd) reads no more of fd for the old owner.
func (p *poller) handOver(fd int, pe pollee) { p.set(fd, pe) }

// set makes pe fd's owner (nil: none).
func (p *poller) set(fd int, pe pollee) {
	p.mu.Lock()
	if fd >= len(p.conns) {
		if pe == nil {
			p.mu.Unlock()
			return
		}
		p.conns = append(p.conns, make([]pollee, fd+1-len(p.conns))...)
		p.conns = p.conns[:cap(p.conns)]
	}
	p.conns[fd] = pe
	p.mu.Unlock()
}

// watchEvents is what a socket is watched for: readable (and shut by
// the peer), and writable too when out. Edge-triggered: an event is
// reported once per change, so a loop need not ask epoll_wait again
// after reading what it reported (a level-triggered set reports every
// socket it read once more, and each such call polls them all again).
// What a read leaves behind, bytes or an end behind data, is read again
// at once (poller.handle), and past a few reads rearmed (poller.rearm).
func watchEvents(out bool) uint32 {
	if out {
		return unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLOUT | unix.EPOLLET
	}
	return unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET
}

// maxRereads bounds the reads a loop makes of one socket for one event
// before it lets epoll report the rest (poller.handle).
const maxRereads = 4

// rearm asks epoll to look at fd again, for whoever has it now: what a
// read left unread is reported as a new event.
func (p *poller) rearm(fd int32) {
	pe := p.owner(fd)
	if pe == nil {
		return // closed: its socket left the set
	}
	ev := unix.EpollEvent{Events: pe.wants(), Fd: fd}
	_ = rawEpollCtl(p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
}

// owner is what fd belongs to now, or nil.
func (p *poller) owner(fd int32) pollee {
	p.mu.Lock()
	defer p.mu.Unlock()
	if int(fd) >= len(p.conns) {
		return nil
	}
	return p.conns[fd]
}

// remove forgets fd, which the caller closes right after.
// Closing fd takes it out of the set (no other descriptor refers to its
// socket: the raw path's are its own, and detach closes Go's), so no
// EPOLL_CTL_DEL is made.
func (p *poller) remove(fd int) { p.set(fd, nil) }

// loop waits, parked in Go's netpoller, until the epoll set has ready
// sockets, then reads each one once. It asks again at once only when
// epoll_wait filled its list; otherwise whatever became ready since makes
// the set readable anew, and Go's netpoller wakes the loop for it.
func (p *poller) loop() {
	events := make([]unix.EpollEvent, 256)
	rx := newRxbuf(64 << 10)
	harvest := func(uintptr) bool {
		n, err := epollWaitNow(p.epfd, events)
		if n <= 0 {
			if err != nil && !errors.Is(err, unix.EINTR) {
				panic("journey: epoll_wait: " + err.Error()) // the loop cannot go on; nothing sane remains
			}
			return false // nothing ready: wait until the set is readable
		}
		for i := range n {
			if pe := p.owner(events[i].Fd); pe != nil {
				p.handle(events[i], pe, rx)
			}
		}
		return n == len(events)
	}
	for {
		if err := p.rc.Read(harvest); err != nil {
			panic("journey: the epoll set's descriptor: " + err.Error())
		}
	}
}

// handle gives one event to pe, its socket's owner. Edge-triggered: what
// a read left (it filled what it asked for, or the peer's end came
// behind the data) is read now, by whoever has the socket after it (a
// 101's socket is its WebSocket's), a few times; then epoll is asked to
// report the rest, so that one busy socket does not hold the loop.
func (p *poller) handle(e unix.EpollEvent, pe pollee, rx *rxbuf) {
	fd, ev := e.Fd, e.Events
	rx.n = -1
	pe.ready(int(fd), ev, rx)
	for again := 0; rx.more(ev); again++ {
		if again == maxRereads {
			p.rearm(fd)
			return
		}
		if pe = p.owner(fd); pe == nil {
			return
		}
		rx.n = -1
		pe.ready(int(fd), unix.EPOLLIN|ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR), rx)
	}
}

func (c *wsconn) wants() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return watchEvents(len(c.out) > 0)
}

// ready writes what waits to be written once fd is writable, and reads
// what fd has, under c.mu; a stale event (c moved on, or fd now another
// connection's) reads nothing it should not.
// What the handler left to run once the lock is released (c.after: the
// end of a journey that ended on this read) runs here, on the loop.
func (c *wsconn) ready(fd int, events uint32, rx *rxbuf) {
	c.mu.Lock()
	if c.fd != fd || c.ended {
		c.mu.Unlock()
		return
	}
	c.inReady = true
	if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 && len(c.out) > 0 {
		c.flush()
	}
	if !c.ended { // a failed write ends it, and shuts fd
		c.read(fd, rx)
	}
	c.inReady = false
	after := c.after
	c.after = nil
	c.mu.Unlock()
	if after != nil {
		after()
	}
}

// read reads what fd has and parses it (mu held).
func (c *wsconn) read(fd int, rx *rxbuf) {
	n, at, lag, err := rx.read(fd)
	switch {
	case n > 0:
		c.lag = max(c.lag, lag)
		c.consume(rx.b[:n], at)
	case err == unix.EAGAIN || err == unix.EINTR:
	case err != nil:
		c.readFailed(err)
	default: // 0: the peer shut its side
		c.readFailed(nil)
	}
}

// detach takes the socket out of Go's poller: a duplicate of its
// descriptor (close-on-exec, non-blocking as Go left it) outlives tc,
// which is closed.
func detach(tc *net.TCPConn) (int, error) {
	raw, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	cerr := raw.Control(func(s uintptr) {
		fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
		if err == nil {
			stampArrivals(fd)
		}
	})
	if cerr != nil {
		return -1, cerr
	}
	if err != nil {
		return -1, err
	}
	_ = tc.Close()
	return fd, nil
}

func closeFD(fd int) { _, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

// The calls on the loop's sockets never block (every descriptor is
// non-blocking, and epoll_wait is asked not to wait), so they are made
// as raw system calls: the runtime is not told a goroutine entered the
// kernel, and sysmon never hands its P to another thread for the few
// microseconds one lasts. Go's own I/O calls enter and leave the
// scheduler around each; at tens of thousands of calls a second, the
// hand-offs and the wake-ups they cause cost more than the calls.

func rawWrite(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return rawResult(n, e)
}

func epollWaitNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return rawResult(n, e)
}

func rawEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func rawResult(n uintptr, e unix.Errno) (int, error) {
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// send writes b, a whole frame, to the socket (mu held, epoll mode). What
// the socket cannot take yet waits in c.out behind what already waits, and
// the loop writes it when fd is writable (flush): a server that does not
// read holds its own connection, never the loop. If no byte of it goes out
// for the write timeout, reading ends with errWriteTimeout.
func (c *wsconn) send(b []byte) error {
	if len(c.out) > 0 {
		c.out = append(c.out, b...)
		return nil
	}
	for len(b) > 0 {
		n, err := rawWrite(c.fd, b)
		switch {
		case err == nil:
			b = b[n:]
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			c.out = b // made for this frame by write: c's from now on
			if err := c.p.rewatch(c.fd, true); err != nil {
				c.out = nil
				return err
			}
			c.armWrite()
			return nil
		default:
			return os.NewSyscallError("write", err)
		}
	}
	return nil
}

// flush writes what waits in c.out, now that fd is writable (mu held);
// once all is written, fd is watched for reading alone again.
func (c *wsconn) flush() {
	for wrote := false; len(c.out) > 0; {
		n, err := rawWrite(c.fd, c.out)
		switch {
		case err == nil:
			c.out, wrote = c.out[n:], true
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			if wrote {
				c.armWrite() // a server that reads, however slowly, is not timed out
			}
			return // the next edge of writability
		default:
			c.out = nil
			c.wtimer.Stop()
			c.end(os.NewSyscallError("write", err))
			return
		}
	}
	c.out = nil
	c.wtimer.Stop()
	if err := c.p.rewatch(c.fd, false); err != nil {
		c.end(err)
	}
}

// armWrite (re)starts the write timeout of what waits in c.out (mu held).
func (c *wsconn) armWrite() {
	timeout := c.wtimeout
	if timeout <= 0 {
		timeout = writeTimeout
	}
	if c.wtimer == nil {
		c.wtimer = time.AfterFunc(timeout, c.writeTimedOut)
		return
	}
	c.wtimer.Reset(timeout)
}

// writeTimedOut ends reading when what waited to be written still waits.
func (c *wsconn) writeTimedOut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.out) == 0 || c.ended {
		return // written meanwhile, or over
	}
	c.out = nil
	c.end(errWriteTimeout)
}
