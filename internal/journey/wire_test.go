package journey

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

// wireRecorder is a frameHandler that passes what it is told to a test.
type wireRecorder struct {
	msgs  chan string // "t:payload" or "b:payload"
	ends  chan error
	times []time.Time
}

func newWireRecorder() *wireRecorder {
	return &wireRecorder{msgs: make(chan string, 64), ends: make(chan error, 1)}
}

func (r *wireRecorder) message(text bool, payload []byte, at time.Time) {
	kind := "b:"
	if text {
		kind = "t:"
	}
	r.times = append(r.times, at)
	r.msgs <- kind + string(payload)
}

func (r *wireRecorder) ended(err error) { r.ends <- err }

// serverFrame is a frame as a server writes it (unmasked unless masked).
func serverFrame(op ws.OpCode, fin bool, payload []byte, masked bool) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	var mb byte
	if masked {
		mb = 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		b = append(b, mb|byte(n))
	case n <= 0xffff:
		b = append(b, mb|126, byte(n>>8), byte(n))
	default:
		b = append(b, mb|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if masked {
		b = append(b, 1, 2, 3, 4)
		p := append([]byte(nil), payload...)
		ws.Cipher(p, [4]byte{1, 2, 3, 4}, 0)
		return append(b, p...)
	}
	return append(b, payload...)
}

// readClientFrame reads one masked client frame from r.
func readClientFrame(t *testing.T, r io.Reader) (ws.OpCode, []byte) {
	t.Helper()
	f, err := ws.ReadFrame(r)
	if err != nil {
		t.Fatalf("read client frame: %v", err)
	}
	if !f.Header.Masked {
		t.Fatal("the client sent an unmasked frame (RFC 6455 5.1: a client masks every frame)")
	}
	ws.Cipher(f.Payload, f.Header.Mask, 0)
	return f.Header.OpCode, f.Payload
}

// wirePair connects a wsconn to a raw server socket: in the epoll loop
// (epoll) or with a reader goroutine (a conn that is not a *net.TCPConn).
func wirePair(t *testing.T, epoll bool, rest []byte) (*wsconn, *wireRecorder, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	_ = sc.SetDeadline(time.Now().Add(10 * time.Second))
	rec := newWireRecorder()
	c := &wsconn{h: rec, fd: -1}
	var conn net.Conn = nc
	if !epoll {
		conn = struct{ net.Conn }{nc}
	}
	c.attach(conn, rest, time.Now())
	t.Cleanup(func() {
		c.mu.Lock()
		c.shut()
		c.mu.Unlock()
	})
	if epoll && pollable() && c.fd < 0 {
		t.Fatal("a plain TCP connection did not move into the epoll loop")
	}
	return c, rec, sc
}

func wireModes(t *testing.T, f func(t *testing.T, epoll bool)) {
	t.Run("epoll", func(t *testing.T) {
		if !pollable() {
			t.Skip("no epoll loop on this platform")
		}
		f(t, true)
	})
	t.Run("reader", func(t *testing.T) { f(t, false) })
}

func wantMsg(t *testing.T, r *wireRecorder, want string) {
	t.Helper()
	select {
	case got := <-r.msgs:
		if got != want {
			t.Fatalf("message %q, want %q", got, want)
		}
	case err := <-r.ends:
		t.Fatalf("reading ended (%v) before message %q", err, want)
	case <-time.After(5 * time.Second):
		t.Fatalf("no message %q in 5 s", want)
	}
}

func wantEnd(t *testing.T, r *wireRecorder) error {
	t.Helper()
	select {
	case err := <-r.ends:
		return err
	case m := <-r.msgs:
		t.Fatalf("message %q, want the end of reading", m)
	case <-time.After(5 * time.Second):
		t.Fatal("reading did not end in 5 s")
	}
	return nil
}

func TestWireMessagesInOrderAcrossReads(t *testing.T) {
	wireModes(t, func(t *testing.T, epoll bool) {
		// The handshake's leftover first, then many frames in one write,
		// then a frame dribbled a byte at a time, then fragments.
		_, rec, sc := wirePair(t, epoll, serverFrame(ws.OpText, true, []byte("rest"), false))
		wantMsg(t, rec, "t:rest")
		var burst []byte
		for _, s := range []string{"a", "b", "c"} {
			burst = append(burst, serverFrame(ws.OpText, true, []byte(s), false)...)
		}
		burst = append(burst, serverFrame(ws.OpBinary, true, []byte("bin"), false)...)
		if _, err := sc.Write(burst); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"t:a", "t:b", "t:c", "b:bin"} {
			wantMsg(t, rec, w)
		}
		big := bytes.Repeat([]byte("x"), 70000) // a 64-bit length, over one read of the loop
		for _, b := range serverFrame(ws.OpText, true, []byte("slow"), false) {
			_, _ = sc.Write([]byte{b})
			time.Sleep(time.Millisecond)
		}
		wantMsg(t, rec, "t:slow")
		_, _ = sc.Write(serverFrame(ws.OpText, true, big, false))
		wantMsg(t, rec, "t:"+string(big))
		frag := serverFrame(ws.OpText, false, []byte("he"), false)
		frag = append(frag, serverFrame(ws.OpPong, true, nil, false)...) // a control frame between fragments
		frag = append(frag, serverFrame(ws.OpContinuation, false, []byte("ll"), false)...)
		frag = append(frag, serverFrame(ws.OpContinuation, true, []byte("o"), false)...)
		_, _ = sc.Write(frag)
		wantMsg(t, rec, "t:hello")
	})
}

func TestWirePingCloseAndEOF(t *testing.T) {
	wireModes(t, func(t *testing.T, epoll bool) {
		_, rec, sc := wirePair(t, epoll, nil)
		_, _ = sc.Write(serverFrame(ws.OpPing, true, []byte("p1"), false))
		if op, p := readClientFrame(t, sc); op != ws.OpPong || string(p) != "p1" {
			t.Fatalf("answer to ping: op %v %q, want pong \"p1\"", op, p)
		}
		_, _ = sc.Write(serverFrame(ws.OpClose, true, append(binary.BigEndian.AppendUint16(nil, 4001), "bye"...), false))
		var ce *websocket.CloseError
		if err := wantEnd(t, rec); !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "bye" {
			t.Fatalf("end %v, want close 4001 \"bye\"", err)
		}
		if op, p := readClientFrame(t, sc); op != ws.OpClose || binary.BigEndian.Uint16(p) != 4001 {
			t.Fatalf("answer to close: op %v %v, want close 4001 echoed", op, p)
		}
	})
	wireModes(t, func(t *testing.T, epoll bool) {
		_, rec, sc := wirePair(t, epoll, nil)
		_ = sc.Close()
		var ce *websocket.CloseError
		if err := wantEnd(t, rec); !errors.As(err, &ce) || ce.Code != websocket.CloseAbnormalClosure {
			t.Fatalf("end %v, want 1006 (closed without a close frame)", err)
		}
	})
}

func TestWireRefusesWhatAServerMustNotSend(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		code  int
	}{
		{"masked", serverFrame(ws.OpText, true, []byte("{}"), true), 1002},
		{"reserved bits", func() []byte { b := serverFrame(ws.OpText, true, []byte("{}"), false); b[0] |= 0x40; return b }(), 1002},
		{"reserved opcode", serverFrame(ws.OpCode(3), true, nil, false), 1002},
		{"fragmented control", serverFrame(ws.OpPing, false, nil, false), 1002},
		{"continuation with nothing open", serverFrame(ws.OpContinuation, true, []byte("x"), false), 1002},
		{"over maxFrame", serverFrame(ws.OpText, true, make([]byte, maxFrame+1), false), 1009},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wireModes(t, func(t *testing.T, epoll bool) {
				_, rec, sc := wirePair(t, epoll, nil)
				go func() { _, _ = sc.Write(tc.frame) }()
				err := wantEnd(t, rec)
				e := classify(t.Context(), PhaseAgentExecution, err)
				if pe, ok := err.(*Error); ok {
					e = pe
				}
				if e.Kind != FailProtocol {
					t.Fatalf("end %v, classified %s; want %s", err, e.Kind, FailProtocol)
				}
				if op, p := readClientFrame(t, sc); op != ws.OpClose || int(binary.BigEndian.Uint16(p)) != tc.code {
					t.Fatalf("client sent op %v %v, want close %d", op, p, tc.code)
				}
			})
		})
	}
}

func TestWireWriteMasksAndFramesLengths(t *testing.T) {
	wireModes(t, func(t *testing.T, epoll bool) {
		c, _, sc := wirePair(t, epoll, nil)
		for _, n := range []int{0, 125, 126, 65535, 65536} {
			p := bytes.Repeat([]byte{'y'}, n)
			c.mu.Lock()
			err := c.write(ws.OpText, p)
			c.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if op, got := readClientFrame(t, sc); op != ws.OpText || !bytes.Equal(got, p) {
				t.Fatalf("%d bytes: read op %v, %d bytes", n, op, len(got))
			}
		}
	})
}
