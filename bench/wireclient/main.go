//go:build linux

// Command wireclient is the second yardstick of scripts/bench-latency.sh:
// the most direct Go client of PROTOCOL v1 (../shared/PROTOCOL.md) one
// would write by hand to time the wire, with no HTTP or WebSocket library
// between the socket and the clock. A goroutine per user holds its own
// kept-alive connection for the login (the request written by hand, the
// reply read by net/http's ReadResponse) and, for each minimal journey,
// dials the WebSocket and writes the upgrade by hand the moment its connect
// returns (dialWriting), reads the 101, then
// reads frames by hand (RFC 6455 headers, masked writes). It judges
// nothing, keeps no histogram and prints, like bench/plainclient:
//
//	journeys N failed F seconds S cpu_us_per_journey C ws_ready_seen R median_ms PHASE MS ... read_median_ms PHASE MS ...
//
// Every reply and frame is timed by two clocks. median_ms: when its last
// byte arrived, as the kernel noted it (SO_TIMESTAMPNS, the receive time
// a packet capture on loopback would show), whatever the client was
// doing. read_median_ms: when the socket read that completed it returned,
// which is what a client that reads the clock after each read sees; the
// difference is the client's own delay in getting to its bytes.
//
// bench/plainclient (net/http, gorilla/websocket) is what a user would
// write; this one is what a user would write to time the wire: between
// the two lies what a client's own machinery adds to every reading. It is
// not part of goldenpath and imports nothing of it.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// client is one user's connections.
type client struct {
	host, base string
	addr       *net.TCPAddr // host resolved once, nil when it is not IPv4 (dialWriting)
	api        *timedConn   // kept-alive for the API
	apiR       *bufio.Reader
	pool       *apiPool // when the users share their API connections
}

// apiPool is the users' kept-alive API connections, shared, the last put
// back taken first: -shared-api, the way goldenpath keeps its own.
type apiPool struct {
	mu   sync.Mutex
	idle []*client // a client holding only its api and apiR
}

func (p *apiPool) take() *client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return c
	}
	return &client{}
}

func (p *apiPool) put(c *client) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// call sends one JSON request on the user's kept-alive connection (or
// one of the shared ones) and decodes a reply of status want into out;
// it returns the reply's times.
func (c *client) call(method, path, token string, body any, want int, out any) (stamp, error) {
	conn := c
	if c.pool != nil {
		conn = c.pool.take()
		conn.host, conn.base = c.host, c.base
		defer func() {
			if conn.api != nil {
				c.pool.put(conn)
			}
		}()
	}
	return conn.callOn(method, path, token, body, want, out)
}

func (c *client) callOn(method, path, token string, body any, want int, out any) (stamp, error) {
	if c.api == nil {
		nc, err := net.Dial("tcp", c.host)
		if err != nil {
			return stamp{}, err
		}
		if c.api, err = newTimedConn(nc); err != nil {
			nc.Close()
			return stamp{}, err
		}
		c.apiR = bufio.NewReader(c.api)
	}
	b, _ := json.Marshal(body)
	req := method + " " + c.base + path + " HTTP/1.1\r\nHost: " + c.host + "\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(b)) + "\r\n"
	if token != "" {
		req += "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := c.api.Write(append([]byte(req+"\r\n"), b...)); err != nil {
		c.drop()
		return stamp{}, err
	}
	resp, err := http.ReadResponse(c.apiR, nil)
	if err != nil {
		c.drop()
		return stamp{}, err
	}
	rb, err := io.ReadAll(resp.Body)
	at := c.api.stamp()
	if err != nil || resp.Close {
		c.drop()
	}
	if err != nil {
		return at, err
	}
	if resp.StatusCode != want {
		return at, fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out != nil {
		return at, json.Unmarshal(rb, out)
	}
	return at, nil
}

func (c *client) drop() {
	if c.api != nil {
		c.api.Close()
		c.api = nil
	}
}

// wsConn is one WebSocket, read by hand: each frame by reads of exactly
// its length, so that its stamp is that of the segment its last byte came
// in, not of a later one read with it.
type wsConn struct {
	tc *timedConn
}

// dial opens the WebSocket with token; it returns when the 101 is read.
func (c *client) dial(token string) (*wsConn, error) {
	var k [16]byte
	_, _ = rand.Read(k[:])
	req := "GET " + c.base + "/ws HTTP/1.1\r\nHost: " + c.host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
		base64.StdEncoding.EncodeToString(k[:]) + "\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer " + token + "\r\n\r\n"
	nc, err := dialWriting(c.addr, c.host, []byte(req))
	if err != nil {
		return nil, err
	}
	tc, err := newTimedConn(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	head, err := tc.readHead()
	if err != nil {
		nc.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, fmt.Errorf("upgrade: %v %v", resp, err)
	}
	return &wsConn{tc: tc}, nil
}

// dialWriting connects to addr (host resolved) and writes req
// the moment the connect returns: a blocking connect(2) on this
// goroutine's thread (on loopback the handshake completes within it), the
// write, and only then the socket handed to Go's netpoller. net.Dial
// parks the goroutine until the netpoller reports the connect done; that
// put this client's upgrade about 44 us after its SYN later than
// goldenpath's, which writes at once (bench/wiretap's ws_dial), so that
// the two clients did not ask the server the same thing at the same
// moments. Without an IPv4 addr, host goes through net.Dial.
func dialWriting(addr *net.TCPAddr, host string, req []byte) (net.Conn, error) {
	if addr == nil {
		nc, err := net.Dial("tcp", host)
		if err == nil {
			_, err = nc.Write(req)
		}
		return nc, err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	sa := &syscall.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	if err := syscall.Connect(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: os.NewSyscallError("connect", err)}
	}
	for b := req; len(b) > 0; {
		n, err := syscall.Write(fd, b)
		if err != nil {
			syscall.Close(fd)
			return nil, os.NewSyscallError("write", err)
		}
		b = b[n:]
	}
	f := os.NewFile(uintptr(fd), "ws")
	defer f.Close()
	return net.FileConn(f) // a duplicate of fd, non-blocking, in Go's netpoller
}

// readHead reads an HTTP head and not a byte more (the server's frames
// follow the 101 at once): it peeks, then reads exactly to the blank line.
func (c *timedConn) readHead() ([]byte, error) {
	var head []byte
	buf := make([]byte, 4096)
	for len(head) < 64<<10 {
		n, err := c.peek(buf)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, io.ErrUnexpectedEOF
		}
		seen := append(head, buf[:n]...)
		take := n
		if i := bytes.Index(seen, []byte("\r\n\r\n")); i >= 0 {
			take = i + 4 - len(head)
		}
		if _, err := io.ReadFull(c, buf[:take]); err != nil {
			return nil, err
		}
		head = append(head, buf[:take]...)
		if bytes.HasSuffix(head, []byte("\r\n\r\n")) {
			return head, nil
		}
	}
	return nil, errors.New("an HTTP head over 64 KiB")
}

// read reads one whole frame and the times of the read that completed it.
func (w *wsConn) read() (op byte, payload []byte, at stamp, err error) {
	var h [2]byte
	if _, err = io.ReadFull(w.tc, h[:]); err != nil {
		return
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		_, err = io.ReadFull(w.tc, e[:])
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		_, err = io.ReadFull(w.tc, e[:])
		n = binary.BigEndian.Uint64(e[:])
	}
	if err != nil {
		return
	}
	if h[1]&0x80 != 0 || n > 1<<20 {
		return 0, nil, at, errors.New("a masked or oversized frame")
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(w.tc, payload)
	return h[0] & 0x0f, payload, w.tc.stamp(), err
}

// write sends one masked frame.
func (w *wsConn) write(op byte, payload []byte) error {
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var m [4]byte
	_, _ = rand.Read(m[:])
	b = append(b, m[:]...)
	for i, c := range payload {
		b = append(b, c^m[i%4])
	}
	_, err := w.tc.Write(b)
	return err
}

// journeysOut, when -journeys asks, gets a line per journey: "wire",
// its WebSocket's local port and its ws_ready in us ("-" unseen).
var (
	journeysOut io.Writer
	journeysMu  sync.Mutex
)

var phases = []string{"login", "ws_connect", "ws_ready", "ws_handshake", "first_event", "answer", "journey"}

// stamp is when the bytes that completed something arrived and when the
// read that got them returned.
type stamp struct{ arrived, read time.Time }

func (c *timedConn) stamp() stamp { return stamp{c.arrived, c.last} }

// timings are one clock's readings by phase, in milliseconds.
type timings map[string][]float64

// clocks are a user's readings by both clocks.
type clocks struct{ arrived, read timings }

func newClocks() clocks { return clocks{timings{}, timings{}} }

// add records phase from `from` (a send or dial, taken before it) to the
// arrival and the read of to.
func (c clocks) add(phase string, from time.Time, to stamp) {
	c.arrived[phase] = append(c.arrived[phase], float64(to.arrived.Sub(from))/float64(time.Millisecond))
	c.read[phase] = append(c.read[phase], float64(to.read.Sub(from))/float64(time.Millisecond))
}

// between records phase from one reply or frame to another, by each clock.
func (c clocks) between(phase string, from, to stamp) {
	c.arrived[phase] = append(c.arrived[phase], float64(to.arrived.Sub(from.arrived))/float64(time.Millisecond))
	c.read[phase] = append(c.read[phase], float64(to.read.Sub(from.read))/float64(time.Millisecond))
}

// journey is one minimal journey: log in, open the WebSocket, wait for
// connection_established, ask once, read until agent_completed, close.
func journey(c *client, email, password string, n int, t clocks) bool {
	begin := time.Now()
	var lr struct {
		AccessToken string `json:"access_token"`
	}
	loggedIn, err := c.call(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, http.StatusOK, &lr)
	if err != nil {
		return false
	}
	mine := newClocks()
	mine.add("login", begin, loggedIn)
	dialed := time.Now()
	ws, err := c.dial(lr.AccessToken)
	if err != nil {
		return false
	}
	upgraded := ws.tc.stamp()
	mine.add("ws_connect", dialed, upgraded)
	defer ws.tc.Close()
	_ = ws.tc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var f struct {
		Type string `json:"type"`
		Data struct {
			MessageID string `json:"message_id"`
		} `json:"data"`
	}
	_, p, at, err := ws.read()
	if err != nil || json.Unmarshal(p, &f) != nil || f.Type != "connection_established" {
		return false
	}
	// A frame that came in the 101's segment, or merged with it by the
	// kernel before it was read, has the 101's arrival time: the split is
	// unseen, and goldenpath records no ws_ready either.
	if at.arrived.After(upgraded.arrived) {
		mine.between("ws_ready", upgraded, at)
	} else {
		mine.read["ws_ready"] = append(mine.read["ws_ready"], float64(at.read.Sub(upgraded.read))/float64(time.Millisecond))
	}
	mine.add("ws_handshake", dialed, at)
	id := email + "-" + strconv.Itoa(n)
	msg, _ := json.Marshal(map[string]any{"type": "user_message", "payload": map[string]any{"message_id": id, "content": "wire question " + id}})
	sent := time.Now()
	if err := ws.write(1, msg); err != nil {
		return false
	}
	for done := false; !done; {
		op, p, at, err := ws.read()
		if err != nil || op == 8 {
			return false
		}
		f.Type, f.Data.MessageID = "", ""
		if op != 1 || json.Unmarshal(p, &f) != nil || f.Data.MessageID != id {
			continue
		}
		switch f.Type {
		case "agent_started":
			mine.add("first_event", sent, at)
		case "agent_completed":
			done = true
			mine.add("answer", sent, at)
			mine.add("journey", begin, at)
		case "agent_error":
			return false
		}
	}
	// close 1000, then read until the server's close, at most a second
	_ = ws.write(8, []byte{0x03, 0xe8})
	_ = ws.tc.SetReadDeadline(time.Now().Add(time.Second))
	for {
		if op, _, _, err := ws.read(); err != nil || op == 8 {
			break
		}
	}
	if journeysOut != nil {
		ready := "-" // unseen
		if v := mine.arrived["ws_ready"]; len(v) > 0 {
			ready = strconv.FormatFloat(v[0]*1000, 'f', 3, 64)
		}
		journeysMu.Lock()
		fmt.Fprintf(journeysOut, "wire %d %s\n", ws.tc.LocalAddr().(*net.TCPAddr).Port, ready)
		journeysMu.Unlock()
	}
	for k, v := range mine.arrived {
		t.arrived[k] = append(t.arrived[k], v...)
	}
	for k, v := range mine.read {
		t.read[k] = append(t.read[k], v...)
	}
	return true
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	target := flag.String("target", "http://127.0.0.1:8080", "base URL of a PROTOCOL v1 server (plain http)")
	users := flag.Int("users", 25, "concurrent users")
	duration := flag.Duration("duration", 10*time.Second, "how long the load runs")
	journeysFile := flag.String("journeys", "", "also write each journey's WebSocket local port and ws_ready (us, - when unseen) to this file")
	shared := flag.Bool("shared-api", false, "the users share their kept-alive API connections, the last put back taken first, as goldenpath keeps its own (else one each)")
	flag.Parse()
	if *journeysFile != "" {
		f, err := os.Create(*journeysFile)
		if err != nil {
			log.Fatal(err)
		}
		w := bufio.NewWriter(f)
		defer func() { _ = w.Flush(); _ = f.Close() }()
		journeysOut = w
	}
	var pool *apiPool
	if *shared {
		pool = new(apiPool)
	}
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		log.Fatalf("-target %q: want http://host:port", *target)
	}
	base := string(bytes.TrimRight([]byte(u.EscapedPath()), "/"))
	addr, err := net.ResolveTCPAddr("tcp", u.Host)
	if err != nil || addr.IP.To4() == nil {
		addr = nil // dialWriting leaves it to net.Dial
	}
	tag := time.Now().UnixNano()
	clients := make([]*client, *users)
	emails := make([]string, *users)
	const password = "wire-password-1"
	for i := range clients {
		clients[i] = &client{host: u.Host, addr: addr, base: base, pool: pool}
		emails[i] = fmt.Sprintf("wire-%x-%d@example.test", tag, i)
		if _, err := clients[i].call(http.MethodPost, "/api/v1/auth/register", "", map[string]string{"email": emails[i], "password": password}, http.StatusCreated, nil); err != nil {
			log.Fatalf("register %s: %v", emails[i], err)
		}
	}
	var ok, failed atomic.Int64
	start, cpu0 := time.Now(), cpu()
	deadline := start.Add(*duration)
	per := make([]clocks, len(clients))
	var wg sync.WaitGroup
	for i := range clients {
		per[i] = newClocks()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				if journey(clients[i], emails[i], password, n, per[i]) {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took, used := time.Since(start), cpu()-cpu0
	n := ok.Load() + failed.Load()
	all := newClocks()
	for _, t := range per {
		for k, v := range t.arrived {
			all.arrived[k] = append(all.arrived[k], v...)
		}
		for k, v := range t.read {
			all.read[k] = append(all.read[k], v...)
		}
	}
	fmt.Printf("journeys %d failed %d seconds %.1f cpu_us_per_journey %.1f ws_ready_seen %d", n, failed.Load(), took.Seconds(), float64(used.Microseconds())/float64(max(n, 1)), len(all.arrived["ws_ready"]))
	for _, clock := range []struct {
		name string
		t    timings
	}{{"median_ms", all.arrived}, {"read_median_ms", all.read}} {
		fmt.Printf(" %s", clock.name)
		for _, ph := range phases {
			fmt.Printf(" %s %.3f", ph, median(clock.t[ph]))
		}
	}
	fmt.Println()
}
