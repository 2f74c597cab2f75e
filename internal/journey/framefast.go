package journey

import "github.com/goldenpath-dev/goldenpath/internal/protocol"

// The oracle decodes every frame, and encoding/json's reading of it
// (field names matched regardless of case, duplicate names, invalid UTF-8
// and lone surrogates replaced, null, type errors that leave the rest
// decoded) is the contract. Most frames need none of that: their names
// are the protocol's own, their strings valid. fastDecode reads those in
// one pass over the bytes (framescan.go) and hands every other frame to
// the general decoder (decoder.unmarshal), so that what a frame decodes
// to never depends on which of the two read it; FuzzFastDecode checks
// that against encoding/json's reading for every frame the fast path
// takes. A login's reply has the same fast path (fastLoginReply).

// Field names, by the object they are in.
var (
	envelopeNames = []string{"type", "seq", "timestamp", "data"}
	dataNames     = []string{"run_id", "thread_id", "message_id", "user_id", "connection_id", "server_time",
		"agent_instance_id", "tool_name", "tool_call_id", "result", "completed_at", "timings", "code", "message", "nonce"}
	timingNames = []string{"factory_ms", "config_ms", "execution_ms", "db_ms"}
)

// fastScan reads one JSON text; ok turns false at the first thing the
// fast path does not take, and what was read is then thrown away.
type fastScan struct {
	b  []byte
	i  int
	ok bool
	dc *decoder             // what a frame's members are read into
	lr *protocol.LoginReply // what a login reply's are
}

// The objects the fast path reads members of, and their names.
const (
	levelSkip = iota
	levelEnvelope
	levelData
	levelTimings
	levelResult
	levelLogin
	levelUser
)

var levelNames = [...][]string{levelSkip: nil, levelEnvelope: envelopeNames, levelData: dataNames, levelTimings: timingNames,
	levelResult: {"content"}, levelLogin: {"access_token", "token_type", "expires_in", "user"}, levelUser: {"id", "email"}}

// fastDecode decodes b into dc.w and dc.d, as decode left them, when b
// is in the plain form described above, and reports whether it was; when
// it was not, dc.w and dc.d are in no particular state.
func (dc *decoder) fastDecode(b []byte) bool {
	s := fastScan{b: b, ok: true, dc: dc}
	s.object(levelEnvelope, 0)
	s.ws()
	return s.ok && s.i == len(s.b)
}

// fastLoginReply decodes a login's reply into lr, as encoding/json
// would, when it is in the plain form, and reports whether it was; when
// it was not, lr is in no particular state.
func fastLoginReply(b []byte, lr *protocol.LoginReply) bool {
	s := fastScan{b: b, ok: true, lr: lr}
	s.object(levelLogin, 0)
	s.ws()
	return s.ok && s.i == len(s.b)
}

// member reads the value of the level's k-th name.
func (s *fastScan) member(level, k int) {
	var w *wireFrame
	var d *wireData
	if s.dc != nil {
		w, d = &s.dc.w, &s.dc.d
	}
	switch level {
	case levelEnvelope:
		switch k {
		case 0:
			s.str(&w.Type)
		case 1:
			w.Seq = s.int()
		case 2:
			s.stamp(&w.Timestamp)
		case 3:
			s.object(levelData, 1)
		}
	case levelData:
		switch k {
		case 0:
			s.str(&d.RunID)
		case 1:
			s.str(&d.ThreadID)
		case 2:
			s.str(&d.MessageID)
		case 3:
			s.str(&d.UserID)
		case 4:
			s.str(&d.ConnectionID)
		case 5:
			s.stamp(&d.ServerTime)
		case 6:
			s.str(&d.AgentInstanceID)
		case 7:
			s.str(&d.ToolName)
		case 8:
			s.str(&d.ToolCallID)
		case 9: // answer.UnmarshalJSON: result.content of an object, else nothing
			if s.peek() == '{' {
				s.object(levelResult, 2)
			} else {
				s.nonNull()
			}
		case 10:
			s.stamp(&d.CompletedAt)
		case 11:
			s.object(levelTimings, 2)
		case 12:
			s.str(&d.Code)
		case 13:
			s.str(&d.Message)
		case 14:
			s.str(&d.Nonce)
		}
	case levelResult:
		s.str(&d.Result.content)
	case levelLogin:
		switch k {
		case 0:
			s.str(&s.lr.AccessToken)
		case 1:
			s.str(&s.lr.TokenType)
		case 2:
			s.lr.ExpiresIn = s.int()
		case 3:
			s.object(levelUser, 1)
		}
	case levelUser:
		if k == 0 {
			s.str(&s.lr.User.ID)
		} else {
			s.str(&s.lr.User.Email)
		}
	case levelTimings:
		t := &d.Timings
		m := &t.DBMS
		switch k {
		case 0:
			m = &t.FactoryMS
		case 1:
			m = &t.ConfigMS
		case 2:
			m = &t.ExecutionMS
		}
		if v := s.nonNull(); s.ok {
			_ = m.UnmarshalJSON(v)
		}
	}
}

// str reads a plain string into dst; a string the decoder has met lately
// (a run's ids come in each of its events) or an event type is not made
// again.
func (s *fastScan) str(dst *string) {
	v, escaped := s.quoted()
	if !s.ok {
		return
	}
	if escaped {
		if *dst, s.ok = unescape(v); !s.ok {
			*dst = ""
		}
		return
	}
	for _, t := range eventTypes {
		if string(v) == t {
			*dst = t
			return
		}
	}
	if s.dc == nil {
		*dst = string(v)
		return
	}
	r := &s.dc.recent
	for _, t := range r.s {
		if string(v) == t && t != "" {
			*dst = t
			return
		}
	}
	*dst = string(v)
	r.add(*dst)
}

var eventTypes = [...]string{protocol.EventConnectionEstablished, protocol.EventAgentStarted, protocol.EventAgentThinking,
	protocol.EventToolExecuting, protocol.EventToolCompleted, protocol.EventAgentCompleted, protocol.EventAgentError,
	protocol.EventPong, protocol.EventHeartbeat, protocol.EventErrorMessage}

// recentStrings are the last strings a decoder made, or was told to
// expect (the oracle's user_id and message_ids).
type recentStrings struct {
	s    [8]string
	next uint8
}

// add keeps t in place of the oldest.
func (r *recentStrings) add(t string) {
	if t == "" {
		return
	}
	r.s[r.next%uint8(len(r.s))] = t
	r.next++
}

// stamp reads a plain string into dst as the general decoder would.
func (s *fastScan) stamp(dst *stamp) {
	s.ws()
	start := s.i
	s.plain()
	if s.ok {
		_ = dst.UnmarshalJSON(s.b[start:s.i])
	}
}

// nonNull reads any value but null (whose handling is the general
// decoder's) and returns its bytes.
func (s *fastScan) nonNull() []byte {
	if s.peek() == 'n' {
		s.ok = false
		return nil
	}
	return s.skip(2)
}
