package journey

import (
	"net/http"
	"testing"
	"time"
)

func TestClockOffset(t *testing.T) {
	local := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		rtt, skew  time.Duration // round trip; how far the server clock runs ahead
		serverAt   time.Duration // when, after the dial start, the server stamped its time
		wantOffset time.Duration
	}{
		{"same clock, symmetric", 10 * time.Millisecond, 0, 5 * time.Millisecond, 0},
		{"server ahead", 10 * time.Millisecond, 2 * time.Second, 5 * time.Millisecond, 2 * time.Second},
		{"server behind", 4 * time.Millisecond, -time.Hour, 2 * time.Millisecond, -time.Hour},
		// an asymmetric path: the error is bounded by half the round trip
		{"asymmetric", 10 * time.Millisecond, 0, 9 * time.Millisecond, 4 * time.Millisecond},
	} {
		sent, received := local, local.Add(tc.rtt)
		server := local.Add(tc.serverAt + tc.skew)
		if got := ClockOffset(sent, received, server); got != tc.wantOffset {
			t.Errorf("%s: ClockOffset = %s; want %s", tc.name, got, tc.wantOffset)
		}
	}
}

func TestDelivery(t *testing.T) {
	// The server runs 3s ahead; the handshake took 10ms with the server's
	// stamp in the middle. An answer completed (server clock) 50ms after
	// that stamp and arrived 20ms later.
	sent := time.Now()
	received := sent.Add(10 * time.Millisecond)
	serverTime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newClockSync(sent, received, serverTime)
	completedAt := serverTime.Add(50 * time.Millisecond)
	arrival := sent.Add(5*time.Millisecond + 70*time.Millisecond)
	if d, clamped := c.delivery(arrival, completedAt); d != 20*time.Millisecond || clamped {
		t.Errorf("delivery = %s, clamped %t; want 20ms, false", d, clamped)
	}
	if d, clamped := c.delivery(arrival, completedAt.Add(time.Second)); d != 0 || !clamped {
		t.Errorf("delivery of an answer from the future = %s, clamped %t; want 0, true", d, clamped)
	}
	if newClockSync(sent, received, time.Time{}).ok {
		t.Error("a zero server time gave a usable clock")
	}
}

func TestAppendServerTiming(t *testing.T) {
	h := http.Header{}
	h.Add("Server-Timing", `auth;dur=3.2, db;desc="sqlite";dur=0.41, cache;desc=miss, app;dur=5`)
	h.Add("Server-Timing", `edge;dur="1.5"`)
	got := appendServerTiming(nil, h)
	want := []ServerTiming{{"http_auth", 3.2}, {"http_db", 0.41}, {"http_app", 5}, {"http_edge", 1.5}}
	if len(got) != len(want) {
		t.Fatalf("appendServerTiming = %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %v; want %v", i, got[i], want[i])
		}
	}
}
