//go:build linux

// Command floorclient is the floor of scripts/bench-cpu-ab.sh: the least
// CPU a client can spend on goldenpath's minimal journey of PROTOCOL v1
// (../shared/PROTOCOL.md) on this machine. It makes the system calls the
// journey needs and next to nothing else: one thread, one epoll set, every
// socket non-blocking and edge-triggered, each user's login on a kept-alive
// connection of its own, the WebSocket dialled and upgraded by hand. The
// thread waits in epoll_wait: waiting in Go's netpoller instead (-netpoll)
// costs it about 1.5x as much (docs/benchmarks.md), so the floor waits the
// cheaper way.
//
// It judges almost nothing: a login's token is cut out of its reply with
// no JSON parsing, a 101 is taken on its status line, and the journey's
// end is the first text frame holding "agent_completed" and the message's
// id. It keeps no timings, no histograms and no oracle. It is a
// yardstick, never a load generator: what it spends is the kernel's share
// of the journey plus a sliver, so goldenpath's CPU over it is goldenpath's
// own cost above the wire's, and an absolute goal below it cannot be met by
// any client on the same machine.
//
// It registers its users first (with net/http, before the load), then
// runs the load and prints one line, as bench/plainclient does:
//
//	journeys N failed F seconds S cpu_us_per_journey C
//
// where C is this process's user + system CPU during the load divided by
// the journeys. It imports nothing of goldenpath.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// netpoll makes the loop wait in Go's netpoller (-netpoll).
var netpoll bool

// journeyTimeout fails a journey that has not ended in this long.
const journeyTimeout = 30 * time.Second

type step int

const (
	idle       step = iota // no journey: the load is over
	loggingIn              // the login's request is written; its reply is awaited
	connecting             // the WebSocket's socket is connecting
	upgrading              // the upgrade request is written; the 101 is awaited
	ready                  // waiting for connection_established
	running                // the user_message is written; waiting for its agent_completed
	closing                // close 1000 is written; waiting for the server's close
)

// user is one user's state: its kept-alive login connection and, during
// a journey, its WebSocket.
type user struct {
	n         int
	login     []byte // the login request, ready to write
	hfd       int    // the login connection
	hbuf      []byte // what the login connection has read, not yet used
	wfd       int    // the WebSocket, -1 when none
	wbuf      []byte
	step      step
	token     []byte
	id        []byte // the current journey's message id
	begun     time.Time
	journey   int
	loginSent bool // the login's request went out (not yet, while its connection connects)
}

type client struct {
	epfd    int
	addr    unix.SockaddrInet4
	host    string
	byFD    map[int]*user
	users   []*user
	rx      []byte
	ok      int
	failed  int
	stopAt  time.Time
	running int
	next    []*user      // users whose journey ended, to begin again from the loop
	closed  map[int]bool // descriptors closed during the batch of events at hand
}

func main() {
	target := flag.String("target", "http://127.0.0.1:8080", "base URL of a PROTOCOL v1 server on IPv4 loopback")
	users := flag.Int("users", 50, "concurrent users")
	duration := flag.Duration("duration", 10*time.Second, "how long the load runs")
	kind := flag.String("journey", "minimal", "minimal (the only journey the floor makes)")
	flag.BoolVar(&netpoll, "netpoll", false, "wait in Go's netpoller, not in epoll_wait")
	flag.Parse()
	if *kind != "minimal" {
		log.Fatalf("floorclient: -journey %s: only minimal is made; use bench/plainclient for full", *kind)
	}
	if *users < 1 {
		log.Fatalf("floorclient: -users %d: give at least 1", *users)
	}
	r, err := run(*target, *users, *duration)
	if err != nil {
		log.Fatalf("floorclient: %v", err)
	}
	n := r.ok + r.failed
	fmt.Printf("journeys %d failed %d seconds %.1f cpu_us_per_journey %.1f\n", n, r.failed, r.took.Seconds(), float64(r.cpu.Microseconds())/float64(max(n, 1)))
}

// result is a load's outcome: the journeys that ended well and badly,
// how long the load took and the CPU this process spent on it.
type result struct {
	ok, failed int
	took, cpu  time.Duration
}

// run registers users users on target, then loads it for duration.
func run(target string, users int, duration time.Duration) (result, error) {
	c, err := newClient(target)
	if err != nil {
		return result{}, err
	}
	defer unix.Close(c.epfd)
	base := strings.TrimRight(target, "/")
	hc := &http.Client{Timeout: 30 * time.Second}
	tag := time.Now().UnixNano()
	for i := range users {
		email, pass := fmt.Sprintf("floor-%x-%d@example.test", tag, i), "floor-password-1"
		body, _ := json.Marshal(map[string]string{"email": email, "password": pass})
		resp, err := hc.Post(base+"/api/v1/auth/register", "application/json", bytes.NewReader(body))
		if err != nil {
			return result{}, fmt.Errorf("register %s: %w", email, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return result{}, fmt.Errorf("register %s: status %d, want 201", email, resp.StatusCode)
		}
		u := &user{n: i, wfd: -1, hfd: -1}
		u.login = fmt.Appendf(nil, "POST /api/v1/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", c.host, len(body), body)
		c.users = append(c.users, u)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, cpu0 := time.Now(), cpu()
	c.stopAt = start.Add(duration)
	for _, u := range c.users {
		c.begin(u)
	}
	c.loop()
	for fd := range c.byFD {
		unix.Close(fd)
	}
	return result{ok: c.ok, failed: c.failed, took: time.Since(start), cpu: cpu() - cpu0}, nil
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func newClient(target string) (*client, error) {
	t, err := url.Parse(target)
	if err != nil || t.Scheme != "http" {
		return nil, fmt.Errorf("-target %q: give an http:// URL of a server on IPv4 loopback", target)
	}
	ap, err := net.ResolveTCPAddr("tcp4", t.Host)
	if err != nil || !ap.IP.IsLoopback() {
		return nil, fmt.Errorf("-target %q: the floor loads IPv4 loopback only", target)
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	c := &client{epfd: epfd, host: t.Host, byFD: map[int]*user{}, closed: map[int]bool{}, rx: make([]byte, 64<<10)}
	c.addr.Port = ap.Port
	copy(c.addr.Addr[:], ap.IP.To4())
	return c, nil
}

// socket opens a non-blocking TCP socket to the target, connecting, in
// the epoll set.
func (c *client) socket(u *user) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if err := unix.Connect(fd, &c.addr); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return -1, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if err := unix.EpollCtl(c.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		return -1, err
	}
	c.byFD[fd] = u
	return fd, nil
}

func (c *client) dialLogin(u *user) error {
	fd, err := c.socket(u)
	u.hfd = fd
	return err
}

func (c *client) shut(fd int) {
	delete(c.byFD, fd)
	unix.Close(fd)
	c.closed[fd] = true
}

// begin starts u's next journey (or none after the deadline).
func (c *client) begin(u *user) {
	if !time.Now().Before(c.stopAt) {
		u.step = idle
		return
	}
	c.running++
	u.journey++
	u.begun = time.Now()
	u.id = fmt.Appendf(u.id[:0], "floor-%d-%d", u.n, u.journey)
	u.step = loggingIn
	if u.hfd < 0 {
		if err := c.dialLogin(u); err != nil {
			c.end(u, false)
			return
		}
	}
	_, err := unix.Write(u.hfd, u.login)
	switch {
	case err == nil:
		u.loginSent = true
	case errors.Is(err, unix.EAGAIN): // still connecting: the writable edge sends it
		u.loginSent = false
	default:
		c.end(u, false)
	}
}

// end ends u's journey; the loop begins u's next one. (Beginning it here
// would recurse without bound while every journey fails at once, as against
// a refused port.)
func (c *client) end(u *user, ok bool) {
	if ok {
		c.ok++
	} else {
		c.failed++
		if u.hfd >= 0 {
			c.shut(u.hfd)
			u.hfd = -1
			u.hbuf = u.hbuf[:0]
		}
	}
	if u.wfd >= 0 {
		c.shut(u.wfd)
		u.wfd = -1
	}
	u.wbuf = u.wbuf[:0]
	c.running--
	u.step = idle
	c.next = append(c.next, u)
}

// beginNext begins the next journey of every user whose journey ended.
func (c *client) beginNext() {
	for len(c.next) > 0 {
		us := c.next
		c.next = nil
		for _, u := range us {
			c.begin(u)
		}
		if c.running == 0 {
			return // all failed at once again: epoll first, then again
		}
	}
}

// waitMS is how long the loop may wait for events: not at all while
// journeys are to begin.
func (c *client) waitMS() int {
	if len(c.next) > 0 {
		return 0
	}
	return 1000
}

func (c *client) loop() {
	if netpoll {
		c.loopNetpoll()
		return
	}
	events := make([]unix.EpollEvent, 256)
	checked := time.Now()
	for c.beginNext(); c.running > 0 || len(c.next) > 0; c.beginNext() {
		n, err := unix.EpollWait(c.epfd, events, c.waitMS())
		if err != nil && !errors.Is(err, unix.EINTR) {
			log.Fatalf("floorclient: epoll_wait: %v", err)
		}
		c.handle(events[:max(n, 0)])
		checked = c.timeouts(checked)
	}
}

// handle gives each event to its socket's user. An event of a descriptor
// closed earlier in the same batch is stale: the number may already be a
// new socket's, whose own events come in a later batch.
func (c *client) handle(events []unix.EpollEvent) {
	clear(c.closed) // those closed before the batch was fetched are not in it
	for _, e := range events {
		fd := int(e.Fd)
		if c.closed[fd] {
			continue
		}
		if u := c.byFD[fd]; u != nil {
			c.ready(u, fd, e.Events)
		}
	}
}

// timeouts fails the journeys older than journeyTimeout, once a second.
func (c *client) timeouts(checked time.Time) time.Time {
	now := time.Now()
	if now.Sub(checked) < time.Second {
		return checked
	}
	for _, u := range c.users {
		if u.step != idle && now.Sub(u.begun) > journeyTimeout {
			c.end(u, false)
		}
	}
	return now
}

// loopNetpoll waits in Go's netpoller instead of in epoll_wait: the epoll
// set is itself a pollable descriptor, readable while it has ready sockets.
func (c *client) loopNetpoll() {
	if err := unix.SetNonblock(c.epfd, true); err != nil {
		log.Fatalf("floorclient: %v", err)
	}
	fd, err := unix.Dup(c.epfd)
	if err != nil {
		log.Fatalf("floorclient: %v", err)
	}
	f := os.NewFile(uintptr(fd), "floor-epoll")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		log.Fatalf("floorclient: %v", err)
	}
	events := make([]unix.EpollEvent, 256)
	checked := time.Now()
	for c.beginNext(); c.running > 0 || len(c.next) > 0; c.beginNext() {
		if len(c.next) == 0 {
			_ = f.SetReadDeadline(time.Now().Add(time.Second))
			err := rc.Read(func(uintptr) bool {
				n, err := unix.EpollWait(c.epfd, events, 0)
				if n <= 0 || err != nil {
					return false
				}
				c.handle(events[:n])
				return len(c.next) > 0 || n == len(events)
			})
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				log.Fatalf("floorclient: the epoll set: %v", err)
			}
		}
		checked = c.timeouts(checked)
	}
}
