//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"
	"time"
)

// The tests feed (*tap).packet scripted IPv4 packets, as a SOCK_DGRAM
// packet socket gives them, and check every phase against the times fed.

const serverPort = 8080

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagACK = 0x10
)

var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// at is ms milliseconds after epoch.
func at(ms float64) time.Time {
	return epoch.Add(time.Duration(ms * float64(time.Millisecond)))
}

func newTap() *tap {
	return &tap{port: serverPort, conns: map[uint16]*conn{}, tokens: map[string]login{},
		results: map[string]map[string][]float64{}, done: map[string]int{}}
}

// segment is an IPv4 packet carrying one TCP segment from port src to port
// dst on loopback. The checksums are left zero: the tap does not check them.
func segment(src, dst uint16, sq, ack uint32, flags byte, payload []byte) []byte {
	b := make([]byte, 40+len(payload))
	b[0] = 4<<4 | 5 // version 4, IHL 5 words
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64 // TTL
	b[9] = 6  // TCP
	copy(b[12:], []byte{127, 0, 0, 1})
	copy(b[16:], []byte{127, 0, 0, 1})
	tcp := b[20:]
	binary.BigEndian.PutUint16(tcp[0:], src)
	binary.BigEndian.PutUint16(tcp[2:], dst)
	binary.BigEndian.PutUint32(tcp[4:], sq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = 5 << 4 // data offset 5 words
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 65535) // window
	copy(tcp[20:], payload)
	return b
}

// wsFrame is a final text frame carrying payload, masked with key unless
// key is nil.
func wsFrame(payload, key []byte) []byte {
	b := []byte{0x81}
	var m byte
	if key != nil {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, m|byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, m|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, m|127), uint64(n))
	}
	if key == nil {
		return append(b, payload...)
	}
	b = append(b, key...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

var maskKey = []byte{0x37, 0xfa, 0x21, 0x3d}

func loginRequest(email string) []byte {
	body := fmt.Sprintf(`{"email":%q,"password":"x"}`, email)
	return fmt.Appendf(nil, "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

func loginReply(token string) []byte {
	body := fmt.Sprintf(`{"access_token":%q,"token_type":"bearer"}`, token)
	return fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\n\r\n%s", len(body), body)
}

func upgradeRequest(token string) []byte {
	return []byte("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Authorization: Bearer " + token + "\r\n\r\n")
}

const switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

// event is a server frame of PROTOCOL v1's envelope, unmasked.
func event(typ string, seq int, data string) []byte {
	return wsFrame(fmt.Appendf(nil, `{"type":%q,"seq":%d,"timestamp":"2025-06-01T12:00:00Z","data":{%s}}`,
		typ, seq, data), nil)
}

func runEvent(typ string, seq int, id, more string) []byte {
	return event(typ, seq, fmt.Sprintf(`"run_id":"r_1","thread_id":"t_1","message_id":%q,%s`, id, more))
}

func userMessage(id string) []byte {
	return wsFrame(fmt.Appendf(nil, `{"type":"user_message","payload":{"message_id":%q,"content":"hi"}}`, id), maskKey)
}

// kind is what a step sends.
type kind int

const (
	sendData kind = iota // a segment: the step's new bytes, after back bytes sent before
	missData             // a segment the capture missed: its bytes take sequence numbers but never arrive
	open                 // the three-way handshake
	fin                  // the client's FIN
)

// step is one segment (or, for open, the handshake) of a script.
type step struct {
	name   string
	ms     float64 // after epoch
	port   uint16  // the client's port: which connection
	server bool    // sent by the server, else by the client
	kind   kind
	back   int       // the segment repeats this many bytes its sender sent before: a retransmission
	data   []byte    // new bytes
	isn    [2]uint32 // for open: the client's and the server's initial sequence numbers
}

// end is one end of a scripted connection: its initial sequence number and
// every byte it sent.
type end struct {
	isn  uint32
	sent []byte
}

// seq is the sequence number of the byte at stream offset off.
func (e *end) seq(off int) uint32 { return e.isn + 1 + uint32(off) }

// play feeds steps to tp in order and returns the packets it fed.
func play(tp *tap, steps []step) int {
	type link struct{ client, server end }
	links := map[uint16]*link{}
	n := 0
	feed := func(b []byte, ms float64) {
		tp.packet(b, at(ms))
		n++
	}
	for _, s := range steps {
		if s.kind == open {
			c, sv := s.isn[0], s.isn[1]
			links[s.port] = &link{client: end{isn: c}, server: end{isn: sv}}
			feed(segment(s.port, serverPort, c, 0, flagSYN, nil), s.ms)
			feed(segment(serverPort, s.port, sv, c+1, flagSYN|flagACK, nil), s.ms)
			feed(segment(s.port, serverPort, c+1, sv+1, flagACK, nil), s.ms)
			continue
		}
		l := links[s.port]
		from, to, src, dst := &l.client, &l.server, s.port, uint16(serverPort)
		if s.server {
			from, to, src, dst = to, from, dst, src
		}
		ack := to.seq(len(to.sent))
		switch s.kind {
		case fin:
			feed(segment(src, dst, from.seq(len(from.sent)), ack, flagFIN|flagACK, nil), s.ms)
		case sendData, missData:
			start := len(from.sent) - s.back
			from.sent = append(from.sent, s.data...)
			if s.kind == sendData {
				feed(segment(src, dst, from.seq(start), ack, flagACK, from.sent[start:]), s.ms)
			}
		}
	}
	return n
}

// journey is one client's scripted golden path: a login on connection
// api, then a WebSocket on connection ws. Its times are start + scale*T,
// with T the times in script.
type journey struct {
	email, token, messageID string
	api, ws                 uint16
	isn                     [2]uint32 // the client's and the server's, on both connections
	start, scale            float64
}

var gp = journey{email: "gp-abc-0@example.test", token: "tok1", messageID: "m1",
	api: 40001, ws: 40002, isn: [2]uint32{1000, 5000}, scale: 1}

// script is j's steps. The times the phases come from:
//
//	login request 1, its reply 11            login 10
//	SYN 20, upgrade 22, 101 25               ws_connect 5, ws_dial 2, ws_upgrade 3
//	connection_established 27                ws_ready 2, ws_handshake 7
//	user_message 30, agent_started 33        first_event 3
//	agent_completed 42                       answer 12, journey 41
func (j journey) script() []step {
	ms := func(t float64) float64 { return j.start + j.scale*t }
	id := j.messageID
	return []step{
		{name: "api open", ms: ms(0), port: j.api, kind: open, isn: j.isn},
		{name: "login request", ms: ms(1), port: j.api, data: loginRequest(j.email)},
		{name: "login reply", ms: ms(11), port: j.api, server: true, data: loginReply(j.token)},
		{name: "ws open", ms: ms(20), port: j.ws, kind: open, isn: j.isn},
		{name: "upgrade", ms: ms(22), port: j.ws, data: upgradeRequest(j.token)},
		{name: "101", ms: ms(25), port: j.ws, server: true, data: []byte(switching)},
		{name: "connection_established", ms: ms(27), port: j.ws, server: true,
			data: event("connection_established", 1, `"connection_id":"c_1","user_id":"u_1","server_time":"2025-06-01T12:00:00Z"`)},
		{name: "user_message", ms: ms(30), port: j.ws, data: userMessage(id)},
		{name: "agent_started", ms: ms(33), port: j.ws, server: true,
			data: runEvent("agent_started", 2, id, `"agent_name":"echo","agent_instance_id":"a_1"`)},
		{name: "agent_thinking", ms: ms(35), port: j.ws, server: true,
			data: runEvent("agent_thinking", 3, id, `"reasoning":"thinking about it"`)},
		{name: "agent_completed", ms: ms(42), port: j.ws, server: true,
			data: runEvent("agent_completed", 4, id, `"result":{"content":"you said: hi"},"completed_at":"2025-06-01T12:00:00Z","timings":{"execution_ms":9,"db_ms":1}`)},
		{name: "ws close", ms: ms(50), port: j.ws, kind: fin},
		{name: "api close", ms: ms(50), port: j.api, kind: fin},
	}
}

// gpPhases is what gp's script gives, in ms.
var gpPhases = map[string]float64{"login": 10, "ws_connect": 5, "ws_ready": 2, "ws_handshake": 7,
	"first_event": 3, "answer": 12, "journey": 41, "ws_dial": 2, "ws_upgrade": 3}

// phasesWith is gpPhases with changes.
func phasesWith(changes map[string]float64) map[string]float64 {
	m := maps.Clone(gpPhases)
	maps.Copy(m, changes)
	return m
}

// index is where the step called name is in steps.
func index(t *testing.T, steps []step, name string) int {
	t.Helper()
	i := slices.IndexFunc(steps, func(s step) bool { return s.name == name })
	if i < 0 {
		t.Fatalf("the script has no step %q", name)
	}
	return i
}

// data is the bytes of step name.
func data(t *testing.T, steps []step, name string) []byte {
	t.Helper()
	return steps[index(t, steps, name)].data
}

// split sends step name's bytes from cut on in a segment of their own,
// "name rest", at ms.
func split(t *testing.T, steps []step, name string, cut int, ms float64) []step {
	t.Helper()
	i := index(t, steps, name)
	s := steps[i]
	if cut <= 0 || cut >= len(s.data) {
		t.Fatalf("split %q at %d: it has %d bytes", name, cut, len(s.data))
	}
	rest := s
	rest.name, rest.ms, rest.back, rest.data = name+" rest", ms, 0, s.data[cut:]
	s.data = s.data[:cut:cut]
	steps = slices.Clone(steps)
	steps[i] = s
	return slices.Insert(steps, i+1, rest)
}

// join sends step b's bytes in step a's segment, at a's time.
func join(t *testing.T, steps []step, a, b string) []step {
	t.Helper()
	steps = slices.Clone(steps)
	i, j := index(t, steps, a), index(t, steps, b)
	if j != i+1 || steps[i].port != steps[j].port || steps[i].server != steps[j].server {
		t.Fatalf("join %q and %q: not one sender's steps in a row", a, b)
	}
	steps[i].data = slices.Concat(steps[i].data, steps[j].data)
	return slices.Delete(steps, j, j+1)
}

// resend sends step name's segment again, right after it, at ms.
func resend(t *testing.T, steps []step, name string, ms float64) []step {
	t.Helper()
	i := index(t, steps, name)
	s := steps[i]
	again := step{name: name + " again", ms: ms, port: s.port, server: s.server, back: s.back + len(s.data)}
	return slices.Insert(slices.Clone(steps), i+1, again)
}

// change applies f to step name.
func change(t *testing.T, steps []step, name string, f func(*step)) []step {
	t.Helper()
	steps = slices.Clone(steps)
	f(&steps[index(t, steps, name)])
	return steps
}

// headLen is the length of an HTTP message's head, blank line included.
func headLen(t *testing.T, msg []byte) int {
	t.Helper()
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatalf("no head in %q", msg)
	}
	return i + 4
}

// checkPhases fails t unless client made one journey, of phases want.
func checkPhases(t *testing.T, tp *tap, client string, want map[string]float64) {
	t.Helper()
	for _, ph := range phases {
		if got := tp.results[client][ph]; !slices.Equal(got, []float64{want[ph]}) {
			t.Errorf("results[%q][%q] = %v ms; want [%v]", client, ph, got, want[ph])
		}
	}
	if n := tp.done[client]; n != 1 {
		t.Errorf("done[%q] = %d; want 1", client, n)
	}
}

// checkOnly fails t unless clients, and no others, have results, and no
// connection is left open or left out.
func checkOnly(t *testing.T, tp *tap, clients ...string) {
	t.Helper()
	if got := slices.Sorted(maps.Keys(tp.results)); !slices.Equal(got, clients) {
		t.Errorf("results are of clients %q; want %q", got, clients)
	}
	if tp.lost != 0 {
		t.Errorf("lost = %d; want 0", tp.lost)
	}
	if len(tp.conns) != 0 {
		t.Errorf("%d connections still open; want 0: both ended with a FIN", len(tp.conns))
	}
}
