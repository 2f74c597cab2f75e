package journey

import (
	"fmt"
	"strings"

	"github.com/goldenpath-dev/goldenpath/internal/protocol"
)

// ReorderWindow is how many frames above a missing seq an [Oracle] holds
// while it waits for the missing one. A seq that arrives within the window
// is a reorder; one that has not arrived when the window fills (or at
// [Oracle.Done]) is a gap.
const ReorderWindow = 16

// maxLost bounds the lost seq ranges an Oracle remembers for late arrivals.
const maxLost = 16

// ForeignFunc scans a raw frame for data that belongs to some user, e.g.
// the per-user nonces a suite put into its requests, and returns that
// user's id. An [Oracle] reports [ViolationForeignData] when the owner is
// not its own user. It is called on every frame and must be cheap and safe
// for concurrent use if shared.
type ForeignFunc func(frame []byte) (owner string, found bool)

// OracleOption configures [NewOracle].
type OracleOption func(*Oracle)

// WithForeign makes the oracle call fn on every frame to detect other
// users' data ([ViolationForeignData]).
func WithForeign(fn ForeignFunc) OracleOption {
	return func(o *Oracle) { o.foreign = fn }
}

// Oracle judges the server frames of one WebSocket connection, in the order
// they arrive, against the wire protocol. Register each request with
// [Oracle.Expect] before sending it, pass every frame to [Oracle.Observe],
// and call [Oracle.Done] when the connection ends.
//
// Seq numbering is judged on arrival; everything else is judged in seq
// order, so a reordered frame is reported once, as a reorder, and not again
// as a grammar break. Frames above a missing seq are held (copied) until it
// arrives or [ReorderWindow] frames have passed; their violations are
// returned by the call that releases them. Grammar checks that a lost frame
// could explain (a missing agent_started, tool_executing or agent_thinking,
// an unfinished tool call) are skipped for runs that may have lost one.
//
// An Oracle is not safe for concurrent use; use one per connection.
type Oracle struct {
	userID      string
	foreign     ForeignFunc
	dec         decoder
	established bool

	next      int64      // lowest seq neither judged nor counted lost
	max       int64      // highest seq seen
	pending   []held     // frames above a missing seq, ascending
	lost      []seqRange // recently counted lost, for late arrivals
	unclaimed int        // lost frames not yet blamed on a run

	order []*run // in Expect order
	// The run of each message_id and the message_id of each run_id
	// claimed: found in order and claimed while there are few (a
	// journey's one or two runs make no map), in runs and runIDs past
	// smallRuns.
	runs    map[string]*run
	claimed []claim
	runIDs  map[string]string

	out []Violation // the current call's findings
}

type held struct {
	f   Frame
	raw []byte
}

type seqRange struct{ from, to int64 }

// run is what the oracle knows of one request.
type run struct {
	messageID, content string
	runID, threadID    string
	events, thinking   int
	started, terminal  bool
	lossy              bool // a frame may have been lost while it ran
	tools              []toolCall
}

type toolCall struct{ id, name string }

// claim is a run_id and the message_id whose run first carried it.
type claim struct{ runID, messageID string }

// smallRuns is how many runs or claims an oracle searches in order
// before it keeps them in maps.
const smallRuns = 8

// runOf is the run of messageID, nil if it was never expected.
func (o *Oracle) runOf(messageID string) *run {
	if o.runs != nil {
		return o.runs[messageID]
	}
	for _, r := range o.order {
		if r.messageID == messageID {
			return r
		}
	}
	return nil
}

// claimOf is the message_id whose run claimed runID, if one did.
func (o *Oracle) claimOf(runID string) (string, bool) {
	if o.runIDs != nil {
		m, ok := o.runIDs[runID]
		return m, ok
	}
	for _, c := range o.claimed {
		if c.runID == runID {
			return c.messageID, true
		}
	}
	return "", false
}

// claim records that messageID's run carries runID.
func (o *Oracle) claim(runID, messageID string) {
	switch {
	case o.runIDs != nil:
		o.runIDs[runID] = messageID
		return
	case len(o.claimed) < smallRuns:
		o.claimed = append(o.claimed, claim{runID, messageID})
		return
	}
	o.runIDs = make(map[string]string, 2*smallRuns)
	for _, c := range o.claimed {
		o.runIDs[c.runID] = c.messageID
	}
	o.runIDs[runID] = messageID
	o.claimed = nil
}

// NewOracle returns an oracle for a connection of userID. With an empty
// userID it adopts the user_id of connection_established.
func NewOracle(userID string, opts ...OracleOption) *Oracle {
	o := &Oracle{userID: userID, next: 1}
	o.dec.recent.add(userID)
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Expect registers a request sent (or about to be sent) on this connection:
// its message_id, and the content its answer must quote verbatim (the whole
// request content, or the nonce within it). A message_id registered twice
// keeps its first content.
func (o *Oracle) Expect(messageID, content string) {
	if o.runOf(messageID) != nil {
		return
	}
	r := &run{messageID: messageID, content: content}
	o.order = append(o.order, r)
	o.dec.recent.add(messageID)
	switch {
	case o.runs != nil:
		o.runs[messageID] = r
	case len(o.order) > smallRuns:
		o.runs = make(map[string]*run, 2*len(o.order))
		for _, r := range o.order {
			o.runs[r.messageID] = r
		}
	}
}

// Observe decodes and judges one frame. It returns the decoded frame (the
// zero Frame, with a bad_envelope violation, when it is not an envelope)
// and the violations found by this call, nil when there are none. frame is
// not retained unless it is held for reordering, in which case it is copied.
func (o *Oracle) Observe(frame []byte) (Frame, []Violation) {
	o.out = nil
	if o.foreign != nil {
		if owner, found := o.foreign(frame); found && owner != o.userID {
			o.report(ViolationForeignData, "", "frame carries data of user "+owner, frame)
		}
	}
	f, problem, ok := o.dec.decode(frame)
	if problem != "" {
		o.report(ViolationBadEnvelope, f.RunID, problem, frame)
	}
	if ok {
		o.sequence(f, frame)
	}
	return f, o.out
}

// HasGap reports whether a seq is missing and frames above it are held:
// a caller about to stop reading may read a little longer to let a
// reordered frame arrive.
func (o *Oracle) HasGap() bool { return len(o.pending) > 0 }

// Done ends the observation: seqs still missing are gaps, held frames are
// judged, and every expected request without agent_completed or agent_error
// is a missing terminal.
func (o *Oracle) Done() []Violation {
	o.out = nil
	for len(o.pending) > 0 {
		o.declareLost(o.pending[0].f.Seq)
		o.drain()
	}
	for _, r := range o.order {
		if !r.terminal {
			o.report(ViolationMissingTerm, r.runID, fmt.Sprintf("message %s got no agent_completed or agent_error (%d events seen)", r.messageID, r.events), nil)
		}
	}
	return o.out
}

func (o *Oracle) report(kind, runID, detail string, raw []byte) {
	v := Violation{Kind: kind, RunID: runID, Detail: detail}
	if raw != nil {
		v.Sample = sample(raw)
	}
	o.out = append(o.out, v)
}

// sequence judges f's seq on arrival and releases frames in seq order.
func (o *Oracle) sequence(f Frame, raw []byte) {
	s := f.Seq
	switch {
	case s < o.next:
		if o.wasLost(s) {
			o.report(ViolationSeqReorder, f.RunID, fmt.Sprintf("seq %d (%s) arrived after seq %d, after it was counted lost", s, f.Type, o.max), raw)
			o.check(f, raw, true)
			return
		}
		o.report(ViolationSeqDuplicate, f.RunID, fmt.Sprintf("seq %d (%s) arrived again", s, f.Type), raw)
		return
	case s == o.next:
		if o.max > s {
			o.report(ViolationSeqReorder, f.RunID, fmt.Sprintf("seq %d (%s) arrived after seq %d", s, f.Type, o.max), raw)
		}
		o.max = max(o.max, s)
		o.check(f, raw, false)
		o.next++
		o.drain()
		return
	}
	i := 0
	for ; i < len(o.pending) && o.pending[i].f.Seq <= s; i++ {
		if o.pending[i].f.Seq == s {
			o.report(ViolationSeqDuplicate, f.RunID, fmt.Sprintf("seq %d (%s) arrived again", s, f.Type), raw)
			return
		}
	}
	o.max = max(o.max, s)
	o.pending = append(o.pending, held{})
	copy(o.pending[i+1:], o.pending[i:])
	o.pending[i] = held{f: f, raw: append([]byte(nil), raw...)}
	if len(o.pending) > ReorderWindow {
		o.declareLost(o.pending[0].f.Seq)
		o.drain()
	}
}

// drain judges held frames that are next in seq order.
func (o *Oracle) drain() {
	for len(o.pending) > 0 && o.pending[0].f.Seq == o.next {
		h := o.pending[0]
		n := copy(o.pending, o.pending[1:])
		o.pending[n] = held{}
		o.pending = o.pending[:n]
		o.check(h.f, h.raw, false)
		o.next++
	}
}

// declareLost counts seqs next..upto-1 lost.
func (o *Oracle) declareLost(upto int64) {
	n := upto - o.next
	if n <= 0 {
		return
	}
	detail := fmt.Sprintf("seq %d never arrived (seq %d did)", o.next, upto)
	if n > 1 {
		detail = fmt.Sprintf("seqs %d..%d never arrived (%d frames; seq %d did)", o.next, upto-1, n, upto)
	}
	var raw []byte
	if len(o.pending) > 0 {
		raw = o.pending[0].raw
	}
	o.report(ViolationSeqGap, "", detail, raw)
	if len(o.lost) == maxLost {
		o.lost = append(o.lost[:0], o.lost[1:]...)
	}
	o.lost = append(o.lost, seqRange{o.next, upto - 1})
	o.unclaimed = int(min(int64(o.unclaimed)+n, 1<<20))
	for _, r := range o.order {
		if r.events > 0 && !r.terminal {
			r.lossy = true
		}
	}
	o.next = upto
}

func (o *Oracle) wasLost(s int64) bool {
	for _, r := range o.lost {
		if s >= r.from && s <= r.to {
			return true
		}
	}
	return false
}

// check judges one frame in seq order. A late frame (one counted lost
// before it arrived) gets the ownership checks only.
func (o *Oracle) check(f Frame, raw []byte, late bool) {
	if f.Seq == 1 && f.Type != protocol.EventConnectionEstablished {
		o.report(ViolationGrammar, f.RunID, "first frame is "+f.Type+", want connection_established", raw)
	}
	switch {
	case f.Type == protocol.EventConnectionEstablished:
		if o.established {
			o.report(ViolationGrammar, "", fmt.Sprintf("a second connection_established at seq %d", f.Seq), raw)
		}
		o.established = true
		switch {
		case o.userID == "":
			o.userID = f.UserID
		case f.UserID != "" && f.UserID != o.userID:
			o.report(ViolationForeignUser, "", "connection_established for user "+f.UserID+", want "+o.userID, raw)
		}
	case protocol.IsRunEvent(f.Type) && f.RunID != "" && f.MessageID != "":
		o.checkRun(f, raw, late)
	}
}

// checkRun judges ownership and the event grammar of one run event.
func (o *Oracle) checkRun(f Frame, raw []byte, late bool) {
	if o.userID != "" && f.UserID != o.userID {
		o.report(ViolationForeignUser, f.RunID, f.Type+" carries user_id "+f.UserID+", want "+o.userID, raw)
		return
	}
	r := o.runOf(f.MessageID)
	if r == nil {
		o.report(ViolationForeignMessage, f.RunID, f.Type+" answers message_id "+f.MessageID+", which this connection never sent", raw)
		return
	}
	if r.runID == "" {
		if other, taken := o.claimOf(f.RunID); taken {
			o.report(ViolationForeignMessage, f.RunID, f.Type+" for message "+f.MessageID+" carries run_id "+f.RunID+" of message "+other, raw)
			return
		}
		r.runID, r.threadID = f.RunID, f.ThreadID
		o.claim(f.RunID, f.MessageID)
		if o.unclaimed > 0 && f.Type != protocol.EventAgentStarted {
			r.lossy = true
			o.unclaimed--
		}
	} else if f.RunID != r.runID || f.ThreadID != r.threadID {
		o.report(ViolationGrammar, r.runID, fmt.Sprintf("%s of message %s has run_id %s thread_id %s; the run began with %s %s",
			f.Type, f.MessageID, f.RunID, f.ThreadID, r.runID, r.threadID), raw)
		return
	}
	if late {
		return
	}
	gram := func(detail string) { o.report(ViolationGrammar, r.runID, detail, raw) }
	if r.terminal {
		gram(fmt.Sprintf("%s (seq %d) after the run's terminal event", f.Type, f.Seq))
		return
	}
	if f.Type != protocol.EventAgentStarted && !r.started && r.events == 0 && !r.lossy {
		gram("first event of the run is " + f.Type + ", want agent_started")
	}
	r.events++
	switch f.Type {
	case protocol.EventAgentStarted:
		if r.started { // a late agent_started was flagged above as the run's wrong first event
			gram(fmt.Sprintf("agent_started again (seq %d)", f.Seq))
		}
		r.started = true
	case protocol.EventAgentThinking:
		r.thinking++
	case protocol.EventToolExecuting:
		r.tools = append(r.tools, toolCall{f.ToolCallID, f.ToolName})
	case protocol.EventToolCompleted:
		i := 0
		for i < len(r.tools) && r.tools[i].id != f.ToolCallID {
			i++
		}
		switch {
		case i == len(r.tools):
			if !r.lossy {
				gram("tool_completed " + f.ToolCallID + " without its tool_executing")
			}
		case r.tools[i].name != f.ToolName:
			gram("tool_completed " + f.ToolCallID + " names tool " + f.ToolName + "; tool_executing named " + r.tools[i].name)
			fallthrough
		default:
			r.tools = append(r.tools[:i], r.tools[i+1:]...)
		}
	case protocol.EventAgentCompleted:
		r.terminal = true
		if !r.lossy {
			if r.thinking == 0 {
				gram("agent_completed without any agent_thinking")
			}
			if len(r.tools) > 0 {
				gram("agent_completed while tool call " + r.tools[0].id + " (" + r.tools[0].name + ") never completed")
			}
		}
		if !strings.Contains(f.Answer, r.content) {
			o.report(ViolationAnswerMismatch, r.runID, fmt.Sprintf("result.content %.80q does not quote the request %.80q", f.Answer, r.content), raw)
		}
	case protocol.EventAgentError:
		r.terminal = true
	}
}
