package journey

import (
	"context"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// FrameOther is the type a frame is counted as when its own is not one of
// [FrameTypes].
const FrameOther = "other"

// FrameTypes are the types a journey counts the WebSocket frames it
// received and sent by ([Result.Received], [Result.Sent], indexed as
// here): the protocol's server events, its client messages, and
// [FrameOther] for any other (a profile's own types included), so that
// the set stays small and fixed whatever the target sends.
var FrameTypes = [NumFrameTypes]string{
	protocol.EventConnectionEstablished, protocol.EventAgentStarted, protocol.EventAgentThinking,
	protocol.EventToolExecuting, protocol.EventToolCompleted, protocol.EventAgentCompleted,
	protocol.EventAgentError, protocol.EventPong, protocol.EventHeartbeat, protocol.EventErrorMessage,
	protocol.MessageUser, protocol.MessagePing,
	FrameOther,
}

// NumFrameTypes is the number of [FrameTypes].
const NumFrameTypes = 13

// FrameCounts counts frames by type, indexed as [FrameTypes].
type FrameCounts [NumFrameTypes]int

// frameIndex is the index in FrameTypes of type t ([FrameOther]'s for an
// unknown one).
func frameIndex(t string) int {
	for i, ft := range FrameTypes[:NumFrameTypes-1] {
		if ft == t {
			return i
		}
	}
	return NumFrameTypes - 1
}

// add counts one frame of type t.
func (c *FrameCounts) add(t string) { c[frameIndex(t)]++ }

// replyKey keys the Result that a journey's HTTP replies are counted in.
type replyKey struct{}

// countingReplies returns ctx carrying res, whose HTTPStatuses the HTTP
// calls made with it (and the WebSocket upgrades) append to.
func countingReplies(ctx context.Context, res *Result) context.Context {
	return context.WithValue(ctx, replyKey{}, res)
}

// noteReply counts an HTTP reply of status code in the journey ctx
// belongs to, if any: suites calling the API outside a journey count
// nothing.
func noteReply(ctx context.Context, code int) {
	if res, ok := ctx.Value(replyKey{}).(*Result); ok {
		res.HTTPStatuses = append(res.HTTPStatuses, code)
	}
}

// frameType is the "type" of a frame a profile rendered, "" when it has
// none.
func frameType(frame any) string {
	if m, ok := frame.(map[string]any); ok {
		if t, ok := m["type"].(string); ok {
			return t
		}
	}
	return ""
}
