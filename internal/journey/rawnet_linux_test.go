//go:build linux

package journey

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// scripted is a target on a bare TCP listener whose replies the test
// writes: login answers each login (the request's number on its
// connection, from 1, and the connection's number) and may write them any
// way it likes; the upgrade is answered by upgrade, or as rawServer does.
type scripted struct {
	conns  atomic.Int32 // connections accepted
	logins atomic.Int32 // login requests read
	login  func(c net.Conn, onConn, conn int) bool
	up     func(c net.Conn, req *http.Request) // nil: a 101 and connection_established, then close 1011 at the request
}

const loginBody = `{"access_token":"t","token_type":"Bearer","expires_in":60,"user":{"id":"u_1","email":"a@b"}}`

func loginReply() string {
	return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(loginBody)) + "\r\n\r\n" + loginBody
}

func accept101(req *http.Request) string {
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
}

func (s *scripted) start(t *testing.T, opts ...TargetOption) *Target {
	t.Helper()
	addr := serveTCP(t, func(c net.Conn) { s.serve(c, int(s.conns.Add(1))) })
	tgt, err := NewTarget("http://"+addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if rawFor(tgt) == nil {
		t.Fatal("the target does not take the raw path")
	}
	return tgt
}

func (s *scripted) serve(c net.Conn, n int) {
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 1; ; i++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.URL.Path == protocol.PathLogin {
			_, _ = io.Copy(io.Discard, req.Body)
			s.logins.Add(1)
			if !s.login(c, i, n) {
				return
			}
			continue
		}
		if s.up != nil {
			s.up(c, req)
			return
		}
		_, _ = c.Write(append([]byte(accept101(req)), established()...))
		if _, err := ws.ReadFrame(br); err == nil { // the request
			_, _ = c.Write(closeFrame(1011))
		}
		hold(c)
		return
	}
}

// onlyHello is a journey that the scripted server ends at its request,
// with close 1011: it got through login, upgrade and connection_established.
var onlyHello = Options{RunTimeout: 2 * time.Second}

// throughHello reports whether r is a journey that the scripted server
// ended at its request.
func throughHello(r *Result) bool {
	return r.Err != nil && r.Err.Kind == FailClose && r.Err.CloseCode == 1011 && r.Err.Phase == PhaseFirstEvent
}

func runRaw(t *testing.T, tgt *Target, opts Options) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Run(ctx, tgt, Account{Email: "a@b", Password: "pw"}, opts)
}

func TestRawLoginKeptAlive(t *testing.T) {
	s := &scripted{login: func(c net.Conn, _, _ int) bool {
		_, err := c.Write([]byte(loginReply()))
		return err == nil
	}}
	tgt := s.start(t)
	for range 3 {
		if r := runRaw(t, tgt, onlyHello); !throughHello(r) {
			t.Fatalf("journey failed before its request: %v", r.Err)
		}
	}
	// Three logins on one kept-alive connection, three sockets.
	if s.logins.Load() != 3 || s.conns.Load() != 4 {
		t.Fatalf("%d logins on %d connections; want 3 on 4 (one for the logins, one socket each)", s.logins.Load(), s.conns.Load())
	}
}

func TestRawLoginReplies(t *testing.T) {
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(loginBody)), 16) + "\r\n" + loginBody + "\r\n0\r\n\r\n"
	for _, tc := range []struct {
		name   string
		login  func(c net.Conn, onConn, conn int) bool
		opts   []TargetOption
		kind   string
		status int
	}{
		{name: "a byte at a time", login: func(c net.Conn, _, _ int) bool {
			for _, b := range []byte(loginReply()) {
				if _, err := c.Write([]byte{b}); err != nil {
					return false
				}
				time.Sleep(100 * time.Microsecond)
			}
			return true
		}},
		{name: "chunked, in two writes", login: func(c net.Conn, _, _ int) bool {
			_, _ = c.Write([]byte(chunked[:len(chunked)-7]))
			time.Sleep(20 * time.Millisecond)
			_, err := c.Write([]byte(chunked[len(chunked)-7:]))
			return err == nil
		}},
		{name: "no length, the connection closed after the body", login: func(c net.Conn, _, _ int) bool {
			_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + loginBody))
			return false
		}},
		{name: "401 with the protocol's error", login: func(c net.Conn, _, _ int) bool {
			b := `{"error":{"code":"invalid_credentials","message":"no"}}`
			_, err := c.Write([]byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: " + strconv.Itoa(len(b)) + "\r\n\r\n" + b))
			return err == nil
		}, kind: FailHTTPStatus, status: 401},
		{name: "a reply that is not JSON", login: func(c net.Conn, _, _ int) bool {
			_, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"))
			return err == nil
		}, kind: FailProtocol},
		{name: "the connection closed before a reply", login: func(net.Conn, int, int) bool { return false }, kind: FailConnect},
		{name: "no reply within the request timeout", login: func(c net.Conn, _, _ int) bool {
			time.Sleep(time.Second)
			return false
		}, opts: []TargetOption{WithRequestTimeout(200 * time.Millisecond)}, kind: FailTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{login: tc.login}
			r := runRaw(t, s.start(t, tc.opts...), onlyHello)
			switch {
			case tc.kind == "" && !throughHello(r):
				t.Fatalf("journey failed before its request: %v", r.Err)
			case tc.kind == "":
			case r.Err == nil || r.Err.Kind != tc.kind || r.Err.Phase != PhaseLogin || r.Err.Status != tc.status:
				t.Fatalf("err %+v; want %s in %s, status %d", r.Err, tc.kind, PhaseLogin, tc.status)
			}
		})
	}
}

// A kept-alive connection the server closes as the next login is sent:
// the login goes again on a new connection, once.
func TestRawLoginRetriedOnAClosedIdleConnection(t *testing.T) {
	s := &scripted{login: func(c net.Conn, onConn, _ int) bool {
		if onConn == 2 {
			return false // read the request, closed without a reply
		}
		_, err := c.Write([]byte(loginReply()))
		return err == nil
	}}
	tgt := s.start(t)
	for i := range 2 {
		if r := runRaw(t, tgt, onlyHello); !throughHello(r) {
			t.Fatalf("journey %d failed before its request: %v", i+1, r.Err)
		}
	}
	if s.logins.Load() != 3 {
		t.Fatalf("%d login requests; want 3 (the second sent twice)", s.logins.Load())
	}
}

func TestRawUpgradeReplies(t *testing.T) {
	ok := func(c net.Conn, _, _ int) bool { _, err := c.Write([]byte(loginReply())); return err == nil }
	for _, tc := range []struct {
		name   string
		up     func(c net.Conn, req *http.Request)
		opts   Options
		kind   string
		status int
		msg    string
	}{
		{name: "refused with a reason", up: func(c net.Conn, _ *http.Request) {
			b := `{"error":{"code":"token_expired","message":"expired"}}`
			_, _ = c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: " + strconv.Itoa(len(b)) + "\r\n\r\n" + b))
		}, kind: FailHTTPStatus, status: 403, msg: "token_expired"},
		{name: "a wrong accept", up: func(c net.Conn, _ *http.Request) {
			_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n"))
			time.Sleep(100 * time.Millisecond)
		}, kind: FailConnect, msg: "Sec-WebSocket-Accept"},
		{name: "a subprotocol not offered", up: func(c net.Conn, req *http.Request) {
			r := strings.Replace(accept101(req), "\r\n\r\n", "\r\nSec-WebSocket-Protocol: other\r\n\r\n", 1)
			_, _ = c.Write([]byte(r))
			time.Sleep(100 * time.Millisecond)
		}, opts: Options{Subprotocol: true}, kind: FailProtocol, msg: "not offered"},
		{name: "no subprotocol selected when one was offered", up: func(c net.Conn, req *http.Request) {
			_, _ = c.Write([]byte(accept101(req)))
			time.Sleep(100 * time.Millisecond)
		}, opts: Options{Subprotocol: true}, kind: FailProtocol, msg: "want"},
		{name: "no reply within the handshake timeout", up: func(net.Conn, *http.Request) { time.Sleep(time.Second) },
			kind: FailTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{login: ok, up: tc.up}
			var topts []TargetOption
			if tc.kind == FailTimeout {
				topts = append(topts, WithRequestTimeout(200*time.Millisecond))
			}
			opts := onlyHello
			opts.Subprotocol = tc.opts.Subprotocol
			r := runRaw(t, s.start(t, topts...), opts)
			if r.Err == nil || r.Err.Kind != tc.kind || r.Err.Phase != PhaseWSConnect || r.Err.Status != tc.status ||
				!strings.Contains(r.Err.Message, tc.msg) {
				t.Fatalf("err %+v; want %s in %s, status %d, a message with %q", r.Err, tc.kind, PhaseWSConnect, tc.status, tc.msg)
			}
		})
	}
}

func TestRawRefusedAndCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	tgt, err := NewTarget("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	if r := runRaw(t, tgt, onlyHello); r.Err == nil || r.Err.Kind != FailConnect || r.Err.Phase != PhaseLogin ||
		!strings.Contains(r.Err.Message, "refused") {
		t.Fatalf("a closed port: err %+v; want connect refused in login", r.Err)
	}

	s := &scripted{login: func(net.Conn, int, int) bool { time.Sleep(time.Second); return false }}
	tgt = s.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if r := Run(ctx, tgt, Account{Email: "a@b", Password: "pw"}, onlyHello); r.Err == nil || r.Err.Kind != FailCancelled || r.Err.Phase != PhaseLogin {
		t.Fatalf("cancelled during the login: err %+v; want cancelled in login", r.Err)
	}

	// The second exchange is ended by the journey's one watch too, at
	// once, not at the handshake's deadline (30 s by default).
	s = &scripted{login: func(c net.Conn, _, _ int) bool { _, err := c.Write([]byte(loginReply())); return err == nil },
		up: func(net.Conn, *http.Request) { time.Sleep(2 * time.Second) }}
	tgt = s.start(t)
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	if r := Run(ctx, tgt, Account{Email: "a@b", Password: "pw"}, onlyHello); r.Err == nil || r.Err.Kind != FailCancelled || r.Err.Phase != PhaseWSConnect {
		t.Fatalf("cancelled during the upgrade: err %+v; want cancelled in ws_connect", r.Err)
	}
	if took := time.Since(began); took >= 2*time.Second {
		t.Fatalf("cancelled during the upgrade: ended after %s, when the server gave up; want at the cancellation", took)
	}
}

// A target whose login reply's token holds a line break gets no forged
// header: the journey fails before the upgrade is sent.
func TestRawForgedHeaderNotSent(t *testing.T) {
	var upgrades atomic.Int32
	s := &scripted{login: func(c net.Conn, _, _ int) bool {
		b := `{"access_token":"t\r\nX-Forged: 1","token_type":"Bearer","expires_in":60,"user":{"id":"u_1","email":"a@b"}}`
		_, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(b)) + "\r\n\r\n" + b))
		return err == nil
	}, up: func(net.Conn, *http.Request) { upgrades.Add(1) }}
	r := runRaw(t, s.start(t), onlyHello)
	if r.Err == nil || r.Err.Phase != PhaseWSConnect || upgrades.Load() != 0 {
		t.Fatalf("err %+v, %d upgrades; want a failure in ws_connect and none sent", r.Err, upgrades.Load())
	}
}

// A burst of journeys has at most the limit of exchanges under way; the
// rest wait their turn and all get through.
func TestRawExchangesBounded(t *testing.T) {
	var now, peak atomic.Int32
	s := &scripted{login: func(c net.Conn, _, _ int) bool {
		n := now.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		now.Add(-1)
		_, err := c.Write([]byte(loginReply()))
		return err == nil
	}}
	tgt := s.start(t)
	tgt.raw.limit = 3
	results := make(chan *Result, 12)
	for range 12 {
		go func() { results <- runRaw(t, tgt, onlyHello) }()
	}
	for range 12 {
		if r := <-results; !throughHello(r) {
			t.Fatalf("journey failed before its request: %v", r.Err)
		}
	}
	if peak.Load() > 3 || peak.Load() < 2 {
		t.Fatalf("%d logins at once; want at most the limit, 3 (and more than one)", peak.Load())
	}
}

// Options.LocalPort gives the journey's WebSocket's local port, the one
// the server saw its upgrade come from; without it, none.
func TestRawLocalPort(t *testing.T) {
	ports := make(chan int, 2)
	tgt := rawServer(t, append(established(), closeFrame(1011)...), func(c net.Conn) {
		ports <- c.RemoteAddr().(*net.TCPAddr).Port
		hold(c)
	})
	r := runRaw(t, tgt, Options{RunTimeout: 2 * time.Second, LocalPort: true})
	if want := <-ports; r.LocalPort != want {
		t.Fatalf("LocalPort %d; the server saw the upgrade come from port %d (journey: %v)", r.LocalPort, want, r.Err)
	}
	if r := runRaw(t, tgt, Options{RunTimeout: 2 * time.Second}); r.LocalPort != 0 {
		t.Fatalf("LocalPort %d without Options.LocalPort", r.LocalPort)
	}
	<-ports
}
