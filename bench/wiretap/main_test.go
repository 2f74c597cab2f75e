//go:build linux

package main

import (
	"bytes"
	"cmp"
	"maps"
	"math"
	"slices"
	"testing"
)

// TestJourney: a whole journey, login to agent_completed, gives each phase
// exactly as its packets' times define it.
func TestJourney(t *testing.T) {
	tp := newTap()
	n := play(tp, gp.script())
	checkPhases(t, tp, "gp", gpPhases)
	checkOnly(t, tp, "gp")
	if tp.segs != n {
		t.Errorf("segs = %d; want %d, the packets fed", tp.segs, n)
	}
}

// TestSplitMessages: a reply or a server frame spread over segments is
// stamped by the segment that carried its last byte.
func TestSplitMessages(t *testing.T) {
	s := gp.script()
	reply, completed := data(t, s, "login reply"), data(t, s, "agent_completed")
	if completed[1] != 126 {
		t.Fatalf("agent_completed's frame has length byte %d; want 126 (a 16-bit length)", completed[1])
	}
	tests := []struct {
		name  string
		steps []step
		want  map[string]float64
	}{
		{"login reply's head, then its body at 14",
			split(t, s, "login reply", headLen(t, reply), 14), phasesWith(map[string]float64{"login": 13})},
		{"login reply cut inside its head, the rest at 14",
			split(t, s, "login reply", 10, 14), phasesWith(map[string]float64{"login": 13})},
		{"login reply's last byte alone at 14",
			split(t, s, "login reply", len(reply)-1, 14), phasesWith(map[string]float64{"login": 13})},
		{"101 cut inside its head, the rest at 26",
			split(t, s, "101", 20, 26), phasesWith(map[string]float64{"ws_connect": 6, "ws_ready": 1, "ws_upgrade": 4})},
		{"agent_completed cut mid-payload, the rest at 45",
			split(t, s, "agent_completed", len(completed)/2, 45), phasesWith(map[string]float64{"answer": 15, "journey": 44})},
		{"agent_completed cut inside its 16-bit length, the rest at 45",
			split(t, s, "agent_completed", 3, 45), phasesWith(map[string]float64{"answer": 15, "journey": 44})},
		{"agent_started cut mid-payload, the rest at 34",
			split(t, s, "agent_started", 20, 34), phasesWith(map[string]float64{"first_event": 4})},
		{"101 and connection_established in one segment at 25",
			join(t, s, "101", "connection_established"), phasesWith(map[string]float64{"ws_ready": 0, "ws_handshake": 5})},
		{"agent_thinking and agent_completed in one segment at 35",
			join(t, s, "agent_thinking", "agent_completed"), phasesWith(map[string]float64{"answer": 5, "journey": 34})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := newTap()
			play(tp, tt.steps)
			checkPhases(t, tp, "gp", tt.want)
			checkOnly(t, tp, "gp")
		})
	}
}

// TestRequestsByFirstByte: a request or client frame spread over segments
// is stamped by the segment that carried its first byte, even when that
// segment began with another message.
func TestRequestsByFirstByte(t *testing.T) {
	s := gp.script()
	req, msg := data(t, s, "login request"), data(t, s, "user_message")
	ping := step{name: "ping", ms: 29, port: gp.ws,
		data: wsFrame([]byte(`{"type":"ping","payload":{"nonce":"n1"}}`), maskKey)}
	withPing := slices.Insert(slices.Clone(s), index(t, s, "user_message"), ping)
	tests := []struct {
		name  string
		steps []step
		want  map[string]float64
	}{
		{"login request cut inside its head, the rest at 4",
			split(t, s, "login request", 20, 4), gpPhases},
		{"login request's body at 4",
			split(t, s, "login request", headLen(t, req), 4), gpPhases},
		{"login request's first byte alone",
			split(t, s, "login request", 1, 4), gpPhases},
		{"user_message cut mid-payload, the rest at 31",
			split(t, s, "user_message", len(msg)/2, 31), gpPhases},
		{"user_message's first byte alone, the rest at 32",
			split(t, s, "user_message", 1, 32), gpPhases},
		{"a ping and user_message's head in one segment at 29, the rest at 31",
			join(t, split(t, withPing, "user_message", 10, 31), "ping", "user_message"),
			phasesWith(map[string]float64{"first_event": 4, "answer": 13})},
		{"a ping at 29, then user_message at 30",
			withPing, gpPhases},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := newTap()
			play(tp, tt.steps)
			checkPhases(t, tp, "gp", tt.want)
			checkOnly(t, tp, "gp")
		})
	}
}

// TestRetransmissions: a segment received again is ignored, whole or in
// part, and the stream reads on.
func TestRetransmissions(t *testing.T) {
	s := gp.script()
	reply, thinking := data(t, s, "login reply"), data(t, s, "agent_thinking")
	tests := []struct {
		name  string
		steps []step
		want  map[string]float64
	}{
		{"the login request again at 2", resend(t, s, "login request", 2), gpPhases},
		{"the login reply again at 12", resend(t, s, "login reply", 12), gpPhases},
		{"the login reply's head again at 12, its body at 14",
			resend(t, split(t, s, "login reply", headLen(t, reply), 14), "login reply", 12),
			phasesWith(map[string]float64{"login": 13})},
		{"the upgrade again at 23", resend(t, s, "upgrade", 23), gpPhases},
		{"user_message again at 32", resend(t, s, "user_message", 32), gpPhases},
		{"agent_started again at 34", resend(t, s, "agent_started", 34), gpPhases},
		{"agent_completed's head again at 44, its rest at 45",
			resend(t, split(t, s, "agent_completed", 30, 45), "agent_completed", 44),
			phasesWith(map[string]float64{"answer": 15, "journey": 44})},
		{"agent_thinking in a segment that repeats agent_started's last 10 bytes",
			change(t, s, "agent_thinking", func(s *step) { s.back = 10 }), gpPhases},
		{"agent_completed in a segment that repeats all of agent_thinking",
			change(t, s, "agent_completed", func(s *step) { s.back = len(thinking) }), gpPhases},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := newTap()
			play(tp, tt.steps)
			checkPhases(t, tp, "gp", tt.want)
			checkOnly(t, tp, "gp")
		})
	}
}

// TestGaps: a segment the capture missed leaves its connection out:
// counted in lost, nothing recorded.
func TestGaps(t *testing.T) {
	s := gp.script()
	miss := func(s *step) { s.kind = missData }
	reply := data(t, s, "login reply")
	tests := []struct {
		name  string
		steps []step
	}{
		{"agent_thinking missed", change(t, s, "agent_thinking", miss)},
		{"agent_started missed", change(t, s, "agent_started", miss)},
		{"the login reply's head missed",
			change(t, split(t, s, "login reply", headLen(t, reply), 14), "login reply", miss)},
		{"the login request's head missed",
			change(t, split(t, s, "login request", 20, 2), "login request", miss)},
		{"user_message's head missed",
			change(t, split(t, s, "user_message", 10, 31), "user_message", miss)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := newTap()
			play(tp, tt.steps)
			checkLeftOut(t, tp)
			if len(tp.conns) != 0 {
				t.Errorf("%d connections still open; want 0: both ended with a FIN", len(tp.conns))
			}
		})
	}
}

// TestClientsApart: two clients' journeys, interleaved on connections of
// their own and with the same message_id, are recorded apart; a third
// journey, of client gp too, left out by a gap, adds nothing to gp's.
func TestClientsApart(t *testing.T) {
	wire := journey{email: "wire-x-1@example.test", token: "tok2", messageID: "m1",
		api: 40003, ws: 40004, isn: [2]uint32{7000, 9000}, start: 5, scale: 2}
	broken := journey{email: "gp-def-1@example.test", token: "tok3", messageID: "m1",
		api: 40005, ws: 40006, isn: [2]uint32{1, 2}, start: 1, scale: 1}
	lossy := change(t, broken.script(), "agent_thinking", func(s *step) { s.kind = missData })
	steps := slices.Concat(gp.script(), wire.script(), lossy)
	slices.SortStableFunc(steps, func(a, b step) int { return cmp.Compare(a.ms, b.ms) })

	tp := newTap()
	play(tp, steps)
	checkPhases(t, tp, "gp", gpPhases)
	slow := maps.Clone(gpPhases)
	for ph := range slow {
		slow[ph] *= 2
	}
	checkPhases(t, tp, "wire", slow)
	if tp.lost != 1 {
		t.Errorf("lost = %d; want 1", tp.lost)
	}
	if got := slices.Sorted(maps.Keys(tp.results)); !slices.Equal(got, []string{"gp", "wire"}) {
		t.Errorf("results are of clients %q; want [gp wire]", got)
	}
}

// TestSequenceWrap: a stream whose sequence numbers pass 2^32 reads on
// past 0.
func TestSequenceWrap(t *testing.T) {
	// The login request and reply, the upgrade and the 101 are all over 50
	// bytes: an ISN 10 or 50 short of 2^32 wraps inside the first message.
	tests := []struct {
		name string
		isn  [2]uint32
		edit func([]step) []step
		want map[string]float64 // nil: left out, lost
	}{
		{"the client's bytes wrap inside its first request", [2]uint32{math.MaxUint32 - 9, 5000}, nil, gpPhases},
		{"the server's bytes wrap inside its first reply", [2]uint32{1000, math.MaxUint32 - 49}, nil, gpPhases},
		{"the first bytes at sequence number 0", [2]uint32{math.MaxUint32, math.MaxUint32}, nil, gpPhases},
		{"the SYNs at sequence number 0", [2]uint32{0, 0}, nil, gpPhases},
		{"a request across the wrap sent again", [2]uint32{math.MaxUint32 - 9, 5000},
			func(s []step) []step { return resend(t, s, "login request", 2) }, gpPhases},
		{"a reply cut at the wrap, the rest at 14", [2]uint32{1000, math.MaxUint32 - 49},
			func(s []step) []step { return split(t, s, "login reply", 49, 14) },
			phasesWith(map[string]float64{"login": 13})},
		{"a frame missed after the wrap", [2]uint32{1000, math.MaxUint32 - 49},
			func(s []step) []step {
				return change(t, s, "agent_thinking", func(s *step) { s.kind = missData })
			}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := gp
			j.isn = tt.isn
			steps := j.script()
			if tt.edit != nil {
				steps = tt.edit(steps)
			}
			tp := newTap()
			play(tp, steps)
			if tt.want != nil {
				checkPhases(t, tp, "gp", tt.want)
				checkOnly(t, tp, "gp")
				return
			}
			if tp.lost != 1 || len(tp.results) != 0 {
				t.Errorf("lost = %d, results = %v; want lost 1 and no results", tp.lost, tp.results)
			}
		})
	}
}

// TestFrame: frame reads a whole frame's length, opcode and unmasked
// payload, 7-bit and 16-bit lengths, masked or not, and nothing from a
// frame not whole yet.
func TestFrame(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		key    []byte
		header int
	}{
		{"7-bit length", 125, nil, 2},
		{"7-bit length, masked", 125, maskKey, 6},
		{"16-bit length at its least", 126, nil, 4},
		{"16-bit length", 200, nil, 4},
		{"16-bit length, masked", 200, maskKey, 8},
		{"16-bit length at its most, masked", math.MaxUint16, maskKey, 8},
		{"64-bit length", math.MaxUint16 + 1, nil, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := make([]byte, tt.n)
			for i := range payload {
				payload[i] = byte('a' + i%26)
			}
			f := wsFrame(payload, tt.key)
			if len(f) != tt.header+tt.n {
				t.Fatalf("test frame is %d bytes; want %d", len(f), tt.header+tt.n)
			}
			orig := slices.Clone(f)
			b := append(slices.Clone(f), 0x81, 0x02, 'o', 'k') // the next frame
			n, op, got := frame(b)
			if n != len(f) || op != 1 || !bytes.Equal(got, payload) {
				t.Errorf("frame(%d-byte frame and the next) = (%d, %d, %d bytes %.8q...); want (%d, 1, the %d-byte payload)",
					len(f), n, op, len(got), got, len(f), tt.n)
			}
			if !bytes.Equal(b[:len(f)], orig) {
				t.Errorf("frame changed its input")
			}
			for i := range len(f) {
				if n, op, got := frame(f[:i]); n != 0 || op != 0 || got != nil {
					t.Fatalf("frame(first %d of %d bytes) = (%d, %d, %q); want (0, 0, nil)", i, len(f), n, op, got)
				}
			}
		})
	}
}

// TestSYNAgain: a SYN seen again (the same initial sequence number: the
// first was dropped and retried) does not restart the connection's clock,
// as a client's dial clock does not restart; a SYN with another initial
// sequence number is a new connection on the same port.
func TestSYNAgain(t *testing.T) {
	for _, tt := range []struct {
		name string
		isn  uint32
		want map[string]float64
	}{
		{"the same SYN at 15, retried at 20", gp.isn[0], phasesWith(map[string]float64{"ws_connect": 10, "ws_handshake": 12, "ws_dial": 7})},
		{"another connection's SYN at 15, this one's at 20", gp.isn[0] + 77, gpPhases},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tp := newTap()
			tp.packet(segment(gp.ws, serverPort, tt.isn, 0, flagSYN, nil), at(15))
			play(tp, gp.script())
			checkPhases(t, tp, "gp", tt.want)
		})
	}
}

// TestUnreadable: a connection whose bytes are not HTTP the tap can read
// is left out and counted, rather than kept waiting for a parse that
// never comes.
func TestUnreadable(t *testing.T) {
	s := gp.script()
	garbage := func(s *step) { s.data = []byte("NOT HTTP AT ALL\r\n\r\n") }
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"a request that is not HTTP", change(t, s, "login request", garbage)},
		{"a reply that is not HTTP", change(t, s, "login reply", garbage)},
		{"an upgrade reply that is not HTTP", change(t, s, "101", garbage)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tp := newTap()
			play(tp, tt.steps)
			checkLeftOut(t, tp)
		})
	}
}

// checkLeftOut wants tp to have left one connection out and recorded
// nothing.
func checkLeftOut(t *testing.T, tp *tap) {
	t.Helper()
	if tp.lost != 1 {
		t.Errorf("lost = %d; want 1", tp.lost)
	}
	if len(tp.results) != 0 || len(tp.done) != 0 {
		t.Errorf("results = %v, done = %v; want none", tp.results, tp.done)
	}
}
