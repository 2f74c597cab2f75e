package suite

import (
	"fmt"
	"strings"
	"time"

	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/metrics"
	"github.com/goldenpath-dev/goldenpath/internal/results"
)

// Counters of chat-completion scenarios.
const (
	CounterChatRequests = "chat_requests"     // streamed completions read to their end
	CounterGoodput      = "chat_goodput"      // of them, those that met every SLO
	CounterTokens       = "output_tokens"     // content tokens streamed
	CounterThrottled    = "throttled"         // 429 replies, each retried after its Retry-After
	CounterThrottledMS  = "throttled_wait_ms" // time spent waiting so
)

// chatDefaults are the SLOs of a chat-completion target where the SLA
// sets none: time to first token, time per output token and end to end,
// each at p95, and goodput, the share of requests that met all three.
var chatDefaults = []string{"first_token: p95 < 2s", "tpot: p95 < 100ms", "answer: p95 < 45s", "goodput: >= 95%"}

// ChatSLA is sla with the chat defaults for what it does not set.
func ChatSLA(sla SLA) SLA {
	out := SLA{}
	for k, v := range sla {
		out[k] = v
	}
	for _, line := range chatDefaults {
		k, v, _ := strings.Cut(line, ": ")
		if _, set := out[k]; !set {
			r, err := parseRule(k, v)
			if err != nil {
				panic(err) // constants
			}
			out[k] = r
		}
	}
	return out
}

// meetsSLO reports whether one request met every chat SLO of sla: its
// own TTFT, TPOT and end-to-end time within the limits of the rules.
func meetsSLO(ct journey.ChatTiming, sla SLA) bool {
	if !ct.Complete {
		return false
	}
	for metric, d := range map[string]time.Duration{journey.PhaseFirstToken: ct.TTFT, journey.PhaseTPOT: ct.TPOT, journey.PhaseAnswer: ct.E2E} {
		if r, ok := sla[metric]; ok && !r.Holds(float64(d)/float64(time.Millisecond)) {
			return false
		}
	}
	return true
}

// recordChat counts a journey's chat requests, their goodput, tokens and
// throttling.
func recordChat(set metrics.At, res *journey.Result, sla SLA) {
	if len(res.Chat) == 0 && res.Throttled == 0 {
		return
	}
	sla = ChatSLA(sla)
	good := 0
	for _, ct := range res.Chat {
		if meetsSLO(ct, sla) {
			good++
		}
	}
	set.Add(CounterChatRequests, int64(len(res.Chat)))
	set.Add(CounterGoodput, int64(good))
	set.Add(CounterTokens, int64(res.Tokens))
	set.Add(CounterThrottled, int64(res.Throttled))
	set.Add(CounterThrottledMS, res.ThrottledWait.Milliseconds())
}

// chatChecks are the checks of a chat-completion scenario: each SLO as a
// percentile check, and goodput with the throughput figures GuideLLM and
// vLLM's benchmark report (output tokens/s, requests/s), 429s counted
// apart.
func chatChecks(suiteName string, sc *results.Scenario, sla SLA) []results.Check {
	if sc == nil {
		return nil
	}
	if _, chat := sc.Unmeasured[UnmeasuredChat]; !chat {
		return nil
	}
	sla = ChatSLA(sla)
	out := []results.Check{
		slaCheck(suiteName, "time_to_first_token", sc, sla[journey.PhaseFirstToken]),
		slaCheck(suiteName, "time_per_output_token", sc, sla[journey.PhaseTPOT]),
		slaCheck(suiteName, "end_to_end_latency", sc, sla[journey.PhaseAnswer]),
	}
	return append(out, goodputCheck(suiteName, sc, sla[RateGoodput]))
}

// goodputCheck judges the share of sc's chat requests that met every SLO.
func goodputCheck(suiteName string, sc *results.Scenario, r Rule) results.Check {
	rule := r.Typed()
	c := results.Check{Suite: suiteName, Name: "chat_goodput", Scenario: sc.Name, Rule: &rule, Unit: rule.Unit}
	k := sc.Metrics.Counters
	n, good := k[CounterChatRequests], k[CounterGoodput]
	c.Samples = n
	if n < MinSamples {
		c.Status = results.Fail
		c.Evidence = fmt.Sprintf("insufficient evidence: only %d chat requests streamed to their end; goodput needs at least %d — run longer (--duration) or with more users", n, MinSamples)
		return c
	}
	c.Observed = float64(good) / float64(n)
	c.Status = Verdict(r.Holds(c.Observed))
	perS := func(v int64) float64 {
		if sc.DurationS <= 0 {
			return 0
		}
		return float64(v) / sc.DurationS
	}
	c.Evidence = fmt.Sprintf("goodput = %.2f%% (%d of %d requests met first_token, tpot and answer; limit %s); %.1f requests/s, %.0f output tokens/s",
		c.Observed*100, good, n, strings.TrimPrefix(r.String(), r.Metric+": "), perS(n), perS(k[CounterTokens]))
	if t := k[CounterThrottled]; t > 0 {
		c.Evidence += fmt.Sprintf("; %d replies were 429, counted apart and retried after their Retry-After (%s waited)", t, time.Duration(k[CounterThrottledMS])*time.Millisecond)
	}
	return c
}
