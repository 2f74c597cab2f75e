//go:build linux

package journey

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw path: on Linux, a built-in journey against a plain http://
// target reached without a proxy, through the Target's own client and
// dialer, logs in and opens its WebSocket on sockets of its own, outside
// Go's netpoller: non-blocking, watched by the package's epoll loops, read
// and written with raw system calls (see poll_linux.go for why). Its HTTP
// exchanges (the login's POST, the upgrade's GET) are written by
// rawhttp.go and their replies read by net/http's parser. Nothing blocks:
// a journey's steps, from the login's reply to its last frame, run on the
// loop that read them. Every other journey, and every other call, goes
// through net/http and the Dialer as before.

// rawTarget is a Target's raw path: where it connects, and its kept-alive
// connections for the login.
type rawTarget struct {
	http     *http.Client // the Target's own, built by NewTarget: a
	dialer   any          // Target whose HTTP or Dialer was replaced takes the usual path
	hostport string       // to connect to
	host     string       // the Host header
	prefix   string       // the base URL's path
	wsPath   string       // the WebSocket's path and query
	timeout  time.Duration

	once sync.Once
	fam  int                   // resolved once: AF_INET or AF_INET6; 0: resolution failed, the usual path reports it
	raw4 unix.RawSockaddrInet4 // the address as connect takes it, built once
	raw6 unix.RawSockaddrInet6

	mu       sync.Mutex
	idle     []*hconn // kept-alive connections, newest last
	inflight int      // exchanges under way, at most limit
	limit    int
	queue    []*exchange // exchanges waiting for their turn

	// headLen is the length of the last 101 read: an upgrade's first read
	// asks for that much, so that it ends with the 101 when the next one
	// is as long, and the frame behind it is read apart (rxbuf.readUpTo).
	headLen atomic.Int32
}

// maxIdleRaw bounds rawTarget.idle, as DefaultMaxIdleConnsPerHost does the client's.
const maxIdleRaw = DefaultMaxIdleConnsPerHost

// rawFor is t's raw path, or nil when its journeys take the usual one.
func rawFor(t *Target) *rawTarget {
	rt := t.raw
	if rt == nil || t.HTTP != rt.http || any(t.Dialer) != rt.dialer || !pollable() {
		return nil
	}
	rt.once.Do(rt.resolve)
	if rt.fam == 0 {
		return nil
	}
	return rt
}

// resolve looks the target's address up once (the first, IPv4 first);
// a target's address is not looked up again while the process runs.
func (rt *rawTarget) resolve() {
	a, err := net.ResolveTCPAddr("tcp", rt.hostport)
	if err != nil {
		return
	}
	if ip4 := a.IP.To4(); ip4 != nil {
		rt.raw4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Port: bigEndianPort(a.Port)}
		copy(rt.raw4.Addr[:], ip4)
		rt.fam = unix.AF_INET
		return
	}
	rt.raw6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Port: bigEndianPort(a.Port)}
	copy(rt.raw6.Addr[:], a.IP.To16())
	if a.Zone != "" {
		if ifc, err := net.InterfaceByName(a.Zone); err == nil {
			rt.raw6.Scope_id = uint32(ifc.Index)
		}
	}
	rt.fam = unix.AF_INET6
}

// bigEndianPort is port as a sockaddr holds it, in network byte order.
func bigEndianPort(port int) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], uint16(port))
	return *(*uint16)(unsafe.Pointer(&b))
}

// dial opens a non-blocking socket to the target; its connect may still
// be under way (a write waits for it).
func (rt *rawTarget) dial() (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(rt.fam), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if e != 0 {
		return -1, os.NewSyscallError("socket", e)
	}
	one := int32(1)
	_, _, _ = unix.RawSyscall6(unix.SYS_SETSOCKOPT, fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, uintptr(unsafe.Pointer(&one)), 4, 0)
	stampArrivals(int(fd))
	ptr, n := unsafe.Pointer(&rt.raw4), unsafe.Sizeof(rt.raw4)
	if rt.fam == unix.AF_INET6 {
		ptr, n = unsafe.Pointer(&rt.raw6), unsafe.Sizeof(rt.raw6)
	}
	_, _, e = unix.RawSyscall(unix.SYS_CONNECT, fd, uintptr(ptr), n)
	if e != 0 && e != unix.EINPROGRESS && e != unix.EINTR {
		closeFD(int(fd))
		return -1, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)}
	}
	return int(fd), nil
}

// exchange is one request on an hconn and who waits for its reply. Its
// journey's one timer and context watch stand for its deadline and its
// context while it is under way (auser.track).
type exchange struct {
	req     []byte
	upgrade bool
	done    func(reply)
	owner   *auser
	ctx     context.Context
	until   time.Time // the exchange's deadline
	tried   bool      // sent once on a reused connection that then failed
}

// exchangeRef is an exchange under way on its connection, as its journey
// tracks it.
type exchangeRef struct {
	h *hconn
	x *exchange
}

func (r exchangeRef) live() bool       { return r.x != nil }
func (r exchangeRef) until() time.Time { return r.x.until }
func (r exchangeRef) fail(err error)   { r.h.fail(r.x, err) }

// hconn is one HTTP/1.1 connection of the raw path. Its events come from
// an epoll loop; its exchange ends there, or by its timer or its context.
type hconn struct {
	mu      sync.Mutex
	rt      *rawTarget
	fd      int // -1 once closed
	p       *poller
	in      []byte // the reply read so far
	out     []byte // the request's bytes not yet written
	x       *exchange
	reused  bool // has carried an exchange before
	watched bool // in p's set
	got     bool // a byte of the current reply arrived
}

// do sends req for u (an upgrade when upgrade: on a new connection, never
// reused) and calls done once with the reply: on a loop's goroutine when
// the reply arrives, on another when it fails. A 101 reply's socket is
// done's; done must take it over (wsconn.adopt) or close it before it
// returns. At most maxInFlight exchanges are under way at once; the rest
// wait their turn, in order, their deadline running.
func (rt *rawTarget) do(u *auser, req []byte, upgrade bool, timeout time.Duration, done func(reply)) {
	x := &exchange{req: req, upgrade: upgrade, owner: u, ctx: u.ctx, until: time.Now().Add(timeout)}
	x.done = func(r reply) {
		rt.release()
		done(r)
	}
	rt.mu.Lock()
	if rt.inflight >= rt.limit {
		rt.queue = append(rt.queue, x)
		rt.mu.Unlock()
		return
	}
	rt.inflight++
	rt.mu.Unlock()
	rt.dispatch(x)
}

// maxInFlight bounds the raw path's exchanges under way (logins and
// upgrades): a burst of thousands of users opens this many connections at
// a time, as the worker pool bounded the usual path's.
const maxInFlight = maxWorkers

// release ends an exchange's turn: the next waiting one takes it.
func (rt *rawTarget) release() {
	rt.mu.Lock()
	if len(rt.queue) == 0 {
		rt.inflight--
		rt.mu.Unlock()
		return
	}
	x := rt.queue[0]
	rt.queue[0] = nil
	rt.queue = rt.queue[1:]
	rt.mu.Unlock()
	rt.dispatch(x)
}

// dispatch starts x on a kept-alive connection or a new one. A failure
// here is told on another goroutine: done releases, and a long queue of
// failures would otherwise recurse.
func (rt *rawTarget) dispatch(x *exchange) {
	if err := x.ctx.Err(); err != nil {
		go x.done(reply{err: err, fd: -1})
		return
	}
	var h *hconn
	if !x.upgrade {
		h = rt.takeIdle()
	}
	if h == nil {
		var err error
		if h, err = rt.open(); err != nil {
			go x.done(reply{err: err, fd: -1})
			return
		}
	}
	h.send(x)
}

// send starts x on h: its journey tracks it (its deadline, its
// context), then its request goes.
func (h *hconn) send(x *exchange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	x.owner.track(exchangeRef{h, x}, x.until)
	h.start(x)
	if !h.watched && h.fd >= 0 {
		if err := h.p.watch(h.fd, h, len(h.out) > 0); err != nil {
			h.failLocked(err)
			return
		}
		h.watched = true
	}
}

// open dials a connection; send adds it to a loop's set once its
// exchange is set (an event before would find it idle).
func (rt *rawTarget) open() (*hconn, error) {
	fd, err := rt.dial()
	if err != nil {
		return nil, err
	}
	return &hconn{rt: rt, fd: fd, p: pollerFor()}, nil
}

// takeIdle is a kept-alive connection, or nil.
func (rt *rawTarget) takeIdle() *hconn {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for n := len(rt.idle); n > 0; n = len(rt.idle) {
		h := rt.idle[n-1]
		rt.idle = rt.idle[:n-1]
		h.mu.Lock()
		ok := h.fd >= 0
		h.mu.Unlock()
		if ok {
			return h
		}
	}
	return nil
}

// start writes x's request (h.mu held); what the socket cannot take yet
// waits for it to be writable.
func (h *hconn) start(x *exchange) {
	h.x, h.in, h.got = x, h.in[:0], false
	h.out = x.req
	h.flush()
}

// flush writes what is pending (h.mu held).
func (h *hconn) flush() {
	for len(h.out) > 0 {
		n, err := rawWrite(h.fd, h.out)
		switch {
		case err == nil:
			h.out = h.out[n:]
		case err == unix.EINTR:
		case err == unix.EAGAIN: // the connect is under way, or no room: wait for writability
			if !h.watched {
				return // send watches it, writability with it
			}
			if err := h.p.rewatch(h.fd, true); err != nil {
				h.failLocked(err)
			}
			return
		default:
			h.failLocked(os.NewSyscallError("write", err))
			return
		}
	}
}

func (h *hconn) wants() uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return watchEvents(len(h.out) > 0)
}

// ready is an event of h's socket, on its loop.
func (h *hconn) ready(fd int, events uint32, rx *rxbuf) {
	h.mu.Lock()
	if h.fd != fd {
		h.mu.Unlock()
		return
	}
	if events&unix.EPOLLOUT != 0 && len(h.out) > 0 {
		h.flush()
		if h.fd < 0 {
			h.mu.Unlock()
			return
		}
		if len(h.out) == 0 {
			_ = h.p.rewatch(fd, false)
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
		h.mu.Unlock()
		return
	}
	want := len(rx.b)
	if h.x != nil && h.x.upgrade && len(h.in) == 0 {
		if l := int(h.rt.headLen.Load()); l > 0 {
			want = l // the 101 alone, if it is as long as the last: connection_established keeps its own arrival time (ws_ready)
		}
	}
	n, at, lag, err := rx.readUpTo(fd, want)
	if err == unix.EAGAIN || err == unix.EINTR {
		h.mu.Unlock()
		return
	}
	x := h.x
	if x == nil { // idle: the server closed it, or sent what nobody asked for
		h.closeLocked()
		h.mu.Unlock()
		return
	}
	switch {
	case err == unix.ECONNRESET && !h.got && h.reused && !x.tried:
		h.retry(x) // a kept-alive connection the server had closed: once more on a new one
		return
	case err != nil:
		h.failLocked(os.NewSyscallError("read", err))
		h.mu.Unlock()
		return
	}
	if n > 0 {
		h.got = true
		h.in = append(h.in, rx.b[:n]...)
	}
	bodyMax := maxBody
	if x.upgrade {
		bodyMax = upgradeBody
	}
	r, ok, perr := parseReply(h.in, n == 0, bodyMax)
	switch {
	case perr != nil && n == 0 && !h.got && h.reused && !x.tried:
		h.retry(x) // a kept-alive connection the server had closed: once more on a new one
		return
	case perr != nil:
		h.failLocked(perr)
		h.mu.Unlock()
		return
	case !ok:
		h.mu.Unlock()
		return
	}
	h.end(x)
	rep := reply{parsedReply: r, at: at, lag: lag, fd: -1}
	switch {
	case x.upgrade && r.code == http.StatusSwitchingProtocols:
		h.rt.headLen.Store(int32(min(r.used, math.MaxInt32)))
		rep.fd, rep.p, rep.rest = h.fd, h.p, append([]byte(nil), h.in[r.used:]...)
		h.fd, h.in = -1, nil // the socket is done's now
	case x.upgrade || r.close || r.used != len(h.in) || n == 0:
		h.closeLocked()
	default:
		h.reused = true
		h.in = h.in[:0]
		if !h.rt.putIdle(h) {
			h.closeLocked()
		}
	}
	h.mu.Unlock()
	x.done(rep)
}

// retry sends x again on a new connection (h.mu held; released here).
func (h *hconn) retry(x *exchange) {
	h.end(x)
	h.closeLocked()
	h.mu.Unlock()
	x.tried = true
	nh, err := h.rt.open()
	if err != nil {
		go x.done(reply{err: err, fd: -1})
		return
	}
	nh.send(x)
}

// putIdle keeps h for another exchange; false when the pool is full.
func (rt *rawTarget) putIdle(h *hconn) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.idle) >= maxIdleRaw {
		return false
	}
	rt.idle = append(rt.idle, h)
	return true
}

// end detaches x from h (h.mu held): its journey no longer tracks it.
func (h *hconn) end(x *exchange) {
	h.x, h.out = nil, nil
	x.owner.untrack(exchangeRef{h, x})
}

// fail ends x with err if it is still h's exchange (a timer, a context).
func (h *hconn) fail(x *exchange, err error) {
	h.mu.Lock()
	if h.x != x {
		h.mu.Unlock()
		return
	}
	h.end(x)
	h.closeLocked()
	h.mu.Unlock()
	x.done(reply{err: err, fd: -1})
}

// failLocked ends h's exchange, if any, with err and closes h (h.mu held;
// done is called on another goroutine: the caller holds the lock).
func (h *hconn) failLocked(err error) {
	x := h.x
	if x != nil {
		h.end(x)
	}
	h.closeLocked()
	if x != nil {
		go x.done(reply{err: err, fd: -1})
	}
}

// closeLocked closes h's socket (h.mu held).
func (h *hconn) closeLocked() {
	if h.fd < 0 {
		return
	}
	if h.watched {
		h.p.remove(h.fd)
	}
	closeFD(h.fd)
	h.fd, h.in, h.out = -1, nil, nil
}

// newRawTarget is t's raw path, or nil when its journeys cannot take it:
// not plain http, a proxy set for it, a profile, or a client or dialer
// given by the caller (built is false).
func newRawTarget(t *Target, u *url.URL, built bool, timeout time.Duration) *rawTarget {
	if !built || t.spec != nil || u.Scheme != "http" || t.wsu == nil {
		return nil
	}
	for _, pu := range []*url.URL{u, t.wsu} {
		if p, err := http.ProxyFromEnvironment(&http.Request{URL: pu}); err != nil || p != nil {
			return nil
		}
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	return &rawTarget{http: t.HTTP, dialer: any(t.Dialer), hostport: net.JoinHostPort(u.Hostname(), port),
		limit: maxInFlight, host: u.Host, prefix: strings.TrimRight(u.EscapedPath(), "/"), wsPath: t.wsu.RequestURI(), timeout: timeout}
}

// closeRaw closes a socket handed over by an upgrade that is not taken.
func closeRaw(p *poller, fd int) {
	if p != nil && fd >= 0 {
		p.remove(fd)
		closeFD(fd)
	}
}
