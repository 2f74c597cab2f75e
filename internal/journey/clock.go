package journey

import "time"

// ClockOffset estimates how far the server's clock runs ahead of the local
// one, as NTP does from one exchange: the server stamped server somewhere
// between the local instants sent and received, so offset = server −
// midpoint(sent, received). The error is at most half the round trip. The
// journey uses the WebSocket handshake: sent is the dial start, received
// the arrival of connection_established, server its data.server_time.
func ClockOffset(sent, received, server time.Time) time.Duration {
	return server.Sub(sent.Add(received.Sub(sent) / 2))
}

// clockSync maps local instants onto the server's clock: the midpoint of
// the handshake corresponds to the server's server_time, and local time
// after it is measured on the monotonic clock.
type clockSync struct {
	mid, server time.Time
	ok          bool
}

func newClockSync(sent, received, server time.Time) clockSync {
	if server.IsZero() {
		return clockSync{}
	}
	return clockSync{mid: sent.Add(received.Sub(sent) / 2), server: server, ok: true}
}

// delivery is the time from the server's completedAt to the local instant
// received, on the server's clock. A negative estimate (the offset's error
// exceeds the true delay) is clamped to 0 and reported.
func (c clockSync) delivery(received, completedAt time.Time) (d time.Duration, clamped bool) {
	d = c.server.Add(received.Sub(c.mid)).Sub(completedAt)
	if d < 0 {
		return 0, true
	}
	return d, false
}
