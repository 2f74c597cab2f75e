//go:build linux

package journey

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"
	"unsafe"

	"github.com/gobwas/ws"

	"golang.org/x/sys/unix"
)

// loopbackPair is a connected TCP pair on loopback: the server's side as
// a net.Conn, the client's as a raw non-blocking descriptor.
func loopbackPair(t *testing.T, stamp bool) (net.Conn, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeFD(fd) })
	if stamp {
		stampArrivals(fd)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	return srv, fd
}

// readWhenThere reads fd once it has something, at most for a second.
func readWhenThere(t *testing.T, rx *rxbuf, fd int) (int, time.Time, time.Duration) {
	t.Helper()
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if _, err := unix.Poll(pfd, 1000); err != nil {
		t.Fatal(err)
	}
	n, at, lag, err := rx.read(fd)
	if err != nil || n <= 0 {
		t.Fatalf("read: %d, %v", n, err)
	}
	return n, at, lag
}

// The bytes are stamped when they arrived, not when the reader got to
// them: the server writes, the reader waits 50 ms, then reads. Every
// bound below follows from the order of events, not from how fast the
// machine is: the bytes arrived during the write (loopback delivers
// inside the sender's call) and were read after the wait.
func TestReadStampsArrival(t *testing.T) {
	srv, fd := loopbackPair(t, true)
	rx := newRxbuf(1024)
	before := time.Now()
	if _, err := srv.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	written := time.Now()
	time.Sleep(50 * time.Millisecond)
	waited := time.Now()
	n, at, lag := readWhenThere(t, rx, fd)
	if string(rx.b[:n]) != "hello" {
		t.Fatalf("read %q", rx.b[:n])
	}
	// A kernel note becomes a time.Time by way of time.Now's two clock
	// readings (wall, then monotonic); a thread paused between them, as
	// on a loaded machine, moves it by the pause (0.4 ms was seen). So
	// the bounds allow 5 ms, a tenth of the wait they tell apart.
	const slack = 5 * time.Millisecond
	if at.Before(before.Add(-slack)) || at.After(written.Add(slack)) {
		t.Errorf("stamped %v after the write began, %v after it returned: want within the write", at.Sub(before), at.Sub(written))
	}
	if lag < waited.Sub(written)-slack {
		t.Errorf("lag %v, want at least the %v the reader waited", lag, waited.Sub(written))
	}
	if waited.Sub(at) < 50*time.Millisecond-slack {
		t.Errorf("at %v is not before the wait", at)
	}
}

// A socket not asked for arrival times is stamped when the read returned,
// with no lag: a missing note is not a lag of zero read as one.
func TestReadWithoutStampsUsesReadTime(t *testing.T) {
	srv, fd := loopbackPair(t, false)
	rx := newRxbuf(1024)
	if _, err := srv.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	waited := time.Now()
	_, at, lag := readWhenThere(t, rx, fd)
	if lag != 0 {
		t.Errorf("lag %v without stamps", lag)
	}
	if at.Before(waited) {
		t.Errorf("stamped %v before the read began", waited.Sub(at))
	}
}

// Two writes read at once are stamped with the later one's arrival.
func TestReadStampsLastSegment(t *testing.T) {
	srv, fd := loopbackPair(t, true)
	rx := newRxbuf(1024)
	first := time.Now()
	if _, err := srv.Write([]byte("one ")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := srv.Write([]byte("two")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	n, at, _ := readWhenThere(t, rx, fd)
	if string(rx.b[:n]) != "one two" {
		t.Fatalf("read %q (the two writes were meant to be read at once)", rx.b[:n])
	}
	// The second write came at least 20 ms after the first; halfway is
	// the line. (Not the second write's own start: a thread paused
	// between time.Now's two clock reads, as on a loaded machine, moves a
	// reading by the pause, and one of 0.4 ms was seen.)
	if got := at.Sub(first); got < 10*time.Millisecond {
		t.Errorf("stamped %v after the first write, the second came 20 ms after it: the first segment's time", got)
	}
}

// arrival finds the timestamp among other control messages and refuses a
// truncated or malformed buffer.
func TestArrivalParsesControlMessages(t *testing.T) {
	rx := newRxbuf(16)
	oob := unsafe.Slice((*byte)(unsafe.Pointer(&rx.oob[0])), len(rx.oob)*8)
	put := func(off int, level, typ int32, data []byte) int {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[off]))
		h.Level, h.Type = level, typ
		h.SetLen(unix.CmsgLen(len(data)))
		copy(oob[off+unix.CmsgLen(0):], data)
		return off + unix.CmsgSpace(len(data))
	}
	ts := unix.NsecToTimespec(1_700_000_000_123_456_789)
	tsb := unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))

	end := put(0, unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, tsb)
	rx.msg.SetControllen(end)
	if k, ok := rx.arrival(); !ok || k != 1_700_000_000_123_456_789 {
		t.Errorf("alone: %d %v", k, ok)
	}

	clear(rx.oob[:])
	off := put(0, unix.IPPROTO_IP, unix.IP_TTL, []byte{64, 0, 0, 0})
	end = put(off, unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, tsb)
	rx.msg.SetControllen(end)
	if k, ok := rx.arrival(); !ok || k != 1_700_000_000_123_456_789 {
		t.Errorf("second of two: %d %v", k, ok)
	}

	rx.msg.SetControllen(end - 1) // the timestamp cut short
	if _, ok := rx.arrival(); ok {
		t.Error("truncated: found a timestamp")
	}
	rx.msg.SetControllen(0)
	if _, ok := rx.arrival(); ok {
		t.Error("none: found a timestamp")
	}
	clear(rx.oob[:])
	put(0, unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, tsb[:8]) // too short to hold a timespec
	rx.msg.SetControllen(unix.CmsgSpace(8))
	if _, ok := rx.arrival(); ok {
		t.Error("short: found a timestamp")
	}
}

// stall is a socket on an epoll loop whose event holds the loop for d:
// the loop as a machine short of CPU would leave it.
type stall struct{ d time.Duration }

func (s stall) ready(fd int, _ uint32, rx *rxbuf) {
	_, _, _, _ = rx.read(fd)
	time.Sleep(s.d)
}

func (stall) wants() uint32 { return watchEvents(false) }

// holdLoops puts a stall of d in every epoll loop's set; hold pokes them
// all and returns once they are held (20 ms later).
func holdLoops(t *testing.T, d time.Duration) (holdAll func()) {
	t.Helper()
	var pokes []int
	for _, p := range pollers.ps {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.watch(fds[0], stall{d}, false); err != nil {
			t.Fatal(err)
		}
		pokes = append(pokes, fds[1])
		t.Cleanup(func() { p.remove(fds[0]); closeFD(fds[0]); closeFD(fds[1]) })
	}
	return func() {
		for _, fd := range pokes {
			_, _ = unix.Write(fd, []byte{1})
		}
		time.Sleep(20 * time.Millisecond) // the loops are held now
	}
}

// A journey's phase runs to when its reply arrived, not to when a busy
// loop got to it; the wait is the journey's ReadLag. Every epoll loop is
// held for 300 ms from just before the login's reply is written, so the
// reply is read at least 250 ms after it came.
func TestRawPhaseTimedToArrival(t *testing.T) {
	if !pollable() {
		t.Skip("no epoll loops")
	}
	holdAll := holdLoops(t, 300*time.Millisecond)
	s := &scripted{login: func(c net.Conn, _, _ int) bool {
		holdAll()
		_, err := c.Write([]byte(loginReply()))
		return err == nil
	}}
	r := runRaw(t, s.start(t), onlyHello)
	if !throughHello(r) {
		t.Fatalf("journey failed before its request: %v", r.Err)
	}
	var login []time.Duration
	for _, ph := range r.Phases {
		if ph.Name == PhaseLogin {
			login = append(login, ph.D)
		}
	}
	if len(login) != 1 {
		t.Fatalf("%d login samples", len(login))
	}
	if login[0] >= 250*time.Millisecond {
		t.Errorf("login %v: timed to the late read, not to the reply's arrival", login[0])
	}
	if r.ReadLag < 250*time.Millisecond {
		t.Errorf("ReadLag %v; the reply waited at least 250 ms for the held loop", r.ReadLag)
	}
}

// TestWSReadySeenOnlyApart: a 101 and connection_established written in
// one piece arrive with one time, so the journey records no ws_ready
// (ReadyUnseen) rather than a 0; written 30 ms apart, ws_ready is those
// 30 ms; and so it is when the 101 is read late (the loops held as it
// comes) but the frame came later still: the two arrival times are the
// kernel's, whenever they were read.
func TestWSReadySeenOnlyApart(t *testing.T) {
	if !pollable() {
		t.Skip("no epoll loops")
	}
	okLogin := func(c net.Conn, _, _ int) bool {
		_, err := c.Write([]byte(loginReply()))
		return err == nil
	}
	holdAll := holdLoops(t, 100*time.Millisecond)
	upgradeThen := func(gap time.Duration, late bool) func(net.Conn, *http.Request) {
		return func(c net.Conn, req *http.Request) {
			if late {
				holdAll()
			}
			if gap == 0 {
				_, _ = c.Write(append([]byte(accept101(req)), established()...))
			} else {
				_, _ = c.Write([]byte(accept101(req)))
				time.Sleep(gap)
				_, _ = c.Write(established())
			}
			_, _ = ws.ReadFrame(bufio.NewReader(c)) // the request
			_, _ = c.Write(closeFrame(1011))
			hold(c)
		}
	}
	for _, tc := range []struct {
		name   string
		gap    time.Duration
		late   bool
		unseen bool
	}{
		{"together", 0, false, true},
		{"apart", 30 * time.Millisecond, false, false},
		{"apart, the 101 read late", 300 * time.Millisecond, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runRaw(t, (&scripted{login: okLogin, up: upgradeThen(tc.gap, tc.late)}).start(t), onlyHello)
			if !throughHello(r) {
				t.Fatalf("journey failed before its request: %v", r.Err)
			}
			var ready []time.Duration
			for _, ph := range r.Phases {
				if ph.Name == PhaseWSReady {
					ready = append(ready, ph.D)
				}
			}
			switch {
			case r.ReadyUnseen != tc.unseen:
				t.Fatalf("ReadyUnseen = %v (ws_ready %v); want %v", r.ReadyUnseen, ready, tc.unseen)
			case tc.unseen && len(ready) != 0:
				t.Fatalf("ws_ready %v recorded; want none", ready)
			case !tc.unseen && (len(ready) != 1 || ready[0] < tc.gap*9/10):
				t.Fatalf("ws_ready %v; want one sample of about %v", ready, tc.gap)
			}
		})
	}
}
