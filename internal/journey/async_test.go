package journey

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// rawServer is a target written for these tests on a bare TCP listener:
// it logs anyone in, and answers the upgrade with one write of the 101
// and whatever frames after it says, then does what then says.
func rawServer(t *testing.T, after []byte, then func(net.Conn)) *Target {
	t.Helper()
	addr := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.URL.Path == protocol.PathLogin {
				body := `{"access_token":"t","token_type":"Bearer","expires_in":60,"user":{"id":"u_1","email":"a@b"}}`
				_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body))
				continue
			}
			sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
				base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
			_, _ = c.Write(append([]byte(resp), after...))
			then(c)
			return
		}
	})
	tgt, err := NewTarget("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	return tgt
}

// serveTCP listens on a free loopback port until the test ends and
// serves each connection on a goroutine; it returns the address.
func serveTCP(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

// established is a valid connection_established frame, as a server sends it.
func established() []byte {
	p := `{"type":"connection_established","seq":1,"timestamp":"` + time.Now().UTC().Format(time.RFC3339Nano) +
		`","data":{"connection_id":"c_1","user_id":"u_1","server_time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}}`
	return serverFrame(ws.OpText, true, []byte(p), false)
}

func closeFrame(code int) []byte {
	return serverFrame(ws.OpClose, true, binary.BigEndian.AppendUint16(nil, uint16(code)), false)
}

// hold keeps the connection open, reading, until the client goes.
func hold(c net.Conn) {
	buf := make([]byte, 1024)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

func TestRunStateMachineEnds(t *testing.T) {
	acct := Account{Email: "a@b", Password: "pw"}
	for _, tc := range []struct {
		name      string
		after     []byte
		then      func(net.Conn)
		cancel    time.Duration
		opts      Options
		kind      string
		phase     string
		closeCode int
		readied   bool // a ws_ready sample: connection_established was taken
	}{
		// The frame that came with the 101 is read before any other.
		{name: "established with the 101, then close 1011", after: append(established(), closeFrame(1011)...), then: hold,
			kind: FailClose, phase: PhaseFirstEvent, closeCode: 1011, readied: true},
		{name: "nothing after the 101", then: hold, opts: Options{RunTimeout: 200 * time.Millisecond},
			kind: FailTimeout, phase: PhaseWSReady},
		{name: "cancelled while waiting for connection_established", then: hold, cancel: 150 * time.Millisecond,
			kind: FailCancelled, phase: PhaseWSReady},
		{name: "established, then the request is never answered", after: established(), then: hold, opts: Options{RunTimeout: 300 * time.Millisecond},
			kind: FailTimeout, phase: PhaseFirstEvent, readied: true},
		{name: "established, then the connection drops", after: established(), then: func(c net.Conn) { _, _ = ws.ReadFrame(c) }, // reads the request, then goes: a FIN, not a reset
			kind: FailClose, phase: PhaseFirstEvent, closeCode: 1006, readied: true},
		{name: "a first frame that is not connection_established", after: serverFrame(ws.OpText, true, []byte(`{"type":"heartbeat","seq":1,"timestamp":"2026-01-01T00:00:00Z","data":{}}`), false), then: hold,
			kind: FailProtocol, phase: PhaseWSReady},
		{name: "a masked frame", after: serverFrame(ws.OpText, true, []byte(`{}`), true), then: hold,
			kind: FailProtocol, phase: PhaseWSReady},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tgt := rawServer(t, tc.after, tc.then)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			res := Run(ctx, tgt, acct, tc.opts)
			if res.Err == nil || res.Err.Kind != tc.kind || res.Err.Phase != tc.phase || res.Err.CloseCode != tc.closeCode {
				t.Fatalf("Err = %v; want %s in %s (close %d)", res.Err, tc.kind, tc.phase, tc.closeCode)
			}
			readied := res.ReadyUnseen // connection_established came with the 101
			for _, s := range res.Phases {
				readied = readied || s.Name == PhaseWSReady
			}
			if readied != tc.readied {
				t.Fatalf("ws_ready sampled: %v, want %v (phases %v)", readied, tc.readied, res.Phases)
			}
			if res.End.Before(res.Start) || res.End.IsZero() {
				t.Fatalf("Start %v End %v", res.Start, res.End)
			}
		})
	}
}

// TestStartCompletesEveryJourney starts journeys that end every way at
// once and wants each done called exactly once.
func TestStartCompletesEveryJourney(t *testing.T) {
	acct := Account{Email: "a@b", Password: "pw"}
	tgts := []*Target{
		rawServer(t, append(established(), closeFrame(1000)...), hold),
		rawServer(t, nil, hold),
		rawServer(t, established(), func(net.Conn) {}),
	}
	const each = 50
	done := make(chan *Result, 3*each)
	for _, tgt := range tgts {
		for range each {
			Start(context.Background(), tgt, acct, Options{RunTimeout: 300 * time.Millisecond}, func(r *Result) { done <- r })
		}
	}
	for i := range 3 * each {
		select {
		case r := <-done:
			if r.Err == nil {
				t.Fatalf("journey %d succeeded against a target that never answers", i)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d journeys completed in 10 s", i, 3*each)
		}
	}
	select {
	case r := <-done:
		t.Fatalf("a journey completed twice: %v", r.Err)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestRunOverTLS drives the state machine over wss://, where the socket
// keeps a reader goroutine: connection_established is taken, then the
// server's close 1011 ends the run.
func TestRunOverTLS(t *testing.T) {
	up := websocket.Upgrader{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == protocol.PathLogin {
			_, _ = w.Write([]byte(`{"access_token":"t","token_type":"Bearer","expires_in":60,"user":{"id":"u_1","email":"a@b"}}`))
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		f, _ := ws.ReadFrame(bytes.NewReader(established()))
		_ = c.WriteMessage(websocket.TextMessage, f.Payload)
		_, _, _ = c.ReadMessage() // the request
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1011, "boom"), time.Now().Add(time.Second))
		_, _, _ = c.ReadMessage()
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	tgt, err := NewTarget(srv.URL, WithTLSConfig(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	res := Run(context.Background(), tgt, Account{Email: "a@b", Password: "pw"}, Options{RunTimeout: 5 * time.Second})
	if res.Err == nil || res.Err.Kind != FailClose || res.Err.CloseCode != 1011 || res.Err.Phase != PhaseFirstEvent {
		t.Fatalf("Err = %v; want close 1011 in first_event", res.Err)
	}
	if res.Frames != 1 || res.Sent[frameIndex(protocol.MessageUser)] != 1 {
		t.Fatalf("frames %d, sent %v; want connection_established read and the request sent", res.Frames, res.Sent)
	}
}
