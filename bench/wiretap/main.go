//go:build linux

// Command wiretap is the wire-level reference of scripts/bench-latency.sh:
// it times PROTOCOL v1's phases (../shared/PROTOCOL.md) from the packets
// themselves, for every client at once, with no client's clock involved.
//
// It captures the loopback traffic to and from one TCP port (an AF_PACKET
// socket on lo, as tcpdump does; root or CAP_NET_RAW), keeps the copy of
// each segment that the receiving socket gets, stamped with the kernel's
// receive time (SO_TIMESTAMPNS: the clock a socket's own receive times
// come from, taken per segment, before the receive queue merges segments
// a late reader finds together), reassembles each connection's two byte
// streams and reads the HTTP requests and replies and the WebSocket
// frames in them. A reply or frame is stamped with the segment that
// carried its last byte, a request with the one that carried its first;
// a WebSocket connection starts with its SYN. Phases, as the clients
// name them:
//
//	login        the login request's first byte to its reply's last
//	ws_connect   the (first) SYN to the 101's last byte
//	ws_ready     the 101 to connection_established
//	ws_handshake the SYN to connection_established
//	first_event  user_message to agent_started
//	answer       user_message to agent_completed
//	journey      the login request to agent_completed
//
// and two that split ws_connect, which no client times: ws_dial, the SYN to
// the upgrade request's first byte (the client's own time: its handshake's
// end, and whatever it does before it writes), and ws_upgrade, the upgrade
// request to the 101 (the server's).
//
// Connections are told apart by client: the login's email up to its first
// '-' (goldenpath's accounts, bench/plainclient's "plain-...",
// bench/wireclient's "wire-..."), a WebSocket by the bearer token its
// upgrade carries, which the login's reply gave. It prints, once
// -duration has passed or at SIGINT/SIGTERM, a line per client:
//
//	client C journeys N median_ms PHASE MS ...
//
// and a last line with the segments read and the kernel's drops (a drop
// or a gap in a stream leaves that connection out). It is not part of
// goldenpath and imports nothing of it.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/goldenpath-dev/goldenpath/bench/internal/loopcap"
)

var phases = []string{"login", "ws_connect", "ws_ready", "ws_handshake", "first_event", "answer", "journey", "ws_dial", "ws_upgrade"}

// seg is where a segment's bytes end in their stream and when it arrived.
type seg struct {
	end int64
	at  time.Time
}

// stream is one direction of a connection: the bytes not yet read as
// messages, from stream offset base, and the segments that brought them.
type stream struct {
	isn  uint32
	base int64 // stream offset of buf[0]
	buf  []byte
	segs []seg
}

// add takes a segment's payload at sequence number sq; false on a gap
// (a segment the capture missed).
func (s *stream) add(sq uint32, p []byte, at time.Time) bool {
	off := int64(sq - s.isn - 1) // 32-bit wrap is taken care of by the subtraction
	end := s.base + int64(len(s.buf))
	if off > end {
		return false
	}
	if off+int64(len(p)) <= end {
		return true // a retransmission of what we have
	}
	p = p[end-off:]
	s.buf = append(s.buf, p...)
	s.segs = append(s.segs, seg{end: end + int64(len(p)), at: at})
	return true
}

// stampOf is the arrival of the segment that carried stream offset o.
func (s *stream) stampOf(o int64) time.Time {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].end > o })
	if i == len(s.segs) {
		return time.Time{}
	}
	return s.segs[i].at
}

// consume drops n bytes read as a message, and the segments wholly in them.
func (s *stream) consume(n int) {
	s.buf = s.buf[n:]
	s.base += int64(n)
	i := 0
	for i < len(s.segs) && s.segs[i].end <= s.base {
		i++
	}
	s.segs = s.segs[i:]
}

// conn is one TCP connection to the server.
type conn struct {
	port     uint16 // the client's
	c2s, s2c stream
	syn      time.Time
	broken   bool
	ws       bool // upgraded: frames follow
	upgrade  bool // an upgrade was asked for
	// requests waiting for their replies, in order
	pending []request
	// a WebSocket's
	token    string
	asked    time.Time // the upgrade request's first byte
	upgraded time.Time
	ready    time.Time
	sent     map[string]time.Time
	started  map[string]time.Time
}

type request struct {
	login bool
	email string
	at    time.Time
}

// login is one login's start, by the token its reply gave.
type login struct {
	client string
	at     time.Time
	dur    time.Duration
}

type tap struct {
	port    uint16
	conns   map[uint16]*conn // by client port
	tokens  map[string]login
	results map[string]map[string][]float64 // client -> phase -> ms
	done    map[string]int
	lost    int
	segs    int
	// each journey's WebSocket, when -conns asks: the client, its port,
	// its ws_ready in microseconds and whether the 101 and
	// connection_established came in one segment
	journeysOut io.Writer
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (t *tap) record(client, phase string, d time.Duration) {
	if t.results[client] == nil {
		t.results[client] = map[string][]float64{}
	}
	t.results[client][phase] = append(t.results[client][phase], ms(d))
}

// packet takes one IPv4 packet received at at.
func (t *tap) packet(b []byte, at time.Time) {
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != syscall.IPPROTO_TCP {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if total > len(b) || ihl+20 > total {
		return
	}
	tcp := b[ihl:total]
	sport, dport := binary.BigEndian.Uint16(tcp[0:]), binary.BigEndian.Uint16(tcp[2:])
	sq := binary.BigEndian.Uint32(tcp[4:])
	doff := int(tcp[12]>>4) * 4
	flags := tcp[13]
	if doff < 20 || doff > len(tcp) {
		return
	}
	payload := tcp[doff:]
	const fFIN, fSYN, fRST = 0x01, 0x02, 0x04
	t.segs++
	switch {
	case dport == t.port: // the client's
		if flags&fSYN != 0 {
			if c := t.conns[sport]; c != nil && c.c2s.isn == sq && c.c2s.base == 0 && len(c.c2s.buf) == 0 {
				return // the same SYN again (the first was dropped): the connection began with the first
			}
			t.conns[sport] = &conn{port: sport, syn: at, c2s: stream{isn: sq}, sent: map[string]time.Time{}, started: map[string]time.Time{}}
			return
		}
		c := t.conns[sport]
		if c != nil && flags&(fFIN|fRST) != 0 {
			defer delete(t.conns, sport) // its journey, if any, is recorded: the server spoke last
		}
		if c == nil || c.broken || len(payload) == 0 {
			return
		}
		if !c.c2s.add(sq, payload, at) {
			t.broke(c)
			return
		}
		t.fromClient(c)
	case sport == t.port: // the server's
		c := t.conns[dport]
		if c == nil || c.broken {
			return
		}
		if flags&fSYN != 0 {
			c.s2c.isn = sq
			return
		}
		if flags&fRST != 0 || len(payload) == 0 {
			return
		}
		if !c.s2c.add(sq, payload, at) {
			t.broke(c)
			return
		}
		t.fromServer(c)
	}
}

// broke leaves c out: the capture missed some of its bytes, or they are
// not the protocol.
func (t *tap) broke(c *conn) {
	c.broken = true
	t.lost++
	c.c2s.buf, c.s2c.buf, c.c2s.segs, c.s2c.segs = nil, nil, nil, nil
}

// fromClient reads the client's requests and frames.
func (t *tap) fromClient(c *conn) {
	s := &c.c2s
	for len(s.buf) > 0 {
		if c.ws {
			n, op, payload := frame(s.buf)
			if n == 0 {
				return
			}
			if op == 1 {
				var m struct {
					Type    string `json:"type"`
					Payload struct {
						MessageID string `json:"message_id"`
					} `json:"payload"`
				}
				if json.Unmarshal(payload, &m) == nil && m.Type == "user_message" {
					c.sent[m.Payload.MessageID] = s.stampOf(s.base)
				}
			}
			s.consume(n)
			continue
		}
		req, n, err := readRequest(s.buf)
		if err != nil {
			t.broke(c) // not HTTP we can read: nothing more of it will be
			return
		}
		if n == 0 {
			return
		}
		r := request{at: s.stampOf(s.base)}
		switch {
		case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/auth/login"):
			var body struct {
				Email string `json:"email"`
			}
			b, _ := io.ReadAll(req.Body)
			_ = json.Unmarshal(b, &body)
			r.login, r.email = true, body.Email
		case strings.EqualFold(req.Header.Get("Upgrade"), "websocket"):
			c.upgrade, c.asked = true, r.at
			c.token = strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
		}
		c.pending = append(c.pending, r)
		s.consume(n)
	}
}

// fromServer reads the server's replies and frames.
func (t *tap) fromServer(c *conn) {
	s := &c.s2c
	for len(s.buf) > 0 {
		if c.ws {
			n, op, payload := frame(s.buf)
			if n == 0 {
				return
			}
			if op == 1 {
				t.event(c, payload, s.stampOf(s.base+int64(n)-1))
			}
			s.consume(n)
			continue
		}
		resp, n, err := readResponse(s.buf)
		if err != nil || (n > 0 && len(c.pending) == 0) {
			t.broke(c) // not HTTP we can read, or a reply to no request
			return
		}
		if n == 0 {
			return
		}
		at := s.stampOf(s.base + int64(n) - 1)
		r := c.pending[0]
		c.pending = c.pending[1:]
		s.consume(n)
		switch {
		case r.login && resp.StatusCode == http.StatusOK:
			var lr struct {
				AccessToken string `json:"access_token"`
			}
			if json.Unmarshal(resp.body, &lr) == nil && lr.AccessToken != "" {
				client, _, _ := strings.Cut(r.email, "-")
				t.tokens[lr.AccessToken] = login{client: client, at: r.at, dur: at.Sub(r.at)}
			}
		case c.upgrade && resp.StatusCode == http.StatusSwitchingProtocols:
			c.ws, c.upgraded = true, at
		}
	}
}

// event is one frame from the server on a WebSocket.
func (t *tap) event(c *conn, payload []byte, at time.Time) {
	var f struct {
		Type string `json:"type"`
		Data struct {
			MessageID string `json:"message_id"`
		} `json:"data"`
	}
	if json.Unmarshal(payload, &f) != nil {
		return
	}
	switch f.Type {
	case "connection_established":
		c.ready = at
	case "agent_started":
		if _, ok := c.started[f.Data.MessageID]; !ok {
			c.started[f.Data.MessageID] = at
		}
	case "agent_completed":
		sent, ok := c.sent[f.Data.MessageID]
		started, ok2 := c.started[f.Data.MessageID]
		l, ok3 := t.tokens[c.token]
		if !ok || !ok2 || !ok3 || c.ready.IsZero() {
			return
		}
		delete(c.sent, f.Data.MessageID)
		t.record(l.client, "login", l.dur)
		t.record(l.client, "ws_connect", c.upgraded.Sub(c.syn))
		t.record(l.client, "ws_ready", c.ready.Sub(c.upgraded))
		t.record(l.client, "ws_handshake", c.ready.Sub(c.syn))
		t.record(l.client, "first_event", started.Sub(sent))
		t.record(l.client, "answer", at.Sub(sent))
		t.record(l.client, "journey", at.Sub(l.at))
		t.record(l.client, "ws_dial", c.asked.Sub(c.syn))
		t.record(l.client, "ws_upgrade", c.upgraded.Sub(c.asked))
		t.done[l.client]++
		if t.journeysOut != nil {
			fmt.Fprintf(t.journeysOut, "%s %d %.3f %t\n", l.client, c.port, float64(c.ready.Sub(c.upgraded))/float64(time.Microsecond), c.ready.Equal(c.upgraded))
		}
	}
}

// frame parses a whole WebSocket frame at the start of b: its length (0:
// not whole yet), opcode and unmasked payload.
func frame(b []byte) (n int, op byte, payload []byte) {
	if len(b) < 2 {
		return 0, 0, nil
	}
	hl, plen := 2, int(b[1]&0x7f)
	switch plen {
	case 126:
		if len(b) < 4 {
			return 0, 0, nil
		}
		plen, hl = int(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, 0, nil
		}
		plen, hl = int(binary.BigEndian.Uint64(b[2:])), 10
	}
	masked := b[1]&0x80 != 0
	if masked {
		hl += 4
	}
	if plen < 0 || len(b) < hl+plen {
		return 0, 0, nil
	}
	payload = b[hl : hl+plen]
	if masked {
		payload = slices.Clone(payload)
		key := b[hl-4 : hl]
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return hl + plen, b[0] & 0x0f, payload
}

// readRequest parses a whole HTTP request at the start of b; n is 0 when
// it is not whole yet.
func readRequest(b []byte) (*http.Request, int, error) {
	if !bytes.Contains(b, []byte("\r\n\r\n")) {
		return nil, 0, nil
	}
	cr := &countReader{r: bytes.NewReader(b)}
	br := bufio.NewReaderSize(cr, 16)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, 0, err
	}
	body, err := io.ReadAll(req.Body)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return req, cr.n - br.Buffered(), nil
}

type reply struct {
	StatusCode int
	body       []byte
}

// readResponse parses a whole HTTP reply at the start of b (a 101's has
// no body); n is 0 when it is not whole yet.
func readResponse(b []byte) (*reply, int, error) {
	if !bytes.Contains(b, []byte("\r\n\r\n")) {
		return nil, 0, nil
	}
	cr := &countReader{r: bytes.NewReader(b)}
	br := bufio.NewReaderSize(cr, 16)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, 0, err
	}
	var body []byte
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, err = io.ReadAll(resp.Body)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return &reply{StatusCode: resp.StatusCode, body: body}, cr.n - br.Buffered(), nil
}

// countReader counts what was read from it.
type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
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

func main() {
	target := flag.String("target", "", "base URL of the server whose port is watched (http://127.0.0.1:PORT)")
	duration := flag.Duration("duration", time.Minute, "how long to capture at most (SIGINT or SIGTERM ends it sooner)")
	connsOut := flag.String("conns", "", "also write each journey's WebSocket to this file: client, local port, ws_ready in us, and whether the 101 and connection_established came in one segment")
	flag.Parse()
	host, portS, err := net.SplitHostPort(strings.TrimPrefix(*target, "http://"))
	var port int
	if err == nil {
		_, err = fmt.Sscan(portS, &port)
	}
	if err != nil || (host != "127.0.0.1" && host != "localhost") || port <= 0 || port > 65535 {
		log.Fatalf("-target %q: want http://127.0.0.1:PORT (a loopback server)", *target)
	}
	fd, err := loopcap.Open(uint16(port))
	if err != nil {
		log.Fatal(err)
	}
	// a read that waits at most 100 ms, to see the end come
	tv := syscall.Timeval{Usec: 100_000}
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		log.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	fmt.Fprintln(os.Stderr, "wiretap: capturing")
	t := &tap{port: uint16(port), conns: map[uint16]*conn{}, tokens: map[string]login{},
		results: map[string]map[string][]float64{}, done: map[string]int{}}
	if *connsOut != "" {
		f, err := os.Create(*connsOut)
		if err != nil {
			log.Fatal(err)
		}
		w := bufio.NewWriter(f)
		defer func() { _ = w.Flush(); _ = f.Close() }()
		t.journeysOut = w
	}
	buf := make([]byte, 1<<16)
	oob := make([]byte, 64)
	deadline := time.Now().Add(*duration)
	for time.Now().Before(deadline) && len(stop) == 0 {
		n, oobn, _, _, err := syscall.Recvmsg(fd, buf, oob, 0)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		at := time.Now()
		msgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
				at = time.Unix(int64(binary.NativeEndian.Uint64(m.Data)), int64(binary.NativeEndian.Uint64(m.Data[8:])))
			}
		}
		t.packet(buf[:n], at)
	}
	clients := make([]string, 0, len(t.results))
	for c := range t.results {
		clients = append(clients, c)
	}
	slices.Sort(clients)
	for _, c := range clients {
		fmt.Printf("client %s journeys %d median_ms", c, t.done[c])
		for _, ph := range phases {
			fmt.Printf(" %s %.3f", ph, median(t.results[c][ph]))
		}
		fmt.Println()
	}
	fmt.Printf("segments %d dropped %d connections_left_out %d\n", t.segs, loopcap.Drops(fd), t.lost)
}
