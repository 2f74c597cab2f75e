package suite

import (
	"strconv"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// recordTraffic counts what a journey exchanged with the target: its HTTP
// replies by status and its WebSocket frames by type, as counters of
// bounded names ([results.CounterHTTPPrefix] and the ws_ ones).
func recordTraffic(set metrics.At, res *journey.Result) {
	for _, code := range res.HTTPStatuses {
		name := results.CounterHTTPPrefix + "other"
		if code >= 100 && code <= 599 {
			name = httpCounters[code-100]
		}
		set.Add(name, 1)
	}
	for i, n := range res.Received {
		if n > 0 {
			set.Add(receivedCounters[i], int64(n))
		}
	}
	for i, n := range res.Sent {
		if n > 0 {
			set.Add(sentCounters[i], int64(n))
		}
	}
}

// The counters' names, made once rather than at each journey.
var (
	httpCounters = func() (names [500]string) {
		for i := range names {
			names[i] = results.CounterHTTPPrefix + statusLabel(100+i)
		}
		return names
	}()
	receivedCounters = prefixed(results.CounterWSReceivedPrefix)
	sentCounters     = prefixed(results.CounterWSSentPrefix)
)

func prefixed(prefix string) (names [journey.NumFrameTypes]string) {
	for i, t := range journey.FrameTypes {
		names[i] = prefix + t
	}
	return names
}

// statusLabel is an HTTP status as a counter label: the code, or other
// for one outside 100-599, so that a target cannot grow the names.
func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}
