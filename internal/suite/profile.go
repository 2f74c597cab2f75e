package suite

import (
	"github.com/goldenpath-dev/goldenpath/internal/journey"
	"github.com/goldenpath-dev/goldenpath/internal/profile"
)

// Steps a profile may lack, beside the phases, in [Unmeasured].
const (
	// UnmeasuredSeq: the target numbers no frames; order is judged by
	// each run's grammar.
	UnmeasuredSeq = "seq"
	// UnmeasuredChat marks a chat-completion target: the scenario's
	// requests are streamed completions, judged by the chat checks.
	UnmeasuredChat = "chat"
)

// Unmeasured is what a target spoken to through ps gives no evidence of,
// by phase (or step), each with the reason its checks give when they
// skip: "profile openai has no config endpoint". Nil for PROTOCOL v1,
// which measures everything.
func Unmeasured(ps *journey.ProfileSpec) map[string]string {
	if ps == nil {
		return nil
	}
	p := ps.Profile
	out := map[string]string{}
	lacks := func(why string, phases ...string) {
		for _, ph := range phases {
			if _, set := out[ph]; !set {
				out[ph] = "profile " + p.Name + " " + why
			}
		}
	}
	if p.Auth.APIKey {
		lacks("has no login: its API key is every request's token", journey.PhaseLogin, journey.PhaseRegister)
	}
	if p.Stream.Kind == profile.StreamSSE {
		lacks("has no WebSocket: each request is an HTTP POST answered by server-sent events",
			journey.PhaseWSConnect, journey.PhaseWSReady, PhaseWSHandshake, journey.PhaseInterEvent)
		lacks("streams tokens, not agent events: its run is timed as first_token (TTFT) and answer (end to end)",
			journey.PhaseFirstEvent, journey.PhaseAgentExecution)
		out[UnmeasuredChat] = "profile " + p.Name + " streams chat completions"
	} else {
		lacks("streams agent events, not tokens", journey.PhaseInterToken, journey.PhaseTPOT)
		if len(p.Events.Map.Started) == 0 {
			lacks("maps no started event (events.map.started)", journey.PhaseFirstEvent, journey.PhaseAgentExecution)
		}
		if len(p.Handshake) == 0 {
			lacks("has no handshake steps", journey.PhaseWSReady)
		}
	}
	if p.Config == nil {
		lacks("has no config endpoint (config)", journey.PhaseConfigAccess)
	}
	if p.History == nil {
		lacks("has no history read-back (history), so acknowledged writes cannot be read back", journey.PhaseDBOperation, StepReadBack)
	}
	if p.Events.Seq == "" {
		lacks("has no sequence numbers: order is judged by each run's grammar", UnmeasuredSeq)
	}
	lacks("reports no server timings of its own (timings, completed_at, server_time)", journey.PhaseResponseDelivery, "server_factory")
	return out
}
