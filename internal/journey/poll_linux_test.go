//go:build linux

package journey

import (
	"net"
	"sync"
	"testing"
	"time"

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
// and the loop must still read it, with no more arriving to report it.
func TestLoopReadsWhatAFullBufferLeft(t *testing.T) {
	if !pollable() {
		t.Skip("no epoll loops here")
	}
	srv, fd := loopbackPair(t, true)
	const size = 64<<10 + 1000 // more than one read of the loop's 64 KiB buffer
	if _, err := srv.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	s := &sink{eof: make(chan struct{})}
	deadline := time.Now().Add(time.Second)
	for unread(fd) < size && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := unread(fd); n < size {
		t.Fatalf("only %d of %d bytes arrived", n, size)
	}
	p := pollerFor()
	if err := p.watch(fd, s, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.remove(fd) }) // loopbackPair closes fd
	for time.Now().Before(deadline.Add(2 * time.Second)) {
		if s.bytes() == size {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the loop read %d of the %d bytes waiting", s.bytes(), size)
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
