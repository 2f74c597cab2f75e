//go:build linux

package journey

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// floodPings writes n pings (payloads "ping 0", "ping 1", ...) to a
// client that must answer each with a pong, and reads none of the pongs.
func floodPings(srv net.Conn, n int) {
	var b []byte
	for i := range n {
		p := fmt.Appendf(nil, "ping %d %s", i, bytes.Repeat([]byte("x"), 100))
		b = append(b, serverFrame(ws.OpPing, true, p, false)...)
	}
	_, _ = srv.Write(b) // fails once the test closed srv: nothing to tell then
}

// pongingConn is a WebSocket client on an epoll loop (c, in p's set),
// with a small send buffer, whose server side is srv; rec is told what c
// reads. wtimeout 0 is the package's write timeout.
func pongingConn(t *testing.T, wtimeout time.Duration) (srv net.Conn, c *wsconn, p *poller, rec *wireRecorder) {
	t.Helper()
	srv, fd := loopbackPair(t, true)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096); err != nil {
		t.Fatal(err)
	}
	rec = newWireRecorder()
	c = &wsconn{h: rec, fd: fd, wtimeout: wtimeout}
	p = pollerFor()
	if err := p.add(fd, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.remove(fd) }) // loopbackPair closes fd
	return srv, c, p, rec
}

// pending is what c still has to write. A loop that waits for room holds
// c's lock while it waits: pending fails t rather than wait with it past
// a few seconds.
func pending(t *testing.T, c *wsconn) int {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !c.mu.TryLock(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the loop held the connection's lock for 3 s: it is waiting for room to write")
		}
	}
	defer c.mu.Unlock()
	return len(c.out)
}

// waitPending waits, at most 5 s, until c has pongs it could not write,
// and fails the test when it never has: without them it shows nothing.
func waitPending(t *testing.T, c *wsconn) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); pending(t, c) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if pending(t, c) == 0 {
		t.Fatal("the pongs never filled the socket: the test shows nothing")
	}
}

// A server that sends and does not read fills the client's socket: a
// pong (or any frame) then finds no room. The loop that read the ping
// must not wait there for room, which it did for up to the write timeout
// (10 s), while every other socket in its set waited with it. What does
// not fit waits in the connection and goes out, in order, once the
// server reads.
func TestLoopDoesNotWaitForRoomToWrite(t *testing.T) {
	if !pollable() {
		t.Skip("no epoll loops here")
	}
	const pings = 4000 // half a megabyte of pongs: more than both sockets hold
	srv, c, p, rec := pongingConn(t, 0)
	go floodPings(srv, pings)
	deadline := time.Now().Add(5 * time.Second)
	waitPending(t, c)

	// Another socket in the same loop's set must still be read while the
	// first one's pongs wait; 5 s is half the write timeout the loop
	// used to wait out.
	other, ofd := loopbackPair(t, true)
	s := &sink{eof: make(chan struct{})}
	if err := p.watch(ofd, s, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.remove(ofd) })
	if _, err := other.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	for s.bytes() < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s.bytes() < 5 {
		t.Fatalf("the loop read %d of another socket's 5 bytes while a write waited for room", s.bytes())
	}
	if pending(t, c) == 0 {
		t.Fatal("the pongs went out before the server read: the other socket's read proves nothing")
	}

	// The server reads now: every pong, whole and in order.
	r := bufio.NewReader(srv)
	_ = srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range pings {
		op, payload := readClientFrame(t, r)
		want := fmt.Sprintf("ping %d ", i)
		if op != ws.OpPong || !bytes.HasPrefix(payload, []byte(want)) || len(payload) != len(want)+100 {
			t.Fatalf("frame %d: %v %.20q, want the pong of %q", i, op, payload, want)
		}
	}
	for pending(t, c) > 0 && time.Now().Before(deadline.Add(5*time.Second)) {
		time.Sleep(time.Millisecond)
	}
	if n := pending(t, c); n > 0 {
		t.Fatalf("%d bytes still wait after the server read them all", n)
	}
	select {
	case err := <-rec.ends:
		t.Fatalf("reading ended: %v", err)
	default:
	}
}

// What waits to be written longer than the write timeout ends reading
// with a timeout, as the write that waited for it used to return.
func TestWriteThatFindsNoRoomTimesOut(t *testing.T) {
	if !pollable() {
		t.Skip("no epoll loops here")
	}
	srv, _, _, rec := pongingConn(t, 200*time.Millisecond)
	go floodPings(srv, 4000)
	select {
	case err := <-rec.ends:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("reading ended with %v, want the write timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write that never found room never timed out")
	}
}

// The write timeout is for a socket that takes nothing: a server that
// reads, however slowly, keeps its connection while the pongs drain for
// longer than the timeout in all.
func TestSlowReaderIsNotTimedOut(t *testing.T) {
	if !pollable() {
		t.Skip("no epoll loops here")
	}
	const pings = 12000 // 1.3 MB of pongs
	srv, c, _, rec := pongingConn(t, 300*time.Millisecond)
	go floodPings(srv, pings)
	waitPending(t, c)
	// Read 64 KiB every 50 ms (less would not open the window enough for
	// the client's kernel to send more): draining takes well over the
	// 300 ms timeout, and no 300 ms passes without progress.
	start := time.Now()
	buf := make([]byte, 64<<10)
	got := 0
	for got < pings*(6+106) && time.Since(start) < 30*time.Second {
		_ = srv.SetReadDeadline(time.Now().Add(time.Second))
		n, err := srv.Read(buf)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", got, err)
		}
		got += n
		select {
		case err := <-rec.ends:
			t.Fatalf("reading ended after %v with %d bytes drained: %v", time.Since(start), got, err)
		default:
		}
		time.Sleep(50 * time.Millisecond)
	}
	if took := time.Since(start); took < 600*time.Millisecond {
		t.Fatalf("drained in %v: not over the timeout, the test shows nothing", took)
	}
}
