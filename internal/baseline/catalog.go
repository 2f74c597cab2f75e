package baseline

import (
	"fmt"
	"math"
)

// Kind says how a metric is judged: which threshold applies and which way
// is worse.
type Kind string

// Kinds of metric.
const (
	// KindLatency is a component's latency: higher is worse, judged by
	// [Thresholds.Latency].
	KindLatency Kind = "latency"
	// KindResponse is a response time as the user lives it (the journey,
	// the agent's run, the answer's delivery): higher is worse, judged by
	// [Thresholds.Response].
	KindResponse Kind = "response"
	// KindThroughput is journeys per second: lower is worse, judged by
	// [Thresholds.Latency] (the performance threshold) as a drop.
	KindThroughput Kind = "throughput"
	// KindMemory is the target's memory: higher is worse, judged by
	// [Thresholds.Memory].
	KindMemory Kind = "memory"
	// KindCPU is the target's CPU time per journey: higher is worse,
	// judged by [Thresholds.Memory] (the resource threshold).
	KindCPU Kind = "cpu"
	// KindErrorRate is failed journeys in percent: higher is worse, judged
	// by [Thresholds.ErrorPoints] as a difference in points.
	KindErrorRate Kind = "error_rate"
)

// HigherIsWorse reports whether an increase of a metric of this kind is a
// regression (for throughput a decrease is).
func (k Kind) HigherIsWorse() bool { return k != KindThroughput }

// Group names the part of the system a metric measures. The regression
// suite judges each group in a check of its own.
type Group string

// Groups of metrics.
const (
	GroupGoldenPath  Group = "golden_path" // the journey end to end: login, journey, delivery, throughput, errors
	GroupWebSocket   Group = "websocket"   // ws_connect, ws_handshake
	GroupAgent       Group = "agent"       // first_event, first_token, agent_execution; tpot on chat profiles
	GroupDatabase    Group = "database"    // db_operation, server_db
	GroupConfig      Group = "config"      // config_access
	GroupMemory      Group = "memory"      // the target's peak RSS
	GroupConcurrency Group = "concurrency" // the burst of simultaneous users
	GroupResource    Group = "resource"    // the target's CPU per journey
)

// Info describes one metric of the [Catalog].
type Info struct {
	Name  string // e.g. "db_operation.p95", "throughput", "burst.journey.p50"
	Kind  Kind
	Group Group
	Unit  string // "ms", "/s", "%", "MiB", "ms/journey"
}

// IsDuration reports whether the metric is a latency in milliseconds, to
// which [Thresholds.FloorMS] applies.
func (in Info) IsDuration() bool { return in.Unit == "ms" }

// Metric names that are not phase statistics.
const (
	MetricThroughput = "throughput"      // succeeded journeys per second
	MetricErrorRate  = "error_rate"      // failed journeys, percent
	MetricPeakRSS    = "target_peak_rss" // the target's peak resident memory, MiB
	MetricCPU        = "target_cpu"      // the target's CPU time per journey, ms
	// BurstPrefix starts the names of the metrics of the burst rounds.
	BurstPrefix = "burst."
)

// Stats are the statistics kept of each phase, with the fewest samples a
// round needs for each: a percentile needs at least 4 samples above it
// (p95: 80, p99: 400), else it is one stray sample and varies from round
// to round far more than any threshold.
var Stats = []struct {
	Name       string
	MinSamples int64
}{{"p50", 1}, {"p95", 80}, {"p99", 400}, {"mean", 1}}

// phaseMetric is a phase the catalog keeps statistics of.
type phaseMetric struct {
	phase string
	kind  Kind
	group Group
}

// steadyPhases are the phases of a steady round the catalog keeps, in
// table order.
var steadyPhases = []phaseMetric{
	{"journey", KindResponse, GroupGoldenPath},
	{"login", KindLatency, GroupGoldenPath},
	{"response_delivery", KindResponse, GroupGoldenPath},
	{"ws_connect", KindLatency, GroupWebSocket},
	{"ws_handshake", KindLatency, GroupWebSocket},
	{"first_event", KindLatency, GroupAgent},
	{"agent_execution", KindResponse, GroupAgent},
	{"first_token", KindLatency, GroupAgent}, // request to the first content: the first agent_thinking, a chat stream's first token (TTFT)
	{"tpot", KindLatency, GroupAgent},        // chat profiles: the model's time per output token
	{"db_operation", KindLatency, GroupDatabase},
	{"server_db", KindLatency, GroupDatabase},
	{"config_access", KindLatency, GroupConfig},
}

// burstPhases are the phases of a burst round the catalog keeps: the
// journey, judged as a response time (every burst metric but the error
// rate is judged by [Thresholds.Response]). The burst's own phases (its
// handshakes, its first events) wait on one another and on every other
// process of the machine; on a 2-core machine they vary by a factor of two
// from one round to the next and would cry wolf.
var burstPhases = []phaseMetric{
	{"journey", KindResponse, GroupConcurrency},
}

// Catalog lists every metric a round can yield, in table order.
func Catalog() []Info {
	var out []Info
	add := func(prefix string, ps []phaseMetric) {
		for _, p := range ps {
			for _, st := range Stats {
				out = append(out, Info{Name: prefix + p.phase + "." + st.Name, Kind: p.kind, Group: p.group, Unit: "ms"})
			}
		}
	}
	add("", steadyPhases)
	out = append(out,
		Info{Name: MetricThroughput, Kind: KindThroughput, Group: GroupGoldenPath, Unit: "/s"},
		Info{Name: MetricErrorRate, Kind: KindErrorRate, Group: GroupGoldenPath, Unit: "%"},
		Info{Name: MetricPeakRSS, Kind: KindMemory, Group: GroupMemory, Unit: "MiB"},
		Info{Name: MetricCPU, Kind: KindCPU, Group: GroupResource, Unit: "ms/journey"},
	)
	add(BurstPrefix, burstPhases)
	out = append(out,
		Info{Name: BurstPrefix + MetricThroughput, Kind: KindThroughput, Group: GroupConcurrency, Unit: "/s"},
		Info{Name: BurstPrefix + MetricErrorRate, Kind: KindErrorRate, Group: GroupConcurrency, Unit: "%"},
	)
	return out
}

// Lookup returns the catalog's entry for a metric, and false if the
// catalog has none.
func Lookup(name string) (Info, bool) {
	for _, in := range Catalog() {
		if in.Name == name {
			return in, true
		}
	}
	return Info{}, false
}

// Format writes v in the metric's unit, e.g. "12.3ms", "31.2/s", "0.50%".
func (in Info) Format(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case in.Unit == "ms" || in.Unit == "ms/journey":
		s := formatMS(v)
		if in.Unit == "ms/journey" {
			s += "/journey"
		}
		return s
	case in.Unit == "/s":
		return fmt.Sprintf("%.2f/s", v)
	case in.Unit == "%":
		return fmt.Sprintf("%.2f%%", v)
	case in.Unit == "MiB":
		return fmt.Sprintf("%.1fMiB", v)
	}
	return fmt.Sprintf("%.4g%s", v, in.Unit)
}

func formatMS(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.3gs", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	case v >= 1:
		return fmt.Sprintf("%.2fms", v)
	}
	return fmt.Sprintf("%.0fµs", v*1000)
}
