//go:build linux

package main

import (
	"net"
	"testing"
	"time"
)

// Two reads of one segment get one arrival time; two segments, two. A
// 101 and its frame merged in the socket's queue and read apart must not
// come out a few nanoseconds apart (the jitter of reading two clocks),
// which would time a ws_ready the kernel never saw.
func TestOneSegmentOneTime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	server := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(server)
			return
		}
		server <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tc, err := newTimedConn(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	s := <-server
	if s == nil {
		t.Fatal("no connection")
	}
	defer s.Close()
	read := func(n int) time.Time {
		t.Helper()
		b := make([]byte, n)
		for got := 0; got < n; {
			k, err := tc.Read(b[got:])
			if err != nil {
				t.Fatal(err)
			}
			got += k
		}
		return tc.arrived
	}
	// The kernel starts noting receive times a little after the first
	// socket asks (it turns them on machine-wide from a work queue):
	// until it does, a read has only its own time.
	for i := 0; tc.lastK == 0; i++ {
		if i == 1000 {
			t.Skip("the kernel noted no receive time in a second")
		}
		if _, err := s.Write([]byte("w")); err != nil {
			t.Fatal(err)
		}
		read(1)
		time.Sleep(time.Millisecond)
	}
	for range 50 {
		if _, err := s.Write([]byte("head+frame")); err != nil { // one write, one segment
			t.Fatal(err)
		}
		if a, b := read(5), read(5); !a.Equal(b) {
			t.Fatalf("one segment read in two reads: arrivals %v apart", b.Sub(a))
		}
	}
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	a := read(1)
	time.Sleep(time.Millisecond)
	if _, err := s.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if b := read(1); !b.After(a) {
		t.Fatalf("two segments a millisecond apart: arrivals %v and %v", a, b)
	}
}
