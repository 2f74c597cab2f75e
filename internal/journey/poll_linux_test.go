//go:build linux

package journey

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// sink is a socket on an epoll loop that counts the bytes it reads and
// notes the peer's end (a read of 0).
type sink struct {
	mu   sync.Mutex
	got  int
	eof  chan struct{}
	shut bool
}

func (s *sink) ready(fd int, _ uint32, rx *rxbuf) {
	n, _, _, err := rx.read(fd)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case n > 0:
		s.got += n
	case n == 0 && err == nil && !s.shut:
		s.shut = true
		close(s.eof)
	}
}

func (s *sink) wants() uint32 { return watchEvents(false) }

func (s *sink) bytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got
}

// waitReadable waits (at most a second) until fd has what want asks
// for (POLLIN, POLLRDHUP), so that it is all there before the socket
// joins a loop's set.
func waitReadable(t *testing.T, fd int, want int16) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
		if _, err := unix.Poll(pfd, 10); err == nil && pfd[0].Revents&want == want {
			return
		}
	}
	t.Fatalf("fd %d never had %#x", fd, want)
}

// The loops' sockets are edge-triggered: one event for what has
// arrived. A read that fills the loop's buffer leaves the rest behind,
// and the loop must still read it, with no more arriving to report it:
// at once, and past maxRereads reads by asking epoll to report the rest.
func TestLoopReadsWhatAFullBufferLeft(t *testing.T) {
	if !pollable() {
		t.Skip("no epoll loops here")
	}
	for _, tc := range []struct {
		name string
		size int
	}{
		{"read again", 64<<10 + 1000},                    // one read more than the loop's 64 KiB buffer
		{"reported again", (maxRereads+1)*64<<10 + 1000}, // more than the loop reads at once
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, fd := loopbackPair(t, true)
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20); err != nil {
				t.Fatal(err)
			}
			wrote := make(chan error, 1)
			go func() { _, err := srv.Write(make([]byte, tc.size)); wrote <- err }()
			deadline := time.Now().Add(2 * time.Second)
			for unread(fd) < tc.size && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n := unread(fd); n < tc.size {
				t.Fatalf("only %d of %d bytes arrived", n, tc.size)
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
			s := &sink{eof: make(chan struct{})}
			p := pollerFor()
			if err := p.watch(fd, s, false); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.remove(fd) }) // loopbackPair closes fd
			for time.Now().Before(deadline.Add(2 * time.Second)) {
				if s.bytes() == tc.size {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Fatalf("the loop read %d of the %d bytes waiting", s.bytes(), tc.size)
		})
	}
}

// A peer that writes and shuts its side at once makes one event: the
// loop reads the data, then must still see the end, though nothing more
// will arrive to report it.
func TestLoopSeesTheEndBehindData(t *testing.T) {
	if !pollable() {
		t.Skip("no epoll loops here")
	}
	srv, fd := loopbackPair(t, true)
	if _, err := srv.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := srv.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	waitReadable(t, fd, unix.POLLIN|unix.POLLRDHUP)
	s := &sink{eof: make(chan struct{})}
	p := pollerFor()
	if err := p.watch(fd, s, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.remove(fd) }) // loopbackPair closes fd
	select {
	case <-s.eof:
		if s.bytes() != len("last words") {
			t.Errorf("read %d bytes before the end, want %d", s.bytes(), len("last words"))
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("the loop read %d bytes and never saw the peer's end", s.bytes())
	}
}

// unread is how many bytes wait in fd's receive queue.
func unread(fd int) int {
	n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	if err != nil {
		return -1
	}
	return n
}

// An upgrade's first read asks for as many bytes as the last 101 had
// (rxbuf.readUpTo), so that a frame behind the 101 keeps its own arrival
// time. Whatever the next 101's length, the journey must go on: the
// loop reads at once what such a read left (edge-triggered, nothing
// reports it again), for the hconn when its head was longer, for the
// WebSocket when the frame came behind it in one segment.
func TestUpgradeReadStopsAtThe101(t *testing.T) {
	if !pollable() {
		t.Skip("no epoll loops here")
	}
	var n atomic.Int32
	var heads []int
	var mu sync.Mutex
	s := &scripted{
		login: func(c net.Conn, _, _ int) bool {
			_, err := c.Write([]byte(loginReply()))
			return err == nil
		},
		up: func(c net.Conn, req *http.Request) {
			head := accept101(req)
			switch n.Add(1) {
			case 2: // longer than the first: the first read ends inside it
				head = strings.Replace(head, "\r\n\r\n", "\r\nX-Longer: "+strings.Repeat("x", 40)+"\r\n\r\n", 1)
			case 3: // shorter: the first read takes the frame's first bytes too
				head = strings.Replace(head, "Connection: Upgrade\r\n", "Connection: upgrade\r\n", 1)
				head = strings.Replace(head, "HTTP/1.1 101 Switching Protocols", "HTTP/1.1 101 OK", 1)
			}
			mu.Lock()
			heads = append(heads, len(head))
			mu.Unlock()
			_, _ = c.Write(append([]byte(head), established()...)) // one segment
			_, _ = ws.ReadFrame(bufio.NewReader(c))                // the request
			_, _ = c.Write(closeFrame(1011))
			hold(c)
		},
	}
	tgt := s.start(t)
	head := func(i int) int {
		mu.Lock()
		defer mu.Unlock()
		if i < 0 || i >= len(heads) {
			return 0
		}
		return heads[i]
	}
	for i := range 4 {
		r := runRaw(t, tgt, onlyHello)
		if !throughHello(r) {
			t.Fatalf("journey %d (101 of %d bytes after one of %d): %v", i+1, head(i), head(i-1), r.Err)
		}
		if !r.ReadyUnseen {
			t.Errorf("journey %d: a 101 and its frame in one segment were timed apart", i+1)
		}
		if got := int(rawFor(tgt).headLen.Load()); got != head(i) {
			t.Errorf("journey %d: the next upgrade will read %d bytes first; its 101 had %d", i+1, got, head(i))
		}
	}
}
